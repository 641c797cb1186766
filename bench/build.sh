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
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WITH_DOCKERD=0 RUNS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --with-dockerd) WITH_DOCKERD=1; shift ;;
    -n) RUNS=$2; shift 2 ;;
    --build) export BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
bench_build_path
ARCA_DOCKER_TIMEOUT=600
ARCA_START_TIMEOUT=20
export DOCKER_BUILDKIT=0

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
  local i
  for ((i = 0; i < RUNS; i++)); do
    # shellcheck disable=SC2086
    time_ms docker build -q $1 -t bench-build "$B/ctx" || { echo "bench: build failed" >&2; return 1; }
  done | median
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
arca_bench_start || exit 1
echo "bench[arca]: $RUNS cold and $RUNS cached builds" >&2
read -r arca_cold arca_cached <<<"$(measure)" || exit 1
arca_bench_stop

ref_cold="-" ref_cached="-"
if [ "$WITH_DOCKERD" = 1 ] && ref_start --bridge none --iptables=false --ip6tables=false; then
  echo "bench[dockerd]: $RUNS cold and $RUNS cached builds" >&2
  read -r ref_cold ref_cached <<<"$(on ref measure)" || { ref_cold="-"; ref_cached="-"; }
fi

printf '\ndocker build of a 10-step Dockerfile, classic builder (median of %d)\n' "$RUNS"
printf '%-24s %10s %10s %8s\n' metric arca dockerd ratio
printf '%-24s %10s %10s %8s\n' "cold, --no-cache (ms)" "$arca_cold" "$ref_cold" "$(ratio "$arca_cold" "$ref_cold")"
printf '%-24s %10s %10s %8s\n' "cached (ms)" "$arca_cached" "$ref_cached" "$(ratio "$arca_cached" "$ref_cached")"
