#!/usr/bin/env bats
# docker build with the classic builder (POST /build, /build/prune): the
# docker CLI 28 without buildx (its legacy-builder fallback, and
# DOCKER_BUILDKIT=0), docker-compose 1.29 `build:`, curl on the socket.
# Everything is offline: busybox from the fixture, a docker-registry and a
# python http.server on free ports of 127.0.0.1 started by the tests.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  arca_setup_file
  load_busybox
  read -r ARCA_BUILD_REG_PORT ARCA_BUILD_HTTP_PORT <<<"$(free_ports 2)"
  export ARCA_BUILD_REG_PORT ARCA_BUILD_HTTP_PORT
}

teardown_file() {
  local pid
  pid=$(cat "$ARCA_T/http.pid" 2>/dev/null || true)
  [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait_pid_gone "$pid" 5 || kill -9 "$pid" 2>/dev/null; } || true
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_stop "$ARCA_T/reg"
  arca_cleanup
}

# ctx NAME: a fresh build context directory $ARCA_T/ctx/NAME, cd'ed into.
ctx() {
  rm -rf "$ARCA_T/ctx/$1"
  mkdir -p "$ARCA_T/ctx/$1"
  cd "$ARCA_T/ctx/$1" || return 1
}

# The acceptance Dockerfile: three stages, ARG/ENV/RUN/WORKDIR in the
# builder, COPY --from, USER, HEALTHCHECK, ENTRYPOINT + CMD.
three_stage() {
  ctx app
  mkdir -p src
  echo "hello from src" >src/message.txt
  echo "v1" >src/version.txt
  cat >Dockerfile <<'DF'
ARG BASE=busybox
FROM $BASE AS builder
ARG GREETING=hi
ENV OUT=/out LANG=C
WORKDIR /build
COPY src/ ./
RUN mkdir -p $OUT && cat message.txt version.txt > $OUT/result.txt && echo "$GREETING" >> $OUT/result.txt

FROM busybox AS tools
RUN echo tool > /tool.txt

FROM busybox
COPY --from=builder /out/result.txt /app/result.txt
COPY --from=tools /tool.txt /app/
USER 1000:1000
WORKDIR /app
HEALTHCHECK --interval=30s --timeout=3s CMD test -f /app/result.txt
ENTRYPOINT ["cat"]
CMD ["/app/result.txt"]
DF
}

@test "a three-stage Dockerfile builds with the legacy builder's output and runs" {
  three_stage
  run docker build -t app .
  assert_success
  # the CLI 28 without buildx falls back to the classic API with its notice
  assert_output_contains "DEPRECATED: The legacy builder is deprecated"
  assert_output_contains "Step 1/17 : ARG BASE=busybox"
  assert_output_contains "Step 2/17 : FROM \$BASE AS builder"
  assert_line_matches '^ ---> Running in [0-9a-f]{12}$'
  assert_line_matches '^Removing intermediate container [0-9a-f]{12}$'
  assert_line_matches '^ ---> [0-9a-f]{12}$'
  assert_line_matches '^Successfully built [0-9a-f]{12}$'
  assert_output_contains "Successfully tagged app:latest"
  run docker run --rm app
  assert_success
  assert_output "hello from src
v1
hi"
  run docker run --rm --entrypoint id app
  assert_output_contains "uid=1000"
  run docker image inspect -f '{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|{{json .Config.Healthcheck}}' app
  assert_output '1000:1000|/app|["cat"]|["/app/result.txt"]|{"Test":["CMD-SHELL","test -f /app/result.txt"],"Interval":30000000000,"Timeout":3000000000}'
  run docker run --rm --entrypoint ls app -ln /app
  assert_output_contains "tool.txt"
}

