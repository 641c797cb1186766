#!/usr/bin/env bats
# Named and anonymous volumes, bind mounts, tmpfs, --volumes-from, copy-up,
# Mounts in inspect, and volume data surviving rm and daemon restarts
# (issue 6 items 1, 2, 5).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

@test "named volume: data written by one container is read by the next" {
  run docker volume create v1
  assert_success
  assert_output "v1"
  docker run --rm -v v1:/d busybox sh -c 'echo x > /d/f'
  run docker run --rm -v v1:/d busybox cat /d/f
  assert_success
  assert_output "x"
}

@test "volume rm while a container uses it fails as dockerd" {
  docker volume create inuse
  docker create --name uses-inuse -v inuse:/d busybox true
  local id
  id=$(docker inspect -f '{{.Id}}' uses-inuse)
  run docker volume rm inuse
  assert_failure
  assert_output_contains "Error response from daemon: remove inuse: volume is in use - [$id]"
  run docker volume rm -f inuse
  assert_failure
  docker rm uses-inuse
  run docker volume rm inuse
  assert_success
  assert_output "inuse"
  run docker volume inspect inuse
  assert_failure
  assert_output_contains "get inuse: no such volume"
}

@test "volume inspect shape" {
  docker volume create --label a=b --label c shape1
  run docker volume inspect -f '{{.Name}}|{{.Driver}}|{{.Scope}}|{{json .Labels}}|{{json .Options}}' shape1
  assert_success
  assert_output 'shape1|local|local|{"a":"b","c":""}|null'
  run docker volume inspect -f '{{.Mountpoint}}' shape1
  assert_output "$ARCA_T/data/volumes/shape1/_data"
  [ -d "$ARCA_T/data/volumes/shape1/_data" ]
  run docker volume inspect -f '{{.CreatedAt}}' shape1
  assert_line_matches '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})$'
  run api GET /volumes/shape1
  assert_output_contains '"Scope":"local"'
  # Created implicitly by -v: no labels, no options.
  docker create --name implicit -v implicit1:/i busybox true
  run docker volume inspect -f '{{json .Labels}}|{{json .Options}}' implicit1
  assert_output 'null|null'
  docker rm implicit
  docker volume rm implicit1
  # A generated name is 64 hex characters.
  run docker volume create
  assert_success
  assert_line_matches '^[0-9a-f]{64}$'
  docker volume rm "$output"
  run docker volume create x
  assert_failure
  assert_output_contains "create x: volume name is too short, names should be at least two alphanumeric characters"
  run docker volume create --opt foo=bar badopt
  assert_failure
  assert_output_contains 'create badopt: invalid option: "foo"'
  docker volume rm shape1
}

@test "volume ls filters: name, label, dangling, driver" {
  docker volume create --label env=prod flt-prod
  docker volume create --label env=dev flt-dev
  docker volume create flt-used
  docker create --name flt-user -v flt-used:/d busybox true
  run docker volume ls -q --filter name=flt-
  assert_success
  assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "flt-dev flt-prod flt-used "
  run docker volume ls -q --filter label=env=prod
  assert_output "flt-prod"
  run docker volume ls -q --filter label=env
  assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "flt-dev flt-prod "
  run docker volume ls -q --filter name=flt- --filter dangling=false
  assert_output "flt-used"
  run docker volume ls -q --filter name=flt- --filter dangling=true
  assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "flt-dev flt-prod "
  run docker volume ls -q --filter name=flt-p --filter driver=local
  assert_output "flt-prod"
  run docker volume ls --filter bogus=1
  assert_failure
  assert_output_contains "invalid filter 'bogus'"
  run api GET /volumes
  assert_output_contains '"Warnings":null'
  docker rm flt-user
  docker volume rm flt-prod flt-dev flt-used
}

@test "copy-up: a new volume is filled from the image, owners kept; USER 1000 can write" {
  docker run --name mk busybox sh -c 'mkdir /data && echo hi > /data/f && chown -R 1000:1000 /data'
  docker commit -c 'USER 1000' -c 'VOLUME /data' mk withdata
  docker rm mk
  run docker run --rm -v fresh:/data withdata sh -c 'stat -c "%u:%g %n" /data /data/f; cat /data/f; echo new > /data/g && echo wrote'
  assert_success
  assert_line_matches '^1000:1000 /data$'
  assert_line_matches '^1000:1000 /data/f$'
  assert_line_matches '^hi$'
  assert_line_matches '^wrote$'
  # The volume keeps both files; a non-empty volume is not filled again.
  run docker run --rm -v fresh:/data busybox ls /data
  assert_output "$(printf 'f\ng')"
  # volume-nocopy: nothing is copied.
  run docker run --rm --mount type=volume,src=nocp,dst=/data,volume-nocopy withdata ls -A /data
  assert_success
  assert_output ""
  docker volume rm fresh nocp
}

