#!/usr/bin/env python3
"""A fault-injecting TCP proxy for the server tests (Python 3 standard library only).

Listens on 127.0.0.1 and forwards every connection to 127.0.0.1:TARGET_PORT, injecting faults
switched at run time through a control port:

  python3 tests/servers/fault_proxy.py --target-port 7480 [--listen-port 0] [--control-port 0]
                                       [--ports-file FILE] [--seed N]

Port 0 (the default) picks a free port. Once both ports listen, "LISTEN_PORT CONTROL_PORT\\n" is
written to --ports-file (atomically: written to FILE.tmp, then renamed) and to stdout.
SIGTERM/SIGINT stop the proxy (every connection is closed).

Control interface: connect to 127.0.0.1:CONTROL_PORT and send one command per line; each gets
one reply line, "ok ..." or "error ...". The same commands also work as HTTP GETs whose path is
the command with '/' between the words (e.g. `curl http://127.0.0.1:C/slowdown/0.5`): the reply
line is the body, with status 200 or 400. From bash:
  exec 3<>/dev/tcp/127.0.0.1/$C; echo "reset-new 1" >&3; read -r reply <&3; exec 3<&-

Commands (each sets its own fault; they combine; `pass` clears them all):
  pass               forward everything unchanged (clears every fault below, and `down`)
  reset-new P        reset (RST, via SO_LINGER 0) a fraction P of NEW connections at once
  reset-after K [P]  a fraction P (default 1) of connections is reset after K more bytes (both
                     directions counted together; the first K are forwarded). Drawn per
                     connection when it first forwards data after the command, so pooled
                     keep-alive connections are hit too.
  stall S            stop forwarding on every connection (data is held, not lost) for S seconds
                     from now; new connections are accepted but stall too. `stall 0` ends it.
  slowdown P         answer a fraction P of HTTP requests (drawn per request) with
                     "503 Slow Down" and an S3 XML error body (<Error><Code>SlowDown</Code>...)
                     WITHOUT forwarding them. The request's body (Content-Length or chunked) is
                     read and dropped and the connection stays usable; a request that sent
                     "Expect: 100-continue" gets the 503 at once and the connection is then
                     closed (its body may or may not follow). Connections whose first bytes are
                     not an HTTP/1.x request line (SSH, ...) are forwarded raw and never get it.
                     Assumes clients do not pipeline (curl and libcurl do not).
  down               refuse: close the listening socket (new connections are refused) and reset
                     every open connection
  up                 listen again (same port) after `down`
  seed N             reseed the random draws (default seed: --seed, 1)
  status             "ok accepted=N reset_new=N reset_mid=N slowdowns=N open=N down=0|1
                     stalled=0|1 reset_new_p=P reset_after=K reset_after_p=P slowdown_p=P"
"""

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import struct
import sys
import time

READ_SIZE = 65536
HTTP_REQUEST_LINE = re.compile(rb"^[A-Z]{3,10} \S+ HTTP/1\.[01]\r?\n")
HTTP_METHOD_PREFIX = re.compile(rb"^[A-Z]{1,10}( |$)")


class ConnectionAborted(Exception):
    """The proxy reset the connection on purpose (or the peer went away)."""


