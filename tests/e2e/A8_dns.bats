#!/usr/bin/env bats
# Embedded DNS server (127.0.0.11 in containers on user-defined networks) and
# resolv.conf, as dockerd: names, network aliases and short IDs of containers
# sharing a network; NXDOMAIN once a container is gone; --internal networks;
# container restarts and daemon kill -9; forwarding of other names.
#
# Forwarding never leaves the machine: the test runs its own DNS responder
# (tests/fixtures/dns_responder.py) on a random 127.x.y.z:53 in the host's
# namespace and gives it to the containers with --dns; the daemon forwards
# from the host namespace, so the container reaches it through 127.0.0.11.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  RESOLVER=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
  export RESOLVER
  python3 "$ARCA_REPO/tests/fixtures/dns_responder.py" "$RESOLVER" ext.test=192.0.2.7 'big.test=192.0.2.100*40' \
    >"$ARCA_T/resolver.out" 2>"$ARCA_T/resolver.log" </dev/null 3>&- &
  echo $! >"$ARCA_T/resolver.pid"
  retry 50 0.1 grep -q ready "$ARCA_T/resolver.out"
  docker network create a8net >/dev/null
}

teardown_file() {
  local pid
  pid=$(cat "$ARCA_T/resolver.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  docker network rm a8net a8int >/dev/null 2>&1 || true
  arca_cleanup
}

# ip_of NAME NETWORK: the container's address on NETWORK.
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

# lookup CONTAINER NAME: busybox nslookup through the container's resolv.conf.
lookup() { docker exec "$1" nslookup "$2"; }

# tcp_query CONTAINER NAME: an A query over TCP to 127.0.0.11 from inside the
# container's network namespace (python3 on the host, entered with nsenter);
# prints the rcode and the addresses.
tcp_query() {
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' "$1")
  nsenter --net="/proc/$pid/ns/net" python3 - "$2" <<'EOF'
import socket, struct, sys
name = sys.argv[1]
q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
s = socket.create_connection(("127.0.0.11", 53), timeout=10)
s.sendall(struct.pack("!H", len(q)) + q)
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit("short read")
        b += c
    return b
r = rd(struct.unpack("!H", rd(2))[0])
rcode, an = r[3] & 15, struct.unpack("!H", r[6:8])[0]
i = len(q)  # the question is echoed as sent
out = ["rcode=%d" % rcode]
for _ in range(an):
    i += 2  # compressed owner name
    t, _, _, l = struct.unpack("!HHIH", r[i:i + 10])
    if t == 1:
        out.append(socket.inet_ntoa(r[i + 10:i + 14]))
    i += 10 + l
print(" ".join(out))
EOF
}

@test "resolv.conf on a user network: 127.0.0.11 and ndots:0" {
  run docker run --rm --network a8net busybox cat /etc/resolv.conf
  assert_success
  assert_line_matches '^nameserver 127\.0\.0\.11$'
  assert_line_matches '^options ndots:0$'
  [ "$(grep -c '^nameserver' <<<"$output")" = 1 ] || fail "one nameserver expected"
  assert_output_contains "# ExtServers: [host("
}

@test "resolv.conf: --dns, --dns-search, --dns-option (user network and default bridge)" {
  run docker run --rm --network a8net --dns 192.0.2.53 --dns-search a8.test --dns-option ndots:2 \
    --dns-option timeout:1 busybox cat /etc/resolv.conf
  assert_success
  assert_line_matches '^nameserver 127\.0\.0\.11$'
  assert_line_matches '^search a8\.test$'
  assert_line_matches '^options ndots:2 timeout:1$'
  assert_output_contains "# ExtServers: [192.0.2.53]"
  run docker run --rm --network bridge --dns 192.0.2.53 --dns-search a8.test --dns-option attempts:3 busybox \
    cat /etc/resolv.conf
  assert_success
  assert_line_matches '^nameserver 192\.0\.2\.53$'
  assert_line_matches '^search a8\.test$'
  assert_line_matches '^options attempts:3$'
  assert_output_not_contains "127.0.0.11"
}

@test "containers resolve each other by name, alias and short ID" {
  docker run -d --name alpha --network a8net --network-alias web --dns "$RESOLVER" busybox sleep 1000
  docker run -d --name bravo --network a8net --dns "$RESOLVER" busybox sleep 1000
  local ipa ipb ida
  ipa=$(ip_of alpha a8net)
  ipb=$(ip_of bravo a8net)
  ida=$(docker inspect -f '{{.Id}}' alpha)
  [ -n "$ipa" ] && [ -n "$ipb" ]
  run lookup bravo alpha
  assert_success
  assert_output_contains "Address: $ipa"
  run lookup bravo web
  assert_success
  assert_output_contains "Address: $ipa"
  run lookup bravo "${ida:0:12}"
  assert_success
  assert_output_contains "Address: $ipa"
  run lookup alpha bravo
  assert_success
  assert_output_contains "Address: $ipb"
  run lookup bravo ALPHA.
  assert_success
  assert_output_contains "Address: $ipa"
  # "<name>.<network>" (dockerd's ResolveName) and the reverse lookup.
  run lookup bravo web.a8net
  assert_success
  assert_output_contains "Address: $ipa"
  # Reverse lookup: "<name>.<network>", as dockerd.
  run lookup bravo "$ipa"
  assert_success
  assert_output_contains "name = alpha.a8net"
  # TCP on 127.0.0.11 too.
  run tcp_query bravo web
  assert_success
  assert_output "rcode=0 $ipa"
  run docker exec bravo ping -c1 -W5 web
  assert_success
}

@test "other names are forwarded to the container's --dns server (UDP and TCP)" {
  run lookup bravo ext.test
  assert_success
  assert_output_contains "Address: 192.0.2.7"
  run tcp_query bravo ext.test
  assert_success
  assert_output "rcode=0 192.0.2.7"
  run lookup bravo nosuch.test
  assert_failure
  assert_output_contains "NXDOMAIN"
  grep -q "query ext.test" "$ARCA_T/resolver.log"
}

@test "a truncated upstream answer is asked again over TCP" {
  # big.test has 40 records: over UDP the resolver only says TC
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' bravo)
  run nsenter --net="/proc/$pid/ns/net" python3 - <<'EOF'
import socket, struct
def query(edns):
    q = struct.pack("!HHHHHH", 0x5151, 0x0100, 1, 0, 0, 1 if edns else 0)
    q += b"\x03big\x04test\x00" + struct.pack("!HH", 1, 1)
    if edns:  # OPT: a 4096-byte UDP payload
        q += b"\x00" + struct.pack("!HHIH", 41, 4096, 0, 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    s.sendto(q, ("127.0.0.11", 53))
    r = s.recv(65535)
    return "rcode=%d tc=%d answers=%d" % (r[3] & 15, (r[2] >> 1) & 1, struct.unpack("!H", r[6:8])[0])
print(query(True))
print(query(False))
EOF
  assert_success
  # EDNS: the whole answer (fetched over TCP by the embedded server)
  assert_line_matches '^rcode=0 tc=0 answers=40$'
  # no EDNS: 512 bytes with TC set, so that the client retries over TCP
  assert_line_matches '^rcode=0 tc=1 '
  run tcp_query bravo big.test
  assert_success
  assert_output_contains "rcode=0 192.0.2.100 192.0.2.101"
}

@test "a removed container no longer resolves (NXDOMAIN)" {
  docker rm -f alpha >/dev/null
  run lookup bravo alpha
  assert_failure
  assert_output_contains "NXDOMAIN"
  run lookup bravo web
  assert_failure
  assert_output_contains "NXDOMAIN"
}

@test "a container on another network does not resolve" {
  docker network create a8other >/dev/null
  docker run -d --name other --network a8other busybox sleep 1000
  run lookup bravo other
  assert_failure
  docker rm -f other >/dev/null
  docker network rm a8other >/dev/null
}

@test "network connect makes names resolve, disconnect stops them (NXDOMAIN)" {
  docker network create a8two >/dev/null
  docker run -d --name charlie --network a8two --network-alias c2 busybox sleep 1000
  run lookup bravo charlie
  assert_failure
  docker network connect --alias viaconnect a8two bravo
  run lookup bravo charlie
  assert_success
  assert_output_contains "Address: $(ip_of charlie a8two)"
  run lookup charlie viaconnect
  assert_success
  assert_output_contains "Address: $(ip_of bravo a8two)"
  docker network disconnect a8two charlie
  run lookup bravo c2
  assert_failure
  assert_output_contains "NXDOMAIN"
  docker network disconnect a8two bravo
  docker rm -f charlie >/dev/null
  docker network rm a8two >/dev/null
}

@test "names resolve inside an --internal network" {
  docker network create --internal a8int >/dev/null
  docker run -d --name i1 --network a8int busybox sleep 1000
  docker run -d --name i2 --network a8int --network-alias inner busybox sleep 1000
  local ip2
  ip2=$(ip_of i2 a8int)
  run lookup i1 i2
  assert_success
  assert_output_contains "Address: $ip2"
  run lookup i1 inner
  assert_success
  assert_output_contains "Address: $ip2"
  # No forwarding from a network without a way out (dockerd: SERVFAIL).
  run lookup i1 ext.test
  assert_failure
  docker rm -f i1 i2 >/dev/null
}

@test "DNS keeps working after docker restart" {
  docker run -d --name alpha --network a8net --network-alias web --dns "$RESOLVER" busybox sleep 1000
  local ipa
  ipa=$(ip_of alpha a8net)
  run lookup bravo alpha
  assert_success
  assert_output_contains "Address: $ipa"
  docker restart -t 1 bravo >/dev/null
  run lookup bravo alpha
  assert_success
  assert_output_contains "Address: $ipa"
  docker restart -t 1 alpha >/dev/null
  ipa=$(ip_of alpha a8net)
  run lookup bravo web
  assert_success
  assert_output_contains "Address: $ipa"
  run lookup alpha bravo
  assert_success
  assert_output_contains "Address: $(ip_of bravo a8net)"
}

@test "DNS keeps working after a restart-policy restart" {
  docker run -d --name delta --network a8net --restart on-failure --dns "$RESOLVER" busybox \
    sh -c '[ -f /restarted ] && exec sleep 1000; touch /restarted; exit 1'
  local i
  for ((i = 0; i < 50; i++)); do
    [ "$(docker inspect -f '{{.RestartCount}} {{.State.Running}} {{.State.Restarting}}' delta)" = "1 true false" ] && break
    sleep 0.2
  done
  [ "$(docker inspect -f '{{.RestartCount}} {{.State.Running}} {{.State.Restarting}}' delta)" = "1 true false" ] || fail "delta did not restart"
  run lookup delta bravo
  assert_success
  assert_output_contains "Address: $(ip_of bravo a8net)"
  run lookup bravo delta
  assert_success
  assert_output_contains "Address: $(ip_of delta a8net)"
}

@test "DNS keeps working after the daemon is killed with -9 and restarted" {
  local ipa
  ipa=$(ip_of alpha a8net)
  arca_kill9
  arca_start
  run lookup bravo alpha
  assert_success
  assert_output_contains "Address: $ipa"
  run tcp_query bravo web
  assert_success
  assert_output "rcode=0 $ipa"
  run lookup bravo ext.test
  assert_success
  assert_output_contains "Address: 192.0.2.7"
}
