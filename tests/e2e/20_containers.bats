#!/usr/bin/env bats
# Containers through the real docker CLI: run, exit codes, stdin, TTY,
# detached lifecycle, logs, inspect, ps filters and Docker's error texts.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

@test "run --rm echo prints hello, exits 0 and leaves nothing" {
  run docker run --rm busybox echo hello
  assert_success
  assert_output "hello"
  run docker ps -aq
  assert_output ""
  # The container's directories are gone too: removed right after the
  # record, which is what the answer waits for (engine/container.c
  # container_destroy), so give them a moment.
  no_dirs() { [ "$(ls "$ARCA_T/data/containers" | wc -l)" = 0 ]; }
  retry 50 0.1 no_dirs || fail "left: $(ls "$ARCA_T/data/containers")"
  # The rootfs is unmounted with them, after the answer (AutoRemove).
  no_mounts() { ! grep -q " $ARCA_T/data/containers/" /proc/self/mountinfo; }
  retry 50 0.1 no_mounts || fail "mounted: $(grep " $ARCA_T/data/containers/" /proc/self/mountinfo)"
}

@test "exit codes: 3, 127 for a missing binary, 126 for a directory, 137 after kill" {
  run docker run --rm busybox sh -c 'exit 3'
  assert_failure 3
  run -127 docker run --rm busybox /nonexistent
  assert_failure 127
  assert_output_contains "no such file or directory"
  run -126 docker run --rm busybox /etc
  assert_failure 126
  docker run -d --name killme busybox sleep 300
  docker kill killme
  run docker wait killme
  assert_output "137"
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' killme
  assert_output "exited 137"
  docker rm killme
}

@test "SIGTERM: PID 1 without a handler ignores it (as on dockerd); one that handles it reports its own code" {
  docker run -d --name term1 busybox sleep 300
  docker kill -s TERM term1
  sleep 0.5
  run docker inspect -f '{{.State.Running}}' term1
  assert_output "true"
  docker run -d --name term2 busybox sh -c 'trap "exit 7" TERM; while true; do sleep 0.1; done'
  sleep 0.5
  docker kill --signal SIGTERM term2
  run docker wait term2
  assert_output "7"
  docker rm -f term1 term2
}

@test "stdin: echo hi | docker run -i cat" {
  run bash -c 'echo hi | timeout 20 "$DOCKER_BIN" run -i --rm busybox cat'
  assert_success
  assert_output "hi"
}

@test "tty: docker run -t prints a /dev/pts path" {
  run docker run --rm -t busybox tty
  assert_success
  assert_line_matches '^/dev/pts/[0-9]+'
}

@test "docker run busybox with no stdin exits 0 at once" {
  run timeout 10 "$DOCKER_BIN" run busybox
  assert_success
}

@test "stdout and stderr are kept apart" {
  run bash -c '"$DOCKER_BIN" run --rm busybox sh -c "echo out; echo err >&2" 2>/dev/null'
  assert_output "out"
  run bash -c '"$DOCKER_BIN" run --rm busybox sh -c "echo out; echo err >&2" 2>&1 >/dev/null'
  assert_output "err"
}

@test "detached lifecycle: ps, inspect, stop -t, start, restart, wait, rm" {
  run docker run -d --name life busybox sh -c 'echo started; trap "exit 0" TERM; while true; do sleep 0.1; done'
  assert_success
  local id=$output
  [[ $id =~ ^[0-9a-f]{64}$ ]] || fail "not an ID: $id"
  run docker ps --format '{{.Names}} {{.Status}}'
  assert_line_matches '^life Up '
  run docker inspect -f '{{.Name}} {{.State.Running}} {{.Config.Image}} {{.Id}}' life
  assert_output "/life true busybox $id"
  run docker inspect -f '{{.State.StartedAt}}' life
  assert_line_matches '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]+Z$'
  run docker stop -t 5 life
  assert_success
  assert_output "life"
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' life
  assert_output "exited 0"
  run docker ps -a --filter status=exited --format '{{.Names}} {{.Status}}'
  assert_line_matches '^life Exited \(0\) '
  run docker start life
  assert_output "life"
  run docker inspect -f '{{.State.Status}}' life
  assert_output "running"
  run docker restart -t 1 life
  assert_success
  run docker inspect -f '{{.State.Status}}' life
  assert_output "running"
  run docker stop life
  run docker wait life
  assert_output "0"
  run docker rm life
  assert_output "life"
  run docker inspect life
  assert_failure 1
  assert_output_contains "No such object: life"
}

@test "stop of a process that ignores SIGTERM kills it after the timeout" {
  docker run -d --name stubborn busybox sh -c 'trap "" TERM; while true; do sleep 0.1; done'
  sleep 0.3
  run docker stop -t 1 stubborn
  assert_success
  run docker inspect -f '{{.State.ExitCode}}' stubborn
  assert_output "137"
  docker rm stubborn
}

