#!/usr/bin/env bats
# Healthchecks (issue 10): Config.Healthcheck and the image's HEALTHCHECK,
# probes run as execs, State.Health, `docker ps` status, the health filter,
# health_status events, and health across stops, pauses and daemon
# restarts (kill -9 included).  Behaviour as moby daemon/health.go; event
# sequences checked against a reference dockerd 20.10.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

now() { date +%s.%N; }

# health NAME: State.Health.Status
health() { docker inspect -f '{{.State.Health.Status}}' "$1"; }

# wait_health NAME STATUS [SECONDS]: poll until State.Health.Status is it.
wait_health() {
  local i n=$(( ${3:-10} * 10 ))
  for ((i = 0; i < n; i++)); do
    [ "$(health "$1" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.1
  done
  echo "health of $1: $(health "$1" 2>&1), wanted $2" >&2
  return 1
}

# health_events SINCE NAME: the health_status actions of NAME since SINCE.
health_events() {
  docker events --since "$1" --until "$(now)" --filter container="$2" --filter event=health_status \
    --format '{{.Action}}'
}

@test "--health-cmd true --health-interval 1s: healthy within 3 s, ps shows (healthy)" {
  local s t0
  s=$(now)
  t0=$SECONDS
  docker run -d --name h-ok --health-cmd true --health-interval 1s busybox sleep 300
  run health h-ok
  assert_output starting
  run docker ps --filter name=h-ok --format '{{.Status}}'
  assert_line_matches '^Up .* \(health: starting\)$'
  wait_health h-ok healthy 3
  [ $((SECONDS - t0)) -le 4 ] || fail "healthy after $((SECONDS - t0)) s"
  run docker ps --filter name=h-ok --format '{{.Status}}'
  assert_line_matches '^Up .* \(healthy\)$'
  run health_events "$s" h-ok
  assert_output "health_status: healthy"
  run docker inspect -f '{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}' h-ok
  assert_output "0 0"
  docker rm -f h-ok
}

@test "a failing probe: unhealthy after Retries, with its output in the log" {
  local s
  s=$(now)
  docker run -d --name h-bad --health-cmd 'echo hi; echo err >&2; exit 1' --health-interval 1s --health-retries 2 \
    busybox sleep 300
  wait_health h-bad unhealthy 6
  run docker inspect -f '{{.State.Health.FailingStreak}}' h-bad
  [ "$output" -ge 2 ] || fail "FailingStreak $output"
  run docker inspect -f '{{json (index .State.Health.Log 0)}}' h-bad
  run jq -r '[.ExitCode, .Output] | @json' <<<"$output"
  assert_output '[1,"hi\nerr\n"]'
  run docker ps --filter name=h-bad --format '{{.Status}}'
  assert_line_matches '^Up .* \(unhealthy\)$'
  run health_events "$s" h-bad
  assert_output "health_status: unhealthy"
  docker rm -f h-bad
}

@test "transitions starting -> healthy -> unhealthy -> healthy, each an event" {
  local s
  s=$(now)
  docker run -d --name h-flip --health-cmd 'test -f /tmp/ok' --health-interval 1s --health-retries 2 \
    busybox sh -c 'touch /tmp/ok; sleep 300'
  wait_health h-flip healthy 5
  docker exec h-flip rm /tmp/ok
  wait_health h-flip unhealthy 6
  docker exec h-flip touch /tmp/ok
  wait_health h-flip healthy 5
  run health_events "$s" h-flip
  assert_output "health_status: healthy
health_status: unhealthy
health_status: healthy"
  # every probe is an exec with its events (moby cmdProbe)
  run docker events --since "$s" --until "$(now)" --filter container=h-flip --filter event=exec_create \
    --format '{{.Action}}'
  assert_line_matches '^exec_create: /bin/sh -c test -f /tmp/ok$'
  docker rm -f h-flip
}

@test "the health filter of docker ps, and its error" {
  docker run -d --name h-f1 --health-cmd true --health-interval 1s busybox sleep 300
  docker run -d --name h-f2 --health-cmd false --health-interval 1s --health-retries 1 busybox sleep 300
  docker run -d --name h-f3 busybox sleep 300
  docker run -d --name h-f4 --health-cmd true busybox sleep 300 # default interval 30s: starting
  wait_health h-f1 healthy 5
  wait_health h-f2 unhealthy 5
  run docker ps --filter health=healthy --format '{{.Names}}'
  assert_output h-f1
  run docker ps --filter health=unhealthy --format '{{.Names}}'
  assert_output h-f2
  run docker ps --filter health=starting --format '{{.Names}}'
  assert_output h-f4
  run docker ps --filter health=none --format '{{.Names}}'
  assert_output h-f3
  run docker ps --filter health=bogus
  assert_failure
  assert_output_contains "invalid filter 'health=bogus': invalid value for health (bogus): must be one of none, starting, healthy, unhealthy"
  docker rm -f h-f1 h-f2 h-f3 h-f4
}

@test "a probe past its timeout is killed and counts as a failure" {
  docker run -d --name h-slow --health-cmd 'sleep 5' --health-interval 1s --health-timeout 1s busybox sleep 300
  local i
  for ((i = 0; i < 60; i++)); do
    [ "$(docker inspect -f '{{len .State.Health.Log}}' h-slow)" -ge 1 ] && break
    sleep 0.1
  done
  run docker inspect -f '{{json (index .State.Health.Log 0)}}' h-slow
  run jq -r '[.ExitCode, .Output] | @json' <<<"$output"
  assert_output '[-1,"Health check exceeded timeout (1s)"]'
  # the probe's process is gone: no exec is left running in the container
  run docker inspect -f '{{json .State.Health.FailingStreak}}' h-slow
  [ "$output" -ge 1 ]
  docker rm -f h-slow
}

@test "the log keeps the last 5 probes; output is cut at 4096 bytes" {
  docker run -d --name h-log --health-cmd 'head -c 5000 /dev/zero | tr "\0" x' --health-interval 1s \
    busybox sleep 300
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(docker inspect -f '{{len .State.Health.Log}}' h-log)" -ge 5 ] && break
    sleep 0.1
  done
  sleep 1.5
  run docker inspect -f '{{len .State.Health.Log}}' h-log
  assert_output 5
  run docker inspect -f '{{json (index .State.Health.Log 0).Output}}' h-log
  run jq -r 'length' <<<"$output"
  assert_output 4099 # 4096 and "..."
  docker rm -f h-log
}

@test "invalid healthchecks are refused at create with dockerd's messages" {
  run docker run -d --name h-inval --health-cmd true --health-interval 500us busybox true
  assert_failure
  assert_output_contains "Interval in Healthcheck cannot be less than 1ms"
  run docker inspect h-inval
  assert_failure
  local body='{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Retries":-1}}'
  run api POST /containers/create -H 'Content-Type: application/json' -d "$body" -w '%{http_code}'
  assert_output '{"message":"Retries in Healthcheck cannot be negative"}
400'
  body='{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Timeout":10}}'
  run api POST /containers/create -H 'Content-Type: application/json' -d "$body" -w '%{http_code}'
  assert_output '{"message":"Timeout in Healthcheck cannot be less than 1ms"}
400'
  body='{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"StartPeriod":-5}}'
  run api POST /containers/create -H 'Content-Type: application/json' -d "$body" -w '%{http_code}'
  assert_output '{"message":"StartPeriod in Healthcheck cannot be less than 1ms"}
400'
  body='{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"StartInterval":999}}'
  run api POST /containers/create -H 'Content-Type: application/json' -d "$body" -w '%{http_code}'
  assert_output '{"message":"StartInterval in Healthcheck cannot be less than 1ms"}
400'
  # StartInterval came with API 1.44: older clients' values are dropped
  run api POST "/v1.43/containers/create?name=h-old" -H 'Content-Type: application/json' -d "$body"
  assert_success
  run docker inspect -f '{{json .Config.Healthcheck}}' h-old
  assert_output '{"Test":["CMD","true"]}'
  docker rm h-old
  # nothing was left by the refused ones
  run docker ps -aq --filter status=created
  assert_output ""
}

@test "CMD form, Config.Shell, StartPeriod and StartInterval" {
  local body='{"Image":"busybox","Cmd":["sleep","300"],"Healthcheck":{"Test":["CMD","test","-d","/etc"],"Interval":1000000000}}'
  api POST "/containers/create?name=h-cmd" -H 'Content-Type: application/json' -d "$body" >/dev/null
  docker start h-cmd
  wait_health h-cmd healthy 5
  run docker events --since 0 --until "$(now)" --filter container=h-cmd --filter event=exec_start --format '{{.Action}}'
  assert_line_matches '^exec_start: test -d /etc$'
  # CMD-SHELL runs with the container's Shell
  body='{"Image":"busybox","Cmd":["sleep","300"],"Shell":["/bin/sh","-ec"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000}}'
  api POST "/containers/create?name=h-shell" -H 'Content-Type: application/json' -d "$body" >/dev/null
  docker start h-shell
  wait_health h-shell healthy 5
  run docker events --since 0 --until "$(now)" --filter container=h-shell --filter event=exec_create --format '{{.Action}}'
  assert_line_matches '^exec_create: /bin/sh -ec true$'
  # failures within the start period do not count
  docker run -d --name h-grace --health-cmd false --health-interval 1s --health-retries 1 \
    --health-start-period 60s busybox sleep 300
  sleep 2.5
  run docker inspect -f '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' h-grace
  assert_output "starting 0"
  # StartInterval: the pace while starting within the start period
  docker run -d --name h-fast --health-cmd true --health-interval 60s --health-start-period 60s \
    --health-start-interval 1s busybox sleep 300
  wait_health h-fast healthy 4
  docker rm -f h-cmd h-shell h-grace h-fast
}

@test "the image's HEALTHCHECK: inherited, overridden field by field, --no-healthcheck" {
  docker run -d --name h-base busybox sleep 300
  docker commit --change 'HEALTHCHECK --interval=1s --retries=4 CMD true' h-base hcimg:1 >/dev/null
  docker rm -f h-base
  run docker image inspect -f '{{json .Config.Healthcheck}}' hcimg:1
  assert_output '{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":4}'
  docker run -d --name h-img hcimg:1 sleep 300
  wait_health h-img healthy 5
  # a flag overrides its field only; the test and retries stay the image's
  docker run -d --name h-over --health-interval 2s hcimg:1 sleep 300
  run docker inspect -f '{{json .Config.Healthcheck}}' h-over
  assert_output '{"Test":["CMD-SHELL","true"],"Interval":2000000000,"Retries":4}'
  # the exec form of the change
  docker run -d --name h-base2 busybox sleep 300
  docker commit --change 'HEALTHCHECK --timeout=3s CMD ["test", "-d", "/"]' h-base2 hcimg:2 >/dev/null
  run docker image inspect -f '{{json .Config.Healthcheck}}' hcimg:2
  assert_output '{"Test":["CMD","test","-d","/"],"Timeout":3000000000}'
  run docker commit --change 'HEALTHCHECK --interval=1us CMD true' h-base2 hcimg:3
  assert_failure
  assert_output_contains 'Interval "interval" cannot be less than 1ms'
  docker rm -f h-base2
  docker rmi hcimg:2
  docker run -d --name h-none --no-healthcheck hcimg:1 sleep 300
  sleep 1.5
  run docker inspect -f '{{json .Config.Healthcheck.Test}} {{json .State.Health}}' h-none
  assert_output '["NONE"] null'
  run docker ps --filter name=h-none --format '{{.Status}}'
  assert_line_matches '^Up [^(]*$'
  docker rm -f h-img h-over h-none
  docker rmi hcimg:1
}

@test "stop leaves unhealthy and stops probing; start begins again from starting" {
  docker run -d --name h-stop --health-cmd true --health-interval 1s busybox sleep 300
  wait_health h-stop healthy 5
  docker stop -t 1 h-stop
  run health h-stop
  assert_output unhealthy
  local n
  n=$(docker inspect -f '{{len .State.Health.Log}}' h-stop)
  sleep 2
  run docker inspect -f '{{len .State.Health.Log}}' h-stop
  assert_output "$n"
  local s
  s=$(now)
  docker start h-stop
  run health h-stop
  assert_output starting
  wait_health h-stop healthy 5
  run health_events "$s" h-stop
  assert_output "health_status: healthy"
  docker rm -f h-stop
}

@test "pause stops the probes (unhealthy, as dockerd); unpause resumes them" {
  docker run -d --name h-pause --health-cmd true --health-interval 1s busybox sleep 300
  wait_health h-pause healthy 5
  docker pause h-pause
  run health h-pause
  assert_output unhealthy
  local n
  n=$(docker inspect -f '{{len .State.Health.Log}}' h-pause)
  sleep 2
  run docker inspect -f '{{len .State.Health.Log}}' h-pause
  assert_output "$n"
  docker unpause h-pause
  wait_health h-pause healthy 5
  docker rm -f h-pause
}

@test "probes never block the API" {
  docker run -d --name h-block --health-cmd 'sleep 8' --health-interval 1s --health-timeout 20s busybox sleep 300
  sleep 2 # a probe is running now
  local t0
  t0=$(date +%s%N)
  docker ps >/dev/null
  docker inspect h-block >/dev/null
  docker exec h-block true
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$ms" -lt 5000 ] || fail "API calls took $ms ms while a probe ran"
  # the running probe shows in ExecIDs, as any exec
  run docker inspect -f '{{len .ExecIDs}}' h-block
  assert_output 1
  docker rm -f h-block
}

@test "health survives kill -9 of the daemon, and probes resume" {
  docker run -d --name h-k9ok --health-cmd true --health-interval 1s busybox sleep 300
  docker run -d --name h-k9bad --health-cmd false --health-interval 1s --health-retries 1 busybox sleep 300
  wait_health h-k9ok healthy 5
  wait_health h-k9bad unhealthy 5
  arca_kill9
  arca_start
  run health h-k9ok
  assert_output healthy
  run health h-k9bad
  assert_output unhealthy
  run docker ps --filter name=h-k9 --format '{{.Names}} {{.Status}}'
  assert_line_matches '^h-k9ok Up .* \(healthy\)$'
  assert_line_matches '^h-k9bad Up .* \(unhealthy\)$'
  # probes run again: new log entries start after the restart
  local since_restart
  since_restart=$(date +%s)
  sleep 2.5
  run docker inspect -f '{{range .State.Health.Log}}{{.Start.Unix}}{{"\n"}}{{end}}' h-k9ok
  local last
  last=$(tail -1 <<<"$output")
  [ "$last" -ge "$since_restart" ] || fail "no probe after the restart: last $last, restart $since_restart"
  run docker inspect -f '{{.State.Health.FailingStreak}}' h-k9bad
  [ "$output" -ge 2 ] || fail "h-k9bad was not probed again: FailingStreak $output"
  docker rm -f h-k9bad h-k9ok
}

@test "health across a graceful daemon restart" {
  docker run -d --name h-restart --health-cmd 'test -f /tmp/ok' --health-interval 1s --health-retries 1 \
    busybox sh -c 'touch /tmp/ok; sleep 300'
  wait_health h-restart healthy 5
  arca_restart
  run health h-restart
  assert_output healthy
  local s
  s=$(now)
  docker exec h-restart rm /tmp/ok
  wait_health h-restart unhealthy 8
  run health_events "$s" h-restart
  assert_output "health_status: unhealthy"
  docker rm -f h-restart
}

@test "a stop ends the health checks first: a probe failing in the grace period makes no unhealthy (moby killWithSignal)" {
  # The TERM handler removes the file the probe tests and keeps running:
  # every probe in the 4 s grace period would fail, retries=1.
  docker run -d --name hc-stop --health-cmd 'test -f /tmp/ready' --health-interval 300ms --health-retries 1 \
    busybox sh -c "trap 'rm -f /tmp/ready' TERM; touch /tmp/ready; while true; do sleep 0.1; done"
  healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' hc-stop)" = healthy ]; }
  retry 50 0.1 healthy || fail "never healthy"
  local s
  s=$(date +%s.%N)
  docker stop -t 4 hc-stop >/dev/null
  run docker events --since "$s" --until "$(date +%s.%N)" --filter container=hc-stop --filter event=health_status \
    --format '{{.Action}}'
  assert_output ""
  docker rm hc-stop >/dev/null
}
