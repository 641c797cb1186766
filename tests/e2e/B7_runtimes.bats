#!/usr/bin/env bats
# crun is the default runtime when installed, runc stays selectable, and
# both give a container the same cgroups, limits and errors (issue 15: crun
# as the fast path).  On a hybrid cgroup host crun runs in a mount namespace
# without the cgroup2 mount (util/cgview.h); the host's mounts stay as they
# were.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

limits() {
  docker run --rm --runtime "$1" -m 64m --memory-swap 128m --pids-limit 30 --cpus 0.5 --cpu-shares 512 \
    --cpuset-cpus 0 busybox sh -c 'cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes \
      memory/memory.memsw.limit_in_bytes pids/pids.max cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
      cpu/cpu.shares cpuset/cpuset.cpus'
}

@test "crun is the default runtime; runc is listed beside it" {
  run docker info -f '{{.DefaultRuntime}}'
  assert_output crun
  run docker info -f '{{range $k, $v := .Runtimes}}{{$k}} {{end}}'
  assert_output "crun runc "
  run docker run --rm busybox echo ok
  assert_output ok
}

@test "both runtimes set the same cgroup v1 limits" {
  run limits crun
  assert_success
  crun_out=$output
  run limits runc
  assert_success
  assert_output "$crun_out"
  assert_output "67108864
134217728
30
50000
100000
512
0"
}

@test "a command that cannot run: 127 and 126 with runc's words under both runtimes" {
  for rt in crun runc; do
    run docker run --rm --runtime "$rt" busybox nosuch
    assert_failure 127
    assert_output_contains 'exec: "nosuch": executable file not found in $PATH'
    run docker run --rm --runtime "$rt" busybox /nosuch
    assert_failure 127
    assert_output_contains 'exec: "/nosuch": stat /nosuch: no such file or directory'
    run docker run --rm --runtime "$rt" busybox /etc/passwd
    assert_failure 126
    assert_output_contains 'exec: "/etc/passwd": permission denied'
    run docker run --rm --runtime "$rt" busybox /etc
    assert_failure 126
    assert_output_contains 'permission denied'
    id=$(docker run -d --runtime "$rt" busybox sleep 60)
    run docker exec "$id" /nope
    assert_failure 126
    assert_output_contains 'OCI runtime exec failed: exec failed: unable to start container process: exec: "/nope": stat /nope: no such file or directory: unknown'
    run docker exec "$id" nope
    assert_failure 126
    assert_output_contains 'exec: "nope": executable file not found in $PATH'
    docker rm -f "$id" >/dev/null
  done
}

@test "docker update sets and lifts limits under crun" {
  id=$(docker run -d --runtime crun busybox sleep 60)
  docker update --pids-limit 20 --cpu-quota 20000 -m 80m --memory-swap 160m "$id" >/dev/null
  run docker exec "$id" cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
    /sys/fs/cgroup/memory/memory.limit_in_bytes
  assert_output "20
20000
83886080"
  # "no limit" (-1), which crun 1.8 cannot write to a v1 file itself
  docker update --pids-limit -1 --cpu-quota -1 "$id" >/dev/null
  run docker exec "$id" cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us
  assert_output "max
-1"
  # dockerd records an unlimited PidsLimit as 0 (moby daemon/update.go)
  run docker inspect -f '{{.HostConfig.PidsLimit}} {{.HostConfig.CpuQuota}}' "$id"
  assert_output "0 -1"
  docker rm -f "$id" >/dev/null
}

@test "pause, top, stats and kill work under crun; its cgroups go with the container" {
  id=$(docker run -d --runtime crun busybox sleep 60)
  docker pause "$id" >/dev/null
  run cat "/sys/fs/cgroup/freezer/arca/$id/freezer.state"
  assert_output FROZEN
  docker unpause "$id" >/dev/null
  run docker top "$id"
  assert_output_contains "sleep 60"
  run docker stats --no-stream --format '{{.PIDs}}' "$id"
  assert_output 1
  docker kill "$id" >/dev/null
  run docker wait "$id"
  assert_output 137
  docker rm "$id" >/dev/null
  for c in memory pids cpu freezer; do
    [ ! -e "/sys/fs/cgroup/$c/arca/$id" ] || fail "cgroup $c/arca/$id left"
  done
}

