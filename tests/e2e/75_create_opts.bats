#!/usr/bin/env bats
# Create options that are plain process settings, as dockerd 20.10 behaves:
# --init, --entrypoint, -w, -u, --env-file, --label/--label-file, -h,
# --domainname, --stop-signal, --stop-timeout, --read-only, --group-add.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

@test "--init runs the command under /sbin/docker-init" {
  run docker run --rm --init busybox ps -o pid,args
  assert_success
  assert_line_matches '^ +1 /sbin/docker-init -- ps -o pid,args$'
  run docker run --rm --init busybox ls -l /sbin/docker-init
  assert_line_matches '^-r.xr.xr.x .* /sbin/docker-init$'
  run docker inspect -f '{{.HostConfig.Init}}' "$(docker create --init busybox)"
  assert_output "true"
  # A read-only root still gets its init.
  run docker run --rm --init --read-only busybox true
  assert_success
}

@test "--init: kill -s TERM of sleep exits 143 (128 + SIGTERM)" {
  docker run -d --name i1 --init busybox sleep 300
  retry 50 0.1 bash -c '[ "$(docker inspect -f {{.State.Running}} i1)" = true ]'
  docker kill -s TERM i1
  run docker wait i1
  assert_output "143"
  docker rm i1
}

@test "--entrypoint replaces, --entrypoint '' clears the image's" {
  run docker run --rm --entrypoint echo busybox hi there
  assert_output "hi there"
  run docker run --rm --entrypoint '' busybox echo hi
  assert_output "hi"
  id=$(docker create --entrypoint '' busybox echo x)
  run docker inspect -f '{{json .Config.Entrypoint}} {{.Path}}' "$id"
  assert_output_contains "echo"
  docker rm "$id"
}

@test "-w creates a missing working directory (root owned, 0755); relative is refused" {
  run docker run --rm -w /a/b/c -u 1000:1000 busybox sh -c 'pwd; ls -ld /a/b/c; id'
  assert_success
  assert_line_matches '^/a/b/c$'
  assert_line_matches '^drwxr-xr-x +[0-9]+ root +root .* /a/b/c$'
  assert_line_matches '^uid=1000\(user\) gid=1000\(user\)'
  run docker run --rm -w rel busybox pwd
  assert_failure
  assert_output_contains "the working directory 'rel' is invalid, it needs to be an absolute path"
}

@test "-u name and uid, --group-add" {
  run docker run --rm -u nobody busybox id
  assert_output "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"
  run docker run --rm --group-add 10 --group-add 2000 busybox id
  assert_output "uid=0(root) gid=0(root) groups=0(root),10(wheel),2000"
  run docker run --rm --group-add nosuchgroup busybox id
  assert_failure
  assert_output_contains "Unable to find group nosuchgroup: no matching entries in group file"
}

@test "--env-file: comments skipped, bare names taken from the client's environment" {
  printf 'A=1\n# comment\nB\nC=x y\n' >"$ARCA_T/envf"
  B=frombash run docker run --rm --env-file "$ARCA_T/envf" busybox env
  assert_line_matches '^A=1$'
  assert_line_matches '^B=frombash$'
  assert_line_matches '^C=x y$'
  assert_output_not_contains "comment"
}

@test "--label and --label-file" {
  printf 'l1=v1\n' >"$ARCA_T/lf"
  docker create --name l1 --label a=b --label-file "$ARCA_T/lf" busybox
  run docker inspect -f '{{json .Config.Labels}}' l1
  assert_output '{"a":"b","l1":"v1"}'
  run docker ps -a --filter label=l1=v1 --format '{{.Names}}'
  assert_output "l1"
  docker rm l1
}

@test "-h and --domainname" {
  run docker run --rm -h myhost --domainname example.com busybox sh -c \
    'hostname; cat /etc/hostname; cat /proc/sys/kernel/domainname; echo $HOSTNAME'
  assert_output "myhost
myhost
example.com
myhost"
}

