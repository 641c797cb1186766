#!/usr/bin/env bash
# Network benchmarks (issue 5), Arca beside a reference dockerd:
#   - container-to-container TCP throughput over a user-defined network
#     (busybox nc, N MB of zeros), and round-trip latency (ping, median of
#     the per-packet times);
#   - published-port TCP throughput to a container through 127.0.0.1 (the
#     userland proxy in both engines), from a busybox nc outside the
#     containers.
# Usage: bench/net.sh [--with-dockerd] [--mb 200] [--build DIR]
# Each daemon runs in a network namespace of its own (lib.sh: ip netns add
# + nsenter --net) with its default configuration (bridges, nftables or
# iptables rules there); the published-port client runs in the daemon's
# namespace, which is that daemon's "host".  The daemons are measured one
# after the other.  Everything started here is stopped by PID, the
# namespaces removed, on exit or Ctrl-C.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WITH_DOCKERD=0 MB=200
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    --mb) MB=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
ARCA_DOCKER_TIMEOUT=300
ARCA_START_TIMEOUT=20
BB=$(command -v busybox) || { echo "bench: busybox not installed" >&2; exit 1; }
PORT=18777

# busybox time's "real\t0m 1.23s" -> 1230
real_ms() { sed -n 's/^real[[:space:]]*\([0-9]*\)m \([0-9.]*\)s.*/\1 \2/p' | awk '{ printf "%d", ($1 * 60 + $2) * 1000 }'; }

# measure DAEMON: prints "c2c_ms rtt_ms port_ms" for "arca" or "ref".
measure() {
  local d=$1 ip c2c rtt port
  on "$d" docker network create benchnet >/dev/null || return 1
  # busybox nc ends a connection at EOF on either side: keep the
  # receivers' stdin open with sleep.
  on "$d" docker run -d --name srv --network benchnet busybox sh -c "sleep 3600 | nc -l -p 5001 > /dev/null" >/dev/null || return 1
  on "$d" docker run -d --name psrv -p "127.0.0.1:$PORT:5002" busybox sh -c "sleep 3600 | nc -l -p 5002 > /dev/null" >/dev/null || return 1
  sleep 1
  ip=$(on "$d" docker inspect -f '{{(index .NetworkSettings.Networks "benchnet").IPAddress}}' srv)
  # Transfer time from busybox time inside the sender: no CLI overhead.
  c2c=$(on "$d" docker run --rm --network benchnet busybox sh -c \
        "time sh -c 'dd if=/dev/zero bs=1048576 count=$MB 2>/dev/null | nc $ip 5001'" 2>&1 | real_ms) || return 1
  rtt=$(on "$d" docker run --rm --network benchnet busybox ping -c 21 -i 0.2 "$ip" |
        sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | median)
  port=$(in_ns "$d" "$BB" time sh -c "$BB dd if=/dev/zero bs=1048576 count=$MB 2>/dev/null | $BB nc 127.0.0.1 $PORT" 2>&1 |
         real_ms) || return 1
  on "$d" docker rm -f srv psrv >/dev/null
  on "$d" docker network rm benchnet >/dev/null
  echo "$c2c $rtt $port"
}

a_c2c=- a_rtt=- a_port=-
arca_bench_netns || exit 1
arca_bench_start || exit 1
echo "bench[arca]: measuring" >&2
read -r a_c2c a_rtt a_port < <(measure arca) || { echo "bench: arca run failed" >&2; exit 1; }
arca_bench_stop

r_c2c=- r_rtt=- r_port=-
if [ "$WITH_DOCKERD" = 1 ]; then
  if ref_start; then
    echo "bench[dockerd]: measuring" >&2
    read -r r_c2c r_rtt r_port < <(measure ref) || echo "bench: dockerd run failed (see $B/ref/dockerd.log)" >&2
  else
    echo "bench: dockerd did not start" >&2
  fi
fi

mbps() { [ -n "$1" ] && [ "$1" != "-" ] && [ "$1" != 0 ] && awk -v mb="$MB" -v ms="$1" 'BEGIN { printf "%.0f", mb / (ms / 1000) }' || echo "-"; }
printf '\nNetwork benchmark (%d MB transfers)\n' "$MB"
printf '%-40s %10s %10s %8s\n' metric arca dockerd ratio
printf '%-40s %10s %10s %8s\n' "container->container TCP (MB/s)" "$(mbps "$a_c2c")" "$(mbps "$r_c2c")" "$(ratio "$(mbps "$a_c2c")" "$(mbps "$r_c2c")")"
printf '%-40s %10s %10s %8s\n' "container->container RTT (ms, median)" "$a_rtt" "$r_rtt" "$(ratio "$a_rtt" "$r_rtt")"
printf '%-40s %10s %10s %8s\n' "host->published port 127.0.0.1 (MB/s)" "$(mbps "$a_port")" "$(mbps "$r_port")" "$(ratio "$(mbps "$a_port")" "$(mbps "$r_port")")"