@test "the host keeps its cgroup2 mount; no mount of a crun container stays" {
  before=$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || echo none)
  id=$(docker run -d --runtime crun busybox sleep 60)
  docker exec "$id" true
  docker update --pids-limit -1 "$id" >/dev/null
  docker pause "$id" >/dev/null
  docker unpause "$id" >/dev/null
  docker rm -f "$id" >/dev/null
  run stat -f -c %T /sys/fs/cgroup/unified
  [ "$before" = none ] || assert_output "$before"
  ! grep -q "$id" /proc/self/mountinfo || fail "mounts of $id left: $(grep "$id" /proc/self/mountinfo)"
}

@test "namespaced sysctls: runc's refusals under both runtimes" {
  for rt in crun runc; do
    run docker run --rm --runtime "$rt" --network host --sysctl net.ipv4.ip_forward=1 busybox true
    assert_failure
    assert_output_contains 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'
    run docker run --rm --runtime "$rt" --ipc host --sysctl kernel.msgmax=8192 busybox true
    assert_failure
    assert_output_contains 'sysctl "kernel.msgmax" is not allowed in the hosts ipc namespace'
    run docker run --rm --runtime "$rt" --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward
    assert_output 1
  done
}

@test "kill -9 of the daemon: a crun container is re-adopted and stopped as before" {
  id=$(docker run -d --runtime crun busybox sleep 600)
  arca_kill9
  arca_start
  run docker inspect -f '{{.State.Status}}' "$id"
  assert_output running
  run docker exec "$id" echo back
  assert_output back
  docker stop -t 1 "$id" >/dev/null
  run docker inspect -f '{{.State.Status}}' "$id"
  assert_output exited
  [ ! -e "$ARCA_T/exec/crun/$id" ] || fail "crun state of $id left"
  docker rm "$id" >/dev/null
}

