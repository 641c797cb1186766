#!/usr/bin/env python3
"""The docker CLI's floor (bench/run.sh): a server on a unix socket that
answers the requests of `docker ps -a`, `docker run --rm IMAGE CMD` and
`docker exec C CMD` at once, as a daemon whose work took no time would, so
that timing the CLI against it measures the CLI alone and shows what is
left to a daemon for a target.

- `ps`: /_ping and GET /containers/json with a body captured from a daemon
  (BODY_FILE; `-` when not needed).
- `run`: create (201), attach (hijacked, closed once the container is
  started), wait (headers at once, the status once started, as dockerd's
  chunked answer), start (204): the container "exits" 0 as it starts.
- `exec`: inspect of any container (running), exec create (201), exec
  start (hijacked and closed at once: the process has ended), exec inspect
  (exit code 0).
Anything else is a 404 naming the path, so a CLI that needs more fails
loudly instead of measuring less.

usage: cli_floor.py SOCKET BODY_FILE API_VERSION"""
import json
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler

SOCK, BODY_FILE, API = sys.argv[1], sys.argv[2], sys.argv[3]
BODY = b"[]"
if BODY_FILE != "-":
    with open(BODY_FILE, "rb") as f:
        BODY = f.read()

_lock = threading.Lock()
_started = {}  # container id -> threading.Event set by its start
_count = 0


def new_id():
    global _count
    with _lock:
        _count += 1
        return "%064x" % _count


def started(cid):
    with _lock:
        return _started.setdefault(cid, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the daemons

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"

    def head(self, status, ctype, length=None, extra=()):
        self.send_response(status)
        for k, v in (("Api-Version", API), ("Docker-Experimental", "false"), ("Ostype", "linux")) + tuple(extra):
            self.send_header(k, v)
        if ctype:
            self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def answer(self, status, body, ctype="application/json"):
        self.head(status, ctype, len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def json(self, status, obj):
        self.answer(status, json.dumps(obj).encode() + b"\n")

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    # A hijacked stream (attach, exec start): 101, then raw bytes; closing
    # the connection ends the stream for the CLI.
    def hijack(self, event=None):
        self.send_response(101, "UPGRADED")
        self.send_header("Content-Type", "application/vnd.docker.multiplexed-stream")
        self.send_header("Connection", "Upgrade")
        self.send_header("Upgrade", "tcp")
        self.end_headers()
        self.wfile.flush()
        if event is not None:
            event.wait(30)
        self.close_connection = True

    def route(self):
        self.drain()
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        if parts and parts[0].startswith("v1."):
            parts = parts[1:]
        if parts == ["_ping"]:
            return self.answer(200, b"OK", "text/plain; charset=utf-8")
        if parts == ["containers", "json"]:
            return self.answer(200, BODY)
        if parts == ["containers", "create"]:
            return self.json(201, {"Id": new_id(), "Warnings": []})
        if len(parts) == 3 and parts[0] == "containers":
            cid, verb = parts[1], parts[2]
            if verb == "attach":
                return self.hijack(started(cid))
            if verb == "start":
                started(cid).set()
                return self.head(204, None)
            if verb == "wait":
                return self.wait(cid)
            if verb == "json":
                return self.json(200, {"Id": cid, "Name": "/" + cid, "State": {"Status": "running", "Running": True},
                                       "Config": {"Tty": False}, "HostConfig": {}})
            if verb == "exec":
                return self.json(201, {"Id": new_id()})
        if len(parts) == 3 and parts[0] == "exec":
            if parts[2] == "start":
                return self.hijack()
            if parts[2] == "json":
                return self.json(200, {"ID": parts[1], "Running": False, "ExitCode": 0, "Pid": 0})
        return self.json(404, {"message": "cli_floor: not served: %s %s" % (self.command, self.path)})

    def wait(self, cid):
        self.head(200, "application/json", extra=(("Transfer-Encoding", "chunked"),))
        self.wfile.flush()
        started(cid).wait(30)
        body = b'{"Error":null,"StatusCode":0}\n'
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))

    do_GET = do_HEAD = do_POST = do_DELETE = route


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
