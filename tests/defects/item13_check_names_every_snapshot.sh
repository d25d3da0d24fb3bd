#!/usr/bin/env bash
# Issue 11 item 13: `check` under-reported damage. A flipped byte in a data pack was reported as
# affecting one snapshot while the newest snapshot held the same file too (deduplication shares
# the blob, and the directory's tree) and its restore failed. Every affected snapshot and every
# affected path in it must be named, in the text and the JSON output.
#
#   tests/defects/item13_check_names_every_snapshot.sh build/release/src/cli/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item13
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw"

# big_pack: the packs over 50 KiB: here only the one holding a.bin's blob.
big_pack() { find "$LIFEBOAT_REPOSITORY/data" -type f -size +50k; }

mkdir -p "$WORK/src/sub"
head -c 100000 /dev/urandom >"$WORK/src/sub/a.bin"
expect_rc "init" 0 lb init
expect_rc "first backup" 0 lb backup "$WORK/src"
echo "new" >"$WORK/src/other.txt"  # the root changes, src/sub (and a.bin's blob) is shared
expect_rc "second backup" 0 lb backup "$WORK/src"
IDS="$(lb --json snapshots | grep -o '"short_id":"[0-9a-f]*"' | cut -d'"' -f4)"
FIRST="$(echo "$IDS" | head -1)" LAST="$(echo "$IDS" | tail -1)"
check "two snapshots" [ -n "$FIRST" ] && [ "$FIRST" != "$LAST" ]

PACK="$(big_pack)"
check_eq "one pack holds a.bin" 1 "$(echo "$PACK" | grep -c .)"
flip_byte "$PACK" 100  # inside the only data blob
expect_rc "the newest snapshot does not restore" 3 lb restore latest --target "$WORK/target"

expect_rc "check --read-data finds the damage" 4 lb check --read-data
check_has "the first snapshot's file is named" "$WORK/out" "snapshot $FIRST: $WORK/src/sub/a.bin"
check_has "the newest snapshot's file is named too" "$WORK/out" "snapshot $LAST: $WORK/src/sub/a.bin"
check_has "the summary counts both snapshots" "$WORK/out" "damage affects 2 of 2 snapshot(s)"
check_lacks "other.txt is not affected" "$WORK/out" "other.txt"

expect_rc "check --read-data --json" 4 lb --json check --read-data
check_has "JSON names the first snapshot's file" "$WORK/out" "snapshot $FIRST: $WORK/src/sub/a.bin"
check_has "JSON names the newest snapshot's file" "$WORK/out" "snapshot $LAST: $WORK/src/sub/a.bin"
check_eq "JSON lists both snapshots as affected" 2 \
  "$(grep -o '"affected_snapshots":\[.*' "$WORK/out" | grep -o '"short_id":"' | wc -l)"
lb_test_finish
