#!/usr/bin/env bats
# Security, network side (issue 9, findings 3, 4, 5 and 11): what a LAN
# neighbour and a container can do to the host and the daemon.
#
# - A "LAN" network namespace (veth to the host, default route via the host)
#   reaches published ports through the host's address but not container
#   ports that were never published (nor published ones by the container's
#   own address: dockerd 28's direct-routing drop), and the host does not
#   route it to a second namespace on another veth (no open router).
# - A DNS flood from a container (forwarded names, to a resolver that never
#   answers) leaves the daemon under a fixed thread and fd bound, answering
#   the API.
# - Idle connections to a published port cost no daemon thread each; past
#   proxyMaxConnections new ones are closed at once, the API still answers.
# - Bridge names that are not valid Linux interface names, or that nft
#   could not take literally, are refused.
#
# Traffic stays on this machine: loopback, and namespaces and veths the test
# creates on 198.19.x.y/30 (teardown_file removes them, even on failure).

load helpers
bats_require_minimum_version 1.5.0

# The proxy cap of this file's daemon (config proxyMaxConnections).
PROXY_CAP=1000

setup_file() {
  arca_setup_file
  # a lower connection cap, so that the test can go past it cheaply
  arca_stop
  python3 - "$ARCA_T/config.json" "$PROXY_CAP" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["proxyMaxConnections"] = int(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"))
EOF
  arca_start
  load_busybox
  R=$((RANDOM % 10000))
  A=$((RANDOM % 250))
  export R A
  # names and addresses of everything the test creates on the host
  LAN=b1l$R FAR=b1f$R
  LAN_HOST=198.19.$A.1 LAN_NS=198.19.$A.2 FAR_HOST=198.19.$A.5 FAR_NS=198.19.$A.6
  export LAN FAR LAN_HOST LAN_NS FAR_HOST FAR_NS
  echo "$LAN $FAR" >"$ARCA_T/b1.netns"
  NFT_TABLE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nftTable"])' "$ARCA_T/config.json")
  export NFT_TABLE
}

teardown_file() {
  local pid ns
  for pid in $(cat "$ARCA_T"/b1.*.pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  for ns in $(cat "$ARCA_T/b1.netns" 2>/dev/null); do
    ip netns del "$ns" 2>/dev/null || true
    ip link del "${ns}h" 2>/dev/null || true
  done
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  arca_cleanup
}

# ns_setup NAME HOST_ADDR NS_ADDR: a namespace on a /30 veth to the host, its
# default route via the host.
ns_setup() {
  ip netns add "$1"
  ip link add "$1h" type veth peer name "$1n"
  ip addr add "$2/30" dev "$1h"
  ip link set "$1h" up
  ip link set "$1n" netns "$1"
  ip -n "$1" addr add "$3/30" dev "$1n"
  ip -n "$1" link set "$1n" up
  ip -n "$1" link set lo up
  ip -n "$1" route add default via "$2"
}

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# get ADDR:PORT from the namespace NS (or the host with NS "-"): the page.
get() {
  if [ "$1" = - ]; then
    curl -s -g --max-time 3 "http://$2/"
  else
    in_ns "$1" curl -s -g --max-time 3 "http://$2/"
  fi
}

daemon_threads() { awk '/^Threads:/ { print $2 }' "/proc/$(arca_pid)/status"; }
daemon_fds() { ls "/proc/$(arca_pid)/fd" | wc -l; }
daemon_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(arca_pid)/status"; }

@test "a bad bridge name is refused and leaves nothing behind" {
  local name table_before
  table_before=$(nft list table inet "$NFT_TABLE" | md5sum)
  # what the kernel refuses: dockerd's texts (500, from netlink)
  for name in 'b1 x' 'b1/x' 'b1:x' '.' '..' "b1$(printf '\t')x"; do
    run docker network create -o "com.docker.network.bridge.name=$name" b1bad
    assert_failure
    assert_output_contains "invalid argument"
  done
  run docker network create -o com.docker.network.bridge.name=b1abcdefghijklmn b1bad
  assert_failure
  assert_output_contains "numerical result out of range"
  # names Linux takes but nft could not hold literally (a quote ends the
  # string, a trailing * is a wildcard matching other interfaces)
  for name in 'b1"x' 'e*' 'b1\x' "b1$(printf '\001')x"; do
    run docker network create -o "com.docker.network.bridge.name=$name" b1bad
    assert_failure
    assert_output_contains "invalid bridge name"
    # (Linux would have taken it: it must not have been created)
    [ ! -e "/sys/class/net/$name" ] || fail "bridge $name left behind"
  done
  run docker network ls -q -f name=b1bad
  assert_output ""
  [ "$(nft list table inet "$NFT_TABLE" | md5sum)" = "$table_before" ] || fail "the nft table changed"

  # the kernel's other names work, quoted in the table as they are
  run docker network create -o 'com.docker.network.bridge.name=b1;a#b' b1odd
  assert_success
  [ -e "/sys/class/net/b1;a#b" ]
  run nft list table inet "$NFT_TABLE"
  assert_output_contains '"b1;a#b"'
  docker network rm b1odd >/dev/null
  [ ! -e "/sys/class/net/b1;a#b" ]
}

@test "gateway modes that would open container addresses are refused" {
  local mode
  for mode in routed nat-unprotected isolated; do
    run docker network create -o "com.docker.network.bridge.gateway_mode_ipv4=$mode" b1gw
    assert_failure
    assert_output_contains "gateway mode $mode is not supported"
  done
  run docker network create -o com.docker.network.bridge.gateway_mode_ipv4=bogus b1gw
  assert_failure
  assert_output_contains "unknown gateway mode bogus"
  run docker network ls -q -f name=b1gw
  assert_output ""
  run docker network create -o com.docker.network.bridge.gateway_mode_ipv4=nat b1gw
  assert_success
  docker network rm b1gw >/dev/null
}

@test "a bad bridgeName or nftTable in the config file is refused at start" {
  local cfg=$ARCA_T/bad.json
  # foreground: a daemon that does start is ended by the timeout
  printf '{"bridgeName": "b1\\"x", "nftTable": "b1t%s"}\n' "$R" >"$cfg"
  run timeout -k 5 20 "$ARCA_BIN" daemon start --config "$cfg" --socket-path "$ARCA_T/bad.sock" \
    --data-root "$ARCA_T/bad-data" --exec-root "$ARCA_T/bad-exec" 3>&-
  ip link del 'b1"x' 2>/dev/null || true
  nft delete table inet "b1t$R" 2>/dev/null || true
  assert_failure
  assert_output_contains "invalid bridge name"
  printf '{"bridgeName": "b1b%s", "nftTable": "b1;x"}\n' "$R" >"$cfg"
  run timeout -k 5 20 "$ARCA_BIN" daemon start --config "$cfg" --socket-path "$ARCA_T/bad.sock" \
    --data-root "$ARCA_T/bad-data" --exec-root "$ARCA_T/bad-exec" 3>&-
  ip link del "b1b$R" 2>/dev/null || true
  assert_failure
  assert_output_contains '"nftTable" must be'
}

@test "LAN: published ports reachable, unpublished and direct-routed ones not" {
  ns_setup "$LAN" "$LAN_HOST" "$LAN_NS"
  local hp cip
  hp=$(free_ports 1)
  docker run -d --name b1web -p "$hp:80" busybox sh -c \
    'mkdir -p /www /www81; echo hello > /www/index.html; echo secret > /www81/index.html;
     httpd -p 81 -h /www81; exec httpd -f -p 80 -h /www' >/dev/null
  cip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' b1web)
  [ -n "$cip" ]
  retry 30 0.2 get - "127.0.0.1:$hp" >/dev/null
  # the LAN namespace reaches the host
  in_ns "$LAN" busybox ping -c 1 -W 2 "$LAN_HOST" >/dev/null
  # published: from the LAN through the host's address, and from loopback
  run get "$LAN" "$LAN_HOST:$hp"
  assert_success
  assert_output hello
  run get - "127.0.0.1:$hp"
  assert_output hello
  # never published, by the container's address: dropped
  run get "$LAN" "$cip:81"
  assert_failure
  assert_output ""
  # published, but by the container's address (not through the mapping)
  run get "$LAN" "$cip:80"
  assert_failure
  # the host itself and containers on the network still reach it
  run get - "$cip:81"
  assert_output secret
  run docker run --rm busybox sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 $cip 81"
  assert_success
  assert_output_contains secret
}

@test "the host does not route between two unrelated interfaces" {
  ns_setup "$FAR" "$FAR_HOST" "$FAR_NS"
  in_ns "$FAR" python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7777)); s.listen(8); s.settimeout(1); print("ready", flush=True)
end = time.time() + 60
while time.time() < end:
    try:
        c, _ = s.accept(); c.sendall(b"far\n"); c.close()
    except OSError:
        pass' >"$ARCA_T/b1.far.out" 3>&- &
  echo $! >"$ARCA_T/b1.far.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/b1.far.out"
  # both namespaces are reachable from the host (the setup works)
  run curl -s --max-time 3 "telnet://$FAR_NS:7777" </dev/null
  assert_output far
  in_ns "$LAN" busybox ping -c 1 -W 2 "$LAN_HOST" >/dev/null
  # but the host forwards nothing from one to the other
  run in_ns "$LAN" busybox ping -c 1 -W 2 "$FAR_NS"
  assert_failure
  run in_ns "$LAN" curl -s --max-time 3 "telnet://$FAR_NS:7777" </dev/null
  assert_failure
  # containers still go out (masquerade) to the far namespace
  run docker run --rm busybox sh -c "nc -w 3 $FAR_NS 7777 </dev/null"
  assert_success
  assert_output far
}

