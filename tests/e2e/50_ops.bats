#!/usr/bin/env bats
# Container operations through the real docker CLI: top, stats, pause and
# unpause, rename, update, port, container prune, and that pause and rename
# survive a daemon restart.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

# The container's cgroup directory for a controller (v1) or the unified one.
cgroup_dir() {
  local id controller=$2
  id=$(docker inspect -f '{{.Id}}' "$1")
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo "/sys/fs/cgroup/arca/$id"
  else
    echo "/sys/fs/cgroup/$controller/arca/$id"
  fi
}

@test "top lists the container's processes, with and without ps args" {
  docker run -d --name top1 busybox sh -c 'sleep 300 & sleep 301; echo done'
  # the shell forks its two children right after the start: wait for them
  # (a loaded machine may take a while)
  local i
  for ((i = 0; i < 50; i++)); do
    [ "$(docker top top1 | grep -c 'sleep 30[01]$')" -eq 2 ] && break
    sleep 0.1
  done
  run docker top top1
  assert_success
  assert_line_matches '^UID +PID +PPID +C +STIME +TTY +TIME +CMD'
  assert_output_contains "sleep 300"
  assert_output_contains "sleep 301"
  assert_output_contains "sh -c sleep 300 & sleep 301; echo done"
  # Only the container's processes: 3 rows plus the header.
  [ "$(wc -l <<<"$output")" -eq 4 ] || fail "unexpected rows: $output"

  run docker top top1 -o pid,comm
  assert_success
  assert_line_matches '^PID +COMMAND'
  assert_line_matches '^[0-9]+ +sleep'
  assert_line_matches '^[0-9]+ +sh'

  # The PIDs are host PIDs of the container's cgroup.
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' top1)
  run docker top top1 -o pid
  assert_line_matches "^$pid\$"

  run docker top top1 -o bogus
  assert_failure
  assert_output_contains 'ps: error: unknown user-defined format specifier "bogus"'

  docker rm -f top1
  docker create --name top2 busybox true
  run docker top top2
  assert_failure
  assert_output_contains "is not running"
  docker rm top2
}

@test "stats --no-stream reports memory, pids and CPU of a running container" {
  docker run -d --name st1 busybox sh -c 'while true; do :; done'
  # Non-zero memory, a limit (the host's memory), one process, busy CPU; on
  # a machine loaded by other work a sample can catch the loop starved: up
  # to 5 samples for the CPU figure.
  local i busy=0
  for ((i = 0; i < 5 && busy == 0; i++)); do
    run docker stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}} {{.CPUPerc}}' st1
    assert_success
    [[ "$output" =~ ^st1\ ([0-9.]+)(B|KiB|MiB)\ /\ [0-9.]+(GiB|MiB|TiB)\ 1\ ([0-9.]+)%$ ]] || fail "unexpected: $output"
    [ "${BASH_REMATCH[1]}" != 0 ] && [ "${BASH_REMATCH[1]}" != 0.00 ] || fail "zero memory: $output"
    awk -v c="${BASH_REMATCH[4]}" 'BEGIN { exit !(c > 10) }' && busy=1
  done
  [ "$busy" = 1 ] || fail "CPU too low for a busy loop: $output"

  run docker stats --no-stream --format '{{.MemUsage}}' st1
  assert_success
  assert_line_matches '^[0-9.]+(B|KiB|MiB) / '

  # The API shape the CLI computes from.
  run api GET "/containers/st1/stats?stream=false"
  assert_success
  run jq -r '[.name, (.memory_stats.usage > 0), (.cpu_stats.online_cpus > 0),
              (.cpu_stats.system_cpu_usage > .precpu_stats.system_cpu_usage),
              (.cpu_stats.cpu_usage.total_usage >= .precpu_stats.cpu_usage.total_usage),
              (.preread != "0001-01-01T00:00:00Z"), .pids_stats.current] | join(" ")' <<<"$output"
  assert_output "/st1 true true true true true 1"

  # one-shot: at once, no previous sample.
  run api GET "/containers/st1/stats?stream=false&one-shot=true"
  run jq -r '.preread + " " + (.precpu_stats.cpu_usage.total_usage|tostring)' <<<"$output"
  assert_output "0001-01-01T00:00:00Z 0"

  # Streaming: one object per second, chained.
  run bash -c "timeout 2.5 curl -sS --unix-socket '$ARCA_T/arca.sock' http://localhost/containers/st1/stats"
  [ "$(grep -c '"read"' <<<"$output")" -ge 2 ] || fail "expected >= 2 objects: $output"

  docker rm -f st1
  docker create --name st2 busybox true
  run api GET "/containers/st2/stats?stream=false"
  run jq -r '.read + " " + .name + " " + (.memory_stats|length|tostring)' <<<"$output"
  assert_output "0001-01-01T00:00:00Z /st2 0"
  docker rm st2
}

