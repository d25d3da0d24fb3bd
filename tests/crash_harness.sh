#!/usr/bin/env bash
# Crash harness: kills Lifeboat with SIGKILL at seeded points (the fault-injecting backend raises
# SIGKILL on itself before or after its N-th Save/Remove) during backup, forget --prune, copy
# (replica and re-encrypting) and key passwd. After each kill:
#   - `check --read-data` passes (unreferenced leftovers are allowed: they are warnings),
#   - every snapshot that existed before restores bit-exact (forget may already have removed the
#     snapshots it was asked to remove),
#   - re-running the interrupted command completes, and its result is checked.
# Prints the counts per command. It needs the test executable `lifeboat_testing` (built with the
# tests, beside them: build/release/tests/lifeboat_testing), which reads the LIFEBOAT_FAULT_* and
# LIFEBOAT_KDF_N settings; the release `lifeboat` ignores them, and the harness refuses it. Usage:
#   tests/crash_harness.sh build/release/tests/lifeboat_testing [POINTS (default 200)] [SEED (default 1)]
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat_testing [points] [seed]}"
POINTS="${2:-200}"
SEED="${3:-1}"
WORK="$(mktemp -d /tmp/lifeboat-crash-XXXXXX)"
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
export LIFEBOAT_PASSWORD="correct horse"
export LIFEBOAT_KDF_N=1024
unset LIFEBOAT_REPOSITORY LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND LIFEBOAT_FROM_PASSWORD_FILE
export LIFEBOAT_FROM_PASSWORD="$LIFEBOAT_PASSWORD"
RANDOM_STATE="$SEED"
rand() {  # rand N: deterministic pseudo-random integer in [0, N)
  RANDOM_STATE=$(( (RANDOM_STATE * 1103515245 + 12345) % 2147483648 ))
  echo $(( (RANDOM_STATE / 65536) % $1 ))
}
FAILURES=0
fail() { FAILURES=$((FAILURES + 1)); echo "FAIL - $*"; }
lb() { "$LIFEBOAT" -q "$@"; }

# --- data: three versions of a small tree; several 1 MiB packs per backup ---
make_version() {  # make_version DIR SEED
  mkdir -p "$1/sub"
  for i in 1 2 3; do head -c $((300000 + i * 1000)) /dev/urandom >"$1/big$i"; done
  for i in $(seq 1 20); do echo "small $i $2 $RANDOM" >"$1/sub/s$i.txt"; done
}
SRC="$WORK/src"
LIVE="$WORK/live"  # every version is backed up from this one path, as on a real host
make_version "$SRC/v1" 1
cp -a "$SRC/v1" "$SRC/v2"; head -c 250000 /dev/urandom >"$SRC/v2/big2"; echo more >>"$SRC/v2/sub/s1.txt"
for i in 1 2 3; do head -c 400000 /dev/urandom >"$SRC/v2/new$i"; done
cp -a "$SRC/v2" "$SRC/v3"; head -c 250000 /dev/urandom >"$SRC/v3/big3"; rm "$SRC/v3/sub/s2.txt"
for i in 4 5 6 7; do head -c 400000 /dev/urandom >"$SRC/v3/new$i"; done

