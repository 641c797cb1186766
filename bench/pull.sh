#!/usr/bin/env bash
# Pull throughput from a local registry (Debian's docker-registry on
# 127.0.0.1), Arca beside a reference dockerd (issue 4's benchmark).
#
# Usage: bench/pull.sh [--with-dockerd] [--mb TOTAL_MB] [--layers N] [-n RUNS] [--build DIR]
#
# Builds, with Arca itself, an image of N layers of incompressible data
# (TOTAL_MB in all, default 200 MB in 4 layers) on top of busybox, pushes it
# to a registry started for the run, then times `docker pull` after `docker
# rmi` (RUNS times, median).  With --with-dockerd the same image is pulled by
# a fresh reference dockerd.  Prints MB/s and the ratio.
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WITH_DOCKERD=0 TOTAL_MB=200 LAYERS=4 RUNS=3 BUILD=$repo/build
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    --mb) TOTAL_MB=$2; shift 2 ;;
    --layers) LAYERS=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac
export ARCA_BIN=${ARCA_BIN:-$BUILD/arca}
export PATH="$BUILD:$PATH"
# shellcheck source=../tests/e2e/helpers.bash
source "$repo/tests/e2e/helpers.bash"
# shellcheck source=../tests/fixtures/registry.sh
source "$repo/tests/fixtures/registry.sh"
ARCA_DOCKER_TIMEOUT=600
ARCA_START_TIMEOUT=20
PORT=5077
IMAGE=127.0.0.1:$PORT/bench/big:1

B=$(mktemp -d /tmp/arca-pull.XXXXXX)
REF_PID=""
cleanup() {
  set +e
  if [ -n "${ARCA_T:-}" ] && [ -d "$ARCA_T" ]; then arca_cleanup; fi
  if [ -n "$REF_PID" ]; then
    DOCKER_HOST="unix://$B/ref/ref.sock" "$DOCKER_BIN" rmi -f "$IMAGE" >/dev/null 2>&1
    kill -TERM "$REF_PID" 2>/dev/null
    wait_pid_gone "$REF_PID" 20 || kill -KILL "$REF_PID" 2>/dev/null
    local f p
    for f in /proc/[0-9]*/cmdline; do
      p=${f#/proc/}; p=${p%/cmdline}
      tr '\0' ' ' <"$f" 2>/dev/null | grep -q "containerd.*$B/ref" && kill -KILL "$p" 2>/dev/null
    done
    awk -v t="$B/ref/" 'index($5, t) == 1 { print length($5) " " $5 }' /proc/self/mountinfo |
      sort -rn | cut -d' ' -f2- | while read -r mp; do umount -l "$(printf '%b' "$mp")" 2>/dev/null; done
  fi
  registry_stop "$B/registry"
  rm -rf --one-file-system "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

time_pulls() { # prints the median pull time in ms
  local i t0 times=()
  for ((i = 0; i < RUNS; i++)); do
    docker rmi -f "$IMAGE" >/dev/null 2>&1
    docker image prune -f >/dev/null 2>&1
    t0=$(now_ms)
    docker pull -q "$IMAGE" >/dev/null || { echo "bench: pull failed" >&2; return 1; }
    times+=($(( $(now_ms) - t0 )))
  done
  printf '%s\n' "${times[@]}" | median
}

registry_start "$B/registry" "$PORT" || exit 1

# Arca: build and push the image, then time its pulls.
ARCA_T=$(mktemp -d /tmp/arca-pull-arca.XXXXXX)
export ARCA_T DOCKER_HOST="unix://$ARCA_T/arca.sock" DOCKER_CONFIG="$ARCA_T/dockercfg"
mkdir -p "$DOCKER_CONFIG"
fixtures_build
arca_start || exit 1
docker load -i "$ARCA_FIXTURES/busybox-save.tar" >/dev/null || exit 1
per=$((TOTAL_MB / LAYERS))
base=busybox
echo "bench: building a ${TOTAL_MB} MB image of $LAYERS layers" >&2
for ((l = 1; l <= LAYERS; l++)); do
  docker rm -f mk >/dev/null 2>&1
  docker run --name mk "$base" sh -c "head -c $((per * 1048576)) /dev/urandom > /layer$l" || exit 1
  docker commit mk "bench-layer:$l" >/dev/null || exit 1
  base=bench-layer:$l
done
docker rm -f mk >/dev/null 2>&1
docker tag "$base" "$IMAGE"
docker push -q "$IMAGE" >/dev/null || { echo "bench: push failed" >&2; exit 1; }
for ((l = 1; l <= LAYERS; l++)); do docker rmi -f "bench-layer:$l" >/dev/null 2>&1; done
echo "bench[arca]: pulling x $RUNS" >&2
arca_ms=$(time_pulls) || exit 1
arca_cleanup
ARCA_T=""

ref_ms="-"
if [ "$WITH_DOCKERD" = 1 ] && command -v dockerd >/dev/null; then
  R=$B/ref
  mkdir -p "$R/cfg"
  export DOCKER_HOST="unix://$R/ref.sock" DOCKER_CONFIG="$R/cfg"
  dockerd --host "unix://$R/ref.sock" --data-root "$R/data" --exec-root "$R/exec" \
    --pidfile "$R/ref.pid" --bridge none --iptables=false --ip6tables=false \
    --containerd-namespace arca-pull --containerd-plugins-namespace arca-pull-plugins \
    </dev/null >"$R/dockerd.log" 2>&1 &
  REF_PID=$!
  for ((i = 0; i < 300; i++)); do
    [ "$(curl -s --max-time 2 --unix-socket "$R/ref.sock" http://localhost/_ping 2>/dev/null)" = OK ] && break
    sleep 0.1
  done
  echo "bench[dockerd]: pulling x $RUNS" >&2
  ref_ms=$(time_pulls) || ref_ms="-"
fi

mbps() { [ "$1" = "-" ] && echo "-" || awk -v mb="$TOTAL_MB" -v ms="$1" 'BEGIN { printf "%.1f", mb / (ms / 1000) }'; }
printf '\nPull of a %d MB, %d-layer image from 127.0.0.1 (median of %d)\n' "$TOTAL_MB" "$LAYERS" "$RUNS"
printf '%-24s %10s %10s %8s\n' metric arca dockerd ratio
ratio=$( [ "$ref_ms" = "-" ] && echo "-" || awk -v a="$arca_ms" -v r="$ref_ms" 'BEGIN { printf "%.2f", a / r }')
printf '%-24s %10s %10s %8s\n' "pull time (ms)" "$arca_ms" "$ref_ms" "$ratio"
printf '%-24s %10s %10s\n' "throughput (MB/s)" "$(mbps "$arca_ms")" "$(mbps "$ref_ms")"
