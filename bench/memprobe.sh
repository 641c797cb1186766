#!/usr/bin/env bash
# Where a process's memory is: bench/memprobe.sh PID [--malloc-info|--by-file]
#
# One line: RSS and its parts (smaps_rollup), threads, glibc malloc arenas
# (a non-main arena's heap is an anonymous mapping aligned to 64 MiB,
# HEAP_MAX_SIZE on 64-bit: count and resident size), and the other anonymous
# resident memory (main arena's brk heap, thread stacks, mmapped chunks).
# With --malloc-info, glibc's own account too (malloc_info(3), called in the
# process through gdb): memory malloc holds from the system and how much of
# it is free in its bins (freed by the program, not returned).  KEEP_XML=1
# keeps malloc_info's XML in a file of its own and prints its name.
# With --by-file, the resident KiB of each mapped file (all its mappings
# summed: a shared library's text, data and relocations), "anon" and
# "[heap]", largest first, on one line: what a library costs once loaded.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
case "${1:-}" in
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
  '') echo "usage: bench/memprobe.sh PID [--malloc-info|--by-file]" >&2; exit 2 ;;
esac
pid=$1
pid_alive "$pid" || { echo "bench: no process $pid" >&2; exit 1; }
/usr/bin/python3 - "$pid" <<'PY'
import re, sys
pid = sys.argv[1]
roll = {}
for line in open("/proc/%s/smaps_rollup" % pid):
    m = re.match(r"(\w+):\s+(\d+) kB", line)
    if m:
        roll[m.group(1)] = int(m.group(2))
threads = next(l.split()[1] for l in open("/proc/%s/status" % pid) if l.startswith("Threads:"))
heaps = heap_rss = anon_rss = 0
cur = None
for line in open("/proc/%s/smaps" % pid):
    f = line.split()
    if re.match(r"^[0-9a-f]+-[0-9a-f]+$", f[0]):
        s, e = (int(x, 16) for x in f[0].split("-"))
        anon = len(f) == 5
        cur = None
        if anon and s % (64 << 20) == 0 and e - s <= (64 << 20):
            cur, heaps = "heap", heaps + 1
        elif anon or (len(f) == 6 and f[5] == "[heap]"):
            cur = "anon"
    elif f[0] == "Rss:" and cur:
        if cur == "heap":
            heap_rss += int(f[1])
        else:
            anon_rss += int(f[1])
print("rss %d KiB (anonymous %d, file %d), pss %d KiB, %s threads, %d arena heaps resident %d KiB, other anonymous %d KiB"
      % (roll["Rss"], roll["Anonymous"], roll["Rss"] - roll["Anonymous"], roll["Pss"], threads, heaps, heap_rss, anon_rss))
PY
if [ "${2:-}" = --by-file ]; then
  /usr/bin/python3 - "$pid" <<'PY'
import collections, re, sys
rss = collections.Counter()
name = None
for line in open("/proc/%s/smaps" % sys.argv[1]):
    f = line.split()
    if re.match(r"^[0-9a-f]+-[0-9a-f]+$", f[0]):
        name = f[5].rsplit("/", 1)[-1] if len(f) >= 6 else "anon"
    elif f[0] == "Rss:":
        rss[name] += int(f[1])
print("by file (KiB): total %d: " % sum(rss.values())
      + ", ".join("%s %d" % (n, k) for n, k in rss.most_common() if k))
PY
fi
if [ "${2:-}" = --malloc-info ]; then
  # The process itself writes the file (fopen in it): let it reach the
  # file whatever its user.
  out=$B/malloc_info.xml
  : >"$out"
  chmod o+x "$B"
  chmod 666 "$out"
  gdb -q -batch -p "$pid" \
    -ex "set \$f = (void *) fopen(\"$out\", \"w\")" \
    -ex 'call (int) malloc_info(0, $f)' -ex 'call (int) fclose($f)' >/dev/null 2>&1
  /usr/bin/python3 - "$out" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
tot = {(t.get("type")): int(t.get("size")) for t in root.findall("total")}
cur = int(root.find("system[@type='current']").get("size"))
print("malloc: %d arenas, %.1f MiB held from the system, %.1f MiB of it free in bins, %.1f MiB in mmapped chunks"
      % (len(root.findall("heap")), cur / 1048576, (tot["fast"] + tot["rest"]) / 1048576, tot["mmap"] / 1048576))
PY
  if [ -n "${KEEP_XML:-}" ]; then
    kept=$(mktemp /tmp/memprobe.XXXXXX.xml) && cp "$out" "$kept" && echo "malloc_info XML: $kept"
  fi
fi
