#!/usr/bin/env bash
# Issue 11 item 6: names are bytes. Invalid UTF-8 in a backup path, --tag, --exclude, `--json ls`
# and a `--json restore` error used to abort (uncaught JSON type_error, exit 134) after the data
# was uploaded, leaving a stale lock. Now: paths round-trip exactly (JSON "<field>_raw" holds the
# base64 of the bytes, doc/json.md), a tag that is not UTF-8 is refused with exit 2 before
# anything is read, and no command leaves a lock behind.
#
#   tests/defects/item06_invalid_utf8_names.sh build/release/src/cli/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item06
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw"

no_locks() { [ -z "$(find "$LIFEBOAT_REPOSITORY/locks" -type f 2>/dev/null)" ]; }
# raw_of FILE: the first "path_raw" (or $2) value in FILE, base64-decoded.
raw_of() { grep -o "\"${2:-path_raw}\":\\[\\?\"[^\"]*\"" "$1" | head -1 | sed 's/.*"\([^"]*\)"$/\1/' | base64 -d; }

BAD_DIR="$WORK/src/bad$(printf '\xff')dir"
BAD_FILE="$BAD_DIR/f$(printf '\xfe')"
mkdir -p "$BAD_DIR"
echo "content" >"$BAD_FILE"
echo "skip me" >"$WORK/src/x$(printf '\xff')"
echo "keep me" >"$WORK/src/plain"

expect_rc "init" 0 lb init

expect_rc "backup of a directory whose name is not UTF-8" 0 lb backup "$BAD_DIR"
check_lacks "no abort" "$WORK/err" "terminate called"
check "no lock is left after the backup" no_locks
check_eq "one snapshot" 1 "$(snapshot_count)"

expect_rc "snapshots --json" 0 lb --json snapshots
check_eq "paths_raw holds the exact bytes of the path" "$BAD_DIR" "$(raw_of "$WORK/out" paths_raw)"

expect_rc "--tag that is not UTF-8 is refused" 2 lb backup --tag "t$(printf '\xfe')" "$WORK/src"
check_has "the error says why" "$WORK/err" "not valid UTF-8"
check_eq "nothing was stored" 1 "$(snapshot_count)"
check "no lock is left after the refused backup" no_locks
expect_rc "--host that is not UTF-8 is refused" 2 lb backup --host "h$(printf '\xff')" "$WORK/src"
check_eq "nothing was stored" 1 "$(snapshot_count)"

expect_rc "--exclude that is not UTF-8 works" 0 lb backup --exclude "x$(printf '\xff')" "$WORK/src"
check "no lock is left" no_locks
expect_rc "ls of that snapshot" 0 lb ls latest
check_lacks "the excluded file is not in the snapshot" "$WORK/out" "$WORK/src/x$(printf '\xff')"
check_has "the other file is" "$WORK/out" "$WORK/src/plain"

FIRST="$(lb --json snapshots | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
expect_rc "--json ls of a snapshot holding such names" 0 lb --json ls "$FIRST"
check_lacks "no abort" "$WORK/err" "terminate called"
grep '"type":"file"' "$WORK/out" >"$WORK/file.json"
check_eq "the file's path_raw decodes to its exact bytes" "$BAD_FILE" "$(raw_of "$WORK/file.json")"
check "no lock is left after ls" no_locks

# A directory where the restore wants to write the file: an error on that very name.
mkdir -p "$WORK/target$BAD_FILE/sub"
expect_rc "--json restore reporting an error on such a name" 3 lb --json restore "$FIRST" \
  --target "$WORK/target"
check_lacks "no abort" "$WORK/err" "terminate called"
check_has "the summary lists the error" "$WORK/out" '"errors":[{'
check_eq "the error's path_raw decodes to the exact bytes" "$BAD_FILE" "$(raw_of "$WORK/out")"
check "no lock is left after the restore" no_locks

expect_rc "check finds nothing wrong" 0 lb check
lb_test_finish
