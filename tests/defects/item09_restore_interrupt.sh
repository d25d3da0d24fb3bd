#!/usr/bin/env bash
# Issue 11 item 9: SIGINT or SIGTERM during a restore was ignored until the whole restore ended.
# A restore of a few hundred MB is interrupted once it has started writing: it must exit 130
# within about a second or two, say that it was interrupted, keep only complete files (a file
# that was being written is removed), and a second restore must then complete the job.
# Usage: tests/defects/item09_restore_interrupt.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item09
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"

SRC="$WORK/src"
mkdir -p "$SRC/big" "$SRC/small"
for i in 1 2 3 4 5 6; do head -c 50M /dev/urandom >"$SRC/big/$i.bin"; done
for i in $(seq 1 300); do echo "small file $i" >"$SRC/small/$i.txt"; done
expect_rc "init" 0 lb init
expect_rc "backup" 0 lb backup "$SRC"

now_ms() { date +%s%3N; }
# interrupt SIGNAL TARGET [NAME]: starts a restore into TARGET, sends SIGNAL as soon as TARGET
# exists (or a file called NAME in it: the content is being written); sets RC and MS
# (milliseconds from the signal to the exit).
interrupt() {
  local sig=$1 target=$2 name=${3:-} pid sent _
  "$LIFEBOAT" restore latest --target "$target" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  for _ in $(seq 1 400); do
    if [ -z "$name" ]; then [ -d "$target" ] && break
    else [ -n "$(find "$target" -name "$name" 2>/dev/null)" ] && break; fi
    sleep 0.02
  done
  sent=$(now_ms)
  kill -s "$sig" "$pid"
  wait "$pid"
  RC=$?
  MS=$(($(now_ms) - sent))
}
# Every restored file is complete (equal to the source); prints how many there are.
complete_files() {
  local n=0 f
  while IFS= read -r f; do
    cmp -s "$f" "$SRC/${f#"$1$SRC/"}" || { echo "incomplete: $f" >&2; return 1; }
    n=$((n + 1))
  done < <(find "$1" -type f)
  echo "$n"
}
all_complete() { complete_files "$1" >/dev/null; }

interrupt INT "$WORK/r1" 1.bin
check_eq "SIGINT: exit 130" 130 "$RC"
check "SIGINT: stopped within 2 s (took $MS ms)" [ "$MS" -le 2000 ]
check_has "SIGINT: says the restore was interrupted" "$WORK/err" "restore interrupted"
n=$(complete_files "$WORK/r1")
check "SIGINT: only complete files are left ($n)" [ -n "$n" ]
check "SIGINT: the restore stopped early ($n of 306 files)" [ "${n:-306}" -lt 306 ]

interrupt TERM "$WORK/r2"
check_eq "SIGTERM: exit 130" 130 "$RC"
check "SIGTERM: stopped within 2 s (took $MS ms)" [ "$MS" -le 2000 ]
check "SIGTERM: only complete files are left" all_complete "$WORK/r2"

expect_rc "a second restore completes the first" 0 lb restore latest --target "$WORK/r1"
check "complete now" diff -r "$SRC" "$WORK/r1$SRC"

lb_test_finish
