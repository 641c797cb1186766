#!/usr/bin/env bash
# Start a development daemon for `make run`:
#   scripts/run-dev.sh SOCK DEVROOT
# Runs build/arca (or $BUILD/arca) in the background with its state under
# DEVROOT (data, exec, arca.log), waits until /_ping answers, loads the
# busybox test image when tests/fixtures/build-busybox.sh exists, and prints
# the DOCKER_HOST line to use.
set -euo pipefail

SOCK=${1:-/tmp/arca.sock}
DEVROOT=${2:-/tmp/arca-dev}
cd "$(dirname "$0")/.."
ARCA=${ARCA:-${BUILD:-build}/arca}

if [ ! -x "$ARCA" ]; then
  echo "run-dev: $ARCA not built (run make build)" >&2
  exit 1
fi
mkdir -p "$DEVROOT"
LOG="$DEVROOT/arca.log"

ping_ok() {
  curl -sf --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
}

if "$ARCA" daemon status --socket-path "$SOCK" --exec-root "$DEVROOT/exec" >/dev/null 2>&1 && ping_ok; then
  echo "arca daemon already running on $SOCK (log: $LOG)"
  echo "export DOCKER_HOST=unix://$SOCK"
  exit 0
fi

nohup "$ARCA" daemon start --socket-path "$SOCK" --data-root "$DEVROOT/data" \
  --exec-root "$DEVROOT/exec" ${ARCA_LOG_LEVEL:+--log-level "$ARCA_LOG_LEVEL"} \
  >>"$LOG" 2>&1 </dev/null &
pid=$!

for _ in $(seq 1 100); do
  if ping_ok; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run-dev: arca daemon exited; last log lines:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done
if ! ping_ok; then
  echo "run-dev: arca daemon (pid $pid) does not answer on $SOCK; see $LOG" >&2
  exit 1
fi
echo "arca daemon started (pid $pid, socket $SOCK, log $LOG)"

if [ -x tests/fixtures/build-busybox.sh ]; then
  # It prints the paths it wrote; the docker-save tarball is the one to load.
  tarball=
  if out=$(tests/fixtures/build-busybox.sh); then
    tarball=$(grep -- '-save\.tar$' <<<"$out" | head -n 1 || true)
    [ -n "$tarball" ] || tarball=$(head -n 1 <<<"$out")
  fi
  if [ -n "$tarball" ] && [ -f "$tarball" ]; then
    DOCKER_HOST="unix://$SOCK" docker load -i "$tarball" || echo "run-dev: loading $tarball failed" >&2
  else
    echo "run-dev: tests/fixtures/build-busybox.sh failed; no test image loaded" >&2
  fi
fi

echo "export DOCKER_HOST=unix://$SOCK"
