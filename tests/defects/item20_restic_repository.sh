#!/usr/bin/env bash
# Issue 11, item 20 (second part): a restic repository given to Lifeboat exited 2 ("bad command
# line"). Now it exits 10 (no Lifeboat repository) and says it is a restic repository.
# The repository is made by restic itself (Debian's restic, installed by scripts/install-deps.sh).
# Usage: tests/defects/item20_restic_repository.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item20restic
if ! command -v restic >/dev/null; then
  bad "restic is not installed (scripts/install-deps.sh installs it)"
  lb_test_finish
  exit 1
fi
RESTIC_PASSWORD=restic-pw restic init --repo "$WORK/restic" >"$WORK/restic-init" 2>&1 ||
  { bad "restic init: $(cat "$WORK/restic-init")"; lb_test_finish; exit 1; }
export LIFEBOAT_PASSWORD=restic-pw
expect_rc "lifeboat snapshots on a restic repository: no Lifeboat repository" 10 \
  lb -r "$WORK/restic" snapshots
check_has "it says it is a restic repository" "$WORK/err" "is a restic repository"
check_has "and that Lifeboat cannot read it" "$WORK/err" "Lifeboat cannot read it"
expect_rc "backup into it is refused the same way" 10 lb -r "$WORK/restic" backup "$WORK"
LIFEBOAT_PASSWORD=other expect_rc "whatever the password" 10 lb -r "$WORK/restic" check
lb_test_finish
