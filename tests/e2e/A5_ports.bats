#!/usr/bin/env bats
# Published ports (-p, -P, ranges, UDP) and NAT, as dockerd: DNAT in Arca's
# nft table plus the userland proxy for loopback; "port is already
# allocated"; ports again after stop/start and after a daemon kill -9;
# NetworkSettings.Ports, `docker port`, the ps Ports column; masquerade of
# container traffic leaving the bridge.
#
# Traffic stays on this machine: the host's loopback and own address, and a
# network namespace the test creates (for masquerade) on 198.18.x.y/30.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  # host ports for this run (random base: several test daemons run at once)
  P=$((20000 + (RANDOM % 400) * 20))
  export P
  # the host's own non-loopback IPv4 address, if any (never another host's)
  HOSTIP=$(ip -4 -o addr show scope global 2>/dev/null |
    awk '$2 !~ /^(arca|veth|br-|docker)/ { sub(/\/.*/, "", $4); print $4; exit }')
  export HOSTIP
  NFT_TABLE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("nftTable","arca"))' \
    "$ARCA_T/config.json" 2>/dev/null || echo arca)
  export NFT_TABLE
  NS=a5o$((RANDOM % 10000))
  export NS
  echo "$NS" >"$ARCA_T/a5.netns"
}

teardown_file() {
  local pid
  for pid in $(cat "$ARCA_T"/a5.*.pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  ip link del "${NS}h" 2>/dev/null || true
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  local table=$NFT_TABLE
  arca_cleanup
  if nft list table inet "$table" >/dev/null 2>&1; then
    echo "nft table inet $table left behind" >&2
    return 1
  fi
}

# web NAME [docker run args...]: busybox httpd serving "hello" on port 80
# (and "hello81" on 81).
web() {
  local name=$1
  shift
  docker run -d --name "$name" "$@" busybox sh -c \
    'mkdir -p /www /www81; echo hello > /www/index.html; echo hello81 > /www81/index.html;
     httpd -p 81 -h /www81; exec httpd -f -p 80 -h /www'
}

# get ADDR:PORT: the page, retrying briefly while httpd starts.
get() {
  local i out
  for ((i = 0; i < 30; i++)); do
    out=$(curl -s -g --max-time 3 "http://$1/" 2>/dev/null) && [ -n "$out" ] && { echo "$out"; return 0; }
    sleep 0.2
  done
  return 1
}

# udp_send ADDR PORT TEXT: one datagram, prints the reply.
udp_send() {
  python3 - "$@" <<'EOF'
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
print(s.recvfrom(65535)[0].decode())
EOF
}

@test "-p host:container publishes on 127.0.0.1 and the host's address" {
  run web a5web -p "$P:80"
  assert_success
  run get "127.0.0.1:$P"
  assert_success
  assert_output hello
  if [ -n "$HOSTIP" ]; then
    run get "$HOSTIP:$P"
    assert_success
    assert_output hello
  fi
  run docker inspect -f '{{json .NetworkSettings.Ports}}' a5web
  assert_success
  assert_output_contains "\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$P\"}"
  run docker port a5web 80
  assert_success
  assert_line_matches "^0\.0\.0\.0:$P\$"
  run docker port a5web
  assert_success
  assert_line_matches "^80/tcp -> 0\.0\.0\.0:$P\$"
  run docker ps --format '{{.Ports}}' -f name=a5web
  assert_success
  assert_output_contains "0.0.0.0:$P->80/tcp"
  run docker inspect -f '{{json .HostConfig.PortBindings}}' a5web
  assert_output "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"$P\"}]}"
}

@test "a second -p on the same host port fails with dockerd's message" {
  run docker run -d --name a5dup -p "$P:80" busybox sleep 300
  assert_failure
  assert_output_contains "driver failed programming external connectivity on endpoint a5dup ("
  assert_output_contains "Bind for 0.0.0.0:$P failed: port is already allocated"
  run docker inspect -f '{{.State.Running}}' a5dup
  assert_output false
  # the shim, started while the network was made, went with the start
  local id
  id=$(docker inspect -f '{{.Id}}' a5dup)
  [ -z "$(pgrep -f "arca-shim --id $id --bundle $ARCA_T/")" ] || fail "shim of a5dup left"
  # the first container still serves
  run get "127.0.0.1:$P"
  assert_output hello
  docker rm -f a5dup >/dev/null
}

@test "one host port twice in one run fails as on dockerd 20.10, sctp too" {
  local y=$((P + 14)) z=$((P + 15))
  run docker run -d --name a5self -p "127.0.0.1:$y:80" -p "127.0.0.1:$y:81" busybox sleep 300
  assert_failure
  assert_output_contains "driver failed programming external connectivity on endpoint a5self ("
  assert_output_contains "Bind for 127.0.0.1:$y failed: port is already allocated"
  # sctp binds no socket (DNAT only): the allocator alone refuses it
  run docker run -d --name a5selfs -p "127.0.0.1:$z:80/sctp" -p "127.0.0.1:$z:81/sctp" busybox sleep 300
  assert_failure
  assert_output_contains "Bind for 127.0.0.1:$z failed: port is already allocated"
  docker rm -f a5self a5selfs >/dev/null
  # nothing of them in the table, changed in place without a rebuild
  run nft list table inet "$NFT_TABLE"
  assert_output_not_contains ". $y"
  assert_output_not_contains ". $z"
  ! grep -q "rebuilding the table" "$ARCA_T/daemon.log" || fail "$(grep "rebuilding the table" "$ARCA_T/daemon.log")"
}

@test "a port another program holds fails at start" {
  local port=$((P + 5))
  python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("0.0.0.0",int(sys.argv[1]))); s.listen(); print("ready",flush=True); time.sleep(60)' \
    "$port" >"$ARCA_T/a5.hold.out" 3>&- &
  echo $! >"$ARCA_T/a5.hold.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/a5.hold.out"
  run docker run -d --name a5held -p "$port:80" busybox sleep 300
  kill "$(cat "$ARCA_T/a5.hold.pid")"
  assert_failure
  assert_output_contains "driver failed programming external connectivity on endpoint a5held"
  assert_output_contains "address already in use"
  docker rm -f a5held >/dev/null
}