@test "logs: plain, --tail, --timestamps, --since, -f, stderr" {
  docker run -d --name logger busybox sh -c 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2'
  docker wait logger
  run docker logs logger
  assert_success
  assert_output "line1
line2
line3
line4
line5
oops"
  run docker logs --tail 2 logger
  assert_output "line5
oops"
  run bash -c '"$DOCKER_BIN" logs logger 2>/dev/null'
  assert_output "line1
line2
line3
line4
line5"
  run docker logs -t --tail 1 logger
  assert_line_matches '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z oops$'
  run docker logs --since 2099-01-01T00:00:00Z logger
  assert_output ""
  # -f of a stopped container ends at once.
  run timeout 10 "$DOCKER_BIN" logs -f logger
  assert_success
  assert_output_contains "line5"
  # -f of a running one follows until it exits.
  docker run -d --name follower busybox sh -c 'echo a; sleep 1; echo b'
  run timeout 20 "$DOCKER_BIN" logs -f follower
  assert_success
  assert_output "a
b"
  docker rm logger follower
}

@test "tty container logs are raw" {
  docker run -t --name ttylog busybox echo hello-tty
  run docker logs ttylog
  assert_output_contains "hello-tty"
  docker rm ttylog
}

@test "errors: name conflict, rm of a running container, unknown names, bad names" {
  docker run -d --name busy busybox sleep 300
  run docker run --name busy busybox true
  assert_failure 125
  assert_output_contains 'Conflict. The container name "/busy" is already in use by container'
  run docker rm busy
  assert_failure 1
  assert_output_contains 'cannot remove container "/busy": container is running: stop the container before removing or force remove'
  run docker stop nosuch
  assert_failure 1
  assert_output_contains "No such container: nosuch"
  run docker logs nosuch
  assert_failure 1
  assert_output_contains "No such container: nosuch"
  run docker run --name 'bad name' busybox true
  assert_failure 125
  assert_output_contains "Invalid container name (bad name)"
  run docker run --rm nosuchimage true
  assert_failure 125
  run docker kill nosuch
  assert_failure 1
  run docker rm -f busy
  assert_success
  run docker start busy
  assert_failure 1
  assert_output_contains "No such container: busy"
}

@test "start of a running container is a no-op; kill of a stopped one is 409" {
  docker run -d --name twice busybox sleep 300
  run docker start twice
  assert_success
  docker stop -t 0 twice
  run docker kill twice
  assert_failure 1
  assert_output_contains "is not running"
  run docker stop twice
  assert_success
  docker rm twice
}

@test "ps: -a, -q, --filter name/label/status/exited/id/ancestor, -n" {
  docker create --name f-created --label team=a busybox true
  docker run --name f-exited --label team=b busybox sh -c 'exit 2' || true
  docker run -d --name f-running --label team=a busybox sleep 300
  run docker ps --format '{{.Names}}'
  assert_output "f-running"
  run docker ps -a --filter label=team=a --format '{{.Names}}'
  assert_output "f-running
f-created"
  run docker ps -a --filter status=created --format '{{.Names}}'
  assert_output "f-created"
  run docker ps -a --filter exited=2 --format '{{.Names}}'
  assert_output "f-exited"
  run docker ps -a --filter name=f-run --format '{{.Names}}'
  assert_output "f-running"
  run docker ps -a --filter ancestor=busybox --format '{{.Names}}'
  assert_line_matches '^f-created$'
  local id
  id=$(docker inspect -f '{{.Id}}' f-exited)
  run docker ps -a --filter "id=${id:0:12}" --format '{{.Names}}'
  assert_output "f-exited"
  run docker ps -a -n 1 --format '{{.Names}}'
  assert_output "f-running"
  run docker ps -a --filter status=bogus
  assert_failure
  run docker ps -a --format '{{.Names}} {{.Status}}' --filter name=f-created
  assert_output "f-created Created"
  docker rm -f f-created f-exited f-running
}

