#!/usr/bin/env bats
# docker diff, docker export and docker commit through the real docker CLI,
# as dockerd behaves (changes from the writable layer, whole-filesystem tar,
# a new image from the writable layer with --change).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

@test "diff: nothing for a fresh container" {
  docker run --name d0 busybox true
  run docker diff d0
  assert_success
  assert_output ""
  docker rm d0
}

@test "diff: added, modified and deleted paths (stopped container)" {
  docker run --name d1 busybox sh -c 'mkdir -p /tmp/new && echo x > /tmp/new/f && echo y >> /etc/passwd && rm /bin/ls'
  # dockerd's order is its walk's (map order); compare as a set.
  run bash -c "docker diff d1 | LC_ALL=C sort -k2"
  assert_success
  assert_output "C /bin
D /bin/ls
C /etc
C /etc/passwd
C /tmp
A /tmp/new
A /tmp/new/f"
  docker rm d1
}

@test "diff: running container, API Kind values" {
  docker run -d --name d2 busybox sh -c 'touch /added; sleep 300'
  retry 50 0.1 bash -c '[ -n "$(docker diff d2)" ]'
  run docker diff d2
  assert_output "A /added"
  run api GET /containers/d2/changes
  assert_output '[{"Path":"/added","Kind":1}]'
  docker rm -f d2
}

@test "diff: unknown container" {
  run docker diff nope
  assert_failure
  assert_output_contains "No such container: nope"
}

@test "export | tar t lists the whole filesystem" {
  docker run --name e1 busybox sh -c 'echo hi > /hello.txt; rm /bin/ls'
  run bash -c "docker export e1 | tar t"
  assert_success
  assert_line_matches '^hello\.txt$'
  assert_line_matches '^bin/sh$'
  assert_line_matches '^etc/$'
  assert_output_not_contains '.wh.'
  run bash -c "docker export e1 | tar t | grep -cx 'bin/ls'"
  assert_output "0"
  run bash -c "docker export e1 | tar xO hello.txt"
  assert_output "hi"
  # Export of a running container, and -o.
  docker run -d --name e2 busybox sleep 300
  docker export -o "$ARCA_T/e2.tar" e2
  run tar tf "$ARCA_T/e2.tar"
  assert_line_matches '^bin/busybox$'
  docker rm -f e1 e2
}

@test "commit: new image runs with the committed files" {
  docker run --name c1 busybox sh -c 'echo committed > /data.txt; rm /bin/ls'
  run docker commit c1 committed:v1
  assert_success
  assert_line_matches '^sha256:[0-9a-f]{64}$'
  run docker run --rm committed:v1 cat /data.txt
  assert_output "committed"
  run docker run --rm committed:v1 sh -c 'test -e /bin/ls && echo present || echo gone'
  assert_output "gone"
  run docker image inspect -f '{{len .RootFS.Layers}} {{json .Config.Cmd}}' committed:v1
  n=$(docker image inspect -f '{{len .RootFS.Layers}}' busybox)
  assert_output "$((n + 1)) [\"sh\",\"-c\",\"echo committed > /data.txt; rm /bin/ls\"]"
  docker rm c1
  docker rmi committed:v1
}

