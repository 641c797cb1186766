#!/usr/bin/env bash
# Runs each libFuzzer harness of tests/fuzz for SECONDS from its committed
# seed corpus (tests/fuzz/corpus/<harness>/, copied: new inputs stay in the
# build dir) and ends with
#   fuzz totals: passed=N failed=N skipped=0
# (a harness passes when it ran its time without a crash, leak or timeout).
# Crashing inputs are kept in BUILD/fuzz-artifacts/<harness>/.
# Usage: scripts/run-fuzz.sh BUILD SECONDS [HARNESS...]   (env FUZZ_SEED: fixed mutation seed)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=${1:?usage: run-fuzz.sh BUILD SECONDS [HARNESS...]}
SECONDS_EACH=${2:?usage: run-fuzz.sh BUILD SECONDS [HARNESS...]}
shift 2

harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do harnesses+=("$(basename "$f" .c)"); done
fi

# the harnesses' own temp dirs (tarball destinations, an image store) go
# under one dir of ours, removed at the end
work=$(mktemp -d /tmp/arca-fuzz-run.XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
for h in "${harnesses[@]}"; do
  bin=$BUILD/$h
  if [ ! -x "$bin" ]; then
    echo "not ok - $h: $bin not built (make fuzz-build)"
    failed=$((failed + 1))
    continue
  fi
  corpus=$BUILD/fuzz-corpus/$h
  artifacts=$BUILD/fuzz-artifacts/$h
  mkdir -p "$corpus" "$artifacts" "$work/$h"
  seeds=tests/fuzz/corpus/$h
  dict=tests/fuzz/$h.dict
  args=(-max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 -max_len=65536
        -artifact_prefix="$artifacts/" -print_final_stats=1)
  [ -f "$dict" ] && args+=(-dict="$dict")
  # FUZZ_SEED: the same mutations on every run (the smoke in make test, so
  # that CI replays a known sequence instead of exploring anew each time)
  [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")
  log=$work/$h.log
  # detect_leaks: a leak on a bad input is a bug like any other
  if TMPDIR=$work/$h ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$bin" "${args[@]}" "$corpus" "$seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "ok - $h (${SECONDS_EACH}s, ${runs:-?} inputs)"
    passed=$((passed + 1))
  else
    echo "not ok - $h: see below; inputs in $artifacts/"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written|^ *#[0-9]+ " "$log" | head -40
    failed=$((failed + 1))
  fi
  rm -rf "${work:?}/$h"
done
echo "fuzz: $passed ok, $failed failing"
echo "fuzz totals: passed=$passed failed=$failed skipped=0"
[ "$failed" -eq 0 ]
