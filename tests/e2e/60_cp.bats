#!/usr/bin/env bats
# docker cp (GET/HEAD/PUT /containers/{id}/archive) through the real docker
# CLI: both directions, running and stopped containers, files and
# directories, tar streams, -a, new names, dockerd's errors, a round trip
# keeping content and modes, and symlinks pointing out of the container that
# must never lead a copy to or from the host.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

# mode/type/owner/link listing of a tree, relative paths, sorted.
tree_listing() {
  (cd "$1" && find . -mindepth 1 -printf '%P %y %m %U:%G %l\n' | sort)
}

# The container's rootfs must not stay mounted after a copy into a
# stopped container.
rootfs_mounted() {
  local id
  id=$(docker inspect -f '{{.Id}}' "$1")
  grep -q " $ARCA_T/data/containers/$id/rootfs " /proc/self/mountinfo
}

@test "cp a file into and out of a running container" {
  docker run -d --name cprun busybox sleep 300
  echo hello >"$BATS_TEST_TMPDIR/f"
  chmod 640 "$BATS_TEST_TMPDIR/f"
  run docker cp "$BATS_TEST_TMPDIR/f" cprun:/tmp/
  assert_success
  run docker exec cprun sh -c 'cat /tmp/f; stat -c %a /tmp/f'
  assert_output "hello
640"
  # A new name in an existing directory.
  docker cp "$BATS_TEST_TMPDIR/f" cprun:/tmp/renamed
  run docker exec cprun cat /tmp/renamed
  assert_output "hello"
  # Out of the container, to a new name and into a directory.
  docker cp cprun:/etc/passwd "$BATS_TEST_TMPDIR/pw"
  run cat "$BATS_TEST_TMPDIR/pw"
  assert_output_contains "root:x:0:0"
  mkdir "$BATS_TEST_TMPDIR/outdir"
  docker cp cprun:/tmp/renamed "$BATS_TEST_TMPDIR/outdir"
  run cat "$BATS_TEST_TMPDIR/outdir/renamed"
  assert_output "hello"
  docker rm -f cprun
}

@test "cp into and out of a stopped container; the files are there at start" {
  docker create --name cpstop busybox cat /data /etc/hostname-copy
  echo from-host >"$BATS_TEST_TMPDIR/in"
  run docker cp "$BATS_TEST_TMPDIR/in" cpstop:/data
  # /data does not exist: copying a file to a non-existing name creates it
  # under that name.
  assert_success
  docker cp cpstop:/etc/passwd "$BATS_TEST_TMPDIR/pw"
  run grep -c root "$BATS_TEST_TMPDIR/pw"
  assert_success
  ! rootfs_mounted cpstop
  run docker cp "$BATS_TEST_TMPDIR/in" cpstop:/data
  assert_success
  mkdir "$BATS_TEST_TMPDIR/d"
  echo copied >"$BATS_TEST_TMPDIR/d/hostname-copy"
  docker cp "$BATS_TEST_TMPDIR/d/hostname-copy" cpstop:/etc/
  ! rootfs_mounted cpstop
  run docker start -a cpstop
  assert_success
  assert_output "from-host
copied"
  # After the exit too.
  docker cp cpstop:/etc/hostname-copy "$BATS_TEST_TMPDIR/back"
  run cat "$BATS_TEST_TMPDIR/back"
  assert_output "copied"
  ! rootfs_mounted cpstop
  docker rm cpstop
}

@test "cp directories: new name, into a directory, dir/. contents" {
  docker run -d --name cpdir busybox sleep 300
  mkdir -p "$BATS_TEST_TMPDIR/src/sub"
  echo a >"$BATS_TEST_TMPDIR/src/a"
  echo b >"$BATS_TEST_TMPDIR/src/sub/b"
  docker cp "$BATS_TEST_TMPDIR/src" cpdir:/newdir
  docker cp "$BATS_TEST_TMPDIR/src" cpdir:/tmp
  docker cp "$BATS_TEST_TMPDIR/src/." cpdir:/root
  run docker exec cpdir sh -c 'cat /newdir/a /newdir/sub/b /tmp/src/sub/b /root/a'
  assert_output "a
b
b
a"
  # A non-existing name with a trailing slash is created for a directory.
  docker cp "$BATS_TEST_TMPDIR/src" cpdir:/made/
  run docker exec cpdir cat /made/sub/b
  assert_output "b"
  docker cp cpdir:/newdir "$BATS_TEST_TMPDIR/back"
  docker cp cpdir:/newdir/. "$BATS_TEST_TMPDIR/flat"
  run cat "$BATS_TEST_TMPDIR/back/sub/b" "$BATS_TEST_TMPDIR/flat/a"
  assert_output "b
a"
  docker rm -f cpdir
}

