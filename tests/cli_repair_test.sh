#!/usr/bin/env bash
# CLI repair test: damages a real local repository — one index file removed, one byte flipped in a
# pack under data/ — and runs check (exit 4) → repair index → repair packs → repair snapshots →
# check (exit 0) → restore of the repaired snapshot: every file whose data survived comes back
# bit-exact, and exactly the files repair snapshots named are missing. Also: check's subset by
# size, the unused-data information, dry runs that change nothing, and refused invocations.
# Usage: tests/cli_repair_test.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init repair
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="correct horse"
repo_listing() { (cd "$LIFEBOAT_REPOSITORY" && find . -type f -not -path './locks/*' | sort); }

# --- sample data: ~9 MiB in several files; 1 MiB packs, so data lands in several packs ---
SRC="$WORK/src"
mkdir -p "$SRC/docs" "$SRC/media"
head -c 3000000 /dev/urandom >"$SRC/media/one.bin"
head -c 3000000 /dev/urandom >"$SRC/media/two.bin"
head -c 3000000 /dev/urandom >"$SRC/media/three.bin"
for i in $(seq 1 30); do echo "document $i $RANDOM" >"$SRC/docs/doc-$i.txt"; done

expect_rc "init" 0 lb init --pack-size 1
expect_rc "backup" 0 lb backup "$SRC"
expect_rc "healthy check" 0 lb check --read-data
check "healthy check says so" grep -q "no errors were found" "$WORK/out"
check "healthy check has no unused data" bash -c "! grep -q '^info:' '$WORK/out'"

# check --read-data-subset SIZE.
lb check --json --read-data-subset 1K >"$WORK/sub.json" 2>"$WORK/err"; rc=$?
check "subset 1K exits 0" [ "$rc" = 0 ]
check "subset 1K reads one pack" grep -q '"packs_read":1,' "$WORK/sub.json"
lb check --json --read-data-subset 1.5GiB >"$WORK/all.json" 2>"$WORK/err"
packs="$(grep -o '"packs":[0-9]*' "$WORK/all.json" | head -1 | cut -d: -f2)"
check "subset 1.5GiB reads all $packs packs" grep -q "\"packs_read\":$packs," "$WORK/all.json"
check "several packs to damage" [ "${packs:-0}" -ge 5 ]
# A number without a unit is bytes, as for every size (doc/units.md): 500 bytes is one pack.
lb check --json --read-data-subset 500 >"$WORK/sub.json" 2>"$WORK/err"; rc=$?
check "subset 500 (bytes) exits 0" [ "$rc" = 0 ]
check "subset 500 (bytes) reads one pack" grep -q '"packs_read":1,' "$WORK/sub.json"
expect_rc "a negative subset size is refused" 2 lb check --read-data-subset -1
check_has "subset error says why" "$WORK/err" 'invalid size "-1": sizes cannot be negative'
check "subset error explains sizes" grep -q "500M" "$WORK/err"
expect_rc "a zero subset size is refused" 2 lb check --read-data-subset 0K
check_has "zero subset error says why" "$WORK/err" "at least 1 byte"

# --- damage: one index file removed, one byte flipped inside a data blob ---
rm "$(find "$LIFEBOAT_REPOSITORY/index" -type f | sort | head -1)"
# The largest pack holds file data (tree packs are small); its blobs start at offset 0.
pack="$(find "$LIFEBOAT_REPOSITORY/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)"
pack_id="$(basename "$pack")"
printf '\xff' | dd of="$pack" bs=1 seek=5000 conv=notrunc status=none
cmp -s <(head -c 5001 "$pack" | tail -c 1) <(printf '\xff') || bad "byte not flipped"

expect_rc "check finds the damage" 4 lb check
check "check names repair index" grep -q "repair index" "$WORK/err"

