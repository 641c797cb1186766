#!/usr/bin/env bats
# Restart policies (no, always, unless-stopped, on-failure[:N]) while the
# daemon runs and across daemon restarts, including kill -9 of the daemon
# (moby restartmanager + daemon.restore; docs/design.md "Restart rules").

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

# state NAME FORMAT: inspect NAME with FORMAT (empty on error).
state() { docker inspect -f "$2" "$1" 2>/dev/null; }

# wait_state NAME FORMAT EXPECTED [SECONDS]: poll (5/s) until inspect NAME
# FORMAT prints EXPECTED; fails with the last value seen.
wait_state() {
  local name=$1 fmt=$2 want=$3 secs=${4:-10} i got=
  for ((i = 0; i < secs * 5; i++)); do
    got=$(state "$name" "$fmt")
    [ "$got" = "$want" ] && return 0
    sleep 0.2
  done
  fail "$name: waited ${secs}s for '$want', last '$got'"
}

# wait_count_at_least NAME N [SECONDS]: RestartCount >= N.
wait_count_at_least() {
  local name=$1 n=$2 secs=${3:-10} i got=
  for ((i = 0; i < secs * 5; i++)); do
    got=$(state "$name" '{{.RestartCount}}')
    [ -n "$got" ] && [ "$got" -ge "$n" ] && return 0
    sleep 0.2
  done
  fail "$name: RestartCount stayed at '$got' (wanted >= $n)"
}

@test "on-failure:2 restarts a failing container twice, then leaves it exited" {
  docker run -d --name of2 --restart on-failure:2 busybox sh -c 'exit 1'
  wait_state of2 '{{.State.Status}} {{.RestartCount}}' 'exited 2' 10
  sleep 1 # no third attempt
  run state of2 '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}} {{.State.Restarting}}'
  assert_output "exited 1 2 false"
  run state of2 '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'
  assert_output "on-failure:2"
  # on-failure does not restart a clean exit.
  docker run -d --name of0 --restart on-failure busybox true
  wait_state of0 '{{.State.Status}}' exited
  sleep 0.5
  run state of0 '{{.RestartCount}} {{.State.Status}}'
  assert_output "0 exited"
  docker rm of2 of0
}

@test "always brings an exited container back and counts restarts" {
  docker run -d --name al --restart always busybox sh -c 'sleep 1; exit 0'
  wait_count_at_least al 2 10
  wait_state al '{{.State.Status}}' running 5
  run docker ps --filter name=al --format '{{.Status}}'
  assert_success
  [[ "$output" == Up* || "$output" == Restarting* ]] || fail "ps status: $output"
  # docker stop keeps it down.
  run docker stop -t 1 al
  assert_success
  local n
  n=$(state al '{{.RestartCount}}')
  sleep 1.5
  run state al '{{.State.Status}} {{.RestartCount}}'
  assert_output "exited $n"
  # docker start gives it a fresh restart manager (RestartCount 0).
  docker start al
  run state al '{{.State.Status}} {{.RestartCount}}'
  assert_output "running 0"
  docker rm -f al
}

@test "a container waiting in the backoff shows Restarting; stop cancels it, rm needs -f" {
  docker run -d --name bo --restart always busybox sh -c 'exit 3'
  docker run -d --name bo2 --restart always busybox sh -c 'exit 2'
  # 100+200+400+800 ms: the 5th wait is 1.6 s, long enough to catch.
  wait_count_at_least bo 5 10
  wait_state bo '{{.State.Status}} {{.State.Running}} {{.State.Restarting}}' 'restarting true true' 5
  run docker ps --filter name=bo --format '{{.Names}} {{.Status}}'
  assert_line_matches '^bo Restarting \(3\) '
  run state bo '{{.State.Pid}} {{.State.ExitCode}}'
  assert_output "0 3"
  run docker stop bo
  assert_success
  run state bo '{{.State.Status}} {{.State.Restarting}} {{.State.ExitCode}}'
  assert_output "exited false 3"
  local n
  n=$(state bo '{{.RestartCount}}')

  wait_count_at_least bo2 5 10
  wait_state bo2 '{{.State.Status}}' restarting 5
  run docker rm bo2
  assert_failure
  assert_output_contains "container is restarting: stop the container before removing or force remove"
  run docker rm -f bo2
  assert_success
  run docker inspect bo2
  assert_failure

  sleep 1.5
  run state bo '{{.State.Status}} {{.RestartCount}}'
  assert_output "exited $n"
  docker rm bo
}

@test "docker kill of an always container keeps it down" {
  docker run -d --name kl --restart always busybox sleep 300
  run docker kill kl
  assert_success
  sleep 1
  run state kl '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}'
  assert_output "exited 137 0"
  docker rm kl
}

@test "update --restart always on a live 'no' container restarts it on its next exit" {
  docker run -d --name up busybox sleep 300
  run docker update --restart always up
  assert_success
  run state up '{{.HostConfig.RestartPolicy.Name}}'
  assert_output "always"
  local pid
  pid=$(state up '{{.State.Pid}}')
  kill -KILL "$pid" # the process dies by itself as far as the daemon knows
  wait_count_at_least up 1 10
  wait_state up '{{.State.Status}}' running 5
  [ "$(state up '{{.State.Pid}}')" != "$pid" ] || fail "same pid after the restart"
  docker rm -f up
}

