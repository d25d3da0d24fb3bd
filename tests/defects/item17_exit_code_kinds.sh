#!/usr/bin/env bash
# Issue 11, item 17: exit codes were chosen by searching the error text, so a failed
# --stdin-from-command whose path contains "locked" exited 11 (locked) instead of 1. Errors now
# carry their kind (StatusCode kLocked, kNoRepository) and only kinds map to exit codes.
# Usage: tests/defects/item17_exit_code_kinds.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
BG=""
on_exit() { [ -n "$BG" ] && kill "$BG" 2>/dev/null; }
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item17
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw"
expect_rc "init" 0 lb init --pack-size 1

mkdir -p "$WORK/locked" "$WORK/not a Lifeboat repository"
printf '#!/bin/sh\necho partial\nexit 3\n' >"$WORK/locked/dump.sh"
chmod +x "$WORK/locked/dump.sh"
expect_rc "a failing dump command under a path with 'locked' exits 1, not 11" 1 \
  lb backup --stdin-from-command -- "$WORK/locked/dump.sh"
check_has "the message names the command's failure" "$WORK/err" "failed with exit status 3"
cp "$WORK/locked/dump.sh" "$WORK/not a Lifeboat repository/dump.sh"
expect_rc "nor does 'not a Lifeboat repository' in a path make it 10" 1 \
  lb backup --stdin-from-command -- "$WORK/not a Lifeboat repository/dump.sh"
expect_rc "a dump command that cannot be started exits 1" 1 \
  lb backup --stdin-from-command -- "$WORK/locked/missing"

# The real kinds keep their codes.
expect_rc "no repository at the location: 10" 10 lb -r "$WORK/none" snapshots
lb backup --stdin-filename d --stdin-from-command -- sleep 3 >/dev/null 2>&1 &
BG=$!
check "the backup holds a lock" wait_for_lock
expect_rc "a lock held by another process: 11" 11 lb prune
check_has "the holder is named" "$WORK/err" "already locked"
wait "$BG"; BG=""
lb_test_finish
