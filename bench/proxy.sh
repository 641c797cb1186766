#!/usr/bin/env bash
# Userland proxy cost (issue 9): N idle TCP connections to a port published
# on 127.0.0.1, and what they cost the engine: RSS, threads and fds of the
# daemon (for dockerd, also of its docker-proxy processes); and the time of
# `docker run -d -p 127.0.0.1::5000` (a proxy is set up at each start).
# Usage: bench/proxy.sh [--with-dockerd] [-n CONNECTIONS] [--build DIR]
# Each daemon runs in a network namespace of its own (lib.sh: ip netns add +
# nsenter --net), so its bridge and rules never touch the host's; the
# clients enter that namespace with nsenter.  The daemons are measured one
# after the other.  Everything started here is stopped by PID, the
# namespaces removed, on exit or Ctrl-C.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WITH_DOCKERD=0 N=3000 RUNS=10
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) N=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
ARCA_START_TIMEOUT=20
PORT=18778

# The echo server and the connection holder, stopped by PID (after the
# daemons, which lib.sh stops first).
PIDS=()
bench_on_exit 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done'

# stats PID...: summed "rss_kb threads fds" of the processes.
stats() {
  local p rss=0 thr=0 fds=0
  for p in "$@"; do
    rss=$((rss + $(rss_kb "$p" || echo 0)))
    thr=$((thr + $(threads_of "$p" || echo 0)))
    fds=$((fds + $(fds_of "$p")))
  done
  echo "$rss $thr $fds"
}

# docker-proxy processes that are children of PID (dockerd).
proxies() { pgrep -P "$1" -x docker-proxy | tr '\n' ' '; }
daemon_pid() { if [ "$1" = arca ]; then arca_pid; else echo "$REF_PID"; fi; }

# measure DAEMON: sets M to "run_ms rss0 thr0 fds0 rss thr fds prss0 pthr0
# prss pthr accepted" for "arca" or "ref".  Not run in a subshell, so that
# PIDS reaches the exit hook.
measure() {
  local d=$1 dpid i pid s0 s1 p0=(0 0 0) p1=(0 0 0) px out run_ms
  dpid=$(daemon_pid "$d")
  : >"$B/run.$d"
  for ((i = 0; i < RUNS; i++)); do
    time_ms on "$d" docker run -d --name "pb$i" -p 127.0.0.1::5000 busybox sleep 3600 >>"$B/run.$d" || return 1
  done
  run_ms=$(median <"$B/run.$d")
  # shellcheck disable=SC2046
  on "$d" docker rm -f $(for ((i = 0; i < RUNS; i++)); do echo "pb$i"; done) >/dev/null
  on "$d" docker run -d --name pbecho -p "127.0.0.1:$PORT:7" busybox sleep 3600 >/dev/null || return 1
  pid=$(on "$d" docker inspect -f '{{.State.Pid}}' pbecho)
  : >"$B/echo.out"
  nsenter --net="/proc/$pid/ns/net" python3 "$repo/tests/fixtures/echo_server.py" 7 600 >"$B/echo.out" 2>&1 &
  PIDS+=($!)
  retry 100 0.1 grep -q ready "$B/echo.out" || return 1
  sleep 1
  read -r -a s0 <<<"$(stats "$dpid")"
  px=$(proxies "$dpid")
  # shellcheck disable=SC2086
  [ -z "$px" ] || read -r -a p0 <<<"$(stats $px)"
  rm -f "$B/hold.ready" "$B/hold.stop"
  in_ns "$d" python3 "$repo/tests/fixtures/conn_hold.py" 127.0.0.1 "$PORT" "$N" "$dpid" "$B/hold.ready" "$B/hold.stop" \
    >"$B/hold.out" 2>&1 &
  PIDS+=($!)
  retry 3000 0.1 test -e "$B/hold.ready" || return 1
  read -r -a s1 <<<"$(stats "$dpid")"
  px=$(proxies "$dpid")
  # shellcheck disable=SC2086
  [ -z "$px" ] || read -r -a p1 <<<"$(stats $px)"
  out=$(cat "$B/hold.ready")
  touch "$B/hold.stop"
  retry 600 0.1 grep -q still_relaying "$B/hold.out"
  on "$d" docker rm -f pbecho >/dev/null
  M=("$run_ms" "${s0[@]}" "${s1[@]}" "${p0[0]}" "${p0[1]}" "${p1[0]}" "${p1[1]}"
     "$(sed -n 's/.*accepted=\([0-9]*\).*/\1/p' <<<"$out")")
}

A=(- - - - - - - - - - - -)
arca_bench_netns || exit 1
arca_bench_start || exit 1
echo "bench[arca]: measuring" >&2
measure arca || { echo "bench: arca run failed" >&2; exit 1; }
A=("${M[@]}")
arca_bench_stop

R_=(- - - - - - - - - - - -)
if [ "$WITH_DOCKERD" = 1 ]; then
  if ref_start; then
    echo "bench[dockerd]: measuring" >&2
    if measure ref; then R_=("${M[@]}"); else echo "bench: dockerd run failed (see $B/ref/dockerd.log)" >&2; fi
  else
    echo "bench: dockerd did not start" >&2
  fi
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