@test "pause stops a container's output, unpause resumes it" {
  docker run -d --name pz1 busybox sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'
  sleep 0.5
  run docker pause pz1
  assert_success
  assert_output "pz1"
  run docker inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' pz1
  assert_output "paused true true"
  run docker ps --format '{{.Names}} {{.Status}}'
  assert_line_matches '^pz1 Up .* \(Paused\)$'
  # The freezer cgroup says so too (v1).
  if [ -d /sys/fs/cgroup/freezer ]; then
    run cat "$(cgroup_dir pz1 freezer)/freezer.state"
    assert_output "FROZEN"
  fi

  local a b c
  a=$(docker logs pz1 | wc -l)
  sleep 1.5
  b=$(docker logs pz1 | wc -l)
  [ "$a" -eq "$b" ] || fail "output went on while paused: $a -> $b"

  run docker pause pz1
  assert_failure
  assert_output_contains "is already paused"

  run docker unpause pz1
  assert_success
  assert_output "pz1"
  sleep 1
  c=$(docker logs pz1 | wc -l)
  [ "$c" -gt "$b" ] || fail "output did not resume: $b -> $c"
  run docker inspect -f '{{.State.Status}} {{.State.Paused}}' pz1
  assert_output "running false"

  run docker unpause pz1
  assert_failure
  assert_output_contains "is not paused"

  # top works on a paused container; start refuses.
  docker pause pz1
  run docker top pz1 -o pid,comm
  assert_success
  run docker start pz1
  assert_failure
  assert_output_contains "cannot start a paused container, try unpause instead"
  docker unpause pz1
  docker rm -f pz1

  docker create --name pz2 busybox true
  run docker pause pz2
  assert_failure
  assert_output_contains "is not running"
  run docker unpause pz2
  assert_failure
  assert_output_contains "is not paused"
  docker rm pz2
}

@test "stop, kill and rm -f of a paused container" {
  docker run -d --name pk1 busybox sleep 300
  docker pause pk1
  run timeout 20 docker stop -t 1 pk1
  assert_success
  run docker inspect -f '{{.State.Status}} {{.State.Paused}}' pk1
  assert_output "exited false"

  docker start pk1
  docker pause pk1
  run timeout 20 docker kill pk1
  assert_success
  run docker inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.ExitCode}}' pk1
  assert_output "exited false 137"

  docker start pk1
  docker pause pk1
  run docker rm pk1
  assert_failure
  run timeout 20 docker rm -f pk1
  assert_success
  run docker ps -aq --filter name=pk1
  assert_output ""
}

@test "rename: new name, conflicts and invalid names" {
  docker create --name rn1 busybox true
  docker create --name rn2 busybox true
  local id
  id=$(docker inspect -f '{{.Id}}' rn1)
  run docker rename rn1 rn3
  assert_success
  run docker inspect -f '{{.Name}} {{.Id}}' rn3
  assert_output "/rn3 $id"
  run docker inspect rn1
  assert_failure

  run docker rename rn3 rn2
  assert_failure
  assert_output_contains "Error when allocating new name: Conflict. The container name \"/rn2\" is already in use by container"
  run docker rename rn3 rn3
  assert_failure
  assert_output_contains "Renaming a container with the same name as its current name"
  run docker rename rn3 'b@d'
  assert_failure
  assert_output_contains "Error when allocating new name: Invalid container name (/b@d), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
  run docker rename nope rn9
  assert_failure
  assert_output_contains "No such container: nope"

  # The old name is free again.
  run docker create --name rn1 busybox true
  assert_success
  docker rm rn1 rn2 rn3
}