@test "image VOLUME and -v /path: a new anonymous volume each time, removed by rm -v and --rm" {
  docker create --name anon1 -v /scratch withdata true
  local n1 n2
  n1=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' anon1)
  n2=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/scratch"}}{{.Name}}{{end}}{{end}}' anon1)
  [[ $n1 =~ ^[0-9a-f]{64}$ ]]
  [[ $n2 =~ ^[0-9a-f]{64}$ ]]
  run docker volume inspect -f '{{json .Labels}}' "$n1"
  assert_output '{"com.docker.volume.anonymous":""}'
  # The image's content was copied into its anonymous volume on start.
  docker start -a anon1
  run docker run --rm -v "$n1":/x busybox cat /x/f
  assert_output "hi"
  docker create --name anon2 withdata true
  local n3
  n3=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' anon2)
  [ "$n3" != "$n1" ]
  # rm without -v keeps the anonymous volumes, rm -v removes them.
  docker rm anon2
  run docker volume inspect "$n3"
  assert_success
  docker rm -v anon1
  run docker volume inspect "$n1"
  assert_failure
  run docker volume inspect "$n2"
  assert_failure
  # --rm removes them too; named volumes stay.
  local before after
  before=$(docker volume ls -q | wc -l)
  docker run --rm -v keepme:/k -v /tmpvol busybox true
  after=$(docker volume ls -q | wc -l)
  assert_equal "$after" "$((before + 1))"
  run docker volume inspect keepme
  assert_success
  docker volume rm keepme "$n3"
}

@test "prune: anonymous only by default, --all for every unused volume" {
  docker volume create pr-named
  docker volume create --label keep=1 pr-kept
  docker create --name pr-c busybox true
  docker create --name pr-anon -v /anon busybox true
  local anon
  anon=$(docker inspect -f '{{range .Mounts}}{{.Name}}{{end}}' pr-anon)
  docker rm pr-anon
  docker create --name pr-user -v pr-used:/u busybox true
  run docker volume prune -f
  assert_success
  assert_output_contains "$anon"
  assert_output_not_contains "pr-named"
  run docker volume inspect pr-named
  assert_success
  run docker volume prune -f --all --filter label!=keep
  assert_success
  assert_output_contains "pr-named"
  assert_output_not_contains "pr-used"
  assert_output_not_contains "pr-kept"
  run docker volume inspect pr-used
  assert_success
  run api POST /volumes/prune
  assert_output_contains '"VolumesDeleted":[]'
  docker rm pr-user pr-c
  docker volume rm pr-used pr-kept
}

@test "bind mounts: read-only -v, missing -v source created, --mount missing source fails" {
  local dir="$ARCA_T/somedir"
  mkdir -p "$dir"
  echo hello >"$dir/f"
  run docker run --rm -v "$dir":/mnt:ro busybox sh -c 'cat /mnt/f; echo x > /mnt/g'
  assert_failure
  assert_line_matches '^hello$'
  assert_output_contains "Read-only file system"
  run docker run --rm -v "$dir":/mnt busybox sh -c 'echo w > /mnt/g && cat /mnt/g'
  assert_success
  assert_output "w"
  [ "$(cat "$dir/g")" = w ]
  # -v creates a missing host directory
  run docker run --rm -v "$ARCA_T/made/here":/m busybox sh -c 'touch /m/t'
  assert_success
  [ -f "$ARCA_T/made/here/t" ]
  # --mount does not
  run docker run --rm --mount type=bind,src=/nonexistent,dst=/x busybox true
  assert_failure
  assert_output_contains 'invalid mount config for type "bind": bind mount source path does not exist: /nonexistent'
  run docker run --rm --mount "type=bind,src=$dir,dst=/b,readonly" busybox sh -c 'touch /b/z'
  assert_failure
  assert_output_contains "Read-only file system"
  run docker run --rm -v v2:/a -v v3:/a busybox true
  assert_failure
  assert_output_contains "Duplicate mount point: /a"
  docker volume rm v2 v3 2>/dev/null || true
}

