#!/usr/bin/env bash
# Issue 11, item 3: after a pack was lost (deleted from data/), the next backup trusted the index,
# reused the lost blobs and exited 0 with a snapshot that `check` reported as damaged. Now the
# backup lists data/ first, treats the blobs of missing packs as absent (so they are uploaded
# again), warns about it, and the new snapshot is whole.
# Usage: tests/defects/item03_backup_after_lost_pack.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item03
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"

SRC="$WORK/src"
mkdir -p "$SRC/sub"
head -c 3000000 /dev/urandom >"$SRC/big.bin"
for i in 1 2 3; do echo "file $i" >"$SRC/sub/f$i.txt"; done
expect_rc "init" 0 lb init --pack-size 1
expect_rc "first backup" 0 lb backup "$SRC"

# Lose the largest pack: it holds file data.
pack="$(find "$LIFEBOAT_REPOSITORY/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)"
rm "$pack"
expect_rc "check sees the lost pack" 4 lb check

expect_rc "backup after the loss" 0 lb backup "$SRC"
check_has "it warns about the missing pack" "$WORK/err" "missing"
check_has "it says what to run" "$WORK/err" "lifeboat repair index"
lb backup --json "$SRC" >"$WORK/json.out" 2>"$WORK/json.err"; rc=$?
check_eq "a backup with --json exits 0" 0 "$rc"
check "--json output is JSON lines" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$WORK/json.out"

# `repair index` drops the missing pack from the index (until then the index names the lost
# copies too). Then the repository checks clean: the lost blobs were uploaded again under the
# same ids, so the first snapshot is whole again as well; both restore.
expect_rc "repair index" 0 lb repair index
expect_rc "check is clean: every snapshot is whole again" 0 lb check --read-data
expect_rc "restore latest" 0 lb restore latest --target "$WORK/restored" --verify
check "restored tree is identical" diff -r "$SRC" "$WORK/restored$SRC"
first="$(lb snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
expect_rc "restore the first snapshot" 0 lb restore "$first" --target "$WORK/first" --verify
check "the first snapshot restores identically" diff -r "$SRC" "$WORK/first$SRC"

lb_test_finish
