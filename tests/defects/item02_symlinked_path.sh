#!/usr/bin/env bash
# Issue 11 item 2: a path below a symlinked directory backs up nothing ("link: is not a
# directory", an empty incomplete snapshot). Symlinks among the leading components of a path
# given are followed and the path is recorded as given (link/sub are directories in the
# snapshot); a path that is itself a symlink is stored as the symlink (restic's rule).
# Usage: tests/defects/item02_symlinked_path.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item02
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
expect_rc "init" 0 lb init --pack-size 1

mkdir -p "$WORK/real/sub/deeper"
echo "below a symlinked directory" >"$WORK/real/sub/f"
echo "deeper" >"$WORK/real/sub/deeper/g"
ln -s real "$WORK/link"

expect_rc "backup of link/sub" 0 lb backup "$WORK/link/sub"
check_lacks "no 'is not a directory' error" "$WORK/err" "is not a directory"
expect_rc "ls" 0 lb ls --json latest
check_has "the snapshot records the path as given" "$WORK/out" "\"path\":\"$WORK/link/sub/f\""
check_has "link is a directory in the snapshot" "$WORK/out" \
  "\"path\":\"$WORK/link\",\"permissions\":\"drwx"
expect_rc "restore" 0 lb restore latest --target "$WORK/r1"
check "the files below come back" same_tree "$WORK/real/sub" "$WORK/r1$WORK/link/sub"

# The path itself a symlink: stored as the symlink, not followed.
expect_rc "backup of link itself" 0 lb backup "$WORK/link"
expect_rc "restore of link" 0 lb restore latest --target "$WORK/r2"
check "link is restored as a symlink" [ -L "$WORK/r2$WORK/link" ]
check_eq "its target is kept" real "$(readlink "$WORK/r2$WORK/link")"

# A leading component that is a symlink to a file is still an error (exit 3, incomplete).
echo x >"$WORK/plain"
ln -s plain "$WORK/filelink"
expect_rc "a symlink to a file cannot lead to a path" 3 lb backup "$WORK/filelink/x" "$WORK/real"
check_has "it says so" "$WORK/err" "filelink"
lb_test_finish
