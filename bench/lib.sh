# Shared preamble of the bench/ scripts (sourced, not run).
#
# Gives: $repo, $BUILD, ARCA_BIN on PATH, the e2e harness (arca_start,
# arca_cleanup, docker wrapper, fixtures_build), a temp dir $B removed on
# exit, cleanup hooks (bench_on_exit CMD), timing and statistics helpers,
# process memory readers, and a reference dockerd in a network namespace of
# its own (ref_start / ref_stop), Arca in one too when asked
# (arca_bench_netns), in_ns to run a client where a daemon's published ports
# are.  Everything started here is stopped by PID.
# shellcheck shell=bash
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
BUILD=${BUILD:-build}
_bench_user_arca_bin=${ARCA_BIN:-}

# bench_build_path: call after option parsing (--build may change BUILD).
bench_build_path() {
  case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac
  export ARCA_BIN=${_bench_user_arca_bin:-$BUILD/arca}
  export PATH="$BUILD:$PATH"
}

# shellcheck source=../tests/e2e/helpers.bash
source "$repo/tests/e2e/helpers.bash"
ARCA_DOCKER_TIMEOUT=${ARCA_DOCKER_TIMEOUT:-120}
ARCA_START_TIMEOUT=${ARCA_START_TIMEOUT:-60}

