#!/usr/bin/env bash
# Issue 11 item 16: invalid exclude patterns ('[', 'a\', '[a-') were accepted and matched
# nothing, so a typo silently backed up what it meant to leave out. They are rejected with a
# usage error (exit 2) that names the pattern, and for --exclude-file the file and line, before
# the repository is touched.
# Usage: tests/defects/item16_invalid_excludes.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item16
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
expect_rc "init" 0 lb init --pack-size 1
SRC="$WORK/src"
mkdir -p "$SRC"
echo keep >"$SRC/keep.txt"
echo skip >"$SRC/skip.tmp"
echo bracket >"$SRC/[x]"

# shellcheck disable=SC1003  # 'a\' is the pattern a + backslash, not an escaped quote
for pattern in '[' 'a\' '[a-' '*.[ch' '[[:nope:]]'; do
  expect_rc "--exclude '$pattern' is rejected" 2 lb backup --exclude "$pattern" "$SRC"
  check_has "the error names '$pattern'" "$WORK/err" "invalid exclude pattern '$pattern'"
done
check_eq "no snapshot was written" 0 "$(snapshot_count)"
check_eq "no lock left behind" 0 "$(find "$LIFEBOAT_REPOSITORY/locks" -type f | wc -l)"

printf '# comment\n*.tmp\n\n  [a-  \n' >"$WORK/excludes.txt"
expect_rc "an exclude file with a bad line is rejected" 2 lb backup --exclude-file "$WORK/excludes.txt" "$SRC"
check_has "the error names file and line" "$WORK/err" "$WORK/excludes.txt:4: invalid exclude pattern '[a-'"

# Valid patterns, escapes and classes still work.
printf '*.tmp\n\\[x\\]\n' >"$WORK/good.txt"
expect_rc "valid patterns are accepted" 0 lb backup --exclude-file "$WORK/good.txt" \
  --exclude '[[:digit:]]*' "$SRC"
expect_rc "ls" 0 lb ls latest
check_has "keep.txt is in" "$WORK/out" "$SRC/keep.txt"
check_lacks "*.tmp is out" "$WORK/out" "skip.tmp"
check_lacks "the escaped bracket name is out" "$WORK/out" "[x]"
lb_test_finish
