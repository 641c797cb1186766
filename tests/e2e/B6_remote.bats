#!/usr/bin/env bats
# Remote access (issue 12 item 5): -H tcp:// with --tlsverify (client
# certificates required and verified, as dockerd), several -H at once, the
# refusal of unauthenticated TCP on non-loopback addresses (dockerd 27+),
# and the unix socket's owner and mode (dockerd: root:docker 0660, --group).
# The certificates are made here with the openssl CLI, as Docker's
# "Protect the Docker daemon socket" guide does.

load helpers
bats_require_minimum_version 1.5.0

# mkcert DIR CA-NAME: a CA, a server certificate for 127.0.0.1 and a client
# certificate (extendedKeyUsage clientAuth) in DIR.
mkcert() {
  local d=$1 cn=$2
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca-key.pem" -out "$d/ca.pem" -days 2 \
    -subj "/CN=$cn" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$d/server-key.pem" -out "$d/server.csr" -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -out "$d/server-cert.pem" -days 2 -extfile "$d/server.ext" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/client.csr" -subj "/CN=client" 2>/dev/null
  printf 'extendedKeyUsage = clientAuth\n' >"$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -out "$d/cert.pem" -days 2 -extfile "$d/client.ext" 2>/dev/null
  # a server certificate used as a client one: not for client authentication
  cp "$d/server-cert.pem" "$d/wrongpurpose-cert.pem"
  cp "$d/server-key.pem" "$d/wrongpurpose-key.pem"
}

setup_file() {
  arca_setup_file
  load_busybox
  mkcert "$ARCA_T/tls" "Arca test CA"
  mkcert "$ARCA_T/other" "Another CA"
  PORT=$(free_ports 1)
  echo "$PORT" >"$ARCA_T/port"
  # tdocker: the docker CLI over TLS with the client certificate, as a
  # script so that pipes and script(1) can run it too.  --foreground: a
  # plain timeout moves the CLI into a process group of its own, and on a
  # terminal (script(1) below) a background group is stopped by SIGTTOU as
  # soon as the CLI puts the terminal in raw mode.
  cat >"$ARCA_T/tdocker" <<EOF
#!/bin/sh
exec timeout --foreground -k 5 $ARCA_DOCKER_TIMEOUT $DOCKER_BIN --tlsverify --tlscacert $ARCA_T/tls/ca.pem \\
  --tlscert $ARCA_T/tls/cert.pem --tlskey $ARCA_T/tls/key.pem -H tcp://127.0.0.1:$PORT "\$@"
EOF
  chmod +x "$ARCA_T/tdocker"
  arca_stop
  arca_start -H "unix://$ARCA_T/arca.sock" -H "tcp://127.0.0.1:$PORT" --tlsverify \
    --tlscacert "$ARCA_T/tls/ca.pem" --tlscert "$ARCA_T/tls/server-cert.pem" --tlskey "$ARCA_T/tls/server-key.pem"
}

setup() {
  PORT=$(cat "$ARCA_T/port")
}

teardown() {
  arca_teardown_test
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
}

tdocker() { "$ARCA_T/tdocker" "$@"; }

@test "docker --tlsverify -H tcp:// works with a client certificate the CA signed" {
  run tdocker ps
  assert_success
  assert_output_contains "CONTAINER ID"
  run tdocker version --format '{{.Server.APIVersion}}'
  assert_success
  assert_output 1.51
  # the same daemon answers on its unix socket at the same time
  run docker -H "unix://$ARCA_T/arca.sock" info --format '{{.Name}}'
  assert_success
}

@test "without a client certificate the TLS connection is refused" {
  run docker --tlsverify --tlscacert "$ARCA_T/tls/ca.pem" -H "tcp://127.0.0.1:$PORT" ps
  assert_failure
  assert_output_not_contains "CONTAINER ID"
  # not one byte of HTTP for such a client
  run curl -sS --max-time 10 --cacert "$ARCA_T/tls/ca.pem" "https://127.0.0.1:$PORT/_ping"
  assert_failure
  assert_output_not_contains OK
  # plain HTTP on the TLS port gets nothing either
  run curl -sS --max-time 10 "http://127.0.0.1:$PORT/_ping"
  assert_failure
  assert_output_not_contains OK
}

@test "a client certificate from another CA, or one not for client authentication, is refused" {
  run docker --tlsverify --tlscacert "$ARCA_T/tls/ca.pem" --tlscert "$ARCA_T/other/cert.pem" \
    --tlskey "$ARCA_T/other/key.pem" -H "tcp://127.0.0.1:$PORT" ps
  assert_failure
  assert_output_not_contains "CONTAINER ID"
  run curl -sS --max-time 10 --cacert "$ARCA_T/tls/ca.pem" --cert "$ARCA_T/tls/wrongpurpose-cert.pem" \
    --key "$ARCA_T/tls/wrongpurpose-key.pem" "https://127.0.0.1:$PORT/_ping"
  assert_failure
  assert_output_not_contains OK
  # the right one, through curl too
  run curl -sS --max-time 10 --cacert "$ARCA_T/tls/ca.pem" --cert "$ARCA_T/tls/cert.pem" \
    --key "$ARCA_T/tls/key.pem" "https://127.0.0.1:$PORT/_ping"
  assert_success
  assert_output OK
}

