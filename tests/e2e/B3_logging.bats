#!/usr/bin/env bats
# Logging drivers as dockerd's (issue 11): json-file rotation done by the
# shim (max-size, max-file, compress) read back across rotated and gzipped
# files and followed across rotations; attrs (labels, env, tag); local;
# none; syslog to a local socket; the daemon's log-driver and log-opts.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

teardown() {
  arca_teardown_test
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  if [ -f "$ARCA_T/syslog.pid" ]; then
    kill "$(cat "$ARCA_T/syslog.pid")" 2>/dev/null || true
    rm -f "$ARCA_T/syslog.pid"
  fi
}

cdir() {
  echo "$ARCA_T/data/containers/$(docker inspect -f '{{.Id}}' "$1")"
}

@test "json-file max-size=10k max-file=2: two files within the limit, logs shows the newest lines" {
  docker run --name r1 --log-opt max-size=10k --log-opt max-file=2 busybox \
    sh -c 'i=0; while [ $i -lt 3000 ]; do echo "line $i of the rotation test"; i=$((i+1)); done' >/dev/null
  d=$(cdir r1)
  id=$(docker inspect -f '{{.Id}}' r1)
  run ls "$d"
  assert_output_contains "$id-json.log.1"
  assert_output_not_contains "$id-json.log.2"
  # each file stops growing at the first entry past 10 kB (10000 bytes)
  for f in "$d/$id-json.log" "$d/$id-json.log.1"; do
    size=$(stat -c %s "$f")
    [ "$size" -le 10200 ] || { echo "$f is $size bytes"; false; }
  done
  run docker logs r1
  assert_output_contains "line 2999 of the rotation test"
  assert_output_not_contains "line 0 of the rotation test"
  # the two files, oldest first, end to end
  first=$(echo "$output" | head -1 | awk '{print $2}')
  last=$(echo "$output" | tail -1 | awk '{print $2}')
  [ "$last" = 2999 ]
  [ "$(echo "$output" | wc -l)" -eq $((last - first + 1)) ]
  run docker logs --tail 3 r1
  assert_output "line 2997 of the rotation test
line 2998 of the rotation test
line 2999 of the rotation test"
  # the files are the json-file format
  run head -1 "$d/$id-json.log"
  assert_line_matches '^\{"log":"line [0-9]+ of the rotation test\\n","stream":"stdout","time":"[0-9T:.-]+Z"\}$'
}

@test "compress=true: rotated files are gzipped and read back" {
  docker run --name r2 --log-opt max-size=2k --log-opt max-file=4 --log-opt compress=true busybox \
    sh -c 'i=0; while [ $i -lt 200 ]; do echo "entry $i"; i=$((i+1)); done' >/dev/null
  d=$(cdir r2)
  id=$(docker inspect -f '{{.Id}}' r2)
  for n in 1 2 3; do
    [ -f "$d/$id-json.log.$n.gz" ]
    gzip -t "$d/$id-json.log.$n.gz"
  done
  [ ! -f "$d/$id-json.log.4.gz" ]
  run docker logs r2
  assert_output_contains "entry 199"
  n=$(echo "$output" | wc -l)
  first=$(echo "$output" | head -1 | awk '{print $2}')
  [ "$n" -eq $((200 - first)) ]
  # compress needs rotation
  run docker run --rm --log-opt compress=true busybox true
  assert_failure
  assert_output_contains "compress cannot be true when max-file is less than 2 or max-size is not set"
  run docker run --rm --log-opt max-size=abc busybox true
  assert_failure
  assert_output_contains "failed to initialize logging driver: invalid size: 'abc'"
}

@test "logs -f follows across rotations without losing lines" {
  docker run -d --name r3 --log-opt max-size=1k --log-opt max-file=5 busybox \
    sh -c 'sleep 1; i=0; while [ $i -lt 150 ]; do echo "follow $i"; i=$((i+1)); usleep 20000; done' >/dev/null
  run timeout 60 "$DOCKER_BIN" logs -f r3
  assert_success
  [ "$(echo "$output" | wc -l)" -eq 150 ]
  assert_output_contains "follow 0"
  assert_output_contains "follow 149"
}

