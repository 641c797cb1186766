#!/usr/bin/env python3
"""The docker CLI's floor for `docker ps -a` (bench/run.sh scale): answer
/_ping and GET /containers/json on a unix socket with a body captured from
a daemon, at once, so that timing `docker ps -a` against it measures the
CLI alone (decoding and formatting the list) and what is left to a daemon.

usage: ps_floor.py SOCKET BODY_FILE API_VERSION"""
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

SOCK, BODY_FILE, API = sys.argv[1], sys.argv[2], sys.argv[3]
with open(BODY_FILE, "rb") as f:
    BODY = f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the daemons

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"

    def answer(self, status, body, ctype):
        self.send_response(status)
        for k, v in (("Api-Version", API), ("Docker-Experimental", "false"), ("Ostype", "linux")):
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            self.answer(200, b"OK", "text/plain; charset=utf-8")
        elif path.endswith("/containers/json"):
            self.answer(200, BODY, "application/json")
        else:
            self.answer(404, b'{"message":"not served"}\n', "application/json")

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
