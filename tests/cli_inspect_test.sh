#!/usr/bin/env bash
# End-to-end test of the inspection and housekeeping verbs: ls, diff, stats, cat, key, unlock.
# Creates a repository in a temporary directory, backs up a generated tree twice (changing it in
# between) and checks the commands' text and JSON output with grep/awk only.
#
#   tests/cli_inspect_test.sh build/src/cli/lifeboat
#
# Exits 0 when every check passed, 1 otherwise (each failure is printed).
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LB="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

WORK="$(mktemp -d)"
BLOCKER_PID=""
cleanup() {
  if [ -n "$BLOCKER_PID" ]; then kill -9 "$BLOCKER_PID" 2>/dev/null; fi
  exec 3>&-
  rm -rf "$WORK"
}
trap cleanup EXIT

export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="first-password"
export LIFEBOAT_KDF_N=1024
unset LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND

FAILURES=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
# check_contains NAME TEXT FIXED-STRING
check_contains() {
  if ! printf '%s\n' "$2" | grep -qF -- "$3"; then
    fail "$1: output lacks '$3'"
    printf '%s\n' "$2" | sed 's/^/    | /' | head -40 >&2
  fi
}
check_lacks() {
  if printf '%s\n' "$2" | grep -qF -- "$3"; then fail "$1: output unexpectedly has '$3'"; fi
}
# check_rc NAME EXPECTED ACTUAL
check_rc() {
  if [ "$2" != "$3" ]; then fail "$1: exit code $3, expected $2"; fi
}
# run CMD...: stdout into OUT, stderr into ERR, exit code into RC.
run() {
  OUT="$("$LB" "$@" 2>"$WORK/stderr")"
  RC=$?
  ERR="$(cat "$WORK/stderr")"
}
# json_field NAME JSON-LINE: value of a numeric or string field of a flat JSON line.
json_field() {
  printf '%s\n' "$2" | grep -o "\"$1\":\\(\"[^\"]*\"\\|[0-9.e+-]*\\)" | head -1 | cut -d: -f2 |
    tr -d '"'
}

# --- repository and two backups ---------------------------------------------------------------
D="$WORK/data"
mkdir -p "$D/sub/deeper"
printf 'hello\n' >"$D/a.txt"
head -c 200000 /dev/urandom >"$D/big.bin"
cp "$D/big.bin" "$D/sub/deeper/dup.bin"
printf 'x\n' >"$D/sub/x.txt"
ln -s a.txt "$D/link"
N=200000

run init
check_rc "init" 0 "$RC"
run backup "$D"
check_rc "first backup" 0 "$RC"

printf 'hello\nchanged\n' >"$D/a.txt"  # 14 bytes
rm "$D/sub/x.txt"
mkdir "$D/newdir"
printf 'n\n' >"$D/newdir/n.txt"
chmod 600 "$D/big.bin"
rm "$D/link"
mkdir "$D/link"
run backup "$D"
check_rc "second backup" 0 "$RC"

run --json snapshots
IDS="$(printf '%s\n' "$OUT" | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4)"
S1="$(printf '%s\n' "$IDS" | sed -n 1p)"
S2="$(printf '%s\n' "$IDS" | sed -n 2p)"
if [ ${#S1} -ne 64 ] || [ ${#S2} -ne 64 ]; then
  fail "could not read the two snapshot ids from snapshots --json"
  exit 1
fi

# --- ls ---------------------------------------------------------------------------------------
run ls "${S1:0:8}"
check_rc "ls" 0 "$RC"
for p in "$D" "$D/a.txt" "$D/big.bin" "$D/link" "$D/sub" "$D/sub/deeper/dup.bin" "$D/sub/x.txt"; do
  printf '%s\n' "$OUT" | grep -qxF -- "$p" || fail "ls: '$p' is not listed as its own line"
done
check_contains "ls header" "$OUT" "snapshot ${S1:0:8} of [$D]"

run ls -l "${S1:0:8}" "$D"
check_rc "ls -l" 0 "$RC"
printf '%s\n' "$OUT" | grep -qE "^-rw-r--r-- .* 6 [0-9-]+ [0-9:]+ $D/a\.txt\$" ||
  fail "ls -l: no long line for a.txt with size 6"
printf '%s\n' "$OUT" | grep -qE "^lrwxrwxrwx .* $D/link -> a\.txt\$" ||
  fail "ls -l: symlink line missing"
printf '%s\n' "$OUT" | grep -qE "^d[rwx-]{9} .* $D/sub\$" || fail "ls -l: directory line missing"

run ls --no-recursive latest "$D"
check_rc "ls --no-recursive" 0 "$RC"
check_contains "ls --no-recursive" "$OUT" "$D/newdir"
check_lacks "ls --no-recursive" "$OUT" "$D/newdir/n.txt"

run ls latest "$D/newdir/n.txt"
check_rc "ls file" 0 "$RC"
[ "$(printf '%s\n' "$OUT" | grep -c '^/')" = 1 ] || fail "ls of one file should list one path"

run --json ls latest "$D/newdir"
check_rc "ls --json" 0 "$RC"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 3 ] || fail "ls --json: expected snapshot + 2 node lines"
check_contains "ls --json" "$OUT" '"message_type":"snapshot"'
LINE="$(printf '%s\n' "$OUT" | grep "\"path\":\"$D/newdir/n.txt\"")"
[ "$(json_field size "$LINE")" = 2 ] || fail "ls --json: n.txt size is not 2"
[ "$(json_field type "$LINE")" = file ] || fail "ls --json: n.txt type is not file"
[ "$(json_field content_blobs "$LINE")" = 1 ] || fail "ls --json: n.txt has not 1 blob"