@test "history and config as the classic builder writes them; intermediate images hidden" {
  run docker history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' app
  assert_success
  assert_line_matches '^/bin/sh -c #\(nop\)  CMD \["/app/result.txt"\]\|0B$'
  assert_line_matches '^/bin/sh -c #\(nop\)  ENTRYPOINT \["cat"\]\|0B$'
  assert_line_matches '^/bin/sh -c #\(nop\)  HEALTHCHECK &\{\["CMD-SHELL" "test -f /app/result.txt"\] "30s" "3s" "0s" .\\x00.\}\|0B$'
  assert_line_matches '^/bin/sh -c #\(nop\) WORKDIR /app\|0B$'
  assert_line_matches '^/bin/sh -c #\(nop\)  USER 1000:1000\|0B$'
  assert_line_matches '^/bin/sh -c #\(nop\) COPY file:[0-9a-f]{64} in /app/ \|'
  # every step of the chain is a local image (history shows their IDs)
  run docker history --format '{{.ID}}' app
  [ "$(grep -c '<missing>' <<<"$output")" = 1 ] || fail "expected only busybox's base layer missing: $output"
  run docker image inspect -f '{{.Parent}}' app
  assert_line_matches '^sha256:[0-9a-f]{64}$'
  # RUN's history entry names the build args it saw
  builder=$(docker history -q app | tail -n +2 | head -1)
  run docker images --format '{{.Repository}}:{{.Tag}}'
  assert_output_not_contains "<none>:<none>
<none>:<none>
<none>:<none>
<none>:<none>"
  run docker images -a -q
  [ "$(wc -l <<<"$output")" -gt 10 ] || fail "docker images -a should list the intermediate images: $output"
  # an intermediate image cannot go while a child needs it
  parent=$(docker image inspect -f '{{.Parent}}' app)
  run docker rmi "$parent"
  assert_failure
  assert_output_contains "image has dependent child images"
}

@test "a second identical build takes every step from the cache; a changed file busts it from its COPY on" {
  three_stage
  before=$(docker image inspect -f '{{.Id}}' app)
  run docker build -t app .
  assert_success
  # 17 steps: the meta ARG and the three FROMs have no cache line
  [ "$(grep -c -- ' ---> Using cache' <<<"$output")" = 13 ] || fail "expected 13 cached steps: $output"
  assert_output_not_contains "Running in"
  [ "$(docker image inspect -f '{{.Id}}' app)" = "$before" ]
  echo "v2" >src/version.txt
  run docker build -t app .
  assert_success
  # steps 3-5 (ARG, ENV, WORKDIR) cached, the COPY and everything after it in the stage rebuilt
  [ "$(awk '/^Step 6\/17/{exit} /Using cache/{n++} END{print n+0}' <<<"$output")" = 3 ] || fail "$output"
  grep -A2 '^Step 6/17 : COPY src/ ./' <<<"$output" | grep -q 'Using cache' && fail "COPY should miss the cache: $output"
  grep -A2 '^Step 7/17 : RUN' <<<"$output" | grep -q 'Running in' || fail "RUN should run again: $output"
  run docker run --rm app
  assert_output_contains "v2"
  run docker build --no-cache -q .
  assert_success
  assert_line_matches '^sha256:[0-9a-f]{64}$'
}

@test "DOCKER_BUILDKIT=0, -f, -f -, build - and --iidfile" {
  ctx flags
  echo "data" >data.txt
  printf 'FROM busybox\nCOPY data.txt /\nRUN cat /data.txt\n' >Other.dockerfile
  DOCKER_BUILDKIT=0 run docker build -f Other.dockerfile -t flags:1 .
  assert_success
  assert_output_contains "BuildKit is currently disabled"
  assert_output_contains "Successfully tagged flags:1"
  # a Dockerfile outside the context and one on stdin join the context
  mkdir ../flags-df
  printf 'FROM busybox\nCOPY data.txt /x\nRUN cat /x\n' >../flags-df/Dockerfile
  run docker build -f ../flags-df/Dockerfile .
  assert_success
  assert_output_contains "data"
  run docker build -f - --iidfile "$ARCA_T/iid" . <<<"$(printf 'FROM busybox\nCOPY data.txt /y\nCMD ["cat","/y"]\n')"
  assert_success
  run cat "$ARCA_T/iid"
  assert_line_matches '^sha256:[0-9a-f]{64}$'
  run docker run --rm "$(cat "$ARCA_T/iid")"
  assert_output "data"
  # a Dockerfile as the whole context: no files to COPY
  run docker build -t stdin:1 - <<<"$(printf 'FROM busybox\nRUN echo from-stdin > /s\nCMD ["cat","/s"]\n')"
  assert_success
  run docker run --rm stdin:1
  assert_output "from-stdin"
  run docker build -q - <<<"$(printf 'FROM busybox\nCOPY data.txt /\n')"
  assert_failure
  assert_output_contains "COPY failed: file not found in build context or excluded by .dockerignore: stat data.txt: file does not exist"
}