@test "--stop-signal is what docker stop sends" {
  docker run -d --name trap --stop-signal USR1 busybox sh -c 'trap "exit 5" USR1; while true; do sleep 0.1; done'
  run docker inspect -f '{{.Config.StopSignal}}' trap
  assert_output "USR1"
  sleep 0.5
  docker stop trap
  run docker wait trap
  assert_output "5"
  docker rm trap
}

@test "--stop-timeout bounds docker stop" {
  docker run -d --name st --stop-timeout 1 busybox sleep 300
  run docker inspect -f '{{.Config.StopTimeout}}' st
  assert_output "1"
  sleep 0.3
  start=$(date +%s%N)
  docker stop st
  elapsed=$((($(date +%s%N) - start) / 1000000))
  [ "$elapsed" -lt 5000 ] || fail "stop took ${elapsed} ms"
  [ "$elapsed" -ge 900 ] || fail "stop took only ${elapsed} ms"
  run docker wait st
  assert_output "137"
  docker rm st
}

@test "--read-only: the root and /tmp refuse writes, /dev/shm takes them" {
  run docker run --rm --read-only busybox sh -c 'touch /x; touch /tmp/x; touch /dev/shm/x && echo shm ok'
  assert_success
  assert_output_contains "touch: /x: Read-only file system"
  assert_output_contains "touch: /tmp/x: Read-only file system"
  assert_output_contains "shm ok"
}

@test "the container-wide MacAddress: the endpoint's before API 1.44, moved with dockerd's warning after" {
  local body id
  # API 1.41 (compose 1.29's): Config.MacAddress is the default network's address
  body='{"Image":"busybox","Cmd":["sleep","300"],"MacAddress":"02:42:ac:11:00:99","HostConfig":{"NetworkMode":"default"}}'
  run api POST /v1.41/containers/create?name=mac1 -H 'Content-Type: application/json' -d "$body"
  assert_success
  docker start mac1 >/dev/null
  run docker inspect -f '{{.NetworkSettings.Networks.bridge.MacAddress}}' mac1
  assert_output "02:42:ac:11:00:99"
  run docker exec mac1 cat /sys/class/net/eth0/address
  assert_output "02:42:ac:11:00:99"
  # ... and refused where there is no endpoint of the container's own
  body='{"Image":"busybox","MacAddress":"02:42:ac:11:00:98","HostConfig":{"NetworkMode":"host"}}'
  run api POST /v1.41/containers/create -H 'Content-Type: application/json' -d "$body"
  assert_output_contains "conflicting options: mac-address and the network mode"
  # API 1.51: deprecated, moved to the endpoint with a warning
  body='{"Image":"busybox","Cmd":["sleep","300"],"MacAddress":"02:42:ac:11:00:97"}'
  run api POST /v1.51/containers/create?name=mac2 -H 'Content-Type: application/json' -d "$body"
  assert_output_contains "The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead."
  docker start mac2 >/dev/null
  run docker inspect -f '{{.NetworkSettings.Networks.bridge.MacAddress}}' mac2
  assert_output "02:42:ac:11:00:97"
  # ... and refused when it contradicts the endpoint's
  body='{"Image":"busybox","MacAddress":"02:42:ac:11:00:96","HostConfig":{"NetworkMode":"bridge"},"NetworkingConfig":{"EndpointsConfig":{"bridge":{"MacAddress":"02:42:ac:11:00:95"}}}}'
  run api POST /v1.51/containers/create -H 'Content-Type: application/json' -d "$body"
  assert_output_contains "the container-wide MAC address must match the endpoint-specific MAC address"
  run docker ps -aq --filter name=^mac
  [ "$(echo "$output" | wc -l)" -eq 2 ] || fail "refused creates left containers: $output"
  docker rm -f mac1 mac2 >/dev/null
}
