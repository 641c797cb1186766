#!/usr/bin/env bats
# docker save (round trip, several images, by ID, into a reference dockerd),
# docker history, docker image prune (dangling, -a, in-use images, until,
# label), docker search, docker system df, garbage collection of blobs and
# layers.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  local cfg
  cfg=$(tar -xOf "$ARCA_FIXTURES/busybox-save.tar" manifest.json | jq -r '.[0].Config')
  export BB_ID="sha256:${cfg%.json}"
  export BB_DIFF_ID="sha256:$(sha256sum "$ARCA_FIXTURES/rootfs.tar" | cut -d' ' -f1)"
}

teardown_file() {
  ref_dockerd_stop
  arca_cleanup
}

# Files (blobs, layer dirs) under the image store.
store_files() {
  find "$ARCA_T/data/image/oci/blobs/sha256" -mindepth 1 -maxdepth 1 | wc -l
}
store_layers() {
  find "$ARCA_T/data/image/layers" -mindepth 1 -maxdepth 1 | wc -l
}

# --- a reference dockerd on its own socket (as bench/run.sh) ---------------
REF_DIR=""
ref_dockerd_start() {
  REF_DIR=$ARCA_T/ref
  mkdir -p "$REF_DIR/cfg"
  dockerd --host "unix://$REF_DIR/ref.sock" --data-root "$REF_DIR/data" --exec-root "$REF_DIR/exec" \
    --pidfile "$REF_DIR/ref.pid" --bridge none --iptables=false --ip6tables=false \
    --containerd-namespace arca-e2e-ref --containerd-plugins-namespace arca-e2e-ref-plugins \
    </dev/null >"$REF_DIR/dockerd.log" 2>&1 3>&- &
  echo $! >"$REF_DIR/launch.pid"
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$REF_DIR/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && return 0
    pid_alive "$(cat "$REF_DIR/launch.pid")" || break
    sleep 0.1
  done
  tail -n 15 "$REF_DIR/dockerd.log" >&2
  return 1
}

ref_dockerd_stop() {
  local dir=${ARCA_T:-/nonexistent}/ref pid
  [ -f "$dir/launch.pid" ] || return 0
  pid=$(cat "$dir/launch.pid")
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    wait_pid_gone "$pid" 20 || { kill -KILL "$pid" 2>/dev/null; wait_pid_gone "$pid" 5; }
  fi
  # Its containerd and shims, found by their command line naming $dir.
  local f cmd p
  for f in /proc/[0-9]*/cmdline; do
    p=${f#/proc/}; p=${p%/cmdline}
    cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
    case "${cmd%% *}" in *containerd*) ;; *) continue ;; esac
    [[ "$cmd" == *"$dir/"* ]] && kill -KILL "$p" 2>/dev/null
  done
  awk -v t="$dir/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
  rm -f "$dir/launch.pid"
}

# --- save -----------------------------------------------------------------

