#!/usr/bin/env bats
# docker exec through the real CLI: environment, user, working dir, detached
# execs, stdin, exit codes (incl. 126/127 for a command that cannot run),
# Docker's errors for stopped/paused containers, and the exec inspect shape.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  docker run -d --name ex busybox sleep 100000 >/dev/null
}

@test "exec: HOME, id and pwd as root in /" {
  run docker exec ex sh -c 'echo $HOME; id; pwd'
  assert_success
  assert_output "/root
uid=0(root) gid=0(root) groups=0(root),10(wheel)
/"
}

@test "exec -u 1000 -w /tmp -e A=1: user from the container's passwd, cwd, env" {
  run docker exec -u 1000 -w /tmp -e A=1 ex sh -c 'echo $HOME; id; pwd; echo A=$A'
  assert_success
  assert_output "/home/user
uid=1000(user) gid=1000(user) groups=10(wheel),50(staff),1000(user)
/tmp
A=1"
}

@test "exec environment: container env, HOSTNAME, no TERM without -t, TERM=xterm with -t" {
  docker run -d --name exenv -e FOO=bar -e PATH=/bin:/usr/bin busybox sleep 1000 >/dev/null
  run docker exec exenv env
  assert_success
  assert_output_contains "FOO=bar"
  assert_output_contains "PATH=/bin:/usr/bin"
  assert_output_contains "HOSTNAME=$(docker inspect -f '{{.Config.Hostname}}' exenv)"
  assert_output_not_contains "TERM="
  run docker exec -t exenv env
  assert_output_contains "TERM=xterm"
  run docker exec -e FOO=override exenv sh -c 'echo $FOO'
  assert_output "override"
  docker rm -f exenv >/dev/null
}

@test "exec takes the container's process from process.json, or from config.json without it" {
  docker run -d --name exproc -e FOO=from-start busybox sleep 1000 >/dev/null
  local dir
  dir=$ARCA_T/data/containers/$(docker inspect -f '{{.Id}}' exproc)
  [ -s "$dir/process.json" ] || fail "no process.json"
  grep -q 'FOO=from-start' "$dir/process.json" || fail "process.json lacks the env: $(cat "$dir/process.json")"
  run docker exec exproc sh -c 'echo $FOO'
  assert_success
  assert_output from-start
  # a container an earlier daemon started has only config.json
  rm "$dir/process.json"
  run docker exec exproc sh -c 'echo $FOO'
  assert_success
  assert_output from-start
  docker rm -f exproc >/dev/null
}

@test "exec -d runs in the background; ExecIDs lists it while it runs" {
  run docker exec -d ex sh -c 'echo detached > /tmp/d; sleep 3'
  assert_success
  assert_output ""
  retry 30 0.1 docker exec ex test -f /tmp/d
  run docker exec ex cat /tmp/d
  assert_output "detached"
  run docker inspect -f '{{len .ExecIDs}}' ex
  assert_success
  [ "$output" -ge 1 ]
}

@test "exec: exit code propagates; stdout and stderr are separate" {
  run docker exec ex sh -c 'exit 3'
  assert_failure 3
  run --separate-stderr docker exec ex sh -c 'echo out; echo err >&2'
  assert_success
  assert_output "out"
  assert_equal "$stderr" "err"
}

@test "exec -i feeds stdin and closes it at EOF" {
  run bash -c "printf 'one\ntwo\n' | docker exec -i ex sh -c 'wc -l; echo done'"
  assert_success
  assert_output "2
done"
  # Without -i the process gets no stdin.
  run bash -c "echo ignored | docker exec ex cat"
  assert_success
  assert_output ""
}

@test "exec of a missing binary or a directory: 126 (as dockerd 20.10) and the runtime's message" {
  run -126 docker exec ex /nope
  assert_failure 126
  assert_output_contains 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/nope": stat /nope: no such file or directory: unknown'
  run -126 docker exec ex /tmp
  assert_failure 126
  assert_output_contains "permission denied"
  run -126 docker exec ex nosuchcommand
  assert_failure 126
}

@test "exec -u with an unknown user is refused" {
  run docker exec -u nobodyhere ex true
  assert_failure
  assert_output_contains "unable to find user nobodyhere: no matching entries in passwd file"
}