@test "a DNS flood from a container leaves the daemon bounded and answering" {
  # a resolver that reads every query and answers none: each forwarded query
  # stays in flight until the forwarder gives up on it
  local bh=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1)) pid base_t base_f out
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 53)); s.settimeout(1)
print("ready", flush=True)
end = time.time() + 120
while time.time() < end:
    try:
        s.recv(65535)
    except OSError:
        pass' "$bh" >"$ARCA_T/b1.bh.out" 3>&- &
  echo $! >"$ARCA_T/b1.bh.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/b1.bh.out"
  docker network create b1dns >/dev/null
  docker run -d --name b1dns --network b1dns --dns "$bh" busybox sleep 1000 >/dev/null
  pid=$(docker inspect -f '{{.State.Pid}}' b1dns)
  base_t=$(daemon_threads)
  base_f=$(daemon_fds)
  # the bound docs/security.md states: no thread per query, at most 512
  # forwarded queries (one socket each) and 64 TCP clients in flight
  run nsenter --net="/proc/$pid/ns/net" python3 "$ARCA_REPO/tests/fixtures/dns_flood.py" 127.0.0.11 100000 \
    "$(arca_pid)" "$((base_t + 8))" "$((base_f + 512 + 64 + 32))" "$ARCA_T/arca.sock"
  assert_success
  echo "# base threads=$base_t fds=$base_f; $output" >&3
  assert_output_contains "aborted=0"
  assert_output_contains "ping_failures=0"
  # queries past the cap were answered at once with SERVFAIL
  [[ $output =~ servfail=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] || fail "no SERVFAIL: $output"
  # and the server still answers names it knows
  run docker exec b1dns nslookup b1dns
  assert_success
  assert_output_contains "Address: $(docker inspect -f '{{.NetworkSettings.Networks.b1dns.IPAddress}}' b1dns)"
  run api GET /_ping
  assert_output OK
}

