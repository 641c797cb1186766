#!/usr/bin/env python3
"""Fault-injection soak: mixed API traffic from many clients while the daemon
is killed with SIGKILL at random instants; after every restart Arca's view is
checked against reality.

    tests/soak/soak.py [--kills N] [--clients N] [--seed N] [--arca PATH]

One daemon runs in a network namespace of its own (bridges, veths and its
nftables table live there, so nothing touches the host's network) with its
own data and exec roots under a temp dir.  Each round:
  1. clients send mixed requests (run, start, stop, kill, restart, rm -f,
     exec, inspect, logs, network connect/disconnect, volume create/rm,
     published ports) for a random 0.2-2.5 s;
  2. the daemon is killed with SIGKILL (and, some rounds, a shim or a
     container's process as well), clients are stopped;
  3. the daemon is started again; once its view is stable the checker
     compares it with the runtime's list, shim processes, mounts, links, the
     nft table, SQLite's integrity_check and IPAM.
At the end every container is removed with rm -f and nothing may remain.
Prints "soak: K kills survived, N inconsistencies" and exits 1 if N > 0.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Api:
    def __init__(self, sock):
        self.sock = sock

    def call(self, method, path, body=None, timeout=30, raw=False):
        """(status, parsed JSON or bytes); status 0 when the daemon is unreachable."""
        c = UnixHTTP(self.sock, timeout)
        try:
            headers = {}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            c.request(method, "/v1.51" + path, body=data, headers=headers)
            r = c.getresponse()
            payload = r.read()
            if raw:
                return r.status, payload
            try:
                return r.status, json.loads(payload) if payload else None
            except ValueError:
                return r.status, payload
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            c.close()


class Daemon:
    def __init__(self, arca, root, netns):
        self.arca, self.root, self.netns = arca, root, netns
        self.sock = os.path.join(root, "arca.sock")
        self.data = os.path.join(root, "data")
        self.exec_root = os.path.join(root, "exec")
        self.config = os.path.join(root, "config.json")
        self.log = open(os.path.join(root, "daemon.log"), "ab")
        self.proc = None
        self.api = Api(self.sock)

    def start(self, timeout=30):
        self.proc = subprocess.Popen(
            ["nsenter", "--net=" + self.netns, self.arca, "daemon", "start",
             "--socket-path", self.sock, "--data-root", self.data, "--exec-root", self.exec_root,
             "--config", self.config, "--log-level", "debug"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, body = self.api.call("GET", "/_ping", timeout=2, raw=True)
            if st == 200:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited at start (see %s/daemon.log)" % self.root)
            time.sleep(0.05)
        raise RuntimeError("daemon did not answer within %ds" % timeout)

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill9()


def netns_run(netns, *cmd):
    return subprocess.run(["nsenter", "--net=" + netns] + list(cmd), capture_output=True, text=True)


# ---------------------------------------------------------------------------
# Workload

COMMANDS = [
    ["sleep", "1000"],
    ["sh", "-c", "sleep 0.3; exit 3"],
    ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"],
    ["true"],
]


class Client(threading.Thread):
    def __init__(self, api, rng, stop, stats, networks, names):
        super().__init__(daemon=True)
        self.api, self.rng, self.stop_ev, self.stats = api, rng, stop, stats
        self.networks, self.names = networks, names

    def pick(self):
        st, lst = self.api.call("GET", "/containers/json?all=1", timeout=10)
        if st != 200 or not lst:
            return None
        return self.rng.choice(lst)["Id"]

    def op_run(self):
        name = "soak-%08x" % self.rng.getrandbits(32)
        hc = {"NetworkMode": self.rng.choice(self.networks)}
        if self.rng.random() < 0.3:
            hc["PortBindings"] = {"80/tcp": [{"HostIp": "", "HostPort": ""}]}
        if self.rng.random() < 0.2:
            hc["RestartPolicy"] = {"Name": self.rng.choice(["always", "unless-stopped", "on-failure"])}
        if self.rng.random() < 0.2:
            hc["Binds"] = ["soakvol%d:/data" % self.rng.randrange(3)]
        cmd = self.rng.choice(COMMANDS)
        if hc.get("RestartPolicy"):
            cmd = COMMANDS[0]  # a policy on a quick exit would restart forever
        body = {"Image": "busybox", "Cmd": cmd, "HostConfig": hc}
        if self.rng.random() < 0.3:
            body["ExposedPorts"] = {"80/tcp": {}}
        st, r = self.api.call("POST", "/containers/create?name=" + name, body)
        if st == 201 and self.rng.random() < 0.9:
            self.api.call("POST", "/containers/%s/start" % r["Id"])

    def op_simple(self, method, fmt):
        cid = self.pick()
        if cid:
            self.api.call(method, fmt % cid)

    def op_exec(self):
        cid = self.pick()
        if not cid:
            return
        st, r = self.api.call("POST", "/containers/%s/exec" % cid, {"Cmd": ["true"]})
        if st == 201:
            self.api.call("POST", "/exec/%s/start" % r["Id"], {"Detach": False, "Tty": False})

    def op_netconn(self):
        cid = self.pick()
        if cid:
            net = self.rng.choice(self.networks[1:])
            verb = self.rng.choice(["connect", "disconnect"])
            self.api.call("POST", "/networks/%s/%s" % (net, verb), {"Container": cid})

    def op_volume(self):
        name = "soakv-%d" % self.rng.randrange(5)
        if self.rng.random() < 0.5:
            self.api.call("POST", "/volumes/create", {"Name": name})
        else:
            self.api.call("DELETE", "/volumes/" + name)

    def run(self):
        ops = [
            (25, self.op_run),
            (10, lambda: self.op_simple("POST", "/containers/%s/start")),
            (8, lambda: self.op_simple("POST", "/containers/%s/stop?t=1")),
            (6, lambda: self.op_simple("POST", "/containers/%s/kill")),
            (4, lambda: self.op_simple("POST", "/containers/%s/restart?t=1")),
            (10, lambda: self.op_simple("DELETE", "/containers/%s?force=1&v=1")),
            (8, self.op_exec),
            (8, lambda: self.op_simple("GET", "/containers/%s/json")),
            (5, lambda: self.op_simple("GET", "/containers/%s/logs?stdout=1&stderr=1")),
            (6, self.op_netconn),
            (4, self.op_volume),
        ]
        total = sum(w for w, _ in ops)
        while not self.stop_ev.is_set():
            x = self.rng.randrange(total)
            for w, fn in ops:
                if x < w:
                    fn()
                    break
                x -= w
            self.stats["requests"] += 1


# ---------------------------------------------------------------------------
# Reality

def proc_cmdlines():
    out = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % p) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state in ("Z", "X"):
            continue
        out[int(p)] = [a.decode(errors="replace") for a in argv if a]
    return out


def shims_of(root):
    """{container id: [pids]} of this daemon's container shims (not exec shims)."""
    res = {}
    for pid, argv in proc_cmdlines().items():
        if not argv or not argv[0].endswith("arca-shim"):
            continue
        if not any(a.startswith(root) for a in argv):
            continue
        if "--exec-process" in argv:
            continue
        if "--id" in argv:
            res.setdefault(argv[argv.index("--id") + 1], []).append(pid)
    return res


