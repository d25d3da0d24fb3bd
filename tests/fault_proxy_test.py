#!/usr/bin/env python3
"""Tests of tests/servers/fault_proxy.py (and proxy.sh) against trivial local servers: an echo
server and an HTTP/1.1 server that counts the requests it serves. Each fault mode is switched on
through the control port and its effect observed from a client.

  python3 tests/fault_proxy_test.py [-v]
"""

import http.client
import http.server
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "servers", "fault_proxy.py")
RUN_WITH = os.path.join(HERE, "servers", "run_with.sh")


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.request.sendall(data)


class CountingHTTPHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    served = []  # (method, path, body length) of each request that reached the server

    def log_message(self, *args):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        CountingHTTPHandler.served.append(("GET", self.path, 0))
        self.reply(b"hello " + self.path.encode())

    def do_HEAD(self):
        CountingHTTPHandler.served.append(("HEAD", self.path, 0))
        self.reply(b"hello")

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        if self.headers.get("Expect", "").lower() == "100-continue":
            pass  # BaseHTTPRequestHandler already answered 100 Continue
        body = self.rfile.read(n)
        CountingHTTPHandler.served.append(("PUT", self.path, len(body)))
        self.reply(b"stored %d" % len(body))


class ThreadingTCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ThreadingHTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def start_in_thread(server):
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    return server.server_address[1]