@test "commit --change CMD/ENV/WORKDIR/LABEL, -m and -a" {
  docker run --name c2 -e KEEP=1 busybox sh -c 'mkdir /work; echo w > /work/f'
  docker commit -c 'CMD ["cat", "f"]' -c 'ENV A=1 B=2' -c 'WORKDIR /work' -c 'LABEL team=arca' \
    -m "a message" -a "me <me@x>" c2 changed:latest
  run docker run --rm changed
  assert_output "w"
  run docker run --rm changed env
  assert_output_contains "A=1"
  assert_output_contains "B=2"
  assert_output_contains "KEEP=1"
  assert_output_contains "PATH="
  # The container's Config is the base the changes apply to (dockerd).
  run docker image inspect -f '{{json .Config.Env}}' changed
  assert_output_contains '"KEEP=1"'
  assert_line_matches ',"A=1","B=2"\]$'
  run docker image inspect -f '{{.Config.Labels.team}}|{{.Comment}}|{{.Author}}|{{.Config.WorkingDir}}' changed
  assert_output "arca|a message|me <me@x>|/work"
  # dockerd 20.10's texts: the builder's lower-cased command; only the
  # instructions moby's validCommitCommands lists (no STOPSIGNAL, RUN...)
  run docker commit -c 'BOGUS x' c2 bad
  assert_failure
  assert_output_contains "bogus is not a valid change command"
  run docker commit -c 'STOPSIGNAL SIGINT' c2 bad
  assert_failure
  assert_output_contains "stopsignal is not a valid change command"
  run docker commit -c 'HEALTHCHECK --interval=5 CMD true' c2 bad
  assert_failure
  assert_output_contains 'time: missing unit in duration "5"'
  # ENTRYPOINT without CMD in the same changes drops the Cmd (moby dispatchEntrypoint)
  docker commit -c 'ENTRYPOINT ["echo", "ep"]' c2 ep:1 >/dev/null
  run docker image inspect -f '{{json .Config.Cmd}} {{json .Config.Entrypoint}}' ep:1
  assert_output 'null ["echo","ep"]'
  run docker run --rm ep:1
  assert_output "ep"
  docker rmi ep:1
  docker rm c2
  docker rmi changed
}

@test "commit of a running container, untagged, then unknown container" {
  docker run -d --name c3 busybox sh -c 'echo run > /r; sleep 300'
  retry 50 0.1 bash -c '[ -n "$(docker diff c3)" ]'
  id=$(docker commit c3)
  run docker run --rm "$id" cat /r
  assert_output "run"
  docker rm -f c3
  docker rmi "$id"
  run docker commit nope x
  assert_failure
  assert_output_contains "No such container: nope"
}

@test "commit freezes a running container unless --pause=false, as dockerd (events pause, commit, unpause)" {
  docker run -d --name cp1 busybox sleep 300
  local s
  s=$(date +%s.%N)
  docker commit cp1 paused:1 >/dev/null
  docker commit --pause=false cp1 paused:2 >/dev/null
  docker pause cp1 >/dev/null
  docker commit cp1 paused:3 >/dev/null
  run docker inspect -f '{{.State.Status}}' cp1
  assert_output "paused"
  docker unpause cp1 >/dev/null
  # the sequence a reference dockerd 20.10 gives for the same commands
  run docker events --since "$s" --until "$(date +%s.%N)" --filter container=cp1 --format '{{.Action}}'
  assert_output "pause
commit
unpause
commit
pause
commit
unpause"
  run docker inspect -f '{{.State.Status}}' cp1
  assert_output "running"
  docker rm -f cp1
  docker rmi paused:1 paused:2 paused:3 >/dev/null
}

@test "commit with no changes adds an empty history entry, no layer" {
  docker create --name c4 busybox true
  docker commit c4 nochange
  run docker image inspect -f '{{len .RootFS.Layers}}' nochange
  assert_output "$(docker image inspect -f '{{len .RootFS.Layers}}' busybox)"
  docker rm c4
  docker rmi nochange
}

@test "import with several --change values applies them all" {
  run bash -c "docker export \$(docker create busybox) | docker import -c 'ENV X=1' -c 'CMD [\"env\"]' - imported:multi"
  assert_success
  run docker run --rm imported:multi
  assert_output_contains "X=1"
  docker rmi imported:multi
}

@test "commit: a directory deleted and recreated hides the image's content (opaque)" {
  docker run --name c5 busybox sh -c 'rm -rf /var && mkdir /var && echo only > /var/only'
  run bash -c "docker diff c5 | LC_ALL=C sort -k2"
  assert_output "C /var
D /var/log
A /var/only
D /var/run
D /var/tmp"
  docker commit c5 opaque:v1
  run docker run --rm opaque:v1 ls /var
  assert_success
  assert_output "only"
  docker rm c5
  docker rmi opaque:v1
}
