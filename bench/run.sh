#!/usr/bin/env bash
# Arca micro-benchmarks, optionally side by side with a reference dockerd.
#
# Usage: bench/run.sh [--with-dockerd] [-n RUNS] [-c CONTAINERS] [--build DIR]
#
# Against a fresh Arca daemon on a temporary socket / data root (and, with
# --with-dockerd, a fresh dockerd from Debian's docker.io on its own socket,
# data root and exec root), loaded with the same busybox fixture, measures:
#   - median wall time of `docker run --rm busybox true` (RUNS runs, 1 warm-up)
#   - median wall time of `docker ps -a` with CONTAINERS created containers
#   - idle RSS of the daemon (VmRSS; for dockerd also dockerd + its containerd)
#   - RSS of the shim of one running `sleep` container
# Both daemons are measured one after the other, never at the same time.
# Everything started here is stopped by PID and its temp dir removed on exit.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
repo=$(pwd)

RUNS=20 NCTR=50 WITH_DOCKERD=0 BUILD=${BUILD:-build}
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) RUNS=$2; shift 2 ;;
    -c) NCTR=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac
export ARCA_BIN=${ARCA_BIN:-$BUILD/arca}
export PATH="$BUILD:$PATH"

# Reuse the e2e harness: arca_start / arca_cleanup, docker wrapper, fixtures.
# shellcheck source=../tests/e2e/helpers.bash
source "$repo/tests/e2e/helpers.bash"
ARCA_DOCKER_TIMEOUT=60
ARCA_START_TIMEOUT=20

B=$(mktemp -d /tmp/arca-bench.XXXXXX)
REF_PID=""
cleanup() {
  set +e
  if [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ]; then arca_cleanup; fi
  ref_stop
  rm -rf --one-file-system "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
kb_to_mib() { [ -n "$1" ] && [ "$1" != "-" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo "-"; }

# find_pid NAME SUBSTR: PID of a process whose argv[0] ends in NAME and whose
# command line contains SUBSTR.
find_pid() {
  local f pid cmd
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case "${cmd%% *}" in *"$1") ;; *) continue ;; esac
    [[ "$cmd" == *"$2"* ]] && { echo "$pid"; return 0; }
  done
  return 1
}

# measure LABEL DAEMON_PID SHIM_NAME SCOPE: runs the measurements against
# $DOCKER_HOST; stores results in R_<LABEL>_*.  SCOPE is a string every shim
# of this daemon has in its command line (its temp dir).
measure() {
  local label=$1 dpid=$2 shim=$3 scope=$4 i t0 t1 id spid
  echo "bench[$label]: warm-up"
  docker run --rm busybox true >/dev/null || { echo "bench[$label]: docker run failed" >&2; return 1; }

  echo "bench[$label]: docker run --rm busybox true x $RUNS"
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now_ms)
    docker run --rm busybox true >/dev/null || echo "bench[$label]: run $i failed" >&2
    t1=$(now_ms)
    echo $((t1 - t0))
  done >"$B/$label.run"

  echo "bench[$label]: creating $NCTR containers"
  for ((i = 0; i < NCTR; i++)); do
    docker create --name "bench-$i" busybox sleep 3600 >/dev/null || echo "bench[$label]: create $i failed" >&2
  done
  echo "bench[$label]: docker ps -a x $RUNS"
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now_ms)
    docker ps -a >/dev/null
    t1=$(now_ms)
    echo $((t1 - t0))
  done >"$B/$label.ps"
  # shellcheck disable=SC2046
  docker rm -f $(docker ps -aq) >/dev/null 2>&1

  echo "bench[$label]: one running container for the shim's RSS"
  id=$(docker run -d busybox sleep 600)
  sleep 2
  spid=$(find_pid "$shim" "$id" || find_pid "$shim" "${id:0:12}" || find_pid "$shim" "$scope" || true)
  sleep 1
  eval "R_${label}_run=$(median <"$B/$label.run")"
  eval "R_${label}_ps=$(median <"$B/$label.ps")"
  eval "R_${label}_rss=$(rss_kb "$dpid" || echo -)"
  eval "R_${label}_shim=${spid:+$(rss_kb "$spid")}"
  [ -n "$spid" ] || echo "bench[$label]: no $shim process found" >&2
  docker rm -f "$id" >/dev/null 2>&1
  return 0
}

# --- Arca -----------------------------------------------------------------
run_arca() {
  ARCA_T=$B/arca
  mkdir -p "$ARCA_T"
  export ARCA_T DOCKER_HOST="unix://$B/arca/arca.sock" DOCKER_CONFIG="$B/arca/dockercfg"
  mkdir -p "$DOCKER_CONFIG"
  fixtures_build || return 1
  arca_start || return 1
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || return 1
  measure arca "$(arca_pid)" arca-shim "$ARCA_T" || return 1
  arca_cleanup
  ARCA_T=""
}