@test "-p container gets an ephemeral port that docker port reports" {
  run web a5eph -p 80
  assert_success
  run docker port a5eph 80/tcp
  assert_success
  local hp lo hi
  hp=$(head -1 <<<"$output" | sed 's/.*://')
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  [ "$hp" -ge "$lo" ] && [ "$hp" -le "$hi" ] || fail "ephemeral port $hp not in $lo-$hi"
  assert_line_matches "^0\.0\.0\.0:$hp\$"
  echo "$hp" >"$ARCA_T/a5.ephport"
  run get "127.0.0.1:$hp"
  assert_output hello
}

@test "-P publishes exposed ports, ranges and a host IP" {
  run web a5all --expose 80 -P
  assert_success
  run docker port a5all 80
  assert_success
  local hp
  hp=$(head -1 <<<"$output" | sed 's/.*://')
  run get "127.0.0.1:$hp"
  assert_output hello

  run web a5range -p "$((P + 1))-$((P + 2)):80-81"
  assert_success
  run get "127.0.0.1:$((P + 1))"
  assert_output hello
  run get "127.0.0.1:$((P + 2))"
  assert_output hello81
  run docker port a5range 81
  assert_line_matches "^0\.0\.0\.0:$((P + 2))\$"

  run web a5lo -p "127.0.0.1:$((P + 3)):80"
  assert_success
  run docker port a5lo
  assert_output "80/tcp -> 127.0.0.1:$((P + 3))"
  run get "127.0.0.1:$((P + 3))"
  assert_output hello
  # SCTP: DNAT only (no proxy), reported like the others
  run docker run -d --name a5sctp -p "$((P + 6)):100/sctp" busybox sleep 300
  assert_success
  run docker port a5sctp 100/sctp
  assert_line_matches "^0\.0\.0\.0:$((P + 6))\$"
  run nft list table inet "$NFT_TABLE"
  assert_output_contains "sctp dport $((P + 6)) dnat ip to"
  docker rm -f a5all a5range a5lo a5sctp >/dev/null
}

