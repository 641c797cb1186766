#!/usr/bin/env bats
# Crash consistency (docs/design.md "Crash consistency"): the daemon is made
# to die with SIGKILL at each named point of a start (ARCA_CRASHPOINT, the
# daemon's fault hook), and after a restart every container is either listed
# running and really running, or listed created with nothing running; start
# and rm -f work on it, and rm -f leaves no process, shim, runtime state or
# mount.  Also dockerd's treatment of a container found dead after a crash
# (moby integration/container TestHardRestartWhenContainerIsRunning).

load helpers

setup_file() {
  arca_setup_file
  load_busybox
}

# shims_of ID: PIDs of this daemon's shims for container ID.
shims_of() {
  pgrep -f "arca-shim --id $1 --bundle $ARCA_T/" || true
}

status_is() { [ "$(docker inspect -f '{{.State.Status}}' "$1")" = "$2" ]; }

# the runtime's own word on ID (crun's or runc's state, whichever has it;
# the daemon may be down)
runc_status() {
  local rt
  for rt in crun runc; do
    [ -d "$ARCA_T/exec/$rt/$1" ] || continue
    rt_cmd "$rt" --root "$ARCA_T/exec/$rt" state "$1" 2>/dev/null | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'
  done
}

# veths on this daemon's bridge
bridge_ports() {
  local br
  br=$(sed -n 's/.*"bridgeName": *"\([^"]*\)".*/\1/p' "$ARCA_T/config.json")
  ls "/sys/class/net/$br/brif" 2>/dev/null | wc -l
}

# assert_nothing_left ID: no shim, runtime state or mount of ID remains.
assert_nothing_left() {
  [ -z "$(shims_of "$1")" ] || fail "shim of $1 left: $(shims_of "$1")"
  [ -z "$(runc_status "$1")" ] || fail "runtime state of $1 left: $(runc_status "$1")"
  ! grep -q "$1" /proc/self/mountinfo || fail "mounts of $1 left: $(grep "$1" /proc/self/mountinfo)"
}

# crash_run POINT NAME: `docker run -d` with the daemon set to die at POINT;
# then restart it normally.
crash_run() {
  arca_stop
  ARCA_CRASHPOINT=$1 arca_start
  local pid
  pid=$(arca_pid)
  run docker run -d --name "$2" -p 80 busybox sleep 300
  assert_failure
  wait_pid_gone "$pid" 10 || fail "daemon did not die at $1"
  rm -f "$ARCA_T/daemon.pid"
  grep -q "ARCA_CRASHPOINT=$1 reached" "$ARCA_T/daemon.log" || fail "crash point $1 not reached"
  arca_start
}

# expect_created NAME: listed created, nothing of it runs, and it starts.
expect_created_then_start() {
  local id
  id=$(docker inspect -f '{{.Id}}' "$1")
  run docker inspect -f '{{.State.Status}} {{.State.Pid}}' "$1"
  assert_output "created 0"
  assert_nothing_left "$id"
  [ "$(bridge_ports)" -eq 0 ] || fail "veths left on the bridge: $(bridge_ports)"
  run docker start "$1"
  assert_success
  run docker inspect -f '{{.State.Status}}' "$1"
  assert_output "running"
  [ "$(runc_status "$id")" = running ] || fail "runtime: $(runc_status "$id")"
  run docker port "$1" 80
  assert_success
  run docker rm -f "$1"
  assert_success
  assert_nothing_left "$id"
}

@test "crash once config.json is written, the shim up with no process: the start is undone, the container is created and starts" {
  crash_run start-prepared cr-prepared
  expect_created_then_start cr-prepared
}

@test "crash after the shim reported ready, before the process runs: undone" {
  crash_run start-shim-spawned cr-spawned
  expect_created_then_start cr-spawned
}

@test "crash after the process runs, before the record says running: killed, created, starts again" {
  crash_run start-ran cr-ran
  expect_created_then_start cr-ran
}