@test "a process killed from the host restarts under always, not under no" {
  docker run -d --name hk-always --restart always busybox sleep 300
  docker run -d --name hk-no busybox sleep 300
  kill -KILL "$(state hk-always '{{.State.Pid}}')" "$(state hk-no '{{.State.Pid}}')"
  wait_count_at_least hk-always 1 10
  wait_state hk-always '{{.State.Status}}' running 5
  run state hk-no '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}'
  assert_output "exited 137 0"
  docker rm -f hk-always hk-no
}

@test "always: back after a daemon kill -9 when its process died meanwhile" {
  docker run -d --name k9 --restart always busybox sleep 300
  local pid
  pid=$(state k9 '{{.State.Pid}}')
  arca_kill9
  kill -KILL "$pid"
  wait_pid_gone "$pid" 5
  sleep 0.3 # the shim records the exit and goes
  arca_start
  wait_state k9 '{{.State.Status}}' running 10
  [ "$(state k9 '{{.State.Pid}}')" != "$pid" ] || fail "same pid after the restart"
  docker rm -f k9
}

@test "unless-stopped stopped by hand stays down across a daemon restart; always comes back" {
  docker run -d --name us-stopped --restart unless-stopped busybox sleep 300
  docker run -d --name al-stopped --restart always busybox sleep 300
  docker stop -t 1 us-stopped al-stopped
  arca_kill9
  arca_start
  wait_state al-stopped '{{.State.Status}}' running 10
  sleep 0.5
  run state us-stopped '{{.State.Status}}'
  assert_output "exited"
  # and after a clean daemon restart too.
  arca_restart
  sleep 0.5
  run state us-stopped '{{.State.Status}}'
  assert_output "exited"
  docker rm -f us-stopped al-stopped
}

@test "crash test: kill -9 the daemon with every policy running or exiting" {
  # Running, and their processes killed while the daemon is down.
  docker run -d --name c-always --restart always busybox sleep 300
  docker run -d --name c-us --restart unless-stopped busybox sleep 300
  docker run -d --name c-of --restart on-failure busybox sleep 300
  docker run -d --name c-of1 --restart on-failure:1 busybox sleep 300
  docker run -d --name c-no busybox sleep 300
  # Exiting by themselves while the daemon is down (exit 0: always and
  # unless-stopped come back anyway, on-failure does not).
  docker run -d --name e-always --restart always busybox sh -c 'sleep 1; exit 0'
  docker run -d --name e-us --restart unless-stopped busybox sh -c 'sleep 1; exit 0'
  docker run -d --name e-of0 --restart on-failure busybox sh -c 'sleep 1; exit 0'
  docker run -d --name e-of4 --restart on-failure busybox sh -c 'sleep 1; exit 4'
  # Still running through the crash: re-adopted, same process.
  docker run -d --name s-always --restart always busybox sleep 300
  # Stopped by hand before the crash.
  docker run -d --name m-us --restart unless-stopped busybox sleep 300
  docker stop -t 0 m-us
  # In the backoff loop at the time of the crash.
  docker run -d --name b-always --restart always busybox sh -c 'exit 6'
  # on-failure:1 that already used its retry.
  docker run -d --name x-of1 --restart on-failure:1 busybox sh -c 'exit 7'
  wait_state x-of1 '{{.State.Status}} {{.RestartCount}}' 'exited 1' 10

  local n pids=() spid
  for n in c-always c-us c-of c-of1 c-no; do pids+=("$(state "$n" '{{.State.Pid}}')"); done
  spid=$(state s-always '{{.State.Pid}}')

  arca_kill9
  kill -KILL "${pids[@]}"
  sleep 1.5 # e-* exit meanwhile
  arca_start

  # Started again (the looping ones may be in their backoff: Running is
  # true for both running and restarting).
  for n in c-always c-us c-of c-of1 e-always e-us e-of4 b-always s-always; do
    wait_state "$n" '{{.State.Running}}' true 10
  done
  for n in c-always c-us c-of c-of1; do
    run state "$n" '{{.State.Status}} {{.RestartCount}}'
    assert_output "running 0" # a start-up start resets the count, as dockerd
  done
  run state s-always '{{.State.Pid}}'
  assert_output "$spid"
  run state c-no '{{.State.Status}} {{.State.ExitCode}}'
  assert_output "exited 137"
  run state e-of0 '{{.State.Status}} {{.State.ExitCode}}'
  assert_output "exited 0"
  run state m-us '{{.State.Status}}'
  assert_output "exited"
  run state x-of1 '{{.State.Status}} {{.State.ExitCode}}'
  assert_output "exited 7"

  docker rm -f c-always c-us c-of c-of1 c-no e-always e-us e-of0 e-of4 s-always m-us b-always x-of1 >/dev/null
}

@test "AutoRemove with a restart policy is refused" {
  # (the CLI refuses --rm with --restart itself: ask the API)
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"HostConfig":{"AutoRemove":true,"RestartPolicy":{"Name":"always"}}}'
  assert_success
  assert_output_contains "can't create 'AutoRemove' container with restart policy"
}