@test "exec into a stopped container: Docker's message, exit 1" {
  docker create --name exstopped busybox true >/dev/null
  id=$(docker inspect -f '{{.Id}}' exstopped)
  run docker exec exstopped true
  assert_failure 1
  assert_output "Error response from daemon: container $id is not running"
  docker rm exstopped >/dev/null
  run docker exec nosuchcontainer true
  assert_failure 1
  assert_output "Error response from daemon: No such container: nosuchcontainer"
}

@test "exec into a paused container is refused" {
  docker run -d --name expause busybox sleep 1000 >/dev/null
  if ! docker pause expause >/dev/null 2>&1; then
    docker rm -f expause >/dev/null
    skip "pause not implemented"
  fi
  run docker exec expause true
  assert_failure 1
  assert_output "Error response from daemon: Container expause is paused, unpause the container before exec"
  docker unpause expause >/dev/null
  run docker exec expause echo ok
  assert_output "ok"
  docker rm -f expause >/dev/null
}

@test "exec --privileged gets every capability the daemon holds" {
  run docker exec ex sh -c 'grep CapEff /proc/self/status'
  assert_output_contains "00000000a80425fb"
  run docker exec --privileged ex sh -c 'grep CapEff /proc/self/status'
  assert_success
  assert_output_not_contains "00000000a80425fb"
}

@test "exec ends when the container's main process exits (137)" {
  docker run -d --name exdie busybox sleep 1000 >/dev/null
  (sleep 1; docker kill exdie >/dev/null) &
  run -137 docker exec exdie sleep 100
  wait
  assert_failure 137
  run docker inspect -f '{{.State.Running}}' exdie
  assert_output "false"
  docker rm exdie >/dev/null
}

@test "exec API: create, inspect before/after, second start, resize, 404s, missing Cmd" {
  cid=$(docker inspect -f '{{.Id}}' ex)
  run api POST /containers/ex/exec -H 'Content-Type: application/json' \
    -d '{"Cmd":["sh","-c","sleep 1; exit 4"],"AttachStdout":true,"User":"1000","DetachKeys":"ctrl-a"}'
  assert_success
  eid=$(sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p' <<<"$output")
  [ "${#eid}" -eq 64 ]
  run api GET "/exec/$eid/json"
  assert_output_contains '"Running":false'
  assert_output_contains '"ExitCode":null'
  assert_output_contains '"ProcessConfig":{"tty":false,"entrypoint":"sh","arguments":["-c","sleep 1; exit 4"],"privileged":false,"user":"1000"}'
  assert_output_contains "\"ContainerID\":\"$cid\""
  assert_output_contains '"OpenStdout":true'
  assert_output_contains '"OpenStdin":false'
  assert_output_contains '"DetachKeys":"AQ=="'
  assert_output_contains '"Pid":0'
  run api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true}' -o /dev/null -w '%{http_code}'
  assert_output "200"
  run api GET "/exec/$eid/json"
  assert_output_contains '"Running":true'
  run api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
  assert_output "{\"message\":\"exec command $eid is already running\"}"
  run api POST "/exec/$eid/resize?h=10&w=20" -o /dev/null -w '%{http_code}'
  assert_output "200"
  sleep 1.5
  run api GET "/exec/$eid/json"
  assert_output_contains '"Running":false'
  assert_output_contains '"ExitCode":4'
  run api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{"Detach":true}'
  assert_output "{\"message\":\"exec command $eid has already run\"}"
  run api GET /exec/nosuchexec/json
  assert_output '{"message":"No such exec instance: nosuchexec"}'
  run api POST /exec/nosuchexec/start -H 'Content-Type: application/json' -d '{"Detach":true}' -o /dev/null -w '%{http_code}'
  assert_output "404"
  run api POST /containers/ex/exec -H 'Content-Type: application/json' -d '{"AttachStdout":true}'
  assert_output '{"message":"No exec command specified"}'
}

@test "exec records go away with their container" {
  docker run -d --name exgone busybox sleep 1000 >/dev/null
  run api POST /containers/exgone/exec -H 'Content-Type: application/json' -d '{"Cmd":["true"]}'
  eid=$(sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p' <<<"$output")
  docker rm -f exgone >/dev/null
  run api GET "/exec/$eid/json"
  assert_output "{\"message\":\"No such exec instance: $eid\"}"
}