# --- reference dockerd ---------------------------------------------------
ref_stop() {
  [ -n "$REF_PID" ] || return 0
  if pid_alive "$REF_PID"; then
    local ids
    ids=$(DOCKER_HOST="unix://$B/ref/ref.sock" docker ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || DOCKER_HOST="unix://$B/ref/ref.sock" docker rm -f $ids >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait_pid_gone "$REF_PID" 20 || { kill -KILL "$REF_PID" 2>/dev/null; wait_pid_gone "$REF_PID" 5; }
  fi
  # containerd-shims of this dockerd, if any survived.
  local pid
  while pid=$(find_pid containerd-shim-runc-v2 "$B/ref"); do
    kill -KILL "$pid" 2>/dev/null; wait_pid_gone "$pid" 3 || break
  done
  while pid=$(find_pid containerd "$B/ref"); do
    kill -KILL "$pid" 2>/dev/null; wait_pid_gone "$pid" 3 || break
  done
  awk -v t="$B/ref/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
  REF_PID=""
}

run_dockerd() {
  command -v dockerd >/dev/null || { echo "bench: dockerd not installed (Debian docker.io)" >&2; return 1; }
  local R=$B/ref i
  mkdir -p "$R/cfg"
  export DOCKER_HOST="unix://$R/ref.sock" DOCKER_CONFIG="$R/cfg"
  dockerd --host "unix://$R/ref.sock" --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/ref.pid" --bridge none --iptables=false --ip6tables=false \
    --containerd-namespace arca-bench --containerd-plugins-namespace arca-bench-plugins \
    </dev/null >"$R/dockerd.log" 2>&1 &
  REF_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    pid_alive "$REF_PID" || break
    sleep 0.1
  done
  if [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" != OK ]; then
    echo "bench: reference dockerd did not start; its log ends with:" >&2
    tail -n 15 "$R/dockerd.log" >&2
    return 1
  fi
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || return 1
  measure dockerd "$REF_PID" containerd-shim-runc-v2 "$R" || return 1
  local cpid
  cpid=$(find_pid containerd "$R/exec" || true)
  R_dockerd_rss2=$(( ${R_dockerd_rss:-0} + $( [ -n "$cpid" ] && rss_kb "$cpid" || echo 0) ))
  ref_stop
}

arca_ok=0 ref_ok=0
if run_arca; then arca_ok=1; else echo "bench: Arca measurements failed" >&2; fi
[ -n "${ARCA_T:-}" ] && { arca_cleanup; ARCA_T=""; }
if [ "$WITH_DOCKERD" = 1 ]; then
  if run_dockerd; then ref_ok=1; else echo "bench: reference dockerd measurements failed" >&2; fi
  ref_stop
fi

ratio() { [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$1" != - ] && [ "$2" != - ] && [ "$2" != 0 ] &&
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }
v() { eval "echo \${$1:--}"; }

echo
echo "Arca benchmark ($(date -u +%F), $(nproc) CPUs, $RUNS runs, $NCTR containers)"
if [ "$ref_ok" = 1 ]; then
  printf '%-36s %10s %10s %8s\n' metric arca dockerd ratio
  printf '%-36s %10s %10s %8s\n' "docker run --rm busybox true (ms)" "$(v R_arca_run)" "$(v R_dockerd_run)" "$(ratio "$(v R_arca_run)" "$(v R_dockerd_run)")"
  printf '%-36s %10s %10s %8s\n' "docker ps -a, $NCTR containers (ms)" "$(v R_arca_ps)" "$(v R_dockerd_ps)" "$(ratio "$(v R_arca_ps)" "$(v R_dockerd_ps)")"
  printf '%-36s %10s %10s %8s\n' "daemon RSS (MiB)" "$(kb_to_mib "$(v R_arca_rss)")" "$(kb_to_mib "$(v R_dockerd_rss)")" "$(ratio "$(v R_arca_rss)" "$(v R_dockerd_rss)")"
  printf '%-36s %10s %10s %8s\n' "daemon RSS incl. containerd (MiB)" "$(kb_to_mib "$(v R_arca_rss)")" "$(kb_to_mib "$(v R_dockerd_rss2)")" "$(ratio "$(v R_arca_rss)" "$(v R_dockerd_rss2)")"
  printf '%-36s %10s %10s %8s\n' "shim RSS (MiB)" "$(kb_to_mib "$(v R_arca_shim)")" "$(kb_to_mib "$(v R_dockerd_shim)")" "$(ratio "$(v R_arca_shim)" "$(v R_dockerd_shim)")"
else
  printf '%-36s %10s\n' metric arca
  printf '%-36s %10s\n' "docker run --rm busybox true (ms)" "$(v R_arca_run)"
  printf '%-36s %10s\n' "docker ps -a, $NCTR containers (ms)" "$(v R_arca_ps)"
  printf '%-36s %10s\n' "daemon RSS (MiB)" "$(kb_to_mib "$(v R_arca_rss)")"
  printf '%-36s %10s\n' "shim RSS (MiB)" "$(kb_to_mib "$(v R_arca_shim)")"
  [ "$WITH_DOCKERD" = 1 ] && echo "(reference dockerd: failed, see above)"
fi
[ "$arca_ok" = 1 ] || exit 1
[ "$WITH_DOCKERD" = 0 ] || [ "$ref_ok" = 1 ] || exit 1
exit 0
