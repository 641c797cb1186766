#!/usr/bin/env bats
# Compatibility gaps found by docker-py's integration suite (issue 13):
# swarm endpoints off a swarm, exec framing by the start request, attach
# logs without stream, endpoint settings (links, driver options, link-local
# IPs, MAC before start, aux addresses), legacy links, create that does not
# make the CLI pull, network prune until, name filters as regular
# expressions, stats networks, docker cp into volumes, load/import edge
# cases.  Expected values were taken from dockerd 20.10 (Debian docker.io)
# run side by side.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

teardown_file() {
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  docker network rm b6n b6aux b6re1 xb6re nosuchnet >/dev/null 2>&1 || true
  docker volume rm b6v >/dev/null 2>&1 || true
  arca_cleanup
}

# header_of FILE: the first 8 bytes as hex (a stdcopy frame header)
header_of() { od -An -tx1 -N8 "$1" | tr -d ' \n'; }

@test "swarm endpoints answer 503 with dockerd's messages" {
  run -1 docker swarm leave
  assert_output_contains "This node is not part of a swarm"
  run -1 docker service ls
  assert_output_contains 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.'
  run -1 docker node ls
  assert_output_contains "This node is not a swarm manager."
  run -1 docker secret ls
  assert_output_contains "This node is not a swarm manager."
  run -0 api GET /swarm -o /dev/null -w '%{http_code}'
  assert_output 503
  run -0 api POST /swarm/leave?force=1 -o /dev/null -w '%{http_code}'
  assert_output 503
  run -0 api GET /tasks -o /dev/null -w '%{http_code}'
  assert_output 503
  run -1 docker swarm init
  assert_output_contains "Arca does not support swarm mode"
}

@test "exec output is framed by the start request's Tty, not the exec's" {
  docker run -d --name b6ex busybox sleep 300
  # exec with a TTY, started without: stdout frames (moby postContainerExecStart)
  id=$(api POST /containers/b6ex/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["printf","hi"],"Tty":true,"AttachStdout":true}' | sed 's/.*"Id":"\([^"]*\)".*/\1/')
  api POST "/exec/$id/start" -H 'Content-Type: application/json' -d '{"Tty":false}' \
    -H 'Connection: Upgrade' -H 'Upgrade: tcp' -o "$BATS_TEST_TMPDIR/out"
  assert_equal "$(header_of "$BATS_TEST_TMPDIR/out")" 0100000000000002
  # exec without a TTY, started with one: raw bytes
  id=$(api POST /containers/b6ex/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["printf","hi"],"AttachStdout":true}' | sed 's/.*"Id":"\([^"]*\)".*/\1/')
  api POST "/exec/$id/start" -H 'Content-Type: application/json' -d '{"Tty":true}' \
    -H 'Connection: Upgrade' -H 'Upgrade: tcp' -o "$BATS_TEST_TMPDIR/raw"
  assert_equal "$(cat "$BATS_TEST_TMPDIR/raw")" hi
}

@test "exec create decodes keys as Go (detachKeys) and exec failures exit 126" {
  docker run -d --name b6ek busybox sleep 300
  id=$(api POST /containers/b6ek/exec -H 'Content-Type: application/json' \
    -d '{"cmd":["cat"],"tty":true,"detachKeys":"ctrl-p"}' | sed 's/.*"Id":"\([^"]*\)".*/\1/')
  run -0 api GET "/exec/$id/json"
  assert_output_contains '"DetachKeys":"EA=="'
  assert_output_contains '"tty":true'
  run -126 docker exec b6ek nosuchcommand
  assert_output_contains 'executable file not found'
}

