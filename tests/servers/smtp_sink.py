#!/usr/bin/env python3
"""The SMTP sink of the notification tests: aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1.

  /usr/bin/python3 tests/servers/smtp_sink.py --log FILE --ports-file FILE --cert PEM --key PEM
        --user USER --password PASSWORD

Two listeners:
  - STARTTLS port: offers STARTTLS with the given certificate, requires it before anything else
    (require_starttls), and accepts AUTH PLAIN/LOGIN only over TLS and only for USER/PASSWORD;
  - plain port: no TLS offered at all, no login (what a client that requires STARTTLS must refuse).
Every message received is one JSON line in --log: {"port_kind": "starttls"|"plain", "mail_from",
"rcpt_tos", "data" (the message text), "tls": bool, "login": user or null}.
"STARTTLS_PORT PLAIN_PORT\\n" goes to --ports-file once both listen. SIGTERM stops it.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOCK = threading.Lock()


class Recorder:
    def __init__(self, log, kind):
        self.log = log
        self.kind = kind

    async def handle_DATA(self, server, session, envelope):
        record = {
            "port_kind": self.kind,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", errors="replace"),
            "tls": session.ssl is not None,
            "login": session.auth_data if isinstance(session.auth_data, str) else None,
        }
        with LOCK:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--ports-file", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--plain-port", type=int, required=True)
    a = p.parse_args()
    open(a.log, "a").close()

    def authenticator(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user
                and auth_data.password.decode() == a.password):
            return AuthResult(success=True, auth_data=a.user)
        return AuthResult(success=False, handled=False)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    tls = Controller(Recorder(a.log, "starttls"), hostname="127.0.0.1", port=a.starttls_port,
                     tls_context=ctx, require_starttls=True, authenticator=authenticator,
                     auth_require_tls=True, auth_required=False)
    plain = Controller(Recorder(a.log, "plain"), hostname="127.0.0.1", port=a.plain_port)
    tls.start()
    plain.start()
    tmp = a.ports_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{a.starttls_port} {a.plain_port}\n")
    os.rename(tmp, a.ports_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    tls.stop()
    plain.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
