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
# Each daemon runs in a network namespace of its own (lib.sh), and the
# registry on 127.0.0.1 of that namespace while the daemon is measured (one
# storage directory: dockerd pulls what Arca pushed).  Everything started
# here is stopped by PID, the namespaces removed, on exit or Ctrl-C.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../tests/fixtures/registry.sh
source "$repo/tests/fixtures/registry.sh"
WITH_DOCKERD=0 TOTAL_MB=200 LAYERS=4 RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    --mb) TOTAL_MB=$2; shift 2 ;;
    --layers) LAYERS=$2; shift 2 ;;
    -n) RUNS=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
ARCA_DOCKER_TIMEOUT=600
ARCA_START_TIMEOUT=20
PORT=5077
IMAGE=127.0.0.1:$PORT/bench/big:1

# registry_in DAEMON: the registry on 127.0.0.1:PORT in the network
# namespace of "arca" or "ref" (registry_start, run there by a shell that
# leaves it running; its PID is in $B/registry/registry.pid).
registry_in() {
  # shellcheck disable=SC2016
  in_ns "$1" bash -c 'source "$1" && registry_start "$2" "$3"' registry_in \
    "$repo/tests/fixtures/registry.sh" "$B/registry" "$PORT"
}
bench_on_exit 'registry_stop "$B/registry"'

time_pulls() { # prints the median pull time in ms
  local i
  for ((i = 0; i < RUNS; i++)); do
    docker rmi -f "$IMAGE" >/dev/null 2>&1
    docker image prune -f >/dev/null 2>&1
    time_ms docker pull -q "$IMAGE" || { echo "bench: pull failed" >&2; return 1; }
  done | median
}

# Arca: build and push the image, then time its pulls.
arca_bench_netns || exit 1
arca_bench_start || exit 1
registry_in arca || exit 1
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
registry_stop "$B/registry"
arca_bench_stop

ref_ms="-"
if [ "$WITH_DOCKERD" = 1 ]; then
  if ref_start --bridge none --iptables=false --ip6tables=false && registry_in ref; then
    echo "bench[dockerd]: pulling x $RUNS" >&2
    ref_ms=$(on ref time_pulls) || ref_ms="-"
  else
    echo "bench: dockerd or its registry did not start" >&2
  fi
fi

mbps() { [ "$1" = "-" ] && echo "-" || awk -v mb="$TOTAL_MB" -v ms="$1" 'BEGIN { printf "%.1f", mb / (ms / 1000) }'; }
printf '\nPull of a %d MB, %d-layer image from 127.0.0.1 (median of %d)\n' "$TOTAL_MB" "$LAYERS" "$RUNS"
printf '%-24s %10s %10s %8s\n' metric arca dockerd ratio
printf '%-24s %10s %10s %8s\n' "pull time (ms)" "$arca_ms" "$ref_ms" "$(ratio "$arca_ms" "$ref_ms")"
printf '%-24s %10s %10s\n' "throughput (MB/s)" "$(mbps "$arca_ms")" "$(mbps "$ref_ms")"