@test ".dockerignore: exceptions and ** as the CLI applies them; the daemon drops Dockerfile and .dockerignore" {
  ctx ignore
  mkdir -p a/b docs
  echo 1 >a/b/x.go
  echo 2 >a/keep.go
  echo 3 >top.go
  echo r >README.md
  echo s >README-secret.md
  echo n >docs/notes.md
  printf '**/*.go\n!a/keep.go\n*.md\n!README*.md\nREADME-secret.md\nDockerfile\n.dockerignore\n' >.dockerignore
  printf 'FROM busybox\nCOPY . /ctx\nRUN cd /ctx && find . -type f | sort\n' >Dockerfile
  run docker build --no-cache .
  assert_success
  assert_output_contains "./a/keep.go
./docs/notes.md"
  assert_output_contains "./README.md"
  assert_output_not_contains "x.go"
  assert_output_not_contains "top.go"
  assert_output_not_contains "README-secret.md"
  assert_output_not_contains "./Dockerfile"
  assert_output_not_contains "./.dockerignore"
  # a raw tar sent with curl: the daemon itself reads .dockerignore only to
  # drop the Dockerfile and .dockerignore (moby removeDockerfile)
  tar -cf "$ARCA_T/raw.tar" .
  run curl -sS --unix-socket "$ARCA_T/arca.sock" -X POST -H 'Content-Type: application/x-tar' \
    --data-binary "@$ARCA_T/raw.tar" "http://localhost/v1.51/build?nocache=1"
  assert_success
  assert_output_contains "./top.go"
  assert_output_not_contains "./Dockerfile"
  assert_output_not_contains "./.dockerignore"
  assert_output_contains '"aux":{"ID":"sha256:'
}

@test "build args: --build-arg, defaults, meta args, unused warning, proxy args kept out of history" {
  ctx args
  cat >Dockerfile <<'DF'
ARG TAG=latest
FROM busybox:${TAG}
ARG TAG
ARG A=default-a
ARG B
ENV FROM_ARG=${A:-none}
RUN echo "A=$A B=$B TAG=$TAG ENV=$FROM_ARG proxy=$HTTP_PROXY" | tee /args
DF
  run docker build --build-arg B=cli-b --build-arg HTTP_PROXY=http://proxy.invalid --build-arg NOPE=1 -t args:1 .
  assert_success
  assert_output_contains "A=default-a B=cli-b TAG=latest ENV=default-a proxy=http://proxy.invalid"
  assert_output_contains "[Warning] One or more build-args [NOPE] were not consumed"
  run docker history --no-trunc --format '{{.CreatedBy}}' args:1
  assert_output_contains '|3 A=default-a B=cli-b TAG=latest /bin/sh -c echo'
  assert_output_not_contains "proxy.invalid"
  run docker image inspect -f '{{json .Config.Env}}' args:1
  assert_output_contains '"FROM_ARG=default-a"'
  assert_output_not_contains 'B=cli-b'
  # another value is another cache key
  run docker build --build-arg B=other -t args:2 .
  grep -A2 'Step 7/7' <<<"$output" | grep -q 'Running in' || fail "a new build arg value must miss the cache: $output"
}

