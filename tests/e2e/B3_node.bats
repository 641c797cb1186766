#!/usr/bin/env bats
# Node.js clients (issue 10): dockerode's getEvents (live and since/until)
# and testcontainers' health wait strategy (Wait.forHealthCheck), from
# tests/node (installed by scripts/setup.sh from its package-lock.json).
# The outputs are those the same scripts print against a reference
# dockerd 20.10.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  [ -d "$ARCA_REPO/tests/node/node_modules/testcontainers" ] || fail "tests/node not installed: run scripts/setup.sh"
}

# node_run SCRIPT ARGS...: a script of tests/node, time-boxed.  Ryuk, the
# reaper container of testcontainers, is a Docker Hub image: disabled.
node_run() {
  local script=$1
  shift
  (cd "$ARCA_REPO/tests/node" && TESTCONTAINERS_RYUK_DISABLED=true timeout -k 5 90 node "$script" "$@")
}

@test "dockerode getEvents: live events of a container's life, then a since/until replay" {
  run node_run events.js node-ev
  assert_success
  assert_output "live container create node-ev
live container start node-ev
live container die node-ev exitCode=7
live container destroy node-ev
wait StatusCode=7
past container die node-ev status=die from=busybox"
}

@test "testcontainers: Wait.forHealthCheck returns once the container is healthy" {
  run node_run health.js healthy
  assert_success
  assert_line_matches '^started after [0-9]+s, exec exit 0$'
  assert_line_matches '^stopped$'
  # it waited for the health_status event's state, not less
  run docker events --since 0 --until "$(date +%s.%N)" --filter event=health_status --format '{{.Action}}'
  assert_output "health_status: healthy"
}

@test "testcontainers: Wait.forHealthCheck fails on an unhealthy container" {
  run node_run health.js unhealthy
  assert_failure 3
  assert_output "start failed: Health check failed: unhealthy"
}
