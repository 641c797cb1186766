# Common setup for Arca's bats end-to-end tests.
#
# Each .bats file gets one daemon (started in setup_file, stopped in
# teardown_file) with its own socket, data root and exec root under a private
# temp dir $ARCA_T (/tmp/arca-e2e.XXXX).  Tests talk to it with the real docker
# CLI through DOCKER_HOST; DOCKER_CONFIG points at an empty dir so the user's
# config (contexts, credential helpers) is never used.
#
# Usage in a .bats file:
#   load helpers          # defines setup_file/teardown_file/teardown defaults
#   @test "..." { load_busybox; run docker run --rm busybox true; assert_success; }
# A file that needs its own setup_file should call arca_setup_file from it
# (and arca_cleanup from its teardown_file).
#
# Environment knobs: ARCA_BIN (daemon binary, default <repo>/build/arca),
# DOCKER_BIN (default /usr/local/bin/docker, else docker on PATH),
# ARCA_DOCKER_TIMEOUT (seconds per docker CLI call, default 120),
# ARCA_START_TIMEOUT (seconds to wait for /_ping, default 10),
# ARCA_E2E_KEEP=1 keeps $ARCA_T for inspection.

ARCA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ARCA_REPO
export ARCA_BIN=${ARCA_BIN:-$ARCA_REPO/build/arca}
export ARCA_FIXTURES=${ARCA_FIXTURES:-$ARCA_REPO/tests/fixtures/out}
if [ -z "${DOCKER_BIN:-}" ]; then
  if [ -x /usr/local/bin/docker ]; then DOCKER_BIN=/usr/local/bin/docker
  else DOCKER_BIN=$(command -v docker || echo docker); fi
fi
export DOCKER_BIN
export ARCA_DOCKER_TIMEOUT=${ARCA_DOCKER_TIMEOUT:-120}
export ARCA_START_TIMEOUT=${ARCA_START_TIMEOUT:-10}

# ---------------------------------------------------------------------------
# Small assertion helpers (bats-assert is not assumed to be installed).

fail() { printf '%s\n' "$*" >&2; return 1; }

assert_success() {
  if [ "$status" -ne 0 ]; then
    printf 'expected success, got exit %s\noutput:\n%s\n' "$status" "$output" >&2
    return 1
  fi
}

