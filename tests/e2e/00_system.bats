#!/usr/bin/env bats
# System endpoints (/_ping, /version, /info), API version bounds, and the
# `arca` command line itself.

load helpers

# curl_headers METHOD PATH: status line + headers (CR stripped).
curl_headers() {
  curl -sS --max-time 10 --unix-socket "$ARCA_T/arca.sock" -o /dev/null -D - -X "$1" "http://localhost$2" | tr -d '\r'
}

# curl_status PATH: prints "<status> <content-type>" and leaves the body in $ARCA_T/body.
curl_status() {
  curl -sS --max-time 10 --unix-socket "$ARCA_T/arca.sock" -o "$ARCA_T/body" \
    -w '%{http_code} %{content_type}' "http://localhost$1"
}

# header NAME: value of header NAME in $output (case-insensitive name).
header() {
  awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': ' \
    'tolower($1) == n { sub(/^[^:]*: /, ""); print; exit }' <<<"$output"
}

host_go_arch() {
  case "$(uname -m)" in
    x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;;
  esac
}

@test "docker version negotiates API 1.51" {
  run docker version --format '{{.Server.APIVersion}}'
  assert_success
  assert_output "1.51"
  run docker version --format '{{.Server.Os}}/{{.Server.Arch}} {{.Server.MinAPIVersion}}'
  assert_success
  assert_output "linux/$(host_go_arch) 1.24"
}

@test "docker info reports real host values" {
  run docker info --format '{{.NCPU}}'
  assert_success
  assert_output "$(nproc)"
  run docker info --format '{{.Driver}}'
  assert_output "overlay2"
  run docker info --format '{{.DockerRootDir}}'
  assert_output "$ARCA_T/data"
  run docker info --format '{{.OSType}} {{.Architecture}}'
  assert_output "linux $(uname -m)"
  run docker info --format '{{.MemTotal}}'
  assert_success
  [ "$output" -gt 0 ]
  local want_cg=1
  [ -f /sys/fs/cgroup/cgroup.controllers ] && want_cg=2
  run docker info --format '{{.CgroupVersion}}'
  assert_output "$want_cg"
  run docker info --format '{{.ID}}'
  assert_success
  [ -n "$output" ]
}

@test "docker info ID is stable across a daemon restart" {
  run docker info --format '{{.ID}}'
  assert_success
  local id=$output
  [ -n "$id" ]
  arca_restart
  run docker info --format '{{.ID}}'
  assert_success
  assert_output "$id"
}

@test "HEAD /_ping answers 200 with the ping headers" {
  run curl_headers HEAD /_ping
  assert_success
  assert_line_matches '^HTTP/1\.1 200'
  assert_equal "$(header Api-Version)" "1.51"
  assert_equal "$(header Ostype)" "linux"
  assert_equal "$(header Cache-Control)" "no-cache, no-store, must-revalidate"
  assert_equal "$(header Pragma)" "no-cache"
  assert_equal "$(header Docker-Experimental)" "false"
  # dockerd says 2 (BuildKit); a daemon without BuildKit may say 1.
  [[ "$(header Builder-Version)" =~ ^[12]$ ]] || fail "Builder-Version: $(header Builder-Version)"
  assert_equal "$(header Swarm)" "inactive"
  assert_equal "$(header Content-Length)" "0"
  # dockerd: "Docker/<version> (linux)"; any "<Product>/<version> (linux)" will do.
  [[ "$(header Server)" =~ ^[A-Za-z]+/[^\ ]+\ \(linux\)$ ]] || fail "Server: $(header Server)"
}

@test "GET /_ping answers OK with the ping headers" {
  run curl -sS --max-time 10 --unix-socket "$ARCA_T/arca.sock" http://localhost/_ping
  assert_success
  assert_output "OK"
  run curl_headers GET /_ping
  assert_line_matches '^HTTP/1\.1 200'
  assert_equal "$(header Api-Version)" "1.51"
  assert_equal "$(header Ostype)" "linux"
  assert_equal "$(header Cache-Control)" "no-cache, no-store, must-revalidate"
  # Versioned ping works too.
  run curl -sS --max-time 10 --unix-socket "$ARCA_T/arca.sock" http://localhost/v1.51/_ping
  assert_output "OK"
}

@test "/v1.23/version is refused as too old" {
  run curl_status /v1.23/version
  assert_success
  [[ "$output" == "400 "* ]] || fail "status: $output"
  run cat "$ARCA_T/body"
  assert_output_contains "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
}

@test "/v1.52/version is refused as too new" {
  run curl_status /v1.52/version
  assert_success
  [[ "$output" == "400 "* ]] || fail "status: $output"
  run cat "$ARCA_T/body"
  assert_output_contains "client version 1.52 is too new. Maximum supported API version is 1.51"
}

