#!/usr/bin/env bats
# Images: docker load (docker-save and OCI layout tarballs), images, inspect,
# tag, rmi, import, and persistence across daemon restarts.

load helpers

setup_file() {
  arca_setup_file
  # Expected values, from the fixture itself.
  local cfg
  cfg=$(tar -xOf "$ARCA_FIXTURES/busybox-save.tar" manifest.json | jq -r '.[0].Config')
  export BB_ID="sha256:${cfg%.json}"
  export BB_DIFF_ID="sha256:$(sha256sum "$ARCA_FIXTURES/rootfs.tar" | cut -d' ' -f1)"
  case "$(uname -m)" in
    x86_64) export BB_ARCH=amd64 ;; aarch64) export BB_ARCH=arm64 ;; *) export BB_ARCH=$(uname -m) ;;
  esac
}

@test "fixtures: rebuilding gives byte-identical tarballs" {
  local out=$ARCA_T/fixtures2
  run "$ARCA_REPO/tests/fixtures/build-busybox.sh" "$out"
  assert_success
  for f in busybox-save.tar busybox-oci.tar rootfs.tar; do
    cmp "$ARCA_FIXTURES/$f" "$out/$f" || fail "$f differs between builds"
  done
  # The layer in the save tarball is the rootfs, and its digest is the diff ID.
  run bash -c "tar -xOf '$ARCA_FIXTURES/busybox-save.tar' '$(tar -xOf "$ARCA_FIXTURES/busybox-save.tar" manifest.json | jq -r '.[0].Layers[0]')' | sha256sum | cut -d' ' -f1"
  assert_output "${BB_DIFF_ID#sha256:}"
}

@test "docker load of a docker-save tarball" {
  run docker load -i "$ARCA_FIXTURES/busybox-save.tar"
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
}

@test "docker load from stdin is idempotent" {
  run bash -c 'docker load < "$ARCA_FIXTURES/busybox-save.tar"'
  assert_success
  assert_output_contains "Loaded image: busybox:latest"
}

@test "docker load of an OCI layout tarball" {
  run docker load -i "$ARCA_FIXTURES/busybox-oci.tar"
  assert_success
  assert_output_contains "Loaded image: busybox-oci:latest"
}

@test "docker images lists the loaded images with a size" {
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'
  assert_success
  assert_line_matches "^busybox:latest ${BB_ID:7:12} "
  assert_line_matches "^busybox-oci:latest ${BB_ID:7:12} "
  ! grep -q ' 0B$' <<<"$output" || fail "an image has size 0B: $output"
  run docker images -q --no-trunc busybox
  assert_output "$BB_ID"
}

@test "docker image inspect shows the image config" {
  run docker image inspect busybox:latest --format '{{.Id}}'
  assert_success
  assert_output "$BB_ID"
  run docker image inspect busybox --format '{{json .RepoTags}}'
  assert_output_contains '"busybox:latest"'
  run docker image inspect busybox --format '{{.Architecture}} {{.Os}} {{.Created}}'
  assert_output "$BB_ARCH linux 2024-01-01T00:00:00Z"
  run docker image inspect busybox --format '{{.RootFS.Type}} {{json .RootFS.Layers}}'
  assert_output "layers [\"$BB_DIFF_ID\"]"
  run docker image inspect busybox --format '{{json .Config.Cmd}} {{json .Config.Env}}'
  assert_output '["sh"] ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
  run docker image inspect busybox --format '{{.Size}}'
  [ "$output" -gt 1000000 ]
  # By ID and by short ID too.
  run docker image inspect "${BB_ID:7:12}" --format '{{.Id}}'
  assert_output "$BB_ID"
}

@test "docker tag adds a second name" {
  run docker tag busybox:latest busybox:mine
  assert_success
  run docker tag busybox myrepo/bb:v1
  assert_success
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_line_matches "^busybox:mine ${BB_ID:7:12}$"
  assert_line_matches "^busybox:latest ${BB_ID:7:12}$"
  assert_line_matches "^myrepo/bb:v1 ${BB_ID:7:12}$"
}

@test "docker rmi of an image ID with several names is a conflict" {
  run docker rmi "${BB_ID:7:12}"
  assert_failure 1
  assert_output_contains "conflict: unable to delete ${BB_ID:7:12} (must be forced) - image is referenced in multiple repositories"
}

@test "docker rmi of a tag untags it" {
  run docker rmi busybox:mine
  assert_success
  assert_output "Untagged: busybox:mine"
  run docker rmi myrepo/bb:v1
  assert_success
  assert_output "Untagged: myrepo/bb:v1"
  run docker images --format '{{.Repository}}:{{.Tag}}'
  assert_output_not_contains "busybox:mine"
  assert_output_contains "busybox:latest"
}

@test "docker rmi of an unknown image" {
  run docker rmi nope
  assert_failure 1
  assert_output "Error response from daemon: No such image: nope:latest"
}

@test "docker image inspect of an unknown image" {
  run docker image inspect nope:latest
  assert_failure 1
  assert_output_contains "No such image: nope:latest"
}

@test "docker import of a rootfs tarball" {
  run docker import -c 'CMD ["sh"]' "$ARCA_FIXTURES/rootfs.tar" imported:v1
  assert_success
  assert_line_matches '^sha256:[0-9a-f]{64}$'
  local id=${output##*$'\n'}
  run docker image inspect imported:v1 --format '{{.Id}} {{json .Config.Cmd}} {{json .RootFS.Layers}} {{.Os}}'
  assert_success
  assert_output "$id [\"sh\"] [\"$BB_DIFF_ID\"] linux"
  [ "$id" != "$BB_ID" ]
  # From stdin as well.
  run bash -c 'docker import - imported:stdin < "$ARCA_FIXTURES/rootfs.tar"'
  assert_success
  assert_line_matches '^sha256:[0-9a-f]{64}$'
  run docker images --format '{{.Repository}}:{{.Tag}}'
  assert_output_contains "imported:v1"
  assert_output_contains "imported:stdin"
}

@test "images survive a daemon restart" {
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' 
  local before=$output
  arca_restart
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_success
  assert_equal "$(sort <<<"$output")" "$(sort <<<"$before")"
  run docker image inspect busybox --format '{{.Id}} {{json .RootFS.Layers}}'
  assert_output "$BB_ID [\"$BB_DIFF_ID\"]"
}

@test "images survive kill -9 of the daemon" {
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  local before=$output
  arca_kill9
  arca_start
  run docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  assert_success
  assert_equal "$(sort <<<"$output")" "$(sort <<<"$before")"
  run docker image inspect busybox-oci:latest --format '{{.Id}}'
  assert_output "$BB_ID"
}

@test "docker rmi of the last tag deletes the image" {
  run docker rmi imported:v1
  assert_success
  assert_output_contains "Untagged: imported:v1"
  assert_output_contains "Deleted: sha256:"
  run docker image inspect imported:v1
  assert_failure 1
}
