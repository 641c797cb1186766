#!/usr/bin/env bash
# Userland proxy cost (issue 9): N idle TCP connections to a port published
# on 127.0.0.1, and what they cost the engine: RSS, threads and fds of the
# daemon (for dockerd, also of its docker-proxy processes); and the time of
# `docker run -d -p 127.0.0.1::5000` (a proxy is set up at each start).
# Usage: bench/proxy.sh [--with-dockerd] [-n CONNECTIONS] [--build DIR]
# The reference dockerd runs in a network namespace of its own (created and
# removed here), so its bridge and iptables rules never touch the host's;
# its clients enter that namespace with nsenter.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WITH_DOCKERD=0 N=3000 BUILD=$repo/build RUNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) N=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac
export ARCA_BIN=${ARCA_BIN:-$BUILD/arca}
export PATH="$BUILD:$PATH"
# shellcheck source=../tests/e2e/helpers.bash
source "$repo/tests/e2e/helpers.bash"
ARCA_DOCKER_TIMEOUT=120
ARCA_START_TIMEOUT=20
PORT=18778

B=$(mktemp -d /tmp/arca-proxybench.XXXXXX)
NS=arcapb$$
REF_PID="" PIDS=()
cleanup() {
  set +e
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  if [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ]; then arca_cleanup; fi
  if [ -n "$REF_PID" ]; then
    local ids f
    ids=$(DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" ps -aq 2>/dev/null)
    [ -z "$ids" ] || DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" rm -f $ids >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait_pid_gone "$REF_PID" 20 || kill -KILL "$REF_PID" 2>/dev/null
    for f in /proc/[0-9]*/cmdline; do [ -r "$f" ] || continue;
      p=${f#/proc/}; p=${p%/cmdline}
      tr '\0' ' ' <"$f" 2>/dev/null | grep -q "containerd.*$B/ref" && kill -KILL "$p" 2>/dev/null
    done
    awk -v t="$B/ref/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
      sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
  fi
  ip netns del "$NS" 2>/dev/null
  rm -rf --one-file-system "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stats PID...: summed "rss_kb threads fds" of the processes.
stats() {
  local p rss=0 thr=0 fds=0
  for p in "$@"; do
    rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")))
    thr=$((thr + $(awk '/^Threads:/ { print $2 }' "/proc/$p/status")))
    fds=$((fds + $(ls "/proc/$p/fd" | wc -l)))
  done
  echo "$rss $thr $fds"
}

# docker-proxy processes that are children of PID (dockerd).
proxies() { pgrep -P "$1" -x docker-proxy | tr '\n' ' '; }

# measure DAEMON_PID NETNS_PREFIX...: prints "run_ms rss0 thr0 fds0 rss thr fds
# prss0 pthr0 prss pthr accepted" for the daemon at DOCKER_HOST (NETNS_PREFIX
# runs a command where the daemon's 127.0.0.1 is).
measure() {
  local dpid=$1 i t0 times=() run_ms pid s0 s1 p0=(0 0 0) p1=(0 0 0) out
  shift
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    docker run -d --name "pb$i" -p 127.0.0.1::5000 busybox sleep 3600 >/dev/null || return 1
    times+=($(( ($(date +%s%N) - t0) / 1000000 )))
  done
  run_ms=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  docker rm -f $(for ((i = 0; i < RUNS; i++)); do echo "pb$i"; done) >/dev/null
  docker run -d --name pbecho -p "127.0.0.1:$PORT:7" busybox sleep 3600 >/dev/null || return 1
  pid=$(docker inspect -f '{{.State.Pid}}' pbecho)
  : >"$B/echo.out"
  nsenter --net="/proc/$pid/ns/net" python3 "$repo/tests/fixtures/echo_server.py" 7 600 >"$B/echo.out" 2>&1 &
  PIDS+=($!)
  retry 100 0.1 grep -q ready "$B/echo.out" || return 1
  sleep 1
  read -r -a s0 <<<"$(stats "$dpid")"
  local px
  px=$(proxies "$dpid")
  [ -z "$px" ] || read -r -a p0 <<<"$(stats $px)"
  rm -f "$B/hold.ready" "$B/hold.stop"
  "$@" python3 "$repo/tests/fixtures/conn_hold.py" 127.0.0.1 "$PORT" "$N" "$dpid" "$B/hold.ready" "$B/hold.stop" \
    >"$B/hold.out" 2>&1 &
  PIDS+=($!)
  retry 3000 0.1 test -e "$B/hold.ready" || return 1
  read -r -a s1 <<<"$(stats "$dpid")"
  px=$(proxies "$dpid")
  [ -z "$px" ] || read -r -a p1 <<<"$(stats $px)"
  out=$(cat "$B/hold.ready")
  touch "$B/hold.stop"
  retry 600 0.1 grep -q still_relaying "$B/hold.out"
  docker rm -f pbecho >/dev/null
  echo "$run_ms ${s0[*]} ${s1[*]} ${p0[0]} ${p0[1]} ${p1[0]} ${p1[1]} $(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' <<<"$out")"
}

ARCA_T=$(mktemp -d /tmp/arca-proxybench-arca.XXXXXX)
export ARCA_T DOCKER_HOST="unix://$ARCA_T/arca.sock" DOCKER_CONFIG="$ARCA_T/dockercfg"
mkdir -p "$DOCKER_CONFIG"
fixtures_build
arca_start || exit 1
docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || exit 1
echo "bench[arca]: measuring" >&2
read -r -a A < <(measure "$(arca_pid)" env) || { echo "bench: arca run failed" >&2; exit 1; }
arca_cleanup
ARCA_T=""

R_=(- - - - - - - - - - - -)
if [ "$WITH_DOCKERD" = 1 ] && command -v dockerd >/dev/null; then
  R=$B/ref
  mkdir -p "$R/cfg"
  ip netns add "$NS" && ip -n "$NS" link set lo up
  export DOCKER_HOST="unix://$R/ref.sock" DOCKER_CONFIG="$R/cfg"
  nsenter --net="/run/netns/$NS" dockerd --host "unix://$R/ref.sock" --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/ref.pid" --containerd-namespace arca-proxybench \
    --containerd-plugins-namespace arca-proxybench-plugins </dev/null >"$R/dockerd.log" 2>&1 &
  REF_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    sleep 0.1
  done
  echo "bench[dockerd]: measuring" >&2
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null &&
    read -r -a R_ < <(measure "$REF_PID" nsenter --net="/run/netns/$NS") ||
    echo "bench: dockerd run failed (see $R/dockerd.log)" >&2
fi

mb() { [ "$1" = "-" ] && echo "-" || awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
row() { printf '%-46s %12s %12s\n' "$1" "$2" "$3"; }
printf '\nUserland proxy: %d idle connections to 127.0.0.1:%d (accepted: arca %s, dockerd %s)\n' "$N" "$PORT" \
  "${A[11]}" "${R_[11]}"
row metric arca dockerd
row "docker run -d -p (ms, median of $RUNS)" "${A[0]}" "${R_[0]}"
row "daemon RSS before / with connections (MB)" "$(mb "${A[1]}") / $(mb "${A[4]}")" "$(mb "${R_[1]}") / $(mb "${R_[4]}")"
row "daemon threads before / with" "${A[2]} / ${A[5]}" "${R_[2]} / ${R_[5]}"
row "daemon fds before / with" "${A[3]} / ${A[6]}" "${R_[3]} / ${R_[6]}"
row "docker-proxy RSS before / with (MB)" "-" "$(mb "${R_[7]}") / $(mb "${R_[9]}")"
row "docker-proxy threads before / with" "-" "${R_[8]} / ${R_[10]}"