@test "docker save | docker load round-trips busybox" {
  run docker save busybox -o "$ARCA_T/bb.tar"
  assert_success
  # The dockerd >= 25 layout: manifest.json, repositories, OCI layout.
  run tar -tf "$ARCA_T/bb.tar"
  assert_output_contains "manifest.json"
  assert_output_contains "index.json"
  assert_output_contains "oci-layout"
  assert_output_contains "repositories"
  assert_output_contains "blobs/sha256/${BB_ID#sha256:}"
  assert_output_contains "blobs/sha256/${BB_DIFF_ID#sha256:}"
  run bash -c "tar -xOf '$ARCA_T/bb.tar' manifest.json | jq -c '.[0].RepoTags, .[0].Config, .[0].Layers'"
  assert_output "[\"busybox:latest\"]
\"blobs/sha256/${BB_ID#sha256:}\"
[\"blobs/sha256/${BB_DIFF_ID#sha256:}\"]"
  # Layers are uncompressed tars whose digest is the diff ID.
  run bash -c "tar -xOf '$ARCA_T/bb.tar' blobs/sha256/${BB_DIFF_ID#sha256:} | sha256sum | cut -d' ' -f1"
  assert_output "${BB_DIFF_ID#sha256:}"
  run bash -c "tar -xOf '$ARCA_T/bb.tar' index.json | jq -r '.manifests[0].annotations[\"io.containerd.image.name\"]'"
  assert_output "docker.io/library/busybox:latest"

  run docker rmi busybox
  assert_success
  run bash -c "docker save busybox 2>&1"
  assert_failure
  assert_output_contains "No such image: busybox"
  run bash -c 'docker load < "$ARCA_T/bb.tar"'
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
  run docker image inspect busybox --format '{{.Id}}'
  assert_output "$BB_ID"
  run docker run --rm busybox echo round-trip-ok
  assert_success
  assert_output "round-trip-ok"
  # Straight through a pipe, as in the acceptance test.
  run bash -c 'docker save busybox | docker load'
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
}

@test "docker save of several images, by name and by ID" {
  docker tag busybox other:1
  docker tag busybox other:2
  run docker import -c 'CMD ["sh"]' "$ARCA_FIXTURES/rootfs.tar" imported:1
  assert_success
  local imp_id
  imp_id=$(docker image inspect imported:1 --format '{{.Id}}')
  run docker save -o "$ARCA_T/many.tar" busybox other imported:1
  assert_success
  run bash -c "tar -xOf '$ARCA_T/many.tar' manifest.json | jq -c '[.[] | .RepoTags | sort] | sort'"
  assert_output '[["busybox:latest","other:1","other:2"],["imported:1"]]'
  # The shared layer is in the archive once.
  run bash -c "tar -tf '$ARCA_T/many.tar' | grep -c '^blobs/sha256/${BB_DIFF_ID#sha256:}\$'"
  assert_output "1"

  docker rmi busybox other:1 other:2 imported:1 >/dev/null
  run docker load -i "$ARCA_T/many.tar"
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
  assert_output_contains "Loaded image: other:2"
  assert_output_contains "Loaded image: imported:1"
  run docker image inspect imported:1 --format '{{.Id}}'
  assert_output "$imp_id"
  run docker run --rm imported:1 echo imported-ok
  assert_output "imported-ok"

  # By ID: no tags in the archive, loaded as an ID.
  run docker save -o "$ARCA_T/byid.tar" "${imp_id:7:12}"
  assert_success
  run bash -c "tar -xOf '$ARCA_T/byid.tar' manifest.json | jq -c '.[0].RepoTags'"
  assert_output "null"
  docker rmi imported:1 >/dev/null
  run docker load -i "$ARCA_T/byid.tar"
  assert_success
  assert_output_contains "Loaded image ID: $imp_id"
  docker tag "$imp_id" imported:1
  docker rmi other:1 other:2 >/dev/null

  # Unknown names are a 404 before any byte is written.
  run bash -c "docker save nosuch:1 -o '$ARCA_T/x.tar' 2>&1"
  assert_failure
  assert_output_contains "reference does not exist"
  run api GET "/images/get?names=busybox&names=nosuch" -o /dev/null -w '%{http_code}'
  assert_output "404"
  run api GET "/images/busybox/get" -o "$ARCA_T/one.tar" -w '%{http_code}'
  assert_output "200"
  run bash -c "tar -xOf '$ARCA_T/one.tar' manifest.json | jq -c '.[0].RepoTags'"
  assert_output '["busybox:latest"]'
}

@test "a tarball from docker save loads into a reference dockerd" {
  command -v dockerd >/dev/null || skip "dockerd (Debian docker.io) not installed"
  docker save busybox -o "$ARCA_T/ref.tar"
  ref_dockerd_start || fail "reference dockerd did not start"
  run env DOCKER_HOST="unix://$REF_DIR/ref.sock" DOCKER_CONFIG="$REF_DIR/cfg" "$DOCKER_BIN" load -i "$ARCA_T/ref.tar"
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
  run env DOCKER_HOST="unix://$REF_DIR/ref.sock" DOCKER_CONFIG="$REF_DIR/cfg" "$DOCKER_BIN" image inspect busybox --format '{{.Id}}'
  assert_output "$BB_ID"
  run env DOCKER_HOST="unix://$REF_DIR/ref.sock" DOCKER_CONFIG="$REF_DIR/cfg" "$DOCKER_BIN" run --rm --network none busybox echo ref-ok
  assert_success
  assert_output "ref-ok"
  ref_dockerd_stop
}

# --- history ----------------------------------------------------------------

@test "docker history busybox" {
  run docker history busybox
  assert_success
  assert_line_matches '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT'
  assert_line_matches "^${BB_ID:7:12} +[0-9]+ years ago +/bin/sh -c #\\(nop\\)  CMD \\[\"sh\"\\] +0B"
  assert_line_matches '^<missing> +[0-9]+ years ago +/bin/sh -c #\(nop\) ADD file:busybox-static in.* +1\.98MB'
  run bash -c "docker history -q busybox | wc -l"
  assert_output "2"
  run jq -c '.[0].Id, .[0].Tags, .[0].Created, .[1].Id, .[1].Tags, (.[1].Size > 1000000)' <<<"$(api GET /images/busybox/history)"
  assert_output "\"$BB_ID\"
[\"busybox:latest\"]
1704067200
\"<missing>\"
null
true"
  run bash -c "docker history nosuch 2>&1"
  assert_failure
  assert_output_contains "No such image: nosuch:latest"
}

# --- search -------------------------------------------------------------------

@test "docker search answers not supported" {
  run docker search busybox
  assert_failure 1
  assert_output_contains "searching registries is not supported"
}

# --- prune ----------------------------------------------------------------------

@test "docker image prune removes dangling images only" {
  docker import "$ARCA_FIXTURES/rootfs.tar" dang:1 >/dev/null
  local old
  old=$(docker image inspect dang:1 --format '{{.Id}}')
  sleep 1 # a new created time, so a new image ID
  docker import "$ARCA_FIXTURES/rootfs.tar" dang:1 >/dev/null
  run docker images --filter dangling=true -q --no-trunc
  assert_output_contains "$old"
  run docker image prune -f
  assert_success
  assert_output_contains "deleted: $old"
  assert_output_contains "Total reclaimed space:"
  run docker image inspect "$old"
  assert_failure
  run docker image inspect dang:1 busybox imported:1 --format '{{.Id}}'
  assert_success
  # Nothing dangling left: nothing to do.
  run api POST /images/prune
  assert_output '{"ImagesDeleted":null,"SpaceReclaimed":0}'
  run api POST '/images/prune?filters=%7B%22bogus%22%3A%7B%22x%22%3Atrue%7D%7D' -w ' %{http_code}'
  assert_output_contains "invalid filter 'bogus'"
  assert_output_contains " 400"
}

@test "docker image prune -a honours label, until and images in use" {
  docker import -c 'LABEL keep=yes' "$ARCA_FIXTURES/rootfs.tar" labelled:1 >/dev/null
  docker create --name user-of-imported imported:1 true >/dev/null
  docker tag busybox old:1
  # A label no image has: nothing goes.
  run docker image prune -a -f --filter label=nothing
  assert_success
  assert_output "Total reclaimed space: 0B"
  # until=1h: only images created more than an hour ago (busybox, 2024) go.
  run docker image prune -a -f --filter until=1h
  assert_success
  assert_output_contains "untagged: busybox:latest"
  assert_output_contains "untagged: old:1"
  assert_output_contains "deleted: $BB_ID"
  run docker image inspect busybox
  assert_failure
  run docker image inspect dang:1 labelled:1 imported:1 --format '{{.Id}}'
  assert_success
  # label!=keep: the labelled image stays, dang:1 goes.
  run docker image prune -a -f --filter 'label!=keep'
  assert_success
  assert_output_contains "untagged: dang:1"
  run docker image inspect dang:1
  assert_failure
  run docker image inspect labelled:1 imported:1 --format '{{.Id}}'
  assert_success
  # The image a container uses stays, whatever the filters.
  run docker image prune -a -f
  assert_success
  assert_output_contains "untagged: labelled:1"
  run docker image inspect imported:1 --format '{{.Id}}'
  assert_success
  run docker images -q
  assert_equal "$(wc -l <<<"$output")" "1"
  docker rm user-of-imported >/dev/null
}

@test "docker image prune -a -f reclaims space (data root and docker system df)" {
  load_busybox
  docker create --name dfuser busybox true >/dev/null
  run docker system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
  assert_success
  assert_line_matches '^Images 2 1$'
  assert_line_matches '^Containers 1 0$'
  run jq -c '([.Images[] | .Containers] | sort), (.LayersSize > 1000000), (.Containers | length), .Volumes, .BuildCache' <<<"$(api GET /system/df)"
  assert_output '[0,1]
true
1
[]
[]'
  run jq -c '[.Images[] | .SharedSize] | sort' <<<"$(api GET /system/df)"
  assert_line_matches '^\[[1-9][0-9]+,[1-9][0-9]+\]$' # both share the busybox layer
  docker rm dfuser >/dev/null

  local before after
  before=$(du -sk "$ARCA_T/data" | cut -f1)
  run docker image prune -a -f
  assert_success
  assert_output_contains "deleted: $BB_ID"
  assert_line_matches 'Total reclaimed space: [1-9]'
  after=$(du -sk "$ARCA_T/data" | cut -f1)
  [ "$after" -lt "$before" ] || fail "data root did not shrink: $before -> $after KiB"
  run docker system df --format '{{.Type}} {{.TotalCount}} {{.Size}}'
  assert_line_matches '^Images 0 0B$'
  # Garbage collection leaves no orphan blobs or layers.
  assert_equal "$(store_files)" "0"
  assert_equal "$(store_layers)" "0"
  run jq -c '.LayersSize, .Images' <<<"$(api GET /system/df)"
  assert_output '0
[]'
}

@test "GC after load, remove and a forced removal leaves no orphans" {
  load_busybox
  docker tag busybox gc:1
  docker import "$ARCA_FIXTURES/rootfs.tar" gc:2 >/dev/null
  docker rmi -f busybox gc:1 gc:2 >/dev/null
  assert_equal "$(store_files)" "0"
  assert_equal "$(store_layers)" "0"
  # The same image loaded twice, from a docker-save and from an OCI
  # tarball (another manifest, a gzip copy of the layer): rmi frees all.
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null
  docker load -i "$ARCA_FIXTURES/busybox-oci.tar" >/dev/null
  docker rmi busybox busybox-oci >/dev/null
  assert_equal "$(store_files)" "0"
  assert_equal "$(store_layers)" "0"
  # A stopped container's image removed with -f: its layers stay while the
  # container does; prune collects them afterwards.
  load_busybox
  docker create --name gcuser busybox true >/dev/null
  run docker rmi -f busybox
  assert_success
  docker rm gcuser >/dev/null
  docker image prune -a -f >/dev/null
  assert_equal "$(store_files)" "0"
  assert_equal "$(store_layers)" "0"
  # And the store still works.
  load_busybox
  run docker run --rm busybox echo still-ok
  assert_output "still-ok"
}