@test "crun gets the seccomp filter compiled, byte for byte the filter crun compiles itself" {
  a=$(docker run -d --runtime crun busybox sleep 60)
  cfg=$ARCA_T/data/containers/$a/config.json
  run jq -r '.annotations["run.oci.seccomp_bpf_data"] // empty' "$cfg"
  [ -n "$output" ] || fail "no compiled filter in the spec"
  # the rules leave crun's spec; runc's, for the same options, keeps them
  run jq -r '.linux.seccomp | has("syscalls"), .defaultAction' "$cfg"
  assert_output "false
SCMP_ACT_ERRNO"
  r=$(docker run -d --runtime runc busybox sleep 60)
  rcfg=$ARCA_T/data/containers/$r/config.json
  run jq -r '[.linux.seccomp.syscalls[].names[]] | length > 100' "$rcfg"
  assert_output true
  # crun's own compile of those rules: the same bundle without the
  # annotation, created (never started) in a cgroup and state root of its own
  mkdir -p "$ARCA_T/cmp/crun"
  jq --arg cg "/arca-cmp/$a" --slurpfile r "$rcfg" \
    'del(.annotations["run.oci.seccomp_bpf_data"]) | .linux.cgroupsPath = $cg | .linux.seccomp = $r[0].linux.seccomp' \
    "$cfg" >"$ARCA_T/cmp/config.json"
  rt_cmd crun --root "$ARCA_T/cmp/crun" create --bundle "$ARCA_T/cmp" cmp-$$ </dev/null >/dev/null 2>&1 3>&- ||
    fail "crun create of the copy failed"
  cmp "$ARCA_T/exec/crun/$a/seccomp.bpf" "$ARCA_T/cmp/crun/cmp-$$/seccomp.bpf" || fail "the filters differ"
  rt_cmd crun --root "$ARCA_T/cmp/crun" delete -f cmp-$$ >/dev/null 2>&1
  rmdir /sys/fs/cgroup/*/arca-cmp 2>/dev/null || true
  # and it filters, in the container's process and in an exec (crun's exec
  # takes the seccomp.bpf its run saved): the default profile refuses
  # unshare(CLONE_NEWUSER)
  run docker run --rm --runtime crun busybox unshare -U true
  assert_failure
  assert_output_contains "Operation not permitted"
  run docker exec "$a" unshare -U true
  assert_failure
  assert_output_contains "Operation not permitted"
  docker rm -f "$a" "$r" >/dev/null
}

@test "a custom seccomp profile takes effect under crun as under runc" {
  cat >"$ARCA_T/deny-mkdir.json" <<'J'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
J
  for rt in crun runc; do
    run docker run --rm --runtime "$rt" --security-opt seccomp="$ARCA_T/deny-mkdir.json" busybox mkdir /x
    assert_failure
    assert_output_contains "Permission denied"
    run docker run --rm --runtime "$rt" --security-opt seccomp="$ARCA_T/deny-mkdir.json" busybox touch /x
    assert_success
  done
}

@test "a top-level Runtime counts when the body has no HostConfig, as on dockerd 20.10" {
  # docker-py: create_container(runtime='runc') sends it so, with HostConfig null
  run api POST /v1.44/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"Runtime":"runc","HostConfig":null}'
  id=$(echo "$output" | jq -r .Id)
  run docker inspect -f '{{.HostConfig.Runtime}}' "$id"
  assert_output runc
  # an unknown one is refused (dockerd 20.10: 400) and creates nothing
  before=$(docker ps -aq | wc -l)
  run api POST /v1.44/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"Runtime":"nosuch"}' -w ' %{http_code}'
  assert_output_contains "nosuch"
  assert_output_contains " 400"
  [ "$(docker ps -aq | wc -l)" = "$before" ]
  # beside a HostConfig it is ignored (dockerd 20.10: 201, the default runtime)
  run api POST /v1.44/containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","Cmd":["true"],"Runtime":"nosuch","HostConfig":{}}'
  id2=$(echo "$output" | jq -r .Id)
  run docker inspect -f '{{.HostConfig.Runtime}}' "$id2"
  assert_output crun
  docker rm "$id" "$id2" >/dev/null
}

# runtime/oci.c sealed_copy: runc and crun re-execute themselves from a
# sealed copy at every call (CVE-2019-5736) unless /proc/self/exe already
# is a memfd with all four seals; the daemon makes that copy once and each
# shim runs the runtime from it.
shim_of() {
  local f cmd
  for f in /proc/[0-9]*/cmdline; do
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case "$cmd" in *arca-shim*"--id $1 "*) f=${f#/proc/}; echo "${f%/cmdline}"; return 0 ;; esac
  done
  return 1
}

@test "both runtimes run from a sealed copy of their executable, made once by the daemon" {
  for rt in crun runc; do
    id=$(docker run -d --runtime "$rt" busybox sleep 600)
    pid=$(shim_of "$id") || fail "no shim for $id"
    run readlink "/proc/$pid/fd/4"
    assert_output_contains "memfd:arca-runtime"
    cmp "/proc/$pid/fd/4" "$(command -v "$rt")"
    # F_GET_SEALS (1034): seal, shrink, grow and write (15), what runc's and
    # crun's is_self_cloned require.
    run python3 -c 'import fcntl, sys; print(fcntl.fcntl(open(sys.argv[1], "rb"), 1034))' "/proc/$pid/fd/4"
    assert_output 15
    run docker exec "$id" echo "exec under $rt"
    assert_output "exec under $rt"
    docker pause "$id" >/dev/null
    docker unpause "$id" >/dev/null
    docker rm -f "$id" >/dev/null
  done
  # The daemon holds one copy per runtime, not one per container.
  run sh -c "ls -l /proc/$(arca_pid)/fd | grep -c 'memfd:arca-runtime'"
  assert_output 2
}
