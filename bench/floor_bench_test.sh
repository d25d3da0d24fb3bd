#!/usr/bin/env bash
# Checks that floor_bench counts what it claims: every byte of a new tree is read and stored once
# (a duplicate file adds no new chunk), nothing is read when the previous version is identical,
# and only the changed file is read when one file changed.
#
#   bench/floor_bench_test.sh build/release/bench/floor_bench
set -euo pipefail

floor_bench=${1:?usage: floor_bench_test.sh FLOOR_BENCH_BIN}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

check() {  # check DESCRIPTION WANT GOT
  if [[ $2 == "$3" ]]; then
    echo "ok   $1"
  else
    echo "FAIL $1: got '$3', want '$2'"
    failures=$((failures + 1))
  fi
}
field() {  # field REPORT LABEL N: the Nth word after LABEL on its line
  awk -v label="$2" -v n="$3" '$1 == label { print $(n + 1) }' <<<"$1"
}

mkdir -p "$tmp/v1/sub"
head -c 3000000 /dev/urandom >"$tmp/v1/a.bin"
cp "$tmp/v1/a.bin" "$tmp/v1/sub/same.bin"
printf 'small\n' >"$tmp/v1/b.txt"
cp -a "$tmp/v1" "$tmp/v2"
head -c 100000 /dev/urandom >"$tmp/v2/b.txt"  # changed (size differs)

out=$("$floor_bench" "$tmp/v1")
check "v1: three files" 3 "$(field "$out" files 1 | tr -d ,)"
check "v1: every byte read" "5.7" "$(field "$out" data 2)"  # 2 x 3000000 + 6 bytes = 5.7 MiB
check "v1: the copy adds nothing new" "2.9" "$(field "$out" data 10)"

out=$("$floor_bench" --known "$tmp/v1" "$tmp/v1")
check "same tree again: nothing read" "0.0" "$(field "$out" data 2)"
check "same tree again: all unchanged" 3 "$(field "$out" files 2)"

out=$("$floor_bench" --known "$tmp/v1" "$tmp/v2")
check "v2: two unchanged" 2 "$(field "$out" files 2)"
check "v2: only the changed file read" "0.1" "$(field "$out" data 2)"

rc=0
"$floor_bench" --level 0 "$tmp/v1" >/dev/null 2>&1 || rc=$?
check "bad level is refused (exit 2)" 2 "$rc"
rc=0
"$floor_bench" "$tmp/missing" >/dev/null 2>"$tmp/err" || rc=$?
check "a missing path fails (exit 1)" 1 "$rc"
check "and names the path" 1 "$(grep -c "$tmp/missing" "$tmp/err")"

[[ $failures -eq 0 ]] && echo "all floor_bench checks passed"
exit $((failures > 0))
