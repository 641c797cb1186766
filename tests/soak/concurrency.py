#!/usr/bin/env python3
"""Concurrency load: N clients x M mixed requests on one daemon.

    tests/soak/concurrency.py [--clients 64] [--requests 500] [--arca PATH] [--hold S]

One daemon in a network namespace of its own (as tests/soak/soak.py).  Each
client owns a few containers and sends a random mix of: run (create+start),
exec (create+start, output read), logs, inspect, list, network
connect/disconnect, volume create/inspect/rm, stop, rm -f.  Answers are
sorted into ok, expected conflicts (304, 404 of an object another client
removed, 409) and errors (anything else, or no answer).  The daemon's RSS,
open fds and threads are read before the load (after a warm-up), after it
and after every container is removed again.

Prints one line per figure and "concurrency: R requests, E errors"; exits 1
if E > 0 or fds/threads grew.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak  # noqa: E402

# 403: connect to a network the container is on, disconnect from one it is
# not on (dockerd answers both 403 Forbidden)
EXPECTED = {304, 403, 404, 409}


def proc_figures(pid):
    with open("/proc/%d/status" % pid) as f:
        st = dict(line.split(":", 1) for line in f if ":" in line)
    return {
        "rss_kb": int(st["VmRSS"].split()[0]),
        "threads": int(st["Threads"]),
        "fds": len(os.listdir("/proc/%d/fd" % pid)),
    }


class Client(threading.Thread):
    def __init__(self, api, n, rng, networks, stats, lock):
        super().__init__(daemon=True)
        self.api, self.n, self.rng, self.networks = api, n, rng, networks
        self.stats, self.lock = stats, lock
        self.mine = []

    def note(self, what, st):
        kind = "ok" if 200 <= st < 300 else "expected" if st in EXPECTED else "error"
        with self.lock:
            self.stats[kind] += 1
            if kind == "error":
                self.stats["errors"].append("%s -> %s" % (what, st))

    def call(self, method, path, body=None, what=None, raw=False):
        st, r = self.api.call(method, path, body, timeout=120, raw=raw)
        self.note(what or "%s %s" % (method, path.split("?")[0].rsplit("/", 1)[-1]), st)
        return st, r

    def pick(self):
        return self.rng.choice(self.mine) if self.mine else None

    def op_run(self):
        if len(self.mine) >= 3:
            return self.op_rm()
        st, r = self.call("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sleep", "1000"],
                                                          "HostConfig": {"NetworkMode": "bridge"}}, "create")
        if st == 201:
            self.mine.append(r["Id"])
            self.call("POST", "/containers/%s/start" % r["Id"], what="start")

    def op_rm(self):
        cid = self.pick()
        if cid:
            self.mine.remove(cid)
            self.call("DELETE", "/containers/%s?force=1&v=1" % cid, what="rm -f")

    def op_exec(self):
        cid = self.pick()
        if not cid:
            return
        st, r = self.call("POST", "/containers/%s/exec" % cid,
                          {"Cmd": ["echo", "hi"], "AttachStdout": True, "AttachStderr": True}, "exec create")
        if st == 201:
            self.call("POST", "/exec/%s/start" % r["Id"], {"Detach": False, "Tty": False}, "exec start", raw=True)

    def op_netconn(self):
        cid = self.pick()
        if cid:
            verb = self.rng.choice(["connect", "disconnect"])
            self.call("POST", "/networks/%s/%s" % (self.rng.choice(self.networks), verb), {"Container": cid},
                      "network " + verb)

    def op_volume(self):
        name = "cv-%d-%d" % (self.n, self.rng.randrange(3))
        op = self.rng.randrange(3)
        if op == 0:
            self.call("POST", "/volumes/create", {"Name": name}, "volume create")
        elif op == 1:
            self.call("GET", "/volumes/" + name, what="volume inspect")
        else:
            self.call("DELETE", "/volumes/" + name, what="volume rm")

    def run(self):
        ops = [
            (6, self.op_run),
            (3, self.op_rm),
            (12, self.op_exec),
            (12, lambda: self.pick() and self.call("GET", "/containers/%s/logs?stdout=1&stderr=1" % self.pick(),
                                                   what="logs", raw=True)),
            (20, lambda: self.pick() and self.call("GET", "/containers/%s/json" % self.pick(), what="inspect")),
            (10, lambda: self.call("GET", "/containers/json?all=1", what="ps")),
            (8, self.op_netconn),
            (8, self.op_volume),
            (3, lambda: self.pick() and self.call("POST", "/containers/%s/stop?t=1" % self.pick(), what="stop")),
            (3, lambda: self.pick() and self.call("POST", "/containers/%s/start" % self.pick(), what="start")),
        ]
        total = sum(w for w, _ in ops)
        for _ in range(self.stats["per_client"]):
            x = self.rng.randrange(total)
            for w, fn in ops:
                if x < w:
                    fn()
                    break
                x -= w
        for cid in list(self.mine):
            self.call("DELETE", "/containers/%s?force=1&v=1" % cid, what="rm -f")
        for i in range(3):
            self.api.call("DELETE", "/volumes/cv-%d-%d" % (self.n, i))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--requests", type=int, default=500, help="per client")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--arca", default=os.path.join(soak.REPO, "build", "arca"))
    ap.add_argument("--hold", type=int, default=0,
                    help="keep the daemon up this many seconds after the run (to inspect it; its PID is printed)")
    ap.add_argument("--image", default=os.path.join(soak.REPO, "tests", "fixtures", "out", "busybox-save.tar"))
    a = ap.parse_args()
    # SIGTERM ends the run (a --hold too) through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    rng = random.Random(a.seed)
    root = tempfile.mkdtemp(prefix="arca-conc.")
    tag = "%06x" % rng.getrandbits(24)
    with open(os.path.join(root, "config.json"), "w") as f:
        json.dump({"bridgeName": "arca-c" + tag, "nftTable": "arca_conc" + tag}, f)
    netns = os.path.join(root, "netns")
    open(netns, "w").close()
    subprocess.run(["unshare", "--net=" + netns, "ip", "link", "set", "lo", "up"], check=True)
    d = soak.Daemon(a.arca, root, netns)
    rc = 1
    try:
        d.start()
        subprocess.run(["curl", "-sS", "--unix-socket", d.sock, "-X", "POST", "-H", "Content-Type: application/x-tar",
                        "--data-binary", "@" + a.image, "http://localhost/v1.51/images/load?quiet=1"],
                       check=True, capture_output=True)
        networks = []
        for n in ("cnet1", "cnet2"):
            st, r = d.api.call("POST", "/networks/create", {"Name": n})
            if st != 201:
                raise RuntimeError("network create %s: %s %s" % (n, st, r))
            networks.append(n)
        lock = threading.Lock()

        def load(clients, per_client):
            stats = {"ok": 0, "expected": 0, "error": 0, "errors": [], "per_client": per_client}
            ts = [Client(d.api, i, random.Random(rng.random()), networks, stats, lock) for i in range(clients)]
            t0 = time.time()
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            return stats, time.time() - t0

        load(8, 20)  # warm-up: thread stacks, caches, the first of everything
        time.sleep(2)
        before = proc_figures(d.proc.pid)
        stats, secs = load(a.clients, a.requests)
        during = proc_figures(d.proc.pid)
        time.sleep(3)
        after = proc_figures(d.proc.pid)
        st, left = d.api.call("GET", "/containers/json?all=1")
        n = stats["ok"] + stats["expected"] + stats["error"]
        print("concurrency: %d clients x %d requests in %.0f s (%.0f req/s)" % (a.clients, a.requests, secs, n / secs))
        print("concurrency: %d ok, %d expected conflicts (304/403/404/409), %d errors" %
              (stats["ok"], stats["expected"], stats["error"]))
        for e in stats["errors"][:20]:
            print("concurrency: error: " + e)
        for k in ("rss_kb", "fds", "threads"):
            print("concurrency: %s before %d, at the end of the load %d, after %d" % (k, before[k], during[k], after[k]))
        grew = after["fds"] > before["fds"] or after["threads"] > before["threads"]
        if left:
            print("concurrency: %d containers left after every client removed its own" % len(left))
        rc = 1 if stats["error"] or grew or left else 0
        print("concurrency: %d requests, %d errors%s" % (n, stats["error"], ", fds/threads grew" if grew else ""))
        if a.hold:
            print("concurrency: daemon PID %d, socket %s, held %d s" % (d.proc.pid, d.sock, a.hold), flush=True)
            time.sleep(a.hold)
    finally:
        d.stop()
        for pids in soak.shims_of(root).values():
            for p in pids:
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
        subprocess.run(["umount", "-l", netns], capture_output=True)
        if rc == 0:
            subprocess.run(["rm", "-rf", root])
        else:
            print("concurrency: daemon log in %s/daemon.log" % root)
    sys.exit(rc)


if __name__ == "__main__":
    main()