def runtime_cmd(runtime):
    """The runtime as the daemon runs it: crun, on a hybrid cgroup host, in
    a mount namespace without the cgroup2 mount (src/util/cgview.h)."""
    with open("/proc/self/mounts") as f:
        hybrid = any(l.split()[1:3] == ["/sys/fs/cgroup/unified", "cgroup2"] for l in f)
    if runtime == "crun" and hybrid:
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'umount -l /sys/fs/cgroup/unified; exec "$@"', "rt", "crun"]
    return [runtime]


def runtime_list_one(runtime, root):
    """One runtime's containers.  `runc list` fails now and then when a
    container's state is being written or deleted meanwhile: try again
    rather than take a failure for an empty list."""
    for _ in range(10):
        r = subprocess.run(runtime_cmd(runtime) + ["--root", root, "list", "--format", "json"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            try:
                return {c["id"]: c for c in json.loads(r.stdout or "null") or []}
            except ValueError:
                pass
        time.sleep(0.2)
    raise RuntimeError("%s list keeps failing: %s" % (runtime, r.stderr.strip()))


def runtime_list(exec_root):
    """Every runtime's containers under the daemon's exec root (crun, the
    default when installed, and runc), each with "runtime" set."""
    found = {}
    for runtime in ("crun", "runc"):
        root = os.path.join(exec_root, runtime)
        if os.path.isdir(root):
            for i, c in runtime_list_one(runtime, root).items():
                c["runtime"] = runtime
                found[i] = c
    return found


def mounts_under(path):
    res = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp.startswith(path + "/"):
                res.append(mp)
    return res


class Checker:
    def __init__(self, d, table):
        self.d, self.table = d, table
        self.problems = []

    def bad(self, msg):
        self.problems.append(msg)

    def snapshot(self):
        st, lst = self.d.api.call("GET", "/containers/json?all=1", timeout=30)
        if st != 200:
            return None
        out = {}
        for c in lst:
            st, ins = self.d.api.call("GET", "/containers/%s/json" % c["Id"], timeout=30)
            if st == 404:
                continue  # removed meanwhile (auto-remove)
            if st != 200:
                self.bad("inspect %s: status %s" % (c["Id"][:12], st))
                continue
            out[c["Id"]] = ins
        return out

    def settle(self, timeout=30):
        """Wait until no container is starting/restarting/removing and two
        snapshots agree on every state."""
        deadline = time.time() + timeout
        prev = None
        while time.time() < deadline:
            snap = self.snapshot()
            if snap is not None:
                key = {i: (c["State"]["Status"], c["State"]["Pid"]) for i, c in snap.items()}
                busy = [i for i, c in snap.items() if c["State"]["Status"] in ("restarting", "removing")]
                if not busy and key == prev:
                    return snap
                prev = key
            time.sleep(0.5)
        return self.snapshot()

    @staticmethod
    def key(snap):
        return {i: (c["State"]["Status"], c["State"]["Pid"], json.dumps(c["NetworkSettings"]["Ports"], sort_keys=True))
                for i, c in snap.items()}

    def check_stable(self, snap, tries=5):
        """check(snap), but only trust a result when Arca's view did not
        change while reality was read (a policy restart between the two
        reads is not an inconsistency); else check again."""
        for _ in range(tries):
            saved, self.problems = self.problems, []
            self.check(snap)
            found, self.problems = self.problems, saved
            after = self.snapshot()
            if after is not None and self.key(after) == self.key(snap):
                break
            time.sleep(0.5)
            snap = self.settle() or after or snap
        self.problems.extend(found)

    def check(self, snap):
        d = self.d
        runc = runtime_list(d.exec_root)
        shims = shims_of(d.root)
        running = {i for i, c in snap.items() if c["State"]["Running"] and not c["State"]["Restarting"]}
        for i, c in snap.items():
            s = c["State"]
            if i in running:
                rc = runc.get(i)
                if not rc or rc["status"] not in ("running", "paused"):
                    self.bad("%s listed %s but the runtime has %s" % (i[:12], s["Status"], rc and rc["status"]))
                elif rc["pid"] != s["Pid"]:
                    self.bad("%s: Pid %s but the runtime's is %s" % (i[:12], s["Pid"], rc["pid"]))
                if i not in shims:
                    self.bad("%s listed running without a shim" % i[:12])
        for i, rc in runc.items():
            if i not in snap:
                self.bad("runtime has %s (%s) that Arca does not list" % (i[:12], rc["status"]))
            elif i not in running and rc["status"] in ("running", "paused", "created"):
                self.bad("runtime has %s %s but Arca lists it %s" % (i[:12], rc["status"], snap[i]["State"]["Status"]))
        for i, pids in shims.items():
            if i not in snap:
                self.bad("shim %s for %s which Arca does not list" % (pids, i[:12]))
            elif i not in running:
                self.bad("shim %s for %s listed %s" % (pids, i[:12], snap[i]["State"]["Status"]))
            if len(pids) > 1:
                self.bad("%d shims for %s" % (len(pids), i[:12]))
        # Mounts: rootfs overlays and netns bind mounts only for running containers.
        for mp in mounts_under(d.root):
            m = re.search(r"/([0-9a-f]{64})(/|$)", mp)
            if not m:
                continue
            if m.group(1) not in running:
                self.bad("mount %s of a container that is not running" % mp)
        # Names unique.
        names = [c["Name"] for c in snap.values()]
        if len(names) != len(set(names)):
            self.bad("duplicate names: %s" % sorted(n for n in names if names.count(n) > 1))
        self.check_network(snap, running)
        self.check_db(snap, running)

    def check_network(self, snap, running):
        d = self.d
        # veths on the host side: one per endpoint of a running container
        # (an entry without an address is a network the container was
        # disconnected from while running: Networks then shows NetworkMode's)
        def endpoints(c):
            return [ep for ep in (c["NetworkSettings"]["Networks"] or {}).values() if ep.get("IPAddress")]
        want = sum(len(endpoints(c)) for i, c in snap.items()
                   if i in running and c["HostConfig"]["NetworkMode"] not in ("host", "none")
                   and not c["HostConfig"]["NetworkMode"].startswith("container:"))
        r = netns_run(d.netns, "ip", "-o", "link", "show", "type", "veth")
        have = len([l for l in r.stdout.splitlines() if l.strip()])
        if have != want:
            self.bad("%d veths in the daemon's namespace, %d endpoints of running containers" % (have, want))
        # each running container's interfaces carry its endpoints' addresses
        for i in running:
            c = snap[i]
            mode = c["HostConfig"]["NetworkMode"]
            if mode in ("host", "none") or mode.startswith("container:") or not c["State"]["Pid"]:
                continue
            r = subprocess.run(["nsenter", "-t", str(c["State"]["Pid"]), "-n", "ip", "-o", "-4", "addr"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                continue  # exited meanwhile
            have_ips = set(re.findall(r"inet (\S+)/", r.stdout))
            for net, ep in (c["NetworkSettings"]["Networks"] or {}).items():
                if ep.get("IPAddress") and ep["IPAddress"] not in have_ips:
                    self.bad("%s lists %s on %s, its interfaces have %s" % (i[:12], ep["IPAddress"], net,
                                                                            sorted(have_ips)))
        # published ports: every DNAT port belongs to a running container's binding
        ports = set()
        for i in running:
            if not endpoints(snap[i]):
                continue  # no endpoint, no DNAT (disconnected while running)
            for bs in (snap[i]["NetworkSettings"]["Ports"] or {}).values():
                for b in bs or []:
                    ports.add(int(b["HostPort"]))
        r = netns_run(d.netns, "nft", "list", "table", "inet", self.table)
        dnat = set()
        if r.returncode == 0:
            for m in re.finditer(r"dport (\d+) dnat", r.stdout):
                dnat.add(int(m.group(1)))
        else:
            self.bad("nft list table %s: %s" % (self.table, r.stderr.strip()))
        for p in dnat - ports:
            self.bad("nft rule for port %d which no running container publishes" % p)
        for p in ports - dnat:
            self.bad("port %d published by a running container has no nft rule" % p)
        # IPs: unique per network among running containers
        seen = {}
        for i in running:
            for net, ep in (snap[i]["NetworkSettings"]["Networks"] or {}).items():
                ip = ep.get("IPAddress")
                if ip:
                    if (net, ip) in seen:
                        self.bad("%s and %s both have %s on %s" % (seen[(net, ip)][:12], i[:12], ip, net))
                    seen[(net, ip)] = i

    def check_db(self, snap, running):
        path = os.path.join(self.d.data, "arca.db")
        try:
            db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
            ok = db.execute("PRAGMA integrity_check").fetchone()[0]
            if ok != "ok":
                self.bad("integrity_check: %s" % ok)
            rows = db.execute("SELECT network_id, address, container_id FROM ip_allocations").fetchall()
            db.close()
        except sqlite3.Error as e:
            self.bad("sqlite: %s" % e)
            return
        for net, addr, cid in rows:
            if cid and len(cid) == 64 and cid not in snap:
                self.bad("IP %s on %s allocated to %s which Arca does not list" % (addr, net[:12], cid[:12]))


# ---------------------------------------------------------------------------

def kill_random_process(rng, d, snap, log):
    """Kill a shim or a container's process of a running container."""
    running = [c for c in snap.values() if c["State"]["Running"] and c["State"]["Pid"]]
    if not running:
        return
    c = rng.choice(running)
    if rng.random() < 0.5:
        pids = shims_of(d.root).get(c["Id"], [])
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            log("  killed the shim of %s" % c["Id"][:12])
    else:
        try:
            os.kill(c["State"]["Pid"], signal.SIGKILL)
            log("  killed the process of %s" % c["Id"][:12])
        except ProcessLookupError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--arca", default=os.path.join(REPO, "build", "arca"))
    ap.add_argument("--image", default=os.path.join(REPO, "tests", "fixtures", "out", "busybox-save.tar"))
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--debug-stop", action="store_true",
                    help="at the first inconsistency, exit leaving the daemon and its containers as they are")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    root = tempfile.mkdtemp(prefix="arca-soak.")
    tag = "%06x" % rng.getrandbits(24)
    table = "arca_soak" + tag
    with open(os.path.join(root, "config.json"), "w") as f:
        json.dump({"bridgeName": "arca-s" + tag, "nftTable": table}, f)
    netns = os.path.join(root, "netns")
    open(netns, "w").close()
    subprocess.run(["unshare", "--net=" + netns, "ip", "link", "set", "lo", "up"], check=True)
    logf = open(os.path.join(root, "soak.log"), "w")

    def log(msg):
        print(msg, file=logf, flush=True)

    print("soak: seed %d, %d kills, %d clients, in %s" % (a.seed, a.kills, a.clients, root), flush=True)
    d = Daemon(a.arca, root, netns)
    problems = 0
    survived = 0
    crashed = True  # the soak itself failed: keep the temp dir
    try:
        d.start()
        subprocess.run(["curl", "-sS", "--unix-socket", d.sock, "-X", "POST", "-H", "Content-Type: application/x-tar",
                        "--data-binary", "@" + a.image, "http://localhost/v1.51/images/load?quiet=1"],
                       check=True, capture_output=True)
        networks = ["bridge"]
        for n in ("soaknet1", "soaknet2"):
            st, r = d.api.call("POST", "/networks/create", {"Name": n})
            if st != 201:
                raise RuntimeError("network create %s: %s %s" % (n, st, r))
            networks.append(n)
        checker = Checker(d, table)
        stats = {"requests": 0}
        for k in range(a.kills):
            stop = threading.Event()
            clients = [Client(d.api, random.Random(rng.random()), stop, stats, networks, None)
                       for _ in range(a.clients)]
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.2, 2.5))
            d.kill9()
            stop.set()
            for c in clients:
                c.join(60)
            d.start()
            snap = checker.settle()
            if snap and rng.random() < 0.2:
                kill_random_process(rng, d, snap, log)
                time.sleep(0.5)
                snap = checker.settle()
            before = len(checker.problems)
            if snap is None:
                checker.bad("daemon did not list containers after restart %d" % (k + 1))
            else:
                checker.check_stable(snap)
            new = checker.problems[before:]
            log("kill %d: %d containers, %d requests so far, %d new problems" %
                (k + 1, len(snap or {}), stats["requests"], len(new)))
            for p in new:
                log("  " + p)
                print("soak: kill %d: %s" % (k + 1, p), flush=True)
            survived += 1
            if new and a.debug_stop:
                print("soak: stopped for debugging; daemon pid %d, netns %s" % (d.proc.pid, netns), flush=True)
                os._exit(1)
            if (k + 1) % 10 == 0:
                print("soak: %d kills, %d containers, %d problems" % (k + 1, len(snap or {}), len(checker.problems)),
                      flush=True)
        # Everything must go with rm -f, leaving nothing behind.
        snap = checker.settle() or {}
        for i in snap:
            st, r = d.api.call("DELETE", "/containers/%s?force=1&v=1" % i, timeout=60)
            if st not in (204, 404):
                checker.bad("rm -f %s: %s %s" % (i[:12], st, r))
        time.sleep(1)
        left = shims_of(root)
        if left:
            checker.bad("shims left after rm -f of everything: %s" % left)
        rl = runtime_list(d.exec_root)
        if rl:
            checker.bad("runtime still has %s after rm -f of everything" % sorted(x[:12] for x in rl))
        mounts = [m for m in mounts_under(root) if re.search(r"/[0-9a-f]{64}(/|$)", m)]
        if mounts:
            checker.bad("mounts left after rm -f of everything: %s" % mounts)
        r = netns_run(netns, "ip", "-o", "link", "show", "type", "veth")
        if r.stdout.strip():
            checker.bad("veths left after rm -f of everything: %s" % r.stdout.strip())
        problems = len(checker.problems)
        crashed = False
    finally:
        d.stop()
        # anything the daemon left: shims, runtime state, mounts
        for pids in shims_of(root).values():
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for i, c in runtime_list(os.path.join(root, "exec")).items():
            subprocess.run(runtime_cmd(c["runtime"]) + ["--root", os.path.join(root, "exec", c["runtime"]),
                                                        "delete", "-f", i], capture_output=True)
        for mp in sorted(mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        subprocess.run(["umount", "-l", netns], capture_output=True)
        for cg in ("/sys/fs/cgroup",):
            pass
        if not a.keep and problems == 0 and not crashed:
            shutil.rmtree(root, ignore_errors=True)
    print("soak: %d kills survived, %d inconsistencies%s" %
          (survived, problems, "" if problems == 0 else " (details in %s/soak.log)" % root), flush=True)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
