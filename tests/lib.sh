# shellcheck shell=bash
# Shared helpers for the shell integration tests (sourced, not run).
#
#   LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"   # tests/CMakeLists.txt passes lifeboat_testing
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   lb_test_init prune                # $WORK = $TMPDIR/lifeboat-prune-XXXXXX, removed at exit
#   export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
#   expect_rc "init" 0 lb init --pack-size 1
#   check "one snapshot" [ "$(snapshot_count)" = 1 ]
#   check_eq "one snapshot" 1 "$(snapshot_count)"  # the same; a failure shows both values
#   expect_rc "list" 0 lb snapshots
#   check_has "it lists host a" "$WORK/out" "host a"  # a fixed string; check_lacks: the opposite
#   lb backup "$SRC" & check "the backup holds a lock" wait_for_lock  # polls locks/, 20 s at most
#   lb_test_finish                    # prints the counts; exit status 0 only if nothing failed
#
# lb_test_init clears every LIFEBOAT_* variable that names a repository or a password (so the
# caller's environment cannot leak in) and sets LIFEBOAT_KDF_N=1024 (cheap scrypt). Only the test
# executable `lifeboat_testing` (tests/lifeboat_testing_main.cc) honours LIFEBOAT_KDF_N and the
# other test settings (LIFEBOAT_FAULT_*, LIFEBOAT_LOCK_*_SECONDS); the release `lifeboat` ignores
# them, so a script run against it pays real scrypt for every init and open: keep those few.
# Set KEEP=1 to keep $WORK for inspection. A script that needs more cleanup at exit defines
# on_exit(); it runs before $WORK is removed.

PASS=0 FAIL=0

lb_test_init() {  # lb_test_init NAME
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-$1-XXXXXX")" || exit 1
  trap lb_test_cleanup EXIT
  unset LIFEBOAT_REPOSITORY LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND
  unset LIFEBOAT_FROM_REPOSITORY LIFEBOAT_FROM_PASSWORD LIFEBOAT_FROM_PASSWORD_FILE
  unset LIFEBOAT_FROM_PASSWORD_COMMAND
  export LIFEBOAT_KDF_N=1024
}

lb_test_cleanup() {
  if declare -F on_exit >/dev/null; then on_exit; fi
  [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }
check() { local name="$1"; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# check_eq NAME WANT GOT: passes when the two strings are equal.
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$3', want '$2'"; fi; }
# check_has NAME FILE TEXT: passes when FILE contains the fixed string TEXT; a failure shows the
# first 40 lines of FILE. check_lacks NAME FILE TEXT: passes when FILE exists and lacks TEXT.
check_has() {
  if grep -qF -- "$3" "$2"; then
    ok "$1"
  else
    bad "$1: ${2#"$WORK/"} lacks '$3'"
    head -n 40 "$2" | sed 's/^/    | /'
  fi
}
check_lacks() {
  grep -qF -- "$3" "$2"
  case $? in
    1) ok "$1" ;;
    0) bad "$1: ${2#"$WORK/"} has '$3'" ;;
    *) bad "$1: cannot read $2" ;;
  esac
}
lb() { "$LIFEBOAT" "$@"; }

# expect_rc NAME CODE CMD...: runs CMD with stdout in $WORK/out and stderr in $WORK/err.
expect_rc() {
  local name="$1" want="$2"; shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"; local rc=$?
  if [ "$rc" = "$want" ]; then
    ok "$name (exit $rc)"
  else
    bad "$name: exit $rc, want $want; stderr: $(head -c 600 "$WORK/err")"
  fi
}

# Like diff -r, but two fifos count as equal (diff reports them as different); anything else
# that differs, a missing file or a missing tree (diff's errors are read too) makes it fail.
# diff's output is taken first and read apart from its exit status: in a pipeline under
# `set -o pipefail` (every test script here) diff's status 1 would become the pipeline's, and the
# negation would then pass on trees that differ.
same_tree() {
  [ -d "$1" ] && [ -d "$2" ] || return 1
  local differences
  differences="$(diff -r --no-dereference "$1" "$2" 2>&1 | grep -v 'is a fifo while file .* is a fifo')"
  [ -z "$differences" ]
}

# flip_byte FILE OFFSET: xors the byte at OFFSET of FILE with 1 (damage for corruption tests;
# repository files are read-only, so the file is made writable first).
flip_byte() {
  local b
  chmod u+w "$1"
  b="$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')"
  # shellcheck disable=SC2059  # the format is the octal escape of the new byte
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

snapshot_count() { lb snapshots --json 2>/dev/null | grep -o '"short_id"' | wc -l; }

# wait_for_lock [SECONDS]: waits until $LIFEBOAT_REPOSITORY/locks holds a file, i.e. a command
# started in the background has taken its lock. Looks every 0.1 s for up to SECONDS (whole
# seconds, default 20); returns 0 as soon as a lock is there, 1 if none appeared in time, so
# `check "the backup holds a lock" wait_for_lock` counts a lock that never appears as a failure.
wait_for_lock() {
  local _
  for _ in $(seq 1 "$(( ${1:-20} * 10 ))"); do
    [ -n "$(find "$LIFEBOAT_REPOSITORY/locks" -type f 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}

lb_test_finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" = 0 ]
}