@test "a failing RUN stops the build with its exit code; the container stays unless --force-rm" {
  ctx fail
  printf 'FROM busybox\nRUN echo before; exit 7\nRUN echo never\n' >Dockerfile
  run docker build .
  assert_failure 7
  assert_output_contains "before"
  assert_output_contains "The command '/bin/sh -c echo before; exit 7' returned a non-zero code: 7"
  assert_output_not_contains "never"
  cid=$(grep -oE 'Running in [0-9a-f]{12}' <<<"$output" | awk '{print $3}')
  run docker ps -a --filter "id=$cid" --format '{{.Status}}'
  assert_output_contains "Exited (7)"
  run docker build --force-rm .
  assert_failure 7
  cid=$(grep -oE 'Running in [0-9a-f]{12}' <<<"$output" | awk '{print $3}')
  assert_output_contains "Removing intermediate container $cid"
  run docker ps -a -q --filter "id=$cid"
  assert_output ""
  # the error document in the stream carries the code
  tar -cf "$ARCA_T/fail.tar" Dockerfile
  run curl -sS --unix-socket "$ARCA_T/arca.sock" -X POST --data-binary "@$ARCA_T/fail.tar" "http://localhost/build?forcerm=1"
  assert_output_contains '"errorDetail":{"message":"The command '"'"'/bin/sh -c echo before; exit 7'"'"' returned a non-zero code: 7","code":7}'
}

