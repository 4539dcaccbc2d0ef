#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# faultsrv.py: a scriptable HTTP/1.1 test server for the integration tests,
# producing the faults a real CRL server will not: hangs before or after the
# headers, dripping and endless bodies, truncated bodies, garbage, redirect
# chains and loops, redirects to other schemes and arbitrary status codes.
# Python 3 standard library only; every connection has its own daemon
# thread, so a hanging request never blocks the others.
#
# Usage: faultsrv.py --root DIR --port-file FILE --log FILE [--bind ADDR]
# Binds ADDR (default 127.0.0.1) on an ephemeral port, writes the port to
# --port-file atomically (temp file + rename), appends "METHOD PATH" per
# request to --log, and serves until killed (SIGTERM/SIGINT exit at once).
#
# Paths:
#   /ok/<file>                 200, bytes of ROOT/<file>, application/pkix-crl
#   /status/<code>             that status with a short body
#   /html                      200 text/html page
#   /empty                     200 with Content-Length: 0
#   /garbage                   200 with 2000 random-looking bytes
#   /truncate/<n>/<file>       full Content-Length, first n bytes, then close
#   /hang                      accept, never answer
#   /hang-headers/<file>       status line and headers, then hang
#   /drip/<file>               headers, then one byte per second
#   /slow/<ms>/<file>          waits ms milliseconds, then serves like /ok
#   /endless                   200, no Content-Length, zeros until the client
#                              goes away
#   /redirect/<n>/<rest>       n hops: 302 to /redirect/<n-1>/<rest> while
#                              n > 1, then 302 to /<rest>
#   /loop                      302 to itself
#   /redirect-scheme/<scheme>  302 to <scheme>://127.0.0.1/whatever
#   /goto?<url>                302 to <url> (percent-decoded), any scheme
#   /close                     close the connection without any answer
# Every accepted connection is logged as "ACCEPT" before its request line,
# so a test can tell "no connection at all" from "a request".
#
# --blackhole-port-file FILE also opens a TCP port that never accepts: its
# listen queue is filled by connections of our own, so the kernel drops
# further SYNs and a client's connect() hangs as towards an unroutable
# address. --udp-blackhole ADDR:PORT swallows datagrams without answering:
# a DNS server that never replies.
# A request in absolute form (GET http://host/path) is answered as if it
# were GET /path, so the server also serves as a forward proxy for http
# URLs; the log line keeps the absolute form, showing the proxy was used.