@test "Mounts in inspect as dockerd" {
  local dir="$ARCA_T/insp"
  mkdir -p "$dir"
  docker create --name insp -v named1:/n -v "$dir":/b:ro --mount type=tmpfs,dst=/t,tmpfs-size=1048576 \
    --mount "type=bind,src=$dir,dst=/b2,bind-propagation=rslave" busybox true
  run docker inspect -f '{{range .Mounts}}{{json .}}{{"\n"}}{{end}}' insp
  assert_success
  assert_line_matches "^\{\"Type\":\"volume\",\"Name\":\"named1\",\"Source\":\"$ARCA_T/data/volumes/named1/_data\",\"Destination\":\"/n\",\"Driver\":\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"\}$"
  assert_line_matches "^\{\"Type\":\"bind\",\"Source\":\"$dir\",\"Destination\":\"/b\",\"Mode\":\"ro\",\"RW\":false,\"Propagation\":\"rprivate\"\}$"
  assert_line_matches '^\{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""\}$'
  assert_line_matches "^\{\"Type\":\"bind\",\"Source\":\"$dir\",\"Destination\":\"/b2\",\"Mode\":\"\",\"RW\":true,\"Propagation\":\"rslave\"\}$"
  run docker ps -a --filter name=insp --format '{{.Mounts}}'
  assert_success
  assert_output_contains "named1"
  run docker ps -a --filter volume=named1 --format '{{.Names}}'
  assert_output "insp"
  run docker ps -a --filter volume=/b2 --format '{{.Names}}'
  assert_output "insp"
  run docker ps -a --filter volume=nothere --format '{{.Names}}'
  assert_output ""
  docker rm insp
  docker volume rm named1
}

@test "tmpfs: --tmpfs with a size, --mount type=tmpfs with mode" {
  run docker run --rm --tmpfs /run:size=1m busybox sh -c 'df -k /run | tail -1; grep " /run " /proc/mounts'
  assert_success
  assert_line_matches '^tmpfs +1024 '
  assert_line_matches 'tmpfs /run tmpfs rw,nosuid,nodev,noexec'
  run docker run --rm --mount type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=1770 busybox sh -c 'df -k /t | tail -1; stat -c %a /t'
  assert_success
  assert_line_matches '^tmpfs +2048 '
  assert_line_matches '^1770$'
}

@test "--volumes-from shares the volumes, :ro makes them read-only" {
  docker run --name vf-src -v vfdata:/shared -v /anonshared busybox sh -c 'echo from-src > /shared/f'
  run docker run --rm --volumes-from vf-src busybox cat /shared/f
  assert_success
  assert_output "from-src"
  run docker run --rm --volumes-from vf-src:ro busybox sh -c 'cat /shared/f; touch /shared/x'
  assert_failure
  assert_output_contains "Read-only file system"
  # 400 as dockerd 20.10 (a 404 would make the CLI pull the image).
  run api POST /containers/create -H 'Content-Type: application/json' \
    -d '{"Image":"busybox","HostConfig":{"VolumesFrom":["nosuch"]}}'
  assert_output_contains "No such container: nosuch"
  docker rm -v vf-src
  docker volume rm vfdata
}

@test "driver options: tmpfs volume and bind volume are mounted at first use" {
  docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=3m optv
  run docker volume inspect -f '{{json .Options}}' optv
  assert_output '{"device":"tmpfs","o":"size=3m","type":"tmpfs"}'
  run docker run --rm -v optv:/o busybox sh -c 'df -k /o | tail -1'
  assert_success
  assert_line_matches ' 3072 '
  # unmounted again when unused
  ! grep -q " $ARCA_T/data/volumes/optv/_data " /proc/self/mountinfo
  local dir="$ARCA_T/bindvol"
  mkdir -p "$dir"
  echo via-bind >"$dir/f"
  docker volume create --opt type=none --opt o=bind --opt "device=$dir" bindv
  run docker run --rm -v bindv:/b busybox cat /b/f
  assert_output "via-bind"
  docker volume rm optv bindv
  [ -f "$dir/f" ]
}

@test "volume data survives docker rm and daemon restarts (clean and kill -9)" {
  docker run --name keeper -v durable:/d busybox sh -c 'echo persisted > /d/f'
  docker create --name holder -v durable:/d -v /anonkeep busybox true
  local anon
  anon=$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/anonkeep"}}{{.Name}}{{end}}{{end}}' holder)
  docker rm keeper
  arca_restart
  run docker run --rm -v durable:/d busybox cat /d/f
  assert_output "persisted"
  run docker inspect -f '{{range .Mounts}}{{if eq .Destination "/anonkeep"}}{{.Name}}{{end}}{{end}}' holder
  assert_output "$anon"
  arca_kill9
  arca_start
  run docker run --rm -v durable:/d busybox cat /d/f
  assert_output "persisted"
  run docker volume rm durable
  assert_failure
  assert_output_contains "volume is in use"
  docker rm -v holder
  run docker volume inspect "$anon"
  assert_failure
  docker volume rm durable
}
