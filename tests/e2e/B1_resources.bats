#!/usr/bin/env bats
# Resources take effect as on dockerd (issue 11): each value is read back in
# the container's cgroup (v1 hierarchy /sys/fs/cgroup/<controller>/arca/<id>,
# or the v2 one) or inside the container; update changes them live.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

teardown() {
  arca_teardown_test
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  # the --cgroup-parent test's parent cgroups (runc makes them, nobody removes them)
  local d
  for d in /sys/fs/cgroup/*/"arca-e2e-parent-$$" "/sys/fs/cgroup/arca-e2e-parent-$$"; do
    [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
  done
}

# cg CONTROLLER FILE ID: the container's cgroup file (v1 or v2 name).
cg() {
  local ctl=$1 file=$2 id=$3
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    cat "/sys/fs/cgroup/arca/$id/$file"
  else
    cat "/sys/fs/cgroup/$ctl/arca/$id/$file"
  fi
}

running() {
  [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ]
}

@test "-m 64m: the cgroup limit is 64 MiB, swap twice that; docker stats shows it" {
  docker run -d --name m1 -m 64m busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' m1)
  run cg memory memory.limit_in_bytes "$id"
  assert_output 67108864
  run cg memory memory.memsw.limit_in_bytes "$id"
  assert_output 134217728
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' m1
  assert_output "67108864 134217728"
  run docker stats --no-stream --format '{{.MemUsage}}' m1
  assert_output_contains "/ 64MiB"
  docker rm -f m1 >/dev/null
}

@test "OOM: a process allocating 200 MB under -m 64m is killed, OOMKilled, exit 137" {
  run docker run --name oom1 -m 64m --memory-swap 64m busybox sh -c 'head -c 200000000 /dev/zero | tail >/dev/null'
  assert_failure 137
  run docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom1
  assert_output "true 137"
  # the next run starts with OOMKilled false again
  docker start oom1 >/dev/null || true
  docker wait oom1 >/dev/null || true
  docker rm -f oom1 >/dev/null
  docker run -d --name oom2 -m 64m busybox true >/dev/null
  docker wait oom2 >/dev/null
  run docker inspect -f '{{.State.OOMKilled}}' oom2
  assert_output false
  docker rm oom2 >/dev/null
}

@test "--cpus, --cpu-shares, --cpuset-cpus, --pids-limit reach the cgroup" {
  docker run -d --name c1 --cpus 0.5 --cpu-shares 512 --cpuset-cpus 0 --pids-limit 10 busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' c1)
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    run cg cpu cpu.max "$id"
    assert_output "50000 100000"
  else
    run cg cpu cpu.cfs_quota_us "$id"
    assert_output 50000
    run cg cpu cpu.cfs_period_us "$id"
    assert_output 100000
    run cg cpu cpu.shares "$id"
    assert_output 512
  fi
  run cg cpuset cpuset.cpus "$id"
  assert_output 0
  run cg pids pids.max "$id"
  assert_output 10
  # inside: the 11th process cannot be made
  run docker exec c1 sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 30 & done 2>&1; wait'
  assert_output_contains "can't fork"
  docker rm -f c1 >/dev/null
}

@test "docker update changes limits live and persists them; a stopped container gets them at start" {
  docker run -d --name u1 -m 64m busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' u1)
  docker update -m 96m --memory-swap 192m --cpus 0.25 --pids-limit 20 u1 >/dev/null
  run cg memory memory.limit_in_bytes "$id"
  assert_output 100663296
  run cg pids pids.max "$id"
  assert_output 20
  run cg cpu cpu.cfs_quota_us "$id"
  assert_output 25000
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}' u1
  assert_output "100663296 250000000 20"
  docker stop -t 0 u1 >/dev/null
  docker update --pids-limit 30 u1 >/dev/null
  docker start u1 >/dev/null
  run cg pids pids.max "$id"
  assert_output 30
  docker rm -f u1 >/dev/null
}

@test "--ulimit and --shm-size are seen inside; --oom-score-adj too" {
  run docker run --rm --ulimit nofile=1024:2048 busybox sh -c 'ulimit -n; ulimit -Hn'
  assert_output "1024
2048"
  run docker run --rm --shm-size 128m busybox df -k /dev/shm
  assert_line_matches '^shm +131072 '
  run docker run --rm --oom-score-adj 500 busybox cat /proc/self/oom_score_adj
  assert_output 500
}

@test "validation and warnings: swap without memory, swappiness range, blkio weight" {
  run docker run --rm --memory-swap 100m busybox true
  assert_failure 125
  assert_output_contains "You should always set the Memory limit when using Memoryswap limit, see usage"
  # (the CLI checks swappiness itself; the daemon's check, through the API)
  run api POST /v1.51/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"Memory":67108864,"MemorySwappiness":101}}' -w '%{http_code}'
  assert_output '{"message":"Invalid value: 101, valid memory swappiness range is 0-100"}
400'
}

@test "--device maps a host device at another path with its permissions; --device-cgroup-rule" {
  run docker run --rm --device /dev/null:/dev/mynull busybox sh -c 'ls -l /dev/mynull; echo hi > /dev/mynull && echo wrote'
  assert_line_matches '^crw-rw-rw- +1 root +root +1, +3 .* /dev/mynull$'
  assert_output_contains wrote
  # the permissions go to the device cgroup: read-only cannot be opened
  # for writing (loop-control is not among the devices every container gets)
  run docker run --rm --device /dev/loop-control:/dev/lc:r busybox sh -c 'echo x > /dev/lc'
  assert_failure
  assert_output_contains "Operation not permitted"
  run docker run --rm --device /dev/loop-control:/dev/lc busybox sh -c 'echo x > /dev/lc'
  assert_output_not_contains "Operation not permitted"
  # a node made inside is usable only with a cgroup rule
  run docker run --rm busybox sh -c 'mknod /tmp/lc c 10 237 && echo x > /tmp/lc'
  assert_output_contains "Operation not permitted"
  run docker run --rm --device-cgroup-rule 'c 10:237 rwm' busybox sh -c 'mknod /tmp/lc c 10 237 && echo x > /tmp/lc'
  assert_output_not_contains "Operation not permitted"
  run docker run --rm --device /nonexistent busybox true
  assert_failure
  assert_output_contains 'error gathering device information while adding custom device "/nonexistent": lstat /nonexistent: no such file or directory'
  # (the CLI checks rules itself; the daemon's check, at start as dockerd)
  api POST '/v1.51/containers/create?name=badrule' -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"DeviceCgroupRules":["x 1:5 rwm"]}}' >/dev/null
  run docker start badrule
  assert_failure
  assert_output_contains "invalid device cgroup rule format: 'x 1:5 rwm'"
  docker rm badrule >/dev/null
}

@test "--gpus is refused as dockerd without a GPU driver" {
  run docker run --rm --gpus all busybox true
  assert_failure
  assert_output_contains 'could not select device driver "" with capabilities: [[gpu]]'
}

@test "--cgroup-parent places the container's cgroup under it; stats and top read it there" {
  parent="arca-e2e-parent-$$"
  docker run -d --name cp1 --cgroup-parent "/$parent" -m 32m busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' cp1)
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    run cat "/sys/fs/cgroup/$parent/$id/memory.max"
  else
    run cat "/sys/fs/cgroup/memory/$parent/$id/memory.limit_in_bytes"
  fi
  assert_output 33554432
  run docker stats --no-stream --format '{{.MemUsage}}' cp1
  assert_output_contains "/ 32MiB"
  run docker top cp1
  assert_output_contains "sleep 300"
  docker rm -f cp1 >/dev/null
  [ ! -d "/sys/fs/cgroup/memory/$parent/$id" ]
}