@test "attach with logs=1 and no stream sends the log and ends" {
  docker run --name b6at busybox echo hello
  api POST '/containers/b6at/attach?logs=1&stream=0&stdout=1&stderr=1' \
    -H 'Connection: Upgrade' -H 'Upgrade: tcp' -o "$BATS_TEST_TMPDIR/att"
  assert_equal "$(header_of "$BATS_TEST_TMPDIR/att")" 0100000000000006
  assert_equal "$(tail -c 6 "$BATS_TEST_TMPDIR/att")" hello
  # neither logs nor stream: nothing, at once
  # (curl calls a 101 without a byte after it an "empty reply": exit 52)
  run api POST '/containers/b6at/attach?stdout=1' -H 'Connection: Upgrade' -H 'Upgrade: tcp' \
    -o "$BATS_TEST_TMPDIR/none" -D "$BATS_TEST_TMPDIR/head"
  grep -q '^HTTP/1.1 101' "$BATS_TEST_TMPDIR/head"
  [ ! -s "$BATS_TEST_TMPDIR/none" ]
}

@test "legacy links: hosts entry, environment, inspect, Names, rm --link" {
  docker run -d --name b6la -e FOO=1 --expose 80 busybox sleep 300
  run -0 docker run --rm --link b6la:al busybox sh -c 'ping -c1 -W2 al >/dev/null && env | sort && grep al /etc/hosts'
  ip=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' b6la)
  assert_output_contains "AL_ENV_FOO=1"
  assert_output_contains "AL_PORT=tcp://$ip:80"
  assert_output_contains "AL_PORT_80_TCP_ADDR=$ip"
  assert_output_contains "AL_PORT_80_TCP_PROTO=tcp"
  assert_output_contains "$ip	al "
  assert_output_contains " b6la"
  [[ "$output" =~ AL_NAME=/[a-z_]+/al ]]
  docker run -d --name b6lp --link b6la:al2 busybox sleep 300
  run -0 docker inspect -f '{{json .HostConfig.Links}}' b6lp
  assert_output '["/b6la:/b6lp/al2"]'
  run -0 api GET '/containers/json?filters=%7B%22name%22%3A%5B%22b6la%22%5D%7D'
  assert_output_contains '"/b6lp/al2"'
  run -0 docker rm --link b6lp/al2
  run -0 docker inspect -f '{{json .HostConfig.Links}}' b6lp
  assert_output 'null'
  # a link to a missing container is a 400 (no pull)
  run -125 docker run --link nosuch:x busybox true
  assert_output_contains "could not get container for nosuch: No such container: nosuch"
  assert_output_not_contains "Unable to find image"
}

@test "create with a missing network or container: target fails at start, without a pull" {
  run -125 docker run --name b6nonet --network nosuchnet busybox true
  assert_output_contains "network nosuchnet not found"
  assert_output_not_contains "Unable to find image"
  run -0 docker inspect -f '{{.State.Status}}' b6nonet
  assert_output created
  # once the network exists the container starts on it
  docker network create nosuchnet >/dev/null
  run -0 docker start -a b6nonet
  run -0 docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' b6nonet
  assert_output nosuchnet
  docker rm b6nonet
  docker network rm nosuchnet
  run -125 docker run --network container:nosuch busybox true
  assert_output_contains "No such container: nosuch"
  assert_output_not_contains "Unable to find image"
  # pid/ipc container: targets and volumes-from are checked at create: 400
  run -125 docker run --ipc container:nosuch busybox true
  assert_output_contains "No such container: nosuch"
  assert_output_not_contains "Unable to find image"
  run -125 docker run --pid container:nosuch busybox true
  assert_output_contains "No such container: nosuch"
  run -0 api POST /containers/create -H 'Content-Type: application/json' -w ' %{http_code}' \
    -d '{"Image":"busybox","HostConfig":{"VolumesFrom":["nosuch"]}}'
  assert_output_contains ' 400'
  # HostConfig.VolumeDriver applies to Binds' named volumes: 404 as dockerd
  run -0 api POST /containers/create -H 'Content-Type: application/json' -w ' %{http_code}' \
    -d '{"Image":"busybox","HostConfig":{"VolumeDriver":"nosuchdrv","Binds":["b6vd:/v"]}}'
  assert_output_contains 'create b6vd: error looking up volume plugin nosuchdrv: plugin \"nosuchdrv\" not found'
  assert_output_contains ' 404'
  run -1 docker volume inspect b6vd
}

