#!/usr/bin/env bash
# Runs the bats end-to-end tests against the binaries in BUILD.
# Usage: scripts/run-e2e.sh [BUILD] [FILE.bats ...]   (default: build, all of tests/e2e)
# Each file runs in its own bats process (one daemon per file), time-boxed per
# file (ARCA_E2E_FILE_TIMEOUT, default 600 s) and in total (ARCA_E2E_TIMEOUT,
# default 3000 s).  Tests of a file that did not report (timeout, crash)
# count as failed.  Prints the TAP output, then one machine-readable line that
# scripts/run-tests.sh reads:  e2e totals: passed=N failed=N skipped=N
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
repo=$(pwd)
BUILD=${1:-build}
shift || true
case "$BUILD" in /*) ;; *) BUILD=$repo/$BUILD ;; esac

export ARCA_BIN=${ARCA_BIN:-$BUILD/arca}
# Only the commands a fresh machine has after scripts/setup.sh are on PATH
# (scripts/test-path.py): a test calling anything else fails here, not on CI.
# ARCA_E2E_HOST_PATH=1 keeps the caller's PATH (for debugging by hand).
if [ "${ARCA_E2E_HOST_PATH:-0}" = 1 ]; then
  export PATH="$BUILD:$PATH"
elif farm=$(/usr/bin/python3 scripts/test-path.py "$BUILD/test-path"); then
  export PATH="$BUILD:$farm"
else
  echo "e2e: cannot build the test PATH (scripts/test-path.py)" >&2
  echo "e2e totals: passed=0 failed=1 skipped=0"
  exit 1
fi
# script(1) and tmux run commands with $SHELL: the same one here as on a CI
# machine, where it may be unset (B6_remote's exec -it hung on CI only:
# dash forks where bash execs).
export SHELL=/bin/sh
total_budget=${ARCA_E2E_TIMEOUT:-3000}
file_budget=${ARCA_E2E_FILE_TIMEOUT:-600}

if [ $# -gt 0 ]; then files=("$@"); else files=(tests/e2e/*.bats); fi
if [ ! -e "${files[0]}" ]; then
  echo "e2e: no test files"
  echo "e2e totals: passed=0 failed=0 skipped=0"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "e2e: must run as root (the daemon creates namespaces, mounts and cgroups)" >&2
fi

# Fixtures once per run.
if ! tests/fixtures/build-busybox.sh tests/fixtures/out >/dev/null; then
  echo "e2e: building the busybox fixture failed" >&2
fi

passed=0 failed=0 skipped=0
start=$(date +%s)
export ARCA_E2E_RUN_ID="run-$$-$start"
log=$(mktemp /tmp/arca-e2e-run.XXXXXX)
trap 'rm -f "$log"' EXIT

for f in "${files[@]}"; do
  expected=$(bats --count "$f" 2>/dev/null || echo 0)
  left=$(( total_budget - ($(date +%s) - start) ))
  if [ "$left" -le 0 ]; then
    echo "# e2e: time budget spent; $f not run ($expected tests counted as failed)"
    failed=$((failed + expected))
    continue
  fi
  budget=$(( left < file_budget ? left : file_budget ))
  echo "# === $f ($expected tests, ${budget}s) ==="
  before=$(ls -d /tmp/arca-e2e.* 2>/dev/null || true)
  # bats' own temp dir goes under a dir of ours, removed even after a timeout.
  btmp=$(mktemp -d /tmp/arca-e2e-bats.XXXXXX)
  TMPDIR=$btmp timeout -k 10 "$budget" bats --tap "$f" </dev/null 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  rm -rf "$btmp"
  # A file killed by the timeout never ran its teardown_file: clean up the
  # daemons, shims, mounts and temp dirs it left (only those it created).
  if [ "${ARCA_E2E_KEEP:-0}" != 1 ]; then
    for d in /tmp/arca-e2e.*; do
      [ -d "$d" ] || continue
      grep -qxF -- "$d" <<<"$before" && continue
      # Only this run's dirs: other runs may share the machine.
      [ "$(cat "$d/.run" 2>/dev/null)" = "$ARCA_E2E_RUN_ID" ] || continue
      echo "# e2e: cleaning up $d left by $f"
      (
        # shellcheck source=../tests/e2e/helpers.bash
        source tests/e2e/helpers.bash
        export ARCA_T=$d DOCKER_HOST="unix://$d/arca.sock" DOCKER_CONFIG="$d/dockercfg"
        arca_cleanup
      ) </dev/null 3>/dev/null
    done
  fi
  ok=$(grep -cE '^ok [0-9]+' "$log" || true)
  sk=$(grep -E '^ok [0-9]+' "$log" | grep -ciE ' # skip( |$)' || true)
  nok=$(grep -cE '^not ok [0-9]+' "$log" || true)
  missing=$(( expected - ok - nok ))
  [ "$missing" -lt 0 ] && missing=0
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "# e2e: $f timed out after ${budget}s; $missing unreported tests counted as failed"
  elif [ "$missing" -gt 0 ]; then
    echo "# e2e: $f (bats exit $rc) reported $((ok + nok)) of $expected tests; $missing counted as failed"
  elif [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
    echo "# e2e: bats exited $rc for $f with no failing test; counting one failure"
    missing=1
  fi
  passed=$((passed + ok - sk))
  skipped=$((skipped + sk))
  failed=$((failed + nok + missing))
done

echo "e2e: $passed ok, $failed failing, $skipped skipped ($(( $(date +%s) - start ))s)"
echo "e2e totals: passed=$passed failed=$failed skipped=$skipped"
[ "$failed" -eq 0 ]
