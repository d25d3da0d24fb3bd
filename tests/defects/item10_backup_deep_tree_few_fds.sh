#!/usr/bin/env bash
# Issue 11 item 10, backup half: the walk held one descriptor per level, so a 150-level tree
# stopped deep down under a low open-file limit (restic completes at ulimit -n 16). The walk now
# keeps descriptors for a window of levels and reopens the others from a shallower one.
# (The restore half is checked without the limit here.)
# Usage: tests/defects/item10_backup_deep_tree_few_fds.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item10b
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
expect_rc "init" 0 lb init --pack-size 1

SRC="$WORK/src"
d="$SRC"
for i in $(seq 1 150); do
  d="$d/d$i"
  mkdir -p "$d"
  echo "level $i" >"$d/f"
  [ $((i % 10)) = 0 ] && head -c 300000 /dev/urandom >"$d/big"  # packs are written meanwhile
done

low() { (ulimit -n 16; exec "$LIFEBOAT" "$@"); }
expect_rc "backup under ulimit -n 16" 0 low backup "$SRC"
check_lacks "no 'Too many open files'" "$WORK/err" "Too many open files"
expect_rc "ls" 0 lb ls latest
check_eq "all 150 levels are in the snapshot" 150 "$(grep -c '/f$' "$WORK/out")"
expect_rc "restore (normal limit)" 0 lb restore latest --target "$WORK/r"
check "restored tree is identical" same_tree "$SRC" "$WORK/r$SRC"

# With progress (--json): the pre-scan walks the tree at the same time, under the same limit.
echo changed >"$SRC/d1/d2/d3/f"
expect_rc "incremental backup with progress under ulimit -n 16" 0 low --json backup "$SRC"
check_has "the summary counts every file" "$WORK/out" '"total_files_processed":165'
check_has "one changed" "$WORK/out" '"files_changed":1'
expect_rc "check --read-data" 0 lb check --read-data
lb_test_finish
