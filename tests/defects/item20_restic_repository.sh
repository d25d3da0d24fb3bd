#!/usr/bin/env bash
# Issue 11, item 20 (second part): a restic repository given to Lifeboat exited 2 ("bad command
# line"). Now it exits 10 (no Lifeboat repository) and says it is a restic repository.
# Uses restic to make the repository when it is installed, else builds restic's layout by hand.
# Usage: tests/defects/item20_restic_repository.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item20restic
if command -v restic >/dev/null; then
  RESTIC_PASSWORD=restic-pw restic init --repo "$WORK/restic" >/dev/null 2>&1 ||
    { bad "restic init"; lb_test_finish; exit 1; }
else
  # No restic here: lay out what `restic init` (0.14) writes. config: encrypted (IV, ciphertext,
  # MAC; no magic); keys/<sha256>: JSON with scrypt "N", "r", "p" and base64 salt and data;
  # data/00..ff, index/, snapshots/, locks/ empty.
  echo "restic is not installed: building a restic repository layout by hand"
  mkdir -p "$WORK/restic"/{keys,index,snapshots,locks}
  for i in $(seq 0 255); do mkdir -p "$WORK/restic/data/$(printf %02x "$i")"; done
  head -c 187 /dev/urandom >"$WORK/restic/config"
  key='{"created":"2026-12-04T09:00:00.1+00:00","username":"root","hostname":"h","kdf":"scrypt","N":32768,"r":8,"p":7,"salt":"'"$(head -c 64 /dev/urandom | base64 -w0)"'","data":"'"$(head -c 160 /dev/urandom | base64 -w0)"'"}'
  printf %s "$key" >"$WORK/key.tmp"
  mv "$WORK/key.tmp" "$WORK/restic/keys/$(sha256sum "$WORK/key.tmp" | cut -c1-64)"
fi
export LIFEBOAT_PASSWORD=restic-pw
expect_rc "lifeboat snapshots on a restic repository: no Lifeboat repository" 10 \
  lb -r "$WORK/restic" snapshots
check_has "it says it is a restic repository" "$WORK/err" "is a restic repository"
check_has "and that Lifeboat cannot read it" "$WORK/err" "Lifeboat cannot read it"
expect_rc "backup into it is refused the same way" 10 lb -r "$WORK/restic" backup "$WORK"
LIFEBOAT_PASSWORD=other expect_rc "whatever the password" 10 lb -r "$WORK/restic" check
lb_test_finish
