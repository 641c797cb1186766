#!/usr/bin/env bats
# GET /containers/json (docker ps) written straight from the records
# (engine/views.c summary_write, net/listview.c; issue 15): every field of
# every kind of container must be what inspect shows for it, as it was when
# the list was built from inspect's own trees: NetworkSettings.Networks of
# each network mode (default bridge created and running, a user network
# with --ip, --alias, --mac-address and links, two networks, none, host,
# container:), Mounts, Names with link aliases, Command quoting, Labels with
# characters JSON escapes, Ports; then the docker CLI's view of it
# (--format '{{json .}}', --no-trunc, filters, -n, the order).

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
}

# summary NAME: the list's entry of container NAME (API 1.51, all).
summary() {
  api GET "/v1.51/containers/json?all=1" | jq -c --arg n "/$1" '.[] | select(.Names[0] == $n)'
}

# inspected NAME: inspect at API 1.51 (the list's Networks are inspect's).
inspected() {
  api GET "/v1.51/containers/$1/json"
}

# same_as_inspect NAME: each summary field against inspect's.
same_as_inspect() {
  local s i
  s=$(summary "$1")
  [ -n "$s" ] || fail "$1 not listed" || return 1
  i=$(inspected "$1")
  assert_equal "$(jq -cS .NetworkSettings.Networks <<<"$s")" "$(jq -cS .NetworkSettings.Networks <<<"$i")" || return 1
  assert_equal "$(jq -c '.NetworkSettings.Networks | keys_unsorted' <<<"$s")" \
    "$(jq -c '.NetworkSettings.Networks | keys_unsorted' <<<"$i")" || return 1
  assert_equal "$(jq -c .Mounts <<<"$s")" "$(jq -c .Mounts <<<"$i")" || return 1
  assert_equal "$(jq -c '[.Id, .Image, .ImageID, .State, .Labels]' <<<"$s")" \
    "$(jq -c '[.Id, .Config.Image, .Image, .State.Status, (.Config.Labels // {})]' <<<"$i")" || return 1
  # moby daemon/list.go: Path and Args, an argument with a space quoted
  assert_equal "$(jq -r .Command <<<"$s")" \
    "$(jq -r '([.Path] + [.Args[] | if test(" ") then "'"'"'" + . + "'"'"'" else . end]) | join(" ")' <<<"$i")" || return 1
  assert_equal "$(jq -r .Created <<<"$s")" "$(date -d "$(jq -r .Created <<<"$i")" +%s)" || return 1
}

@test "each summary's fields are inspect's: networks of every mode, mounts, labels, command" {
  docker network create --subnet 10.238.7.0/24 b8net
  docker network create --subnet 10.238.8.0/24 b8net2
  docker volume create b8vol
  # JSON escapes in labels and arguments: quote, backslash, control
  # characters, non-ASCII as it is
  docker create --name b8-created --label 'q=a"b\c' --label 'u=é☃/x' --label "$(printf 'nl=x\ny\tz')" \
    busybox sh -c 'echo "hi there"' "$(printf 'tab\there')" plain
  docker run -d --name b8-run -p 127.0.0.1::8080 --expose 9090 -v b8vol:/data -v /tmp:/hosttmp:ro \
    --mount type=tmpfs,destination=/scratch busybox sleep 300
  docker run -d --name b8-link --link b8-run:alias1 busybox sleep 300
  docker run -d --name b8-user --network b8net --ip 10.238.7.9 --network-alias a1 --network-alias a2 \
    --mac-address 02:42:0a:ee:07:09 busybox sleep 300
  docker network connect --alias other --link b8-user:lu b8net2 b8-user
  docker create --name b8-user-created --network b8net --ip 10.238.7.10 --mac-address 02:42:0a:ee:07:0a busybox true
  docker create --name b8-none --network none busybox true
  docker create --name b8-host --network host busybox true
  docker create --name b8-cont --network container:b8-run busybox true
  docker run --name b8-exited busybox sh -c 'exit 3' || true

  for n in b8-created b8-run b8-link b8-user b8-user-created b8-none b8-host b8-cont b8-exited; do
    same_as_inspect "$n" || fail "$n: the summary differs from inspect"
  done

  # the shapes themselves, so that a wrong inspect cannot hide a wrong list
  run -0 jq -c '.NetworkSettings.Networks | keys_unsorted' <<<"$(summary b8-user)"
  assert_output '["b8net","b8net2"]'
  run -0 jq -c '.NetworkSettings.Networks.b8net | [.IPAMConfig, .Aliases, .MacAddress, .IPAddress]' <<<"$(summary b8-user)"
  assert_output_contains '{"IPv4Address":"10.238.7.9"}'
  assert_output_contains '"02:42:0a:ee:07:09","10.238.7.9"]'
  assert_output_contains '"a1","a2"'
  run -0 jq -c '.NetworkSettings.Networks.b8net2.Links' <<<"$(summary b8-user)"
  assert_output '["b8-user:lu"]'
  run -0 jq -c '.NetworkSettings.Networks.b8net | [.IPAMConfig, .MacAddress, .IPAddress, .EndpointID]' <<<"$(summary b8-user-created)"
  assert_output '[{"IPv4Address":"10.238.7.10"},"02:42:0a:ee:07:0a","",""]'
  run -0 jq -c '[.HostConfig.NetworkMode, (.NetworkSettings.Networks | keys)]' <<<"$(summary b8-none)"
  assert_output '["none",["none"]]'
  run -0 jq -c '[.HostConfig.NetworkMode, (.NetworkSettings.Networks | keys)]' <<<"$(summary b8-host)"
  assert_output '["host",["host"]]'
  run -0 jq -c '[.HostConfig.NetworkMode, .NetworkSettings.Networks]' <<<"$(summary b8-cont)"
  assert_output "[\"container:$(docker inspect -f '{{.Id}}' b8-run)\",{}]"
  run -0 jq -c .Names <<<"$(summary b8-run)"
  assert_output '["/b8-run","/b8-link/alias1"]'
  run -0 jq -c '[.Ports[] | select(.PrivatePort == 8080) | .IP, .Type], [.Ports[] | select(.PrivatePort == 9090) | .Type]' <<<"$(summary b8-run)"
  assert_output '["127.0.0.1","tcp"]
["tcp"]'
  run -0 jq -c '[.Mounts[] | .Destination] | sort' <<<"$(summary b8-run)"
  assert_output '["/data","/hosttmp","/scratch"]'
  run -0 jq -c .Labels <<<"$(summary b8-created)"
  assert_output '{"nl":"x\ny\tz","q":"a\"b\\c","u":"é☃/x"}'
  run -0 jq -r .Command <<<"$(summary b8-created)"
  assert_output "$(printf "sh -c 'echo \"hi there\"' tab\there plain")"
  # the raw text: escapes as Go's encoder and jansson write them, '/' and
  # non-ASCII left as they are
  run -0 api GET "/v1.51/containers/json?all=1&filters=%7B%22name%22%3A%5B%22b8-created%22%5D%7D"
  assert_output_contains '"Labels":{"nl":"x\ny\tz","q":"a\"b\\c","u":"é☃/x"}'
  assert_output_contains '"Command":"sh -c '"'"'echo \"hi there\"'"'"' tab\there plain"'
  assert_output_contains '"Names":["/b8-created"]'

  docker rm -f b8-created b8-run b8-link b8-user b8-user-created b8-none b8-host b8-cont b8-exited
  docker network rm b8net b8net2
  docker volume rm b8vol
}

