#!/usr/bin/env bash
# Fault injection through the CLI (the fault-injecting backend, LIFEBOAT_FAULT_*):
#  - backups complete under transient failures, lost acknowledgements and short reads, thanks to
#    retries with backoff, and the result checks clean and restores bit-exact;
#  - permanent failures make the command fail without writing a snapshot;
#  - flipped bits on read are always detected: check --read-data reports damage (exit 4) and a
#    restore never writes wrong data silently: every file that differs is named in the errors.
# Usage: tests/cli_fault_test.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init fault
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"

SRC="$WORK/src"
mkdir -p "$SRC/d"
for i in $(seq 1 6); do head -c 500000 /dev/urandom >"$SRC/f$i"; done
for i in $(seq 1 30); do echo "small $i" >"$SRC/d/s$i"; done
expect_rc "init" 0 lb init --pack-size 1

for seed in 1 2 3; do
  echo "change $seed" >>"$SRC/d/s$seed"
  LIFEBOAT_FAULT_SEED=$seed LIFEBOAT_FAULT_TRANSIENT=0.2 LIFEBOAT_FAULT_LOST_ACK=0.1 \
    LIFEBOAT_FAULT_SHORT_READ=0.1 expect_rc "backup under transient faults (seed $seed)" 0 \
    lb backup --tag seed$seed "$SRC"
done
check "three snapshots" [ "$(snapshot_count)" = 3 ]
expect_rc "check --read-data after faulty backups" 0 lb check --read-data
LIFEBOAT_FAULT_SEED=9 LIFEBOAT_FAULT_TRANSIENT=0.2 LIFEBOAT_FAULT_SHORT_READ=0.2 \
  expect_rc "restore under transient faults and short reads" 0 lb restore latest --target "$WORK/r1"
check "restore is bit-exact" diff -r "$SRC" "$WORK/r1$SRC"

before="$(snapshot_count)"
LIFEBOAT_FAULT_SEED=4 LIFEBOAT_FAULT_PERMANENT=0.3 expect_rc "backup under permanent faults fails" 1 \
  lb backup --tag permanent "$SRC"
check "no snapshot from the failed backup" [ "$(snapshot_count)" = "$before" ]
expect_rc "check --read-data after the failed backup" 0 lb check --read-data

for seed in 5 6; do
  LIFEBOAT_FAULT_SEED=$seed LIFEBOAT_FAULT_BITFLIP=0.5 lb check --read-data >"$WORK/out" 2>"$WORK/err"
  rc=$?
  check "check --read-data with bit flips on reads fails (seed $seed, exit $rc)" [ "$rc" != 0 ]
done
for seed in 6 7 8; do
  rm -rf "$WORK/r2"
  LIFEBOAT_FAULT_SEED=$seed LIFEBOAT_FAULT_BITFLIP=0.3 lb restore latest --target "$WORK/r2" \
    >"$WORK/out" 2>"$WORK/err"
  rc=$?
  silent=0
  while read -r f; do
    rel="${f#"$SRC"/}"
    [ -e "$WORK/r2$SRC/$rel" ] || continue  # not restored (the error says why): not wrong data
    if ! cmp -s "$f" "$WORK/r2$SRC/$rel" && ! grep -qF "$rel" "$WORK/err"; then
      silent=$((silent + 1)); echo "  silently wrong: $rel"
    fi
  done < <(find "$SRC" -type f)
  check "restore with bit flips (seed $seed, exit $rc): no file is wrong without being named" [ "$silent" = 0 ]
  check "restore with bit flips (seed $seed) says what failed" test "$rc" = 0 -o -s "$WORK/err"
  if [ "$rc" = 0 ]; then check "exit 0 only when everything is right" diff -r "$SRC" "$WORK/r2$SRC"; fi
done

lb_test_finish