@test "DNS over TCP: connections are capped per container and idle ones closed" {
  local pid base_f
  pid=$(docker inspect -f '{{.State.Pid}}' b1dns)
  base_f=$(daemon_fds)
  # 40 connections held idle from one container: 16 (DNS_TCP_MAX_PER_CTR)
  # are served, the others closed at once; the served ones are closed after
  # 5 s without a query.  Prints "open=N closed_at_once=N closed_idle=N fds=N".
  run nsenter --net="/proc/$pid/ns/net" python3 - "$(arca_pid)" <<'EOF2'
import os, socket, sys, time
pid = sys.argv[1]
conns = []
for _ in range(40):
    c = socket.create_connection(("127.0.0.11", 53), timeout=3)
    conns.append(c)
time.sleep(0.5)
def closed(c):
    c.setblocking(False)
    try:
        return c.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
at_once = [c for c in conns if closed(c)]
held = [c for c in conns if c not in at_once]
fds = len(os.listdir("/proc/%s/fd" % pid))
end = time.time() + 10
while time.time() < end and not all(closed(c) for c in held):
    time.sleep(0.2)
print("open=%d closed_at_once=%d closed_idle=%d fds=%d" % (len(held), len(at_once), sum(closed(c) for c in held), fds))
EOF2
  assert_success
  echo "# $output" >&3
  assert_output_contains "open=16 closed_at_once=24 closed_idle=16"
  [[ $output =~ fds=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -le $((base_f + 16 + 8)) ] || fail "fds: $base_f -> $output"
  # and TCP queries work again afterwards
  run nsenter --net="/proc/$pid/ns/net" python3 -c '
import socket, struct
q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x05b1dns\x00" + struct.pack("!HH", 1, 1)
s = socket.create_connection(("127.0.0.11", 53), timeout=5)
s.sendall(struct.pack("!H", len(q)) + q)
r = s.recv(4096)
print("rcode=%d answers=%d" % (r[5] & 15, struct.unpack("!H", r[8:10])[0]))'
  assert_output "rcode=0 answers=1"
}

@test "idle proxied connections: no thread each, a cap, the API answers" {
  local hp pid base_t base_f base_rss out accepted
  hp=$(free_ports 1)
  docker run -d --name b1prox -p "127.0.0.1:$hp:90" busybox sleep 1000 >/dev/null
  pid=$(docker inspect -f '{{.State.Pid}}' b1prox)
  nsenter --net="/proc/$pid/ns/net" python3 "$ARCA_REPO/tests/fixtures/echo_server.py" 90 150 \
    >"$ARCA_T/b1.echo.out" 3>&- &
  echo $! >"$ARCA_T/b1.echo.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/b1.echo.out"
  base_t=$(daemon_threads)
  base_f=$(daemon_fds)
  base_rss=$(daemon_rss_kb)
  python3 "$ARCA_REPO/tests/fixtures/conn_hold.py" 127.0.0.1 "$hp" $((PROXY_CAP * 2)) "$(arca_pid)" \
    "$ARCA_T/b1.hold.ready" "$ARCA_T/b1.hold.stop" >"$ARCA_T/b1.hold.out" 2>&1 3>&- &
  echo $! >"$ARCA_T/b1.hold.pid"
  retry 1200 0.1 test -e "$ARCA_T/b1.hold.ready"
  out=$(cat "$ARCA_T/b1.hold.ready")
  echo "# base threads=$base_t fds=$base_f rss_kb=$base_rss; held: $out" >&3
  # the API answers while the connections are held
  run api GET /_ping
  assert_output OK
  run docker ps -q -f name=b1prox
  assert_success
  [ -n "$output" ]
  # a connection past the cap is closed at once, not left hanging
  run curl -s --max-time 5 "http://127.0.0.1:$hp/"
  assert_failure
  [ "$status" -ne 28 ] || fail "a connection past the cap hung (curl timed out)"
  touch "$ARCA_T/b1.hold.stop"
  retry 100 0.2 grep -q still_relaying "$ARCA_T/b1.hold.out"
  run cat "$ARCA_T/b1.hold.out"
  echo "# $output" >&3
  # every held connection still relays at the end
  [[ $output =~ still_relaying=([0-9]+)\ of\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] ||
    fail "held connections stopped relaying: $output"
  [[ $out =~ accepted=([0-9]+)\ refused=([0-9]+)\ other=([0-9]+)\ threads=([0-9]+)\ fds=([0-9]+)\ rss_kb=([0-9]+) ]] ||
    fail "no result: $out"
  accepted=${BASH_REMATCH[1]}
  [ "$accepted" -eq "$PROXY_CAP" ] || fail "accepted $accepted connections, cap $PROXY_CAP"
  [ "${BASH_REMATCH[2]}" -eq "$PROXY_CAP" ] || fail "refused ${BASH_REMATCH[2]}, expected $PROXY_CAP"
  [ "${BASH_REMATCH[3]}" -eq 0 ] || fail "connections neither served nor refused: $out"
  [ "${BASH_REMATCH[4]}" -le $((base_t + 4)) ] || fail "threads grew: $base_t -> ${BASH_REMATCH[4]}"
  [ "${BASH_REMATCH[5]}" -le $((base_f + 2 * PROXY_CAP + 32)) ] || fail "fds: $base_f -> ${BASH_REMATCH[5]}"
  [ "${BASH_REMATCH[6]}" -le $((base_rss + 16 * 1024)) ] || fail "RSS grew: $base_rss -> ${BASH_REMATCH[6]} kB"
  # once they are closed, the fds go back and new connections are served
  retry 50 0.1 test "$(daemon_fds)" -le $((base_f + 8))
  run sh -c "printf 'again\n' | timeout 5 python3 -c '
import socket, sys
c = socket.create_connection((\"127.0.0.1\", $hp), timeout=3); c.sendall(b\"again\n\"); print(c.recv(64).decode().strip())'"
  assert_output again
}

@test "the proxy relays a large transfer with a slow reader and a half-close intact" {
  local hp pid base_rss
  hp=$(free_ports 1)
  docker run -d --name b1relay -p "127.0.0.1:$hp:90" busybox sleep 1000 >/dev/null
  pid=$(docker inspect -f '{{.State.Pid}}' b1relay)
  nsenter --net="/proc/$pid/ns/net" python3 "$ARCA_REPO/tests/fixtures/echo_server.py" 90 60 \
    >"$ARCA_T/b1.echo2.out" 3>&- &
  echo $! >"$ARCA_T/b1.echo2.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/b1.echo2.out"
  base_rss=$(daemon_rss_kb)
  # 32 MB each way; the client reads nothing for 2 s, so the relay must hold
  # the sender back (no buffering of its own), then everything arrives, the
  # client's half-close included (the echo server ends at EOF)
  run timeout 60 python3 "$ARCA_REPO/tests/fixtures/relay_check.py" 127.0.0.1 "$hp" 32 2
  assert_success
  assert_output "sent=33554432 received=33554432 match=yes"
  [ "$(daemon_rss_kb)" -le $((base_rss + 4096)) ] || fail "RSS grew: $base_rss -> $(daemon_rss_kb) kB"
  docker rm -f b1relay >/dev/null
}
