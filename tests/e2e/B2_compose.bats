#!/usr/bin/env bats
# docker-compose 1.29 (Debian's, API 1.41) on Arca (issue 10): depends_on
# conditions (service_started, service_healthy,
# service_completed_successfully), attached up, logs -f, ps with health,
# exec, run --rm, restart, down -v.  The projects are in tests/compose/;
# each expected output is what the same command printed against a
# reference dockerd 20.10.  Lines compose prints while a parallel step is
# under way ("Creating x ... ") come in any order and are left out or
# sorted.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

teardown_file() {
  local p
  for p in evc evd eve; do
    (cd "$ARCA_REPO/tests/compose/healthy" && timeout 120 docker-compose -p "$p" down -v >/dev/null 2>&1) || true
  done
  arca_cleanup
}

# compose DIR ARGS...: docker-compose in tests/compose/DIR, time-boxed.
compose() {
  local dir=$1
  shift
  (cd "$ARCA_REPO/tests/compose/$dir" && timeout -k 5 120 docker-compose "$@")
}

# settled: compose's output without its carriage returns and the
# in-progress lines ("... " at the end), which parallel steps print in any
# order.
settled() { tr -d '\r' | grep -v '\.\.\. $' || true; }

@test "up -d: depends_on service_healthy and service_completed_successfully, ps with health" {
  run compose healthy -p evc up -d
  assert_success
  run sort <<<"$(settled <<<"$output")"
  assert_output 'Creating evc_client_1  ... done
Creating evc_migrate_1 ... done
Creating evc_server_1  ... done
Creating evc_watcher_1 ... done
Creating network "evc_default" with the default driver
Creating volume "evc_data" with default driver'
  # the client's work is quick, but up -d does not wait for it
  run docker wait evc_client_1
  assert_output 0
  run compose healthy -p evc ps
  run settled <<<"$output"
  assert_output '    Name                   Command                  State       Ports
---------------------------------------------------------------------
evc_client_1    sh -c cat /data/migrated & ...   Exit 0              
evc_migrate_1   sh -c echo migrated > /dat ...   Exit 0              
evc_server_1    sh -c mkdir -p /www && ech ...   Up (healthy)        
evc_watcher_1   sleep 300                        Up                  '
  # the client ran once the server was healthy and the migration done: it
  # read the volume and reached the server by its service name
  run compose healthy -p evc logs --no-color client
  run settled <<<"$output"
  assert_output 'Attaching to evc_client_1
client_1   | migrated
client_1   | hello-from-server'
  # the order compose waited on, as the events tell it
  run docker events --since 0 --until "$(date +%s.%N)" --filter label=com.docker.compose.project=evc \
    --filter event=start --filter event=health_status --filter event=die \
    --format '{{.Actor.Attributes.name}} {{.Action}}'
  local server_healthy client_start migrate_die
  server_healthy=$(grep -n '^evc_server_1 health_status: healthy$' <<<"$output" | cut -d: -f1)
  migrate_die=$(grep -n '^evc_migrate_1 die$' <<<"$output" | cut -d: -f1)
  client_start=$(grep -n '^evc_client_1 start$' <<<"$output" | cut -d: -f1)
  [ -n "$server_healthy" ] && [ -n "$migrate_die" ] && [ -n "$client_start" ] || fail "$output"
  [ "$client_start" -gt "$server_healthy" ] && [ "$client_start" -gt "$migrate_die" ] || fail "$output"
}

@test "exec, run --rm, restart, logs" {
  run compose healthy -p evc exec -T server cat /www/index.html
  assert_success
  assert_output hello-from-server
  run compose healthy -p evc run --rm client echo hi
  assert_success
  run settled <<<"$output"
  assert_output 'Starting evc_migrate_1 ... done
Creating evc_client_run ... done
hi'
  # run --rm removed its container
  run docker ps -a --filter name=evc_client_run -q
  assert_output ""
  run compose healthy -p evc restart server
  assert_success
  run settled <<<"$output"
  assert_output 'Restarting evc_server_1 ... done'
  run compose healthy -p evc ps server
  assert_line_matches '^evc_server_1 .* Up \((healthy|health: starting)\) *$'
}

@test "down -v leaves nothing" {
  local net_id
  net_id=$(docker network inspect -f '{{.Id}}' evc_default)
  run compose healthy -p evc down -v
  assert_success
  run sort <<<"$(settled <<<"$output")"
  assert_output 'Removing evc_client_1  ... done
Removing evc_migrate_1 ... done
Removing evc_server_1  ... done
Removing evc_watcher_1 ... done
Removing network evc_default
Removing volume evc_data
Stopping evc_server_1  ... done
Stopping evc_watcher_1 ... done'
  run docker ps -aq --filter label=com.docker.compose.project=evc
  assert_output ""
  run docker network ls -q --filter label=com.docker.compose.project=evc
  assert_output ""
  run docker volume ls -q --filter label=com.docker.compose.project=evc
  assert_output ""
  [ ! -e "/sys/class/net/br-${net_id:0:12}" ] || fail "bridge br-${net_id:0:12} is still there"
}

@test "attached up runs until the services exit; logs -f; --exit-code-from" {
  run compose attached -p evd up --no-color
  assert_success
  assert_line_matches '^Attaching to (evd_a_1, evd_b_1|evd_b_1, evd_a_1)$'
  run settled <<<"$output"
  # each service's lines in order, then its exit
  run grep -E '^(a_1|b_1|evd_)' <<<"$output"
  [ "$(grep '^b_1' <<<"$output")" = 'b_1  | b-start
b_1  | b-end' ] || fail "$output"
  [ "$(grep '^a_1' <<<"$output")" = 'a_1  | a-start
a_1  | a-end' ] || fail "$output"
  assert_output_contains 'evd_b_1 exited with code 3'
  assert_output_contains 'evd_a_1 exited with code 0'
  # logs -f of a stopped service ends with it
  run compose attached -p evd logs -f --no-color b
  assert_success
  run settled <<<"$output"
  assert_output 'Attaching to evd_b_1
b_1  | b-start
b_1  | b-end
evd_b_1 exited with code 3'
  # --exit-code-from: compose's exit code is the service's
  run compose attached -p evd up --exit-code-from b --no-color
  assert_failure 3
  run settled <<<"$output"
  assert_output_contains 'b_1  | b-end
evd_b_1 exited with code 3
Aborting on container exit...'
  run compose attached -p evd down -v
  assert_success
}

@test "compose's errors: an unhealthy dependency, a dependency without healthcheck" {
  run compose unhealthy -p eve up -d client
  assert_failure 1
  run settled <<<"$output"
  [[ "$output" =~ ERROR:\ for\ client\ \ Container\ \"[0-9a-f]{12}\"\ is\ unhealthy\. ]] || fail "$output"
  assert_output_contains 'Encountered errors while bringing up the project.'
  run compose unhealthy -p eve up -d client2
  assert_failure 1
  assert_output_contains 'ERROR: for client2  Service "nohc" is missing a healthcheck configuration'
  run compose unhealthy -p eve down -v
  assert_success
  run docker ps -aq --filter label=com.docker.compose.project=eve
  assert_output ""
}
