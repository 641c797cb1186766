#!/usr/bin/env bash
# Events and healthcheck benchmarks (issue 10), Arca beside a reference dockerd:
#   1. fan-out: S subscribers of GET /events (default 10) while N containers
#      (default 200) run and exit (`docker run --rm busybox true`, 4 at a
#      time): the events each subscriber received (all must agree, N die
#      events each: no event lost) and the latency from publication (the
#      event's timeNano, stamped right after the state change) to receipt,
#      median and p99 over all subscribers;
#   2. healthchecks: H containers (default 50) with `--health-cmd true
#      --health-interval 1s`, all healthy, then T seconds (default 30) of
#      probing: the daemon's CPU (% of one core, /proc/PID/stat) and RSS, and
#      the whole engine's (daemon + shims + runtime invocations, and for
#      dockerd its containerd and shims): CPU from a cpuacct cgroup the
#      engine is moved into before any container starts, RSS summed over
#      its processes at the end.
# Usage: bench/events.sh [--with-dockerd] [-n N] [-s S] [-H H] [-t T] [--build DIR]
# The reference dockerd (Debian's docker.io, 20.10) runs in a network
# namespace of its own (its docker0 lives there) with --iptables=false.
# Both engines are measured one after the other.  Everything started here is
# stopped by PID, cgroups and namespaces removed, on exit or Ctrl-C.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WITH_DOCKERD=0 NCTR=200 NSUB=10 NHEALTH=50 SECS=30
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) NCTR=$2; shift 2 ;;
    -s) NSUB=$2; shift 2 ;;
    -H) NHEALTH=$2; shift 2 ;;
    -t) SECS=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
ARCA_START_TIMEOUT=20

SUB_PID="" CG=""
if [ -d /sys/fs/cgroup/cpuacct ]; then CGROOT=/sys/fs/cgroup/cpuacct; CGV=1; else CGROOT=/sys/fs/cgroup; CGV=2; fi

cg_create() {
  CG=$CGROOT/arca-evbench-$$
  mkdir -p "$CG"
}
cg_move() { local p; for p in "$@"; do echo "$p" >"$CG/cgroup.procs" 2>/dev/null; done; }
cg_cpu_ns() {
  if [ "$CGV" = 1 ]; then cat "$CG/cpuacct.usage"
  else awk '/^usage_usec/ { print $2 * 1000 }' "$CG/cpu.stat"; fi
}
cg_rss_kb() {
  local p t=0 r
  for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do
    r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
    t=$((t + ${r:-0}))
  done
  echo "$t"
}
cg_remove() {
  [ -n "$CG" ] && [ -d "$CG" ] || return 0
  local p
  for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null; done
  rmdir "$CG" 2>/dev/null
  CG=""
}

# lib.sh stops the daemons on exit; then these (last registered runs first).
bench_on_exit cg_remove
bench_on_exit '[ -z "$SUB_PID" ] || kill "$SUB_PID" 2>/dev/null'

ns_to_ms() { [ "$1" = "-" ] && echo "-" || awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e6 }'; }
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# fanout SOCK: "<events per subscriber, or 'differ'> <die> <median ms> <p99 ms>"
fanout() {
  local sock=$1 out=$B/fanout.out ready=$B/fanout.ready
  rm -f "$out" "$ready"
  python3 "$repo/bench/events_subscribers.py" "$sock" "$NSUB" "$out" "$ready" &
  SUB_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do [ -e "$ready" ] && break; sleep 0.1; done
  seq "$NCTR" | xargs -P 4 -I{} timeout 120 "$DOCKER_BIN" run --rm busybox true >/dev/null 2>&1
  sleep 2 # the last events on their way
  kill -TERM "$SUB_PID"
  wait "$SUB_PID"
  SUB_PID=""
  local counts dies
  counts=$(awk '{ print $1 }' "$out" | sort -u)
  dies=$(awk '{ print $2 }' "$out" | sort -u)
  [ "$(wc -l <<<"$counts")" -eq 1 ] || counts=differ
  [ "$(wc -l <<<"$dies")" -eq 1 ] || dies=differ
  local lat
  lat=$(awk '{ for (i = 3; i <= NF; i++) print $i }' "$out")
  echo "$counts $dies $(ns_to_ms "$(pctl 50 <<<"$lat")") $(ns_to_ms "$(pctl 99 <<<"$lat")")"
}