@test "ports are released on stop and published again on start" {
  docker stop -t 1 a5web >/dev/null
  run curl -s --max-time 2 "http://127.0.0.1:$P/"
  assert_failure
  run docker inspect -f '{{json .NetworkSettings.Ports}}' a5web
  assert_output '{}'
  # the port is free for another container meanwhile
  run docker run -d --name a5tmp -p "$P:80" busybox sleep 300
  assert_success
  docker rm -f a5tmp >/dev/null
  docker start a5web >/dev/null
  run get "127.0.0.1:$P"
  assert_success
  assert_output hello
  run docker port a5web 80
  assert_line_matches "^0\.0\.0\.0:$P\$"
}

@test "an idle daemon releases its nftables context; the next -p and network get their rules" {
  # net_release_idle: 5 s after the last ruleset change (the daemon's idle
  # tick is 1 s); the next change makes a new context
  retry 150 0.1 grep -q "nftables context released" "$ARCA_T/daemon.log"
  run docker run -d --name a5idle -p "$((P + 9)):80" busybox sleep 300
  assert_success
  run nft list table inet "$NFT_TABLE"
  assert_success
  assert_output_contains "tcp dport $((P + 9)) dnat ip to"
  run docker network create a5idlenet
  assert_success
  local br
  br=br-$(docker network inspect -f '{{.Id}}' a5idlenet | cut -c1-12)
  run nft list table inet "$NFT_TABLE"
  assert_output_contains "\"$br\""
  docker rm -f a5idle >/dev/null
  docker network rm a5idlenet >/dev/null
  run nft list table inet "$NFT_TABLE"
  assert_output_not_contains "tcp dport $((P + 9)) dnat"
  assert_output_not_contains "\"$br\""
}

@test "UDP ports are published" {
  local port=$((P + 4)) pid
  run docker run -d --name a5udp -p "$port:90/udp" busybox sleep 600
  assert_success
  pid=$(docker inspect -f '{{.State.Pid}}' a5udp)
  # a UDP echo server inside the container's network namespace
  nsenter --net="/proc/$pid/ns/net" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 90)); print("ready", flush=True)
while True:
    d, a = s.recvfrom(65535); s.sendto(b"echo:" + d, a)' >"$ARCA_T/a5.udp.out" 3>&- &
  echo $! >"$ARCA_T/a5.udp.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/a5.udp.out"
  run udp_send 127.0.0.1 "$port" ping1
  assert_success
  assert_output echo:ping1
  if [ -n "$HOSTIP" ]; then
    run udp_send "$HOSTIP" "$port" ping2
    assert_success
    assert_output echo:ping2
  fi
  run docker port a5udp 90/udp
  assert_line_matches "^0\.0\.0\.0:$port\$"
}

@test "published ports survive a daemon kill -9" {
  local eph
  eph=$(cat "$ARCA_T/a5.ephport")
  arca_kill9
  if [ -n "$HOSTIP" ]; then
    # the kernel's DNAT keeps serving while the daemon is down
    run get "$HOSTIP:$P"
    assert_output hello
  fi
  arca_start
  run get "127.0.0.1:$P"
  assert_success
  assert_output hello
  run get "127.0.0.1:$eph"
  assert_success
  assert_output hello
  run docker port a5eph 80
  assert_line_matches "^0\.0\.0\.0:$eph\$"
  run udp_send 127.0.0.1 "$((P + 4))" ping3
  assert_output echo:ping3
  # still held: a new container cannot take it
  run docker run -d --name a5dup2 -p "$P:80" busybox true
  assert_failure
  assert_output_contains "port is already allocated"
  docker rm -f a5dup2 >/dev/null
}

@test "masquerade: a container reaches a namespace on the host side" {
  local n=$((RANDOM % 250)) peer
  peer=198.18.$n.2
  ip netns add "$NS"
  ip link add "${NS}h" type veth peer name "${NS}n"
  ip addr add "198.18.$n.1/30" dev "${NS}h"
  ip link set "${NS}h" up
  ip link set "${NS}n" netns "$NS"
  ip -n "$NS" addr add "$peer/30" dev "${NS}n"
  ip -n "$NS" link set "${NS}n" up
  # no route back to the container subnet there: only masquerade can answer
  ip netns exec "$NS" busybox nc -l -p 9999 >"$ARCA_T/a5.masq.out" 3>&- &
  echo $! >"$ARCA_T/a5.nc.pid"
  # listening before the container connects (a loaded machine is slow)
  listening() { ip netns exec "$NS" ss -Hltn 'sport = :9999' | grep -q .; }
  retry 50 0.1 listening
  run docker run --rm busybox sh -c "echo via-nat | nc -w 3 $peer 9999"
  assert_success
  retry 50 0.1 grep -q via-nat "$ARCA_T/a5.masq.out"
  # and the bridge gateway (the host) is reachable too
  local gw
  gw=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}' a5web)
  run docker run --rm busybox ping -c 1 -W 2 "$gw"
  assert_success
}

