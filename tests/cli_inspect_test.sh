#!/usr/bin/env bash
# End-to-end test of the inspection and housekeeping verbs: ls, diff, stats, cat, key, unlock.
# Creates a repository in a temporary directory, backs up a generated tree twice (changing it in
# between) and checks the commands' text and JSON output with grep/awk only. Also the --json
# error details: a lock's holder and a damaged snapshot as data (doc/exit-codes.md).
#
#   tests/cli_inspect_test.sh build/release/src/cli/lifeboat
#
# Prints every check (ok or FAIL). Exits 0 when every check passed, 1 otherwise, 2 on bad usage.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
BLOCKER_PID=""
on_exit() {
  if [ -n "$BLOCKER_PID" ]; then kill -9 "$BLOCKER_PID" 2>/dev/null; fi
  exec 3>&-
}
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init inspect
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="first-password"
OUT="$WORK/out" ERR="$WORK/err"  # where expect_rc leaves the command's stdout and stderr

# json_field NAME JSON-LINE: value of a numeric or string field of a flat JSON line.
json_field() {
  printf '%s\n' "$2" | grep -o "\"$1\":\\(\"[^\"]*\"\\|[0-9.e+-]*\\)" | head -1 | cut -d: -f2 |
    tr -d '"'
}
# The name of the first file (in sort order) of a repository directory.
first_file() { find "$LIFEBOAT_REPOSITORY/$1" -type f -printf '%f\n' | sort | head -1; }

# --- repository and two backups ---------------------------------------------------------------
D="$WORK/data"
mkdir -p "$D/sub/deeper"
printf 'hello\n' >"$D/a.txt"
head -c 200000 /dev/urandom >"$D/big.bin"
cp "$D/big.bin" "$D/sub/deeper/dup.bin"
printf 'x\n' >"$D/sub/x.txt"
ln -s a.txt "$D/link"
N=200000

expect_rc "init" 0 lb init
expect_rc "first backup" 0 lb backup "$D"

printf 'hello\nchanged\n' >"$D/a.txt"  # 14 bytes
rm "$D/sub/x.txt"
mkdir "$D/newdir"
printf 'n\n' >"$D/newdir/n.txt"
chmod 600 "$D/big.bin"
rm "$D/link"
mkdir "$D/link"
expect_rc "second backup" 0 lb backup "$D"