# assert_failure [CODE]
assert_failure() {
  if [ "$status" -eq 0 ]; then
    printf 'expected failure, got exit 0\noutput:\n%s\n' "$output" >&2
    return 1
  fi
  if [ $# -gt 0 ] && [ "$status" -ne "$1" ]; then
    printf 'expected exit %s, got %s\noutput:\n%s\n' "$1" "$status" "$output" >&2
    return 1
  fi
}

# assert_equal ACTUAL EXPECTED
assert_equal() {
  if [ "$1" != "$2" ]; then
    printf 'expected: %s\nactual:   %s\n' "$2" "$1" >&2
    return 1
  fi
}

# assert_output TEXT: whole $output equals TEXT.
assert_output() { assert_equal "$output" "$1"; }

# assert_output_contains TEXT: fixed-string match anywhere in $output.
assert_output_contains() {
  if [[ "$output" != *"$1"* ]]; then
    printf 'expected output to contain: %s\noutput:\n%s\n' "$1" "$output" >&2
    return 1
  fi
}

assert_output_not_contains() {
  if [[ "$output" == *"$1"* ]]; then
    printf 'expected output NOT to contain: %s\noutput:\n%s\n' "$1" "$output" >&2
    return 1
  fi
}

# assert_line_matches REGEX: some line of $output matches the ERE.
assert_line_matches() {
  if ! grep -Eq -- "$1" <<<"$output"; then
    printf 'no line matches /%s/\noutput:\n%s\n' "$1" "$output" >&2
    return 1
  fi
}

# retry N DELAY CMD...: run CMD until it succeeds, at most N times.
retry() {
  local n=$1 delay=$2 i
  shift 2
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep "$delay"
  done
  return 1
}

# free_ports N: N distinct TCP ports free on 127.0.0.1 right now (the kernel
# picks them, so suites running side by side do not collide).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# ---------------------------------------------------------------------------
# Clients.

# The docker CLI, time-boxed so a hung daemon fails a test instead of the run.
docker() {
  timeout -k 5 "$ARCA_DOCKER_TIMEOUT" "$DOCKER_BIN" "$@"
}

# api METHOD PATH [curl args...]: raw HTTP on the daemon socket; prints the
# body.  Use `curl_api -i` style options (e.g. -i, -I, -o) as extra args.
api() {
  local method=$1 path=$2
  shift 2
  curl -sS --max-time 30 --unix-socket "$ARCA_T/arca.sock" -X "$method" "$@" "http://localhost$path"
}

# ---------------------------------------------------------------------------
# Fixtures.

# Build tests/fixtures/out once per run (the runner builds it first; this is
# the fallback when a .bats file is run by hand).  flock keeps concurrent
# builders from racing.
fixtures_build() {
  if [ -s "$ARCA_FIXTURES/busybox-save.tar" ] && [ -s "$ARCA_FIXTURES/busybox-oci.tar" ] &&
     [ -s "$ARCA_FIXTURES/rootfs.tar" ]; then
    return 0
  fi
  mkdir -p "$ARCA_FIXTURES"
  (
    flock 9
    if [ ! -s "$ARCA_FIXTURES/rootfs.tar" ] || [ ! -s "$ARCA_FIXTURES/busybox-oci.tar" ] ||
       [ ! -s "$ARCA_FIXTURES/busybox-save.tar" ]; then
      "$ARCA_REPO/tests/fixtures/build-busybox.sh" "$ARCA_FIXTURES" >/dev/null
    fi
  ) 9>"$ARCA_FIXTURES/.lock"
}

# load_busybox: make busybox:latest available in the daemon (idempotent).
load_busybox() {
  fixtures_build
  if docker image inspect busybox:latest >/dev/null 2>&1; then
    return 0
  fi
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null
}

# ---------------------------------------------------------------------------
# Processes.

# pid_alive PID: true if PID exists and is not a zombie.
pid_alive() {
  local st
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_pid_gone PID SECONDS: poll (10/s) until PID is gone; false on timeout.
# A dead process is reaped here if it is our child; otherwise its parent (or
# init, for orphans) reaps it, and we give that up to 3 s more so that a
# restarted daemon's "is the old PID still there" check sees it gone.
wait_pid_gone() {
  local pid=$1 n=$(($2 * 10)) i j
  for ((i = 0; i < n; i++)); do
    if ! pid_alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      for ((j = 0; j < 30; j++)); do
        [ -e "/proc/$pid" ] || break
        sleep 0.1
      done
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# arca_pid: the daemon's PID (ours, recorded by arca_start; else the daemon's
# own pidfile under the exec root), empty if none is running.
arca_pid() {
  local pid f
  pid=$(cat "$ARCA_T/daemon.pid" 2>/dev/null || true)
  if pid_alive "$pid"; then echo "$pid"; return 0; fi
  for f in "$ARCA_T"/exec/*.pid "$ARCA_T"/data/*.pid; do
    [ -f "$f" ] || continue
    pid=$(tr -dc 0-9 <"$f")
    if pid_alive "$pid" && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q arca; then
      echo "$pid"
      return 0
    fi
  done
  return 0
}

daemon_log_tail() {
  local n=${1:-40}
  [ -f "${ARCA_T:-/nonexistent}/daemon.log" ] || return 0
  echo "--- tail -$n $ARCA_T/daemon.log ---"
  tail -n "$n" "$ARCA_T/daemon.log"
  echo "--- end daemon.log ---"
}

ping_ok() {
  [ "$(curl -s --max-time 2 --unix-socket "$ARCA_T/arca.sock" http://localhost/_ping 2>/dev/null)" = OK ]
}

# arca_start [extra daemon args]: start the daemon on $ARCA_T and wait for
# /_ping (at most ARCA_START_TIMEOUT seconds).
arca_start() {
  [ -x "$ARCA_BIN" ] || fail "arca binary not found: $ARCA_BIN (run make build)" || return 1
  mkdir -p "$ARCA_T/dockercfg"
  echo "=== arca_start $(date -u +%FT%T.%NZ) ===" >>"$ARCA_T/daemon.log"
  # 3>&- : bats waits on fd 3, a daemon holding it would hang the run.
  # networking: host-global names (bridge, nft table) private to this file's
  # daemon, so concurrent test daemons do not collide (arca_net_config).
  local cfgargs=()
  [[ " $* " == *" --config "* ]] || { arca_net_config && cfgargs=(--config "$ARCA_T/config.json"); }
  "$ARCA_BIN" daemon start --socket-path "$ARCA_T/arca.sock" --data-root "$ARCA_T/data" \
    --exec-root "$ARCA_T/exec" --log-level debug "${cfgargs[@]}" "$@" \
    </dev/null >>"$ARCA_T/daemon.log" 2>&1 3>&- &
  local launched=$! i n=$((ARCA_START_TIMEOUT * 10))
  echo "$launched" >"$ARCA_T/daemon.pid"
  for ((i = 0; i < n; i++)); do
    if ping_ok; then
      # A daemon that forks into the background leaves us its pidfile.
      if ! pid_alive "$launched"; then
        wait "$launched" 2>/dev/null || true
        rm -f "$ARCA_T/daemon.pid"
        arca_pid >"$ARCA_T/daemon.pid.new" && mv "$ARCA_T/daemon.pid.new" "$ARCA_T/daemon.pid"
      fi
      return 0
    fi
    if ! pid_alive "$launched" && [ -z "$(arca_pid)" ]; then
      # Exited without a daemon answering: give a forking daemon a moment.
      sleep 0.2
      ping_ok && continue
      echo "arca daemon exited before answering /_ping" >&2
      daemon_log_tail >&2
      return 1
    fi
    sleep 0.1
  done
  echo "arca daemon did not answer /_ping within ${ARCA_START_TIMEOUT}s" >&2
  daemon_log_tail >&2
  return 1
}

# arca_net_config: write $ARCA_T/config.json once with a random bridgeName
# ("arca-<6 hex>", <= 15 chars) and nftTable ("arca_<6 hex>").
arca_net_config() {
  [ -f "$ARCA_T/config.json" ] && return 0
  local r
  r=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  printf '{"bridgeName": "arca-%s", "nftTable": "arca_%s"}\n' "$r" "$r" >"$ARCA_T/config.json"
}

# arca_net_cleanup: delete this daemon's bridges, veths and nft table (names
# recorded in $ARCA_T/.bridges by arca_cleanup and in config.json).
arca_net_cleanup() {
  local br cfg=$ARCA_T/config.json name table
  [ -f "$cfg" ] || return 0
  name=$(sed -n 's/.*"bridgeName": *"\([^"]*\)".*/\1/p' "$cfg")
  table=$(sed -n 's/.*"nftTable": *"\([^"]*\)".*/\1/p' "$cfg")
  for br in $name $(sort -u "$ARCA_T/.bridges" 2>/dev/null); do
    [ -n "$br" ] && [ -e "/sys/class/net/$br" ] || continue
    # veths on the bridge whose container side is gone already went with
    # their netns; any left are ours
    for f in /sys/class/net/"$br"/brif/*; do
      [ -e "$f" ] && ip link del "${f##*/}" 2>/dev/null || true
    done
    ip link del "$br" 2>/dev/null || true
  done
  if [ -n "$table" ]; then
    nft delete table inet "$table" 2>/dev/null || true
    nft delete table ip "$table" 2>/dev/null || true
  fi
}

# arca_stop [TIMEOUT]: SIGTERM, wait (default 15 s), then SIGKILL.
arca_stop() {
  local timeout=${1:-15} pid
  pid=$(arca_pid)
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_gone "$pid" "$timeout"; then
    echo "arca daemon $pid ignored SIGTERM for ${timeout}s; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 5 || true
  fi
  rm -f "$ARCA_T/daemon.pid"
}

# arca_kill9: kill -9 the daemon (shims and containers stay).
arca_kill9() {
  local pid
  pid=$(arca_pid)
  [ -n "$pid" ] || fail "arca_kill9: no daemon running" || return 1
  kill -KILL "$pid"
  wait_pid_gone "$pid" 10
  rm -f "$ARCA_T/daemon.pid"
}

arca_restart() {
  arca_stop && arca_start "$@"
}

# ---------------------------------------------------------------------------
# Setup / teardown.

arca_setup_file() {
  ARCA_T=$(mktemp -d /tmp/arca-e2e.XXXXXX)
  export ARCA_T
  export DOCKER_HOST="unix://$ARCA_T/arca.sock"
  export DOCKER_CONFIG="$ARCA_T/dockercfg"
  unset DOCKER_CONTEXT DOCKER_API_VERSION DOCKER_TLS_VERIFY DOCKER_CERT_PATH
  mkdir -p "$DOCKER_CONFIG"
  # Lets scripts/run-e2e.sh find (only) its own leftovers after a timeout.
  echo "${ARCA_E2E_RUN_ID:-}" >"$ARCA_T/.run"
  fixtures_build
  arca_start
}

# Container IDs this test's daemon knows of, from its state dirs (used to
# clean up cgroups; never touches other IDs).
_arca_known_ids() {
  local d
  for d in "$ARCA_T"/exec/containers/* "$ARCA_T"/data/containers/* "$ARCA_T"/exec/*/*; do
    d=${d##*/}
    [[ $d =~ ^[0-9a-f]{64}$ ]] && echo "$d"
  done
  sort -u "$ARCA_T/.ids" 2>/dev/null || true
}

# runtime state roots under $ARCA_T (directories holding <id>/state.json,
# runc's, or <id>/status, crun's), as "runc ROOT" / "crun ROOT" lines.
_arca_runtime_roots() {
  find "$ARCA_T" -xdev -maxdepth 6 -name state.json -printf '%h\n' 2>/dev/null |
    xargs -r -n1 dirname | sort -u | sed 's/^/runc /'
  find "$ARCA_T" -xdev -maxdepth 6 -name status -path '*/crun/*' -printf '%h\n' 2>/dev/null |
    xargs -r -n1 dirname | sort -u | sed 's/^/crun /'
}

# rt_cmd RUNTIME ARGS...: the runtime as the daemon runs it; crun in a mount
# namespace without the cgroup2 mount on a hybrid host (util/cgview.h).
rt_cmd() {
  local rt=$1
  shift
  if [ "$rt" = crun ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    unshare -m --propagation private sh -c 'umount -l /sys/fs/cgroup/unified; exec "$@"' rt crun "$@"
  else
    "$rt" "$@"
  fi
}

arca_cleanup() {
  [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ] || return 0
  local ids pid root id f mp cg
  # 1. Containers, through the daemon while it still answers.
  if ping_ok; then
    ids=$(ARCA_DOCKER_TIMEOUT=30 docker ps -aq --no-trunc 2>/dev/null || true)
    if [ -n "$ids" ]; then
      echo "$ids" >>"$ARCA_T/.ids"
      # shellcheck disable=SC2086
      ARCA_DOCKER_TIMEOUT=60 docker rm -f $ids >/dev/null 2>&1 || true
    fi
    # networking: remember the bridges of this daemon's networks
    local nid
    for nid in $(ARCA_DOCKER_TIMEOUT=30 docker network ls -q --no-trunc 2>/dev/null || true); do
      echo "br-${nid:0:12}" >>"$ARCA_T/.bridges"
      ARCA_DOCKER_TIMEOUT=30 docker network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' \
        "$nid" 2>/dev/null >>"$ARCA_T/.bridges" || true
    done
  fi
  # 2. The daemon.
  arca_stop 15 || true
  # 3. Containers the runtime still knows of under our roots.
  local rt
  while read -r rt root; do
    for id in $(rt_cmd "$rt" --root "$root" list -q 2>/dev/null); do
      echo "$id" >>"$ARCA_T/.ids"
      rt_cmd "$rt" --root "$root" kill "$id" KILL >/dev/null 2>&1 || true
      rt_cmd "$rt" --root "$root" delete -f "$id" >/dev/null 2>&1 || true
    done
  done < <(_arca_runtime_roots)
  # 4. Leftover shims of this daemon (their cmdline names a path under $ARCA_T).
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    local cmd
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case "$cmd" in
      *arca-shim*"$ARCA_T"/*)
        kill -TERM "$pid" 2>/dev/null || true
        wait_pid_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null || true
        ;;
      # VM isolation: QEMU dies with its shim; one whose shim was killed
      # above may still be on its way out
      *qemu-system*"$ARCA_T"/*)
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_gone "$pid" 3 || true
        ;;
    esac
  done
  # 5. Mounts under $ARCA_T, deepest first.
  awk -v t="$ARCA_T/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2- | while read -r mp; do
      mp=$(printf '%b' "$mp") # mountinfo escapes blanks as \040
      umount -l "$mp" 2>/dev/null || true
    done
  # 5b. Networking: bridges, veths, nft table of this daemon.
  arca_net_cleanup
  # 6. Empty cgroups of this daemon's containers.
  for id in $(_arca_known_ids | sort -u); do
    for cg in /sys/fs/cgroup/*/arca/"$id" /sys/fs/cgroup/arca/"$id" /sys/fs/cgroup/*/arca/*/"$id"; do
      if [ -d "$cg" ]; then rmdir "$cg" 2>/dev/null || true; fi
    done
  done
  # 7. The temp dir.
  if [ "${ARCA_E2E_KEEP:-0}" = 1 ]; then
    echo "# kept $ARCA_T" >&3 2>/dev/null || true
  else
    rm -rf --one-file-system "$ARCA_T" 2>/dev/null || true
  fi
}

# Per-test teardown: on failure, show the end of the daemon log with the
# test's own output.
arca_teardown_test() {
  if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
    daemon_log_tail 40 >&2
  fi
}

# Defaults; a .bats file may define its own after `load helpers`.
setup_file() { arca_setup_file; }
teardown_file() { arca_cleanup; }
teardown() { arca_teardown_test; }