BASE="$WORK/base"          # v1 and v2
REPLICA="$WORK/replica"    # replica of BASE holding v1
FOREIGN="$WORK/foreign"    # independent repository holding v1 (copy re-encrypts)
lb -r "$BASE" init --pack-size 1 || exit 1
if ! grep -q '"n":1024,' "$BASE"/keys/*; then
  echo "$LIFEBOAT ignores the test settings (LIFEBOAT_KDF_N, LIFEBOAT_FAULT_*): it is a release" \
    "binary. Run the harness with the test executable, e.g. build/release/tests/lifeboat_testing." >&2
  exit 2
fi
use_version() { rm -rf "$LIVE"; cp -a "$SRC/$1" "$LIVE"; }
use_version v1; lb -r "$BASE" backup --tag v1 "$LIVE" || exit 1
use_version v2; lb -r "$BASE" backup --tag v2 "$LIVE" || exit 1
use_version v3
lb -r "$REPLICA" init --pack-size 1 --replica-of "$BASE" || exit 1
lb -r "$REPLICA" copy --from "$BASE" --tag v1 || exit 1
lb -r "$FOREIGN" init --pack-size 1 || exit 1
lb -r "$FOREIGN" copy --from "$BASE" --tag v1 || exit 1
echo "new password" >"$WORK/new.pw"
echo "$LIFEBOAT_PASSWORD" >"$WORK/old.pw"

# Snapshot ids with the tag they carry ("id tag" lines), through the CLI's own tag filter.
snapshots_of() {  # REPO [PASSWORD-FILE]
  local tag
  for tag in v1 v2 v3; do
    "$LIFEBOAT" -r "$1" ${2:+-p "${2:-}"} snapshots --tag "$tag" --json 2>/dev/null |
      grep -o '"id":"[0-9a-f]\{64\}"' | cut -d'"' -f4 | sed "s/\$/ $tag/"
  done
}
# Restores snapshot $2 of repository $1 and compares it with $SRC/<tag>.
restores_exact() {  # REPO ID TAG [PASSWORD-FILE]
  rm -rf "$WORK/restore"
  "$LIFEBOAT" -r "$1" ${4:+-p "${4:-}"} -q restore "$2" --target "$WORK/restore" >/dev/null 2>&1 &&
    diff -r "$SRC/$3" "$WORK/restore$LIVE" >/dev/null
}

# The command of each kind, run against repository copy $1.
KINDS=(backup forget-prune copy-replica copy-reencrypt key-passwd)
run_kind() {  # KIND REPO
  case "$1" in
    backup) "$LIFEBOAT" -r "$2" -q backup --tag v3 "$LIVE" ;;
    forget-prune) "$LIFEBOAT" -r "$2" -q forget --keep-last 1 --prune --max-unused 0% ;;
    copy-replica | copy-reencrypt) "$LIFEBOAT" -r "$2" -q copy --from "$BASE" ;;
    key-passwd) "$LIFEBOAT" -r "$2" -q key passwd --new-password-file "$WORK/new.pw" ;;
  esac
}
template_of() {
  case "$1" in
    copy-replica) echo "$REPLICA" ;;
    copy-reencrypt) echo "$FOREIGN" ;;
    *) echo "$BASE" ;;
  esac
}

# Calibrate: how many Save/Remove calls each command makes when nothing goes wrong.
declare -A OPS
for kind in "${KINDS[@]}"; do
  rm -rf "$WORK/cal" "$WORK/cal.stats"; cp -a "$(template_of "$kind")" "$WORK/cal"
  LIFEBOAT_FAULT_STATS_FILE="$WORK/cal.stats" run_kind "$kind" "$WORK/cal" >/dev/null 2>&1 ||
    { fail "calibration run of $kind failed"; continue; }
  OPS[$kind]="$(awk '$2 > max {max = $2} END {print max}' "$WORK/cal.stats")"  # the busiest backend
  echo "# $kind: ${OPS[$kind]} mutating backend calls"
done
[ "$FAILURES" = 0 ] || exit 1

declare -A KILLED COMPLETED
for kind in "${KINDS[@]}"; do KILLED[$kind]=0; COMPLETED[$kind]=0; done
for point in $(seq 1 "$POINTS"); do
  kind="${KINDS[$(( (point - 1) % ${#KINDS[@]} ))]}"
  n=$(( 1 + $(rand "${OPS[$kind]}") ))
  when=before; [ "$(rand 2)" = 1 ] && when=after
  repo="$WORK/run"
  rm -rf "$repo"; cp -a "$(template_of "$kind")" "$repo"
  before="$(snapshots_of "$repo")"
  LIFEBOAT_FAULT_KILL_AFTER_OPS="$n" LIFEBOAT_FAULT_KILL_WHEN="$when" run_kind "$kind" "$repo" \
    >/dev/null 2>"$WORK/err"
  rc=$?
  label="point $point: $kind killed $when op $n/${OPS[$kind]}"
  if [ "$rc" = 137 ]; then
    KILLED[$kind]=$((KILLED[$kind] + 1))
  elif [ "$rc" = 0 ]; then
    COMPLETED[$kind]=$((COMPLETED[$kind] + 1))  # the op was a lock release after the commit
  else
    fail "$label: exit $rc: $(head -c 300 "$WORK/err")"
    continue
  fi
  # Whichever password works now (key passwd may have completed its add).
  pw="$WORK/old.pw"
  "$LIFEBOAT" -r "$repo" -p "$pw" -q snapshots >/dev/null 2>&1 || pw="$WORK/new.pw"
  "$LIFEBOAT" -r "$repo" -p "$pw" -q check --read-data >"$WORK/check" 2>&1 ||
    fail "$label: check --read-data: $(head -c 400 "$WORK/check")"
  while read -r id tag <&3; do
    [ -n "$id" ] || continue
    if [ "$kind" = forget-prune ] && [ "$tag" = v1 ] &&
      ! snapshots_of "$repo" "$pw" | grep -q "^$id "; then
      continue  # forgotten, as asked
    fi
    restores_exact "$repo" "$id" "$tag" "$pw" || fail "$label: snapshot $tag ($id) does not restore bit-exact"
  done 3<<<"$before"
  # Re-run to completion, then check the result.
  if [ "$kind" = key-passwd ]; then
    "$LIFEBOAT" -r "$repo" -p "$pw" -q key passwd --new-password-file "$WORK/new.pw" >/dev/null 2>"$WORK/err" ||
      fail "$label: re-run failed: $(head -c 300 "$WORK/err")"
    "$LIFEBOAT" -r "$repo" -p "$WORK/new.pw" -q check >/dev/null 2>&1 || fail "$label: new password does not open"
    continue
  fi
  run_kind "$kind" "$repo" >/dev/null 2>"$WORK/err" || { fail "$label: re-run failed: $(head -c 300 "$WORK/err")"; continue; }
  after="$(snapshots_of "$repo")"
  case "$kind" in
    backup) want="v1 v2 v3" ;;
    forget-prune) want="v2" ;;
    copy-*) want="v1 v2" ;;
  esac
  got="$(echo "$after" | awk '{print $2}' | sort | tr '\n' ' ' | sed 's/ $//')"
  # A backup killed after writing its snapshot leaves v3 complete; the re-run adds a second v3.
  got_unique="$(echo "$got" | tr ' ' '\n' | sort -u | tr '\n' ' ' | sed 's/ $//')"
  [ "$got_unique" = "$want" ] || fail "$label: after re-run snapshots are [$got], want [$want]"
  if [ "$kind" != backup ] && [ "$got" != "$want" ]; then fail "$label: duplicate snapshots [$got]"; fi
  "$LIFEBOAT" -r "$repo" -q check --read-data >/dev/null 2>&1 || fail "$label: check after re-run"
  newest="$(echo "$after" | grep -E " (v2|v3)$" | tail -1)"
  if [ -z "$newest" ] || ! restores_exact "$repo" "${newest% *}" "${newest#* }"; then
    fail "$label: ${newest#* } does not restore after re-run"
  fi
done

total_killed=0; total_completed=0
for kind in "${KINDS[@]}"; do
  echo "$kind: ${KILLED[$kind]} killed, ${COMPLETED[$kind]} completed before the kill point"
  total_killed=$((total_killed + KILLED[$kind])); total_completed=$((total_completed + COMPLETED[$kind]))
done
echo "crash harness: $POINTS points (seed $SEED): $total_killed killed, $total_completed completed, $FAILURES failures"
[ "$FAILURES" = 0 ]
