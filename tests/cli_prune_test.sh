#!/usr/bin/env bash
# CLI integration test of prune and its protocol with concurrent commands (doc/prune.md):
#  - dry run changes nothing; prune removes what no snapshot needs; all snapshots restore;
#  - a real backup running while prune is started: prune is refused (exit 11) or, with
#    --retry-lock, waits and then runs; the backup's snapshot is complete afterwards;
#  - prune running while a backup is started: the backup is refused or waits;
#  - a backup suspended (SIGSTOP) until its lock is stale, pruned meanwhile, then resumed: it
#    stops without writing a snapshot or index (exit 11) and the repository stays healthy;
#  - append-only repositories and keys refuse prune, forget-like removals and key removal.
# Usage: tests/cli_prune_test.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
BG_PIDS=()
on_exit() {
  for p in "${BG_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
}
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init prune
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"
snapshot_ids() { lb snapshots --json 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4; }
data_listing() { (cd "$LIFEBOAT_REPOSITORY" && find data index snapshots -type f | sort); }
# Restores snapshot $1 and compares it with directory $2.
restores_as() {
  rm -rf "$WORK/rs"
  lb restore "$1" --target "$WORK/rs" >/dev/null 2>&1 && same_tree "$2" "$WORK/rs$2"
}

SRC="$WORK/src"
mkdir -p "$SRC"
for i in $(seq 1 8); do head -c 700000 /dev/urandom >"$SRC/f$i"; done

expect_rc "init" 0 lb init --pack-size 1
expect_rc "first backup" 0 lb backup "$SRC"
first="$(snapshot_ids | head -1)"
cp -a "$SRC" "$WORK/src-v1"
for i in 1 3 5 7; do head -c 700000 /dev/urandom >"$SRC/f$i"; done
expect_rc "second backup" 0 lb backup "$SRC"
second="$(snapshot_ids | grep -v "$first")"

expect_rc "prune with nothing unused" 0 lb prune
before="$(data_listing)"
expect_rc "forget --keep-last 1 --prune --dry-run" 0 lb forget --keep-last 1 --prune --dry-run --max-unused 0%
check "forget --prune --dry-run plans the prune without the forgotten snapshot" grep -q "would delete\|would repack" "$WORK/out"
check "forget --prune --dry-run changes nothing" [ "$(data_listing)" = "$before" ]
expect_rc "forget the first snapshot" 0 lb forget "$first"
expect_rc "prune --dry-run" 0 lb prune --dry-run --max-unused 0%
check "dry run says what it would delete" grep -q "would delete" "$WORK/out"
check "dry run changes nothing" [ "$(data_listing)" = "$(echo "$before" | grep -v "snapshots/$first")" ]
expect_rc "bad --max-unused is a usage error" 2 lb prune --max-unused lots
check_has "bad --max-unused says why" "$WORK/err" '--max-unused (a percentage such as 5%, a size or "unlimited"): invalid size "lots"'
expect_rc "a negative --max-repack-size is a usage error" 2 lb prune --max-repack-size -1
check_has "negative --max-repack-size says why" "$WORK/err" 'invalid size "-1": sizes cannot be negative'
expect_rc "prune --json" 0 lb prune --max-unused 0% --json
check "prune deleted or repacked packs" grep -q '"repack_packs":[1-9]\|"delete_packs":[1-9]' "$WORK/out"
check "prune left no unused data" grep -q '"remaining_unused_bytes":0' "$WORK/out"
expect_rc "check --read-data after prune" 0 lb check --read-data
check "second snapshot restores after prune" restores_as "$second" "$SRC"
expect_rc "prune again finds nothing unused" 0 lb prune --json
check "nothing unused remains" grep -q '"unused_blobs":0' "$WORK/out"

# --- a real backup runs while prune is started ---
head -c 3000000 /dev/urandom >"$WORK/dump.bin"
lb backup --stdin-from-command --stdin-filename dump.bin -- \
  sh -c "head -c 1500000 '$WORK/dump.bin'; sleep 4; tail -c +1500001 '$WORK/dump.bin'" \
  >"$WORK/bg.out" 2>&1 &
bg=$!; BG_PIDS+=("$bg")
check "backup holds a lock" wait_for_lock
expect_rc "prune while a backup runs is refused" 11 lb prune
check "refusal names the lock holder" grep -q "locked" "$WORK/err"
expect_rc "prune --retry-lock waits for the backup, then runs" 0 lb prune --retry-lock 2m --max-unused 0%
wait "$bg"; rc=$?
check "the concurrent backup succeeded (exit $rc)" [ "$rc" = 0 ]
expect_rc "check --read-data after concurrent backup + prune" 0 lb check --read-data
rm -rf "$WORK/rd"
lb restore latest --target "$WORK/rd" >/dev/null 2>&1  # the stdin backup is the newest snapshot
check "the concurrent backup's data restores bit-exact" cmp -s "$WORK/dump.bin" "$WORK/rd/dump.bin"
check "second snapshot still restores" restores_as "$second" "$SRC"

