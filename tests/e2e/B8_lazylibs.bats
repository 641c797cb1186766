#!/usr/bin/env bats
# The HTTP client (libcurl), the DNS message library (libldns) and TLS
# (GnuTLS) are loaded at their first use, not at start-up
# (src/util/lazylib.h, issue 15's daemon RSS target): a freshly started
# daemon that runs, execs into and removes containers on the default
# bridge maps none of them (nor GnuTLS's p11-kit: libmicrohttpd is built
# without HTTPS); a pull from a loopback registry maps the HTTP client, a
# container on a user-defined network the DNS library; TLS listeners
# (B6_remote) GnuTLS.  The tar library is linked into the daemon, built
# without libxml2 (ICU, libstdc++), libacl and lz4
# (scripts/setup-static-libs.sh): docker save, load, import, cp, export
# and a pull map none of those.  Each operation still works.

load helpers
bats_require_minimum_version 1.5.0

REG=127.0.0.1:${ARCA_REG_PORT:-5000}

setup_file() {
  if [ -z "${ARCA_REG_PORT:-}" ]; then
    ARCA_REG_PORT=$(free_ports 1)
    export ARCA_REG_PORT
    REG=127.0.0.1:$ARCA_REG_PORT
  fi
  arca_setup_file
  load_busybox
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_start "$ARCA_T/reg" "$ARCA_REG_PORT"
}

teardown_file() {
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_stop "$ARCA_T/reg"
  arca_cleanup
}

# mapped LIB: the running daemon has a mapping of a file named LIB.so*.
mapped() {
  local pid
  pid=$(arca_pid)
  [ -n "$pid" ] || fail "no daemon" || return 2
  grep -q "/$1\.so" "/proc/$pid/maps"
}

# unmapped LIB...: none of them is mapped (the list of those that are, if any).
assert_unmapped() {
  local l
  for l in "$@"; do
    if mapped "$l"; then
      fail "$l is mapped: $(grep -o "/$l\.so[^ ]*" "/proc/$(arca_pid)/maps" | sort -u)"
      return 1
    fi
  done
}

@test "a fresh daemon running containers on the default bridge maps no tar, HTTP, DNS or TLS library" {
  arca_restart
  assert_unmapped libarchive libcurl-gnutls libcurl libldns libgnutls libp11-kit
  run docker run --rm busybox true
  assert_success
  docker run -d --name lz1 busybox sleep 300
  run docker exec lz1 echo hi
  assert_output "hi"
  docker ps -a >/dev/null
  docker logs lz1 >/dev/null
  docker rm -f lz1 >/dev/null
  assert_unmapped libarchive libcurl-gnutls libcurl libldns libgnutls libp11-kit
}

# the shared tar library and the trees Debian's build of it brings
TAR_LIBS=(libarchive libxml2 libicuuc libstdc++ libacl liblz4)

@test "docker save and load map no tar library (it is linked in) nor the HTTP client; the loaded image runs" {
  arca_restart
  run docker save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  assert_success
  assert_unmapped "${TAR_LIBS[@]}" libcurl-gnutls libcurl
  [ -s "$BATS_TEST_TMPDIR/bb.tar" ]

  arca_restart
  docker tag busybox:latest lazy/bb:1
  docker rmi busybox:latest >/dev/null
  run docker load -i "$BATS_TEST_TMPDIR/bb.tar"
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
  assert_unmapped "${TAR_LIBS[@]}"
  run docker run --rm busybox:latest echo loaded
  assert_output "loaded"
  docker rmi lazy/bb:1 >/dev/null
}

@test "docker cp and export map no tar library on a fresh daemon and work" {
  docker create --name lzcp busybox true >/dev/null
  arca_restart
  echo payload >"$BATS_TEST_TMPDIR/f"
  run docker cp "$BATS_TEST_TMPDIR/f" lzcp:/f
  assert_success
  assert_unmapped "${TAR_LIBS[@]}"
  arca_restart
  run docker cp lzcp:/f "$BATS_TEST_TMPDIR/back"
  assert_success
  run cat "$BATS_TEST_TMPDIR/back"
  assert_output "payload"
  arca_restart
  docker export -o "$BATS_TEST_TMPDIR/exp.tar" lzcp
  assert_unmapped "${TAR_LIBS[@]}"
  run tar -tf "$BATS_TEST_TMPDIR/exp.tar"
  assert_output_contains "bin/busybox"
  docker rm lzcp >/dev/null
}

# The reference dockerd 20.10.24 imports the gzip, bzip2 and xz tarballs
# alike and refuses the zstd one ("Error processing tar file"); later moby
# (pkg/archive DecompressStream) decompresses zstd too, as Arca always has.
@test "docker import takes tarballs compressed with gzip, bzip2, xz and zstd" {
  local c
  mkdir -p "$BATS_TEST_TMPDIR/imp"
  echo imported >"$BATS_TEST_TMPDIR/imp/hello"
  tar -C "$BATS_TEST_TMPDIR/imp" -cf "$BATS_TEST_TMPDIR/imp.tar" hello
  for c in gzip bzip2 xz zstd; do
    "$c" -c "$BATS_TEST_TMPDIR/imp.tar" >"$BATS_TEST_TMPDIR/imp.tar.$c"
    run docker import "$BATS_TEST_TMPDIR/imp.tar.$c" "lazy/imp:$c"
    assert_success
    docker create --name "lzimp$c" "lazy/imp:$c" true >/dev/null
    run docker cp "lzimp$c:/hello" -
    assert_success
    assert_output_contains imported
    docker rm "lzimp$c" >/dev/null
    docker rmi "lazy/imp:$c" >/dev/null
  done
  assert_unmapped "${TAR_LIBS[@]}"
}

@test "a pull from a loopback registry maps the HTTP client on a fresh daemon; the image runs" {
  docker tag busybox:latest "$REG/lazy:1"
  run docker push "$REG/lazy:1"
  assert_success
  docker rmi "$REG/lazy:1" >/dev/null
  arca_restart
  assert_unmapped libcurl-gnutls libcurl
  # a layer the daemon does not have: the blob is fetched and extracted
  docker rmi busybox:latest >/dev/null
  run docker pull "$REG/lazy:1"
  assert_success
  assert_output_contains "Pull complete"
  mapped libcurl-gnutls || mapped libcurl
  assert_unmapped "${TAR_LIBS[@]}"
  run docker run --rm "$REG/lazy:1" echo pulled
  assert_output "pulled"
  docker tag "$REG/lazy:1" busybox:latest
  docker rmi "$REG/lazy:1" >/dev/null
}

@test "a container on a user-defined network maps the DNS library; names resolve" {
  arca_restart
  docker network create lznet >/dev/null
  run docker run --rm busybox true
  assert_unmapped libldns
  docker run -d --name lzsrv --network lznet busybox sleep 300 >/dev/null
  mapped libldns
  run docker run --rm --network lznet busybox nslookup lzsrv
  assert_success
  assert_output_contains "Name:"
  docker rm -f lzsrv >/dev/null
  docker network rm lznet >/dev/null
}