@test "COPY --chown with names and numbers, ADD extracts local tars, directory and wildcard semantics" {
  ctx chown
  mkdir -p dir/sub
  echo f >file.txt
  echo d >dir/sub/deep
  chmod 700 dir/sub
  mkdir -p t && echo packed >t/in.txt && tar -czf pack.tgz -C t in.txt && rm -r t
  cat >Dockerfile <<'DF'
FROM busybox
COPY --chown=user:user file.txt /named.txt
COPY --chown=1234:5678 dir /numbered/
COPY --chown=1000 file.txt /lone-user.txt
COPY file.txt /root-owned.txt
COPY fil?.txt dir/* /wild/
ADD pack.tgz /unpacked/
RUN stat -c '%n %u:%g %a' /named.txt /numbered /numbered/sub /numbered/sub/deep /lone-user.txt /root-owned.txt && ls /wild /unpacked && cat /unpacked/in.txt
DF
  run docker build --no-cache .
  assert_success
  assert_output_contains "/named.txt 1000:1000 644"
  assert_output_contains "/numbered 1234:5678 755"
  assert_output_contains "/numbered/sub 1234:5678 700"
  assert_output_contains "/numbered/sub/deep 1234:5678 644"
  assert_output_contains "/lone-user.txt 1000:1000 644"
  assert_output_contains "/root-owned.txt 0:0 644"
  assert_output_contains "packed"
  assert_output_contains "deep"
  printf 'FROM busybox\nCOPY --chown=nosuchuser file.txt /x\n' >Dockerfile
  run docker build .
  assert_failure
  assert_output_contains "unable to convert uid/gid chown string to host mapping: can't find uid for user nosuchuser: no such user: nosuchuser"
}

@test "ONBUILD triggers run on FROM; FROM scratch; SHELL; EXPOSE and VOLUME in the config" {
  ctx onbuild
  printf 'FROM busybox\nONBUILD RUN echo triggered > /trig\nONBUILD ENV TRIGGERED=yes\n' >Dockerfile
  run docker build -t onbuild-base .
  assert_success
  printf 'FROM onbuild-base\nSHELL ["/bin/sh", "-ec"]\nRUN cat /trig && echo $TRIGGERED\nEXPOSE 80 53/udp\nVOLUME /data\n' >Dockerfile
  run docker build -t onbuild-child .
  assert_success
  assert_output_contains "# Executing 2 build triggers"
  assert_output_contains "triggered
yes"
  run docker image inspect -f '{{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{json .Config.OnBuild}} {{json .Config.Shell}}' onbuild-child
  assert_output '{"53/udp":{},"80/tcp":{}} {"/data":{}} null ["/bin/sh","-ec"]'
  ctx scratch
  printf 'FROM busybox AS bb\nFROM scratch\nCOPY --from=bb /bin/busybox /busybox\nLABEL a=b\nENTRYPOINT ["/busybox"]\nCMD ["echo","from scratch"]\n' >Dockerfile
  run docker build -t scratchy --label built-by=test .
  assert_success
  run docker run --rm scratchy
  assert_output "from scratch"
  run docker image inspect -f '{{json .Config.Labels}}' scratchy
  assert_output '{"a":"b","built-by":"test"}'
}

@test "errors before the stream are the daemon's: parse errors, target, missing Dockerfile, squash" {
  ctx errors
  printf 'FROM busybox\nFOO bar\n' >Dockerfile
  run docker build .
  assert_failure
  assert_output_contains "Error response from daemon: dockerfile parse error line 2: unknown instruction: FOO"
  printf 'FROM busybox AS one\nRUN true\n' >Dockerfile
  run docker build --target two .
  assert_failure
  assert_output_contains "failed to reach build target two in Dockerfile"
  tar -cf "$ARCA_T/errors.tar" Dockerfile
  run api POST "/build?dockerfile=nope" --data-binary "@$ARCA_T/errors.tar" -w ' %{http_code}'
  assert_output '{"message":"Cannot locate specified Dockerfile: nope"}
 500'
  run api POST "/build?squash=1" -o /dev/null -w '%{http_code}'
  assert_output 400
  printf 'FROM busybox\nRUN --mount=type=cache,target=/x true\n' >Dockerfile
  run docker build .
  assert_failure
  assert_output_contains "the --mount option requires BuildKit"
  printf 'FROM busybox\nRUN <<EOF\necho hi\nEOF\n' >Dockerfile
  run docker build .
  assert_failure
  assert_output_contains "unknown instruction: ECHO"
}

@test "ADD from a URL on a loopback server, and a remote tarball context" {
  mkdir -p "$ARCA_T/www"
  echo "downloaded" >"$ARCA_T/www/file.txt"
  ctx remote
  printf 'FROM busybox\nCOPY msg /msg\nCMD ["cat","/msg"]\n' >Dockerfile
  echo "remote context" >msg
  tar -cf "$ARCA_T/www/ctx.tar" Dockerfile msg
  (cd "$ARCA_T/www" && exec python3 -m http.server "$ARCA_BUILD_HTTP_PORT" --bind 127.0.0.1) </dev/null >/dev/null 2>&1 3>&- &
  echo $! >"$ARCA_T/http.pid"
  retry 50 0.1 curl -sf -o /dev/null "http://127.0.0.1:$ARCA_BUILD_HTTP_PORT/file.txt"
  ctx add-url
  printf 'FROM busybox\nADD http://127.0.0.1:%s/file.txt /dl/\nCMD ["cat","/dl/file.txt"]\n' "$ARCA_BUILD_HTTP_PORT" >Dockerfile
  run docker build -t addurl .
  assert_success
  run docker run --rm addurl
  assert_output "downloaded"
  run docker run --rm --entrypoint stat addurl -c %a /dl/file.txt
  assert_output "600"
  printf 'FROM busybox\nADD http://127.0.0.1:%s/missing /x\n' "$ARCA_BUILD_HTTP_PORT" >Dockerfile
  run docker build .
  assert_failure
  assert_output_contains "ADD failed: failed to GET http://127.0.0.1:$ARCA_BUILD_HTTP_PORT/missing with status 404"
  printf 'FROM busybox\nCOPY http://127.0.0.1:%s/file.txt /x\n' "$ARCA_BUILD_HTTP_PORT" >Dockerfile
  run docker build .
  assert_failure
  assert_output_contains "COPY failed: source can't be a URL for COPY"
  run docker build -t remotectx "http://127.0.0.1:$ARCA_BUILD_HTTP_PORT/ctx.tar"
  assert_success
  run docker run --rm remotectx
  assert_output "remote context"
  run docker build "git://127.0.0.1:$ARCA_BUILD_HTTP_PORT/repo.git"
  assert_failure
}

@test "RUN steps get the build's limits: memory, shm size, ulimits, extra hosts" {
  ctx limits
  printf 'FROM busybox\nRUN cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; df -k /dev/shm | tail -1; ulimit -n; grep myhost /etc/hosts\n' >Dockerfile
  run docker build --no-cache --memory 64m --shm-size 128m --ulimit nofile=1024:2048 --add-host myhost:10.1.2.3 .
  assert_success
  assert_output_contains "67108864"
  assert_line_matches '^shm +131072 '
  assert_line_matches '^1024$'
  assert_output_contains "10.1.2.3	myhost"
}

@test "RUN uses the build's network mode" {
  ctx net
  printf 'FROM busybox\nRUN ls /sys/class/net | sort | tr "\\n" " "\n' >Dockerfile
  run docker build --no-cache --network none .
  assert_success
  assert_output_contains "lo "
  assert_output_not_contains "eth0"
  run docker build --no-cache .
  assert_success
  assert_output_contains "eth0"
  # the host's network: its own interfaces are there
  bridge=$(sed -n 's/.*"bridgeName": *"\([^"]*\)".*/\1/p' "$ARCA_T/config.json")
  run docker build --no-cache --network host .
  assert_success
  assert_output_contains "$bridge"
}