# --- prune runs (slowly) while a backup is started ---
expect_rc "forget the second snapshot" 0 lb forget "$second"
LIFEBOAT_FAULT_DELAY_MS=400 "$LIFEBOAT" prune --max-unused 0% >"$WORK/prune.out" 2>&1 &
pr=$!; BG_PIDS+=("$pr")
check "prune holds a lock" wait_for_lock
expect_rc "backup while prune runs is refused" 11 lb backup "$SRC"
check "refusal says exclusively locked" grep -q "exclusively" "$WORK/err"
expect_rc "backup --retry-lock waits for prune, then runs" 0 lb backup --retry-lock 2m "$SRC"
wait "$pr"; rc=$?
check "the slow prune succeeded (exit $rc)" [ "$rc" = 0 ]
expect_rc "check --read-data after prune + waiting backup" 0 lb check --read-data
check "latest restores after prune + backup" restores_as latest "$SRC"

# --- a suspended backup whose lock went stale cannot commit after a prune ---
snaps_before="$(snapshot_ids | sort)"
LIFEBOAT_LOCK_REFRESH_SECONDS=1 LIFEBOAT_LOCK_LOST_SECONDS=3 "$LIFEBOAT" backup --stdin-from-command \
  --stdin-filename late.bin -- sh -c "head -c 1500000 '$WORK/dump.bin'; sleep 2; head -c 10 /dev/urandom" \
  >"$WORK/late.out" 2>&1 &
late=$!; BG_PIDS+=("$late")
check "late backup holds a lock" wait_for_lock
sleep 0.5
kill -STOP "$late"
sleep 6
LIFEBOAT_LOCK_STALE_SECONDS=5 "$LIFEBOAT" prune --max-unused 0% >"$WORK/out" 2>"$WORK/err"; rc=$?
check "prune ignores the stale lock of the suspended backup (exit $rc)" [ "$rc" = 0 ]
kill -CONT "$late"
wait "$late"; rc=$?
check "the resumed backup stops: its lock was lost (exit $rc)" [ "$rc" = 11 ]
check "it says the lock was lost" grep -q "lock" "$WORK/late.out"
check "the resumed backup wrote no snapshot" [ "$(snapshot_ids | sort)" = "$snaps_before" ]
expect_rc "check --read-data after the stale backup" 0 lb check --read-data
check "latest still restores" restores_as latest "$SRC"

# --- append-only ---
export LIFEBOAT_REPOSITORY="$WORK/ao"
expect_rc "init --append-only" 0 lb init --append-only --pack-size 1
expect_rc "backup into an append-only repository" 0 lb backup "$WORK/src-v1"
expect_rc "prune refused on an append-only repository" 1 lb prune
check "refusal says append-only" grep -q "append-only" "$WORK/err"
expect_rc "forget refused on an append-only repository" 1 lb forget --keep-last 1
check "the forget refusal says append-only" grep -q "append-only" "$WORK/err"
expect_rc "forget --dry-run still works there" 0 lb forget --keep-last 1 --dry-run
export LIFEBOAT_REPOSITORY="$WORK/repo"
echo "backup-host pw" >"$WORK/ao.pw"
expect_rc "key add --append-only" 0 lb key add --append-only --new-password-file "$WORK/ao.pw"
expect_rc "backup with the append-only key" 0 lb -p "$WORK/ao.pw" backup "$WORK/src-v1"
expect_rc "prune with the append-only key is refused" 1 lb -p "$WORK/ao.pw" prune
check "it names the key restriction" grep -q "append-only" "$WORK/err"
expect_rc "key remove with the append-only key is refused" 1 lb -p "$WORK/ao.pw" key remove 00000000
expect_rc "key passwd with the append-only key is refused" 1 lb -p "$WORK/ao.pw" key passwd --new-password-file "$WORK/ao.pw"
echo "escalate" >"$WORK/esc.pw"
expect_rc "key add from an append-only session" 0 lb -p "$WORK/ao.pw" key add --new-password-file "$WORK/esc.pw"
expect_rc "the added key is append-only too" 1 lb -p "$WORK/esc.pw" prune
expect_rc "the full key can still prune" 0 lb prune
expect_rc "check after all of it" 0 lb check --read-data

lb_test_finish