# --- repair index ---
expect_rc "repair index without the lock is refused" 2 lb --no-lock repair index
before="$(repo_listing)"
expect_rc "repair index --dry-run" 0 lb repair index --dry-run
check "dry run changed nothing" [ "$before" = "$(repo_listing)" ]
expect_rc "repair index" 0 lb repair index
check "repair index reports the packs" grep -q "indexed" "$WORK/out"
check "one index file left" [ "$(find "$LIFEBOAT_REPOSITORY/index" -type f | wc -l)" = 1 ]
expect_rc "structure is sound again" 0 lb check
expect_rc "read-data still finds the flipped byte" 4 lb check --read-data
check "check names the damaged pack" grep -q "pack $pack_id" "$WORK/out"
check "check suggests repair packs" grep -q "repair packs" "$WORK/err"

# --- repair packs ---
expect_rc "repair packs with a bad id" 2 lb repair packs not-a-pack
before="$(repo_listing)"
expect_rc "repair packs --dry-run" 0 lb repair packs --dry-run "$pack_id"
check "dry run changed nothing" [ "$before" = "$(repo_listing)" ]
lb repair packs --json >"$WORK/packs.json" 2>"$WORK/err"; rc=$?
check "repair packs (damaged packs found by check) exits 0" [ "$rc" = 0 ]
check "repair packs repaired the flipped pack" grep -q "\"pack\":\"$pack_id\"" "$WORK/packs.json"
check "repair packs lost a blob" grep -q '"blobs_lost":[1-9]' "$WORK/packs.json"
check "the damaged pack is gone" [ ! -e "$pack" ]
expect_rc "check now names the lost files" 4 lb check --read-data
check "the lost files are named" grep -q "affects snapshot" "$WORK/out"
check "check suggests repair snapshots" grep -q "repair snapshots" "$WORK/err"

# --- repair snapshots ---
before="$(repo_listing)"
expect_rc "repair snapshots --dry-run" 0 lb repair snapshots --dry-run
check "dry run changed nothing" [ "$before" = "$(repo_listing)" ]
lb repair snapshots --forget --json >"$WORK/snaps.json" 2>"$WORK/err"; rc=$?
check "repair snapshots --forget exits 0" [ "$rc" = 0 ]
check "one snapshot written" grep -q '"snapshots_written":1' "$WORK/snaps.json"
check "one snapshot forgotten" grep -q '"snapshots_forgotten":1' "$WORK/snaps.json"
check "one snapshot left" [ "$(snapshot_count)" = 1 ]
lb snapshots --json >"$WORK/list.json" 2>/dev/null
check "it is tagged repaired" grep -q '"tags":\["repaired"\]' "$WORK/list.json"
check "it names the snapshot it replaces" grep -q '"repaired_from":"[0-9a-f]\{64\}"' "$WORK/list.json"
expect_rc "check is healthy after the repairs" 0 lb check --read-data
check "unused data is information, not an error" grep -q "^info: .*prune would remove them" "$WORK/out"
lb check --json >"$WORK/final.json" 2>/dev/null
check "check --json reports unused blobs" grep -q '"unused":{"blob_bytes":[1-9]' "$WORK/final.json"

# --- restore the repaired snapshot ---
expect_rc "restore the repaired snapshot" 0 lb restore latest --target "$WORK/restored" --verify
lost_paths="$(grep -o '"lost":\[[^]]*\]' "$WORK/snaps.json")"
restored=0 missing=0
for f in $(cd "$SRC" && find . -type f | sed 's|^\./||'); do
  if [ -e "$WORK/restored$SRC/$f" ]; then
    restored=$((restored + 1))
    cmp -s "$SRC/$f" "$WORK/restored$SRC/$f" || bad "restored $f differs from the source"
  else
    missing=$((missing + 1))
    case "$lost_paths" in
      *"$SRC/$f: file dropped"*) ;;
      *) bad "$f is missing but repair snapshots did not name it" ;;
    esac
  fi
done
check "some files were lost ($missing)" [ "$missing" -ge 1 ]
check "the other files were restored ($restored)" [ "$restored" -ge 30 ]
check "every named file is really missing" [ "$(grep -o 'file dropped' "$WORK/snaps.json" | wc -l)" = "$missing" ]

lb_test_finish
