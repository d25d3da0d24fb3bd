#!/usr/bin/env bash
# Issue 11 item 20 (third part): the backup summary counted a file that could not be read
# (chmod 000, backed up by a non-root user) as "new". It is an error only: not counted as new,
# not in the snapshot, and the backup is incomplete (exit 3), as before.
# Usage: tests/defects/item20_summary_unreadable.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item20s
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"

# Root reads anything: run Lifeboat as nobody then.
if [ "$(id -u)" = 0 ]; then
  if ! command -v setpriv >/dev/null; then
    echo "skip - running as root and setpriv is missing"
    lb_test_finish
    exit $?
  fi
  chmod 755 "$WORK"
  as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
else
  as_user() { "$@"; }
fi
lbu() { as_user "$LIFEBOAT" "$@"; }

SRC="$WORK/src"
mkdir -p "$SRC"
echo "readable" >"$SRC/ok.txt"
echo "secret" >"$SRC/secret.txt"
chmod 000 "$SRC/secret.txt"
if [ "$(id -u)" = 0 ]; then
  mkdir "$LIFEBOAT_REPOSITORY"
  chown 65534:65534 "$LIFEBOAT_REPOSITORY" "$SRC" "$SRC/ok.txt"
fi

expect_rc "init" 0 lbu init --pack-size 1
expect_rc "backup with an unreadable file is incomplete" 3 lbu backup "$SRC"
check_has "it names the file" "$WORK/err" "secret.txt"
check_has "one new file, the readable one" "$WORK/out" "Files:       1 new, 0 changed"
expect_rc "backup --json" 3 lbu --json backup --force "$SRC"
check_has "json: files_new is 1" "$WORK/out" '"files_new":1,'
check_has "json: one error" "$WORK/out" '"errors":1,'
expect_rc "ls" 0 lbu ls latest
check_lacks "the unreadable file is not in the snapshot" "$WORK/out" "secret.txt"
check_has "the readable one is" "$WORK/out" "$SRC/ok.txt"
lb_test_finish