# An ARCA_T in the environment is a caller's daemon (run.sh runs
# memprobe.sh): this script's exit must not clean it up.
ARCA_T=""
B=$(mktemp -d /tmp/arca-bench.XXXXXX)
_bench_hooks=()
bench_on_exit() { _bench_hooks+=("$1"); }
_bench_exit() {
  set +e
  local i
  if [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ]; then arca_cleanup; fi
  _arca_netns_del
  ref_stop
  for ((i = ${#_bench_hooks[@]} - 1; i >= 0; i--)); do eval "${_bench_hooks[$i]}"; done
  awk -v t="$B/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
  rm -rf --one-file-system "$B"
}
trap _bench_exit EXIT
trap 'exit 130' INT TERM

# ---- time and statistics ------------------------------------------------

# now_us: wall clock in microseconds, without forking (bash 5 EPOCHREALTIME).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# time_ms CMD...: runs CMD (output discarded), prints its wall time in ms
# with one decimal; returns CMD's status.
time_ms() {
  local t0=${EPOCHREALTIME/./} t1 rc
  "$@" >/dev/null 2>&1
  rc=$?
  t1=${EPOCHREALTIME/./}
  awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f\n", d / 1000 }'
  return $rc
}
# median / p99 / pctl P: of numbers on stdin, one a line ("-" if none).
pctl() {
  sort -g | awk -v p="$1" '{ a[NR] = $1 } END {
    if (NR == 0) { print "-"; exit }
    i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR
    print a[i] }'
}
median() {
  sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
p99() { pctl 99; }
ratio() {
  [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$1" != - ] && [ "$2" != - ] && [ "$2" != 0 ] &&
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"
}

# ---- memory -------------------------------------------------------------

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
kb_to_mib() { [ -n "${1:-}" ] && [ "$1" != "-" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo "-"; }

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
# find_pids NAME SUBSTR: all such PIDs.
find_pids() {
  local f pid cmd
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case "${cmd%% *}" in *"$1") ;; *) continue ;; esac
    [[ "$cmd" == *"$2"* ]] && echo "$pid"
  done
}

# ---- Arca ---------------------------------------------------------------

# arca_bench_start [daemon args]: a fresh daemon under $B/arca with the
# busybox fixture loaded; sets DOCKER_HOST to it.  ARCA_BENCH_RUNTIME=runc
# (or crun) makes that the daemon's default runtime (config defaultRuntime).
arca_bench_start() {
  ARCA_T=$B/arca
  mkdir -p "$ARCA_T"
  export ARCA_T DOCKER_HOST="unix://$ARCA_T/arca.sock" DOCKER_CONFIG=$ARCA_T/dockercfg
  fixtures_build || return 1
  if [ -n "${ARCA_BENCH_RUNTIME:-}" ]; then
    arca_net_config
    jq --arg r "$ARCA_BENCH_RUNTIME" '.defaultRuntime = $r' "$ARCA_T/config.json" >"$ARCA_T/config.json.new" &&
      mv "$ARCA_T/config.json.new" "$ARCA_T/config.json"
  fi
  arca_start "$@" || return 1
  ARCA_HOST="unix://$ARCA_T/arca.sock"
  # arca_cleanup's docker calls use DOCKER_HOST: never the host's daemon.
  export DOCKER_HOST=$ARCA_HOST DOCKER_CONFIG=$ARCA_T/dockercfg
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null
}
arca_bench_stop() {
  [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ] && arca_cleanup
  ARCA_T=""
  _arca_netns_del
}

# arca_bench_netns: the next arca_bench_start runs Arca in a network
# namespace of its own (ARCA_NS), as ref_start does dockerd, so that its
# bridges, nftables rules and published ports are not the host's and both
# daemons are measured alike.  ARCA_BIN becomes a wrapper that execs the
# daemon under nsenter (same PID, so arca_pid still works); ARCA_BIN_REAL
# is the binary.  The namespace goes with arca_bench_stop or on exit.
ARCA_NS="" ARCA_BIN_REAL=""
arca_bench_netns() {
  ARCA_NS=arcabencha$$
  ip netns add "$ARCA_NS" || { ARCA_NS=""; return 1; }
  ip -n "$ARCA_NS" link set lo up
  ARCA_BIN_REAL=${ARCA_BIN_REAL:-$ARCA_BIN}
  ARCA_BIN=$B/arca-in-ns
  printf '#!/bin/sh\nexec nsenter --net=/run/netns/%q %q "$@"\n' "$ARCA_NS" "$ARCA_BIN_REAL" >"$ARCA_BIN"
  chmod +x "$ARCA_BIN"
}
_arca_netns_del() {
  [ -n "$ARCA_NS" ] || return 0
  ip netns del "$ARCA_NS" 2>/dev/null
  ARCA_NS=""
  ARCA_BIN=$ARCA_BIN_REAL
}

# ---- reference dockerd --------------------------------------------------
#
# Debian's dockerd 20.10 in a network namespace of its own (ip netns add +
# nsenter --net, as COMMON.md asks), with its default bridge and iptables
# inside that namespace, its own data root, exec root, pidfile and containerd
# namespace.  REF_HOST is its socket.
REF_PID="" REF_NS=""
ref_start() {
  command -v dockerd >/dev/null || { echo "bench: dockerd not installed (Debian docker.io)" >&2; return 1; }
  local R=$B/ref i
  mkdir -p "$R/cfg"
  REF_NS=arcabench$$
  ip netns add "$REF_NS" || return 1
  ip -n "$REF_NS" link set lo up
  REF_HOST="unix://$R/ref.sock"
  nsenter --net="/run/netns/$REF_NS" \
    dockerd --host "$REF_HOST" --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/ref.pid" --containerd-namespace arca-bench \
    --containerd-plugins-namespace arca-bench-plugins "$@" \
    </dev/null >"$R/dockerd.log" 2>&1 3>&- &
  REF_PID=$!
  for ((i = 0; i < 600; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    pid_alive "$REF_PID" || break
    sleep 0.1
  done
  if [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" != OK ]; then
    echo "bench: reference dockerd did not start; its log ends with:" >&2
    tail -n 15 "$R/dockerd.log" >&2
    return 1
  fi
  fixtures_build || return 1
  DOCKER_HOST=$REF_HOST DOCKER_CONFIG=$R/cfg docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null
}
# ref_containerd_pid: the containerd dockerd started under its exec root.
ref_containerd_pid() { find_pid containerd "$B/ref/exec"; }
ref_stop() {
  [ -d "$B/ref" ] || return 0 # never started here
  if [ -n "$REF_PID" ] && pid_alive "$REF_PID"; then
    local ids
    ids=$(DOCKER_HOST=$REF_HOST docker ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || DOCKER_HOST=$REF_HOST docker rm -f $ids >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait_pid_gone "$REF_PID" 30 || { kill -KILL "$REF_PID" 2>/dev/null; wait_pid_gone "$REF_PID" 5; }
  fi
  REF_PID=""
  # containerd and its shims, if any survived.
  local pid
  for pid in $(find_pids containerd-shim-runc-v2 "$B/ref") $(find_pids containerd "$B/ref"); do
    kill -KILL "$pid" 2>/dev/null
  done
  if [ -n "$REF_NS" ]; then
    ip netns del "$REF_NS" 2>/dev/null
    REF_NS=""
  fi
}

# in_ns DAEMON CMD...: CMD (a program, not a function) in the network
# namespace of "arca" or "ref", where its published ports listen on
# 127.0.0.1; in this one if the daemon has none (Arca without
# arca_bench_netns).
in_ns() {
  local ns
  if [ "$1" = arca ]; then ns=$ARCA_NS; else ns=$REF_NS; fi
  shift
  if [ -n "$ns" ]; then nsenter --net="/run/netns/$ns" "$@"; else "$@"; fi
}

# on DAEMON CMD...: CMD with the docker CLI pointed at "arca" or "ref".
on() {
  local d=$1
  shift
  if [ "$d" = arca ]; then
    DOCKER_HOST=$ARCA_HOST DOCKER_CONFIG=$B/arca/dockercfg "$@"
  else
    DOCKER_HOST=$REF_HOST DOCKER_CONFIG=$B/ref/cfg "$@"
  fi
}
