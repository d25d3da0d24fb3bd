#!/usr/bin/env bash
# End-to-end test of `lifeboat forget`: a repository with stdin backups of two hosts and two
# paths, then forget without rules (refused), --dry-run (nothing removed), --keep-last per group
# and with --host / --keep-tag, explicit ids, --policy FILE, bad flags (exit 2), a lock held by a
# running backup (exit 11) and a snapshot that cannot be removed (reported, the others removed,
# exit 1). Time-based rules are covered by src/retention/retention_test.cc: snapshot times cannot
# be set from the command line.
#
#   tests/cli_forget_test.sh build/release/src/cli/lifeboat
#
# Exits 0 when every check passed, 1 otherwise (each failure is printed).
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LB="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

WORK="$(mktemp -d /tmp/lifeboat-forget-XXXXXX)"
BLOCKER_PID=""
IMMUTABLE=""
cleanup() {
  if [ -n "$BLOCKER_PID" ]; then kill -9 "$BLOCKER_PID" 2>/dev/null; fi
  exec 3>&- 2>/dev/null
  if [ -n "$IMMUTABLE" ]; then chattr -i "$IMMUTABLE" 2>/dev/null; fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="forget-test"
export LIFEBOAT_KDF_N=1024
unset LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND

FAILURES=0
CHECKS=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
# check_contains NAME TEXT FIXED-STRING
check_contains() {
  CHECKS=$((CHECKS + 1))
  if ! printf '%s\n' "$2" | grep -qF -- "$3"; then
    fail "$1: output lacks '$3'"
    printf '%s\n' "$2" | sed 's/^/    | /' | head -40 >&2
  fi
}
check_lacks() {
  CHECKS=$((CHECKS + 1))
  if printf '%s\n' "$2" | grep -qF -- "$3"; then fail "$1: output unexpectedly has '$3'"; fi
}
# check_rc NAME EXPECTED ACTUAL
check_rc() {
  CHECKS=$((CHECKS + 1))
  if [ "$2" != "$3" ]; then fail "$1: exit code $3, expected $2; stderr: $(head -c 400 <<<"$ERR")"; fi
}
# check_eq NAME EXPECTED ACTUAL
check_eq() {
  CHECKS=$((CHECKS + 1))
  if [ "$2" != "$3" ]; then fail "$1: got '$3', expected '$2'"; fi
}
# run CMD...: stdout into OUT, stderr into ERR, exit code into RC.
run() {
  OUT="$("$LB" "$@" 2>"$WORK/err")"
  RC=$?
  ERR="$(cat "$WORK/err")"
}
# backup NAME HOST FILE [TAG]: one stdin backup; sets the variable NAME to the snapshot id.
backup() {
  local name="$1" host="$2" file="$3" tag="${4:-}" out
  out="$(echo "$name $RANDOM" | "$LB" --json backup --stdin --stdin-filename "$file" \
           --host "$host" ${tag:+--tag "$tag"} 2>/dev/null)" || fail "backup $name"
  local id
  id="$(printf '%s\n' "$out" | grep -o '"snapshot_id":"[0-9a-f]*"' | cut -d'"' -f4)"
  [ ${#id} = 64 ] || fail "backup $name printed no snapshot id"
  printf -v "$name" '%s' "$id"
}
# The ids of all snapshots, sorted, one line.
snapshot_ids() {
  "$LB" snapshots --json 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort | tr '\n' ' '
}
ids() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

"$LB" init >/dev/null 2>&1 || { echo "init failed" >&2; exit 1; }

# Host a, /db.sql: A1..A4 (A2 tagged monthly); host b, /db.sql: B1..B3; host a, /other.sql: C1.
backup A1 a db.sql
backup A2 a db.sql monthly
backup B1 b db.sql
backup A3 a db.sql
backup B2 b db.sql
backup A4 a db.sql
backup B3 b db.sql
backup C1 a other.sql
ALL="$(ids "$A1" "$A2" "$A3" "$A4" "$B1" "$B2" "$B3" "$C1")"
check_eq "eight snapshots" "$ALL" "$(snapshot_ids)"

# --- no rule, bad flags: exit 2, nothing removed --------------------------------------------
run forget
check_rc "forget without rules" 2 "$RC"
check_contains "forget without rules names the rules" "$ERR" "--keep-last"
check_contains "forget without rules names the rules" "$ERR" "--keep-within-daily"
check_contains "forget without rules names the rules" "$ERR" "--policy FILE"
run forget --keep-last abc
check_rc "--keep-last abc" 2 "$RC"
check_contains "--keep-last abc" "$ERR" "--keep-last takes a count"
run forget --keep-daily -5
check_rc "--keep-daily -5" 2 "$RC"
check_contains "--keep-daily -5" "$ERR" "got '-5'"
run forget --keep-within 5x
check_rc "--keep-within 5x" 2 "$RC"
check_contains "--keep-within 5x" "$ERR" "--keep-within: invalid duration \"5x\": unknown unit 'x'"
run forget --keep-within 0d
check_rc "--keep-within 0d is no rule" 2 "$RC"
run forget --keep-last 1 --group-by host,path
check_rc "--group-by host,path" 2 "$RC"
check_contains "--group-by host,path" "$ERR" "unknown word \"path\""
run forget --keep-tag a,,b
check_rc "--keep-tag a,,b" 2 "$RC"
check_contains "--keep-tag a,,b" "$ERR" "empty tag"
run forget --keep-last 1 "${A1:0:8}"
check_rc "ids and rules together" 2 "$RC"
check_contains "ids and rules together" "$ERR" "not both"
run forget --keep-nothing 3
check_rc "unknown flag" 2 "$RC"
run --no-lock forget --keep-last 1
check_rc "--no-lock without --dry-run" 2 "$RC"
check_contains "--no-lock without --dry-run" "$ERR" "only allowed with --dry-run"
run --json forget
check_rc "--json forget without rules" 2 "$RC"
check_contains "--json error" "$ERR" '"message_type":"error"'
check_eq "nothing removed by refused commands" "$ALL" "$(snapshot_ids)"

# --- dry run: prints the decision, removes nothing ---------------------------------------------
run forget --keep-last 2 --dry-run
check_rc "dry run" 0 "$RC"
check_contains "dry run policy" "$OUT" "Applying policy: keep 2 latest snapshots"
check_contains "dry run group a db" "$OUT" "snapshots for host a, paths [/db.sql]:"
check_contains "dry run group a other" "$OUT" "snapshots for host a, paths [/other.sql]:"
check_contains "dry run group b" "$OUT" "snapshots for host b, paths [/db.sql]:"
check_contains "dry run reason" "$OUT" "last snapshot"
check_contains "dry run summary" "$OUT" "dry run: would remove 3 snapshots, 5 kept; nothing was removed"
check_eq "dry run removed nothing" "$ALL" "$(snapshot_ids)"
run --json forget --keep-last 2 --dry-run
check_rc "dry run json" 0 "$RC"
check_eq "dry run json: three groups" 3 "$(printf '%s' "$OUT" | grep -o '"group":' | wc -l)"
check_eq "dry run json: five kept" 5 "$(printf '%s' "$OUT" | grep -o '"reasons":' | wc -l)"
check_eq "dry run json: three to remove, none removed" 3 \
  "$(printf '%s' "$OUT" | grep -o '"removed":false' | wc -l)"
check_contains "dry run json group key" "$OUT" '"group":{"host":"b","paths":["/db.sql"],"tags":null}'
check_contains "dry run json removes B1" "$OUT" "\"id\":\"$B1\""
check_eq "dry run json removed nothing" "$ALL" "$(snapshot_ids)"

# --- keep-last with filters and keep-tag --------------------------------------------------------
run forget --keep-last 2 --host b
check_rc "keep-last 2 --host b" 0 "$RC"
check_contains "keep-last 2 --host b" "$OUT" "removed 1 snapshot, 2 kept"
check_lacks "keep-last 2 --host b only saw host b" "$OUT" "host a"
check_eq "B1 removed, nothing else" "$(ids "$A1" "$A2" "$A3" "$A4" "$B2" "$B3" "$C1")" "$(snapshot_ids)"
run snapshots --host b
check_contains "snapshots confirms B2" "$OUT" "${B2:0:8}"
check_lacks "snapshots confirms B1 gone" "$OUT" "${B1:0:8}"

run forget --keep-last 2 --keep-tag monthly
check_rc "keep-last 2 --keep-tag monthly" 0 "$RC"
check_contains "A2 kept by its tag" "$OUT" "tag monthly"
check_contains "keep-last 2 --keep-tag monthly" "$OUT" "removed 1 snapshot, 6 kept"
check_eq "A1 removed" "$(ids "$A2" "$A3" "$A4" "$B2" "$B3" "$C1")" "$(snapshot_ids)"

# --- explicit ids --------------------------------------------------------------------------------
run forget "${A4:0:10}" deadbeef
check_rc "an unknown id fails before anything is removed" 1 "$RC"
check_contains "unknown id" "$ERR" "no snapshot id starts with 'deadbeef'"
check_contains "unknown id" "$ERR" "nothing removed"
run forget 'zz!'
check_rc "malformed id" 2 "$RC"
check_eq "nothing removed by failed id lookups" "$(ids "$A2" "$A3" "$A4" "$B2" "$B3" "$C1")" "$(snapshot_ids)"
run forget --dry-run "${A3:0:8}"
check_rc "dry run of an id" 0 "$RC"
check_contains "dry run of an id" "$OUT" "would remove 1 snapshot;"
check_eq "dry run of an id removed nothing" "$(ids "$A2" "$A3" "$A4" "$B2" "$B3" "$C1")" "$(snapshot_ids)"
run --json forget "${A3:0:8}" "$A3" latest --host b
check_rc "forget ids" 0 "$RC"
check_eq "each id once" 2 "$(printf '%s' "$OUT" | grep -o '"removed":true' | wc -l)"
check_eq "A3 and B3 (latest of host b) removed" "$(ids "$A2" "$A4" "$B2" "$C1")" "$(snapshot_ids)"

# --- policy file ---------------------------------------------------------------------------------
printf '{"keep_last":1,"group_by":["hosts"]}' >"$WORK/bad-group.json"
run forget --policy "$WORK/bad-group.json"
check_rc "policy with a bad group_by" 2 "$RC"
check_contains "policy with a bad group_by" "$ERR" '"group_by"'
printf '{"keep_last":1,"keep_dayly":7}' >"$WORK/typo.json"
run forget --policy "$WORK/typo.json"
check_rc "policy with an unknown key" 2 "$RC"
check_contains "policy with an unknown key" "$ERR" '"keep_dayly" is not a retention setting'
printf '{"keep_last":"1"}' >"$WORK/type.json"
run forget --policy "$WORK/type.json"
check_rc "policy with a wrong type" 2 "$RC"
check_contains "policy with a wrong type" "$ERR" '"keep_last" must be an integer'
printf '{"keep_last":1' >"$WORK/broken.json"
run forget --policy "$WORK/broken.json"
check_rc "policy that is not JSON" 2 "$RC"
check_contains "policy that is not JSON" "$ERR" "not valid JSON"
printf '{"group_by":["host"]}' >"$WORK/norules.json"
run forget --policy "$WORK/norules.json"
check_rc "policy without rules" 2 "$RC"
check_contains "policy without rules" "$ERR" "has no retention rule"
run forget --policy "$WORK/missing.json"
check_rc "missing policy file" 2 "$RC"
printf '{"keep_last":1,"group_by":["host"]}' >"$WORK/policy.json"
run forget --policy "$WORK/policy.json" --keep-last 3
check_rc "--policy with a keep flag" 2 "$RC"
check_contains "--policy with a keep flag" "$ERR" "cannot be combined"
run forget --policy "$WORK/policy.json" --group-by host
check_rc "--policy with --group-by" 2 "$RC"
check_eq "nothing removed by refused policies" "$(ids "$A2" "$A4" "$B2" "$C1")" "$(snapshot_ids)"
# Grouped by host only: host a keeps its newest (C1), host b its only one (B2).
run forget --policy "$WORK/policy.json"
check_rc "forget --policy" 0 "$RC"
check_contains "forget --policy groups by host" "$OUT" "snapshots for host a:"
check_contains "forget --policy" "$OUT" "removed 2 snapshots, 2 kept"
check_eq "policy kept C1 and B2" "$(ids "$B2" "$C1")" "$(snapshot_ids)"

# --- a running backup holds a lock: forget stops with exit 11 and removes nothing ----------------
backup D1 d db.sql
backup D2 d db.sql
mkfifo "$WORK/fifo"
exec 3<>"$WORK/fifo"
"$LB" backup --stdin <"$WORK/fifo" >/dev/null 2>&1 &
BLOCKER_PID=$!
for _ in $(seq 1 100); do
  [ -n "$(ls "$LIFEBOAT_REPOSITORY/locks")" ] && break
  sleep 0.1
done
[ -n "$(ls "$LIFEBOAT_REPOSITORY/locks")" ] || fail "the blocking backup never took a lock"
run forget --keep-last 1
check_rc "forget while a backup runs" 11 "$RC"
check_contains "forget while a backup runs" "$ERR" "lock"
check_eq "locked forget removed nothing" "$(ids "$B2" "$C1" "$D1" "$D2")" "$(snapshot_ids)"
{ kill -9 "$BLOCKER_PID"; wait "$BLOCKER_PID"; } 2>/dev/null
BLOCKER_PID=""
exec 3>&-
"$LB" unlock >/dev/null 2>&1

# --- a snapshot that cannot be removed: reported, the others removed, exit 1 ---------------------
backup D3 d db.sql
if chattr +i "$LIFEBOAT_REPOSITORY/snapshots/$D1" 2>/dev/null; then
  IMMUTABLE="$LIFEBOAT_REPOSITORY/snapshots/$D1"
  run forget --keep-last 1 --host d
  check_rc "one removal fails" 1 "$RC"
  check_contains "the failed snapshot is named" "$ERR" "removing snapshot ${D1:0:8}"
  check_contains "the summary counts it" "$OUT" "removed 1 snapshot, 1 kept, 1 failed"
  check_eq "D2 removed, D1 still there" "$(ids "$B2" "$C1" "$D1" "$D3")" "$(snapshot_ids)"
  chattr -i "$IMMUTABLE"
  IMMUTABLE=""
  run --json forget --keep-last 1 --host d
  check_rc "retry succeeds" 0 "$RC"
  check_contains "retry json" "$OUT" "\"id\":\"$D1\""
  check_contains "retry json" "$OUT" '"removed":true'
else
  echo "note: chattr +i is not supported here; skipping the removal-failure case" >&2
  run forget --keep-last 1 --host d
  check_rc "forget --host d" 0 "$RC"
fi
check_eq "host d keeps only D3" "$(ids "$B2" "$C1" "$D3")" "$(snapshot_ids)"

# The repository is consistent after all this, and the kept snapshots restore.
run check
check_rc "check after forget" 0 "$RC"
run restore "${C1:0:8}" --target "$WORK/restore"
check_rc "restore a kept snapshot" 0 "$RC"
grep -q "^C1 " "$WORK/restore/other.sql" || fail "restored content of C1 is wrong"

if [ "$FAILURES" -ne 0 ]; then
  echo "cli_forget_test: $FAILURES of $CHECKS check(s) failed" >&2
  exit 1
fi
echo "cli_forget_test: all $CHECKS checks passed"