@test "cp errors: missing parent, missing source, file as directory, dockerd's texts" {
  docker create --name cperr busybox true
  echo x >"$BATS_TEST_TMPDIR/f"
  run docker cp "$BATS_TEST_TMPDIR/f" cperr:/nope/x
  assert_failure 1
  assert_output_contains "Could not find the file /nope in container cperr"
  run docker cp cperr:/nothere "$BATS_TEST_TMPDIR/"
  assert_failure 1
  assert_output_contains "Could not find the file /nothere in container cperr"
  run docker cp "$BATS_TEST_TMPDIR/f" cperr:/etc/passwd/x
  assert_failure 1
  assert_output_contains "extraction point is not a directory"
  run docker cp "$BATS_TEST_TMPDIR/f" nosuchcontainer:/tmp
  assert_failure 1
  assert_output_contains "No such container: nosuchcontainer"
  # The raw API: path is required; HEAD carries the stat header.
  run api GET "/containers/cperr/archive"
  assert_output '{"message":"bad parameter: pathcannot be empty"}'
  run api PUT "/containers/cperr/archive?path=/nope" --data-binary @/dev/null
  assert_output '{"message":"Could not find the file /nope in container cperr"}'
  run bash -c "curl -sS -I --unix-socket '$ARCA_T/arca.sock' 'http://localhost/containers/cperr/archive?path=/etc' | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //Ip' | base64 -d"
  assert_output_contains '"name":"etc","size":'
  assert_output_contains '"mode":2147484141,'
  assert_output_contains '"linkTarget":""}'
  run bash -c "curl -sS -o /dev/null -w '%{http_code}' -I --unix-socket '$ARCA_T/arca.sock' 'http://localhost/containers/cperr/archive?path=/nope'"
  assert_output "404"
  ! rootfs_mounted cperr
  docker rm cperr
}

@test "cp with tar streams (-) both ways" {
  docker create --name cptar busybox true
  mkdir -p "$BATS_TEST_TMPDIR/t/x"
  echo one >"$BATS_TEST_TMPDIR/t/x/one"
  tar -C "$BATS_TEST_TMPDIR/t" -cf - x | docker cp - cptar:/tmp
  run bash -c "docker cp cptar:/tmp/x - | tar -tf - | sort"
  assert_output "x/
x/one"
  run bash -c "docker cp cptar:/tmp/x/one - | tar -xOf -"
  assert_output "one"
  # Gzip-compressed input is accepted too.
  tar -C "$BATS_TEST_TMPDIR/t" -czf - x | docker cp - cptar:/root
  run bash -c "docker cp cptar:/root/x/one - | tar -xOf -"
  assert_output "one"
  docker rm cptar
}

@test "cp keeps the tar's owner; -a with a user owns files by that user" {
  echo x >"$BATS_TEST_TMPDIR/f"
  chown 1234:4321 "$BATS_TEST_TMPDIR/f"
  docker create --name cpown -u nobody busybox true
  docker cp "$BATS_TEST_TMPDIR/f" cpown:/tmp/plain
  docker cp -a "$BATS_TEST_TMPDIR/f" cpown:/tmp/archive
  run bash -c "docker cp cpown:/tmp - | tar --numeric-owner -tvf - | awk '{print \$2, \$6}' | sort"
  assert_output "0/0 tmp/
1234/4321 tmp/plain
65534/65534 tmp/archive"
  docker rm cpown
}

@test "round trip of a directory tree with a symlink keeps content and modes" {
  docker run -d --name cprt busybox sleep 300
  local s=$BATS_TEST_TMPDIR/tree
  mkdir -p "$s/sub/deeper" "$s/private"
  printf 'data\n' >"$s/file"
  printf '#!/bin/sh\necho run\n' >"$s/sub/exe"
  printf 'deep\n' >"$s/sub/deeper/d"
  chmod 600 "$s/file"
  chmod 755 "$s/sub/exe"
  chmod 700 "$s/private"
  chmod 2750 "$s/sub/deeper"
  ln -s sub/exe "$s/link"
  ln -s /etc/passwd "$s/abs"
  touch -d '2001-02-03 04:05:06' "$s/file"
  docker cp "$s" cprt:/rt
  run docker exec cprt sh -c '/rt/link; stat -c "%a %N" /rt/file /rt/private /rt/link /rt/sub/deeper'
  assert_output "run
600 /rt/file
700 /rt/private
777 '/rt/link' -> 'sub/exe'
2750 /rt/sub/deeper"
  docker cp cprt:/rt "$BATS_TEST_TMPDIR/back"
  run diff -r --no-dereference "$s" "$BATS_TEST_TMPDIR/back"
  assert_success
  assert_equal "$(tree_listing "$BATS_TEST_TMPDIR/back")" "$(tree_listing "$s")"
  assert_equal "$(stat -c %Y "$BATS_TEST_TMPDIR/back/file")" "$(stat -c %Y "$s/file")"
  # And through a stopped container.
  docker stop -t 0 cprt
  docker cp "$s" cprt:/rt2
  docker cp cprt:/rt2 "$BATS_TEST_TMPDIR/back2"
  assert_equal "$(tree_listing "$BATS_TEST_TMPDIR/back2")" "$(tree_listing "$s")"
  docker rm cprt
}

