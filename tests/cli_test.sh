#!/usr/bin/env bash
# CLI integration test: init, backup, snapshots, restore + compare, incremental, stdin backups,
# wrong password, missing repository, bad snapshot ids, interrupts, stale locks, and kill -9 at
# many points of a backup (via the fault-injecting backend), each followed by check --read-data,
# restore of earlier snapshots and a successful re-run.
# Usage: tests/cli_test.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init cli
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"
repo_listing() { (cd "$LIFEBOAT_REPOSITORY" && find . -type f | sort); }

# --- sample data: ~12 MiB in several files, so a backup writes several 1 MiB packs ---
SRC="$WORK/src"
mkdir -p "$SRC/a/b" "$SRC/empty"
head -c 6000000 /dev/urandom >"$SRC/a/random1.bin"
head -c 4000000 /dev/urandom >"$SRC/a/b/random2.bin"
for i in $(seq 1 40); do echo "file $i $(date +%N)" >"$SRC/a/small-$i.txt"; done
seq 1 200000 >"$SRC/numbers.txt"
ln -s a/small-1.txt "$SRC/link"
mkfifo "$SRC/fifo"

expect_rc "missing repository" 10 lb snapshots
expect_rc "init" 0 lb init --pack-size 1
expect_rc "init twice refused" 1 lb init
expect_rc "backup without paths is a usage error" 2 lb backup
# Sizes and durations (doc/units.md): a bad value is a usage error that says what to write.
expect_rc "--exclude-larger-than -1 is a usage error" 2 lb backup --exclude-larger-than -1 "$SRC"
check_has "--exclude-larger-than -1 says what to write" "$WORK/err" \
  'sizes cannot be negative (expected a number and an optional unit'
check_has "--exclude-larger-than -1 says how to set no limit" "$WORK/err" \
  'for no limit, leave --exclude-larger-than out'
expect_rc "--exclude-larger-than 0 is a usage error" 2 lb backup --exclude-larger-than 0 "$SRC"
expect_rc "--retry-lock without a unit is a usage error" 2 lb backup --retry-lock 30 "$SRC"
check_has "--retry-lock 30 says why" "$WORK/err" \
  '--retry-lock: invalid duration "30": the number 30 has no unit'
check "bad flags wrote no snapshot" [ "$(snapshot_count)" = 0 ]
expect_rc "first backup" 0 lb backup --tag first "$SRC"
check "one snapshot" [ "$(snapshot_count)" = 1 ]
expect_rc "restore" 0 lb restore latest --target "$WORK/r1" --verify
check "restore identical" same_tree "$SRC" "$WORK/r1$SRC"

# Wrong password: clear error, exit 12, nothing written.
before="$(repo_listing)"
LIFEBOAT_PASSWORD=wrong "$LIFEBOAT" backup "$SRC" >"$WORK/out" 2>"$WORK/err"; rc=$?
check "wrong password exits 12" [ "$rc" = 12 ]
check "wrong password says no key matches" grep -q "no key" "$WORK/err"
check "wrong password writes nothing" [ "$before" = "$(repo_listing)" ]

# Incremental: nothing changed, nothing read.
lb backup --json "$SRC" >"$WORK/inc.json" 2>/dev/null
check "unchanged backup reads nothing" grep -q '"bytes_read":0' "$WORK/inc.json"
check "unchanged backup adds no data blobs" grep -q '"data_blobs":0' "$WORK/inc.json"
echo "changed" >>"$SRC/a/small-3.txt"
rm "$SRC/a/small-4.txt"
echo new >"$SRC/new.txt"
lb backup --json "$SRC" >"$WORK/inc2.json" 2>/dev/null
check "changed backup sees 1 changed file" grep -q '"files_changed":1' "$WORK/inc2.json"
check "changed backup sees 1 new file" grep -q '"files_new":1' "$WORK/inc2.json"

# Snapshot ids.
expect_rc "unknown snapshot id" 1 lb restore deadbeef --target "$WORK/x"
check "unknown id message" grep -q "no snapshot id starts with" "$WORK/err"
expect_rc "invalid snapshot id" 2 lb restore 'zz!' --target "$WORK/x"

# Streams.
seq 1 100000 | lb backup --stdin --stdin-filename numbers.sql >/dev/null 2>&1
check "stdin backup" [ $? = 0 ]
n="$(snapshot_count)"
expect_rc "failing stdin command fails the backup" 1 lb backup --stdin-filename db.sql --stdin-from-command -- sh -c 'echo partial; exit 3'
check "failing command wrote no snapshot" [ "$(snapshot_count)" = "$n" ]
expect_rc "stdin-from-command" 0 lb backup --stdin-filename db.sql --stdin-from-command -- sh -c 'seq 1 5000'
lb restore latest --target "$WORK/rs" >/dev/null 2>&1
check "stdin-from-command content restored" cmp -s "$WORK/rs/db.sql" <(seq 1 5000)