@test "inspect shape: Name with slash, RFC 3339 times, HostConfig, Config from the image" {
  docker create --name shape -e A=1 -w /tmp -h myhost --stop-signal SIGUSR1 --stop-timeout 3 busybox
  run docker inspect shape
  assert_success
  local j=$output
  assert_equal "$(jq -r '.[0].Name' <<<"$j")" "/shape"
  assert_equal "$(jq -r '.[0].State.Status' <<<"$j")" "created"
  assert_equal "$(jq -r '.[0].State.StartedAt' <<<"$j")" "0001-01-01T00:00:00Z"
  assert_equal "$(jq -r '.[0].Config.Cmd | join(" ")' <<<"$j")" "sh"
  assert_equal "$(jq -r '.[0].Path' <<<"$j")" "sh"
  assert_equal "$(jq -r '.[0].Config.Hostname' <<<"$j")" "myhost"
  assert_equal "$(jq -r '.[0].Config.WorkingDir' <<<"$j")" "/tmp"
  assert_equal "$(jq -r '.[0].Config.StopSignal' <<<"$j")" "SIGUSR1"
  assert_equal "$(jq -r '.[0].Config.StopTimeout' <<<"$j")" "3"
  assert_equal "$(jq -r '.[0].Config.Env | map(select(startswith("A="))) | .[0]' <<<"$j")" "A=1"
  assert_equal "$(jq -r '.[0].Config.Env | map(select(startswith("PATH="))) | length' <<<"$j")" "1"
  # moby's merge order: the user's entries first, then the image's others.
  assert_equal "$(jq -r '.[0].Config.Env[0]' <<<"$j")" "A=1"
  assert_equal "$(jq -r '.[0].HostConfig.RestartPolicy.Name' <<<"$j")" "no"
  jq -e '.[0].Created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]+Z$")' <<<"$j" >/dev/null
  jq -e '.[0].Image | startswith("sha256:")' <<<"$j" >/dev/null
  docker rm shape
}

@test "process settings: env, workdir, user, hostname, entrypoint" {
  run docker run --rm -e FOO=bar -w /tmp -h boxhost busybox sh -c 'echo $FOO $(pwd) $(hostname) $HOME'
  assert_output "bar /tmp boxhost /root"
  run docker run --rm -u 1000 busybox id -u
  assert_output "1000"
  run docker run --rm -u user busybox sh -c 'id -un; echo $HOME'
  assert_output "user
/home/user"
  run docker run --rm --entrypoint echo busybox via-entrypoint
  assert_output "via-entrypoint"
  run docker run --rm -u nosuchuser busybox true
  assert_failure
  assert_output_contains "unable to find user nosuchuser"
}

@test "attach to a running container sees its output" {
  docker run -d --name att busybox sh -c 'sleep 1; echo from-attach; sleep 1'
  run timeout 20 "$DOCKER_BIN" attach att
  assert_success
  assert_output_contains "from-attach"
  docker rm att
}

@test "start -a re-runs the container attached and returns its exit code" {
  docker create --name again busybox sh -c 'echo run-again; exit 4'
  run docker start -a again
  assert_failure 4
  assert_output "run-again"
  docker rm again
}

@test "wait conditions and --rm removal" {
  docker create --name w1 busybox true
  run timeout 10 "$DOCKER_BIN" wait w1
  assert_output "0"
  docker rm w1
  run curl -sS --max-time 5 --unix-socket "$ARCA_T/arca.sock" -X POST 'http://localhost/v1.51/containers/nosuch/wait'
  assert_output_contains "No such container: nosuch"
}

# AutoRemove removes the record and answers wait(removed) while the shim
# deletes the runtime's state; an rm -f in the middle of it must neither
# remove twice (a double free in the daemon) nor answer before it is gone.
@test "--rm: removal answered once durable; rm -f racing AutoRemove removes once" {
  local i ids=() pids=()
  for i in 1 2 3 4 5 6; do
    ids+=("$(docker run -d --rm busybox sh -c 'usleep 50000')")
  done
  for i in "${ids[@]}"; do
    docker rm -f "$i" >/dev/null 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  # an rm -f that met the AutoRemove under way got 409 (moby
  # SetRemovalInProgress) and left it to finish: wait(removed) answers
  # once it has, then the daemon knows none of them
  for i in "${ids[@]}"; do
    run curl -sS --max-time 10 --unix-socket "$ARCA_T/arca.sock" -X POST \
      "http://localhost/v1.51/containers/$i/wait?condition=removed"
    assert_success
  done
  for i in "${ids[@]}"; do
    run docker inspect "$i"
    assert_output_contains "No such object"
  done
  ping_ok || fail "daemon died"
  run docker ps -aq --no-trunc
  for i in "${ids[@]}"; do assert_output_not_contains "$i"; done
  # events: each got exactly one destroy
  # (--until is whole seconds: the next one, so this second's events count)
  run docker events --since 0 --until "$(($(date +%s) + 1))" --filter type=container --filter event=destroy --format '{{.ID}}'
  for i in "${ids[@]}"; do
    [ "$(grep -c "^$i\$" <<<"$output")" = 1 ] || fail "destroy events of $i: $(grep -c "^$i\$" <<<"$output")"
  done
  # the directories follow shortly
  no_dirs() { for i in "${ids[@]}"; do [ ! -e "$ARCA_T/data/containers/$i" ] || return 1; done; }
  retry 50 0.1 no_dirs || fail "left: $(ls "$ARCA_T/data/containers")"
  # docker run --rm itself: gone from ps as soon as it answers
  run docker run --rm --name rm-answer busybox true
  assert_success
  run docker ps -aq --filter name=rm-answer
  assert_output ""
}
