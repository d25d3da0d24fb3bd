#!/usr/bin/env bash
# Issue 11, item 12: one damaged snapshot file (a flipped byte in snapshots/<id>) made
# `snapshots`, `forget`, `ls latest`, `restore latest` and a plain `backup` fail until
# `repair snapshots --forget`. Now each warns on stderr, naming the damaged file and the repair,
# and carries on with the other snapshots (exit 0, doc/exit-codes.md). Prune still refuses while
# the damaged snapshot exists (what it uses cannot be known), until it is explicitly removed.
# Usage: tests/defects/item12_damaged_snapshot_file.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item12
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"
count() { find "$LIFEBOAT_REPOSITORY/$1" -type f | wc -l; }

SRC="$WORK/src"
mkdir -p "$SRC"
echo one >"$SRC/a.txt"
expect_rc "init" 0 lb init --pack-size 1
expect_rc "backup 1" 0 lb backup "$SRC"
echo two >"$SRC/b.txt"
expect_rc "backup 2" 0 lb backup "$SRC"
echo three >"$SRC/c.txt"
expect_rc "backup 3" 0 lb backup "$SRC"

# Damage the newest snapshot's file: one flipped byte.
newest="$(lb snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')"
file="$(find "$LIFEBOAT_REPOSITORY/snapshots" -type f -name "$newest")"
check "found the snapshot file" [ -f "$file" ]
printf '\x5a' | dd of="$file" bs=1 seek=40 conv=notrunc status=none

expect_rc "snapshots" 0 lb snapshots
check_has "snapshots lists the two readable ones" "$WORK/out" "2 snapshots"
check_has "snapshots names the damaged file" "$WORK/err" "${newest}"
check_has "snapshots says what to run" "$WORK/err" "lifeboat repair snapshots --forget"
lb snapshots --json >"$WORK/list.json" 2>"$WORK/list.err"; rc=$?
check_eq "snapshots --json exits 0" 0 "$rc"
check "snapshots --json is valid JSON with two entries" python3 -c '
import json, sys
assert len(json.load(open(sys.argv[1]))) == 2' "$WORK/list.json"
check_has "snapshots --json warns on stderr" "$WORK/list.err" "$newest"

expect_rc "ls latest" 0 lb ls latest
check_has "ls latest lists the newest readable snapshot" "$WORK/out" "b.txt"
check_has "ls latest warns" "$WORK/err" "$newest"
expect_rc "restore latest" 0 lb restore latest --target "$WORK/restored"
check "restore latest restored the newest readable snapshot" [ -f "$WORK/restored$SRC/b.txt" ]
check_has "restore latest warns" "$WORK/err" "$newest"

echo four >"$SRC/d.txt"
expect_rc "plain backup" 0 lb backup "$SRC"
check_has "backup warns" "$WORK/err" "$newest"

expect_rc "forget --keep-last 2" 0 lb forget --keep-last 2
check_has "forget warns" "$WORK/err" "$newest"
check "forget left the damaged file alone" [ -f "$file" ]
check_eq "three snapshot files left (two kept, one damaged)" 3 "$(count snapshots)"

packs="$(count data)"
expect_rc "prune refuses while a snapshot is damaged" 1 lb prune
check_has "prune names the damaged snapshot" "$WORK/err" "$newest"
check_eq "prune deleted nothing" "$packs" "$(count data)"

expect_rc "repair snapshots --forget removes it" 0 lb repair snapshots --forget
check "the damaged file is gone" [ ! -e "$file" ]
expect_rc "snapshots is quiet again" 0 lb snapshots
check_lacks "no warning any more" "$WORK/err" "$newest"
expect_rc "prune runs now" 0 lb prune
expect_rc "check is clean" 0 lb check --read-data

lb_test_finish
