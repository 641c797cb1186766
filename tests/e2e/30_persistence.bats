#!/usr/bin/env bats
# Nothing is lost when the daemon is stopped or killed: containers keep
# running under their shims, exits that happen while the daemon is down are
# recorded, names and IDs stay.

load helpers

setup_file() {
  arca_setup_file
  load_busybox
}

@test "kill -9 the daemon: running, exited and exiting-while-down containers survive" {
  docker run -d --name p-run busybox sh -c 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done'
  docker run --name p-exited busybox sh -c 'exit 5' || true
  docker run -d --name p-dies busybox sh -c 'sleep 2; exit 9'
  local id_run id_exited id_dies
  id_run=$(docker inspect -f '{{.Id}}' p-run)
  id_exited=$(docker inspect -f '{{.Id}}' p-exited)
  id_dies=$(docker inspect -f '{{.Id}}' p-dies)

  arca_kill9
  sleep 3 # p-dies exits while the daemon is down
  arca_start

  run docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}'
  assert_success
  assert_line_matches "^$id_run p-run running$"
  assert_line_matches "^$id_exited p-exited exited$"
  assert_line_matches "^$id_dies p-dies exited$"
  run docker inspect -f '{{.State.ExitCode}}' p-exited
  assert_output "5"
  run docker inspect -f '{{.State.ExitCode}}' p-dies
  assert_output "9"

  # The running container's logs continue, and it can be stopped.
  local before after
  before=$(docker logs p-run | wc -l)
  sleep 1
  after=$(docker logs p-run | wc -l)
  [ "$after" -gt "$before" ] || fail "logs did not grow: $before -> $after"
  run docker stop -t 1 p-run
  assert_success
  run docker inspect -f '{{.State.Status}}' p-run
  assert_output "exited"
  docker rm p-run p-exited p-dies
}

@test "a graceful daemon stop leaves containers running; they are re-adopted" {
  docker run -d --name g-run busybox sleep 300
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' g-run)
  arca_stop
  pid_alive "$pid" || fail "container process $pid died with the daemon"
  arca_start
  run docker inspect -f '{{.State.Running}} {{.State.Pid}}' g-run
  assert_output "true $pid"
  run docker kill g-run
  assert_success
  run docker wait g-run
  assert_output "137"
  docker rm g-run
}

@test "a container whose shim vanished is marked exited with 255 (dockerd: no exit status recorded)" {
  docker run -d --name v-run busybox sleep 300
  local pid
  pid=$(docker inspect -f '{{.State.Pid}}' v-run)
  arca_kill9
  # Kill the container and its shim behind the daemon's back.
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/}; p=${p%/cmdline}
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -q "arca-shim.*$ARCA_T"; then
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
  arca_start
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' v-run
  assert_output "exited 255"
  docker rm v-run
}

