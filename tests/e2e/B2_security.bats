#!/usr/bin/env bats
# Security options and namespaces take effect as on dockerd (issue 11):
# --privileged, --cap-add/--cap-drop, seccomp (unconfined and profiles),
# no-new-privileges, sysctls, --pid/--ipc/--uts/--cgroupns modes.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

teardown() {
  arca_teardown_test
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
}

# CapEff of PID 1 inside a container run with args.
capeff() {
  docker run --rm "$@" busybox sh -c 'grep CapEff /proc/self/status' | awk '{print $2}'
}

@test "--cap-drop ALL leaves no capabilities; --cap-add adds one; names with or without CAP_" {
  run capeff --cap-drop ALL
  assert_output 0000000000000000
  run capeff --cap-drop ALL --cap-add NET_BIND_SERVICE
  assert_output 0000000000000400
  run capeff --cap-drop all --cap-add cap_net_bind_service
  assert_output 0000000000000400
  run docker run --rm --cap-drop ALL busybox chown 1 /tmp
  assert_failure
  assert_output_contains "Operation not permitted"
  run docker run --rm --cap-add FOO busybox true
  assert_failure
  assert_output_contains 'unknown capability: "CAP_FOO"'
}

@test "--privileged: all capabilities, host devices, writable /sys, no seccomp or masked paths" {
  run docker run --rm busybox sh -c 'grep Seccomp: /proc/self/status'
  assert_output "Seccomp:	2"
  run docker run --rm --privileged busybox sh -c 'grep Seccomp: /proc/self/status; ls /dev/loop-control; touch /sys/kernel/uevent_helper 2>&1 && echo sys-rw; cat /proc/keys >/dev/null 2>&1; head -c 0 /proc/keys && echo keys-visible'
  assert_output_contains "Seccomp:	0"
  assert_output_contains "/dev/loop-control"
  assert_output_contains "keys-visible"
  run docker run --rm --privileged busybox sh -c 'grep CapBnd /proc/self/status'
  assert_output_not_contains "00000000a80425fb"
  run docker run --rm busybox sh -c 'mount | grep " /sys "'
  assert_output_contains "(ro,"
  run docker run --rm --privileged busybox sh -c 'mount | grep " /sys "'
  assert_output_contains "(rw,"
}

@test "seccomp=unconfined and a profile file in Docker's format" {
  run docker run --rm --security-opt seccomp=unconfined busybox sh -c 'grep Seccomp: /proc/self/status'
  assert_output "Seccomp:	0"
  # a profile that refuses mkdir with EPERM: Docker's format (archMap, names)
  cat >"$BATS_TEST_TMPDIR/p.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},{"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
EOF
  run docker run --rm --security-opt seccomp="$BATS_TEST_TMPDIR/p.json" busybox sh -c 'mkdir /tmp/x && echo made'
  assert_failure
  assert_output_contains "Operation not permitted"
  run docker run --rm busybox sh -c 'mkdir /tmp/x && echo made'
  assert_output made
  # a profile that does not decode fails the start
  echo '{"defaultAction":' >"$BATS_TEST_TMPDIR/bad.json"
  run docker run --rm --security-opt seccomp="$BATS_TEST_TMPDIR/bad.json" busybox true
  assert_failure
}

@test "no-new-privileges: NoNewPrivs set inside; bad values refused" {
  run docker run --rm busybox sh -c 'grep NoNewPrivs /proc/self/status'
  assert_output "NoNewPrivs:	0"
  run docker run --rm --security-opt no-new-privileges busybox sh -c 'grep NoNewPrivs /proc/self/status'
  assert_output "NoNewPrivs:	1"
  run docker run --rm --security-opt no-new-privileges:true busybox sh -c 'grep NoNewPrivs /proc/self/status'
  assert_output "NoNewPrivs:	1"
  run docker run --rm --security-opt no-new-privileges=false busybox sh -c 'grep NoNewPrivs /proc/self/status'
  assert_output "NoNewPrivs:	0"
  run docker run --rm --security-opt no-new-privileges=maybe busybox true
  assert_failure 125
  assert_output_contains 'invalid --security-opt 2: "no-new-privileges=maybe"'
  # apparmor and label are accepted as dockerd does on a host without them
  run docker run --rm --security-opt apparmor=unconfined --security-opt label=disable busybox echo ok
  assert_output ok
}