# health PID...: start the health containers, wait until all are healthy,
# then measure SECS seconds: "<daemon cpu %> <daemon rss MiB> <engine cpu %> <engine rss MiB>"
health() {
  local daemon=$1 i
  for ((i = 0; i < NHEALTH; i++)); do
    docker run -d --health-cmd true --health-interval 1s busybox sleep 3600 >/dev/null || return 1
  done
  for ((i = 0; i < 600; i++)); do
    [ "$(docker ps -q --filter health=healthy | wc -l)" -ge "$NHEALTH" ] && break
    sleep 0.5
  done
  local t0 c0 g0 t1 c1 g1
  t0=$(date +%s%N); c0=$(proc_cpu_ticks "$daemon"); g0=$(cg_cpu_ns)
  sleep "$SECS"
  t1=$(date +%s%N); c1=$(proc_cpu_ticks "$daemon"); g1=$(cg_cpu_ns)
  local hz wall
  hz=$(getconf CLK_TCK)
  wall=$((t1 - t0))
  awk -v c=$((c1 - c0)) -v hz="$hz" -v w="$wall" -v r="$(rss_kb "$daemon")" -v g=$((g1 - g0)) -v gr="$(cg_rss_kb)" \
    'BEGIN { printf "%.1f %.1f %.1f %.1f", c / hz * 1e9 / w * 100, r / 1024, g / w * 100, gr / 1024 }'
}

# ---- Arca ----
arca_bench_start || exit 1
cg_create
cg_move "$(arca_pid)"
echo "bench[arca]: fan-out, $NCTR containers, $NSUB subscribers" >&2
read -r a_count a_die a_med a_p99 < <(fanout "$ARCA_T/arca.sock")
echo "bench[arca]: healthchecks on $NHEALTH containers, ${SECS}s" >&2
read -r a_cpu a_rss a_ecpu a_erss < <(health "$(arca_pid)")
arca_bench_stop
cg_remove

r_count=- r_die=- r_med=- r_p99=- r_cpu=- r_rss=- r_ecpu=- r_erss=-
if [ "$WITH_DOCKERD" = 1 ]; then
  if ref_start --iptables=false --ip6tables=false; then
    export DOCKER_HOST=$REF_HOST DOCKER_CONFIG=$B/ref/cfg
    cg_create
    # shellcheck disable=SC2046
    cg_move "$REF_PID" $(pgrep -P "$REF_PID")
    echo "bench[dockerd]: fan-out" >&2
    read -r r_count r_die r_med r_p99 < <(fanout "$B/ref/ref.sock")
    echo "bench[dockerd]: healthchecks" >&2
    read -r r_cpu r_rss r_ecpu r_erss < <(health "$REF_PID")
  else
    echo "bench: dockerd run failed" >&2
  fi
fi

printf '\nEvents and healthchecks (%d containers, %d subscribers; %d health containers, %ds)\n' \
  "$NCTR" "$NSUB" "$NHEALTH" "$SECS"
printf '%-44s %12s %12s\n' metric arca dockerd
printf '%-44s %12s %12s\n' "events per subscriber (all equal)" "$a_count" "$r_count"
printf '%-44s %12s %12s\n' "die events per subscriber" "$a_die" "$r_die"
printf '%-44s %12s %12s\n' "fan-out latency, median (ms)" "$a_med" "$r_med"
printf '%-44s %12s %12s\n' "fan-out latency, p99 (ms)" "$a_p99" "$r_p99"
printf '%-44s %12s %12s\n' "healthchecks: daemon CPU (% of a core)" "$a_cpu" "$r_cpu"
printf '%-44s %12s %12s\n' "healthchecks: daemon RSS (MiB)" "$a_rss" "$r_rss"
printf '%-44s %12s %12s\n' "healthchecks: engine CPU (% of a core)" "$a_ecpu" "$r_ecpu"
printf '%-44s %12s %12s\n' "healthchecks: engine RSS (MiB)" "$a_erss" "$r_erss"
