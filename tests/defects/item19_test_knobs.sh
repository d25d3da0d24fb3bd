#!/usr/bin/env bash
# Issue 11, item 19: test settings reached the release binary: LIFEBOAT_KDF_N=2 made a key with
# scrypt N=2, LIFEBOAT_FAULT_* injected faults, LIFEBOAT_LOCK_*_SECONDS let a second process
# treat a live lock as stale. The release `lifeboat` now ignores them all (only the test
# executable lifeboat_testing reads them; doc/design.md, "Test settings").
# Usage: tests/defects/item19_test_knobs.sh /path/to/lifeboat   (the release binary)
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
BG=""
on_exit() { [ -n "$BG" ] && kill "$BG" 2>/dev/null; }
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item19
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw"

LIFEBOAT_KDF_N=2 expect_rc "init with LIFEBOAT_KDF_N=2" 0 lb init --pack-size 1
check_has "the key has the default scrypt N, not 2" "$(ls "$LIFEBOAT_REPOSITORY"/keys/*)" '"n":32768,'
unset LIFEBOAT_KDF_N

mkdir -p "$WORK/src" && echo data >"$WORK/src/f"
LIFEBOAT_FAULT_PERMANENT=1 LIFEBOAT_FAULT_SEED=3 expect_rc "LIFEBOAT_FAULT_PERMANENT=1 injects nothing" 0 \
  lb backup "$WORK/src"
LIFEBOAT_FAULT_KILL_AFTER_OPS=1 expect_rc "LIFEBOAT_FAULT_KILL_AFTER_OPS=1 kills nothing" 0 \
  lb backup --force "$WORK/src"
LIFEBOAT_FAULT_PERMANENT=lots expect_rc "a malformed LIFEBOAT_FAULT_* is not even read" 0 lb snapshots

# A live lock is not stale because the environment says stale means one second.
lb backup --stdin-filename d --stdin-from-command -- sleep 4 >/dev/null 2>&1 &
BG=$!
check "the backup holds a lock" wait_for_lock
sleep 2
LIFEBOAT_LOCK_STALE_SECONDS=1 expect_rc "LIFEBOAT_LOCK_STALE_SECONDS=1 does not make a live lock stale" 11 \
  lb prune
wait "$BG"; BG=""
lb_test_finish
