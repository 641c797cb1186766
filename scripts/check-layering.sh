#!/usr/bin/env bash
# Checks the module rule of ARCHITECTURE.md that the compiler does not:
# dependencies point downward, and src/api/ calls only src/engine/.
# Prints each violation and exits non-zero if there is one.
# Usage: scripts/check-layering.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# check_api_includes: a file in src/api/ includes only api/, engine/,
# http/ and util/ headers itself, and none of the headers it reaches
# through them is one of the modules below the engine that hold state or
# talk to the system (image/, net/, store/, runtime/).  The transitive set
# is the preprocessor's (-MM -MG: project headers only, generated ones
# tolerated), so an engine header that drags a lower module in is caught too.
check_api_includes() {
  local bad=0 f dep
  for f in src/api/*.c src/api/*.h; do
    [ -e "$f" ] || continue
    while IFS= read -r dep; do
      echo "check-layering: $f includes \"$dep\" (src/api/ calls only src/engine/)"
      bad=1
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
               grep -Ev '^(api|engine|http|util)/')
    local deps
    if ! deps=$(${CC:-cc} -MM -MG -Isrc "$f" 2>&1); then
      echo "check-layering: cannot list the includes of $f: $deps"
      bad=1
      continue
    fi
    while IFS= read -r dep; do
      echo "check-layering: $f reaches $dep through its includes (src/api/ calls only src/engine/)"
      bad=1
    done < <(tr ' \\' '\n\n' <<<"$deps" | grep -E '^src/(image|net|store|runtime)/' | sort -u)
  done
  return "$bad"
}

rc=0
check_api_includes || rc=1
[ "$rc" -eq 0 ] && echo "check-layering: ok"
exit "$rc"
