#!/usr/bin/env bats
# Bridge networks (issue 5, core): network create/ls/inspect/rm/prune, the
# default bridge, container addresses, isolation between networks,
# --internal, live connect/disconnect, kill -9 restart keeping addresses,
# and no leftover bridges/veths/netns.  Traffic stays inside the
# namespaces and bridges the test's daemon creates.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  BR=$(sed -n 's/.*"bridgeName": *"\([^"]*\)".*/\1/p' "$ARCA_T/config.json")
  export BR
}

teardown_file() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  docker network rm a0n1 a0n2 a0int a0x a0multi a0reuse >/dev/null 2>&1 || true
  arca_cleanup
  # nothing of ours left on the host
  [ ! -e "/sys/class/net/$BR" ] || fail "bridge $BR left behind"
}

ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

@test "builtin networks are listed and cannot be removed" {
  run -0 docker network ls --format '{{.Name}} {{.Driver}}'
  assert_output_contains "bridge bridge"
  assert_output_contains "host host"
  assert_output_contains "none null"
  run -1 docker network rm bridge
  assert_output_contains "bridge is a pre-defined network and cannot be removed"
  run -0 docker network inspect -f '{{.Options}}' bridge
  assert_output_contains "com.docker.network.bridge.name:$BR"
  [ -e "/sys/class/net/$BR" ]
}

@test "network create, inspect, ls filters, rm" {
  run -0 docker network create --subnet 10.231.0.0/24 --gateway 10.231.0.254 --label a0=yes a0x
  id=$output
  [[ $id =~ ^[0-9a-f]{64}$ ]]
  run -0 docker network inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Labels}}' a0x
  assert_output "a0x bridge local 10.231.0.0/24 10.231.0.254 map[a0:yes]"
  run -0 docker network inspect -f '{{.Id}}' "${id:0:10}"
  assert_output "$id"
  run -0 docker network ls --filter label=a0=yes --format '{{.Name}}'
  assert_output "a0x"
  run -0 docker network ls --filter type=custom --format '{{.Name}}'
  assert_output "a0x"
  run -1 docker network create a0x
  assert_output_contains "network with name a0x already exists"
  [ -e "/sys/class/net/br-${id:0:12}" ]
  run -0 docker network rm a0x
  [ ! -e "/sys/class/net/br-${id:0:12}" ]
  run -1 docker network inspect a0x
  assert_output_contains "network a0x not found"
}

@test "a second subnet of one family is refused as dockerd's bridge driver refuses it; nothing is created" {
  # dockerd 20.10.24 (libnetwork bridge processIPAM): 403 for two IPv4 or
  # two IPv6 IPAM.Config entries, CLI "Error response from daemon: bridge
  # driver doesn't support multiple subnets", exit 1, no network.
  run -1 docker network create --subnet 10.91.0.0/24 --subnet 10.92.0.0/24 a0multi
  assert_output "Error response from daemon: bridge driver doesn't support multiple subnets"
  run -1 docker network create --ipv6 --subnet 10.91.0.0/24 --subnet fd00:91::/64 --subnet fd00:92::/64 a0multi
  assert_output "Error response from daemon: bridge driver doesn't support multiple subnets"
  # a bridge name of our own, so that "no bridge" is this daemon's alone
  # (other daemons on the host come and go)
  run -0 api POST /networks/create -H 'Content-Type: application/json' -o /dev/null -w '%{http_code}' \
    -d '{"Name":"a0multi","Options":{"com.docker.network.bridge.name":"a0multi0"},
         "IPAM":{"Config":[{"Subnet":"10.91.0.0/24"},{"Subnet":"10.92.0.0/24"}]}}'
  assert_output "403"
  run -0 docker network ls -q --filter name=a0multi
  assert_output ""
  [ ! -e /sys/class/net/a0multi0 ]
  # each family once is fine: the subnets are the network's
  run -0 docker network create --ipv6 --subnet 10.91.0.0/24 --subnet fd00:91::/64 a0multi
  run -0 docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' a0multi
  assert_output "10.91.0.0/24 fd00:91::/64 "
  run -0 docker network rm a0multi
}

@test "default bridge: address, route, /etc/hosts, inspect" {
  run -0 docker run -d --name a0d busybox sleep 300
  run -0 docker inspect -f '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.HostConfig.NetworkMode}}' a0d
  read -r ip gw mode <<<"$output"
  [[ $ip =~ ^[0-9.]+$ ]] && [[ $gw =~ ^[0-9.]+$ ]]
  [ "$mode" = bridge ]
  run -0 docker exec a0d ip -4 addr show eth0
  assert_output_contains "inet $ip/"
  run -0 docker exec a0d ip route
  assert_output_contains "default via $gw dev eth0"
  run -0 docker exec a0d cat /etc/hosts
  assert_output_contains "$ip"
  run -0 docker exec a0d ping -c1 -W2 "$gw"
  run -0 docker network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}' bridge
  assert_output_contains "a0d $ip/"
  run -0 docker rm -f a0d
}

