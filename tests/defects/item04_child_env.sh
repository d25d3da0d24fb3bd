#!/usr/bin/env bash
# Issue 11, item 4: children Lifeboat starts got Lifeboat's secrets. `backup --stdin-from-command
# -- env` stored LIFEBOAT_PASSWORD=... inside the snapshot; a password command saw them too.
# Now every child gets the environment minus Lifeboat's secrets (doc/design.md, "Child processes").
# Usage: tests/defects/item04_child_env.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item04
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="pw-item04-secret"
export LIFEBOAT_FROM_PASSWORD="from-item04-secret" AWS_SECRET_ACCESS_KEY="aws-item04-secret"
export ITEM04_PLAIN="plain-value"

expect_rc "init" 0 lb init --pack-size 1
expect_rc "backup of the output of env" 0 \
  lb backup --stdin-filename e --stdin-from-command -- env
expect_rc "restore it" 0 lb restore latest --target "$WORK/r"
check_has "the command ran with the ordinary environment" "$WORK/r/e" "ITEM04_PLAIN=plain-value"
check_lacks "the snapshot holds no repository password" "$WORK/r/e" "pw-item04-secret"
check_lacks "nor the source repository's password" "$WORK/r/e" "from-item04-secret"
check_lacks "nor a storage credential" "$WORK/r/e" "aws-item04-secret"

# A password command that records its environment.
expect_rc "a password command opens the repository" 0 \
  lb --password-command "env >'$WORK/pwenv'; echo pw-item04-secret" snapshots
check_has "the password command ran" "$WORK/pwenv" "ITEM04_PLAIN=plain-value"
check_lacks "it did not see the password" "$WORK/pwenv" "pw-item04-secret"
check_lacks "nor the other secrets" "$WORK/pwenv" "aws-item04-secret"
lb_test_finish