@test "labels, env and tag become attrs of each json-file line" {
  docker run --name a1 --label team=blue --label other=x -e STAGE=dev --log-opt labels=team \
    --log-opt env=STAGE --log-opt tag='{{.Name}}/{{.ID}}' busybox echo hi >/dev/null
  id=$(docker inspect -f '{{.Id}}' a1)
  run cat "$(cdir a1)/$id-json.log"
  assert_line_matches "^\{\"log\":\"hi\\\\n\",\"stream\":\"stdout\",\"attrs\":\{\"STAGE\":\"dev\",\"tag\":\"a1/${id:0:12}\",\"team\":\"blue\"\},\"time\":\"[^\"]+\"\}$"
  run docker logs a1
  assert_output hi
}

@test "local driver: dockerd's defaults, docker logs reads it, no LogPath" {
  docker run --name l1 --log-driver local busybox sh -c 'echo out; echo err >&2' >/dev/null 2>&1
  d=$(cdir l1)
  [ -f "$d/local-logs/container.log" ]
  run docker logs l1
  assert_output_contains "out"
  assert_output_contains "err"
  # stdout and stderr kept apart
  out=$(docker logs l1 2>/dev/null)
  assert_equal "$out" out
  err=$(docker logs l1 2>&1 >/dev/null)
  assert_equal "$err" err
  run docker inspect -f '{{.LogPath}}|{{.HostConfig.LogConfig.Type}}' l1
  assert_output "|local"
  run docker run --rm --log-driver local --log-opt labels=x busybox true
  assert_failure
  assert_output_contains "unknown log opt 'labels' for log driver local"
  # rotation with the local format too
  docker run --name l2 --log-driver local --log-opt max-size=1k --log-opt max-file=3 busybox \
    sh -c 'i=0; while [ $i -lt 300 ]; do echo "local $i"; i=$((i+1)); done' >/dev/null
  ls "$(cdir l2)/local-logs/container.log.1.gz"
  run docker logs --tail 1 l2
  assert_output "local 299"
}

@test "none: nothing is written and docker logs is refused as dockerd" {
  docker run --name n1 --log-driver none busybox echo hidden >/dev/null
  run docker logs n1
  assert_failure
  assert_output_contains "configured logging driver does not support reading"
  run ls "$(cdir n1)"
  assert_output_not_contains "json.log"
  run api GET "/v1.51/containers/n1/logs?stdout=1" -w '%{http_code}'
  assert_output_contains "501"
}

@test "syslog to a local unixgram socket, with docker logs from the local cache" {
  sock=$ARCA_T/syslog.sock
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    out.write(s.recv(65536).decode() + "\n"); out.flush()
' "$sock" "$ARCA_T/syslog.out" 3>&- &
  echo $! >"$ARCA_T/syslog.pid"
  retry 50 0.1 test -S "$sock"
  docker run --name s1 --log-driver syslog --log-opt syslog-address="unixgram://$sock" --log-opt tag=mytag \
    busybox sh -c 'echo to-syslog; echo err-syslog >&2' >/dev/null 2>&1
  retry 50 0.1 grep -q err-syslog "$ARCA_T/syslog.out"
  run cat "$ARCA_T/syslog.out"
  assert_line_matches '^<30>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} mytag\[[0-9]+\]: to-syslog$'
  assert_line_matches '^<27>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} mytag\[[0-9]+\]: err-syslog$'
  run docker logs s1
  assert_output_contains to-syslog
  run docker run --rm --log-driver syslog --log-opt syslog-address=ftp://x busybox true
  assert_failure
  assert_output_contains "unsupported scheme: 'ftp'"
  run docker run --rm --log-driver syslog --log-opt syslog-facility=nope busybox true
  assert_failure
  assert_output_contains "invalid syslog facility"
}

# A TCP syslog server that accepts and never reads (a receive window of a
# few kB): the sender's socket fills after a few MB.
stalled_syslog() {
  python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])