@test "two containers on a user network reach each other; other networks cannot" {
  docker network create a0n1 >/dev/null
  docker network create a0n2 >/dev/null
  docker run -d --name a0a --network a0n1 busybox sleep 300
  docker run -d --name a0b --network a0n1 --network-alias bee busybox sleep 300
  docker run -d --name a0c --network a0n2 busybox sleep 300
  ipb=$(ip_of a0b a0n1)
  ipc=$(ip_of a0c a0n2)
  [ -n "$ipb" ] && [ -n "$ipc" ]
  run -0 docker exec a0a ping -c1 -W2 "$ipb"
  if docker exec a0a cat /etc/resolv.conf | grep -q 127.0.0.11; then
    run -0 docker exec a0a ping -c1 -W2 a0b
    run -0 docker exec a0a ping -c1 -W2 bee
  fi
  run -1 docker exec a0a ping -c1 -W1 "$ipc"
  run -0 docker inspect -f '{{(index .NetworkSettings.Networks "a0n1").Aliases}}' a0b
  assert_output_contains bee
  run -1 docker network rm a0n1
  assert_output_contains "has active endpoints"
}

@test "--internal network has no route out" {
  docker network create --internal a0int >/dev/null
  docker run -d --name a0i --network a0int busybox sleep 300
  run -0 docker exec a0i ip route
  assert_output_not_contains default
  gw=$(docker network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' bridge)
  run -1 docker exec a0i ping -c1 -W1 "$gw"
}

@test "network connect gives eth1, disconnect removes it" {
  run -0 docker network connect --alias second a0n2 a0a
  run -0 docker exec a0a ip -4 addr show eth1
  ip2=$(ip_of a0a a0n2)
  assert_output_contains "inet $ip2/"
  run -0 docker exec a0a ping -c1 -W2 "$(ip_of a0c a0n2)"
  run -0 docker network disconnect a0n2 a0a
  run -1 docker exec a0a ip addr show eth1
  run -0 docker inspect -f '{{len .NetworkSettings.Networks}}' a0a
  assert_output 1
}

@test "kill -9 daemon restart keeps addresses; new containers get fresh ones" {
  ipa=$(ip_of a0a a0n1)
  ipb=$(ip_of a0b a0n1)
  before=$(docker network ls --format '{{.ID}} {{.Name}}' | sort)
  arca_kill9
  arca_start
  run -0 ip_of a0a a0n1
  assert_output "$ipa"
  run -0 docker exec a0a ping -c1 -W2 "$ipb"
  docker run -d --name a0e --network a0n1 busybox sleep 300
  ipe=$(ip_of a0e a0n1)
  [ -n "$ipe" ] && [ "$ipe" != "$ipa" ] && [ "$ipe" != "$ipb" ]
  run -0 docker exec a0e ping -c1 -W2 "$ipa"
  after=$(docker network ls --format '{{.ID}} {{.Name}}' | sort)
  assert_equal "$after" "$before"
}

@test "stop and start at once, five times: each start gets a working namespace, each stop's goes" {
  # an exit unmounts the netns after its answer (net_container_detach); a
  # start waits for that
  docker run -d --name a0s busybox sleep 300
  local id i
  id=$(docker inspect -f '{{.Id}}' a0s)
  for i in 1 2 3 4 5; do
    docker stop -t 0 a0s >/dev/null
    docker start a0s >/dev/null
    [ -e "$ARCA_T/exec/netns/$id" ] || fail "start $i: no netns"
    run -0 docker exec a0s ping -c1 -W2 "$(docker inspect -f '{{.NetworkSettings.Gateway}}' a0s)"
  done
  docker stop -t 0 a0s >/dev/null
  retry 50 0.1 test ! -e "$ARCA_T/exec/netns/$id" || fail "netns left after stop"
  ! grep -q "$ARCA_T/exec/netns/$id" /proc/self/mountinfo || fail "netns mount left after stop"
  docker rm a0s >/dev/null
}

@test "an address given again right after its container exits answers at once" {
  # The exit disables the old veth's bridge port (it is deleted a few ms
  # later) and drops the bridge's entry for its MAC, which comes back with
  # the address; the new container, IPv6 off, sends nothing before it is
  # asked.
  docker network create --subnet 172.29.99.0/28 a0reuse >/dev/null
  local i j out
  for i in 1 2 3; do
    # the bridge and the host learn the address's MAC on this port
    docker run --rm --network a0reuse --ip 172.29.99.5 busybox ping -c1 -W2 172.29.99.1 >/dev/null
    docker run -d --name a0srv --network a0reuse --ip 172.29.99.5 \
      --sysctl net.ipv6.conf.all.disable_ipv6=1 --sysctl net.ipv6.conf.default.disable_ipv6=1 busybox sh -c \
      'mkdir -p /www; echo hello > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null
    out=""
    for ((j = 0; j < 15; j++)); do
      out=$(curl -s --max-time 1 http://172.29.99.5/ 2>/dev/null) && [ -n "$out" ] && break
      sleep 0.1
    done
    docker rm -f a0srv >/dev/null
    [ "$out" = hello ] || fail "round $i: the new container did not answer within ~2 s"
  done
  docker network rm a0reuse >/dev/null
}

@test "stop removes veths; rm and prune clean up" {
  id=$(docker inspect -f '{{.Id}}' a0e)
  docker rm -f a0a a0b a0c a0e a0i >/dev/null
  [ ! -e "$ARCA_T/exec/netns/$id" ]
  run -0 docker network prune -f
  assert_output_contains a0n1
  run -0 docker network ls --format '{{.Name}}'
  assert_output_not_contains a0n
  # only the default bridge is left, with no ports
  run -0 ls "/sys/class/net/$BR/brif"
  assert_output ""
}