import argparse
import urllib.parse
import os
import random
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # set by main()
    root = "."
    log_file = None
    stopping = threading.Event()

    def get_request(self):
        conn = super().get_request()
        if self.log_file is not None:
            with LOG_LOCK:
                self.log_file.write("ACCEPT %s\n" % (conn[1][0],))
                self.log_file.flush()
        return conn


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultsrv/1"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 (stdlib signature)
        pass

    def _log_request_line(self):
        srv = self.server
        if srv.log_file is None:
            return
        with LOG_LOCK:
            srv.log_file.write("%s %s\n" % (self.command, self.path))
            srv.log_file.flush()

    # helpers -------------------------------------------------------------

    def _file_bytes(self, name):
        """Bytes of ROOT/name, or None (and a 404 sent) if not servable."""
        if not name or ".." in name or "/" in name or "\\" in name \
                or "\0" in name:
            self._simple(404, b"not found\n")
            return None
        path = os.path.join(self.server.root, name)
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            self._simple(404, b"not found\n")
            return None

    def _headers(self, code, ctype, length=None, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.flush()

    def _simple(self, code, body, ctype="text/plain", extra=None):
        if code < 200 or code in (204, 304):
            body = b""
        self._headers(code, ctype, len(body), extra)
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _redirect(self, location):
        self._simple(302, b"moved\n", extra={"Location": location})

    def _hold(self):
        """Keep the connection open until the client leaves or we stop."""
        sock = self.connection
        while not self.server.stopping.is_set():
            try:
                r, _, _ = select.select([sock], [], [], 0.5)
                if r and not sock.recv(4096):
                    return
            except OSError:
                return
        self.close_connection = True

    def _abort(self):
        """Close the connection now, whatever was announced."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # dispatch ------------------------------------------------------------

    def do_GET(self):
        self._log_request_line()
        path = self.path.split("?", 1)[0]
        if path.startswith("http://"):
            # absolute form: serve as the origin, so faultsrv can pose as a
            # forward proxy (the log keeps the absolute form)
            path = "/" + path[len("http://"):].partition("/")[2]
        parts = path.split("/")[1:]
        try:
            self._route(path, parts)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    do_HEAD = do_GET

    def do_POST(self):
        self._log_request_line()
        self._simple(405, b"method not allowed\n")

    def _route(self, path, parts):
        head = parts[0] if parts else ""
        if head == "ok" and len(parts) == 2:
            data = self._file_bytes(parts[1])
            if data is not None:
                self._headers(200, "application/pkix-crl", len(data))
                if self.command != "HEAD":
                    self.wfile.write(data)
        elif head == "status" and len(parts) == 2 and parts[1].isdigit() \
                and 100 <= int(parts[1]) <= 599:
            code = int(parts[1])
            self._simple(code, b"status %d from faultsrv\n" % code)
        elif path == "/html":
            self._simple(200, b"<!DOCTYPE html>\n<html><head><title>Not a "
                         b"CRL</title></head><body><p>Welcome to the "
                         b"captive portal.</p></body></html>\n",
                         ctype="text/html")
        elif path == "/empty":
            self._simple(200, b"", ctype="application/pkix-crl")
        elif path == "/garbage":
            rnd = random.Random(4242)
            body = bytes(rnd.getrandbits(8) for _ in range(2000))
            self._simple(200, body, ctype="application/pkix-crl")
        elif head == "truncate" and len(parts) == 3 and parts[1].isdigit():
            data = self._file_bytes(parts[2])
            if data is not None:
                n = min(int(parts[1]), len(data))
                self._headers(200, "application/pkix-crl", len(data))
                self.wfile.write(data[:n])
                self._abort()
        elif path == "/hang":
            self._hold()
        elif head == "hang-headers" and len(parts) == 2:
            data = self._file_bytes(parts[1])
            if data is not None:
                self._headers(200, "application/pkix-crl", len(data))
                self._hold()
        elif head == "drip" and len(parts) == 2:
            data = self._file_bytes(parts[1])
            if data is not None:
                self._headers(200, "application/pkix-crl", len(data))
                for i in range(len(data)):
                    if self.server.stopping.is_set():
                        break
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(1)
        elif head == "slow" and len(parts) == 3 and parts[1].isdigit():
            data = self._file_bytes(parts[2])
            if data is not None:
                self.server.stopping.wait(min(int(parts[1]), 60000) / 1000.0)
                self._headers(200, "application/pkix-crl", len(data))
                self.wfile.write(data)
        elif path == "/endless":
            self._headers(200, "application/pkix-crl")
            chunk = bytes(16384)
            while not self.server.stopping.is_set():
                self.wfile.write(chunk)
            self._abort()
        elif head == "redirect" and len(parts) >= 3 and parts[1].isdigit():
            n = int(parts[1])
            rest = "/".join(parts[2:])
            if n > 1:
                self._redirect("/redirect/%d/%s" % (n - 1, rest))
            else:
                self._redirect("/" + rest)
        elif path == "/loop":
            self._redirect("/loop")
        elif head == "redirect-scheme" and len(parts) == 2 and parts[1]:
            self._redirect("%s://127.0.0.1/whatever" % parts[1])
        elif path == "/goto" and "?" in self.path:
            self._redirect(urllib.parse.unquote(self.path.split("?", 1)[1]))
        elif path == "/close":
            self._abort()
        else:
            self._simple(404, b"not found\n")


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def tcp_blackhole(port_file):
    """A listening socket whose queue is full: connects to it hang."""
    lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(0)
    port = lsn.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.2)
    write_port_file(port_file, port)
    return lsn, fillers


def udp_blackhole(spec):
    addr, _, port = spec.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, int(port)))

    def swallow():
        while True:
            try:
                sock.recvfrom(65536)
            except OSError:
                return

    threading.Thread(target=swallow, daemon=True).start()
    return sock


def main():
    ap = argparse.ArgumentParser(description="scriptable fault HTTP server")
    ap.add_argument("--root", required=True, help="directory of served files")
    ap.add_argument("--port-file", required=True,
                    help="file receiving the chosen port")
    ap.add_argument("--log", required=True, help="request log (appended)")
    ap.add_argument("--bind", default="127.0.0.1", help="address to bind")
    ap.add_argument("--blackhole-port-file",
                    help="also open a TCP port that never accepts")
    ap.add_argument("--udp-blackhole", metavar="ADDR:PORT",
                    help="also swallow UDP datagrams sent to ADDR:PORT")
    args = ap.parse_args()

    if not os.path.isdir(args.root):
        print("faultsrv: --root %s is not a directory" % args.root,
              file=sys.stderr)
        return 64

    srv = FaultServer((args.bind, 0), FaultHandler)
    srv.root = os.path.abspath(args.root)
    srv.log_file = open(args.log, "a", buffering=1)

    def stop(signum, frame):
        srv.stopping.set()
        try:
            srv.log_file.flush()
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    keep = []
    if args.udp_blackhole:
        keep.append(udp_blackhole(args.udp_blackhole))
    if args.blackhole_port_file:
        keep.append(tcp_blackhole(args.blackhole_port_file))
    write_port_file(args.port_file, srv.server_address[1])
    srv.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
