#!/usr/bin/env python3
"""Event fan-out measurement for bench/events.sh.

events_subscribers.py SOCKET N OUT READY
Opens N subscriptions to GET /events on the daemon's Unix socket, records for
every event line the receive time, and once SIGTERM arrives (or 600 s pass)
writes OUT: one line per subscriber "count die_count latencies_ns..." where
a latency is receive time minus the event's timeNano (the moment the daemon
published it, right after the state change).  READY is created once all
subscriptions answered 200."""
import json
import selectors
import signal
import socket
import sys
import time

sock_path, n, out_path, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
subs = []
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(b"GET /events HTTP/1.1\r\nHost: bench\r\n\r\n")
    subs.append({"sock": s, "buf": b"", "head": False, "lat": [], "count": 0, "die": 0})
    sel.register(s, selectors.EVENT_READ, subs[-1])

stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
deadline = time.time() + 600
announced = False
while not stop and time.time() < deadline:
    for key, _ in sel.select(timeout=0.2):
        sub = key.data
        data = sub["sock"].recv(65536)
        now = time.time_ns()
        if not data:
            sel.unregister(sub["sock"])
            continue
        sub["buf"] += data
        if not sub["head"]:
            i = sub["buf"].find(b"\r\n\r\n")
            if i < 0:
                continue
            sub["head"] = True
            sub["buf"] = sub["buf"][i + 4:]
        # chunked body: "<hex>\r\n<data>\r\n"; events end with "\n"
        while True:
            i = sub["buf"].find(b"\r\n")
            if i < 0:
                break
            size = int(sub["buf"][:i], 16)
            if len(sub["buf"]) < i + 2 + size + 2:
                break
            chunk = sub["buf"][i + 2:i + 2 + size]
            sub["buf"] = sub["buf"][i + 2 + size + 2:]
            sub.setdefault("partial", b"")
            sub["partial"] += chunk
            while b"\n" in sub["partial"]:
                line, sub["partial"] = sub["partial"].split(b"\n", 1)
                if not line.strip():
                    continue
                ev = json.loads(line)
                sub["count"] += 1
                if ev.get("Action") == "die":
                    sub["die"] += 1
                sub["lat"].append(now - ev["timeNano"])
    if not announced and all(s["head"] for s in subs):
        open(ready, "w").close()
        announced = True

with open(out_path, "w") as f:
    for s in subs:
        f.write(" ".join([str(s["count"]), str(s["die"])] + [str(x) for x in s["lat"]]) + "\n")