@test "the answer is one plain JSON body with its length, and system df lists the same containers" {
  docker create --name b8-df1 busybox true
  docker create --name b8-df2 --label k=v busybox true
  run -0 api GET "/v1.51/containers/json?all=1" -D "$BATS_TEST_TMPDIR/h" -o "$BATS_TEST_TMPDIR/b"
  run -0 cat "$BATS_TEST_TMPDIR/h"
  assert_output_contains "Content-Type: application/json"
  assert_output_not_contains "Transfer-Encoding"
  assert_output_not_contains "Content-Encoding"
  local len
  len=$(tr -d '\r' <"$BATS_TEST_TMPDIR/h" | sed -n 's/^Content-Length: //p')
  assert_equal "$len" "$(stat -c %s "$BATS_TEST_TMPDIR/b")"
  # Go's json.Encoder: the value and a newline
  assert_equal "$(tail -c 2 "$BATS_TEST_TMPDIR/b" | od -An -c | tr -d ' ')" ']\n'
  # system df builds its container list from the same text
  api GET /v1.51/system/df >"$BATS_TEST_TMPDIR/df"
  run -0 jq -c '[.Containers[] | select(.Names[0] | startswith("/b8-df")) | [.Names[0], .Labels]] | sort' "$BATS_TEST_TMPDIR/df"
  assert_output '[["/b8-df1",{}],["/b8-df2",{"k":"v"}]]'
  docker rm b8-df1 b8-df2
}

@test "docker ps: --format json, --no-trunc, the order newest first, -n, ancestor by name and ID" {
  local i id
  for i in 1 2 3 4 5; do docker create --name "b8-o$i" --label "n=$i" busybox echo "$i a" >/dev/null; done
  docker run -d --name b8-orun busybox sleep 300
  run -0 docker ps -a --filter name=b8-o --format '{{.Names}}'
  assert_output "b8-orun
b8-o5
b8-o4
b8-o3
b8-o2
b8-o1"
  run -0 docker ps -a -n 2 --format '{{.Names}}'
  assert_output "b8-orun
b8-o5"
  run -0 docker ps -a --filter name=b8-o3 --format '{{json .}}'
  run -0 jq -c '[.Names, .Image, .Command, .State, .Status, .Labels, .Networks, .Ports, .Mounts]' <<<"$output"
  assert_output '["b8-o3","busybox","\"echo '"'"'3 a'"'"'\"","created","Created","n=3","bridge","",""]'
  id=$(docker inspect -f '{{.Id}}' b8-orun)
  run -0 docker ps --no-trunc --filter name=b8-orun --format '{{.ID}} {{.Command}}'
  assert_output "$id \"sleep 300\""
  run -0 docker ps --filter name=b8-orun --format '{{.ID}}'
  assert_output "${id:0:12}"
  local img
  img=$(docker inspect -f '{{.Image}}' b8-orun)
  run -0 docker ps -a --filter name=b8-o --filter "ancestor=$img" -q
  assert_equal "$(wc -l <<<"$output")" 6
  run -0 docker ps -a --filter name=b8-o --filter ancestor=busybox:latest -q
  assert_equal "$(wc -l <<<"$output")" 6
  run -0 docker ps -a --filter name=b8-o --filter ancestor=nosuchimage -q
  assert_output ""
  docker rm -f b8-o1 b8-o2 b8-o3 b8-o4 b8-o5 b8-orun
}