@test "systempaths=unconfined and --read-only" {
  # /proc/sys is a read-only bind and /proc/keys masked, unless unconfined
  run docker run --rm busybox sh -c 'mount | grep -c -e " /proc/sys " -e " /proc/keys "'
  assert_output 2
  run docker run --rm --security-opt systempaths=unconfined busybox sh -c 'mount | grep -c -e " /proc/sys " -e " /proc/keys " || true'
  assert_output 0
  run docker run --rm --read-only busybox sh -c 'touch /x'
  assert_failure
  assert_output_contains "Read-only file system"
}

@test "--sysctl sets namespaced sysctls; net.* is refused with host networking" {
  run docker run --rm --sysctl net.ipv4.ip_forward=1 busybox cat /proc/sys/net/ipv4/ip_forward
  assert_output 1
  run docker run --rm --sysctl kernel.msgmax=65536 busybox cat /proc/sys/kernel/msgmax
  assert_output 65536
  run docker run --rm --network host --sysctl net.ipv4.ip_forward=1 busybox true
  assert_failure
  assert_output_contains "not allowed in host network namespace"
}

@test "--pid host and container:<name>; --uts host; --ipc host, shareable and container:<name>" {
  run docker run --rm --pid host busybox sh -c 'ls /proc 2>/dev/null | grep -c "^[0-9]"'
  [ "$output" -gt 10 ]
  run docker run --rm busybox sh -c 'ls /proc 2>/dev/null | grep -c "^[0-9]"'
  [ "$output" -lt 5 ]
  # --init only applies with a PID namespace of the container's own
  run docker run --rm --init --pid host busybox sh -c 'cat /proc/$PPID/comm'
  assert_output_not_contains "tini"
  assert_output_not_contains "docker-init"
  run docker run --rm --init busybox sh -c 'cat /proc/$PPID/comm'
  assert_line_matches "tini|docker-init"
  docker run -d --name pidsrc busybox sleep 300 >/dev/null
  run docker run --rm --pid container:pidsrc busybox ps -o args
  assert_output_contains "sleep 300"
  # the stored mode names the container by ID (renames do not break it)
  id=$(docker create --pid container:pidsrc busybox true)
  run docker inspect -f '{{.HostConfig.PidMode}}' "$id"
  assert_output "container:$(docker inspect -f '{{.Id}}' pidsrc)"
  docker rm "$id" >/dev/null
  run docker run --rm --uts host busybox hostname
  assert_output "$(hostname)"
  run docker run --rm --uts host -h foo busybox true
  assert_failure
  assert_output_contains "conflicting options: hostname and the UTS mode"
  # ipc: a shareable container's /dev/shm and IPC namespace are joined
  docker run -d --name ipcsrc --ipc shareable busybox sh -c 'echo shared > /dev/shm/f; sleep 300' >/dev/null
  retry 50 0.1 docker exec ipcsrc test -f /dev/shm/f
  run docker run --rm --ipc container:ipcsrc busybox cat /dev/shm/f
  assert_output shared
  run docker run --rm --ipc container:pidsrc busybox true
  assert_failure
  assert_output_contains "non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
  run docker run --rm --ipc host busybox sh -c 'readlink /proc/self/ns/ipc'
  assert_output "$(readlink /proc/self/ns/ipc)"
  run docker run --rm --ipc none busybox sh -c 'mount | grep -c " /dev/shm " || true'
  assert_output 0
  docker stop -t 0 pidsrc >/dev/null
  run docker run --rm --pid container:pidsrc busybox true
  assert_failure
  assert_output_contains "is not running"
}

@test "--network container:<name> joins its network namespace, again after either restarts" {
  docker run -d --name netsrc busybox sleep 300 >/dev/null
  docker run -d --name netjoin --network container:netsrc busybox sleep 300 >/dev/null
  a=$(docker exec netsrc readlink /proc/self/ns/net)
  run docker exec netjoin readlink /proc/self/ns/net
  assert_output "$a"
  docker restart -t 0 netsrc >/dev/null
  docker restart -t 0 netjoin >/dev/null
  a=$(docker exec netsrc readlink /proc/self/ns/net)
  run docker exec netjoin readlink /proc/self/ns/net
  assert_output "$a"
}

@test "--cgroupns private gives a cgroup namespace; host keeps the host's" {
  run docker run --rm --cgroupns private busybox readlink /proc/self/ns/cgroup
  [ "$output" != "$(readlink /proc/self/ns/cgroup)" ]
  run docker run --rm --cgroupns host busybox readlink /proc/self/ns/cgroup
  assert_output "$(readlink /proc/self/ns/cgroup)"
  run docker run --rm --userns host busybox echo ok
  assert_output ok
}
