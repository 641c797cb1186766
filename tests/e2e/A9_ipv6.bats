#!/usr/bin/env bats
# IPv6 (issue 13 item 6), checked against dockerd 20.10: --ipv6 user
# networks with an IPv6 subnet (and dockerd's refusal without one),
# dual-stack containers and their inspect fields, --ip6 on run and network
# connect, AuxiliaryAddresses, AAAA answers of the embedded DNS, ip6
# nftables isolation between networks, a published port answering on
# [::1], IPv6 IPAM across a daemon kill -9, cleanup after rm, and the
# default bridge's ipv6 / fixed-cidr-v6 daemon options.
#
# The daemon runs in a network namespace this file creates (a wrapper
# execs it under nsenter), so the IPv6 forwarding dockerd turns on, the
# bridges and the nft table live and die with that namespace; nothing is
# routed off the machine (ULA subnets fd00:a9::/32, no route out).

load helpers
bats_require_minimum_version 1.5.0

VM_DIR=${ARCA_VM_DIR:-/var/cache/arca/vm}

# Private bridge and nft names as helpers.bash makes them, and VM settings
# for the one VM-isolated container (as B0_vm.bats).
arca_net_config() {
  [ -f "$ARCA_T/config.json" ] && return 0
  local r
  r=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  printf '{"bridgeName": "arca-%s", "nftTable": "arca_%s", "vm": {"memory": "128m", "bootTimeout": 400}}\n' \
    "$r" "$r" >"$ARCA_T/config.json"
}

setup_file() {
  A9NS=a9n$$$((RANDOM % 1000))
  export A9NS
  ip netns add "$A9NS"
  nsenter --net="/run/netns/$A9NS" ip link set lo up
  A9DIR=$(mktemp -d /tmp/arca-a9.XXXXXX)
  export A9DIR
  export A9REAL=${ARCA_BIN:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/arca}
  printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' "$A9NS" "$A9REAL" >"$A9DIR/arca"
  chmod 755 "$A9DIR/arca"
  export ARCA_BIN=$A9DIR/arca
  arca_setup_file
  load_busybox
  P=$((20000 + (RANDOM % 400) * 20 + 7))
  export P
}

teardown_file() {
  arca_cleanup
  ip netns del "$A9NS" 2>/dev/null || true
  rm -rf "$A9DIR"
}

teardown() {
  arca_teardown_test
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  docker network prune -f >/dev/null 2>&1 || true
}

in_ns() { nsenter --net="/run/netns/$A9NS" "$@"; }

@test "network create --ipv6 without an IPv6 subnet fails as dockerd, leaving nothing" {
  run docker network create --ipv6 a9none
  assert_failure
  assert_output_contains "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network"
  run docker network ls -q --filter name=a9none
  assert_output ""
  # the status code dockerd answers (404, its NotFound)
  run curl -s -o /dev/null -w '%{http_code}' --unix-socket "$ARCA_T/arca.sock" -XPOST \
    -H 'Content-Type: application/json' -d '{"Name":"a9none","EnableIPv6":true}' http://x/networks/create
  assert_output 404
}

