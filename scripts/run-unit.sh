#!/usr/bin/env bash
# Runs the unit tests (cmocka, one meson test per tests/unit/test_*.c).
# Usage: scripts/run-unit.sh [BUILD]   (default build)
# Prints meson's own output, then one machine-readable line that
# scripts/run-tests.sh reads:  unit totals: passed=N failed=N skipped=N
# Exit status: meson test's (non-zero when a test failed).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=${1:-build}
log=$(mktemp /tmp/arca-unit.XXXXXX)
trap 'rm -f "$log"' EXIT

timeout "${ARCA_UNIT_TIMEOUT:-900}" meson test -C "$BUILD" --print-errorlogs 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# meson's summary block: "Ok: N", "Expected Fail: N", "Fail: N",
# "Unexpected Pass: N", "Skipped: N", "Timeout: N".
count() { awk -v k="$1" -F: '$1 == k { gsub(/[^0-9]/, "", $2); v = $2 } END { print v }' "$log"; }
ok=$(count Ok); xfail=$(count "Expected Fail"); fail=$(count Fail)
upass=$(count "Unexpected Pass"); skip=$(count Skipped); tmo=$(count Timeout)
passed=$(( ${ok:-0} + ${xfail:-0} ))
failed=$(( ${fail:-0} + ${upass:-0} + ${tmo:-0} ))
skipped=${skip:-0}
if grep -q "No tests defined" "$log"; then
  echo "unit: no unit tests defined"
  rc=0
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # meson itself failed (build error, timeout of the whole run, ...).
  echo "unit: meson test exited $rc without a failing test; counting it as one failure"
  failed=1
fi
echo "unit: $passed ok, $failed failing, $skipped skipped"
echo "unit totals: passed=$passed failed=$failed skipped=$skipped"
exit "$rc"