@test "crash right after the record says running: re-adopted, running for real" {
  crash_run start-committed cr-committed
  local id pid
  id=$(docker inspect -f '{{.Id}}' cr-committed)
  run docker inspect -f '{{.State.Status}}' cr-committed
  assert_output "running"
  pid=$(docker inspect -f '{{.State.Pid}}' cr-committed)
  pid_alive "$pid" || fail "container process $pid is not running"
  [ "$(runc_status "$id")" = running ] || fail "runtime: $(runc_status "$id")"
  [ -n "$(shims_of "$id")" ] || fail "no shim"
  run docker rm -f cr-committed
  assert_success
  assert_nothing_left "$id"
  pid_alive "$pid" && fail "process $pid survived rm -f" || true
}

@test "20 parallel runs and a kill -9 mid-way: each ends running for real or created, start and rm -f work on all" {
  local i pids=()
  for i in $(seq 1 20); do
    docker run -d --name par$i -p 80 busybox sleep 300 >/dev/null 2>&1 &
    pids+=($!)
  done
  sleep 0.7
  arca_kill9
  # (not a bare `wait`: the daemon arca_start launched is our child too)
  for i in "${pids[@]}"; do wait "$i" || true; done
  arca_start
  local name id st pid
  for name in $(docker ps -a --format '{{.Names}}' | grep '^par'); do
    id=$(docker inspect -f '{{.Id}}' "$name")
    st=$(docker inspect -f '{{.State.Status}}' "$name")
    case $st in
      running)
        pid=$(docker inspect -f '{{.State.Pid}}' "$name")
        pid_alive "$pid" || fail "$name listed running, process $pid gone"
        [ "$(runc_status "$id")" = running ] || fail "$name: runtime says $(runc_status "$id")"
        ;;
      created)
        [ -z "$(shims_of "$id")" ] || fail "$name created but has a shim"
        [ -z "$(runc_status "$id")" ] || fail "$name created but the runtime has it"
        run docker start "$name"
        assert_success
        ;;
      *)
        docker inspect -f '{{json .State}}' "$name" >&2
        grep "${id:0:12}" "$ARCA_T/daemon.log" | grep -v ' GET ' | tail -20 >&2
        fail "$name is $st"
        ;;
    esac
  done
  for name in $(docker ps -a --format '{{.Names}}' | grep '^par'); do
    id=$(docker inspect -f '{{.Id}}' "$name")
    run docker rm -f "$name"
    assert_success
    assert_nothing_left "$id"
  done
  [ "$(bridge_ports)" -eq 0 ] || fail "veths left on the bridge"
}

# moby TestHardRestartWhenContainerIsRunning: both containers' processes and
# shims die while the daemon is down; the one without a policy is exited
# 255 with FinishedAt set, the one with `always` runs again.
@test "a container found dead after a crash: exit code 255, FinishedAt set, restart policy applied" {
  docker run -d --name hr-none busybox sleep 300
  docker run -d --name hr-always --restart always busybox sleep 300
  local id_none id_always
  id_none=$(docker inspect -f '{{.Id}}' hr-none)
  id_always=$(docker inspect -f '{{.Id}}' hr-always)
  local pids
  pids="$(docker inspect -f '{{.State.Pid}}' hr-none) $(docker inspect -f '{{.State.Pid}}' hr-always)"
  arca_kill9
  kill -KILL $(shims_of "$id_none") $(shims_of "$id_always")
  kill -KILL $pids 2>/dev/null || true
  arca_start
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' hr-none
  assert_output "exited 255"
  run docker inspect -f '{{.State.FinishedAt}}' hr-none
  [[ "$output" != 0001-01-01* ]] || fail "FinishedAt not set: $output"
  retry 50 0.2 status_is hr-always running || fail "hr-always did not come back"
  assert_nothing_left "$id_none"
  docker rm -f hr-none hr-always
  assert_nothing_left "$id_always"
}

# A shim killed while the daemon runs: the container's process, orphaned,
# is killed with the runtime's state, so nothing runs that is listed exited.
@test "a shim killed under a running daemon: exited, and its process does not run on" {
  docker run -d --name sk busybox sleep 300
  local id pid
  id=$(docker inspect -f '{{.Id}}' sk)
  pid=$(docker inspect -f '{{.State.Pid}}' sk)
  kill -KILL $(shims_of "$id")
  retry 50 0.2 status_is sk exited || fail "sk not exited"
  wait_pid_gone "$pid" 10 || fail "process $pid of a container listed exited still runs"
  [ -z "$(runc_status "$id")" ] || fail "runtime state left: $(runc_status "$id")"
  docker rm sk
  assert_nothing_left "$id"
}