lb --json snapshots >"$OUT" 2>"$ERR"
IDS="$(grep -o '"id":"[0-9a-f]*"' "$OUT" | cut -d'"' -f4)"
S1="$(printf '%s\n' "$IDS" | sed -n 1p)"
S2="$(printf '%s\n' "$IDS" | sed -n 2p)"
if [ ${#S1} -ne 64 ] || [ ${#S2} -ne 64 ]; then
  bad "could not read the two snapshot ids from snapshots --json"
  exit 1
fi
ok "snapshots --json lists the two snapshot ids"

# --- ls ---------------------------------------------------------------------------------------
expect_rc "ls" 0 lb ls "${S1:0:8}"
for p in "$D" "$D/a.txt" "$D/big.bin" "$D/link" "$D/sub" "$D/sub/deeper/dup.bin" "$D/sub/x.txt"; do
  check "ls: '$p' is listed as its own line" grep -qxF -- "$p" "$OUT"
done
check_has "ls header" "$OUT" "snapshot ${S1:0:8} of [$D]"

expect_rc "ls -l" 0 lb ls -l "${S1:0:8}" "$D"
check "ls -l: a long line for a.txt with size 6" \
  grep -qE "^-rw-r--r-- .* 6 [0-9-]+ [0-9:]+ $D/a\.txt\$" "$OUT"
check "ls -l: symlink line" grep -qE "^lrwxrwxrwx .* $D/link -> a\.txt\$" "$OUT"
check "ls -l: directory line" grep -qE "^d[rwx-]{9} .* $D/sub\$" "$OUT"

expect_rc "ls --no-recursive" 0 lb ls --no-recursive latest "$D"
check_has "ls --no-recursive" "$OUT" "$D/newdir"
check_lacks "ls --no-recursive" "$OUT" "$D/newdir/n.txt"

expect_rc "ls file" 0 lb ls latest "$D/newdir/n.txt"
check_eq "ls of one file lists one path" 1 "$(grep -c '^/' "$OUT")"

expect_rc "ls --json" 0 lb --json ls latest "$D/newdir"
check_eq "ls --json: snapshot + 2 node lines" 3 "$(wc -l <"$OUT")"
check_has "ls --json" "$OUT" '"message_type":"snapshot"'
LINE="$(grep "\"path\":\"$D/newdir/n.txt\"" "$OUT")"
check_eq "ls --json: n.txt size" 2 "$(json_field size "$LINE")"
check_eq "ls --json: n.txt type" file "$(json_field type "$LINE")"
check_eq "ls --json: n.txt blobs" 1 "$(json_field content_blobs "$LINE")"

lb ls latest /does/not/exist >"$OUT" 2>"$ERR"; rc=$?
check "ls of a missing path fails (exit $rc)" [ "$rc" -ne 0 ]
check_has "ls missing path" "$ERR" "not in the snapshot"
expect_rc "ls relative path" 2 lb ls latest relative/path

LIFEBOAT_PASSWORD=wrong expect_rc "ls with a wrong password" 12 lb ls latest

# --- diff -------------------------------------------------------------------------------------
expect_rc "diff" 0 lb diff "${S1:0:8}" "${S2:0:8}"
check_has "diff" "$OUT" "M    $D/a.txt"
check_has "diff" "$OUT" "-    $D/sub/x.txt"
check_has "diff" "$OUT" "+    $D/newdir/"
check_has "diff" "$OUT" "+    $D/newdir/n.txt"
check_has "diff" "$OUT" "T    $D/link/"
check_has "diff" "$OUT" "U    $D/big.bin"
check_lacks "diff" "$OUT" "$D/sub/deeper/dup.bin"
if awk '$1 == "Files:" && $2 == 1 && $4 == 1 && $6 == 1 { ok = 1 } END { exit !ok }' "$OUT"; then
  ok "diff summary: 'Files: 1 new, 1 removed, 1 changed'"
else
  bad "diff summary: expected 'Files: 1 new, 1 removed, 1 changed'"
fi
if awk '$1 == "Data" && $3 == 2 && $5 == 2 { ok = 1 } END { exit !ok }' "$OUT"; then
  ok "diff summary: 'Data Blobs: 2 new, 2 removed'"
else
  bad "diff summary: expected 'Data Blobs: 2 new, 2 removed'"
fi
check_has "diff bytes" "$OUT" "  Added:   "

lb diff --no-metadata "${S1:0:8}" "${S2:0:8}" >"$OUT" 2>"$ERR"
check_lacks "diff --no-metadata" "$OUT" "U    "
check_has "diff --no-metadata" "$OUT" "M    $D/a.txt"

expect_rc "diff --json" 0 lb --json diff "$S1" "$S2"
check_has "diff --json" "$OUT" "{\"message_type\":\"change\",\"modifier\":\"-\",\"path\":\"$D/sub/x.txt\",\"type\":\"file\"}"
SUMMARY="$(grep '"message_type":"statistics"' "$OUT")"
check_eq "diff --json: changed_files" 1 "$(json_field changed_files "$SUMMARY")"
check_eq "diff --json: type_changed" 1 "$(json_field type_changed "$SUMMARY")"
ADDED="$(printf '%s\n' "$SUMMARY" | grep -o '"added":{[^}]*}')"
REMOVED="$(printf '%s\n' "$SUMMARY" | grep -o '"removed":{[^}]*}')"
check_eq "diff --json: added data_bytes" 16 "$(json_field data_bytes "$ADDED")"
check_eq "diff --json: removed data_bytes" 8 "$(json_field data_bytes "$REMOVED")"
check_eq "diff --json: added files" 1 "$(json_field files "$ADDED")"
check_eq "diff --json: added dirs" 1 "$(json_field dirs "$ADDED")"
B_ADDED="$(json_field bytes "$ADDED")"
check "diff --json: added bytes ($B_ADDED) include the new trees" [ "$B_ADDED" -gt 16 ] 2>/dev/null

expect_rc "diff identical" 0 lb diff "$S2" "$S2"
if grep -qE '^[-+MUT] ' "$OUT"; then
  bad "diff of a snapshot with itself shows changes"
else
  ok "diff of a snapshot with itself shows no changes"
fi

# --- stats ------------------------------------------------------------------------------------
expect_rc "stats" 0 lb --json stats
STATS="$(<"$OUT")"
check_eq "stats: snapshots_count" 2 "$(json_field snapshots_count "$STATS")"
check_eq "stats: total_file_count" 8 "$(json_field total_file_count "$STATS")"
check_eq "stats: total_size" $((4 * N + 24)) "$(json_field total_size "$STATS")"
check_eq "stats: data_uncompressed_size" $((N + 24)) "$(json_field data_uncompressed_size "$STATS")"
check_eq "stats: data_blob_count" 5 "$(json_field data_blob_count "$STATS")"
check "stats: packs counted" [ "$(json_field pack_count "$STATS")" -ge 1 ] 2>/dev/null
check "stats: repository larger than the data" \
  [ "$(json_field repository_size "$STATS")" -gt "$N" ] 2>/dev/null
DEDUP="$(json_field dedup_ratio "$STATS")"
check "stats: dedup_ratio $DEDUP is ~4" awk -v d="$DEDUP" 'BEGIN { exit !(d > 3.9 && d < 4.0) }'

lb --json stats --mode restore-size "${S1:0:8}" >"$OUT" 2>"$ERR"
check_eq "stats restore-size of snapshot 1" $((2 * N + 8)) "$(json_field total_size "$(<"$OUT")")"
check_lacks "stats restore-size" "$OUT" "total_stored_size"
lb stats --mode raw-data >"$OUT" 2>"$ERR"
check_has "stats raw-data" "$OUT" "Unique Stored Size:"
check_lacks "stats raw-data" "$OUT" "Restore Size:"
expect_rc "stats bad mode" 2 lb stats --mode nonsense

# --- cat --------------------------------------------------------------------------------------
expect_rc "cat config" 0 lb cat config
check_has "cat config" "$OUT" '"chunker"'
lb --json cat snapshot "${S2:0:10}" >"$OUT" 2>"$ERR"
check_has "cat snapshot" "$OUT" "\"id\":\"$S2\""
ROOT="$(json_field tree "$(<"$OUT")")"

# Walk the trees down to the data directory, then find a.txt's blob.
T="$ROOT"
for comp in $(printf '%s\n' "$D" | tr '/' ' '); do
  lb --json cat tree "$T" >"$OUT" 2>"$ERR"
  T="$(sed 's/},{/}\n{/g' "$OUT" | grep "\"name\":\"$comp\"" |
    grep -o '"subtree":"[0-9a-f]*"' | cut -d'"' -f4)"
  if [ ${#T} -eq 64 ]; then ok "cat tree: found '$comp'"; else bad "cat tree: could not find '$comp'"; break; fi
done
expect_rc "cat tree prefix" 0 lb --json cat tree "${T:0:12}"
BLOB="$(sed 's/},{/}\n{/g' "$OUT" | grep '"name":"a.txt"' |
  grep -o '"content":\["[0-9a-f]*"\]' | cut -d'"' -f4)"
if [ ${#BLOB} -eq 64 ]; then
  ok "cat tree: a content id for a.txt"
  expect_rc "cat blob" 0 lb cat blob "${BLOB:0:16}"
  check "cat blob: the bytes of a.txt" cmp -s "$OUT" "$D/a.txt"
else
  bad "cat tree: no content id for a.txt"
fi
lb cat blob 0000000000000000 >"$OUT" 2>"$ERR"; rc=$?
check "cat blob of an unknown id fails (exit $rc)" [ "$rc" -ne 0 ]

INDEX="$(first_file index)"
expect_rc "cat index" 0 lb --json cat index "${INDEX:0:8}"
check_has "cat index" "$OUT" '"supersedes":[]'
check_has "cat index" "$OUT" '"raw_length":'
PACK="$(grep -o '"packs":\[{"blobs":\[.*' "$OUT" | grep -o '"id":"[0-9a-f]*"}' | head -1 |
  cut -d'"' -f4)"
expect_rc "cat pack-header" 0 lb --json cat pack-header "${PACK:0:8}"
check_has "cat pack-header" "$OUT" "\"id\":\"$PACK\""
check_has "cat pack-header" "$OUT" '"offset":0,'

KEY="$(first_file keys)"
expect_rc "cat key" 0 lb cat key "${KEY:0:6}"
check_has "cat key" "$OUT" '"kdf": "scrypt"'
check_lacks "cat key" "$OUT" '"data"'
expect_rc "cat masterkey" 2 lb cat masterkey
check_has "cat masterkey" "$ERR" "never prints key material"
expect_rc "cat unknown snapshot" 1 lb cat snapshot ffffffffffff
expect_rc "cat unknown type" 2 lb cat bogus 12

# --- key --------------------------------------------------------------------------------------
expect_rc "key list" 0 lb key list
check "key list: current key marked with *" grep -qE "^\\*${KEY:0:8} " "$OUT"
printf 'second-password\n' >"$WORK/pw2"
printf 'third-password\n' >"$WORK/pw3"
expect_rc "key add without a new password" 2 lb key add </dev/null
expect_rc "key add" 0 lb key add --new-password-file "$WORK/pw2"
check_has "key add" "$OUT" "saved new key as"
lb --json key list >"$OUT" 2>"$ERR"
check_eq "key list --json: 2 keys" 2 "$(grep -o '"current":' "$OUT" | wc -l)"
check_eq "key list --json: 1 current" 1 "$(grep -o '"current":true' "$OUT" | wc -l)"
expect_rc "key remove current" 1 lb key remove "${KEY:0:8}"
check_has "key remove current" "$ERR" "currently in use"
LIFEBOAT_PASSWORD=second-password expect_rc "key remove other" 0 lb key remove "${KEY:0:8}"
expect_rc "old password after its key was removed" 12 lb snapshots
export LIFEBOAT_PASSWORD=second-password
expect_rc "key passwd" 0 lb key passwd --new-password-file "$WORK/pw3"
check_has "key passwd" "$OUT" "removed old key"
expect_rc "password replaced by key passwd" 12 lb snapshots
export LIFEBOAT_PASSWORD=third-password
expect_rc "key list with the new password" 0 lb key list
check_eq "key passwd: exactly 1 key left" 1 "$(grep -cE '^[* ][0-9a-f]{8} ' "$OUT")"
expect_rc "key remove bad id" 2 lb key remove zz

# Ambiguous prefixes: with 17 keys, two share a first hex digit.
for i in $(seq 1 16); do
  expect_rc "key add #$i" 0 lb key add --new-password-file "$WORK/pw2"
done
SHARED="$(find "$LIFEBOAT_REPOSITORY/keys" -type f -printf '%f\n' | cut -c1 | sort | uniq -d | head -1)"
expect_rc "cat key ambiguous" 2 lb cat key "$SHARED"
check_has "cat key ambiguous" "$ERR" "ambiguous"
expect_rc "key remove ambiguous" 2 lb key remove "$SHARED"

# --- unlock -----------------------------------------------------------------------------------
# A backup reading a FIFO that nobody writes holds a shared lock until killed. It runs
# "$LIFEBOAT" itself, not the lb function, so that $! is the pid that lifeboat writes in its lock.
mkfifo "$WORK/fifo"
exec 3<>"$WORK/fifo"
start_blocker() {
  "$LIFEBOAT" backup --stdin <"$WORK/fifo" >/dev/null 2>&1 &
  BLOCKER_PID=$!
  check "the blocking backup took a lock" wait_for_lock
}
start_blocker
# An exclusive command is refused, and --json names the holder as data (doc/exit-codes.md).
expect_rc "prune while a backup holds a lock" 11 lb --json prune
check_has "the holder's pid as data" "$ERR" "\"pid\":$BLOCKER_PID"
check_has "the holder's lock kind as data" "$ERR" '"exclusive":false'
check_has "the holder's age as data" "$ERR" '"lock":{"age_seconds":'
check_has "the holder's lock id as data" "$ERR" \
  "\"id\":\"$(find "$LIFEBOAT_REPOSITORY/locks" -type f -printf '%f\n' | head -1)\""
expect_rc "unlock with a live lock" 0 lb --json unlock
check_has "unlock live" "$OUT" '"kept":1'
check_has "unlock live" "$OUT" '"removed":[]'
check "unlock kept the live lock" [ -n "$(ls "$LIFEBOAT_REPOSITORY/locks")" ]

{ kill -9 "$BLOCKER_PID"; wait "$BLOCKER_PID"; } 2>/dev/null
expect_rc "unlock stale" 0 lb unlock
check_has "unlock stale" "$OUT" "process $BLOCKER_PID no longer runs on this host"
check_has "unlock stale" "$OUT" "successfully removed 1 lock"
check "unlock removed the stale lock" [ -z "$(ls "$LIFEBOAT_REPOSITORY/locks")" ]
BLOCKER_PID=""

start_blocker
expect_rc "unlock --remove-all" 0 lb unlock --remove-all
check_has "unlock --remove-all" "$OUT" ": --remove-all"
check "unlock --remove-all left no lock" [ -z "$(ls "$LIFEBOAT_REPOSITORY/locks")" ]
{ kill -9 "$BLOCKER_PID"; wait "$BLOCKER_PID"; } 2>/dev/null
BLOCKER_PID=""
exec 3>&-

# --- damage as data -----------------------------------------------------------------------------
# A damaged snapshot file: --json names it as the damaged object and as the affected snapshot.
DAMAGED="$(echo damaged | lb --json backup --stdin 2>/dev/null |
           grep -o '"snapshot_id":"[0-9a-f]*"' | cut -d'"' -f4)"
check "a snapshot to damage" [ ${#DAMAGED} = 64 ]
chmod u+w "$LIFEBOAT_REPOSITORY/snapshots/$DAMAGED"
printf 'x' | dd of="$LIFEBOAT_REPOSITORY/snapshots/$DAMAGED" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_rc "cat a damaged snapshot" 1 lb --json cat snapshot "$DAMAGED"
check_has "the damaged object as data" "$ERR" \
  "\"damage\":{\"object\":\"$DAMAGED\",\"snapshots\":[\"$DAMAGED\"],\"type\":\"snapshot\"}"

lb_test_finish
