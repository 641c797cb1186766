#!/usr/bin/env bash
# Network benchmarks (issue 5), Arca beside a reference dockerd:
#   - container-to-container TCP throughput over a user-defined network
#     (busybox nc, N MB of zeros), and round-trip latency (ping, median of
#     the per-packet times);
#   - published-port TCP throughput from the host to a container, through
#     127.0.0.1 (userland proxy in both engines).
# Usage: bench/net.sh [--with-dockerd] [--mb 200] [--build DIR]
# With --with-dockerd a fresh dockerd runs with --iptables=false (so it
# leaves no rules behind) on its own bridge; it creates docker0, which this
# script deletes afterwards if it was not there before.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WITH_DOCKERD=0 MB=200 BUILD=$repo/build
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    --mb) MB=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac
export ARCA_BIN=${ARCA_BIN:-$BUILD/arca}
export PATH="$BUILD:$PATH"
# shellcheck source=../tests/e2e/helpers.bash
source "$repo/tests/e2e/helpers.bash"
ARCA_DOCKER_TIMEOUT=300
ARCA_START_TIMEOUT=20
BB=$(command -v busybox)
PORT=18777

B=$(mktemp -d /tmp/arca-netbench.XXXXXX)
REF_PID="" HAD_DOCKER0=0
ip link show docker0 >/dev/null 2>&1 && HAD_DOCKER0=1
cleanup() {
  set +e
  if [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ]; then arca_cleanup; fi
  if [ -n "$REF_PID" ]; then
    local ids
    ids=$(DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" ps -aq 2>/dev/null)
    [ -z "$ids" ] || DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" rm -f $ids >/dev/null 2>&1
    DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" network rm benchnet >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait_pid_gone "$REF_PID" 20 || kill -KILL "$REF_PID" 2>/dev/null
    local f p
    for f in /proc/[0-9]*/cmdline; do [ -r "$f" ] || continue;
      p=${f#/proc/}; p=${p%/cmdline}
      tr '\0' ' ' <"$f" 2>/dev/null | grep -q "containerd.*$B/ref" && kill -KILL "$p" 2>/dev/null
    done
    awk -v t="$B/ref/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
      sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
    [ "$HAD_DOCKER0" = 1 ] || ip link del docker0 2>/dev/null
  fi
  rm -rf --one-file-system "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# busybox time's "real\t0m 1.23s" -> 1230
real_ms() { sed -n 's/^real[[:space:]]*\([0-9]*\)m \([0-9.]*\)s.*/\1 \2/p' | awk '{ printf "%d", ($1 * 60 + $2) * 1000 }'; }

# measure NAME: prints "c2c_ms rtt_ms port_ms" for the daemon at DOCKER_HOST.
measure() {
  docker network create benchnet >/dev/null || return 1
  # busybox nc ends a connection at EOF on either side: keep the
  # receivers' stdin open with sleep.
  docker run -d --name srv --network benchnet busybox sh -c "sleep 3600 | nc -l -p 5001 > /dev/null" >/dev/null || return 1
  docker run -d --name psrv -p 127.0.0.1:$PORT:5002 busybox sh -c "sleep 3600 | nc -l -p 5002 > /dev/null" >/dev/null || return 1
  sleep 1
  local ip c2c rtt port
  ip=$(docker inspect -f '{{(index .NetworkSettings.Networks "benchnet").IPAddress}}' srv)
  # Transfer time from busybox time inside the sender: no CLI overhead.
  c2c=$(docker run --rm --network benchnet busybox sh -c \
        "time sh -c 'dd if=/dev/zero bs=1048576 count=$MB 2>/dev/null | nc $ip 5001'" 2>&1 | real_ms) || return 1
  rtt=$(docker run --rm --network benchnet busybox ping -c 21 -i 0.2 "$ip" |
        sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
  port=$("$BB" time sh -c "$BB dd if=/dev/zero bs=1048576 count=$MB 2>/dev/null | $BB nc 127.0.0.1 $PORT" 2>&1 | real_ms) || return 1
  docker rm -f srv psrv >/dev/null
  docker network rm benchnet >/dev/null
  echo "$c2c $rtt $port"
}

ARCA_T=$(mktemp -d /tmp/arca-netbench-arca.XXXXXX)
export ARCA_T DOCKER_HOST="unix://$ARCA_T/arca.sock" DOCKER_CONFIG="$ARCA_T/dockercfg"
mkdir -p "$DOCKER_CONFIG"
fixtures_build
arca_start || exit 1
docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || exit 1
echo "bench[arca]: measuring" >&2
read -r a_c2c a_rtt a_port < <(measure) || { echo "bench: arca run failed" >&2; exit 1; }
arca_cleanup
ARCA_T=""

r_c2c=- r_rtt=- r_port=-
if [ "$WITH_DOCKERD" = 1 ] && command -v dockerd >/dev/null; then
  R=$B/ref
  mkdir -p "$R/cfg"
  export DOCKER_HOST="unix://$R/ref.sock" DOCKER_CONFIG="$R/cfg"
  dockerd --host "unix://$R/ref.sock" --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/ref.pid" --iptables=false --ip6tables=false \
    --containerd-namespace arca-netbench --containerd-plugins-namespace arca-netbench-plugins \
    </dev/null >"$R/dockerd.log" 2>&1 &
  REF_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    sleep 0.1
  done
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null &&
    read -r r_c2c r_rtt r_port < <(measure) || echo "bench: dockerd run failed (see $R/dockerd.log)" >&2
fi

mbps() { [ "$1" = "-" ] && echo "-" || awk -v mb="$MB" -v ms="$1" 'BEGIN { printf "%.0f", mb / (ms / 1000) }'; }
ratio() { [ "$2" = "-" ] || [ -z "$2" ] && echo "-" || awk -v a="$1" -v r="$2" 'BEGIN { printf "%.2f", a / r }'; }
printf '\nNetwork benchmark (%d MB transfers)\n' "$MB"
printf '%-40s %10s %10s %8s\n' metric arca dockerd ratio
printf '%-40s %10s %10s %8s\n' "container->container TCP (MB/s)" "$(mbps "$a_c2c")" "$(mbps "$r_c2c")" "$(ratio "$(mbps "$a_c2c")" "$(mbps "$r_c2c")")"
printf '%-40s %10s %10s %8s\n' "container->container RTT (ms, median)" "$a_rtt" "$r_rtt" "$(ratio "$a_rtt" "$r_rtt")"
printf '%-40s %10s %10s %8s\n' "host->published port 127.0.0.1 (MB/s)" "$(mbps "$a_port")" "$(mbps "$r_port")" "$(ratio "$(mbps "$a_port")" "$(mbps "$r_port")")"