@test "endpoint settings: MAC before start, driver options, link-local IPs, links on a user network" {
  docker network create b6n >/dev/null
  docker create --name b6m --network b6n --mac-address 02:42:ac:11:00:0a busybox sleep 300
  run -0 docker inspect -f '{{(index .NetworkSettings.Networks "b6n").MacAddress}}' b6m
  assert_output 02:42:ac:11:00:0a
  docker start b6m
  run -0 docker exec b6m cat /sys/class/net/eth0/address
  assert_output 02:42:ac:11:00:0a
  docker create --name b6d busybox sleep 300
  docker network connect --driver-opt com.example.k=v --link-local-ip 169.254.8.8 b6n b6d
  run -0 docker inspect -f '{{json (index .NetworkSettings.Networks "b6n").DriverOpts}} {{json (index .NetworkSettings.Networks "b6n").IPAMConfig}}' b6d
  assert_output '{"com.example.k":"v"} {"LinkLocalIPs":["169.254.8.8"]}'
  docker start b6d
  run -0 docker exec b6d ip -4 addr show
  assert_output_contains "169.254.8.8/16"
  run -1 docker network connect --link-local-ip 10.1.1.1 b6n b6la
  assert_output_contains "invalid link local IP address: 10.1.1.1"
  # --link on a user network: the alias resolves for this container only
  run -0 docker run --rm --network b6n --link b6m:upstream busybox ping -c1 -W2 upstream
  run -1 docker run --rm --network b6n busybox ping -c1 -W2 upstream
}

@test "IPAM aux addresses are reserved and shown" {
  docker network create --subnet 10.213.0.0/24 --ip-range 10.213.0.0/30 \
    --aux-address a=10.213.0.1 --aux-address b=10.213.0.2 b6aux >/dev/null
  run -0 docker network inspect -f '{{json (index .IPAM.Config 0).AuxiliaryAddresses}}' b6aux
  assert_output '{"a":"10.213.0.1","b":"10.213.0.2"}'
  # the range is .0-.3: .0 network, .1 .2 reserved -> .3 is the only one
  docker run -d --name b6x1 --network b6aux busybox sleep 300
  run -0 docker inspect -f '{{(index .NetworkSettings.Networks "b6aux").IPAddress}}' b6x1
  assert_output 10.213.0.3
  # the CLI checks this itself; the API answers as dockerd 20.10 (403, 500)
  run -0 api POST /networks/create -H 'Content-Type: application/json' -w ' %{http_code}' \
    -d '{"Name":"b6bad","IPAM":{"Config":[{"Subnet":"10.214.0.0/24","AuxiliaryAddresses":{"a":"10.9.9.9"}}]}}'
  assert_output_contains '{"message":"auxiliary address: (a:10.9.9.9) must belong to the master pool: 10.214.0.0/24"}'
  assert_output_contains ' 403'
  run -0 api POST /networks/create -H 'Content-Type: application/json' -w ' %{http_code}' \
    -d '{"Name":"b6bad","IPAM":{"Config":[{"Subnet":"10.214.0.0/24","AuxiliaryAddresses":{"a":"x"}}]}}'
  assert_output_contains '{"message":"non parsable secondary ip address (a:x) passed for network b6bad"}'
  assert_output_contains ' 500'
  run -1 docker network inspect b6bad
  docker rm -f b6x1
  docker network rm b6aux
}

@test "network prune honours until; name filters are regular expressions" {
  docker network create b6re1 >/dev/null
  docker network create xb6re >/dev/null
  run -0 docker network prune -f --filter until=1h
  assert_output_not_contains b6re1
  run -0 docker network ls --filter 'name=^b6re' --format '{{.Name}}'
  assert_output b6re1
  run -0 docker network ls --filter 'name=b6re' --format '{{.Name}}'
  assert_output_contains xb6re
  docker create --name b6r12 busybox true >/dev/null
  docker create --name b6r1x busybox true >/dev/null
  run -0 docker ps -a --filter 'name=^/b6r[0-9]+$' --format '{{.Names}}'
  assert_output b6r12
  docker volume create b6v >/dev/null
  run -0 docker volume ls -q --filter 'name=^b6.$'
  assert_output b6v
  docker rm b6r12 b6r1x
  docker network rm b6re1 xb6re
}