run ls latest /does/not/exist
[ "$RC" -ne 0 ] || fail "ls of a missing path succeeded"
check_contains "ls missing path" "$ERR" "not in the snapshot"
run ls latest relative/path
check_rc "ls relative path" 2 "$RC"

LIFEBOAT_PASSWORD=wrong run ls latest
check_rc "ls with a wrong password" 12 "$RC"

# --- diff -------------------------------------------------------------------------------------
run diff "${S1:0:8}" "${S2:0:8}"
check_rc "diff" 0 "$RC"
check_contains "diff" "$OUT" "M    $D/a.txt"
check_contains "diff" "$OUT" "-    $D/sub/x.txt"
check_contains "diff" "$OUT" "+    $D/newdir/"
check_contains "diff" "$OUT" "+    $D/newdir/n.txt"
check_contains "diff" "$OUT" "T    $D/link/"
check_contains "diff" "$OUT" "U    $D/big.bin"
check_lacks "diff" "$OUT" "$D/sub/deeper/dup.bin"
printf '%s\n' "$OUT" | awk '$1 == "Files:" && $2 == 1 && $4 == 1 && $6 == 1 { ok = 1 } END { exit !ok }' ||
  fail "diff summary: expected 'Files: 1 new, 1 removed, 1 changed'"
printf '%s\n' "$OUT" | awk '$1 == "Data" && $3 == 2 && $5 == 2 { ok = 1 } END { exit !ok }' ||
  fail "diff summary: expected 'Data Blobs: 2 new, 2 removed'"
check_contains "diff bytes" "$OUT" "  Added:   "

run diff --no-metadata "${S1:0:8}" "${S2:0:8}"
check_lacks "diff --no-metadata" "$OUT" "U    "
check_contains "diff --no-metadata" "$OUT" "M    $D/a.txt"

run --json diff "$S1" "$S2"
check_rc "diff --json" 0 "$RC"
check_contains "diff --json" "$OUT" "{\"message_type\":\"change\",\"modifier\":\"-\",\"path\":\"$D/sub/x.txt\",\"type\":\"file\"}"
SUMMARY="$(printf '%s\n' "$OUT" | grep '"message_type":"statistics"')"
[ "$(json_field changed_files "$SUMMARY")" = 1 ] || fail "diff --json: changed_files is not 1"
[ "$(json_field type_changed "$SUMMARY")" = 1 ] || fail "diff --json: type_changed is not 1"
ADDED="$(printf '%s\n' "$SUMMARY" | grep -o '"added":{[^}]*}')"
REMOVED="$(printf '%s\n' "$SUMMARY" | grep -o '"removed":{[^}]*}')"
[ "$(json_field data_bytes "$ADDED")" = 16 ] || fail "diff --json: added data_bytes is not 16"
[ "$(json_field data_bytes "$REMOVED")" = 8 ] || fail "diff --json: removed data_bytes is not 8"
[ "$(json_field files "$ADDED")" = 1 ] || fail "diff --json: added files is not 1"
[ "$(json_field dirs "$ADDED")" = 1 ] || fail "diff --json: added dirs is not 1"
B_ADDED="$(json_field bytes "$ADDED")"
[ "$B_ADDED" -gt 16 ] 2>/dev/null || fail "diff --json: added bytes ($B_ADDED) lack the new trees"

run diff "$S2" "$S2"
check_rc "diff identical" 0 "$RC"
if printf '%s\n' "$OUT" | grep -qE '^[-+MUT] '; then fail "diff of a snapshot with itself shows changes"; fi