# crash_do POINT CMD...: run a docker command with the daemon set to die at
# POINT (the command fails), then restart the daemon normally.
crash_do() {
  local point=$1
  shift
  arca_stop
  ARCA_CRASHPOINT=$point arca_start
  local pid
  pid=$(arca_pid)
  run docker "$@"
  assert_failure
  wait_pid_gone "$pid" 10 || fail "daemon did not die at $point"
  rm -f "$ARCA_T/daemon.pid"
  grep -q "ARCA_CRASHPOINT=$point reached" "$ARCA_T/daemon.log" || fail "crash point $point not reached"
  arca_start
}

container_dirs() { ls "$ARCA_T/data/containers" "$ARCA_T/exec/containers" 2>/dev/null | grep -c '^[0-9a-f]\{64\}$' || true; }

@test "crash in a create before its row: nothing left, the name and the address are free" {
  docker network create --subnet 172.31.77.0/24 crnet
  local before
  before=$(container_dirs)
  crash_do create-before-commit create --name cc --network crnet --ip 172.31.77.10 -p 80 busybox sleep 300
  run docker ps -a --format '{{.Names}}'
  assert_output_not_contains "cc"
  [ "$(container_dirs)" = "$before" ] || fail "container directories left: $(container_dirs) vs $before"
  run docker run -d --name cc --network crnet --ip 172.31.77.10 busybox sleep 300
  assert_success
  run docker inspect -f '{{(index .NetworkSettings.Networks "crnet").IPAddress}}' cc
  assert_output "172.31.77.10"
  docker rm -f cc
  docker network rm crnet
}

@test "crash in rm after the row went: the container and its directories are gone, the name is free" {
  docker create --name crm busybox true
  local id
  id=$(docker inspect -f '{{.Id}}' crm)
  crash_do rm-row-deleted rm crm
  run docker inspect crm
  assert_failure
  [ ! -e "$ARCA_T/data/containers/$id" ] || fail "data dir left"
  run docker create --name crm busybox true
  assert_success
  docker rm crm
}

@test "crash in docker run --rm between the exit's record and the removal: removed at start-up, nothing left" {
  # moby daemon.restore removes AutoRemove containers it finds not running
  local before
  before=$(container_dirs)
  crash_do autoremove-exit-saved run --rm --name crar -p 80 busybox true
  run docker ps -aq --filter name=crar
  assert_output ""
  [ "$(bridge_ports)" -eq 0 ] || fail "veths left on the bridge: $(bridge_ports)"
  ! grep -q "/containers/[0-9a-f]\{64\}/rootfs" /proc/self/mountinfo || fail "rootfs mount left"
  ! grep -q "$ARCA_T/exec/netns/" /proc/self/mountinfo || fail "netns mount left"
  [ "$(container_dirs)" -eq "$before" ] || fail "container directories left: $(container_dirs), $before before"
  [ -z "$(pgrep -f "arca-shim --id [0-9a-f]* --bundle $ARCA_T/")" ] || fail "shim left"
  run docker run --rm --name crar busybox echo again
  assert_success
  assert_output "again"
}

@test "crash in docker run --rm once the row went, before its network namespace: the namespace goes at start-up" {
  # (the namespace's unmount follows the answer: net_container_detach)
  crash_do rm-row-deleted run --rm --name crns busybox true
  run docker ps -aq --filter name=crns
  assert_output ""
  ! grep -q "$ARCA_T/exec/netns/" /proc/self/mountinfo || fail "netns mount left: $(grep "$ARCA_T/exec/netns/" /proc/self/mountinfo)"
  [ -z "$(ls "$ARCA_T/exec/netns")" ] || fail "netns files left: $(ls "$ARCA_T/exec/netns")"
  [ "$(bridge_ports)" -eq 0 ] || fail "veths left on the bridge: $(bridge_ports)"
}

@test "an AutoRemove container created and never started is removed by a restart, as dockerd's" {
  docker create --rm --name crcreated busybox true
  docker create --name crkept busybox true
  arca_restart
  run docker ps -aq --filter name=crcreated
  assert_output ""
  run docker inspect -f '{{.State.Status}}' crkept
  assert_output "created"
  docker rm crkept
}

