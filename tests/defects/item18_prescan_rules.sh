#!/usr/bin/env bash
# Issue 11 item 18: the progress pre-scan ignored --exclude-caches and --one-file-system (so
# `backup --one-file-system /` scanned /proc and /sys first). The scan and the walk now share
# one set of rules: the totals the scan reports are exactly what the backup processes.
# Usage: tests/defects/item18_prescan_rules.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item18
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
expect_rc "init" 0 lb init --pack-size 1

SRC="$WORK/src"
mkdir -p "$SRC/cache" "$SRC/work"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n' >"$SRC/cache/CACHEDIR.TAG"
for i in $(seq 1 200); do echo "cached $i" >"$SRC/cache/c$i"; done
for i in $(seq 1 5); do echo "work $i" >"$SRC/work/w$i"; done
echo "left out by name" >"$SRC/work/x.tmp"
head -c 30000000 /dev/urandom >"$SRC/work/big.bin"  # time for the scan to finish first

# last_status FILE KEY: KEY's value in the last status message of a --json backup.
last_status() { grep '"message_type":"status"' "$1" | tail -1 | grep -o "\"$2\":[a-z0-9]*" | cut -d: -f2; }
summary() { grep '"message_type":"summary"' "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }

expect_rc "backup --json --exclude-caches" 0 lb --json backup --exclude-caches --exclude '*.tmp' "$SRC"
check_eq "the scan finished" true "$(last_status "$WORK/out" scan_finished)"
check_eq "7 files processed (5 + big.bin + CACHEDIR.TAG)" 7 "$(summary "$WORK/out" total_files_processed)"
check_eq "the scan counted the same files" "$(summary "$WORK/out" total_files_processed)" \
  "$(last_status "$WORK/out" total_files)"
check_eq "and the same bytes" "$(summary "$WORK/out" total_bytes_processed)" \
  "$(last_status "$WORK/out" total_bytes)"

# --one-file-system: /dev/shm is another filesystem than /dev on most Linux systems.
if [ "$(stat -c %d /dev 2>/dev/null)" != "$(stat -c %d /dev/shm 2>/dev/null)" ] &&
   [ -w /dev/shm ]; then
  MARK="/dev/shm/lifeboat-item18-$$"
  on_exit() { rm -f "$MARK"; }
  head -c 30000000 /dev/urandom >"$MARK"
  expect_rc "dry run of /dev with --one-file-system" 0 \
    lb --json backup --dry-run --one-file-system /dev "$SRC/work/big.bin"
  check_eq "the scan finished" true "$(last_status "$WORK/out" scan_finished)"
  check_eq "the scan stayed on /dev's filesystem as the backup did" \
    "$(summary "$WORK/out" total_bytes_processed)" "$(last_status "$WORK/out" total_bytes)"
else
  echo "skip - /dev/shm is not a separate writable filesystem here"
fi
lb_test_finish
