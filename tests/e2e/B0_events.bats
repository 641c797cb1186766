#!/usr/bin/env bats
# docker events (issue 10): the sequences dockerd emits for each lifecycle,
# the attributes, GET /events with since/until/filters and the legacy
# fields, the persistent history (replay after kill -9) and slow clients.
#
# Expected sequences were taken from a reference dockerd (20.10, Debian's
# docker.io) with `docker events` open, and from moby v28's code (the API
# version Arca speaks).  Where they differ we follow v28, and say so:
#   - die carries execDuration (seconds) besides exitCode (v28
#     daemon/monitor.go);
#   - die comes after the network disconnect and volume unmount events
#     (v28 runs daemon.Cleanup before logging die; 20.10 logged die first);
#   - volume create only for a volume that is really created (v28
#     volume/service/store.go `created`; 20.10 logged it for existing ones).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

# now: a since/until value (Unix seconds with nanoseconds).
now() { date +%s.%N; }

# ev_list SINCE [docker events args...]: the events from SINCE until now,
# one per line: "<Type> <Action> [key=value ...]" with the attributes that
# tell the sequences apart (network and volume events name their object).
ev_list() {
  local since=$1
  shift
  docker events --since "$since" --until "$(now)" "$@" --format '{{json .}}' |
    jq -r '[.Type, .Action]
      + (if .Type == "network" then [.Actor.Attributes.name // empty] else [] end)
      + (if .Type == "volume" and .Actor.ID != "" then [(.Actor.ID | if test("^[0-9a-f]{64}$") then "<anon>" else . end)] else [] end)
      + [.Actor.Attributes | to_entries[]
         | select(.key | IN("exitCode", "signal", "oldName", "height", "width", "destination", "read/write",
                            "comment", "imageRef", "reclaimed"))
         | "\(.key)=\(.value)"]
      | join(" ")'
}

# wait_status NAME STATUS [RESTARTS]: until inspect shows it (10 s).
wait_status() {
  local want="$2${3:+ $3}"
  retry 100 0.1 bash -c "[ \"\$(\"$DOCKER_BIN\" inspect -f '{{.State.Status}}${3:+ {{.RestartCount\}\}}' $1 2>/dev/null)\" = '$want' ]"
}

@test "docker events --filter container=X --filter event=die sees exitCode=3 live" {
  docker events --filter container=ev-exit3 --filter event=die \
    --format '{{.Action}} {{.Actor.Attributes.exitCode}} {{.Actor.Attributes.name}}' >"$ARCA_T/live.out" 2>&1 3>&- &
  local pid=$!
  sleep 0.5
  run docker run --name ev-exit3 busybox sh -c 'exit 3'
  assert_failure 3
  retry 50 0.1 grep -q 'die 3 ev-exit3' "$ARCA_T/live.out"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  run cat "$ARCA_T/live.out"
  assert_output "die 3 ev-exit3"
  docker rm ev-exit3
}

@test "GET /events on an idle daemon answers 200 and its headers at once" {
  run curl -s -m2 -D- -o /dev/null -w 'first byte %{time_starttransfer}\n' --unix-socket "$ARCA_T/arca.sock" \
    http://localhost/events
  # curl gives up after 2 s (exit 28): the stream stays open
  [ "$status" -eq 28 ] || fail "curl exit $status: $output"
  assert_line_matches '^HTTP/1.1 200 OK'
  assert_line_matches '^Content-Type: application/json'
  local t
  t=$(sed -n 's/^first byte \([0-9.]*\)$/\1/p' <<<"$output")
  awk -v t="$t" 'BEGIN { exit !(t < 1.0) }' || fail "headers after $t s"
}

@test "a normal exit: create, attach, connect, start, disconnect, die, destroy" {
  local s
  s=$(now)
  run docker run --name ev-normal --label team=blue busybox sh -c 'exit 3'
  assert_failure 3
  docker rm ev-normal
  run ev_list "$s"
  assert_output "container create
container attach
network connect bridge
container start
network disconnect bridge
container die exitCode=3
container destroy"
  # every container event carries name, image and all the labels
  run docker events --since "$s" --until "$(now)" --filter type=container --format '{{json .Actor.Attributes}}'
  assert_line_matches '^\{"image":"busybox","name":"ev-normal","team":"blue"\}$'
  assert_line_matches '"execDuration":"0","exitCode":"3","image":"busybox","name":"ev-normal","team":"blue"'
}

@test "die comes after the output reached the attach sessions (moby handleContainerExit)" {
  # compose 1.29's up stops printing 0.1 s after a service's die: output
  # still on its way to the attach session then is lost to the user.
  local i id
  for i in 1 2 3 4 5; do
    id=$(docker create busybox sh -c "echo out-$i-before-die")
    run python3 "$ARCA_REPO/tests/fixtures/attach_before_die.py" "$ARCA_T/arca.sock" "$id" "out-$i-before-die"
    assert_success
    assert_output "output=yes"
    docker rm "$id" >/dev/null
  done
}

@test "docker stop of a process ignoring SIGTERM: kill 15, kill 9, die 137, stop" {
  docker run -d --name ev-stop busybox sleep 300
  local s
  s=$(now)
  docker stop -t 1 ev-stop
  run ev_list "$s"
  assert_output "container kill signal=15
container kill signal=9
network disconnect bridge
container die exitCode=137
container stop"
  docker rm ev-stop
}

@test "docker stop of a process that exits on SIGTERM: kill 15, die 0, stop" {
  docker run -d --name ev-trap busybox sh -c 'trap "exit 0" TERM; sleep 300 & wait'
  sleep 0.5
  local s
  s=$(now)
  docker stop ev-trap
  run ev_list "$s"
  assert_output "container kill signal=15
network disconnect bridge
container die exitCode=0
container stop"
  docker rm ev-trap
}

@test "docker restart: the stop's events, then connect, start, restart" {
  docker run -d --name ev-restart busybox sleep 300
  local s
  s=$(now)
  docker restart -t 1 ev-restart
  run ev_list "$s"
  assert_output "container kill signal=15
container kill signal=9
network disconnect bridge
container die exitCode=137
container stop
network connect bridge
container start
container restart"
  docker rm -f ev-restart
}

@test "docker kill: kill 9 and die; another signal only kill" {
  docker run -d --name ev-kill busybox sleep 300
  local s
  s=$(now)
  docker kill -s HUP ev-kill
  sleep 0.3 # PID 1 has no handler for SIGHUP: it stays
  docker kill ev-kill
  run ev_list "$s"
  assert_output "container kill signal=1
container kill signal=9
network disconnect bridge
container die exitCode=137"
  docker rm ev-kill
}

@test "docker rm -f of a running container: kill, die, destroy (no stop)" {
  docker run -d --name ev-rmf busybox sleep 300
  local s
  s=$(now)
  docker rm -f ev-rmf
  run ev_list "$s"
  assert_output "container kill signal=9
network disconnect bridge
container die exitCode=137
container destroy"
}

@test "restart policy: die then start again, no restart event" {
  local s
  s=$(now)
  docker run -d --name ev-policy --restart on-failure:2 busybox sh -c 'exit 1'
  wait_status ev-policy exited 2
  run ev_list "$s"
  assert_output "container create
network connect bridge
container start
network disconnect bridge
container die exitCode=1
network connect bridge
container start
network disconnect bridge
container die exitCode=1
network connect bridge
container start
network disconnect bridge
container die exitCode=1"
  docker rm ev-policy
}

@test "docker stop of a container in its restart backoff: only stop" {
  docker run -d --name ev-backoff --restart always busybox sh -c 'exit 1'
  # the backoff doubles from 100 ms: a few restarts in, it waits long enough
  wait_status ev-backoff restarting 3 || wait_status ev-backoff restarting 4 || wait_status ev-backoff restarting 5
  local s
  s=$(now)
  docker stop ev-backoff
  run ev_list "$s"
  assert_output "container stop"
  run docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' ev-backoff
  assert_output "exited 1"
  docker rm ev-backoff
}

@test "OOM: oom before die, OOMKilled" {
  # The limit is set with docker update (a running container's cgroup gets
  # it at once), then the process is told to grow: at most 2^24 x 16 bytes
  # (256 MB), so it ends by itself should the limit not hold.
  docker run -d --name ev-oom busybox sh -c 'while [ ! -f /go ]; do sleep 0.1; done
    x=0123456789abcdef; i=0; while [ $i -lt 24 ]; do x=$x$x; i=$((i+1)); done'
  docker update -m 16m --memory-swap 16m ev-oom >/dev/null
  run docker inspect -f '{{.HostConfig.Memory}}' ev-oom
  assert_output 16777216
  local s
  s=$(now)
  docker exec ev-oom touch /go
  run docker wait ev-oom
  assert_output 137
  run docker inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' ev-oom
  assert_output "true 137"
  run ev_list "$s" --filter type=container
  assert_output "container exec_create: touch /go
container exec_start: touch /go
container exec_die exitCode=0
container oom
container die exitCode=137"
  docker rm -f ev-oom
}

@test "pause, unpause, rename, update, top, export, commit, cp" {
  docker run -d --name ev-ops busybox sleep 300
  local s
  s=$(now)
  docker pause ev-ops
  docker unpause ev-ops
  docker rename ev-ops ev-ops2
  docker update --cpu-shares 512 ev-ops2 >/dev/null
  docker top ev-ops2 >/dev/null
  docker export ev-ops2 >/dev/null
  docker commit -m hi ev-ops2 evimg:c >/dev/null
  docker cp "$ARCA_REPO/README.md" ev-ops2:/tmp/
  docker cp ev-ops2:/etc/hostname "$ARCA_T/hostname"
  run ev_list "$s" --filter type=container
  assert_output "container pause
container unpause
container rename oldName=/ev-ops
container update
container top
container export
container pause
container commit comment=hi imageRef=evimg:c
container unpause
container extract-to-dir
container archive-path"
  # the commit's image events come first: create (API >= 1.46), then tag
  run ev_list "$s" --filter type=image
  assert_output "image create
image tag"
  run docker events --since "$s" --until "$(now)" --filter event=commit --format '{{.Actor.Attributes.imageID}}'
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "imageID: $output"
  # before API 1.46 there were no image create events
  run api GET "/v1.45/events?since=$s&until=$(now)&filters=%7B%22type%22%3A%5B%22image%22%5D%7D"
  assert_success
  run jq -r .Action <<<"$output"
  assert_output "tag"
  docker rm -f ev-ops2
  docker rmi evimg:c
}

@test "exec: exec_create and exec_start carry the command, exec_die the exit code" {
  docker run -d --name ev-exec busybox sleep 300
  local s
  s=$(now)
  run docker exec ev-exec sh -c 'exit 2'
  assert_failure 2
  run ev_list "$s"
  assert_output "container exec_create: sh -c exit 2
container exec_start: sh -c exit 2
container exec_die exitCode=2"
  # the three share the exec's ID
  run docker events --since "$s" --until "$(now)" --format '{{.Actor.Attributes.execID}}'
  [ "$(sort -u <<<"$output" | wc -l)" -eq 1 ] || fail "execIDs: $output"
  # a filter naming exec_start matches by prefix (moby #25798)
  run docker events --since "$s" --until "$(now)" --filter event=exec_start --format '{{.Action}}'
  assert_output "exec_start: sh -c exit 2"
  docker rm -f ev-exec
}

@test "attach and resize" {
  docker create -t --name ev-tty busybox sleep 300
  docker start ev-tty
  local s
  s=$(now)
  run api POST "/containers/ev-tty/resize?h=20&w=70" -o /dev/null -w '%{http_code}'
  assert_output 200
  run ev_list "$s"
  assert_output "container resize height=20 width=70"
  docker rm -f ev-tty
}

@test "docker attach with a TTY: attach, the CLI's resizes; detach keys end only the session" {
  docker run -d -it --name ev-attach busybox sh >/dev/null
  local sock="$ARCA_T/tmux-ev.sock" s
  s=$(now)
  # a terminal of its own, on a tmux server private to this test (3>&-: bats waits on fd 3)
  tmux -S "$sock" -f /dev/null new-session -d -s ev -x 100 -y 30 \
    "DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DOCKER_CONFIG $DOCKER_BIN attach ev-attach; sleep 30" 3>&-
  local i
  for ((i = 0; i < 50; i++)); do
    [ "$(docker events --since "$s" --until "$(now)" --filter event=resize --format x | wc -l)" -ge 2 ] && break
    sleep 0.1
  done
  tmux -S "$sock" send-keys -t ev C-p
  sleep 0.2
  tmux -S "$sock" send-keys -t ev C-q
  for ((i = 0; i < 50; i++)); do
    tmux -S "$sock" capture-pane -p -t ev | grep -q 'read escape sequence' && break
    sleep 0.1
  done
  tmux -S "$sock" kill-server 2>/dev/null || true
  run docker inspect -f '{{.State.Running}}' ev-attach
  assert_output true
  run ev_list "$s"
  assert_output "container attach
container resize height=31 width=101
container resize height=30 width=100"
  docker rm -f ev-attach >/dev/null
}

@test "volumes: create, mount, unmount, destroy, with the container's" {
  local s
  s=$(now)
  docker volume create ev-vol
  docker run --rm -v ev-vol:/data -v /anon busybox true
  docker volume rm ev-vol
  run ev_list "$s"
  assert_output "volume create ev-vol
volume create <anon>
container create
container attach
network connect bridge
volume mount ev-vol destination=/data read/write=true
volume mount <anon> destination=/anon read/write=true
container start
network disconnect bridge
volume unmount ev-vol
volume unmount <anon>
container die exitCode=0
volume destroy <anon>
container destroy
volume destroy ev-vol"
  run docker events --since "$s" --until "$(now)" --filter volume=ev-vol --filter event=mount --format '{{json .Actor.Attributes}}'
  assert_line_matches '"container":"[0-9a-f]{64}","destination":"/data","driver":"local","propagation":"","read/write":"true"'
}

@test "networks: create, connect (running containers only), disconnect, destroy" {
  local s
  s=$(now)
  docker network create ev-net >/dev/null
  docker create --name ev-net-c busybox sleep 300 >/dev/null
  docker network connect ev-net ev-net-c
  docker network disconnect ev-net ev-net-c
  docker run -d --name ev-net-r busybox sleep 300 >/dev/null
  docker network connect ev-net ev-net-r
  docker network disconnect ev-net ev-net-r
  docker rm -f ev-net-c ev-net-r >/dev/null
  docker network rm ev-net >/dev/null
  run ev_list "$s" --filter type=network
  assert_output "network create ev-net
network disconnect ev-net
network connect bridge
network connect ev-net
network disconnect ev-net
network disconnect bridge
network destroy ev-net"
  run docker events --since "$s" --until "$(now)" --filter network=ev-net --filter event=connect \
    --format '{{.Actor.Attributes.type}} {{.Actor.Attributes.container}}'
  [[ "$output" =~ ^bridge\ [0-9a-f]{64}$ ]] || fail "connect attributes: $output"
}

@test "images: tag, save, untag, load, import, delete" {
  local s
  s=$(now)
  docker tag busybox evfoo:1
  docker tag busybox evfoo:2
  docker save evfoo:1 -o "$ARCA_T/evfoo.tar"
  docker rmi evfoo:1 evfoo:2 >/dev/null
  docker load -i "$ARCA_T/evfoo.tar" >/dev/null
  docker rmi evfoo:1 >/dev/null
  docker import "$ARCA_FIXTURES/rootfs.tar" evimp:1 >/dev/null
  docker rmi evimp:1 >/dev/null
  run ev_list "$s"
  assert_output "image tag
image tag
image save
image untag
image untag
image load
image untag
image tag
image import
image untag
image delete"
  # tag names the new tag; the others the image ID (moby LogImageEvent)
  run docker events --since "$s" --until "$(now)" --filter event=tag --format '{{.Actor.Attributes.name}}'
  assert_output "evfoo:1
evfoo:2
evimp:1"
  local bid
  bid=$(docker image inspect -f '{{.Id}}' busybox)
  run docker events --since "$s" --until "$(now)" --filter event=save --format '{{.Actor.ID}} {{.Actor.Attributes.name}} {{.Status}} {{.ID}}'
  assert_output "$bid $bid save $bid"
}

@test "images: pull and push name the reference" {
  local port
  port=$(free_ports 1)
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_start "$ARCA_T/evreg" "$port"
  local s
  s=$(now)
  docker tag busybox "127.0.0.1:$port/evbox:1"
  docker push "127.0.0.1:$port/evbox:1" >/dev/null
  docker rmi "127.0.0.1:$port/evbox:1" >/dev/null
  docker pull "127.0.0.1:$port/evbox:1" >/dev/null
  run docker events --since "$s" --until "$(now)" --filter event=push --filter event=pull \
    --format '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'
  registry_stop "$ARCA_T/evreg"
  assert_output "push 127.0.0.1:$port/evbox:1 127.0.0.1:$port/evbox
pull 127.0.0.1:$port/evbox:1 127.0.0.1:$port/evbox"
  docker rmi "127.0.0.1:$port/evbox:1" >/dev/null
}

@test "prune events report what was reclaimed" {
  docker create --name ev-prune busybox true >/dev/null
  local s
  s=$(now)
  docker container prune -f >/dev/null
  docker network prune -f >/dev/null
  run ev_list "$s" --filter event=prune
  [[ "${lines[0]}" =~ ^container\ prune\ reclaimed=[0-9]+$ ]] || fail "$output"
  [ "${lines[1]}" = "network prune reclaimed=0" ] || fail "$output"
}

@test "message shape: legacy status/id/from, scope, time and timeNano" {
  local s
  s=$(now)
  docker create --name ev-shape busybox true >/dev/null
  docker network create ev-shape-net >/dev/null
  docker network rm ev-shape-net >/dev/null
  docker rm ev-shape >/dev/null
  run api GET "/v1.41/events?since=$s&until=$(now)"
  assert_success
  local c n
  c=$(head -1 <<<"$output")
  n=$(sed -n 2p <<<"$output")
  run jq -r '[.status, .id == .Actor.ID, .from, .Type, .Action, .scope, (.time == (.timeNano / 1e9 | floor))] | join(" ")' <<<"$c"
  assert_output "create true busybox container create local true"
  # keys in dockerd's order
  run jq -r 'keys_unsorted | join(",")' <<<"$c"
  assert_output "status,id,from,Type,Action,Actor,scope,time,timeNano"
  run jq -r 'keys_unsorted | join(",")' <<<"$n"
  assert_output "Type,Action,Actor,scope,time,timeNano"
}

@test "since and until: CLI forms, raw API values and errors" {
  local s
  s=$(now)
  docker create --name ev-since busybox true >/dev/null
  docker rm ev-since >/dev/null
  # the CLI turns durations and dates into Unix times itself (whole
  # seconds: --until 0s is the start of this second)
  sleep 1
  run docker events --since 1m --until 0s --filter container=ev-since --format '{{.Action}}'
  assert_output "create
destroy"
  run docker events --since "$(date -u -d "@${s%.*}" +%Y-%m-%dT%H:%M:%SZ)" --until "$(now)" \
    --filter container=ev-since --format '{{.Action}}'
  assert_output "create
destroy"
  # raw API: Unix seconds with a fraction; Arca also takes durations and RFC 3339
  run api GET "/events?since=$s&until=$(now)&filters=%7B%22container%22%3A%5B%22ev-since%22%5D%7D"
  [ "${#lines[@]}" -eq 2 ] || fail "$output"
  run api GET "/events?since=10m&until=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)&filters=%7B%22container%22%3A%5B%22ev-since%22%5D%7D"
  [ "${#lines[@]}" -eq 2 ] || fail "$output"
  # dockerd's errors
  run api GET "/events?since=abc" -w '%{http_code}'
  assert_output '{"message":"strconv.ParseInt: parsing \"abc\": invalid syntax"}
500'
  run api GET "/events?since=100&until=50" -w '%{http_code}'
  assert_output '{"message":"`since` time (100) cannot be after `until` time (50)"}
400'
  # an until in the future ends the stream then
  local t0=$SECONDS
  run api GET "/events?until=$(( $(date +%s) + 2 ))"
  assert_success
  [ $((SECONDS - t0)) -le 4 ] || fail "stream did not end at until"
}

@test "filters: label, type, event, image, container, volume, scope" {
  local s
  s=$(now)
  docker run --name ev-f1 --label com.docker.compose.project=p1 busybox true
  docker run --name ev-f2 --label com.docker.compose.project=p2 busybox true
  docker rm ev-f1 ev-f2 >/dev/null
  local u
  u=$(now)
  run docker events --since "$s" --until "$u" --filter label=com.docker.compose.project=p1 --format '{{.Actor.Attributes.name}} {{.Action}}'
  assert_output "ev-f1 create
ev-f1 attach
ev-f1 start
ev-f1 die
ev-f1 destroy"
  run docker events --since "$s" --until "$u" --filter label=com.docker.compose.project --filter event=start --format '{{.Actor.Attributes.name}}'
  assert_output "ev-f1
ev-f2"
  run docker events --since "$s" --until "$u" --filter type=network --filter event=connect --format '{{.Type}}'
  assert_output "network
network"
  run docker events --since "$s" --until "$u" --filter image=busybox --filter event=die --format '{{.Actor.Attributes.name}}'
  assert_output "ev-f1
ev-f2"
  run docker events --since "$s" --until "$u" --filter container=ev-f2 --filter event=create --filter event=destroy --format '{{.Action}}'
  assert_output "create
destroy"
  run docker events --since "$s" --until "$u" --filter scope=swarm --format '{{.Action}}'
  assert_output ""
}

@test "the history survives kill -9 of the daemon" {
  local s
  s=$(now)
  run docker run --name ev-k9 busybox sh -c 'exit 5'
  assert_failure 5
  docker rm ev-k9 >/dev/null
  sleep 0.5 # the history writer commits in batches right after publication
  arca_kill9
  arca_start
  run docker events --since "$s" --until "$(now)" --filter container=ev-k9 --format '{{.Action}}'
  assert_output "create
attach
start
die
destroy"
  run docker events --since "$s" --until "$(now)" --filter container=ev-k9 --filter event=die \
    --format '{{.Actor.Attributes.exitCode}}'
  assert_output 5
  # events after the restart continue the same history, in order
  docker create --name ev-k9b busybox true >/dev/null
  docker rm ev-k9b >/dev/null
  run docker events --since "$s" --until "$(now)" --filter event=destroy --format '{{.Actor.Attributes.name}}'
  assert_output "ev-k9
ev-k9b"
}

@test "a client that does not read never blocks the engine or other subscribers" {
  # a subscriber that never reads its socket
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(120)' "$ARCA_T/arca.sock" 3>&- &
  local stuck=$!
  # and one that reads everything
  docker run -d --name ev-flood busybox sleep 300 >/dev/null
  curl -N -sS --unix-socket "$ARCA_T/arca.sock" \
    "http://localhost/events?filters=%7B%22event%22%3A%5B%22resize%22%5D%7D" >"$ARCA_T/reader.out" 3>&- &
  local reader=$!
  # the reader is subscribed once it sees an event
  local i
  for ((i = 0; i < 100; i++)); do
    api POST "/containers/ev-flood/resize?h=1&w=1"
    [ -s "$ARCA_T/reader.out" ] && break
    sleep 0.1
  done
  sleep 0.2
  local n
  n=$(wc -l <"$ARCA_T/reader.out")
  # 3000 events, more than the stuck one's buffer (1024) and socket hold
  # (a resize of a container without TTY is an event and nothing else)
  python3 -c '
import socket, sys
for i in range(3000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b"POST /containers/ev-flood/resize?h=1&w=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    r = s.recv(4096)
    assert b" 200 " in r, r
    s.close()' "$ARCA_T/arca.sock"
  retry 100 0.1 bash -c "[ \$(wc -l <'$ARCA_T/reader.out') -ge $((n + 3000)) ]" ||
    fail "reader got $(wc -l <"$ARCA_T/reader.out") events, $n before the 3000"
  [ "$(wc -l <"$ARCA_T/reader.out")" -eq $((n + 3000)) ] || fail "reader got more than it should"
  # the daemon answers at once, and the history is bounded
  run curl -s -m 2 --unix-socket "$ARCA_T/arca.sock" http://localhost/_ping
  assert_output OK
  run api GET "/events?since=0&until=$(now)"
  [ "${#lines[@]}" -le 1024 ] || fail "history holds ${#lines[@]} events"
  kill "$stuck" "$reader"
  wait "$stuck" "$reader" 2>/dev/null || true
  docker rm -f ev-flood >/dev/null
  grep -q 'events behind; skipping events for it' "$ARCA_T/daemon.log"
}

@test "docker stats follows containers started after it (through events)" {
  timeout 8 "$DOCKER_BIN" stats --format '{{.Name}}' >"$ARCA_T/stats.out" 2>&1 3>&- &
  local pid=$!
  sleep 1.5
  docker run -d --name ev-stats busybox sleep 300 >/dev/null
  retry 60 0.1 grep -q ev-stats "$ARCA_T/stats.out" || fail "$(cat "$ARCA_T/stats.out")"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  docker rm -f ev-stats >/dev/null
}
