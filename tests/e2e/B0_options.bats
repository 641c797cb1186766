#!/usr/bin/env bats
# Container options are decoded, checked and refused as dockerd 28 does
# (issue 11): Go's JSON types, case-insensitive keys, unsupported runtimes,
# isolation, platform, storage options and log drivers.  A refused request
# creates nothing.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

# Containers in the daemon and container directories on disk.
count_containers() {
  local n dirs
  n=$(docker ps -aq | wc -l)
  dirs=$(find "$ARCA_T/data/containers" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
  echo "$n $dirs"
}

create_body() {
  api POST /v1.51/containers/create -H 'Content-Type: application/json' -d "$1" -w '%{http_code}'
}

@test "a wrong JSON type is 400 with Go's decoder message; nothing is created" {
  before=$(count_containers)
  run create_body '{"Image":"busybox","HostConfig":{"Memory":"lots"}}'
  assert_output '{"message":"invalid JSON: json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Resources.Memory of type int64"}
400'
  run create_body '{"Image":"busybox","Tty":"yes"}'
  assert_equal "${lines[0]}" '{"message":"invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Config.Tty of type bool"}'
  run create_body '{"Image":"busybox","HostConfig":{"RestartPolicy":{"Name":1}}}'
  assert_equal "${lines[0]}" '{"message":"invalid JSON: json: cannot unmarshal number into Go struct field RestartPolicy.HostConfig.RestartPolicy.Name of type container.RestartPolicyMode"}'
  [ "$(count_containers)" = "$before" ]
}

@test "keys match case-insensitively; the stored config uses dockerd's names" {
  run create_body '{"image":"busybox","cmd":"true","hostconfig":{"memory":67108864,"CPUSHARES":512}}'
  assert_equal "${lines[1]}" '201'
  id=$(echo "${lines[0]}" | sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.CpuShares}} {{.HostConfig.MemorySwap}} {{.Config.Cmd}}' "$id"
  assert_output "67108864 512 134217728 [true]"
  docker rm "$id" >/dev/null
}

@test "update: a wrong JSON type is 400" {
  docker create --name up-type busybox true >/dev/null
  run api POST /v1.51/containers/up-type/update -H 'Content-Type: application/json' -d '{"Memory":"x"}' -w '%{http_code}'
  assert_output '{"message":"invalid JSON: json: cannot unmarshal string into Go struct field UpdateConfig.Resources.Memory of type int64"}
400'
  docker rm up-type >/dev/null
}

@test "--runtime nosuch is refused; a configured runtime is accepted" {
  before=$(count_containers)
  run docker run --rm --runtime nosuch busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: unknown or invalid runtime name: nosuch"
  [ "$(count_containers)" = "$before" ]
  run docker run --rm --runtime runc busybox echo ok
  assert_success
  assert_output "ok"
  # as dockerd, the container records the default runtime's name
  id=$(docker create busybox true)
  run docker inspect -f '{{.HostConfig.Runtime}}' "$id"
  assert_output "$(docker info -f '{{.DefaultRuntime}}')"
  docker rm "$id" >/dev/null
}

@test "--isolation other than default, process or vm is refused as dockerd refuses non-default ones" {
  before=$(count_containers)
  run docker run --rm --isolation hyperv busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: invalid isolation (hyperv): linux supports 'default', 'process' and 'vm'"
  [ "$(count_containers)" = "$before" ]
  run docker run --rm --isolation default busybox echo ok
  assert_success
  assert_output "ok"
}

@test "--platform the image does not match is 404 as dockerd; a matching one runs" {
  before=$(count_containers)
  run docker create --pull never --platform linux/arm64 busybox true
  assert_failure
  assert_output_contains "image with reference busybox was found but its platform (linux/amd64) does not match the specified platform (linux/arm64)"
  run api POST '/v1.51/containers/create?platform=linux/arm64' -H 'Content-Type: application/json' \
    -d '{"Image":"busybox"}' -w '%{http_code}'
  assert_equal "${lines[1]}" '404'
  [ "$(count_containers)" = "$before" ]
  run docker run --rm --platform linux/amd64 busybox echo ok
  assert_success
  assert_output "ok"
}

@test "--storage-opt is refused as dockerd on overlay without xfs quotas" {
  before=$(count_containers)
  run docker run --rm --storage-opt size=1G busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: --storage-opt is supported only for overlay over xfs with 'pquota' mount option"
  run docker create --storage-opt foo=bar busybox true
  assert_failure
  assert_output_contains "Error response from daemon: Unknown option foo"
  [ "$(count_containers)" = "$before" ]
}

@test "an unknown log driver or json-file option is refused" {
  before=$(count_containers)
  run docker run --rm --log-driver nosuch busybox true
  assert_failure 125
  assert_output_contains 'Error response from daemon: error looking up logging plugin nosuch: plugin "nosuch" not found'
  run docker run --rm --log-opt foo=bar busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: unknown log opt 'foo' for json-file log driver"
  [ "$(count_containers)" = "$before" ]
}

@test "resource validation errors and warnings as dockerd" {
  before=$(count_containers)
  run docker run --rm -m 1m busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: Minimum memory limit allowed is 6MB"
  run docker run --rm --cpus 64 busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: range of CPUs is from 0.01 to $(nproc).00, as there are only $(nproc) CPUs available"
  run docker run --rm --cpuset-cpus 99 busybox true
  assert_failure 125
  assert_output_contains "Error response from daemon: Requested CPUs are not available - requested 99, available: "
  run docker run --rm --oom-score-adj 2000 busybox true
  assert_failure 125
  assert_output_contains "Invalid value 2000, range for oom score adj is [-1000, 1000]"
  [ "$(count_containers)" = "$before" ]
  # A warning comes back with the container.
  run create_body '{"Image":"busybox","HostConfig":{"OomKillDisable":true}}'
  assert_output_contains '"Warnings":["OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources."]'
  id=$(echo "${lines[0]}" | sed 's/.*"Id":"\([0-9a-f]*\)".*/\1/')
  docker rm "$id" >/dev/null
}

@test "Config checks at create: relative WorkingDir, empty env names" {
  before=$(count_containers)
  run create_body '{"Image":"busybox","WorkingDir":"rel"}'
  assert_output '{"message":"the working directory '"'"'rel'"'"' is invalid, it needs to be an absolute path"}
400'
  run create_body '{"Image":"busybox","Env":["=foo"]}'
  assert_output '{"message":"invalid environment variable: =foo"}
400'
  [ "$(count_containers)" = "$before" ]
}