' "$ARCA_T/syslog.port" 3>&- &
  echo $! >"$ARCA_T/syslog.pid"
  retry 50 0.1 test -s "$ARCA_T/syslog.port"
}

@test "syslog mode=non-blocking drops what a stalled server does not take; the blocking mode holds the container" {
  stalled_syslog
  port=$(cat "$ARCA_T/syslog.port")
  opts=(--log-driver syslog --log-opt "syslog-address=tcp://127.0.0.1:$port" --log-opt cache-disabled=true)
  # 60 MB of output in 16 kB messages (moby's longest), far more than the
  # sockets' buffers hold; /progress counts the megabytes written
  writer='for i in $(seq 1 60); do head -c 1000000 /dev/zero | tr "\\0" a; echo; echo $i >/progress; done; echo end >&2'
  run timeout 300 docker run --name nb "${opts[@]}" --log-opt mode=non-blocking --log-opt max-buffer-size=64k \
    busybox sh -c "$writer"
  assert_success
  docker run -d --name bl "${opts[@]}" busybox sh -c "$writer" >/dev/null
  # the blocking one waits on its log: its progress stops short of the end
  stalled=
  for _ in $(seq 1 30); do
    a=$(docker exec bl cat /progress) || break
    sleep 2
    b=$(docker exec bl cat /progress) || break
    if [ "$a" = "$b" ]; then stalled=$b; break; fi
  done
  [ -n "$stalled" ] || { echo "the container's writes never stalled: $(docker inspect -f '{{.State.Status}}' bl)"; false; }
  # the server goes away: the shim drops the queue and the container ends
  kill "$(cat "$ARCA_T/syslog.pid")"
  rm -f "$ARCA_T/syslog.pid"
  run timeout 300 docker wait bl
  assert_output 0
  # go-units RAMInBytes refuses what is not a size, at the start (moby StartLogger)
  run docker run --rm --log-opt mode=non-blocking --log-opt max-buffer-size=lots busybox true
  assert_failure
  assert_output_contains "failed to initialize logging driver: invalid size: 'lots'"
  # max-buffer-size without the non-blocking mode: refused at create
  run docker create --log-opt max-buffer-size=4m busybox true
  assert_failure
  assert_output_contains "max-buffer-size option is only supported with 'mode=non-blocking'"
}

@test "daemon defaults: log-driver and log-opts in the config file" {
  cp "$ARCA_T/config.json" "$ARCA_T/config.json.orig"
  python3 - "$ARCA_T/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["log-driver"] = "json-file"
c["log-opts"] = {"max-size": "1k", "max-file": "2"}
json.dump(c, open(sys.argv[1], "w"))
EOF
  arca_stop
  arca_start
  docker run --name dd1 busybox sh -c 'i=0; while [ $i -lt 100 ]; do echo "d $i"; i=$((i+1)); done' >/dev/null
  run docker inspect -f '{{json .HostConfig.LogConfig}}' dd1
  assert_output '{"Type":"json-file","Config":{"max-file":"2","max-size":"1k"}}'
  id=$(docker inspect -f '{{.Id}}' dd1)
  [ -f "$(cdir dd1)/$id-json.log.1" ]
  # a container's own option wins
  docker run --name dd2 --log-opt max-size=5k busybox true >/dev/null
  run docker inspect -f '{{index .HostConfig.LogConfig.Config "max-size"}}' dd2
  assert_output 5k
  docker rm -f dd1 dd2 >/dev/null
  # bad defaults keep the daemon from starting, as dockerd
  python3 - "$ARCA_T/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["log-opts"] = {"nope": "1"}
json.dump(c, open(sys.argv[1], "w"))
EOF
  arca_stop
  run arca_start
  assert_failure
  run grep -c "failed to set log opts: unknown log opt 'nope' for json-file log driver" "$ARCA_T/daemon.log"
  [ "$output" -ge 1 ]
  mv "$ARCA_T/config.json.orig" "$ARCA_T/config.json"
  arca_start
}