@test "hijacked streams over TLS: run -i gets its stdin's end, exec -it, attach" {
  run bash -c "printf 'line1\nline2\n' | $ARCA_T/tdocker run -i --rm busybox cat"
  assert_success
  assert_output "line1
line2"
  tdocker run -d --name tls-exec busybox sleep 300 >/dev/null
  # script(1) runs its command with $SHELL -c: SHELL=/bin/sh (dash, as on
  # CI) on purpose, with an exec so that no shell sits between the
  # terminal's session and the CLI
  run bash -c "printf 'echo hi-\$((6*7))\nexit\n' | SHELL=/bin/sh timeout 30 script -qc 'exec $ARCA_T/tdocker exec -it tls-exec sh' /dev/null"
  assert_success
  assert_output_contains "hi-42"
  # exec -i without a TTY: stdin's end reaches the process
  run bash -c "echo from-stdin | $ARCA_T/tdocker exec -i tls-exec cat"
  assert_success
  assert_output from-stdin
  # attach to a container that prints and exits
  tdocker create --name tls-att busybox sh -c 'sleep 1; echo attached-out' >/dev/null
  run tdocker start -a tls-att
  assert_success
  assert_output attached-out
}

@test "events stream over TLS" {
  tdocker events --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}' >"$ARCA_T/events.out" 2>&1 &
  local ev=$!
  retry 50 0.1 curl -s --max-time 2 --unix-socket "$ARCA_T/arca.sock" http://localhost/_ping >/dev/null
  sleep 1
  tdocker create --name tls-ev busybox true >/dev/null
  tdocker rm tls-ev >/dev/null
  retry 100 0.1 grep -q "container destroy tls-ev" "$ARCA_T/events.out"
  kill "$ev" 2>/dev/null || true
  wait "$ev" 2>/dev/null || true
  run cat "$ARCA_T/events.out"
  assert_output_contains "container create tls-ev"
  assert_output_contains "container destroy tls-ev"
}

@test "the unix socket is root:docker 0660 (dockerd's default), or --group's" {
  run stat -c '%a %U' "$ARCA_T/arca.sock"
  assert_output "660 root"
  if getent group docker >/dev/null; then
    run stat -c '%G' "$ARCA_T/arca.sock"
    assert_output docker
  fi
  arca_stop
  arca_start --group root
  run stat -c '%a %U:%G' "$ARCA_T/arca.sock"
  assert_output "660 root:root"
  arca_stop
  # an explicit group that does not exist: refused, as dockerd
  run -1 timeout 30 "$ARCA_BIN" daemon start --socket-path "$ARCA_T/arca.sock" --data-root "$ARCA_T/data" \
    --exec-root "$ARCA_T/exec" --config "$ARCA_T/config.json" --group no-such-group-arca
  assert_output_contains "group no-such-group-arca not found"
  [ ! -e "$ARCA_T/arca.sock" ]
}

@test "plain TCP: refused on a non-loopback address without an explicit --tls=false, warned on loopback" {
  arca_stop
  run -1 timeout 30 "$ARCA_BIN" daemon start -H "unix://$ARCA_T/arca.sock" -H tcp://0.0.0.0:2375 \
    --data-root "$ARCA_T/data" --exec-root "$ARCA_T/exec" --config "$ARCA_T/config.json"
  assert_output_contains "refusing to listen on tcp://0.0.0.0:2375 without TLS client verification"
  assert_output_contains "--tls=false"
  [ ! -e "$ARCA_T/arca.sock" ]
  # --tlsverify without certificates: refused at start
  run -1 timeout 30 "$ARCA_BIN" daemon start -H "tcp://127.0.0.1:$PORT" --tlsverify \
    --tlscacert "$ARCA_T/nonexistent-ca.pem" --tlscert "$ARCA_T/tls/server-cert.pem" \
    --tlskey "$ARCA_T/tls/server-key.pem" --data-root "$ARCA_T/data" --exec-root "$ARCA_T/exec" \
    --config "$ARCA_T/config.json"
  assert_output_contains "failed to append certificates from PEM file"
  # unsupported or malformed hosts
  run -1 timeout 30 "$ARCA_BIN" daemon start -H fd:// --data-root "$ARCA_T/data" --exec-root "$ARCA_T/exec"
  assert_output_contains "fd:// (systemd socket activation) is not supported"
  run -1 timeout 30 "$ARCA_BIN" daemon start -H tcp://127.0.0.1:2375/path --data-root "$ARCA_T/data" \
    --exec-root "$ARCA_T/exec"
  assert_output_contains "should not contain a path element"
  # loopback plain TCP: served, with dockerd's warning
  arca_start -H "unix://$ARCA_T/arca.sock" -H "tcp://127.0.0.1:$PORT"
  run curl -sS --max-time 10 "http://127.0.0.1:$PORT/_ping"
  assert_output OK
  run docker -H "tcp://127.0.0.1:$PORT" ps
  assert_success
  run grep -c "Binding to IP address without --tlsverify is insecure" "$ARCA_T/daemon.log"
  [ "$output" -ge 1 ]
  arca_stop
  arca_start
}
