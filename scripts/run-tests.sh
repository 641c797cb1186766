#!/usr/bin/env bash
# Runs the layering checks, the unit tests, a smoke of the fuzz harnesses,
# the e2e tests, then a short soak, and ends with the one summary line
#   N passed, N failed[, N skipped]
# (layering + unit + fuzz + e2e + soak).  Exit status non-zero if any test failed or none ran.
# Usage: scripts/run-tests.sh [BUILD]   (default build)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
BUILD=${1:-build}

out=$(mktemp /tmp/arca-tests.XXXXXX)
trap 'rm -f "$out"' EXIT

# totals LABEL: "passed failed skipped" from the "LABEL totals:" line in $out.
totals() {
  sed -n "s/^$1 totals: passed=\([0-9]*\) failed=\([0-9]*\) skipped=\([0-9]*\)$/\1 \2 \3/p" "$out" | tail -1
}

# Layering checks first (scripts/check-layering.sh: SQL only in src/store/).
scripts/check-layering.sh 2>&1 | tee "$out"
layer_rc=${PIPESTATUS[0]}
read -r lp lf _ <<<"$(totals layering)"
if [ -z "${lp:-}" ]; then lp=0 lf=1; echo "run-tests: layering check printed no totals (exit $layer_rc)"; fi

scripts/run-unit.sh "$BUILD" 2>&1 | tee "$out"
unit_rc=${PIPESTATUS[0]}
read -r up uf us <<<"$(totals unit)"
if [ -z "${up:-}" ]; then up=0 uf=1 us=0; echo "run-tests: unit runner printed no totals (exit $unit_rc)"; fi

# libFuzzer smoke (tests/fuzz): a few seconds of each harness from its
# seeds, in build-fuzz/ (clang, ASan + UBSan); `make fuzz` runs them long.
fp=0 ff=0
if make --no-print-directory fuzz-build >"$out" 2>&1; then
  FUZZ_SEED=${FUZZ_SEED:-1} scripts/run-fuzz.sh build-fuzz "${FUZZ_SMOKE_TIME:-4}" 2>&1 | tee "$out"
  read -r fp ff _ <<<"$(totals fuzz)"
  if [ -z "${fp:-}" ]; then fp=0 ff=1; echo "run-tests: fuzz runner printed no totals"; fi
else
  cat "$out"
  echo "run-tests: building the fuzz harnesses failed"
  ff=1
fi

scripts/run-e2e.sh "$BUILD" 2>&1 | tee "$out"
e2e_rc=${PIPESTATUS[0]}
read -r ep ef es <<<"$(totals e2e)"
if [ -z "${ep:-}" ]; then ep=0 ef=1 es=0; echo "run-tests: e2e runner printed no totals (exit $e2e_rc)"; fi

# A short fault-injection soak (tests/soak/soak.py; `make soak` is the full
# run): SOAK_SHORT_KILLS daemon kill -9s under mixed traffic, Arca's view
# checked against reality after each.  One test: passed when it found no
# inconsistency.
sp=0 sf=0
if [ "${SOAK_SHORT_KILLS:-8}" -gt 0 ]; then
  if /usr/bin/python3 tests/soak/soak.py --kills "${SOAK_SHORT_KILLS:-8}" --clients 4 --arca "$BUILD/arca" \
       --image "${ARCA_FIXTURES:-tests/fixtures/out}/busybox-save.tar"; then
    sp=1
  else
    sf=1
  fi
fi

passed=$((lp + up + fp + ep + sp)) failed=$((lf + uf + ff + ef + sf)) skipped=$((us + es))
rc=0
[ "$failed" -gt 0 ] && rc=1
[ "$unit_rc" -ne 0 ] || [ "$e2e_rc" -ne 0 ] && rc=1
[ $((passed + failed)) -eq 0 ] && { echo "run-tests: no test ran"; rc=1; }
echo "layering: $lp passed, $lf failed; unit: $up passed, $uf failed, $us skipped; fuzz smoke: $fp passed, $ff failed; e2e: $ep passed, $ef failed, $es skipped; soak: $sp passed, $sf failed"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
exit "$rc"