@test "--ipv6 network: inspect and IPAM.Config as dockerd (gateway shown only when given)" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9net
  run docker network inspect -f '{{.EnableIPv6}} {{len .IPAM.Config}} {{(index .IPAM.Config 1).Subnet}} [{{(index .IPAM.Config 1).Gateway}}]' a9net
  assert_output "true 2 fd00:a9:1::/64 []"
  run docker network inspect -f '{{json (index .IPAM.Config 1)}}' a9net
  assert_output '{"Subnet":"fd00:a9:1::/64"}'
  docker network create --ipv6 --subnet fd00:a9:2::/64 --gateway fd00:a9:2::fe --ip-range fd00:a9:2::/80 \
    --aux-address r1=fd00:a9:2::2 a9gw
  run docker network inspect -f '{{json (index .IPAM.Config 1)}}' a9gw
  assert_output '{"Subnet":"fd00:a9:2::/64","IPRange":"fd00:a9:2::/80","Gateway":"fd00:a9:2::fe","AuxiliaryAddresses":{"r1":"fd00:a9:2::2"}}'
  # the bridge carries the gateway and fe80::1 (libnetwork setupBridgeIPv6)
  br=br-$(docker network inspect -f '{{.Id}}' a9gw | cut -c1-12)
  run in_ns ip -6 addr show dev "$br"
  assert_output_contains "fd00:a9:2::fe/64"
  assert_output_contains "fe80::1/64"
  # a v6 pool without --ipv6: kept and shown, EnableIPv6 false (dockerd 20.10)
  docker network create --subnet fd00:a9:3::/64 a9v6off
  run docker network inspect -f '{{.EnableIPv6}} {{(index .IPAM.Config 1).Subnet}}' a9v6off
  assert_output "false fd00:a9:3::/64"
  # overlapping IPv6 pools are refused (403), bad ones too (400)
  run docker network create --ipv6 --subnet fd00:a9:1::/80 a9ovl
  assert_failure
  assert_output_contains "Pool overlaps with other one on this address space"
  run curl -s -w ' %{http_code}' --unix-socket "$ARCA_T/arca.sock" -XPOST -H 'Content-Type: application/json' \
    -d '{"Name":"a9bad","EnableIPv6":true,"IPAM":{"Config":[{"Subnet":"fd00:a9:5::/64","Gateway":"fd00:a9:6::1"}]}}' \
    http://x/networks/create
  assert_output_contains '{"message":"no matching subnet for gateway fd00:a9:6::1"}'
  [[ $output == *" 400" ]] || fail "status: $output"
  run docker network ls -q --filter name=a9ovl --filter name=a9bad
  assert_output ""
}

@test "two containers on an --ipv6 network reach each other by name over IPv6 (AAAA, ping -6)" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9net
  docker run -d --name a9a --network a9net busybox sleep 300
  docker run -d --name a9b --network a9net --network-alias bee busybox sleep 300
  run docker exec a9a ping -6 -c1 -W5 a9b
  assert_success
  assert_output_contains "PING a9b (fd00:a9:1::3)"
  run docker exec a9a ping -6 -c1 -W5 bee
  assert_success
  # the embedded DNS answers AAAA and A for the name and the alias
  run docker exec a9a nslookup -type=AAAA bee 127.0.0.11
  assert_output_contains "Address: fd00:a9:1::3"
  run docker exec a9a nslookup -type=A a9b 127.0.0.11
  assert_output_contains "Address: 172."
  # and the reverse record of the IPv6 address (ip6.arpa), as dockerd
  run docker exec a9a nslookup fd00:a9:1::3 127.0.0.11
  assert_output_contains "name = a9b.a9net"
  # inspect: dockerd's per-network fields; the legacy top-level ones stay
  # empty off the default bridge
  run docker inspect -f '{{with index .NetworkSettings.Networks "a9net"}}{{.GlobalIPv6Address}} {{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}}{{end}} [{{.NetworkSettings.GlobalIPv6Address}}] [{{.NetworkSettings.LinkLocalIPv6Address}}]' a9b
  assert_output "fd00:a9:1::3 64 fd00:a9:1::1 [] []"
  run docker network inspect -f '{{range .Containers}}{{.Name}}={{.IPv6Address}} {{end}}' a9net
  assert_output_contains "a9a=fd00:a9:1::2/64"
  assert_output_contains "a9b=fd00:a9:1::3/64"
  # inside: the address without DAD, the default route via the gateway,
  # /etc/hosts with both addresses (libnetwork)
  run docker exec a9b ip -6 addr show dev eth0
  assert_output_contains "inet6 fd00:a9:1::3/64 scope global"
  run docker exec a9b ip -6 route
  assert_output_contains "default via fd00:a9:1::1 dev eth0"
  run docker exec a9b cat /etc/hosts
  assert_output_contains "fd00:a9:1::3	"
  # the gateway answers too
  run docker exec a9a ping -6 -c1 -W5 fd00:a9:1::1
  assert_success
}