@test "stats carry the container's network counters" {
  docker run -d --name b6st busybox sleep 300
  docker exec b6st ping -c2 -W2 "$(docker inspect -f '{{.NetworkSettings.Gateway}}' b6st)" >/dev/null
  run -0 api GET '/containers/b6st/stats?stream=false'
  echo "$output" | jq -e '.networks.eth0.rx_bytes > 0 and .networks.eth0.tx_packets >= 2 and (.networks | has("lo") | not)'
  docker run -d --name b6sth --network none busybox sleep 300
  run -0 api GET '/containers/b6sth/stats?stream=false'
  echo "$output" | jq -e 'has("networks") | not'
}

@test "docker cp reaches volumes and binds of never-started, stopped and running containers" {
  echo data > "$BATS_TEST_TMPDIR/f"
  docker create --name b6cn -v /vol1 busybox cat /vol1/f
  docker cp "$BATS_TEST_TMPDIR/f" b6cn:/vol1/f
  run -0 docker start -a b6cn
  assert_output data
  # stopped: read back, the mount point itself by its own name
  run -0 sh -c "docker cp b6cn:/vol1 - | tar -t"
  assert_output "vol1/
vol1/f"
  docker run -d --name b6cr -v /vol2 busybox sleep 300
  docker cp "$BATS_TEST_TMPDIR/f" b6cr:/vol2/g
  run -0 docker exec b6cr cat /vol2/g
  assert_output data
  mkdir -p "$BATS_TEST_TMPDIR/ro"
  docker create --name b6cro -v "$BATS_TEST_TMPDIR/ro:/ro:ro" busybox true
  run -1 docker cp "$BATS_TEST_TMPDIR/f" b6cro:/ro/
  assert_output_contains "mounted volume is marked read-only"
  [ ! -e "$BATS_TEST_TMPDIR/ro/f" ]
}

@test "load of a non-tar reports the error in the stream; import of nothing makes an empty image" {
  run -0 sh -c "echo abc | curl -sS --unix-socket '$ARCA_T/arca.sock' -X POST -H 'Content-Type: application/x-tar' --data-binary @- -w ' %{http_code}' http://localhost/images/load"
  assert_output_contains '"errorDetail":{"message":'
  assert_output_contains ' 200'
  run -1 sh -c 'echo abc | docker load'
  assert_output_contains "invalid tar archive"
  run -0 sh -c "printf '' | docker import - b6empty:1"
  run -0 docker image inspect -f '{{len .RootFS.Layers}} {{.Size}}' b6empty:1
  assert_output "1 0"
  docker rmi b6empty:1
}

@test "a nameless volume is anonymous and pruned; API < 1.45 lists the short ID in Aliases" {
  name=$(api POST /volumes/create -H 'Content-Type: application/json' -d '{}' | jq -r .Name)
  run -0 docker volume inspect -f '{{json .Labels}}' "$name"
  assert_output '{"com.docker.volume.anonymous":""}'
  run -0 docker volume prune -f
  assert_output_contains "$name"
  docker network create b6n >/dev/null 2>&1 || true
  id=$(docker create --network b6n --network-alias hello busybox true)
  run -0 sh -c "curl -sS --unix-socket '$ARCA_T/arca.sock' http://localhost/v1.44/containers/$id/json | jq -c '.NetworkSettings.Networks.b6n.Aliases'"
  assert_output "[\"hello\",\"${id:0:12}\"]"
  run -0 sh -c "curl -sS --unix-socket '$ARCA_T/arca.sock' http://localhost/v1.45/containers/$id/json | jq -c '.NetworkSettings.Networks.b6n.Aliases'"
  assert_output '["hello"]'
  docker rm "$id"
}
