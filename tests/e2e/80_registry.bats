#!/usr/bin/env bats
# docker push / pull / login and pull-on-run against Debian's docker-registry:
# one without auth, one with htpasswd (basic) auth, and a proxy that cuts
# blob downloads short (an interrupted pull), each on a free port of
# 127.0.0.1 picked in setup_file (ARCA_REG_PORT, ARCA_AUTHREG_PORT,
# ARCA_PROXY_PORT choose them), so suites can run side by side.  Images other than busybox are pushed
# straight to the registry by tests/fixtures/registry_images.py.

load helpers
bats_require_minimum_version 1.5.0

REG=127.0.0.1:${ARCA_REG_PORT:-5000}
AUTHREG=127.0.0.1:${ARCA_AUTHREG_PORT:-5001}
PROXY_PORT=${ARCA_PROXY_PORT:-5002}
PROXY=127.0.0.1:$PROXY_PORT

setup_file() {
  if [ -z "${ARCA_REG_PORT:-}" ]; then
    read -r ARCA_REG_PORT ARCA_AUTHREG_PORT ARCA_PROXY_PORT <<<"$(free_ports 3)"
    export ARCA_REG_PORT ARCA_AUTHREG_PORT ARCA_PROXY_PORT
    REG=127.0.0.1:$ARCA_REG_PORT AUTHREG=127.0.0.1:$ARCA_AUTHREG_PORT
    PROXY_PORT=$ARCA_PROXY_PORT PROXY=127.0.0.1:$PROXY_PORT
  fi
  arca_setup_file
  load_busybox
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_start "$ARCA_T/reg" "${REG##*:}"
  registry_start "$ARCA_T/authreg" "${AUTHREG##*:}" alice s3cret
  python3 "$ARCA_REPO/tests/fixtures/registry_proxy.py" "$PROXY_PORT" "${REG##*:}" "$ARCA_T/proxy-healthy" \
    </dev/null >"$ARCA_T/proxy.log" 2>&1 3>&- &
  echo $! >"$ARCA_T/proxy.pid"
  local i
  for i in $(seq 1 50); do
    curl -s -o /dev/null "http://$PROXY/v2/" && break
    sleep 0.1
  done
}

teardown_file() {
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_stop "$ARCA_T/reg"
  registry_stop "$ARCA_T/authreg"
  local pid
  pid=$(cat "$ARCA_T/proxy.pid" 2>/dev/null || true)
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  arca_cleanup
}

@test "push busybox, rmi, pull it back and run it" {
  docker tag busybox:latest "$REG/busybox:1"
  run docker push "$REG/busybox:1"
  assert_success
  assert_output_contains "The push refers to repository [$REG/busybox]"
  assert_output_contains ": Pushed"
  [[ "$output" =~ 1:\ digest:\ sha256:[0-9a-f]{64}\ size:\ [0-9]+ ]] || fail "no digest line: $output"
  # RepoDigests records the pushed manifest.
  run docker image inspect --format '{{json .RepoDigests}}' "$REG/busybox:1"
  assert_output_contains "$REG/busybox@sha256:"

  # A second push finds the layer there already.
  run docker push "$REG/busybox:1"
  assert_success
  assert_output_contains ": Layer already exists"

  # busybox:latest still holds the image: as dockerd, the pull only adds
  # the tag (no layer lines); the next test pulls with nothing local.
  docker rmi "$REG/busybox:1" >/dev/null
  run docker pull "$REG/busybox:1"
  assert_success
  assert_output_contains "1: Pulling from busybox"
  assert_output_not_contains "Pull complete"
  assert_output_contains "Digest: sha256:"
  assert_output_contains "Status: Downloaded newer image for $REG/busybox:1"
  run docker run --rm "$REG/busybox:1" echo pulled-ok
  assert_success
  assert_output "pulled-ok"

  # Again: nothing to download.
  run docker pull "$REG/busybox:1"
  assert_success
  assert_output_contains "Status: Image is up to date for $REG/busybox:1"
  assert_output_not_contains "Pull complete"
}

@test "pull after rmi of everything downloads the layer again" {
  docker tag busybox:latest "$REG/full:1"
  docker push "$REG/full:1" >/dev/null
  docker rmi "$REG/full:1" busybox:latest >/dev/null || true
  docker rmi -f "$REG/busybox:1" >/dev/null 2>&1 || true
  run docker pull "$REG/full:1"
  assert_success
  assert_output_contains "1: Pulling from full"
  assert_output_contains ": Pulling fs layer"
  assert_output_contains ": Verifying Checksum"
  assert_output_contains ": Download complete"
  assert_output_contains ": Pull complete"
  assert_output_contains "Status: Downloaded newer image for $REG/full:1"
  run docker run --rm "$REG/full:1" true
  assert_success
  load_busybox
}

@test "cross-repository push mounts the blob" {
  docker pull "$REG/busybox:1" >/dev/null
  docker tag "$REG/busybox:1" "$REG/copy:1"
  run docker push "$REG/copy:1"
  assert_success
  assert_output_contains ": Mounted from busybox"
}