@test "docker-compose build and up --build with args and target" {
  ctx compose
  mkdir app
  cat >app/Dockerfile <<'DF'
FROM busybox AS base
ARG MSG=default
RUN echo "$MSG" > /msg
FROM base AS final
CMD ["cat", "/msg"]
FROM final AS unused
RUN false
DF
  cat >docker-compose.yml <<'YML'
version: "3.7"
services:
  web:
    build:
      context: ./app
      args:
        MSG: from-compose
      target: final
    image: buildtest_web:latest
YML
  run timeout 120 docker-compose -p buildtest build
  assert_success
  assert_output_contains "Successfully tagged buildtest_web:latest"
  run timeout 120 docker-compose -p buildtest up --build --no-color
  assert_success
  assert_output_contains "from-compose"
  run timeout 60 docker-compose -p buildtest down
  assert_success
}

@test "a built image is pushed to a local registry and pulled back; FROM pulls from it" {
  source "$ARCA_REPO/tests/fixtures/registry.sh"
  registry_start "$ARCA_T/reg" "$ARCA_BUILD_REG_PORT"
  local reg=127.0.0.1:$ARCA_BUILD_REG_PORT
  ctx push
  echo pushed >p.txt
  printf 'FROM busybox\nCOPY p.txt /p.txt\nRUN echo layer > /l\nCMD ["cat","/p.txt","/l"]\n' >Dockerfile
  run docker build -t "$reg/built:1" .
  assert_success
  run docker push "$reg/built:1"
  assert_success
  assert_output_contains "1: digest: sha256:"
  id=$(docker image inspect -f '{{.Id}}' "$reg/built:1")
  run docker rmi "$reg/built:1"
  assert_success
  assert_output_contains "Deleted: $id"
  run docker pull "$reg/built:1"
  assert_success
  run docker run --rm "$reg/built:1"
  assert_output "pushed
layer"
  [ "$(docker image inspect -f '{{.Id}}' "$reg/built:1")" = "$id" ]
  # FROM an image that is not here pulls it
  docker rmi "$reg/built:1" >/dev/null
  printf 'FROM %s/built:1\nRUN cat /p.txt\n' "$reg" >Dockerfile
  run docker build .
  assert_success
  assert_output_contains "Pulling from built"
  assert_output_contains "pushed"
  # --pull asks the registry again although the image is here
  run docker build --pull .
  assert_success
  assert_output_contains "Image is up to date for $reg/built:1"
  # a platform the local image is not: looked for in the registry, which has only this host's
  run docker build --platform linux/s390x .
  assert_failure
  assert_output_contains "does not match the specified platform: wanted linux/s390x"
}

