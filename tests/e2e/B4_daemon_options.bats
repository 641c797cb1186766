#!/usr/bin/env bats
# Daemon-wide container defaults in the config file, as daemon.json's
# (issue 11): runtimes chosen per container, seccomp-profile,
# default-cgroupns-mode.

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

# config_set PYTHON-EXPR...: edit $ARCA_T/config.json (c is the object),
# then restart the daemon with it.
config_restart() {
  python3 - "$ARCA_T/config.json" "$1" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"))
EOF
  arca_stop
  arca_start
}

@test "a configured runtime is used for the containers that name it" {
  config_restart 'c["runtimes"] = {"runc": {"path": "runc"}, "other": {"path": "runc"}}'
  docker run -d --name rt1 --runtime other busybox sleep 300 >/dev/null
  id=$(docker inspect -f '{{.Id}}' rt1)
  run docker inspect -f '{{.HostConfig.Runtime}}' rt1
  assert_output other
  # its state lives under that runtime's root; pause goes through it too
  [ -d "$ARCA_T/exec/other/$id" ]
  [ ! -d "$ARCA_T/exec/runc/$id" ]
  docker pause rt1 >/dev/null
  run docker inspect -f '{{.State.Paused}}' rt1
  assert_output true
  docker unpause rt1 >/dev/null
  docker update -m 64m --memory-swap 128m rt1 >/dev/null
  docker rm -f rt1 >/dev/null
  run docker run --rm --runtime nosuch busybox true
  assert_output_contains "unknown or invalid runtime name: nosuch"
}

@test "seccomp-profile: the daemon's profile applies unless the container names one" {
  cat >"$ARCA_T/deny-mkdir.json" <<'EOF'
{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},{"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}
EOF
  config_restart "c['seccomp-profile'] = '$ARCA_T/deny-mkdir.json'"
  run docker run --rm busybox mkdir /tmp/d
  assert_failure
  assert_output_contains "Operation not permitted"
  run docker run --rm --security-opt seccomp=unconfined busybox sh -c 'mkdir /tmp/d && echo made'
  assert_output made
  config_restart "c['seccomp-profile'] = 'unconfined'"
  run docker run --rm busybox sh -c 'grep Seccomp: /proc/self/status'
  assert_output "Seccomp:	0"
  config_restart "c.pop('seccomp-profile', None)"
  run docker run --rm busybox sh -c 'grep Seccomp: /proc/self/status'
  assert_output "Seccomp:	2"
}

@test "default-cgroupns-mode private gives containers a cgroup namespace" {
  config_restart 'c["default-cgroupns-mode"] = "private"'
  id=$(docker create busybox readlink /proc/self/ns/cgroup)
  run docker inspect -f '{{.HostConfig.CgroupnsMode}}' "$id"
  assert_output private
  run docker start -a "$id"
  [ "$output" != "$(readlink /proc/self/ns/cgroup)" ]
  config_restart 'c["default-cgroupns-mode"] = "bogus"' || true
  run grep -c "default cgroup namespace mode (bogus) is invalid" "$ARCA_T/daemon.log"
  [ "$output" -ge 1 ]
  python3 - "$ARCA_T/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c.pop("default-cgroupns-mode", None)
json.dump(c, open(sys.argv[1], "w"))
EOF
  arca_start
}
