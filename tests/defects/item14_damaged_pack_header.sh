#!/usr/bin/env bash
# Issue 11 item 14: a damaged pack header was reported as "N unreadable blobs" (and every file in
# the pack as affected) although the index reaches all of them and a restore was byte-identical.
# Each blob is authenticated by itself: check now says that the header is damaged and the data
# is reachable (still exit 4: it is damage, doc/repair.md), names no file, and `repair packs`
# rewrites the blobs into a sound pack.
#
#   tests/defects/item14_damaged_pack_header.sh build/release/src/cli/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item14
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw"

mkdir -p "$WORK/src"
for i in $(seq 1 40); do head -c $((3000 + i * 100)) /dev/urandom >"$WORK/src/f$i"; done
expect_rc "init" 0 lb init
expect_rc "backup" 0 lb backup "$WORK/src"
# The data pack: the biggest pack (the 40 files' blobs); the others hold trees.
PACK="$(find "$WORK/repo/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)"
SIZE="$(stat -c %s "$PACK")"
flip_byte "$PACK" $((SIZE - 10))  # inside the sealed header, before the length trailer

expect_rc "check reports the damage" 4 lb check
check_has "it says the header is damaged" "$WORK/out" "pack header is damaged"
check_has "it says the data is reachable" "$WORK/out" "the data is reachable and no file is affected"
check_has "it names the repair" "$WORK/out" "repair packs"
check_lacks "no blob is called unreadable" "$WORK/out" "cannot be read"
check_lacks "no file is called affected" "$WORK/out" "affects"
expect_rc "check --read-data says the same" 4 lb check --read-data
check_has "header damaged, data reachable" "$WORK/out" "the data is reachable and no file is affected"
check_lacks "no blob is damaged" "$WORK/out" "blob in pack"
check_lacks "no file is called affected" "$WORK/out" "affects"

expect_rc "restore works" 0 lb restore latest --target "$WORK/target"
check "the restore is byte-identical" same_tree "$WORK/src" "$WORK/target$WORK/src"

expect_rc "repair packs rewrites the pack" 0 lb repair packs
expect_rc "check is clean afterwards" 0 lb check --read-data
rm -rf "$WORK/target"
expect_rc "restore after the repair" 0 lb restore latest --target "$WORK/target"
check "still byte-identical" same_tree "$WORK/src" "$WORK/target$WORK/src"
lb_test_finish
