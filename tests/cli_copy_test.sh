#!/usr/bin/env bash
# CLI integration test for replication: init --replica-of, copy into a replica (packs verbatim,
# same snapshot ids), idempotence, selection, copy into an independent repository (re-encrypted,
# `original` set), copies of copies, check --read-data and restore + diff -r on the targets,
# kill -9 at many points of a copy followed by a resuming re-run, a damaged source pack, and the
# error cases (wrong source password, missing --from).
# Usage: tests/cli_copy_test.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init copy

SITE1="$WORK/site1" SITE2="$WORK/site2" SITE3="$WORK/site3"
printf 'pw-one\n' >"$WORK/pw1"
# lbN: run lifeboat against site N with its password (site 1 is every copy's default source).
lb1() { LIFEBOAT_PASSWORD=pw-one "$LIFEBOAT" --repo "$SITE1" "$@"; }
lb2() { LIFEBOAT_PASSWORD=pw-two LIFEBOAT_FROM_PASSWORD_FILE="$WORK/pw1" "$LIFEBOAT" --repo "$SITE2" "$@"; }
lb3() { LIFEBOAT_PASSWORD=pw-three "$LIFEBOAT" --repo "$SITE3" "$@"; }
ids() { "$@" snapshots --json 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort; }
# Pack files and their SHA-256, without temporary files a killed process may leave (*.tmp-*).
pack_sums() { (cd "$1/data" && find . -type f ! -name '*.*' -exec sha256sum {} + | sort); }
# The repository id (or replica_of) from `cat config`.
config_field() { "$@" | tr -d ' \n' | grep -o "\"$FIELD\":\"[0-9a-f]*\"" | cut -d'"' -f4; }

# --- sample data: several 1 MiB packs ---
SRC="$WORK/src"
mkdir -p "$SRC/a/b" "$SRC/empty"
head -c 3000000 /dev/urandom >"$SRC/a/random1.bin"
head -c 2000000 /dev/urandom >"$SRC/a/b/random2.bin"
for i in $(seq 1 20); do echo "file $i" >"$SRC/a/small-$i.txt"; done
seq 1 100000 >"$SRC/numbers.txt"
ln -s a/small-1.txt "$SRC/link"

expect_rc "init source" 0 lb1 init --pack-size 1
expect_rc "first backup" 0 lb1 backup --tag daily "$SRC"
echo changed >>"$SRC/a/small-2.txt"
head -c 1500000 /dev/urandom >"$SRC/a/new.bin"
expect_rc "second backup" 0 lb1 backup --tag daily "$SRC"

# --- replica ---
expect_rc "init --replica-of with a wrong source password" 12 \
  env LIFEBOAT_PASSWORD=pw-two LIFEBOAT_FROM_PASSWORD=wrong "$LIFEBOAT" --repo "$WORK/bad" init --replica-of "$SITE1"
check "the wrong password names the source" grep -q "source repository" "$WORK/err"
check "nothing was created" [ ! -e "$WORK/bad" ]
expect_rc "init --replica-of" 0 env LIFEBOAT_PASSWORD=pw-two LIFEBOAT_FROM_PASSWORD=pw-one \
  "$LIFEBOAT" --repo "$SITE2" init --replica-of "$SITE1" --json
source_id="$(FIELD=id config_field lb1 cat config)"
check "source id read" [ "${#source_id}" = 64 ]
check "init --json names the source" grep -q "\"replica_of\":\"$source_id\"" "$WORK/out"
check "replica config records replica_of" [ "$(FIELD=replica_of config_field lb2 cat config)" = "$source_id" ]
replica_id="$(FIELD=id config_field lb2 cat config)"
check "replica has its own id" [ "${#replica_id}" = 64 -a "$replica_id" != "$source_id" ]
expect_rc "replica does not open with the source's password" 12 \
  env LIFEBOAT_PASSWORD=pw-one "$LIFEBOAT" --repo "$SITE2" snapshots