# --- stats ------------------------------------------------------------------------------------
run --json stats
check_rc "stats" 0 "$RC"
[ "$(json_field snapshots_count "$OUT")" = 2 ] || fail "stats: snapshots_count is not 2"
[ "$(json_field total_file_count "$OUT")" = 8 ] || fail "stats: total_file_count is not 8"
[ "$(json_field total_size "$OUT")" = $((4 * N + 24)) ] || fail "stats: total_size is not $((4 * N + 24))"
[ "$(json_field data_uncompressed_size "$OUT")" = $((N + 24)) ] ||
  fail "stats: data_uncompressed_size is not $((N + 24))"
[ "$(json_field data_blob_count "$OUT")" = 5 ] || fail "stats: data_blob_count is not 5"
[ "$(json_field pack_count "$OUT")" -ge 1 ] 2>/dev/null || fail "stats: no packs counted"
[ "$(json_field repository_size "$OUT")" -gt "$N" ] 2>/dev/null || fail "stats: repository too small"
DEDUP="$(json_field dedup_ratio "$OUT")"
awk -v d="$DEDUP" 'BEGIN { exit !(d > 3.9 && d < 4.0) }' || fail "stats: dedup_ratio $DEDUP is not ~4"

run --json stats --mode restore-size "${S1:0:8}"
[ "$(json_field total_size "$OUT")" = $((2 * N + 8)) ] || fail "stats restore-size of snapshot 1"
check_lacks "stats restore-size" "$OUT" "total_stored_size"
run stats --mode raw-data
check_contains "stats raw-data" "$OUT" "Unique Stored Size:"
check_lacks "stats raw-data" "$OUT" "Restore Size:"
run stats --mode nonsense
check_rc "stats bad mode" 2 "$RC"

# --- cat --------------------------------------------------------------------------------------
run cat config
check_rc "cat config" 0 "$RC"
check_contains "cat config" "$OUT" '"chunker"'
run --json cat snapshot "${S2:0:10}"
check_contains "cat snapshot" "$OUT" "\"id\":\"$S2\""
ROOT="$(json_field tree "$OUT")"

