#!/usr/bin/env python3
"""The HTTP receiver of the notification tests (Python 3 standard library only).

Listens on 127.0.0.1 (plain HTTP, and HTTPS too when --tls-cert/--tls-key are given) and records
every request as one JSON line in --log: {"method", "path", "headers": {name: value}, "body"
(text, UTF-8 with replacement), "tls": bool, "time"}. Answers 200 "ok" unless told otherwise.

  python3 tests/servers/notify_http.py --log FILE --ports-file FILE
        [--tls-cert PEM --tls-key PEM]

"PORT [TLS_PORT]\\n" is written to --ports-file (atomically) once listening.

Control, by path (never recorded):
  GET /_control/fail/N[/STATUS]  the next N requests are answered STATUS (default 503), with
                                 "Retry-After: 0"; N=0 clears it
  GET /_control/stall/SECONDS    the next requests wait SECONDS before answering (0: off)
  GET /_control/status/CODE      every request is answered CODE from now (0: back to 200)
  GET /_control/reset            clears the log and every fault
Paths ending in /status/CODE (e.g. /pd/status/400) are answered CODE and recorded.
SIGTERM stops it.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"fail_left": 0, "fail_status": 503, "stall": 0.0, "status": 0}
LOG_PATH = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _answer(self, status, body=b"ok", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _control(self):
        parts = self.path.split("/")[2:]
        with LOCK:
            if parts[0] == "fail":
                STATE["fail_left"] = int(parts[1])
                STATE["fail_status"] = int(parts[2]) if len(parts) > 2 else 503
            elif parts[0] == "stall":
                STATE["stall"] = float(parts[1])
            elif parts[0] == "status":
                STATE["status"] = int(parts[1])
            elif parts[0] == "reset":
                STATE.update({"fail_left": 0, "fail_status": 503, "stall": 0.0, "status": 0})
                open(LOG_PATH, "w").close()
            else:
                self._answer(400, b"unknown control")
                return
        self._answer(200)

    def _handle(self):
        if self.path.startswith("/_control/"):
            self._control()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        record = {
            "method": self.command,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
            "tls": isinstance(self.connection, ssl.SSLSocket),
            "time": time.time(),
        }
        with LOCK:
            with open(LOG_PATH, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            stall = STATE["stall"]
            status = 200
            headers = {}
            if STATE["fail_left"] > 0:
                STATE["fail_left"] -= 1
                status = STATE["fail_status"]
                headers["Retry-After"] = "0"
            elif STATE["status"]:
                status = STATE["status"]
        if stall > 0:
            time.sleep(stall)
        marker = "/status/"
        if marker in self.path:
            try:
                status = int(self.path.rsplit(marker, 1)[1].split("/")[0])
            except ValueError:
                pass
        body_out = b"ok" if status < 300 else b'{"status":"error","message":"refused by the test receiver"}'
        if status == 202:
            body_out = b'{"status":"success","message":"Event processed"}'
        try:
            self._answer(status, body_out, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = _handle
    do_POST = _handle
    do_PUT = _handle
    do_HEAD = _handle


def main():
    global LOG_PATH
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--ports-file", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    a = p.parse_args()
    LOG_PATH = a.log
    open(LOG_PATH, "a").close()
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler)]
    if a.tls_cert:
        tls = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(tls)
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    ports = " ".join(str(s.server_address[1]) for s in servers)
    tmp = a.ports_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(ports + "\n")
    os.rename(tmp, a.ports_file)
    print(ports, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for s in servers:
        s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
