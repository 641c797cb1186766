#!/usr/bin/env bash
# docker build of a 10-step Dockerfile with the classic builder, cold
# (--no-cache) and cached, Arca beside a reference dockerd 20.10 run with
# DOCKER_BUILDKIT=0 (issue 14's benchmark).
#
# Usage: bench/build.sh [--with-dockerd] [-n RUNS] [--build DIR]
#
# Both daemons get the busybox fixture; each figure is the median of RUNS
# builds (default 5) timed around the docker CLI.  The reference dockerd
# runs in a network namespace of its own with --bridge none, so its RUN
# steps have no network while Arca's get its default bridge (which makes
# Arca's RUN steps slightly dearer).  Prints milliseconds and the ratio
# arca/dockerd (below 1: Arca is faster).
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WITH_DOCKERD=0 RUNS=5 BUILD=$repo/build
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) RUNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac
export ARCA_BIN=${ARCA_BIN:-$BUILD/arca}
export PATH="$BUILD:$PATH"
# shellcheck source=../tests/e2e/helpers.bash
source "$repo/tests/e2e/helpers.bash"
ARCA_DOCKER_TIMEOUT=600
ARCA_START_TIMEOUT=20
export DOCKER_BUILDKIT=0

B=$(mktemp -d /tmp/arca-build-bench.XXXXXX)
REF_PID=""
cleanup() {
  set +e
  if [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ]; then arca_cleanup; fi
  if [ -n "$REF_PID" ]; then
    DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" rm -f $(DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" ps -aq) >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait_pid_gone "$REF_PID" 20 || kill -KILL "$REF_PID" 2>/dev/null
    local f p
    for f in /proc/[0-9]*/cmdline; do
      [ -r "$f" ] || continue
      p=${f#/proc/}; p=${p%/cmdline}
      tr '\0' ' ' <"$f" 2>/dev/null | grep -q "containerd.*$B/ref" && kill -KILL "$p" 2>/dev/null
    done
    awk -v t="$B/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
      sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
  fi
  rm -rf --one-file-system "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

# The context: ten steps after FROM, the usual mix of metadata, files and RUN.
mkdir -p "$B/ctx/src"
for i in 1 2 3 4 5; do head -c 65536 /dev/urandom | base64 >"$B/ctx/src/file$i.txt"; done
cat >"$B/ctx/Dockerfile" <<'DF'
FROM busybox
ARG VERSION=1.0
ENV APP_HOME=/app LANG=C.UTF-8
WORKDIR $APP_HOME
COPY src/ ./src/
RUN cat src/*.txt | wc -c > /size && mkdir -p /var/app
RUN adduser -D -u 1001 app || true
LABEL org.example.version=$VERSION
EXPOSE 8080
USER 1001
CMD ["cat", "/size"]
DF

time_builds() { # $1 = extra flag (--no-cache or ""); prints the median in ms
  local i t0 times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now_ms)
    docker build -q $1 -t bench-build "$B/ctx" >/dev/null || { echo "bench: build failed" >&2; return 1; }
    times+=($(( $(now_ms) - t0 )))
  done
  printf '%s\n' "${times[@]}" | median
}

measure() { # prints "cold cached"
  local cold cached
  docker build -q -t bench-build "$B/ctx" >/dev/null || return 1 # warm-up: images, layers, page cache
  cold=$(time_builds --no-cache) || return 1
  docker build -q -t bench-build "$B/ctx" >/dev/null || return 1
  cached=$(time_builds "") || return 1
  echo "$cold $cached"
}

# Arca
ARCA_T=$(mktemp -d /tmp/arca-build-bench-arca.XXXXXX)
export ARCA_T DOCKER_HOST="unix://$ARCA_T/arca.sock" DOCKER_CONFIG="$ARCA_T/dockercfg"
mkdir -p "$DOCKER_CONFIG"
fixtures_build
arca_start || exit 1
docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || exit 1
echo "bench[arca]: $RUNS cold and $RUNS cached builds" >&2
read -r arca_cold arca_cached <<<"$(measure)" || exit 1
arca_cleanup
ARCA_T=""

ref_cold="-" ref_cached="-"
if [ "$WITH_DOCKERD" = 1 ] && command -v dockerd >/dev/null; then
  R=$B/ref
  mkdir -p "$R/cfg"
  touch "$R/netns"
  unshare --net="$R/netns" true || exit 1
  export DOCKER_HOST="unix://$R/ref.sock" DOCKER_CONFIG="$R/cfg"
  nsenter --net="$R/netns" dockerd --host "unix://$R/ref.sock" --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/ref.pid" --bridge none --iptables=false --ip6tables=false \
    --containerd-namespace arca-build-bench --containerd-plugins-namespace arca-build-bench-plugins \
    </dev/null >"$R/dockerd.log" 2>&1 &
  REF_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    sleep 0.1
  done
  docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || exit 1
  echo "bench[dockerd]: $RUNS cold and $RUNS cached builds" >&2
  read -r ref_cold ref_cached <<<"$(measure)" || { ref_cold="-"; ref_cached="-"; }
fi

ratio() { [ "$2" = "-" ] && echo "-" || awk -v a="$1" -v r="$2" 'BEGIN { printf "%.2f", a / r }'; }
printf '\ndocker build of a 10-step Dockerfile, classic builder (median of %d)\n' "$RUNS"
printf '%-24s %10s %10s %8s\n' metric arca dockerd ratio
printf '%-24s %10s %10s %8s\n' "cold, --no-cache (ms)" "$arca_cold" "$ref_cold" "$(ratio "$arca_cold" "$ref_cold")"
printf '%-24s %10s %10s %8s\n' "cached (ms)" "$arca_cached" "$ref_cached" "$(ratio "$arca_cached" "$ref_cached")"
