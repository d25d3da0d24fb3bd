#!/usr/bin/env bash
# Issue 11, item 20 (first part): an empty password file said "no key matches"; init already says
# empty passwords are not allowed. Now opening says the same: exit 2, naming the file.
# Usage: tests/defects/item20_password_empty_file.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item20pw
export LIFEBOAT_REPOSITORY="$WORK/repo"
LIFEBOAT_PASSWORD=pw expect_rc "init" 0 lb init --pack-size 1
: >"$WORK/empty.pw"
expect_rc "an empty password file" 2 lb -p "$WORK/empty.pw" snapshots
check_has "it says empty passwords are not allowed" "$WORK/err" "an empty password is not allowed"
check_has "it names the file" "$WORK/err" "$WORK/empty.pw"
check_lacks "it is not a wrong password" "$WORK/err" "no key"
printf '\nsecond line\n' >"$WORK/blank.pw"
expect_rc "a password file whose first line is empty" 2 lb -p "$WORK/blank.pw" snapshots
LIFEBOAT_PASSWORD_FILE="$WORK/empty.pw" expect_rc "the same through LIFEBOAT_PASSWORD_FILE" 2 lb snapshots
echo pw >"$WORK/good.pw"
expect_rc "a good password file still opens it" 0 lb -p "$WORK/good.pw" snapshots
lb_test_finish