@test "unknown route is 404 page not found as JSON" {
  run curl_status /v1.51/nope
  assert_success
  assert_output "404 application/json"
  run jq -c . "$ARCA_T/body"
  assert_success
  assert_output '{"message":"page not found"}'
  # Wrong method on a known path is the same 404.
  run curl -sS --max-time 10 --unix-socket "$ARCA_T/arca.sock" -o /dev/null -w '%{http_code}' \
    -X DELETE http://localhost/v1.51/version
  assert_output "404"
}

@test "unversioned and versioned /version answer" {
  run curl_status /version
  assert_success
  assert_output "200 application/json"
  run jq -r '.ApiVersion + " " + .MinAPIVersion + " " + .Os + " " + .Arch' "$ARCA_T/body"
  assert_output "1.51 1.24 linux $(host_go_arch)"
  run curl_status /v1.24/version
  assert_output "200 application/json"
  run curl_status /v1.51/version
  assert_output "200 application/json"
  run jq -r '.Version | length > 0' "$ARCA_T/body"
  assert_output "true"
}

@test "arca version and --help" {
  run "$ARCA_BIN" version
  assert_success
  assert_line_matches '[0-9]+\.[0-9]+\.[0-9]+'
  run "$ARCA_BIN" --help
  assert_success
  assert_output_contains "daemon"
}

@test "arca with an unknown command fails" {
  run "$ARCA_BIN" no-such-command
  assert_failure
  [ -n "$output" ]
}

@test "arca daemon status shows the running daemon" {
  local pid
  pid=$(arca_pid)
  [ -n "$pid" ]
  run "$ARCA_BIN" daemon status --exec-root "$ARCA_T/exec"
  assert_success
  assert_output_contains "$pid"
  assert_output_contains "$ARCA_T/arca.sock"
}

@test "arca daemon stop is graceful and removes the pidfile" {
  local pid pidfile f
  pid=$(arca_pid)
  [ -n "$pid" ]
  # The daemon's own pidfile holds its PID.
  for f in "$ARCA_T"/exec/*.pid "$ARCA_T"/data/*.pid; do
    [ -f "$f" ] && [ "$(tr -dc 0-9 <"$f")" = "$pid" ] && pidfile=$f
  done
  [ -n "$pidfile" ] || fail "no pidfile with $pid under $ARCA_T/exec or $ARCA_T/data"

  run timeout 30 "$ARCA_BIN" daemon stop --exec-root "$ARCA_T/exec"
  assert_success
  wait_pid_gone "$pid" 15 || fail "daemon $pid still running after arca daemon stop"
  [ ! -e "$pidfile" ] || fail "pidfile $pidfile left behind"
  if ping_ok; then fail "daemon still answers after stop"; fi
  grep -qi "signal\|shut\|stop" "$ARCA_T/daemon.log"

  run "$ARCA_BIN" daemon status --exec-root "$ARCA_T/exec"
  assert_failure 3
  assert_output_contains "not running"

  # Back up for the tests that follow.
  arca_start
}

@test "arca daemon start refuses an unknown config file key" {
  local cfg=$ARCA_T/bad-config.json
  echo '{"no-such-key": true}' >"$cfg"
  run timeout 20 "$ARCA_BIN" daemon start --config "$cfg" \
    --socket-path "$ARCA_T/bad.sock" --data-root "$ARCA_T/bad-data" --exec-root "$ARCA_T/bad-exec"
  assert_failure 1
  assert_output_contains "no-such-key"
  [ ! -S "$ARCA_T/bad.sock" ]
}

@test "arca daemon start refuses a second daemon on the same exec root" {
  run timeout 20 "$ARCA_BIN" daemon start --socket-path "$ARCA_T/arca2.sock" \
    --data-root "$ARCA_T/data" --exec-root "$ARCA_T/exec"
  assert_failure
  # The first daemon still answers.
  ping_ok
}

@test "the test PATH holds only what scripts/setup.sh installs" {
  # scripts/run-e2e.sh builds it (scripts/test-path.py); a command that a fresh
  # machine lacks must fail here rather than on CI.
  [ "${ARCA_E2E_HOST_PATH:-0}" = 1 ] && skip "ARCA_E2E_HOST_PATH=1 keeps the host PATH"
  for c in nft ip runc crun bats curl jq python3 docker docker-registry zstd bzip2 xz tmux; do
    command -v "$c" >/dev/null || fail "$c (installed by setup.sh) is not on the test PATH"
  done
  # Present on development machines but installed by no package setup.sh lists.
  for c in valgrind gdb strace cppcheck; do
    if command -v "$c" >/dev/null; then
      dpkg-query -W -f='${Priority}' "$(dpkg-query -S "$(readlink -f "$(command -v "$c")")" | cut -d: -f1)" |
        grep -qE 'required|important' || fail "$c is on the test PATH but setup.sh does not install it"
    fi
  done
}
