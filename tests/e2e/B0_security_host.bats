#!/usr/bin/env bats
# Host-side security (docs/security.md): what a local unprivileged user, a
# container, a crafted archive, a lying registry or a runaway API client can
# do to the host and the daemon.  The network half (forward policy, DNS,
# port proxy) has its own file.
#
# A user made by setup_file (removed in teardown_file) plays the local
# user; $ARCA_T is opened to everyone (0755) so that only Arca's own modes
# stand between that user and the data and exec roots.  The daemon runs
# with a 3 s API idle timeout (config apiIdleTimeout) so the timeout tests
# do not wait dockerd's 5 minutes.

load helpers
bats_require_minimum_version 1.5.0

IDLE_TIMEOUT=3

setup_file() {
  SEC_USER="arcasec$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
  export SEC_USER
  useradd --no-create-home --shell /usr/sbin/nologin --user-group "$SEC_USER"
  arca_setup_file
  load_busybox
  arca_stop
  chmod 0755 "$ARCA_T"
  # apiIdleTimeout: see the header comment; the network names stay random
  python3 -c '
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["apiIdleTimeout"] = int(sys.argv[2])
json.dump(c, open(p, "w"))' "$ARCA_T/config.json" "$IDLE_TIMEOUT"
  arca_start
}

teardown_file() {
  local pid
  for pid in $(cat "$ARCA_T"/*.helper-pid 2>/dev/null); do
    kill "$pid" 2>/dev/null || true
  done
  stop_huge_env_runtime
  arca_cleanup
  [ -z "${SEC_USER:-}" ] || userdel "$SEC_USER" 2>/dev/null || true
}

# as_user CMD...: run CMD as the unprivileged test user, no extra groups,
# no capabilities.  setpriv keeps root's capabilities up to its own execve
# (PR_SET_KEEPCAPS), which would look CMD up with CAP_DAC_OVERRIDE: a shell
# in between (no capabilities once exec'd as the user) runs CMD instead.
as_user() {
  setpriv --reuid="$SEC_USER" --regid="$SEC_USER" --clear-groups -- sh -c 'exec "$@"' sh "$@"
}

mode_of() { stat -c %a "$1"; }

daemon_status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$(arca_pid)/status"; }

# ---------------------------------------------------------------------------
# Findings 1 and 2: file modes.

@test "an unprivileged user can list or read no volume, database, image, log or state" {
  docker volume create secvol >/dev/null
  run docker run --name seclog -v secvol:/data busybox sh -c 'echo volume-s3cr3t >/data/private; echo log-s3cr3t'
  assert_success
  local id d=$ARCA_T/data
  id=$(docker inspect -f '{{.Id}}' seclog)
  local blob
  blob=$(ls "$d/image/oci/blobs/sha256" | head -n 1)
  [ -n "$blob" ] || fail "no image blob"
  [ -s "$d/containers/$id/$id-json.log" ] || fail "no container log"
  local p
  for p in "$d" "$d/volumes" "$d/volumes/secvol" "$d/volumes/secvol/_data" "$d/containers" "$d/image" \
    "$ARCA_T/exec" "$ARCA_T/exec/containers"; do
    run as_user ls "$p"
    assert_failure
  done
  for p in "$d/volumes/secvol/_data/private" "$d/arca.db" "$d/arca.db-wal" "$d/image/oci/index.json" \
    "$d/image/oci/blobs/sha256/$blob" "$d/containers/$id/$id-json.log" "$d/containers/$id/config.json"; do
    [ -e "$p" ] || continue
    run as_user cat "$p"
    assert_failure
    assert_output_contains "Permission denied"
    assert_output_not_contains "s3cr3t"
  done
  # dockerd's modes (daemon/daemon_unix.go, volume/local, daemon/command)
  assert_equal "$(mode_of "$d")" 710
  assert_equal "$(mode_of "$d/volumes")" 701
  assert_equal "$(mode_of "$d/volumes/secvol")" 701
  assert_equal "$(mode_of "$d/containers")" 710
  assert_equal "$(mode_of "$d/image")" 700
  assert_equal "$(mode_of "$d/tmp")" 700
  assert_equal "$(mode_of "$d/arca.db")" 600
  [ ! -e "$d/arca.db-wal" ] || assert_equal "$(mode_of "$d/arca.db-wal")" 600
  assert_equal "$(mode_of "$d/image/oci/index.json")" 600
  assert_equal "$(mode_of "$d/image/oci/blobs/sha256/$blob")" 600
  assert_equal "$(mode_of "$ARCA_T/exec")" 700
  assert_equal "$(mode_of "$ARCA_T/exec/netns")" 700
  docker rm -f seclog >/dev/null
}

@test "a set-uid root file a container leaves in a volume gives a local user nothing" {
  docker volume create suidvol >/dev/null
  run docker run --rm -v suidvol:/data busybox sh -c 'cp /bin/busybox /data/bb && chmod 4755 /data/bb'
  assert_success
  local mp
  mp=$(docker volume inspect -f '{{.Mountpoint}}' suidvol)
  # the container really left a set-uid root binary (moby keeps the bits)
  [ -u "$mp/bb" ] && [ "$(stat -c %u "$mp/bb")" = 0 ] || fail "no set-uid file in the volume"
  run -126 as_user "$mp/bb" id
  assert_output_contains "Permission denied"
  assert_output_not_contains "euid=0"
}

@test "start-up tightens the modes of a data root an older Arca left open" {
  local d=$ARCA_T/data
  arca_stop
  chmod 0711 "$d" "$ARCA_T/exec" "$ARCA_T/exec/netns"
  chmod 0755 "$d/volumes" "$d/image" "$d/image/oci" "$d/image/oci/blobs/sha256"
  chmod 0644 "$d/arca.db" "$d/image/oci/index.json"
  chmod 0644 "$d"/image/oci/blobs/sha256/*
  arca_start
  assert_equal "$(mode_of "$d")" 710
  assert_equal "$(mode_of "$d/volumes")" 701
  assert_equal "$(mode_of "$d/image")" 700
  assert_equal "$(mode_of "$d/image/oci/blobs/sha256")" 700
  assert_equal "$(mode_of "$d/arca.db")" 600
  assert_equal "$(mode_of "$d/image/oci/index.json")" 600
  local f
  for f in "$d"/image/oci/blobs/sha256/*; do
    assert_equal "$(mode_of "$f")" 600
  done
  assert_equal "$(mode_of "$ARCA_T/exec")" 700
  assert_equal "$(mode_of "$ARCA_T/exec/netns")" 700
  run as_user cat "$d/arca.db"
  assert_failure
}

# ---------------------------------------------------------------------------
# Finding 6: docker load reads only regular files inside the archive.

@test "crafted load archives are refused at once, without echo, and the daemon stays whole" {
  local ev=$ARCA_T/hostile secret=$ARCA_T/host-secret
  echo "ARCASECRET-host-only" >"$secret"
  python3 "$ARCA_REPO/tests/fixtures/hostile_archives.py" "$ev" "$secret"
  local pid a hwm0 hwm
  pid=$(arca_pid)
  for a in symlink-host symlink-host-rel config-symlink fifo devzero-link devzero-node index-devzero dotdot \
    hardlink-out huge-manifest huge-pax; do
    echo 5 >"/proc/$pid/clear_refs" # VmHWM := VmRSS
    hwm0=$(daemon_status VmHWM)
    # a hung load (FIFO) ends at 30 s; memory eaten (/dev/zero) shows below
    ARCA_DOCKER_TIMEOUT=30 run docker load -i "$ev/$a.tar"
    hwm=$(daemon_status VmHWM)
    [ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "$a: docker load hung"
    assert_failure
    # in the 200 stream as dockerd (B6_compat), printed without "Error response from daemon"
    [[ "$output" == invalid* ]] || fail "$a: $output"
    assert_output_not_contains "ARCASECRET"
    assert_output_not_contains "$ARCA_T/data" # no path of the daemon's own
    [ $((hwm - hwm0)) -lt 65536 ] || fail "$a: the daemon grew by $((hwm - hwm0)) kB"
    ping_ok || fail "$a: the daemon stopped answering"
  done
  run docker image ls --format '{{.Repository}}'
  assert_output_not_contains "hostile"
  # nothing of the failed loads is left behind
  run ls -A "$ARCA_T/data/tmp"
  assert_output ""
  # and an honest archive still loads
  run docker load -i "$ARCA_FIXTURES/busybox-oci.tar"
  assert_success
}

# ---------------------------------------------------------------------------
# Finding 7: pull by digest verifies every algorithm it accepts.

@test "a manifest pulled by sha384 or sha512 digest is verified; other algorithms are refused" {
  local port i
  port=$(free_ports 1)
  python3 "$ARCA_REPO/tests/fixtures/lying_registry.py" "$port" </dev/null >/dev/null 2>&1 3>&- &
  echo $! >"$ARCA_T/lying.helper-pid"
  for i in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
    sleep 0.1
  done
  local h384 h512
  h384=$(printf 'b%.0s' $(seq 1 96))
  h512=$(printf 'a%.0s' $(seq 1 128))
  run docker pull "127.0.0.1:$port/evil@sha512:$h512"
  assert_failure
  assert_output_contains "manifest verification failed for digest sha512:$h512"
  run docker pull "127.0.0.1:$port/evil@sha384:$h384"
  assert_failure
  assert_output_contains "manifest verification failed for digest sha384:$h384"
  run api POST "/images/create?fromImage=127.0.0.1:$port/evil&tag=md5:d41d8cd98f00b204e9800998ecf8427e"
  assert_output '{"message":"unsupported digest algorithm"}'
  run docker image ls -q "127.0.0.1:$port/evil"
  assert_output ""
}

# ---------------------------------------------------------------------------
# Finding 8: HTTP limits.

@test "a 200 MB body to a route that takes none does not grow the daemon" {
  local pid hwm0 hwm
  pid=$(arca_pid)
  echo 5 >"/proc/$pid/clear_refs"
  hwm0=$(daemon_status VmHWM)
  run bash -c "head -c 200M /dev/zero | curl -sS --max-time 120 --unix-socket '$ARCA_T/arca.sock' -X GET \
    --data-binary @- -o /dev/null -w '%{http_code}' http://localhost/_ping"
  assert_output 200
  hwm=$(daemon_status VmHWM)
  [ $((hwm - hwm0)) -lt 32768 ] || fail "the daemon grew by $((hwm - hwm0)) kB"
  # a JSON route refuses a body over its limit before reading it
  run bash -c "head -c 100M /dev/zero | curl -sS --max-time 120 --unix-socket '$ARCA_T/arca.sock' -X POST \
    -H 'Content-Type: application/json' --data-binary @- -w ' %{http_code}' http://localhost/containers/create"
  assert_output_contains "request body too large"
  assert_output_contains " 413"
  hwm=$(daemon_status VmHWM)
  [ $((hwm - hwm0)) -lt 32768 ] || fail "the daemon grew by $((hwm - hwm0)) kB"
  ping_ok
}

@test "%00 in a path is refused instead of cutting the name short" {
  docker volume create nulvol >/dev/null
  run api GET '/volumes/nulvol%00y' -w ' %{http_code}'
  assert_output_contains " 400"
  assert_output_not_contains '"Name":"nulvol"'
  run api DELETE '/volumes/nulvol%00anything' -w ' %{http_code}'
  assert_output_contains " 400"
  run docker volume inspect -f '{{.Name}}' nulvol
  assert_output nulvol
  docker volume rm nulvol >/dev/null
}

# A raw client on the API socket: sends $2 and reports how the server ended.
raw_client() {
  python3 - "$ARCA_T/arca.sock" "$1" "$2" <<'EOF'
import socket, sys, time
path, data, wait = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode(), float(sys.argv[3])
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.sendall(data)
s.settimeout(wait)
t0 = time.monotonic()
got = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            print("closed after %.0f s" % (time.monotonic() - t0), "with", len(got), "bytes")
            break
        got += d
except socket.timeout:
    print("still open after %.0f s" % wait)
EOF
}

@test "connections that never finish their headers, or idle, are closed; streams and long calls are not" {
  # headers never finished / an answered keep-alive connection left idle
  run raw_client 'GET /_ping HTTP/1.1\r\nHost: x\r\n' 20
  assert_output_contains "closed after"
  assert_output_contains "with 0 bytes"
  run raw_client 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n' 20
  assert_output_contains "closed after"
  # streams silent for longer than the timeout (wait, logs -f, attach) and a
  # call busy for longer (stop -t) all end normally
  docker run -d --name slowpoke busybox sh -c "sleep $((IDLE_TIMEOUT * 2 + 1)); echo late-line" >/dev/null
  docker run -d --name stubborn busybox sh -c 'trap "" TERM; sleep 60' >/dev/null
  docker logs -f slowpoke >"$ARCA_T/logs-f.out" 2>&1 &
  local logs_pid=$!
  docker attach slowpoke >"$ARCA_T/attach.out" 2>&1 &
  local attach_pid=$!
  run docker stop -t $((IDLE_TIMEOUT + 2)) stubborn
  assert_success
  run docker wait slowpoke
  assert_success
  assert_output 0
  wait "$logs_pid"
  wait "$attach_pid" || true
  run cat "$ARCA_T/logs-f.out"
  assert_output late-line
  run cat "$ARCA_T/attach.out"
  assert_output late-line
  docker rm -f slowpoke stubborn >/dev/null
}

@test "connections beyond the limit are refused while the daemon stays bounded and answering" {
  # the default limit is 2048 connections (a thread each): open 2200 idle
  # ones and watch the daemon's threads until every connection was either
  # taken or refused (closed by the daemon)
  local before
  before=$(daemon_status Threads)
  run python3 - "$ARCA_T/arca.sock" "$(arca_pid)" <<'EOF'
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
path, pid = sys.argv[1], sys.argv[2]
socks = []
for i in range(2200):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.setblocking(False)
    socks.append(s)
def threads():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("Threads:"):
            return int(line.split()[1])
def closed(s):
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
most, refused, stable = 0, 0, 0
for i in range(150):                       # 30 s at most
    t = threads()
    refused = sum(1 for s in socks if closed(s))
    stable = stable + 1 if t == most else 0
    most = max(most, t)
    if refused + most >= 2200 and stable >= 5:
        break
    time.sleep(0.2)
print(most, refused)
EOF
  assert_success
  local most refused
  read -r most refused <<<"$output"
  [ "$most" -le $((before + 2048 + 16)) ] || fail "daemon threads: $most (before: $before)"
  [ "$refused" -ge 100 ] || fail "only $refused of 2200 connections refused"
  retry 50 0.2 ping_ok
}

# ---------------------------------------------------------------------------
# Finding 9: linear-time lists.

# Kill what runs in a container's cgroup (the runtime's own init): runc sets
# each variable with setenv, quadratic in itself as under dockerd.
stop_huge_env_runtime() {
  local id pid
  id=$(cat "$ARCA_T/huge-env.id" 2>/dev/null) || return 0
  for pid in $(cat /sys/fs/cgroup/*/arca/"$id"/cgroup.procs /sys/fs/cgroup/arca/"$id"/cgroup.procs 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

@test "a create and start with 200,000 Env entries get through the daemon at once" {
  python3 -c '
import json, sys
env = ["E%d=v%d" % (i, i) for i in range(200000)]
json.dump({"Image": "busybox", "Cmd": ["true"], "Env": env}, open(sys.argv[1], "w"))' "$ARCA_T/env.json"
  local id
  id=$(api POST /containers/create -H 'Content-Type: application/json' --data-binary @"$ARCA_T/env.json" | jq -r .Id)
  [ -n "$id" ] && [ "$id" != null ] || fail "create failed"
  echo "$id" >"$ARCA_T/huge-env.id"
  curl -s --max-time 300 --unix-socket "$ARCA_T/arca.sock" -X POST "http://localhost/containers/$id/start" \
    >"$ARCA_T/huge-env.start" 2>&1 &
  local start_pid=$! i written=no
  # the daemon's part (merging the environment, writing the spec) is done
  # once config.json holds the last entry: seconds, where a quadratic merge
  # takes minutes
  for i in $(seq 1 60); do
    if grep -qs '"E199999=v199999"' "$ARCA_T/data/containers/$id/config.json"; then
      written=yes
      break
    fi
    sleep 1
  done
  [ "$written" = yes ] || fail "the start did not get past the daemon in 60 s"
  # the runtime's init sets 200,000 variables one by one; end it
  for i in $(seq 1 100); do
    stop_huge_env_runtime
    kill -0 "$start_pid" 2>/dev/null || break
    sleep 0.2
  done
  wait "$start_pid" || true
  run docker inspect -f '{{len .Config.Env}}' "$id"
  assert_output 200001
  docker rm -f "$id" >/dev/null
  rm -f "$ARCA_T/huge-env.id"
}

# ---------------------------------------------------------------------------
# Finding 10: rm -f during a start.

@test "rm -f racing starts: the removed containers stay gone after a daemon restart" {
  local i ids=() pids=()
  for i in $(seq 1 10); do
    ids+=("$(docker create --name "race$i" busybox sleep 300)")
  done
  for i in $(seq 1 10); do
    docker start "race$i" >/dev/null 2>&1 &
    pids+=($!)
    sleep "0.0$i"
    docker rm -f "race$i" >/dev/null 2>&1 || true
  done
  for i in "${pids[@]}"; do
    wait "$i" || true
  done
  run docker ps -aq --filter name=race
  assert_output ""
  arca_restart
  run docker ps -aq --filter name=race
  assert_output ""
  # nothing of them is left: no record, no directory, no process
  local id cg
  for id in "${ids[@]}"; do
    [ ! -e "$ARCA_T/data/containers/$id" ] || fail "directory of $id left"
    for cg in /sys/fs/cgroup/*/arca/"$id" /sys/fs/cgroup/arca/"$id"; do
      [ ! -s "$cg/cgroup.procs" ] || fail "processes of $id left: $(cat "$cg/cgroup.procs")"
    done
  done
}