expect_rc "copy without --from is a usage error" 2 lb2 copy
expect_rc "copy with a wrong source password" 12 \
  env LIFEBOAT_PASSWORD=pw-two LIFEBOAT_FROM_PASSWORD=nope "$LIFEBOAT" --repo "$SITE2" copy --from "$SITE1"
expect_rc "copy from a missing repository" 10 lb2 copy --from "$WORK/nowhere"

expect_rc "copy into the replica" 0 lb2 copy --from "$SITE1" --json
check "copy reports replica mode" grep -q '"mode":"replica"' "$WORK/out"
check "copy copied 2 snapshots" grep -q '"snapshots_copied":2' "$WORK/out"
check "same snapshot ids in source and replica" [ "$(ids lb1)" = "$(ids lb2)" ]
check "packs are byte-identical" [ "$(pack_sums "$SITE1")" = "$(pack_sums "$SITE2")" ]
expect_rc "second copy" 0 lb2 copy --from "$SITE1" --json
check "second copy copies nothing" grep -q '"snapshots_copied":0' "$WORK/out"
check "second copy skips both" grep -q '"snapshots_skipped":2' "$WORK/out"
check "second copy moves no pack" grep -q '"packs_copied":0' "$WORK/out"
expect_rc "check --read-data on the replica" 0 lb2 check --read-data
expect_rc "restore from the replica" 0 lb2 restore latest --target "$WORK/r2" --verify
check "replica restore identical to the source data" same_tree "$SRC" "$WORK/r2$SRC"

# Selection: only the new snapshot of another host; an explicit id.
expect_rc "backup of another host" 0 lb1 backup --host other --tag weekly "$SRC/a/b"
expect_rc "copy --host other" 0 lb2 copy --from "$SITE1" --host other --json
check "--host selects one snapshot" grep -q '"snapshots_selected":1' "$WORK/out"
check "--host copies it" grep -q '"snapshots_copied":1' "$WORK/out"
expect_rc "backup 4" 0 lb1 backup --tag monthly "$SRC/numbers.txt"
expect_rc "backup 5" 0 lb1 backup --tag monthly "$SRC/link"
id4="$(lb1 snapshots --tag monthly --json | grep -o '"id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
expect_rc "copy one id" 0 lb2 copy --from "$SITE1" "${id4:0:12}" --json
check "explicit id copies that snapshot" grep -q "\"source_id\":\"$id4\"" "$WORK/out"
check "explicit id copies only it" grep -q '"snapshots_copied":1' "$WORK/out"
check "replica has 4 snapshots" [ "$(ids lb2 | wc -l)" = 4 ]

# --- independent repository: re-encrypting copy, from the replica (a copy of a copy) ---
expect_rc "init independent repository" 0 lb3 init --pack-size 1
expect_rc "re-encrypting copy from the replica" 0 \
  env LIFEBOAT_FROM_PASSWORD_COMMAND="echo pw-two" bash -c "LIFEBOAT_PASSWORD=pw-three '$LIFEBOAT' --repo '$SITE3' copy --from '$SITE2' --json"
check "copy reports re-encrypt mode" grep -q '"mode":"re-encrypt"' "$WORK/out"
check "re-encrypting copy copied 4" grep -q '"snapshots_copied":4' "$WORK/out"
check "ids differ after re-encryption" [ -z "$(comm -12 <(ids lb2) <(ids lb3))" ]
lb3 snapshots --json >"$WORK/s3.json"
for id in $(ids lb2); do
  check "copy of $id names it as original" grep -q "\"original\":\"$id\"" "$WORK/s3.json"
done
expect_rc "copy from the first site into the third" 0 \
  env LIFEBOAT_FROM_PASSWORD=pw-one bash -c "LIFEBOAT_PASSWORD=pw-three '$LIFEBOAT' --repo '$SITE3' copy --from '$SITE1' --json"