# Walk the trees down to the data directory, then find a.txt's blob.
T="$ROOT"
for comp in $(printf '%s\n' "$D" | tr '/' ' '); do
  run --json cat tree "$T"
  T="$(printf '%s\n' "$OUT" | sed 's/},{/}\n{/g' | grep "\"name\":\"$comp\"" |
    grep -o '"subtree":"[0-9a-f]*"' | cut -d'"' -f4)"
  [ ${#T} -eq 64 ] || { fail "cat tree: could not find '$comp'"; break; }
done
run --json cat tree "${T:0:12}"
check_rc "cat tree prefix" 0 "$RC"
BLOB="$(printf '%s\n' "$OUT" | sed 's/},{/}\n{/g' | grep '"name":"a.txt"' |
  grep -o '"content":\["[0-9a-f]*"\]' | cut -d'"' -f4)"
if [ ${#BLOB} -eq 64 ]; then
  "$LB" cat blob "${BLOB:0:16}" >"$WORK/blob.out" || fail "cat blob failed"
  cmp -s "$WORK/blob.out" "$D/a.txt" || fail "cat blob: bytes differ from a.txt"
else
  fail "cat tree: no content id for a.txt"
fi
run cat blob 0000000000000000
[ "$RC" -ne 0 ] || fail "cat blob of an unknown id succeeded"

INDEX="$(ls "$LIFEBOAT_REPOSITORY/index" | head -1)"
run --json cat index "${INDEX:0:8}"
check_rc "cat index" 0 "$RC"
check_contains "cat index" "$OUT" '"supersedes":[]'
check_contains "cat index" "$OUT" '"raw_length":'
PACK="$(printf '%s\n' "$OUT" | grep -o '"packs":\[{"blobs":\[.*' | grep -o '"id":"[0-9a-f]*"}' | head -1 |
  cut -d'"' -f4)"
run --json cat pack-header "${PACK:0:8}"
check_rc "cat pack-header" 0 "$RC"
check_contains "cat pack-header" "$OUT" "\"id\":\"$PACK\""
check_contains "cat pack-header" "$OUT" '"offset":0,'

KEY="$(ls "$LIFEBOAT_REPOSITORY/keys" | head -1)"
run cat key "${KEY:0:6}"
check_rc "cat key" 0 "$RC"
check_contains "cat key" "$OUT" '"kdf": "scrypt"'
check_lacks "cat key" "$OUT" '"data"'
run cat masterkey
check_rc "cat masterkey" 2 "$RC"
check_contains "cat masterkey" "$ERR" "never prints key material"
run cat snapshot ffffffffffff
check_rc "cat unknown snapshot" 1 "$RC"
run cat bogus 12
check_rc "cat unknown type" 2 "$RC"

# --- key --------------------------------------------------------------------------------------
run key list
check_rc "key list" 0 "$RC"
printf '%s\n' "$OUT" | grep -qE "^\\*${KEY:0:8} " || fail "key list: current key not marked with *"
printf 'second-password\n' >"$WORK/pw2"
printf 'third-password\n' >"$WORK/pw3"
run key add </dev/null
check_rc "key add without a new password" 2 "$RC"
run key add --new-password-file "$WORK/pw2"
check_rc "key add" 0 "$RC"
check_contains "key add" "$OUT" "saved new key as"
run --json key list
[ "$(printf '%s\n' "$OUT" | grep -o '"current":' | wc -l)" = 2 ] || fail "key list --json: not 2 keys"
[ "$(printf '%s\n' "$OUT" | grep -o '"current":true' | wc -l)" = 1 ] || fail "key list --json: not 1 current"
run key remove "${KEY:0:8}"
check_rc "key remove current" 1 "$RC"
check_contains "key remove current" "$ERR" "currently in use"
LIFEBOAT_PASSWORD=second-password run key remove "${KEY:0:8}"
check_rc "key remove other" 0 "$RC"
run snapshots
check_rc "old password after its key was removed" 12 "$RC"
export LIFEBOAT_PASSWORD=second-password
run key passwd --new-password-file "$WORK/pw3"
check_rc "key passwd" 0 "$RC"
check_contains "key passwd" "$OUT" "removed old key"
run snapshots
check_rc "password replaced by key passwd" 12 "$RC"
export LIFEBOAT_PASSWORD=third-password
run key list
check_rc "key list with the new password" 0 "$RC"
[ "$(printf '%s\n' "$OUT" | grep -cE '^[* ][0-9a-f]{8} ')" = 1 ] || fail "key passwd: not exactly 1 key left"
run key remove zz
check_rc "key remove bad id" 2 "$RC"

# Ambiguous prefixes: with 17 keys, two share a first hex digit.
for i in $(seq 1 16); do
  "$LB" key add --new-password-file "$WORK/pw2" >/dev/null 2>&1 || fail "key add #$i"
done
SHARED="$(ls "$LIFEBOAT_REPOSITORY/keys" | cut -c1 | sort | uniq -d | head -1)"
run cat key "$SHARED"
check_rc "cat key ambiguous" 2 "$RC"
check_contains "cat key ambiguous" "$ERR" "ambiguous"
run key remove "$SHARED"
check_rc "key remove ambiguous" 2 "$RC"

# --- unlock -----------------------------------------------------------------------------------
# A backup reading a FIFO that nobody writes holds a shared lock until killed.
mkfifo "$WORK/fifo"
exec 3<>"$WORK/fifo"
start_blocker() {
  "$LB" backup --stdin <"$WORK/fifo" >/dev/null 2>&1 &
  BLOCKER_PID=$!
  for _ in $(seq 1 100); do
    [ -n "$(ls "$LIFEBOAT_REPOSITORY/locks")" ] && return 0
    sleep 0.1
  done
  fail "the blocking backup never took a lock"
}
start_blocker
run --json unlock
check_rc "unlock with a live lock" 0 "$RC"
check_contains "unlock live" "$OUT" '"kept":1'
check_contains "unlock live" "$OUT" '"removed":[]'
[ -n "$(ls "$LIFEBOAT_REPOSITORY/locks")" ] || fail "unlock removed a live lock"

{ kill -9 "$BLOCKER_PID"; wait "$BLOCKER_PID"; } 2>/dev/null
run unlock
check_rc "unlock stale" 0 "$RC"
check_contains "unlock stale" "$OUT" "process $BLOCKER_PID no longer runs on this host"
check_contains "unlock stale" "$OUT" "successfully removed 1 lock"
[ -z "$(ls "$LIFEBOAT_REPOSITORY/locks")" ] || fail "unlock left the stale lock"
BLOCKER_PID=""

start_blocker
run unlock --remove-all
check_rc "unlock --remove-all" 0 "$RC"
check_contains "unlock --remove-all" "$OUT" ": --remove-all"
[ -z "$(ls "$LIFEBOAT_REPOSITORY/locks")" ] || fail "unlock --remove-all left a lock"
{ kill -9 "$BLOCKER_PID"; wait "$BLOCKER_PID"; } 2>/dev/null
BLOCKER_PID=""
exec 3>&-

if [ "$FAILURES" -ne 0 ]; then
  echo "cli_inspect_test: $FAILURES check(s) failed" >&2
  exit 1
fi
echo "cli_inspect_test: all checks passed"
