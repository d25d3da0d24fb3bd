#!/usr/bin/env bash
# Checks the benchmark dataset helpers: same arguments give the same bytes, and version 2 differs
# from version 1 the way bench/README.md says (1% of blocks/files changed, 64 KiB inserted, ...).
#
#   bench/helpers_test.sh build/release/bench/lifeboat_bench_make_image \
#     build/release/bench/lifeboat_bench_mutate_tree
set -euo pipefail

make_image=${1:?usage: helpers_test.sh MAKE_IMAGE_BIN MUTATE_TREE_BIN}
mutate_tree=${2:?usage: helpers_test.sh MAKE_IMAGE_BIN MUTATE_TREE_BIN}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

check() {  # check DESCRIPTION COMMAND...: runs COMMAND, records a failure if it fails.
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    failures=$((failures + 1))
  fi
}
in_range() { [[ $1 -ge $2 && $1 -le $3 ]]; }  # in_range VALUE LOW HIGH

# --- make_image -------------------------------------------------------------------------------
size=$((64 * 1024 * 1024))
"$make_image" --size 64M --seed 7 "$tmp/a1.img" 2>/dev/null
"$make_image" --size 64M --seed 7 "$tmp/a1again.img" 2>/dev/null
"$make_image" --size 64M --seed 8 "$tmp/b1.img" 2>/dev/null
"$make_image" --size 64M --seed 7 --variant 2 "$tmp/a2.img" 2>/dev/null
"$make_image" --size 64M --seed 7 --variant 2 "$tmp/a2again.img" 2>/dev/null

check "image: same seed gives identical v1" cmp -s "$tmp/a1.img" "$tmp/a1again.img"
check "image: same seed gives identical v2" cmp -s "$tmp/a2.img" "$tmp/a2again.img"
check "image: another seed gives other bytes" bash -c "! cmp -s '$tmp/a1.img' '$tmp/b1.img'"
check "image: v1 has the requested size" test "$(stat -c %s "$tmp/a1.img")" -eq "$size"
check "image: v2 is 64 KiB larger" test "$(stat -c %s "$tmp/a2.img")" -eq $((size + 65536))

nonzero=$(tr -d '\000' <"$tmp/a1.img" | wc -c)
zero_percent=$(((size - nonzero) * 100 / size))
check "image: 10..70% zeros (zero runs present, got $zero_percent%)" in_range "$zero_percent" 10 70
compressed=$(gzip -1 -c <"$tmp/a1.img" | wc -c)
check "image: non-zero runs are incompressible" test "$compressed" -gt $((nonzero * 99 / 100))

# Realign v2 with v1 by cutting out the inserted 64 KiB at 1 MiB, then count changed 4 KiB blocks.
{ head -c $((1024 * 1024)) "$tmp/a2.img"; tail -c +$((1024 * 1024 + 65536 + 1)) "$tmp/a2.img"; } \
  >"$tmp/a2cut.img"
changed_blocks=$({ cmp -l "$tmp/a1.img" "$tmp/a2cut.img" || true; } | awk '{ print int(($1 - 1) / 4096) }' |
  sort -u | wc -l)
total_blocks=$((size / 4096))
check "image: ~1% of 4 KiB blocks rewritten ($changed_blocks of $total_blocks)" \
  in_range "$changed_blocks" $((total_blocks * 6 / 1000)) $((total_blocks * 14 / 1000))
# Extents: about as many blocks change, but in runs of consecutive blocks.
"$make_image" --size 64M --seed 7 --variant 2 --extent-blocks 32 "$tmp/a2ext.img" 2>/dev/null
{ head -c $((1024 * 1024)) "$tmp/a2ext.img"; tail -c +$((1024 * 1024 + 65536 + 1)) "$tmp/a2ext.img"; } \
  >"$tmp/a2cut.img"