check "identity carried through the chain: 4 skipped" grep -q '"snapshots_skipped":4' "$WORK/out"
check "identity carried through the chain: only the 5th snapshot is new" grep -q '"snapshots_copied":1' "$WORK/out"
expect_rc "check --read-data on the independent repository" 0 lb3 check --read-data
latest3="$(lb3 snapshots --json --tag daily | grep -o '"id":"[0-9a-f]*"' | tail -1 | cut -d'"' -f4)"
expect_rc "restore from the independent repository" 0 lb3 restore "$latest3" --target "$WORK/r3" --verify
check "re-encrypted restore identical to the source data" same_tree "$SRC" "$WORK/r3$SRC"

# --- kill -9 at many points of a copy: the re-run resumes and finishes ---
kills=0
for n in 2 3 4 5 6 8 10 13 16; do
  KILLREPO="$WORK/kill-$n"
  env LIFEBOAT_PASSWORD=pw-k LIFEBOAT_FROM_PASSWORD=pw-one "$LIFEBOAT" --repo "$KILLREPO" init --replica-of "$SITE1" >/dev/null 2>&1 || bad "init kill-$n"
  LIFEBOAT_FAULT_KILL_AFTER_OPS=$n LIFEBOAT_PASSWORD=pw-k LIFEBOAT_FROM_PASSWORD=pw-one \
    "$LIFEBOAT" --repo "$KILLREPO" copy --from "$SITE1" >/dev/null 2>&1; rc=$?
  [ "$rc" = 137 ] && kills=$((kills + 1))
  LIFEBOAT_PASSWORD=pw-k LIFEBOAT_FROM_PASSWORD=pw-one "$LIFEBOAT" --repo "$KILLREPO" copy --from "$SITE1" >/dev/null 2>"$WORK/err" \
    || bad "re-run after kill at op $n: $(head -c 300 "$WORK/err")"
  [ "$(ids lb1)" = "$(LIFEBOAT_PASSWORD=pw-k ids "$LIFEBOAT" --repo "$KILLREPO")" ] || bad "kill at op $n: snapshots differ after the re-run"
  [ "$(pack_sums "$SITE1")" = "$(pack_sums "$KILLREPO")" ] || bad "kill at op $n: packs differ after the re-run"
  LIFEBOAT_PASSWORD=pw-k "$LIFEBOAT" --repo "$KILLREPO" check --read-data >"$WORK/check.out" 2>&1 \
    || bad "check --read-data after kill at op $n: $(tail -3 "$WORK/check.out")"
done
check "kill -9 happened at several points ($kills)" [ "$kills" -ge 5 ]

# --- a damaged source pack is not copied ---
cp -a "$SITE1" "$WORK/damaged"
pack="$(find "$WORK/damaged/data" -type f | sort | head -1)"
printf '\xff' | dd of="$pack" bs=1 seek=100 conv=notrunc 2>/dev/null
# The first byte may already have been 0xff: flip another one too.
printf '\x00' | dd of="$pack" bs=1 seek=101 conv=notrunc 2>/dev/null
cmp -s "$pack" "$SITE1/data/$(basename "$(dirname "$pack")")/$(basename "$pack")" && bad "pack was not damaged"
expect_rc "init replica of the damaged repository" 0 env LIFEBOAT_PASSWORD=pw-d LIFEBOAT_FROM_PASSWORD=pw-one \
  "$LIFEBOAT" --repo "$WORK/from-damaged" init --replica-of "$WORK/damaged"
expect_rc "copy from a damaged source fails" 1 env LIFEBOAT_PASSWORD=pw-d LIFEBOAT_FROM_PASSWORD=pw-one \
  "$LIFEBOAT" --repo "$WORK/from-damaged" copy --from "$WORK/damaged"
check "the error names the damaged pack" grep -q "$(basename "$pack")" "$WORK/err"
check "the damaged pack was not copied" [ -z "$(find "$WORK/from-damaged/data" -name "$(basename "$pack")")" ]

lb_test_finish
