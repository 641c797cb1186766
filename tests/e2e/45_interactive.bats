#!/usr/bin/env bats
# Interactive use under a real terminal (tmux): docker run -it, typed
# commands, window size at start and on resize, Ctrl-C, the detach keys
# (default, --detach-keys, detachKeys=), docker attach and detaching again,
# docker start -ai, docker exec -it, sig-proxy, and several clients
# attached to one container.
#
# Each test drives the docker CLI in windows of one tmux server private to
# this file (its socket is $ARCA_T/tmux.sock, so it is unique per run and
# removed with $ARCA_T), polls the screen with a bounded retry, and the
# server is killed in teardown_file.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  command -v tmux >/dev/null || skip "tmux not installed"
  arca_setup_file
  load_busybox
  export TM_SOCK="$ARCA_T/tmux.sock"
  # 3>&- : bats waits on fd 3; the tmux server must not hold it.
  tmux -S "$TM_SOCK" -f /dev/null new-session -d -s main -x 100 -y 30 "sleep 100000" 3>&-
}

teardown_file() {
  [ -n "${TM_SOCK:-}" ] && tmux -S "$TM_SOCK" kill-server 2>/dev/null || true
  arca_cleanup
}

tm() { tmux -S "$TM_SOCK" "$@"; }

# tm_window NAME CMD: a 100x30 window running CMD (a shell command line run
# against our daemon); when CMD ends the window prints EXIT=<status> and
# stays, so its last screen can still be read.  The wrapping shells ignore
# SIGINT so that a Ctrl-C reaches only the docker CLI (a Go program takes
# SIGINT back when it asks for it, as the CLI's sig-proxy does).
tm_window() {
  local name=$1 cmd=$2
  tm new-window -d -t main -n "$name" \
    "trap '' INT; env DOCKER_HOST='$DOCKER_HOST' DOCKER_CONFIG='$DOCKER_CONFIG' sh -c '$cmd'; echo EXIT=\$?; sleep 100000"
  tm resize-window -t "main:$name" -x 100 -y 30
}

tm_keys() { local name=$1; shift; tm send-keys -t "main:$name" "$@"; }

screen() { tm capture-pane -p -J -t "main:$1" -S -200; }

# wait_screen NAME REGEX [TRIES]: poll (every 0.1 s) until a line of the
# window's screen matches the ERE; on timeout print the screen and fail.
wait_screen() {
  local name=$1 re=$2 tries=${3:-100} i
  for ((i = 0; i < tries; i++)); do
    screen "$name" | grep -Eq -- "$re" && return 0
    sleep 0.1
  done
  echo "window $name never matched /$re/; screen:" >&2
  screen "$name" >&2
  return 1
}

# A shell prompt is up and takes input: type a marker computed by the shell.
wait_shell() {
  local name=$1 n=$RANDOM
  wait_screen "$name" '# ' 100
  tm_keys "$name" "echo ready-\$(($n+1))" Enter
  wait_screen "$name" "^ready-$((n + 1))\$"
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$1")" = true ]; }

@test "run -it: typed commands, stty size at start and after a resize, Ctrl-C reaches the shell's job" {
  tm_window it1 'docker run -it --name it1 busybox sh'
  wait_shell it1
  tm_keys it1 'echo hello-$((6*7))' Enter
  wait_screen it1 '^hello-42$'
  tm_keys it1 'stty size | sed "s/^/SZ:/"' Enter
  wait_screen it1 '^SZ:30 100$'
  tm resize-window -t main:it1 -x 80 -y 20
  sleep 0.3
  tm_keys it1 'stty size | sed "s/^/SZ2:/"' Enter
  wait_screen it1 '^SZ2:20 80$'
  # ^C goes through the PTY: the foreground sleep gets SIGINT, the shell stays.
  tm_keys it1 'sleep 1000' Enter
  sleep 0.5
  tm_keys it1 C-c
  tm_keys it1 'echo after-int-$((1+1))' Enter
  wait_screen it1 '^after-int-2$' 50
  tm_keys it1 'exit 5' Enter
  wait_screen it1 'EXIT=5$'
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' it1
  assert_output "exited 5"
  docker rm it1 >/dev/null
}

@test "Ctrl-P Ctrl-Q detaches; docker attach reattaches and detaches again" {
  tm_window det 'docker run -it --name det busybox sh'
  wait_shell det
  tm_keys det C-p C-q
  wait_screen det 'EXIT=0$'
  running det

  tm_window det2 'docker attach det'
  sleep 1
  tm_keys det2 'echo reattached-$((2*21))' Enter
  wait_screen det2 '^reattached-42$'
  tm_keys det2 'stty size | sed "s/^/SZ:/"' Enter
  wait_screen det2 '^SZ:30 100$'
  tm_keys det2 C-p C-q
  wait_screen det2 'read escape sequence'
  wait_screen det2 'EXIT=1$'
  running det

  # And once more, this time leaving through the shell.
  tm_window det3 'docker attach det'
  sleep 1
  tm_keys det3 'echo third-$((1+2))' Enter
  wait_screen det3 '^third-3$'
  tm_keys det3 'exit 4' Enter
  wait_screen det3 'EXIT=4$'
  run docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' det
  assert_output "false 4"
  docker rm det >/dev/null
}