# The host side of the escape tests: a directory with one file whose
# content and listing must never change, and nothing may appear beside it.
host_snapshot() {
  (cd "$1" && find . -printf '%P %y %s %T@\n' | sort | md5sum)
}

@test "symlinks out of a running container: nothing on the host is read or written" {
  local host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host"
  echo host-secret >"$host/secret"
  local before
  before=$(host_snapshot "$host")
  docker run -d --name cpesc busybox sleep 300
  docker exec cpesc sh -c "ln -s '$host' /escape && mkdir -p /d && ln -s ../../../../../../.. /d/up && ln -s '$host/secret' /secretlink"
  echo evil >"$BATS_TEST_TMPDIR/evil"
  # To the container through the link: its target does not exist inside.
  run docker cp "$BATS_TEST_TMPDIR/evil" cpesc:/escape/evil
  assert_failure
  run docker cp "$BATS_TEST_TMPDIR/evil" cpesc:/escape
  assert_failure
  run docker cp "$BATS_TEST_TMPDIR/evil" cpesc:/escape/
  assert_failure
  # From the container through the link: the host file is not found.
  run docker cp cpesc:/escape/secret "$BATS_TEST_TMPDIR/got1"
  assert_failure
  assert_output_contains "Could not find the file /escape/secret in container cpesc"
  run docker cp -L cpesc:/secretlink "$BATS_TEST_TMPDIR/got2"
  assert_failure
  [ ! -e "$BATS_TEST_TMPDIR/got1" ] && [ ! -e "$BATS_TEST_TMPDIR/got2" ]
  # Without -L the link itself is copied, as a link.
  docker cp cpesc:/secretlink "$BATS_TEST_TMPDIR/link-copy"
  [ -L "$BATS_TEST_TMPDIR/link-copy" ]
  rm "$BATS_TEST_TMPDIR/link-copy" "$BATS_TEST_TMPDIR/evil"
  # A relative link climbing above the root stays at the container's root.
  echo up >"$BATS_TEST_TMPDIR/up"
  docker cp "$BATS_TEST_TMPDIR/up" cpesc:/d/up/upfile
  rm "$BATS_TEST_TMPDIR/up"
  run docker exec cpesc cat /upfile
  assert_output "up"
  # A tar stream whose entries climb out is refused.
  run bash -c "printf 'x' > '$BATS_TEST_TMPDIR/x' && tar -C '$BATS_TEST_TMPDIR' -cf - -P --transform 's,^,../../../../,' x | docker cp - cpesc:/tmp"
  assert_failure
  assert_output_contains "is outside of"
  rm -f "$BATS_TEST_TMPDIR/x"
  # Once the target path exists inside the container, copies through the
  # link land there and read the container's file.
  docker exec cpesc sh -c "mkdir -p '$host' && echo container-file > '$host/secret'"
  echo inside >"$BATS_TEST_TMPDIR/evil"
  docker cp "$BATS_TEST_TMPDIR/evil" cpesc:/escape/
  rm "$BATS_TEST_TMPDIR/evil"
  run docker exec cpesc cat "$host/evil"
  assert_output "inside"
  docker cp cpesc:/escape/secret "$BATS_TEST_TMPDIR/got3"
  run cat "$BATS_TEST_TMPDIR/got3"
  assert_output "container-file"
  rm "$BATS_TEST_TMPDIR/got3"
  assert_equal "$(host_snapshot "$host")" "$before"
  run cat "$host/secret"
  assert_output "host-secret"
  docker rm -f cpesc
}

@test "symlinks out of a stopped container: nothing on the host is read or written" {
  local host=$BATS_TEST_TMPDIR/hostdir
  mkdir -p "$host"
  echo host-secret >"$host/secret"
  local before
  before=$(host_snapshot "$host")
  docker run --name cpesc2 busybox sh -c "ln -s '$host' /escape"
  echo evil >"$BATS_TEST_TMPDIR/evil"
  run docker cp "$BATS_TEST_TMPDIR/evil" cpesc2:/escape/evil
  assert_failure
  run docker cp "$BATS_TEST_TMPDIR/evil" cpesc2:/escape/
  assert_failure
  run docker cp cpesc2:/escape/secret "$BATS_TEST_TMPDIR/got"
  assert_failure
  run docker cp cpesc2:/escape/ "$BATS_TEST_TMPDIR/got"
  assert_failure
  rm "$BATS_TEST_TMPDIR/evil"
  [ ! -e "$BATS_TEST_TMPDIR/got" ]
  assert_equal "$(host_snapshot "$host")" "$before"
  ! rootfs_mounted cpesc2
  docker rm cpesc2
}