def reset_socket(writer):
    """Closes the connection with a TCP RST instead of a FIN."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class BufferedStream:
    """A StreamReader with a push-back buffer: peek at the first bytes, read lines and exact sizes."""

    def __init__(self, reader):
        self.reader = reader
        self.buf = b""

    async def fill(self):
        data = await self.reader.read(READ_SIZE)
        if not data:
            return False
        self.buf += data
        return True

    async def read_some(self):
        if not self.buf and not await self.fill():
            return b""
        data, self.buf = self.buf, b""
        return data

    async def read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit or not await self.fill():
                raise ConnectionAborted("incomplete request head")
        i = self.buf.index(sep) + len(sep)
        data, self.buf = self.buf[:i], self.buf[i:]
        return data

    async def read_upto(self, n):
        """Up to n (> 0) bytes, at least one; b'' at EOF."""
        if not self.buf and not await self.fill():
            return b""
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


class Connection:
    def __init__(self, proxy, client_writer):
        self.proxy = proxy
        self.client_writer = client_writer
        self.upstream_writer = None
        self.generation = -1  # of the reset-after setting this connection drew for
        self.victim = False
        self.budget = 0
        self.closed = False

    def reset(self):
        if self.closed:
            return
        self.closed = True
        reset_socket(self.client_writer)
        if self.upstream_writer is not None:
            reset_socket(self.upstream_writer)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for w in (self.client_writer, self.upstream_writer):
            if w is not None:
                try:
                    w.close()
                except Exception:
                    pass

    async def forward(self, writer, data):
        """Writes data on (after any stall), resetting the connection when its budget runs out."""
        await self.proxy.wait_while_stalled(self)
        if self.closed:
            raise ConnectionAborted("closed")
        p = self.proxy
        if self.generation != p.reset_after_generation:
            self.generation = p.reset_after_generation
            self.victim = p.reset_after is not None and p.rng.random() < p.reset_after_p
            self.budget = p.reset_after or 0
        if self.victim:
            if len(data) >= self.budget:
                if self.budget > 0:
                    writer.write(data[: self.budget])
                    try:
                        await writer.drain()
                    except (ConnectionError, OSError):
                        pass
                p.reset_mid += 1
                self.reset()
                raise ConnectionAborted("reset after K bytes")
            self.budget -= len(data)
        writer.write(data)
        await writer.drain()


class Proxy:
    def __init__(self, listen_port, target_port, seed):
        self.listen_port = listen_port
        self.target_port = target_port
        self.rng = random.Random(seed)
        self.server = None
        self.connections = set()
        # Faults.
        self.reset_new_p = 0.0
        self.reset_after = None
        self.reset_after_p = 1.0
        self.reset_after_generation = 0
        self.stall_until = 0.0
        self.slowdown_p = 0.0
        self.down = False
        # Counters.
        self.accepted = 0
        self.reset_new = 0
        self.reset_mid = 0
        self.slowdowns = 0

    async def listen(self):
        self.server = await asyncio.start_server(
            self.handle, "127.0.0.1", self.listen_port, reuse_address=True, limit=1 << 20)
        self.listen_port = self.server.sockets[0].getsockname()[1]

    async def wait_while_stalled(self, conn):
        while time.monotonic() < self.stall_until and not conn.closed:
            await asyncio.sleep(min(0.02, self.stall_until - time.monotonic()))

    async def handle(self, reader, writer):
        if self.down:
            reset_socket(writer)
            return
        self.accepted += 1
        if self.reset_new_p > 0 and self.rng.random() < self.reset_new_p:
            self.reset_new += 1
            reset_socket(writer)
            return
        conn = Connection(self, writer)
        self.connections.add(conn)
        try:
            up_reader, up_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port, limit=1 << 20)
        except OSError:
            self.connections.discard(conn)
            reset_socket(writer)
            return
        conn.upstream_writer = up_writer
        client = BufferedStream(reader)
        tasks = [asyncio.ensure_future(self.client_to_server(conn, client, up_writer)),
                 asyncio.ensure_future(self.pump(conn, BufferedStream(up_reader), writer))]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            # A half-close (client sent EOF) still lets the response come back.
            for t in done:
                if t.exception() is None and t is tasks[0] and not conn.closed:
                    try:
                        up_writer.write_eof()
                    except (OSError, RuntimeError):
                        pass
                    if pending:
                        await asyncio.wait(pending)
                    pending = set()
            for t in pending:
                t.cancel()
        finally:
            self.connections.discard(conn)
            conn.close()

    async def pump(self, conn, src, dst):
        try:
            while True:
                data = await src.read_some()
                if not data:
                    return
                await conn.forward(dst, data)
        except (ConnectionAborted, ConnectionError, OSError):
            conn.close()
            raise ConnectionAborted("pump ended")

    async def client_to_server(self, conn, client, up_writer):
        if not client.buf and not await client.fill():
            return
        while not HTTP_REQUEST_LINE.match(client.buf) and b"\n" not in client.buf \
                and HTTP_METHOD_PREFIX.match(client.buf) and len(client.buf) < 64:
            if not await client.fill():
                break
        if not HTTP_REQUEST_LINE.match(client.buf):
            await self.pump(conn, client, up_writer)
            return
        try:
            await self.http_requests(conn, client, up_writer)
        except (ConnectionAborted, ConnectionError, OSError):
            conn.close()
            raise ConnectionAborted("http ended")

    async def http_requests(self, conn, client, up_writer):
        while True:
            if not client.buf and not await client.fill():
                return
            head = await client.read_until(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, target = (lines[0].split(b" ") + [b"", b""])[:2]
            headers = {}
            for line in lines[1:]:
                if b":" in line:
                    k, v = line.split(b":", 1)
                    headers[k.strip().lower()] = v.strip()
            chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
            length = int(headers.get(b"content-length", b"0") or 0) if not chunked else 0
            expect_continue = headers.get(b"expect", b"").lower() == b"100-continue"
            if self.slowdown_p > 0 and self.rng.random() < self.slowdown_p:
                self.slowdowns += 1
                await self.wait_while_stalled(conn)
                if expect_continue:
                    self.write_slowdown(conn.client_writer, method, target, keep_alive=False)
                    await conn.client_writer.drain()
                    conn.close()
                    raise ConnectionAborted("closed after 503 to an Expect: 100-continue")
                await self.body(client, chunked, length, None, conn)
                self.write_slowdown(conn.client_writer, method, target, keep_alive=True)
                await conn.client_writer.drain()
                continue
            await conn.forward(up_writer, head)
            await self.body(client, chunked, length, up_writer, conn)

    async def body(self, client, chunked, length, up_writer, conn):
        """Reads one request body, forwarding it to up_writer (None: dropping it)."""
        async def out(data):
            if up_writer is not None and data:
                await conn.forward(up_writer, data)

        if not chunked:
            while length > 0:
                data = await client.read_upto(min(length, READ_SIZE))
                if not data:
                    raise ConnectionAborted("body cut short")
                length -= len(data)
                await out(data)
            return
        while True:
            size_line = await client.read_until(b"\r\n")
            await out(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    line = await client.read_until(b"\r\n")
                    await out(line)
                    if line == b"\r\n":
                        return
            remaining = size + 2  # data and its CRLF
            while remaining > 0:
                data = await client.read_upto(min(remaining, READ_SIZE))
                if not data:
                    raise ConnectionAborted("chunk cut short")
                remaining -= len(data)
                await out(data)

    def write_slowdown(self, writer, method, target, keep_alive):
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            "<Resource>%s</Resource><RequestId>fault-proxy-%d</RequestId></Error>\n"
            % (target.decode("latin-1").replace("&", "&amp;").replace("<", "&lt;"),
               self.slowdowns)).encode()
        head = ("HTTP/1.1 503 Slow Down\r\n"
                "Content-Type: application/xml\r\n"
                "Content-Length: %d\r\n"
                "x-amz-request-id: fault-proxy-%d\r\n"
                "Connection: %s\r\n\r\n"
                % (len(body), self.slowdowns, "keep-alive" if keep_alive else "close")).encode()
        writer.write(head if method == b"HEAD" else head + body)

    # -- control ----------------------------------------------------------------------------

    async def go_down(self):
        self.down = True
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for conn in list(self.connections):
            conn.reset()

    async def go_up(self):
        self.down = False
        if self.server is None:
            await self.listen()

    def status(self):
        return ("accepted=%d reset_new=%d reset_mid=%d slowdowns=%d open=%d down=%d stalled=%d "
                "reset_new_p=%g reset_after=%s reset_after_p=%g slowdown_p=%g" % (
                    self.accepted, self.reset_new, self.reset_mid, self.slowdowns,
                    len(self.connections), int(self.down),
                    int(time.monotonic() < self.stall_until), self.reset_new_p,
                    "none" if self.reset_after is None else self.reset_after,
                    self.reset_after_p, self.slowdown_p))

    async def command(self, words):
        """Runs one control command; returns the reply line."""
        if not words:
            return "error empty command"
        name, args = words[0], words[1:]

        def fraction(s):
            p = float(s)
            if not 0 <= p <= 1:
                raise ValueError("a fraction must be in [0, 1]: %s" % s)
            return p

        try:
            if name == "pass" and not args:
                self.reset_new_p = 0.0
                self.reset_after = None
                self.reset_after_generation += 1
                self.stall_until = 0.0
                self.slowdown_p = 0.0
                await self.go_up()
            elif name == "reset-new" and len(args) == 1:
                self.reset_new_p = fraction(args[0])
            elif name == "reset-after" and len(args) in (1, 2):
                k = int(args[0])
                if k < 0:
                    raise ValueError("K must be >= 0")
                self.reset_after = k
                self.reset_after_p = fraction(args[1]) if len(args) == 2 else 1.0
                self.reset_after_generation += 1
            elif name == "stall" and len(args) == 1:
                s = float(args[0])
                self.stall_until = time.monotonic() + s if s > 0 else 0.0
            elif name == "slowdown" and len(args) == 1:
                self.slowdown_p = fraction(args[0])
            elif name == "down" and not args:
                await self.go_down()
            elif name == "up" and not args:
                await self.go_up()
            elif name == "seed" and len(args) == 1:
                self.rng.seed(int(args[0]))
            elif name == "status" and not args:
                pass
            else:
                return "error unknown command or wrong arguments: %s" % " ".join(words)
        except ValueError as e:
            return "error %s" % e
        return "ok " + self.status()

    async def handle_control(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                text = line.decode("utf-8", "replace").strip()
                m = re.match(r"^(GET|POST|PUT) (\S+) HTTP/1\.[01]$", text)
                if m:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    path = m.group(2).split("?", 1)[0]
                    reply = await self.command([w for w in path.split("/") if w])
                    body = (reply + "\n").encode()
                    status = "200 OK" if reply.startswith("ok") else "400 Bad Request"
                    writer.write(("HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: %d\r\nConnection: close\r\n\r\n"
                                  % (status, len(body))).encode() + body)
                    await writer.drain()
                    break
                if not text:
                    continue
                reply = await self.command(text.split())
                writer.write((reply + "\n").encode())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--listen-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--ports-file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    proxy = Proxy(args.listen_port, args.target_port, args.seed)
    await proxy.listen()
    control = await asyncio.start_server(proxy.handle_control, "127.0.0.1", args.control_port,
                                         reuse_address=True)
    control_port = control.sockets[0].getsockname()[1]
    ports = "%d %d\n" % (proxy.listen_port, control_port)
    if args.ports_file:
        tmp = args.ports_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(ports)
        os.rename(tmp, args.ports_file)
    sys.stdout.write(ports)
    sys.stdout.flush()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    control.close()
    await proxy.go_down()


if __name__ == "__main__":
    asyncio.run(main())