@test "--ip6 on run and on network connect; conflicts and out-of-subnet addresses as dockerd" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 --aux-address r=fd00:a9:1::2 a9net
  docker run -d --name a9s --network a9net --ip6 fd00:a9:1::99 busybox sleep 300
  run docker inspect -f '{{with index .NetworkSettings.Networks "a9net"}}{{json .IPAMConfig}} {{.GlobalIPv6Address}}{{end}}' a9s
  assert_output '{"IPv6Address":"fd00:a9:1::99"} fd00:a9:1::99'
  # the aux address is never handed out: the next one is ::3
  docker run -d --name a9t --network a9net busybox sleep 300
  run docker inspect -f '{{(index .NetworkSettings.Networks "a9net").GlobalIPv6Address}}' a9t
  assert_output "fd00:a9:1::3"
  run docker run -d --name a9dup --network a9net --ip6 fd00:a9:1::99 busybox sleep 300
  assert_failure
  assert_output_contains "Address already in use"
  run docker run -d --name a9out --network a9net --ip6 fd00:a9:9::5 busybox sleep 300
  assert_failure
  assert_output_contains "does not belong to any of this network's subnets"
  # network connect --ip6
  docker network create --ipv6 --subnet fd00:a9:2::/64 a9net2
  docker network connect --ip6 fd00:a9:2::42 a9net2 a9t
  run docker inspect -f '{{with index .NetworkSettings.Networks "a9net2"}}{{json .IPAMConfig}} {{.GlobalIPv6Address}} {{.IPv6Gateway}}{{end}}' a9t
  assert_output '{"IPv6Address":"fd00:a9:2::42"} fd00:a9:2::42 fd00:a9:2::1'
  run docker exec a9t ip -6 addr
  assert_output_contains "fd00:a9:2::42/64"
  # the list (docker ps; net/listview.c) shows inspect's IPv6 fields
  local n
  for n in a9s a9t; do
    run -0 bash -c "curl -sS --unix-socket '$ARCA_T/arca.sock' 'http://localhost/v1.51/containers/json' |
      jq -c '.[] | select(.Names[0] == \"/$n\") | .NetworkSettings.Networks'"
    assert_equal "$output" "$(api GET "/v1.51/containers/$n/json" | jq -c .NetworkSettings.Networks)"
    assert_output_contains '"GlobalIPv6Address":"fd00:a9:'
  done
  # --ip6 on a network without an IPv6 subnet: dockerd's error at start
  docker network create a9v4
  run docker run -d --name a9v4c --network a9v4 --ip6 fd00:a9:7::5 busybox sleep 300
  assert_failure
  assert_output_contains "user specified IP address is supported only when connecting to networks with user configured subnets"
  # and on the default bridge
  run docker run -d --name a9br --ip6 fd00:a9:7::5 busybox sleep 300
  assert_failure
  assert_output_contains "user specified IP address is supported on user defined networks only"
}

@test "a VM-isolated container on an --ipv6 network gets its IPv6 address and route in the guest" {
  command -v qemu-system-x86_64 >/dev/null || skip "VM isolation: qemu-system-x86_64 is not installed"
  [ -s "$VM_DIR/vmlinux" ] || skip "VM isolation: no guest kernel in $VM_DIR"
  export ARCA_DOCKER_TIMEOUT=600
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9net
  docker run -d --name a9n1 --network a9net busybox sleep 600
  run docker run --rm --isolation vm --network a9net busybox sh -c \
    'ip -6 addr show dev eth0; ip -6 route; ping -6 -c1 -W10 a9n1'
  assert_success
  assert_output_contains "inet6 fd00:a9:1::3/64 scope global"
  assert_output_not_contains "tentative"
  assert_output_contains "default via fd00:a9:1::1 dev eth0"
  assert_output_contains "1 packets received"
}