@test "--detach-keys on run and on attach (detachKeys=)" {
  tm_window dk 'docker run -it --detach-keys ctrl-a,ctrl-b --name dk busybox sh'
  wait_shell dk
  # The default sequence is plain input now (C-p recalls history in ash:
  # C-u clears the line again).
  tm_keys dk C-p C-q
  sleep 0.3
  tm_keys dk C-u 'echo still-$((3+4))' Enter
  wait_screen dk '^still-7$'
  tm_keys dk C-a C-b
  wait_screen dk 'EXIT=0$'
  running dk

  tm_window dk2 'docker attach --detach-keys ctrl-x,ctrl-y dk'
  sleep 1
  tm_keys dk2 'echo attached-$((4+4))' Enter
  wait_screen dk2 '^attached-8$'
  tm_keys dk2 C-x C-y
  wait_screen dk2 'EXIT=1$'
  running dk
  docker rm -f dk >/dev/null
}

@test "docker start -ai attaches a TTY container from its first byte" {
  docker create -it --name sai busybox sh -c 'echo first-line; exec sh' >/dev/null
  tm_window sai 'docker start -ai sai'
  wait_screen sai '^first-line'
  wait_shell sai
  tm_keys sai 'stty size | sed "s/^/SZ:/"' Enter
  wait_screen sai '^SZ:30 100$'
  tm_keys sai 'exit 7' Enter
  wait_screen sai 'EXIT=7$'
  docker rm sai >/dev/null
}

@test "docker exec -it: TTY, TERM, size at start and after a resize, Ctrl-C, exit code" {
  docker run -d --name ext busybox sleep 100000 >/dev/null
  tm_window ext 'docker exec -it ext sh'
  wait_shell ext
  tm_keys ext 'echo term=$TERM; stty size | sed "s/^/SZ:/"' Enter
  wait_screen ext '^term=xterm$'
  wait_screen ext '^SZ:30 100$'
  tm resize-window -t main:ext -x 70 -y 25
  sleep 0.3
  tm_keys ext 'stty size | sed "s/^/SZ2:/"' Enter
  wait_screen ext '^SZ2:25 70$'
  tm_keys ext 'sleep 1000' Enter
  sleep 0.5
  tm_keys ext C-c
  tm_keys ext 'echo alive-$((5+5))' Enter
  wait_screen ext '^alive-10$' 50
  tm_keys ext 'exit 6' Enter
  wait_screen ext 'EXIT=6$'
  running ext
  docker rm -f ext >/dev/null
}

@test "sig-proxy: Ctrl-C without -t is forwarded as SIGINT; --sig-proxy=false does not forward" {
  tm_window sp "docker run --name sp busybox sh -c \"trap \\\"echo got-INT; exit 3\\\" INT; echo ready; while true; do sleep 0.2; done\""
  wait_screen sp '^ready$'
  tm_keys sp C-c
  wait_screen sp 'got-INT'
  wait_screen sp 'EXIT=3$'
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' sp
  assert_output "exited 3"

  tm_window sp2 "docker run --sig-proxy=false --name sp2 busybox sh -c \"trap \\\"echo got-INT; exit 3\\\" INT; echo ready; while true; do sleep 0.2; done\""
  wait_screen sp2 '^ready$'
  tm_keys sp2 C-c
  sleep 1.5
  run screen sp2
  assert_output_not_contains "got-INT"
  running sp2
  docker rm -f sp sp2 >/dev/null
}

@test "several clients attached to one container each see its output" {
  docker run -d --name multi busybox sh -c 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done' >/dev/null
  docker attach --no-stdin multi >"$BATS_TEST_TMPDIR/a1" 2>&1 &
  p1=$!
  docker attach --no-stdin multi >"$BATS_TEST_TMPDIR/a2" 2>&1 &
  p2=$!
  sleep 1.5
  kill "$p1" "$p2" 2>/dev/null || true
  wait "$p1" "$p2" 2>/dev/null || true
  grep -q '^tick-' "$BATS_TEST_TMPDIR/a1"
  grep -q '^tick-' "$BATS_TEST_TMPDIR/a2"
  running multi

  # With a TTY: what one client types, both see.
  docker run -dit --name multit busybox sh >/dev/null
  tm_window m1 'docker attach multit'
  tm_window m2 'docker attach multit'
  sleep 1
  tm_keys m1 'echo shared-$((9*9))' Enter
  wait_screen m1 '^shared-81$'
  wait_screen m2 '^shared-81$'
  tm_keys m1 C-p C-q
  tm_keys m2 C-p C-q
  wait_screen m1 'EXIT=1$'
  wait_screen m2 'EXIT=1$'
  running multit
  docker rm -f multi multit >/dev/null
}