@test "isolation between networks, --internal and enable_icc=false" {
  docker network create a5n1 >/dev/null
  docker network create a5n2 >/dev/null
  docker network create --internal a5int >/dev/null
  docker network create -o com.docker.network.bridge.enable_icc=false a5noicc >/dev/null
  docker run -d --name a5i1 --network a5n1 busybox sleep 300 >/dev/null
  docker run -d --name a5i2 --network a5noicc busybox sleep 300 >/dev/null
  local ip1 ip2
  ip1=$(docker inspect -f '{{.NetworkSettings.Networks.a5n1.IPAddress}}' a5i1)
  ip2=$(docker inspect -f '{{.NetworkSettings.Networks.a5noicc.IPAddress}}' a5i2)
  run docker run --rm --network a5n1 busybox ping -c 1 -W 2 "$ip1"
  assert_success
  run docker run --rm --network a5n2 busybox ping -c 1 -W 1 "$ip1"
  assert_failure
  run docker run --rm --network a5noicc busybox ping -c 1 -W 1 "$ip2"
  assert_failure
  # the namespace of the masquerade test is reachable from a5n1, not from a5int
  local n
  n=$(ip -n "$NS" -4 -o addr show | awk '$4 ~ /^198\.18\./ { sub(/\/.*/, "", $4); print $4 }')
  [ -n "$n" ] || skip "no masquerade namespace"
  run docker run --rm --network a5n1 busybox ping -c 1 -W 2 "$n"
  assert_success
  run docker run --rm --network a5int busybox ping -c 1 -W 1 "$n"
  assert_failure
  docker rm -f a5i1 a5i2 >/dev/null
  docker network rm a5n1 a5n2 a5int a5noicc >/dev/null
}

@test "the nft table holds the rules while the daemon runs" {
  run nft list table inet "$NFT_TABLE"
  assert_success
  assert_output_contains "dport $P dnat ip to"
  assert_output_contains "masquerade"
  docker rm -f a5web >/dev/null
  run nft list table inet "$NFT_TABLE"
  assert_output_not_contains "dport $P dnat"
}

# the table as sorted lines, one set element per line
table_lines() {
  nft list table inet "$NFT_TABLE" | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[{}]//g; s/[[:space:]]*$//' | grep -v '^$' | sort
}

@test "published ports change in place: the table after publishes and removals is the one a rebuild makes" {
  local a=$((P + 10)) b=$((P + 11)) u=$((P + 12)) c=$((P + 13))
  web a5inc1 -p "$a:80" >/dev/null
  web a5inc2 -p "127.0.0.1:$b:80" >/dev/null
  docker run -d --name a5inc3 -p "$u:53/udp" busybox sleep 300 >/dev/null
  docker rm -f a5inc1 >/dev/null
  # the same host port again, for another container
  web a5inc4 -p "$a:80" -p "127.0.0.1:$c:81" >/dev/null
  docker rm -f a5inc2 >/dev/null
  run table_lines
  assert_output_contains "port-tcp-$a"
  assert_output_contains "port-udp-$u"
  assert_output_contains "127.0.0.1 . tcp . $c"
  assert_output_not_contains "127.0.0.1 . tcp . $b"
  local before=$output
  if [ -n "$HOSTIP" ]; then
    # the kernel's DNAT to a5inc4, not a5inc1's, with no daemon (no proxy)
    arca_kill9
    run get "$HOSTIP:$a"
    assert_output hello
    arca_start
  else
    arca_restart
  fi
  # the daemon rebuilt the table from its state at start
  run table_lines
  [ "$output" = "$before" ] || fail "table after start differs: $(diff <(echo "$before") <(echo "$output"))"
  docker rm -f a5inc3 a5inc4 >/dev/null
  run table_lines
  assert_output_not_contains "port-tcp-$a"
  assert_output_not_contains "port-udp-$u"
  assert_output_not_contains ". $c"
  assert_output_contains "meta l4proto . th dport vmap @port-map"
}
