#!/usr/bin/env bash
# Per-phase trace of `docker run --rm busybox true` (or, with --exec, of
# `docker exec c true` in a running container) against Arca.
#
# Usage: bench/trace.sh [-n RUNS] [--build DIR] [--network MODE] [--exec] [--raw]
#                       [--running N] [--created N]
#
# Starts a fresh daemon at log level debug, runs `docker run --rm busybox
# true` RUNS times (default 30, after one warm-up) and reads the daemon's
# debug log: each HTTP request's time ("http: METHOD PATH -> STATUS (ms)")
# and each "trace ID op.phase N us" line the engine writes (util/log.h
# arca_trace_*).  Prints the median and p90 of every phase, in the order of
# one run, with the CLI's own wall time as the total.  --raw also prints the
# log lines of the last run.  --running N first starts N `busybox sleep`
# containers (each adds its rootfs and netns mounts to the host's table), to
# see which phases grow with them; --created N first creates N that never
# start.  A --network that is not bridge, none or
# host is created first (a user network).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=30 NET="" RAW=0 EXEC=0 RUNNING=0 CREATED=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) RUNS=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    --network) NET=$2; shift 2 ;;
    --raw) RAW=1; shift ;;
    --exec) EXEC=1; shift ;;
    --running) RUNNING=$2; shift 2 ;;
    --created) CREATED=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "trace: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path

arca_bench_start || { echo "trace: daemon did not start" >&2; exit 1; }
netargs=()
[ -z "$NET" ] || netargs=(--network "$NET")
case "$NET" in
  "" | bridge | none | host | container:*) ;;
  *) on arca docker network create "$NET" >/dev/null || { echo "trace: network create $NET failed" >&2; exit 1; } ;;
esac
for ((i = 0; i < CREATED; i++)); do
  on arca docker create "${netargs[@]}" busybox true >/dev/null || { echo "trace: created container $i failed" >&2; exit 1; }
done
for ((i = 0; i < RUNNING; i++)); do
  on arca docker run -d "${netargs[@]}" busybox sleep 3600 >/dev/null || { echo "trace: background container $i failed" >&2; exit 1; }
done
on arca docker run --rm "${netargs[@]}" busybox true >/dev/null || { echo "trace: warm-up run failed" >&2; exit 1; }
what=(run --rm "${netargs[@]}" busybox true)
if [ "$EXEC" = 1 ]; then
  on arca docker run -d --name trace-exec "${netargs[@]}" busybox sleep 3600 >/dev/null &&
    on arca docker exec trace-exec true || { echo "trace: warm-up exec failed" >&2; exit 1; }
  what=(exec trace-exec true)
fi

log=$ARCA_T/daemon.log
for ((i = 0; i < RUNS; i++)); do
  echo "=== run $i ===" >>"$log"
  t=$(time_ms on arca docker "${what[@]}") || echo "trace: run $i failed" >&2
  echo "=== cli $t ms ===" >>"$log"
done

# One "phase value_ms" line per measurement, phases in first-seen order.
awk '
  /^=== run / { inrun = 1; next }
  !inrun { next }
  /^=== cli / { print "cli:docker_total", $3; next }
  / http: / {
    m = $0; sub(/.* http: /, "", m)
    split(m, f, " "); path = f[2]; sub(/^\/v[0-9.]+/, "", path); sub(/\?.*/, "", path)
    gsub(/\/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]+/, "/ID", path)
    ms = m; sub(/.*\(/, "", ms); sub(/ ms.*/, "", ms)
    print "http:" f[1] "_" path, ms; next
  }
  / trace / {
    n = split($0, f, " ")
    for (k = 1; k <= n; k++) if (f[k] == "trace") break
    print f[k + 2], f[k + 3] / 1000
  }
' "$log" >"$B/phases"

echo
echo "Per-phase trace of docker ${what[*]} ($(date -u +%F), commit $(git -C "$repo" rev-parse --short HEAD), $(nproc) CPUs, $RUNS runs, $RUNNING others running, $CREATED created, $(wc -l </proc/self/mountinfo) mounts)"
printf '%-34s %10s %10s %10s\n' phase "median ms" "p90 ms" "mean ms"
awk '{ if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } } END { for (i = 1; i <= n; i++) print order[i] }' "$B/phases" |
  while read -r ph; do
    vals=$(awk -v p="$ph" '$1 == p { print $2 }' "$B/phases")
    printf '%-34s %10s %10s %10s\n' "$ph" "$(median <<<"$vals")" "$(pctl 90 <<<"$vals")" \
      "$(awk '{ s += $1 } END { printf "%.3f", s / NR }' <<<"$vals")"
  done
if [ "$RAW" = 1 ]; then
  echo
  echo "--- daemon log of the last run ---"
  awk '/^=== run /{ buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$log"
fi
