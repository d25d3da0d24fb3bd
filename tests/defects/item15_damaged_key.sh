#!/usr/bin/env bash
# Issue 11, item 15: a damaged key file was reported as a wrong password (exit 12). Key files are
# named by their SHA-256: one whose content does not match its name is damaged and named; with
# every key file damaged it is corruption (exit 1), not a wrong password.
# Usage: tests/defects/item15_damaged_key.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item15
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw"

expect_rc "init" 0 lb init --pack-size 1
key="$(ls "$LIFEBOAT_REPOSITORY/keys")"
f="$LIFEBOAT_REPOSITORY/keys/$key"
chmod u+w "$f" 2>/dev/null
# Flip one hex digit of the sealed key material: still valid JSON, but no longer what was stored.
perl -pi -e 's/("data":"..)(.)/$1.($2 eq "0" ? "1" : "0")/e' "$f"
check "the key file changed" [ "$(sha256sum "$f" | cut -c1-64)" != "$key" ]
expect_rc "the right password with the only key damaged: corruption, not a wrong password" 1 \
  lb snapshots
check_has "the damaged key file is named" "$WORK/err" "key file $key is damaged"
check_has "it says why" "$WORK/err" "does not match its name"
check_has "and what to do" "$WORK/err" "replica"
check_lacks "it is not called a wrong password" "$WORK/err" "matches the password"
LIFEBOAT_PASSWORD=wrong expect_rc "a wrong password says the same (nothing can be checked)" 1 \
  lb snapshots
lb_test_finish
