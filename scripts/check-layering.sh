#!/usr/bin/env bash
# Layering checks that must never regress (docs/design.md "Store module"):
#   - SQL only in src/store/: no file outside it mentions sqlite3 or an SQL
#     statement, or includes the store's private header db_internal.h.
#   - src/api/ calls only src/engine/ (ARCHITECTURE.md module rule): a file
#     in src/api/ includes only api/, engine/, http/ and util/ headers, and
#     reaches no image/, net/, store/ or runtime/ header through them.
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

# api_lower_includes: one line per include of a file in src/api/ that
# breaks the module rule: its own includes outside api/, engine/, http/,
# util/, and the image/, net/, store/, runtime/ headers it reaches through
# them (the preprocessor's list: -MM -MG, project headers only, generated
# ones tolerated), so an engine header that drags a lower module in is
# caught too.
api_lower_includes() {
  local f deps
  for f in src/api/*.c src/api/*.h; do
    [ -e "$f" ] || continue
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
      grep -Ev '^(api|engine|http|util)/' | sed "s|^|$f includes |"
    if ! deps=$(${CC:-cc} -MM -MG -Isrc "$f" 2>&1); then
      echo "$f: cannot list its includes: $deps"
      continue
    fi
    tr ' \\' '\n\n' <<<"$deps" | grep -E '^src/(image|net|store|runtime)/' | sort -u |
      sed "s|^|$f reaches |"
  done
}
check "src/api/ reaches lower modules only through src/engine/" < <(api_lower_includes)

echo "layering totals: passed=$passed failed=$failed skipped=0"
[ "$failed" -eq 0 ]
