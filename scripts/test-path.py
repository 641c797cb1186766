#!/usr/bin/env python3
"""Build a directory of symlinks holding exactly the commands a fresh Debian 12
machine has once scripts/setup.sh ran: the base system (Essential packages and
those of Priority required or important), the packages setup.sh lists and
every package they depend on, and the docker CLI in /usr/local/bin.

scripts/run-e2e.sh puts only this directory (and the build directory) on PATH,
so a test that calls a command setup.sh does not install fails here with
"command not found" instead of failing on a new CI machine.

Usage: scripts/test-path.py OUTDIR     (prints OUTDIR)
Exits 1 if a package setup.sh lists is not installed.
"""
import os
import re
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIRS = ("/usr/bin", "/usr/sbin", "/bin", "/sbin")


def setup_packages():
    """The PKGS array of scripts/setup.sh, the one list of what setup installs."""
    text = open(os.path.join(REPO, "scripts", "setup.sh")).read()
    m = re.search(r"^PKGS=\((.*?)^\)", text, re.M | re.S)
    body = re.sub(r"#.*", "", m.group(1))
    return body.split()


def installed():
    """{package: (priority, essential, [dependency alternatives])}."""
    fmt = "${db:Status-Abbrev}\x01${Package}\x01${Priority}\x01${Essential}\x01${Depends}, ${Pre-Depends}\n"
    out = subprocess.run(["dpkg-query", "-W", "-f", fmt], check=True,
                         capture_output=True, text=True).stdout
    pkgs = {}
    for line in out.splitlines():
        st, name, prio, ess, deps = line.split("\x01")
        if not st.startswith("ii"):
            continue
        alts = []
        for dep in deps.split(","):
            names = [re.sub(r"[\s(].*|:.*", "", a.strip()) for a in dep.split("|")]
            names = [n for n in names if n]
            if names:
                alts.append(names)
        pkgs[name.split(":")[0]] = (prio, ess == "yes", alts)
    return pkgs


def closure(pkgs, roots):
    keep, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in keep or p not in pkgs:
            continue
        keep.add(p)
        for alts in pkgs[p][2]:
            # apt installs one of the alternatives; count every installed one
            todo.extend(a for a in alts if a in pkgs)
    return keep


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test-path.py OUTDIR")
    out = sys.argv[1]
    pkgs = installed()
    wanted = setup_packages()
    missing = [p for p in wanted if p not in pkgs]
    if missing:
        sys.exit("test-path: not installed (run scripts/setup.sh): " + " ".join(missing))
    roots = [p for p, (prio, ess, _) in pkgs.items() if ess or prio in ("required", "important")]
    keep = closure(pkgs, roots + wanted)

    files = subprocess.run(["dpkg-query", "-L"] + sorted(keep), capture_output=True, text=True).stdout
    owned = set()
    for f in files.splitlines():
        d, n = os.path.split(f)
        if d in BIN_DIRS and n:
            owned.add(n)
    # Commands installed through update-alternatives (nc, awk, ...) are links
    # dpkg lists under no package: keep those whose final target is owned.
    owned_paths = {f for f in files.splitlines() if os.path.dirname(f) in BIN_DIRS}
    for n in os.listdir("/etc/alternatives"):
        target = os.path.realpath(os.path.join("/etc/alternatives", n))
        for d in BIN_DIRS:
            if os.path.realpath(os.path.join(d, n)) == target and \
               any(os.path.realpath(p) == target for p in owned_paths):
                owned.add(n)

    tmp = out + ".new"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for n in sorted(owned):
        for d in BIN_DIRS:
            p = os.path.join(d, n)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                os.symlink(p, os.path.join(tmp, n))
                break
    if os.access("/usr/local/bin/docker", os.X_OK):
        os.symlink("/usr/local/bin/docker", os.path.join(tmp, "docker"))
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(out)


if __name__ == "__main__":
    main()