@test "ip6 isolation: no IPv6 between two networks; a container on both reaches both" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9x
  docker network create --ipv6 --subnet fd00:a9:2::/64 a9y
  docker run -d --name a9x1 --network a9x busybox sleep 300
  docker run -d --name a9y1 --network a9y busybox sleep 300
  docker run -d --name a9xy --network a9x busybox sleep 300
  docker network connect a9y a9xy
  y1=$(docker inspect -f '{{(index .NetworkSettings.Networks "a9y").GlobalIPv6Address}}' a9y1)
  [ -n "$y1" ]
  # routed through the host (forwarding on, as dockerd) but dropped by
  # the forward chain
  run in_ns cat /proc/sys/net/ipv6/conf/all/forwarding
  assert_output 1
  run docker exec a9x1 ping -6 -c1 -W2 "$y1"
  assert_failure
  run docker exec a9xy ping -6 -c1 -W5 "$y1"
  assert_success
  run docker exec a9xy ping -6 -c1 -W5 a9x1
  assert_success
  # the rules: direct access and masquerade per IPv6 subnet
  table=$(sed -n 's/.*"nftTable": *"\([^"]*\)".*/\1/p' "$ARCA_T/config.json")
  run in_ns nft list table inet "$table"
  assert_output_contains "ip6 daddr fd00:a9:2::/64 ip6 daddr != fd00:a9:2::1"
  assert_output_contains "ip6 saddr fd00:a9:1::/64 oifname"
}

@test "a published port answers on [::1] (proxy to the container's IPv6 address) and by ip6 DNAT" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9net
  docker run -d --name a9web --network a9net -p "$P:80" busybox sh -c \
    'mkdir -p /www; echo hello6 > /www/index.html; exec httpd -f -p 80 -h /www'
  run docker port a9web 80
  assert_output_contains "[::]:$P"
  local i out=
  for ((i = 0; i < 50; i++)); do
    out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 nsenter --net="/run/netns/$A9NS" busybox nc ::1 "$P" 2>/dev/null) || true
    [[ $out == *hello6* ]] && break
    sleep 0.2
  done
  [[ $out == *hello6* ]] || fail "no answer on [::1]:$P: $out"
  # another local IPv6 address of the host goes through DNAT
  in_ns ip -6 addr add fd00:a9:ff::1/128 dev lo
  out=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 nsenter --net="/run/netns/$A9NS" busybox nc fd00:a9:ff::1 "$P" 2>/dev/null) || true
  in_ns ip -6 addr del fd00:a9:ff::1/128 dev lo
  [[ $out == *hello6* ]] || fail "no answer on [fd00:a9:ff::1]:$P: $out"
  table=$(sed -n 's/.*"nftTable": *"\([^"]*\)".*/\1/p' "$ARCA_T/config.json")
  run in_ns nft list table inet "$table"
  assert_output_contains "tcp dport $P dnat ip6 to [fd00:a9:1::2]:80"
  docker rm -f a9web
  run in_ns nft list table inet "$table"
  assert_output_not_contains "dnat ip6"
}

@test "IPv6 addresses survive a daemon kill -9: kept, never handed out twice" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9net
  docker run -d --name a9k1 --network a9net busybox sleep 600
  docker run -d --name a9k2 --network a9net --ip6 fd00:a9:1::5 busybox sleep 600
  arca_kill9
  arca_start
  run docker inspect -f '{{(index .NetworkSettings.Networks "a9net").GlobalIPv6Address}}' a9k1
  assert_output "fd00:a9:1::2"
  docker run -d --name a9k3 --network a9net busybox sleep 600
  run docker inspect -f '{{(index .NetworkSettings.Networks "a9net").GlobalIPv6Address}}' a9k3
  assert_output "fd00:a9:1::3"
  run docker exec a9k3 ping -6 -c1 -W5 a9k1
  assert_success
  run docker exec a9k3 ping -6 -c1 -W5 a9k2
  assert_success
  run docker exec a9k3 nslookup -type=AAAA a9k2 127.0.0.11
  assert_output_contains "fd00:a9:1::5"
  # stopped and started again: an address again, the requested one kept
  docker stop -t0 a9k2
  docker start a9k2
  run docker inspect -f '{{(index .NetworkSettings.Networks "a9net").GlobalIPv6Address}}' a9k2
  assert_output "fd00:a9:1::5"
}