@test "update: restart policy and resources, applied live" {
  docker run -d --name up1 busybox sleep 300
  run docker update --restart on-failure:3 up1
  assert_success
  assert_output "up1"
  run docker inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' up1
  assert_output "on-failure 3"

  run docker update --restart bogus up1
  assert_failure
  assert_output_contains "invalid restart policy"
  run docker update --restart always:2 up1
  assert_failure
  assert_output_contains "maximum retry count can only be used with 'on-failure'"

  # Memory without swap is refused as dockerd does; with swap it applies.
  run docker update --memory 64m up1
  assert_failure
  assert_output_contains "Memory limit should be smaller than already set memoryswap limit"
  run docker update --memory 64m --memory-swap 128m up1
  assert_success
  run docker inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' up1
  assert_output "67108864 134217728"
  local dir
  dir=$(cgroup_dir up1 memory)
  if [ -f "$dir/memory.limit_in_bytes" ]; then
    run cat "$dir/memory.limit_in_bytes"
  else
    run cat "$dir/memory.max"
  fi
  assert_output "67108864"
  run docker stats --no-stream --format '{{.MemUsage}}' up1
  assert_line_matches ' / 64MiB$'

  run docker update --pids-limit 50 up1
  assert_success
  run cat "$(cgroup_dir up1 pids)/pids.max"
  assert_output "50"

  run docker update --memory 1k up1
  assert_failure
  assert_output_contains "Minimum memory limit allowed is 6MB"

  # A stopped container keeps the settings for its next start.
  docker rm -f up1
  docker create --name up2 busybox true
  run docker update --restart always up2
  assert_success
  run docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' up2
  assert_output "always"
  docker rm up2

  docker run -d --rm --name up3 busybox sleep 300
  run docker update --restart always up3
  assert_failure
  assert_output_contains "Restart policy cannot be updated because AutoRemove is enabled for the container"
  docker rm -f up3
}

@test "port prints nothing for a container without published ports" {
  docker run -d --name po1 busybox sleep 300
  run docker port po1
  assert_success
  assert_output ""
  run docker inspect -f '{{json .NetworkSettings.Ports}}' po1
  assert_output "{}"
  docker rm -f po1
}

@test "container prune removes stopped containers, honouring filters" {
  docker run -d --name pr-run busybox sleep 300
  docker create --name pr-keep --label keep=1 busybox true
  docker run --name pr-exited busybox sh -c 'echo data > /big'
  docker create --name pr-created busybox true
  local id_exited id_created
  id_exited=$(docker inspect -f '{{.Id}}' pr-exited)
  id_created=$(docker inspect -f '{{.Id}}' pr-created)

  run api POST "/containers/prune?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D"
  assert_output_contains "invalid filter 'bogus'"

  run docker container prune -f --filter 'label!=keep'
  assert_success
  assert_output_contains "Deleted Containers:"
  assert_output_contains "$id_exited"
  assert_output_contains "$id_created"
  assert_output_contains "Total reclaimed space: 5B" # /big: "data\n" (engine/df.c container_rw_size)
  run docker ps -a --format '{{.Names}}'
  assert_line_matches '^pr-run$'
  assert_line_matches '^pr-keep$'
  assert_output_not_contains "pr-exited"

  run api POST "/containers/prune?filters=%7B%22label%22%3A%7B%22nomatch%22%3Atrue%7D%7D"
  assert_output '{"ContainersDeleted":null,"SpaceReclaimed":0}'

  run docker container prune -f
  assert_success
  run docker ps -a --format '{{.Names}}'
  assert_line_matches '^pr-run$'
  assert_output_not_contains "pr-keep"
  docker rm -f pr-run
}

@test "pause and rename survive a daemon restart" {
  docker run -d --name sv1 busybox sh -c 'while true; do echo x; sleep 0.2; done'
  docker rename sv1 sv2
  docker pause sv2
  arca_restart
  run docker inspect -f '{{.Name}} {{.State.Status}} {{.State.Paused}}' sv2
  assert_success
  assert_output "/sv2 paused true"
  local a b
  a=$(docker logs sv2 | wc -l)
  sleep 1
  b=$(docker logs sv2 | wc -l)
  [ "$a" -eq "$b" ] || fail "output went on while paused: $a -> $b"
  run docker unpause sv2
  assert_success
  sleep 1
  b=$(docker logs sv2 | wc -l)
  [ "$b" -gt "$a" ] || fail "output did not resume"

  # kill -9 too.
  docker pause sv2
  arca_kill9
  arca_start
  run docker inspect -f '{{.State.Status}}' sv2
  assert_output "paused"
  run timeout 20 docker rm -f sv2
  assert_success
}
