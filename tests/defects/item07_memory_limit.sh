#!/usr/bin/env bash
# Issue 11 item 7: under a memory limit a backup ended in std::bad_alloc or std::system_error
# (exit 134, a stale lock left behind). Allocation and thread-start failures must give a clean
# error (exit 1) or a backup with fewer threads (exit 0): never an abort, never a stale lock.
# Many read threads make thread starts fail at 200000 KiB on any machine; the lower limits make
# allocations fail too.
# Usage: tests/defects/item07_memory_limit.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item07
if [ -n "${LIFEBOAT_TEST_SANITIZED:-}" ]; then
  # AddressSanitizer reserves terabytes of address space for its shadow memory, so a sanitized
  # binary cannot even start under ulimit -v; the release run (CI runs both) covers this item.
  echo "skipped: $LIFEBOAT is built with sanitizers (LIFEBOAT_TEST_SANITIZED)"
  lb_test_finish
  exit 0
fi
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
expect_rc "init" 0 lb init --pack-size 1

SRC="$WORK/src"
mkdir -p "$SRC/d"
head -c 30000000 /dev/urandom >"$SRC/big.bin"
for i in $(seq 1 100); do head -c 20000 /dev/urandom >"$SRC/d/f$i"; done

locks() { find "$LIFEBOAT_REPOSITORY/locks" -type f | wc -l; }
clean_exit() { [ "$1" = 0 ] || [ "$1" = 1 ]; }
for run in "200000 --read-concurrency 32" "150000 --read-concurrency 16" "100000" "80000"; do
  # shellcheck disable=SC2086  # split "LIMIT FLAGS..." into words on purpose
  set -- $run
  limit="$1"; shift
  (ulimit -v "$limit"; exec "$LIFEBOAT" backup "$@" "$SRC") >"$WORK/out" 2>"$WORK/err"
  rc=$?
  name="ulimit -v $limit $*"
  check "$name: exit 0 or 1 (got $rc)" clean_exit "$rc"
  check_lacks "$name: no abort" "$WORK/err" "terminate called"
  if [ "$rc" = 1 ]; then check_has "$name: says what ran out" "$WORK/err" "limit"; fi
  check_eq "$name: no lock left behind" 0 "$(locks)"
done
# Whatever was stored is sound.
expect_rc "check --read-data" 0 lb check --read-data
lb_test_finish