@test "rm and network rm leave no IPv6 addresses, routes or rules" {
  docker network create --ipv6 --subnet fd00:a9:1::/64 a9net
  docker run -d --name a9c1 --network a9net -p "$((P + 1)):80" busybox sleep 300
  docker run -d --name a9c2 --network a9net busybox sleep 300
  docker rm -f a9c1 a9c2
  # released: the next container gets the first address again
  docker run -d --name a9c3 --network a9net busybox sleep 300
  run docker inspect -f '{{(index .NetworkSettings.Networks "a9net").GlobalIPv6Address}}' a9c3
  assert_output "fd00:a9:1::2"
  docker rm -f a9c3
  docker network rm a9net
  run in_ns ip -6 addr
  assert_output_not_contains "fd00:a9:1::"
  run in_ns ip -6 route
  assert_output_not_contains "fd00:a9:1::"
  table=$(sed -n 's/.*"nftTable": *"\([^"]*\)".*/\1/p' "$ARCA_T/config.json")
  run in_ns nft list table inet "$table"
  assert_output_not_contains "fd00:a9:1::"
  # a stopped container's veth leaves its bridge at once and is deleted
  # right after, off the answer's path (src/net/net.c host_link_retire)
  no_veths() { [ -z "$(in_ns ip -o link show type veth)" ]; }
  retry 50 0.1 no_veths
  run in_ns ip -o link show type veth
  assert_output ""
}

@test "default bridge: config ipv6 + fixed-cidr-v6 as dockerd --ipv6 --fixed-cidr-v6 (MAC-derived addresses)" {
  local cfg=$ARCA_T/config-v6.json
  # ipv6 without a subnet: dockerd's refusal to start
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["ipv6"]=True; json.dump(c, open(sys.argv[2],"w"))' \
    "$ARCA_T/config.json" "$cfg"
  run "$A9REAL" daemon start --socket-path "$ARCA_T/other.sock" --data-root "$ARCA_T/other" \
    --exec-root "$ARCA_T/other-exec" --config "$cfg"
  assert_failure
  assert_output_contains "IPv6 is enabled for the default bridge, but no subnet is configured"
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["ipv6"]=True; c["fixed-cidr-v6"]="fd00:a9:ab::/64"; json.dump(c, open(sys.argv[2],"w"))' \
    "$ARCA_T/config.json" "$cfg"
  arca_restart --config "$cfg"
  run docker network inspect -f '{{.EnableIPv6}} {{json (index .IPAM.Config 1)}}' bridge
  assert_output 'true {"Subnet":"fd00:a9:ab::/64"}'
  docker run -d --name a9d busybox sleep 300
  run docker inspect -f '{{.NetworkSettings.MacAddress}} {{.NetworkSettings.GlobalIPv6Address}} {{.NetworkSettings.GlobalIPv6PrefixLen}} {{.NetworkSettings.IPv6Gateway}}' a9d
  mac=${output%% *}
  local a b c d e f
  IFS=: read -r a b c d e f <<<"$mac"
  want=$(printf 'fd00:a9:ab::%x:%x:%x' $((16#$a$b)) $((16#$c$d)) $((16#$e$f)))
  assert_output "$mac $want 64 fd00:a9:ab::1"
  run docker run --rm busybox ping -6 -c1 -W5 "$want"
  assert_success
  docker rm -f a9d
  arca_restart
  run docker network inspect -f '{{.EnableIPv6}} {{len .IPAM.Config}}' bridge
  assert_output "false 1"
}
