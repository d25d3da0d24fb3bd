#!/usr/bin/env bash
# The defects found when Lifeboat was tried from the outside (issue 11), replayed against the
# binary given as $1 (CI gives the release `lifeboat`): every tests/defects/item*.sh in turn, each
# in its own temporary directory. Prints each script's checks, then one summary line; exits
# non-zero when any script failed.
#
#   bash tests/cli_defects_test.sh build/release/src/cli/lifeboat            # all of them
#   bash tests/cli_defects_test.sh build/release/src/cli/lifeboat item11     # names matching item11
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat [NAME-FILTER]}"
filter="${2:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
passed=0 failed=0 failed_names=()
shopt -s nullglob
scripts=("$here"/defects/item*.sh)
if [ ${#scripts[@]} -eq 0 ]; then
  echo "no scripts in $here/defects" >&2
  exit 1
fi
for script in "${scripts[@]}"; do
  name="$(basename "$script" .sh)"
  [[ -z "$filter" || "$name" == *"$filter"* ]] || continue
  echo "==> $name"
  start=$SECONDS
  if bash "$script" "$LIFEBOAT" 2>&1 | sed 's/^/    /'; then
    passed=$((passed + 1))
    echo "<== $name ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "<== $name FAILED ($((SECONDS - start)) s)"
  fi
done
[ $failed -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