@test "crash in network connect before the veth: the running container ends disconnected, connect works again" {
  docker network create crnet2
  docker run -d --name ccon busybox sleep 300
  crash_do connect-endpoint-recorded network connect crnet2 ccon
  run docker inspect -f '{{.State.Status}}' ccon
  assert_output "running"
  run docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' ccon
  assert_output "bridge "
  run docker network connect crnet2 ccon
  assert_success
  run docker exec ccon ip -o -4 addr show eth1
  assert_success
  assert_output_contains "$(docker inspect -f '{{(index .NetworkSettings.Networks "crnet2").IPAddress}}' ccon)"
  docker rm -f ccon
  docker network rm crnet2
}

@test "crash in network disconnect after the veth went: the container ends disconnected" {
  docker network create crnet3
  docker run -d --name cdis busybox sleep 300
  docker network connect crnet3 cdis
  crash_do disconnect-veth-deleted network disconnect crnet3 cdis
  run docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' cdis
  assert_output "bridge "
  run docker network rm crnet3
  assert_success
  docker rm -f cdis
}

@test "crash in volume create before its row, and in volume rm after it: no volume, no directory" {
  crash_do volume-create-dir volume create crvol
  run docker volume ls -q
  assert_output_not_contains "crvol"
  [ ! -e "$ARCA_T/data/volumes/crvol" ] || fail "volume directory left"
  docker volume create crvol2
  crash_do volume-rm-row-deleted volume rm crvol2
  run docker volume ls -q
  assert_output_not_contains "crvol2"
  [ ! -e "$ARCA_T/data/volumes/crvol2" ] || fail "volume directory left"
  run docker volume create crvol2
  assert_success
  docker volume rm crvol2
}

# Two removals of one container at once: one removes it, the other is told
# 409 "removal ... already in progress" (or 404 once it is gone), even with
# force (moby daemon/delete.go).  Both answering 204 meant the record was
# destroyed twice (a double free that took the daemon down).
@test "concurrent rm -f of one container: one removes it, the other gets 409 or 404" {
  local i id a b
  for i in 1 2 3 4 5; do
    id=$(docker run -d busybox sleep 300)
    api DELETE "/containers/$id?force=1" -o /dev/null -w '%{http_code}\n' >"$ARCA_T/rm.a" &
    a=$!
    api DELETE "/containers/$id?force=1" -o /dev/null -w '%{http_code}\n' >"$ARCA_T/rm.b" &
    b=$!
    wait "$a" "$b" || true
    run sort "$ARCA_T/rm.a" "$ARCA_T/rm.b"
    [[ "$output" == $'204\n404' || "$output" == $'204\n409' ]] || fail "answers: $output"
    ping_ok || fail "the daemon died"
  done
}

# The soak found it: a restart policy's start cut short after the shim was
# spawned left the row Restarting (running) and a shim with nothing to run,
# re-adopted as running for the 120 s the shim waits for its start.
@test "a policy restart cut short after the shim's spawn: restarted at once, never listed running with nothing in the runtime" {
  docker run -d --name cr-policy --restart always busybox sh -c 'sleep 6'
  local id pid
  id=$(docker inspect -f '{{.Id}}' cr-policy)
  arca_stop
  ARCA_CRASHPOINT=start-shim-spawned arca_start
  pid=$(arca_pid)
  wait_pid_gone "$pid" 60 || fail "the policy restart did not reach the crash point"
  rm -f "$ARCA_T/daemon.pid"
  grep -q "ARCA_CRASHPOINT=start-shim-spawned reached" "$ARCA_T/daemon.log" || fail "crash point not reached"
  arca_start
  grep -q "container ${id:0:12}: its restart was cut short before the process ran" "$ARCA_T/daemon.log" ||
    fail "the unstarted shim was re-adopted"
  runc_running() { [ "$(runc_status "$id")" = running ]; }
  retry 100 0.1 runc_running || fail "not restarted: runtime says '$(runc_status "$id")'"
  run docker inspect -f '{{.State.Running}}' cr-policy
  assert_output "true"
  docker rm -f cr-policy >/dev/null
  assert_nothing_left "$id"
}
