#!/usr/bin/env bash
# Issue 11, item 1: with every index file lost (all packs intact), `repair snapshots --forget`
# forgot every snapshot ("root tree is gone") and `prune` then deleted every pack. Now both stop
# with an error that says to run `lifeboat repair index` first, nothing is removed, and after
# `repair index` everything restores.
# Usage: tests/defects/item01_repair_after_lost_index.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item01
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"
count() { find "$LIFEBOAT_REPOSITORY/$1" -type f | wc -l; }

SRC="$WORK/src"
mkdir -p "$SRC/sub"
head -c 1500000 /dev/urandom >"$SRC/big.bin"
for i in 1 2 3 4 5; do echo "file $i" >"$SRC/sub/f$i.txt"; done
expect_rc "init" 0 lb init --pack-size 1
expect_rc "first backup" 0 lb backup "$SRC"
echo more >"$SRC/sub/f6.txt"
expect_rc "second backup" 0 lb backup "$SRC"
packs="$(count data)"
check "several packs ($packs)" [ "$packs" -ge 2 ]

rm -f "$LIFEBOAT_REPOSITORY"/index/*/* "$LIFEBOAT_REPOSITORY"/index/* 2>/dev/null
check_eq "every index file is gone" 0 "$(count index)"

expect_rc "repair snapshots --forget refuses" 1 lb repair snapshots --forget
check_has "it says to run repair index" "$WORK/err" "lifeboat repair index"
check_eq "both snapshots are still there" 2 "$(count snapshots)"
expect_rc "repair snapshots --dry-run refuses too" 1 lb repair snapshots --dry-run
check_has "the dry run says to run repair index" "$WORK/err" "lifeboat repair index"

expect_rc "prune refuses" 1 lb prune
check_has "prune says to run repair index" "$WORK/err" "lifeboat repair index"
check_eq "every pack is still there" "$packs" "$(count data)"
expect_rc "forget --prune refuses to prune" 1 lb forget --keep-last 1 --prune
check_has "forget --prune says to run repair index" "$WORK/err" "lifeboat repair index"
check_eq "every pack is still there after forget --prune" "$packs" "$(count data)"

expect_rc "repair index" 0 lb repair index
expect_rc "check is clean" 0 lb check --read-data
expect_rc "restore latest" 0 lb restore latest --target "$WORK/restored"
check "restored tree is identical" diff -r "$SRC" "$WORK/restored$SRC"

lb_test_finish