@test "docker run of a missing image pulls it first" {
  docker tag busybox:latest "$REG/other:1"
  docker push "$REG/other:1" >/dev/null
  docker rmi "$REG/other:1" >/dev/null
  run docker run --rm "$REG/other:1" true
  assert_success
  assert_output_contains "Unable to find image '$REG/other:1' locally"
  assert_output_contains "Status: Downloaded newer image for $REG/other:1"
}

@test "pull by digest; RepoDigests shows it" {
  digest=$(curl -fsS -o /dev/null -D - -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REG/v2/busybox/manifests/1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
  [[ "$digest" == sha256:* ]] || fail "no digest: $digest"
  docker rmi -f "$REG/busybox:1" >/dev/null 2>&1 || true
  run docker pull "$REG/busybox@$digest"
  assert_success
  assert_output_contains "Digest: $digest"
  assert_output_contains "Status: Downloaded newer image for $REG/busybox@$digest"
  run docker image inspect --format '{{json .RepoDigests}}' "$REG/busybox@$digest"
  assert_success
  assert_output_contains "$REG/busybox@$digest"
  run docker run --rm "$REG/busybox@$digest" echo by-digest
  assert_output "by-digest"
}

@test "missing tag and missing repository answer as dockerd" {
  run docker pull "$REG/busybox:nope"
  assert_failure
  assert_output_contains "manifest for $REG/busybox:nope not found: manifest unknown"
  run docker push "$REG/nothere:1"
  assert_failure
  assert_output_contains "An image does not exist locally with the tag: $REG/nothere"
}

@test "pull of an OCI index picks this host's platform, --platform another" {
  digest=$(python3 "$ARCA_REPO/tests/fixtures/registry_images.py" index "$REG" multi:1 "$ARCA_FIXTURES/busybox-save.tar")
  run docker pull "$REG/multi:1"
  assert_success
  assert_output_contains "Digest: $digest"
  host=$(docker version --format '{{.Server.Arch}}')
  run docker image inspect --format '{{.Architecture}}' "$REG/multi:1"
  assert_output "$host"
  run docker run --rm "$REG/multi:1" echo host-platform
  assert_output "host-platform"
  other=arm64
  [ "$host" != arm64 ] || other=amd64
  run docker pull --platform "linux/$other" "$REG/multi:1"
  assert_success
  run docker image inspect --format '{{.Architecture}} {{json .RepoDigests}}' "$REG/multi:1"
  assert_output "$other [\"$REG/multi@$digest\"]"
  run docker pull --platform linux/s390x "$REG/multi:1"
  assert_failure
  assert_output_contains "no matching manifest for linux/s390x in the manifest list entries"
}

@test "pull of a zstd-compressed layer" {
  python3 "$ARCA_REPO/tests/fixtures/registry_images.py" zstd "$REG" zst:1 "$ARCA_FIXTURES/busybox-save.tar" >/dev/null
  run docker pull "$REG/zst:1"
  assert_success
  run docker run --rm "$REG/zst:1" echo zstd-ok
  assert_output "zstd-ok"
}

@test "login: right and wrong password as dockerd" {
  run docker login "$AUTHREG" -u alice -p wrong
  assert_failure
  assert_output_contains "Error response from daemon: login attempt to http://$AUTHREG/v2/ failed with status: 401 Unauthorized"
  run docker login "$AUTHREG" -u alice -p s3cret
  assert_success
  assert_output_contains "Login Succeeded"
  # The stored credentials reach the daemon as X-Registry-Auth.
  docker tag busybox:latest "$AUTHREG/secret:1"
  run docker push "$AUTHREG/secret:1"
  assert_success
  docker rmi "$AUTHREG/secret:1" >/dev/null
  run docker pull "$AUTHREG/secret:1"
  assert_success
  docker logout "$AUTHREG" >/dev/null
  docker rmi "$AUTHREG/secret:1" >/dev/null
  run docker pull "$AUTHREG/secret:1"
  assert_failure
  assert_output_contains "no basic auth credentials"
}

@test "an interrupted pull leaves nothing behind; a retry works" {
  python3 "$ARCA_REPO/tests/fixtures/registry_images.py" big "$REG" big:1 8 >/dev/null
  rm -f "$ARCA_T/proxy-healthy"
  blobs_before=$(ls "$ARCA_T/data/image/oci/blobs/sha256" | wc -l)
  layers_before=$(ls -A "$ARCA_T/data/image/layers" | wc -l)
  run docker pull "$PROXY/big:1"
  assert_failure
  assert_output_contains "transfer closed"
  run docker image inspect "$PROXY/big:1"
  assert_failure
  assert_equal "$(ls -A "$ARCA_T/data/tmp" | wc -l)" 0
  assert_equal "$(ls "$ARCA_T/data/image/oci/blobs/sha256" | wc -l)" "$blobs_before"
  assert_equal "$(ls -A "$ARCA_T/data/image/layers" | wc -l)" "$layers_before"
  touch "$ARCA_T/proxy-healthy"
  run docker pull "$PROXY/big:1"
  assert_success
  assert_output_contains "Status: Downloaded newer image for $PROXY/big:1"
  docker image inspect "$PROXY/big:1" >/dev/null
}