@test "docker builder prune and the build cache rows of docker system df" {
  ctx prune
  echo a >a
  printf 'FROM busybox\nCOPY a /a\nRUN echo x > /x\nENV K=v\n' >Dockerfile
  docker build -t prunable:1 . >/dev/null
  # dangling cache: an old chain whose image lost its tag
  echo b >a
  docker build -t prunable:1 . >/dev/null
  run docker system df
  assert_success
  assert_line_matches '^Build Cache +[1-9][0-9]* +'
  run docker system df -v
  assert_output_contains "CACHE ID"
  assert_line_matches '^[0-9a-f]{12} +regular +'
  run api POST "/build/prune?filters=%7B%22foo%22%3A%7B%22x%22%3Atrue%7D%7D"
  assert_output_contains "failed to prune build cache: invalid filter 'foo'"
  # the default prune leaves the cache the tagged image builds on
  run docker builder prune -f
  assert_success
  assert_output_contains "Deleted build cache objects:"
  assert_output_contains "Total reclaimed space:"
  run docker build -t prunable:1 .
  [ "$(grep -c 'Using cache' <<<"$output")" = 3 ] || fail "the tagged image's cache must stay: $output"
  # -a removes it all: the next build runs every step again
  run docker builder prune -af
  assert_success
  run docker build -t prunable:1 .
  assert_output_not_contains "Using cache"
  run docker image inspect -f '{{.Parent}}' prunable:1
  assert_line_matches '^sha256:'
  run api POST "/build/prune?all=1&keep-storage=abc" -o /dev/null -w '%{http_code}'
  assert_output 500
  run api POST "/build/prune?filters=%7B%22until%22%3A%7B%2224h%22%3Atrue%7D%7D"
  assert_output '{"CachesDeleted":null,"SpaceReclaimed":0}'
}

@test "--cache-from reuses the steps of an image's history" {
  ctx cachefrom
  echo data >f
  printf 'FROM busybox\nENV A=1\nCOPY f /f\nRUN echo built > /g\nCMD ["cat","/g"]\n' >Dockerfile
  docker build -q -t cf:1 . >/dev/null
  docker builder prune -af >/dev/null
  run docker build --cache-from cf:1 -t cf:2 .
  assert_success
  [ "$(grep -c 'Using cache' <<<"$output")" = 4 ] || fail "$output"
  [ "$(docker image inspect -f '{{.Id}}' cf:1)" = "$(docker image inspect -f '{{.Id}}' cf:2)" ]
}

@test "a client that goes away cancels the build: the RUN is killed and its container removed" {
  ctx cancel
  printf 'FROM busybox\nRUN echo started; sleep 60\n' >Dockerfile
  run timeout -s INT 4 "$DOCKER_BIN" build --no-cache .
  assert_failure
  assert_output_contains "started"
  cid=$(grep -oE 'Running in [0-9a-f]{12}' <<<"$output" | awk '{print $3}')
  [ -n "$cid" ] || fail "no RUN container: $output"
  retry 50 0.2 bash -c "[ -z \"\$($DOCKER_BIN ps -aq --filter id=$cid)\" ]" || fail "container $cid still there"
}

@test "a daemon killed mid-build leaves nothing behind after its restart" {
  ctx killed
  echo f >f
  printf 'FROM busybox\nCOPY f /f\nRUN echo running; sleep 30\n' >Dockerfile
  docker build --no-cache . >"$ARCA_T/killed.out" 2>&1 &
  local bpid=$!
  retry 100 0.1 grep -q running "$ARCA_T/killed.out"
  ls -d "$ARCA_T"/data/tmp/build-* >/dev/null
  arca_kill9
  wait "$bpid" || true
  arca_start
  run ls "$ARCA_T/data/tmp"
  assert_output_not_contains "build-"
  run grep -c "$ARCA_T/data/tmp/build-" /proc/self/mountinfo
  assert_output "0"
  docker rm -f $(docker ps -aq) >/dev/null
  printf 'FROM busybox\nCOPY f /f\nRUN cat /f\n' >Dockerfile
  run docker build -q .
  assert_success
}
