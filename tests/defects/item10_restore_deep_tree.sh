#!/usr/bin/env bash
# Issue 11 item 10 (restore half): restore held one descriptor per directory level and failed deep
# down in a 150-level tree under `ulimit -n 64`. It must restore correctly, --verify included,
# under `ulimit -n 16`: shallower directories are released and reopened when the walk comes back.
# The repository is written with the normal limit (the backup walk is item 10's other half).
# Usage: tests/defects/item10_restore_deep_tree.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item10-restore
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
# lib.sh's same_tree passes on differing trees under pipefail (diff's status wins): compare here.
identical() { diff -r --no-dereference "$1" "$2" >/dev/null 2>&1; }

# 150 levels; each holds a file, a symlink and a side directory with a file of its own, so the
# walk goes down and comes back up at every level. Directory modes differ per level.
SRC="$WORK/src"
d="$SRC"
for i in $(seq 1 150); do
  d="$d/level$i"
  mkdir -p "$d/side"
  echo "file at level $i" >"$d/f"
  echo "side $i" >"$d/side/s"
  ln -s f "$d/link"
done
# Every level's file also has a name in the deepest directory: hardlinks made long after their
# file was restored, from a directory no longer open.
deepest="$d"
d="$SRC"
for i in $(seq 1 150); do d="$d/level$i"; ln "$d/f" "$deepest/h$i"; done
find "$SRC" -depth -type d -name 'level*' | awk '{print NR % 2 ? 755 : 750, $0}' |
  while read -r mode dir; do chmod "$mode" "$dir"; touch -d "2020-01-02 03:04:05" "$dir"; done
listing() { (cd "$1" && find . -mindepth 1 -type d -printf '%m %TY-%Tm-%Td %p\n' | sort); }

expect_rc "init" 0 lb init --pack-size 1
expect_rc "backup (normal limit)" 0 lb backup "$SRC"
(ulimit -n 16 && exec "$LIFEBOAT" restore latest --target "$WORK/r" --verify) \
  >"$WORK/out" 2>"$WORK/err"
rc=$?
check_eq "restore --verify under ulimit -n 16 exits 0 ($(head -c 300 "$WORK/err"))" 0 "$rc"
check "every level restored with its content" identical "$SRC" "$WORK/r$SRC"
check "directory modes and times restored at every level" \
  [ "$(listing "$SRC")" = "$(listing "$WORK/r$SRC")" ]
check "150 levels deep" [ -f "$WORK/r$SRC$(printf '/level%d' $(seq 1 150))/side/s" ]
check_eq "hardlinks restored" 2 "$(stat -c %h "$WORK/r$SRC/level1/f" 2>/dev/null)"

# Over an existing restore (every entry is replaced) and with the limit at 64 as in the report.
(ulimit -n 64 && exec "$LIFEBOAT" restore latest --target "$WORK/r" --verify) \
  >"$WORK/out" 2>"$WORK/err"
rc=$?
check_eq "restore again over it under ulimit -n 64 exits 0 ($(head -c 300 "$WORK/err"))" 0 "$rc"
check "still identical" identical "$SRC" "$WORK/r$SRC"

lb_test_finish
