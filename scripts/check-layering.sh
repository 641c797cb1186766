#!/usr/bin/env bash
# Layering checks that must never regress (docs/design.md "Store module"):
#   - SQL only in src/store/: no file outside it mentions sqlite3 or an SQL
#     statement, or includes the store's private header db_internal.h.
# Prints what it found and exits 1 if anything; prints one line
#   layering totals: passed=N failed=N skipped=0
# that scripts/run-tests.sh reads.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

passed=0 failed=0
check() { # NAME, then the offending lines on stdin
  local name=$1 found
  found=$(cat)
  if [ -n "$found" ]; then
    echo "layering: FAIL: $name:"
    printf '%s\n' "$found" | sed 's/^/  /'
    failed=$((failed + 1))
  else
    echo "layering: ok: $name"
    passed=$((passed + 1))
  fi
}

# (process substitution, not a pipe: check must run in this shell)
check "SQL only in src/store/" < <(grep -rn "sqlite3\|SELECT \|INSERT \|UPDATE \|DELETE FROM" src \
  --include=*.c --include=*.h | grep -v '^src/store/')
check "store/db_internal.h private to src/store/" < <(grep -rn 'store/db_internal\.h' src tests \
  --include=*.c --include=*.h | grep -v '^src/store/')

echo "layering totals: passed=$passed failed=$failed skipped=0"
[ "$failed" -eq 0 ]
