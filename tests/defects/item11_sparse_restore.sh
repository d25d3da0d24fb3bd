#!/usr/bin/env bash
# Issue 11 item 11: sparse files were restored dense, because only all-zero chunks became holes.
# A 256 MiB image with data scattered every 1.25 MiB (5%), and a 256 MiB file with two 1 MiB
# islands, must restore (and --verify) without taking more disk than the originals: every
# all-zero file-system block is a hole, inside chunks too. A file that was written dense with
# zeros is restored with holes as well (the content is the same; doc/design.md, Restore).
# Usage: tests/defects/item11_sparse_restore.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item11
export LIFEBOAT_REPOSITORY="$WORK/repo" LIFEBOAT_PASSWORD="correct horse"
# lib.sh's same_tree passes on differing trees under pipefail (diff's status wins): compare here.
identical() { diff -r --no-dereference "$1" "$2" >/dev/null 2>&1; }

# scattered FILE SIZE_MIB STEP_KIB ISLAND_KIB: random islands of ISLAND KiB every STEP KiB.
scattered() {
  local f=$1 size=$2 step=$3 island=$4 i
  truncate -s "${size}M" "$f"
  local n=$((size * 1024 / step))
  head -c $((n * island * 1024)) /dev/urandom >"$f.rnd"
  for ((i = 0; i < n; i++)); do
    dd of="$f" bs=1K seek=$((i * step)) count="$island" conv=notrunc iflag=fullblock status=none
  done <"$f.rnd"
  rm -f "$f.rnd"
}
kib() { du -k "$1" | cut -f1; }
# Allowed above the original: the file system's own bookkeeping (ext4 counts extent-tree blocks
# in st_blocks, and parallel writers may split an island into two extents): 1% + 64 KiB.
not_grown() { [ "$2" -le $(($1 + $1 / 100 + 64)) ]; }

SRC="$WORK/src"
mkdir -p "$SRC"
scattered "$SRC/vm.img" 256 1280 64
truncate -s 256M "$SRC/islands.img"
head -c 1M /dev/urandom | dd of="$SRC/islands.img" bs=1M seek=50 conv=notrunc status=none
head -c 1M /dev/urandom | dd of="$SRC/islands.img" bs=1M seek=200 conv=notrunc status=none
# Not sparse on disk: zeros written out. Restored with holes (same bytes, less disk).
{ head -c 1M /dev/urandom; head -c 8M /dev/zero; head -c 4096 /dev/urandom; } >"$SRC/dense-zeros.bin"
vm_kib=$(kib "$SRC/vm.img") islands_kib=$(kib "$SRC/islands.img")
check "the test images are sparse" [ "$vm_kib" -lt 20000 ] && [ "$islands_kib" -lt 4096 ]

expect_rc "init" 0 lb init --pack-size 1
expect_rc "backup" 0 lb backup "$SRC"
# --verify reads every restored file back: the figures below are taken after it.
expect_rc "restore --verify" 0 lb restore latest --target "$WORK/r" --verify
R="$WORK/r$SRC"
check "restored content identical" identical "$SRC" "$R"
echo "    vm.img: $vm_kib KiB before, $(kib "$R/vm.img") KiB restored;" \
  "islands.img: $islands_kib KiB before, $(kib "$R/islands.img") KiB restored"
check "scattered image did not grow ($vm_kib -> $(kib "$R/vm.img") KiB)" \
  not_grown "$vm_kib" "$(kib "$R/vm.img")"
check "two islands did not grow ($islands_kib -> $(kib "$R/islands.img") KiB)" \
  not_grown "$islands_kib" "$(kib "$R/islands.img")"
check "zeros written dense come back as holes ($(kib "$R/dense-zeros.bin") KiB)" \
  [ "$(kib "$R/dense-zeros.bin")" -le 1200 ]
check "sizes kept" [ "$(stat -c %s "$R/vm.img")" = $((256 << 20)) ]

lb_test_finish