class ProxyProcess:
    def __init__(self, target_port):
        self.proc = subprocess.Popen(
            [sys.executable, PROXY, "--target-port", str(target_port), "--seed", "3"],
            stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        line = self.proc.stdout.readline()
        self.port, self.control_port = (int(x) for x in line.split())

    def control(self, command):
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=10) as s:
            s.sendall(command.encode() + b"\n")
            reply = s.makefile().readline().strip()
        if not reply.startswith("ok"):
            raise AssertionError("%s: %s" % (command, reply))
        return dict(kv.split("=", 1) for kv in reply.split()[1:])

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def echo_once(port, payload, timeout=10):
    """Sends payload through a new connection and returns what came back (until len(payload))."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            data = s.recv(65536)
            if not data:
                break
            got += data
        return got


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo_server = ThreadingTCPServer(("127.0.0.1", 0), EchoHandler)
        cls.http_server = ThreadingHTTPServer(("127.0.0.1", 0), CountingHTTPHandler)
        cls.echo_port = start_in_thread(cls.echo_server)
        cls.http_port = start_in_thread(cls.http_server)

    @classmethod
    def tearDownClass(cls):
        for s in (cls.echo_server, cls.http_server):
            s.shutdown()
            s.server_close()

    def setUp(self):
        self.echo = ProxyProcess(self.echo_port)
        self.http = ProxyProcess(self.http_port)
        CountingHTTPHandler.served.clear()

    def tearDown(self):
        self.echo.stop()
        self.http.stop()

    def test_pass_through_forwards_both_ways_unchanged(self):
        payload = os.urandom(3 << 20)
        self.assertEqual(echo_once(self.echo.port, payload), payload)
        conn = http.client.HTTPConnection("127.0.0.1", self.http.port, timeout=10)
        for i in range(3):
            conn.request("PUT", "/obj%d" % i, body=b"x" * (100000 + i))
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"stored %d" % (100000 + i)))
        conn.close()
        self.assertEqual(self.http.control("status")["accepted"], "1")  # one kept-alive connection

    def test_reset_new_resets_a_fraction_of_new_connections(self):
        self.echo.control("reset-new 1")
        with self.assertRaises(ConnectionResetError):
            echo_once(self.echo.port, b"hello")
        self.echo.control("seed 7")
        self.echo.control("reset-new 0.5")
        resets = 0
        for _ in range(40):
            try:
                self.assertEqual(echo_once(self.echo.port, b"ping"), b"ping")
            except ConnectionResetError:
                resets += 1
        self.assertTrue(8 <= resets <= 32, resets)
        self.assertEqual(int(self.echo.control("status")["reset_new"]), resets + 1)
        self.echo.control("pass")
        self.assertEqual(echo_once(self.echo.port, b"back"), b"back")

    def test_reset_after_k_bytes_cuts_a_connection_mid_stream(self):
        # An open connection is hit too: the draw happens when it next forwards data.
        s = socket.create_connection(("127.0.0.1", self.echo.port), timeout=10)
        s.sendall(b"warm")
        self.assertEqual(s.recv(10), b"warm")
        self.echo.control("reset-after 1000")
        got = b""
        with self.assertRaises(ConnectionResetError):
            s.sendall(b"y" * 100000)
            while True:
                data = s.recv(65536)
                if not data:
                    break
                got += data
        s.close()
        self.assertLessEqual(len(got), 1000)
        self.assertEqual(self.echo.control("status")["reset_mid"], "1")
        # Fraction 0: nobody is hit.
        self.echo.control("reset-after 10 0")
        self.assertEqual(echo_once(self.echo.port, b"z" * 5000), b"z" * 5000)

    def test_stall_holds_data_for_the_given_time_then_delivers_it(self):
        s = socket.create_connection(("127.0.0.1", self.echo.port), timeout=10)
        self.echo.control("stall 1.0")
        start = time.monotonic()
        s.sendall(b"held")
        self.assertEqual(s.recv(10), b"held")
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        s.close()
        start = time.monotonic()
        self.assertEqual(echo_once(self.echo.port, b"fast"), b"fast")
        self.assertLess(time.monotonic() - start, 0.5)
        # stall 0 ends a stall early.
        self.echo.control("stall 30")
        threading.Timer(0.3, lambda: self.echo.control("stall 0")).start()
        start = time.monotonic()
        self.assertEqual(echo_once(self.echo.port, b"early"), b"early")
        self.assertLess(time.monotonic() - start, 5)

    def test_slowdown_answers_503_without_forwarding_and_keeps_the_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http.port, timeout=10)
        conn.request("GET", "/before")
        self.assertEqual(conn.getresponse().read(), b"hello /before")
        self.http.control("slowdown 1")
        conn.request("PUT", "/bucket/key", body=b"b" * 200000)
        r = conn.getresponse()
        body = r.read()
        self.assertEqual((r.status, r.reason), (503, "Slow Down"))
        self.assertIn(b"<Error><Code>SlowDown</Code>", body)
        self.assertIn(b"<Resource>/bucket/key</Resource>", body)
        conn.request("HEAD", "/bucket/key")
        r = conn.getresponse()
        self.assertEqual((r.status, r.read()), (503, b""))
        # Chunked bodies are consumed too.
        conn.request("PUT", "/chunked", body=iter([b"abc", b"defgh"]),
                     headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
        r = conn.getresponse()
        self.assertIn(b"SlowDown", r.read())
        self.assertEqual(r.status, 503)
        self.http.control("slowdown 0")
        conn.request("PUT", "/after", body=b"c" * 10)
        r = conn.getresponse()
        self.assertEqual((r.status, r.read()), (200, b"stored 10"))
        conn.close()
        # None of the refused requests reached the server, and it was all one connection.
        self.assertEqual(CountingHTTPHandler.served,
                         [("GET", "/before", 0), ("PUT", "/after", 10)])
        status = self.http.control("status")
        self.assertEqual((status["slowdowns"], status["accepted"]), ("3", "1"))

    def test_slowdown_to_expect_continue_answers_at_once_and_closes(self):
        self.http.control("slowdown 1")
        with socket.create_connection(("127.0.0.1", self.http.port), timeout=10) as s:
            s.sendall(b"PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            reply = b""
            while True:
                data = s.recv(65536)
                if not data:
                    break  # closed by the proxy
                reply += data
        self.assertTrue(reply.startswith(b"HTTP/1.1 503 Slow Down\r\n"), reply)
        self.assertIn(b"Connection: close", reply)
        self.assertEqual(CountingHTTPHandler.served, [])

    def test_slowdown_fraction_refuses_some_requests(self):
        self.http.control("seed 11")
        self.http.control("slowdown 0.5")
        conn = http.client.HTTPConnection("127.0.0.1", self.http.port, timeout=10)
        statuses = []
        for i in range(40):
            conn.request("GET", "/r%d" % i)
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
        conn.close()
        refused = statuses.count(503)
        self.assertTrue(8 <= refused <= 32, statuses)
        self.assertEqual(statuses.count(200), 40 - refused)
        self.assertEqual(len(CountingHTTPHandler.served), 40 - refused)

    def test_down_refuses_and_resets_then_up_listens_again(self):
        s = socket.create_connection(("127.0.0.1", self.echo.port), timeout=10)
        s.sendall(b"a")
        self.assertEqual(s.recv(10), b"a")
        self.echo.control("down")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.echo.port), timeout=10)
        with self.assertRaises(ConnectionResetError):
            s.sendall(b"b")
            if not s.recv(10):
                raise AssertionError("closed cleanly instead of reset")
        s.close()
        self.echo.control("up")
        self.assertEqual(echo_once(self.echo.port, b"again"), b"again")
        self.echo.control("down")
        self.echo.control("pass")  # pass brings it up too
        self.assertEqual(echo_once(self.echo.port, b"pass"), b"pass")

    def test_control_over_http_and_bad_commands(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.echo.control_port, timeout=10)
        conn.request("GET", "/reset-new/1")
        r = conn.getresponse()
        self.assertEqual(r.status, 200)
        self.assertIn(b"reset_new_p=1", r.read())
        conn.close()
        with self.assertRaises(ConnectionResetError):
            echo_once(self.echo.port, b"x")
        conn = http.client.HTTPConnection("127.0.0.1", self.echo.control_port, timeout=10)
        conn.request("GET", "/reset-new/2")
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()
        with self.assertRaises(AssertionError):
            self.echo.control("explode")


class ProxyScriptTest(unittest.TestCase):
    """proxy.sh through run_with.sh: started in front of the target, stopped afterwards."""

    def test_run_with_proxy(self):
        echo = ThreadingTCPServer(("127.0.0.1", 0), EchoHandler)
        echo_port = start_in_thread(echo)
        try:
            client = ("import os, socket\n"
                      "s = socket.create_connection(('127.0.0.1', int(os.environ['LIFEBOAT_TEST_PROXY_PORT'])))\n"
                      "s.sendall(b'via run_with'); print(s.recv(100).decode())\n"
                      "c = socket.create_connection(('127.0.0.1', int(os.environ['LIFEBOAT_TEST_PROXY_CONTROL_PORT'])))\n"
                      "c.sendall(b'status\\n'); print(c.makefile().readline().split()[0])\n"
                      "print(os.environ['LIFEBOAT_TEST_PROXY_PORT'])\n")
            env = dict(os.environ, LIFEBOAT_PROXY_TARGET_PORT=str(echo_port))
            out = subprocess.run(["bash", RUN_WITH, "proxy", "--", sys.executable, "-c", client],
                                 env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            lines = out.stdout.split()
            self.assertEqual(lines[:3], ["via", "run_with", "ok"])
            with self.assertRaises(ConnectionRefusedError):  # stopped on exit
                socket.create_connection(("127.0.0.1", int(lines[3])), timeout=5)
            env.pop("LIFEBOAT_PROXY_TARGET_PORT")
            out = subprocess.run(["bash", RUN_WITH, "proxy", "--", "true"], env=env,
                                 capture_output=True, text=True, timeout=60)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("LIFEBOAT_PROXY_TARGET_PORT is not set", out.stderr)
        finally:
            echo.shutdown()
            echo.server_close()


if __name__ == "__main__":
    unittest.main()