@test "inspect's Config and HostConfig and ps filters are the same after kill -9, a clean stop and an update" {
  # The record keeps Config and HostConfig as text (bench/README.md
  # "Scale"): what inspect and ps show must not change across restarts.
  docker run -d --name cfg-child busybox sleep 300
  docker run -d --name cfg-run --label tier=web --label empty= -e A=1 -e B='x y' -p 127.0.0.1::80 \
    --expose 90/udp --restart on-failure:3 --memory 64m --sysctl net.ipv4.ip_unprivileged_port_start=10 \
    --log-opt max-size=1m --link cfg-child:kid --stop-signal SIGUSR1 --stop-timeout 7 --dns 192.0.2.1 \
    --tmpfs /scratch:size=1m --health-cmd true --health-interval 1h -u 0:0 -w /tmp -h cfghost \
    busybox sleep 300
  docker create --name cfg-created busybox true
  local before nets
  before=$(docker inspect -f '{{json .Config}} {{json .HostConfig}} {{json .Path}} {{json .Args}}' cfg-run)
  # endpoints (kept for the running, re-adopted; as created for the
  # other): Aliases stays null, as dockerd's, not [] after a restart
  nets=$(docker inspect -f '{{json .NetworkSettings.Networks}}' cfg-child cfg-created)
  assert_equal "$(docker inspect -f '{{json .NetworkSettings.Networks.bridge.Aliases}}' cfg-created)" null
  check() {
    run docker inspect -f '{{json .Config}} {{json .HostConfig}} {{json .Path}} {{json .Args}}' cfg-run
    assert_success
    assert_equal "$output" "$before"
    run -0 docker inspect -f '{{json .NetworkSettings.Networks}}' cfg-child cfg-created
    assert_equal "$output" "$nets"
    run docker ps -a --filter label=tier=web --filter label=empty --format '{{.Names}} {{.Image}} {{.Labels}}'
    assert_output "cfg-run busybox empty=,tier=web"
    run docker ps --filter name=cfg-run --format '{{.Ports}} {{.Networks}}'
    assert_output_contains "90/udp"
    assert_output_contains "127.0.0.1:"
    run docker ps -a --no-trunc --filter name=cfg-child --format '{{.Names}}'
    assert_output "cfg-child,cfg-run/kid"
    run docker inspect -f '{{.Config.StopSignal}} {{.Config.StopTimeout}} {{.HostConfig.RestartPolicy.Name}}' cfg-run
    assert_output "SIGUSR1 7 on-failure"
  }
  check
  arca_kill9
  arca_start
  check
  arca_stop
  arca_start
  check
  # update changes the stored HostConfig, and only what it names
  docker update --memory 96m --memory-swap 192m cfg-run
  before=${before/\"Memory\":67108864/\"Memory\":100663296}
  before=${before/\"MemorySwap\":134217728/\"MemorySwap\":201326592}
  arca_kill9
  arca_start
  check
  run docker exec cfg-run sh -c 'echo $A,$B,$HOSTNAME,$(pwd),$(id -u)'
  assert_output "1,x y,cfghost,/tmp,0"
  docker rm -f cfg-run cfg-child cfg-created
}

@test "images and names survive a restart" {
  docker create --name keepme busybox true
  arca_kill9
  arca_start
  run docker images --format '{{.Repository}}:{{.Tag}}'
  assert_output_contains "busybox:latest"
  run docker create --name keepme busybox true
  assert_failure
  assert_output_contains "is already in use"
  docker rm keepme
}

@test "directories no container record owns are swept at start-up" {
  docker create --name owned busybox true
  local owned_id
  owned_id=$(docker inspect -f '{{.Id}}' owned)
  arca_kill9
  local orphan
  orphan=$(printf 'f%.0s' {1..64})
  mkdir -p "$ARCA_T/data/containers/$orphan/upper" "$ARCA_T/exec/containers/$orphan"
  echo junk >"$ARCA_T/data/containers/$orphan/upper/file"
  arca_start
  [ ! -e "$ARCA_T/data/containers/$orphan" ] || fail "orphan data dir survived"
  [ ! -e "$ARCA_T/exec/containers/$orphan" ] || fail "orphan state dir survived"
  [ -d "$ARCA_T/data/containers/$owned_id" ] || fail "a live container's dir was removed"
  docker rm owned
}

# The /etc files are written without fsync (runtime/spec.h): what a power
# loss can leave of them (empty files) must not reach the container, since
# each start writes them again.
@test "a start writes hostname, hosts and resolv.conf again (empty after a power loss)" {
  id=$(docker create --hostname etchost busybox sh -c 'cat /etc/hostname; grep -c etchost /etc/hosts; grep -c "^nameserver" /etc/resolv.conf')
  dir=$ARCA_T/data/containers/$id
  for f in hostname hosts resolv.conf resolv.conf.hash; do
    [ -f "$dir/$f" ]
    : >"$dir/$f"
  done
  run docker start -a "$id"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = etchost ]
  [ "${lines[1]}" -ge 1 ]
  [ "${lines[2]}" -ge 1 ]
  docker rm "$id" >/dev/null
}