read -r ext_blocks ext_runs < <({ cmp -l "$tmp/a1.img" "$tmp/a2cut.img" || true; } |
  awk '{ b = int(($1 - 1) / 4096); if (!(b in seen)) { seen[b]; n++; if (!((b - 1) in seen)) r++ } }
       END { print n + 0, r + 0 }')
check "image: extents rewrite ~1% of blocks ($ext_blocks of $total_blocks)" \
  in_range "$ext_blocks" $((total_blocks * 4 / 1000)) $((total_blocks * 20 / 1000))
check "image: extents are runs of blocks ($ext_runs runs)" test $((ext_runs * 4)) -lt "$ext_blocks"
inserted_nonzero=$(dd if="$tmp/a2.img" bs=64K skip=16 count=1 status=none | tr -d '\000' | wc -c)
check "image: the inserted 64 KiB is random data" test "$inserted_nonzero" -gt 65000
check "image: rejects a size that is not a multiple of 4K" \
  bash -c "! '$make_image' --size 4097 '$tmp/bad.img' 2>/dev/null"

# --- mutate_tree ------------------------------------------------------------------------------
mkdir -p "$tmp/tree/sub/deeper"
for i in $(seq 1 2000); do
  dir="$tmp/tree/d$((i % 13))"
  [[ $((i % 5)) -eq 0 ]] && dir="$tmp/tree/sub/deeper"
  mkdir -p "$dir"
  printf 'line one of file %d\nline two of file %d\n' "$i" "$i" >"$dir/f$i.c"
done
: >"$tmp/tree/empty"
ln -s d1 "$tmp/tree/link"
for copy in m1 m2 m3; do cp -a "$tmp/tree" "$tmp/$copy"; done
"$mutate_tree" --seed 3 "$tmp/m1" 2>/dev/null
"$mutate_tree" --seed 3 "$tmp/m2" 2>/dev/null
"$mutate_tree" --seed 4 "$tmp/m3" 2>/dev/null

check "tree: same seed gives identical trees" diff -r --no-dereference -q "$tmp/m1" "$tmp/m2"
check "tree: another seed gives another tree" \
  bash -c "! diff -r --no-dereference -q '$tmp/m1' '$tmp/m3' >/dev/null"
changes=$(diff -r --no-dereference -q "$tmp/tree" "$tmp/m1" || true)
files=2001  # 2000 .c files + "empty"; the symlink is not a regular file
edited=$(grep -c '^Files .* differ$' <<<"$changes" || true)
deleted=$(grep -c "^Only in $tmp/tree" <<<"$changes" || true)
added=$(grep -c "^Only in $tmp/m1.*\.v2copy\$" <<<"$changes" || true)
check "tree: 1% of files edited ($edited)" test "$edited" -eq $((files * 10 / 1000))
check "tree: 0.2% of files deleted ($deleted)" test "$deleted" -eq $((files * 2 / 1000))
check "tree: 0.2% edited copies added ($added)" test "$added" -eq $((files * 2 / 1000))
check "tree: nothing else changed" test "$(wc -l <<<"$changes")" -eq $((edited + deleted + added))
check "tree: symlink left alone" test "$(readlink "$tmp/m1/link")" = d1

grow_ok=1
while read -r path; do
  rel=${path#"$tmp/tree/"}
  grow=$(($(stat -c %s "$tmp/m1/$rel") - $(stat -c %s "$tmp/tree/$rel")))
  in_range "$grow" 1 32 || grow_ok=0
done < <(awk '/^Files .* differ$/ { print $2 }' <<<"$changes")
check "tree: each edit inserts 1..32 bytes" test "$grow_ok" -eq 1
copy_ok=1
while read -r copy; do
  original=${copy%.v2copy}
  cmp -s "$copy" "$original" && copy_ok=0
done < <(find "$tmp/m1" -name '*.v2copy')
check "tree: added copies are edited, not verbatim" test "$copy_ok" -eq 1
check "tree: refuses to mutate a missing directory" \
  bash -c "! '$mutate_tree' '$tmp/missing' 2>/dev/null"

# Successive versions of one tree (bench/lifecycle.sh): each mutation names its copies with its
# own --copy-suffix, so a file picked for a copy twice does not collide; reusing a suffix does.
cp -a "$tmp/m1" "$tmp/m1again"
"$mutate_tree" --seed 5 --copy-suffix .v3copy "$tmp/m1again" 2>/dev/null
v3copies=$(find "$tmp/m1again" -name '*.v3copy' | wc -l)
check "tree: --copy-suffix names the new copies ($v3copies)" \
  test "$v3copies" -eq $(((files - deleted + added) * 2 / 1000))
check "tree: --copy-suffix leaves the earlier copies" \
  test "$(find "$tmp/m1again" -name '*.v2copy' | wc -l)" -eq "$added"
cp -a "$tmp/m1" "$tmp/m1same"
check "tree: refuses to write a copy over an existing file" \
  bash -c "! '$mutate_tree' --seed 3 --add-permille 1000 --edit-permille 0 --delete-permille 0 \
    '$tmp/m1same' 2>/dev/null"
check "tree: rejects a --copy-suffix with a slash" \
  bash -c "! '$mutate_tree' --copy-suffix a/b '$tmp/m1same' 2>/dev/null"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
