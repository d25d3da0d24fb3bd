#!/usr/bin/env bash
# Issue 11 item 5: a restore by a non-root user kept setuid/setgid bits on files that now belong
# to that user. When the owner cannot be restored the bits are dropped (as GNU tar does), with
# one warning naming how many files. Needs root (to own the files and switch to user 65534).
# Usage: tests/defects/item05_setid_restore.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item05
if [ "$(id -u)" != 0 ]; then
  echo "skip: needs root (files owned by root, restored as user 65534)"
  lb_test_finish
  exit
fi
if ! command -v setpriv >/dev/null; then
  echo "skip: setpriv (util-linux) is not installed"
  lb_test_finish
  exit
fi
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

SRC="$WORK/src"
mkdir -p "$SRC/bin"
for f in suid sgid both; do printf '#!/bin/sh\necho %s\n' "$f" >"$SRC/bin/$f"; done
echo plain >"$SRC/bin/plain"
chown -R 0:0 "$SRC"  # before chmod: chown clears setuid/setgid
chmod 4755 "$SRC/bin/suid"
chmod 2755 "$SRC/bin/sgid"
chmod 6755 "$SRC/bin/both"
chmod 755 "$SRC/bin/plain"
chmod 755 "$WORK"
mkdir "$WORK/r-nobody"
chown 65534:65534 "$WORK/r-nobody"

# The repository belongs to nobody, who backs up root's world-readable files and restores them.
mkdir "$WORK/repo" && chown 65534:65534 "$WORK/repo"
expect_rc "init (as nobody)" 0 as_nobody "$LIFEBOAT" init
expect_rc "backup (as nobody)" 0 as_nobody "$LIFEBOAT" backup "$SRC"
expect_rc "restore as nobody" 0 as_nobody "$LIFEBOAT" restore latest --target "$WORK/r-nobody"
R="$WORK/r-nobody$SRC/bin"
check_eq "setuid dropped" 755 "$(stat -c %a "$R/suid")"
check_eq "setgid dropped" 755 "$(stat -c %a "$R/sgid")"
check_eq "both dropped" 755 "$(stat -c %a "$R/both")"
check_eq "plain file unchanged" 755 "$(stat -c %a "$R/plain")"
check_eq "the files are nobody's" 65534 "$(stat -c %u "$R/suid")"
check_has "one warning names how many files" "$WORK/err" "setuid/setgid bits dropped from 3 file(s)"
check_eq "said once, not per file" 1 "$(grep -c 'setuid/setgid' "$WORK/err")"

# As root the owner is restored, and with it the bits.
expect_rc "restore as root" 0 lb restore latest --target "$WORK/r-root"
check_eq "root keeps setuid" 4755 "$(stat -c %a "$WORK/r-root$SRC/bin/suid")"
check_eq "root keeps setuid+setgid" 6755 "$(stat -c %a "$WORK/r-root$SRC/bin/both")"
check_lacks "no warning as root" "$WORK/err" "setuid/setgid"

lb_test_finish