# --read-root (doc/design.md, "Read root"): the paths are read below DIR and recorded as given,
# so a copy of $SRC below $WORK/dr backs up as $SRC (its parent: the last backup of $SRC) and
# restores to the original layout.
mkdir -p "$WORK/dr$(dirname "$SRC")"
cp -a "$SRC" "$WORK/dr$SRC"
expect_rc "relative --read-root is refused" 2 lb backup --read-root dr "$SRC"
expect_rc "--read-root with a relative path is refused" 2 lb backup --read-root "$WORK/dr" src
expect_rc "--read-root with --stdin is refused" 2 lb backup --stdin --read-root "$WORK/dr"
lb backup --json --read-root "$WORK/dr" "$SRC" >"$WORK/rr.json" 2>/dev/null
check "read-root backup" [ $? = 0 ]
check "read-root backup found the original's snapshot as parent" grep -q '"parent":"' "$WORK/rr.json"
lb snapshots --json >"$WORK/rr-snap.json" 2>/dev/null
check "read-root snapshot records the original path" /usr/bin/python3 -c '
import json, sys
rr = [json.loads(l) for l in open(sys.argv[1]) if "\"summary\"" in l][-1]
snaps = {s["id"]: s for s in json.load(open(sys.argv[2]))}
sys.exit(0 if snaps[rr["snapshot_id"]]["paths"] == [sys.argv[3]] else 1)' \
  "$WORK/rr.json" "$WORK/rr-snap.json" "$SRC"
expect_rc "restore read-root snapshot" 0 lb restore latest --target "$WORK/rr"
check "read-root restore has the original layout" same_tree "$SRC" "$WORK/rr$SRC"
check "read-root restore has nothing of the read root" [ ! -e "$WORK/rr$WORK/dr" ]

expect_rc "check healthy" 0 lb check

# SIGINT during a backup: exit 130, no snapshot, re-run works.
head -c 30000000 /dev/urandom >"$SRC/big.bin"
n="$(snapshot_count)"
lb backup "$SRC" >/dev/null 2>&1 & pid=$!
sleep 0.3; kill -INT $pid; wait $pid; rc=$?
if [ "$rc" = 130 ]; then
  check "interrupted backup wrote no snapshot" [ "$(snapshot_count)" = "$n" ]
  ok "SIGINT exits 130"
elif [ "$rc" = 0 ]; then
  ok "backup finished before SIGINT arrived (fast machine)"
else
  bad "SIGINT exit code $rc"
fi
expect_rc "check after interrupt" 0 lb check --read-data

# kill -9 at many points of a backup: the fault backend SIGKILLs the process at its N-th write.
rm -rf "$WORK/r1"
lb backup "$SRC" >/dev/null 2>&1
base_snapshots="$(snapshot_count)"
lb snapshots --json >"$WORK/before.json"
kills=0
for n in 1 2 3 4 5 7 9 12 15 20 25 30 40; do
  head -c 3000000 /dev/urandom >"$SRC/a/churn-$n.bin"
  LIFEBOAT_FAULT_KILL_AFTER_OPS=$n LIFEBOAT_FAULT_SEED=$n lb backup "$SRC" >/dev/null 2>&1; rc=$?
  if [ "$rc" = 137 ] || [ "$rc" = 265 ]; then
    kills=$((kills + 1))
    now="$(snapshot_count)"
    # Killed before the snapshot was written: no new snapshot. Killed after it (e.g. while
    # removing the lock): the snapshot is complete, which check --read-data below confirms.
    if [ "$now" != "$base_snapshots" ] && [ "$now" != "$((base_snapshots + 1))" ]; then
      bad "kill at op $n left $now snapshots (want $base_snapshots or one complete new one)"
    fi
    lb check --read-data >"$WORK/check.out" 2>&1 || bad "check --read-data after kill at op $n: $(tail -3 "$WORK/check.out")"
  fi
  lb backup "$SRC" >/dev/null 2>&1 || bad "re-run after kill at op $n"
  base_snapshots="$(snapshot_count)"
done
check "kill -9 happened at several points ($kills)" [ "$kills" -ge 5 ]
# A killed process leaves its lock behind: exclusive commands see it is stale (dead pid), and
# unlock removes it.
LIFEBOAT_FAULT_KILL_AFTER_OPS=3 lb backup --force "$SRC" >/dev/null 2>&1
check "a lock was left behind" [ -n "$(ls "$LIFEBOAT_REPOSITORY/locks")" ]
expect_rc "exclusive lock ignores the dead process's lock" 0 lb check
expect_rc "unlock" 0 lb unlock
check "unlock removed the stale lock" [ -z "$(ls "$LIFEBOAT_REPOSITORY/locks")" ]
# Every snapshot that existed still restores bit-exact (the first one is the original tree).
first_id="$(lb snapshots --json | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
lb restore "$first_id" --target "$WORK/after-kills" --verify >/dev/null 2>&1
check "first snapshot restores after all kills" [ $? = 0 ]
# A file holding more than its size says (as /proc files do: size 0): everything is read, and the
# difference is reported as a change during the read (exit 3, snapshot written).
expect_rc "backup of a file longer than its size" 3 lb backup /proc/version
check "the change is reported" grep -q "changed while it was being read" "$WORK/err"
expect_rc "restore it" 0 lb restore latest --target "$WORK/proc"
check "all of its content was stored" bash -c "cat /proc/version | cmp -s - \"$WORK/proc/proc/version\""

expect_rc "final check --read-data" 0 lb check --read-data

lb_test_finish
