#!/usr/bin/env bash
# CLI test of maintenance on an S3 site (a Ceph RADOS Gateway on 127.0.0.1, started by
# tests/servers/run_with.sh rgw; ctest does that):
#  - Object Lock (-o s3.object-lock-days=1, S3's shortest lock, so nothing written here can go):
#    forget names the locked snapshot up front, keeps it and exits 3 with the date in text and
#    JSON; prune keeps the locked packs, exits 3, says until when; the repository stays healthy;
#  - repair uploads aborts an unfinished multipart upload left under the repository's prefix
#    (and says there is nothing to do on a local repository).
# Usage: bash tests/servers/run_with.sh rgw -- bash tests/cli_s3_maintenance_test.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init s3-maintenance
if [ -z "${LIFEBOAT_TEST_S3_ENDPOINT:-}" ]; then
  echo "LIFEBOAT_TEST_S3_ENDPOINT is not set: run this test through tests/servers/run_with.sh rgw" >&2
  exit 1
fi
export LIFEBOAT_PASSWORD="correct horse"
BUCKET="lifeboat-cli-$$"
export LIFEBOAT_REPOSITORY="s3:$LIFEBOAT_TEST_S3_ENDPOINT/$BUCKET/repo"
LOCK=(-o s3.object-lock-days=1)
snapshot_ids() { lb snapshots --json 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4; }

SRC="$WORK/src"
mkdir -p "$SRC"
for i in 1 2 3; do head -c 400000 /dev/urandom >"$SRC/a$i"; done
expect_rc "init with Object Lock" 0 lb "${LOCK[@]}" init --pack-size 1
expect_rc "first backup" 0 lb "${LOCK[@]}" backup "$SRC"
first="$(snapshot_ids | head -1)"
rm -f "$SRC"/a*
for i in 1 2 3; do head -c 400000 /dev/urandom >"$SRC/b$i"; done
expect_rc "second backup (the first one's lock file is gone: no wait)" 0 lb "${LOCK[@]}" backup "$SRC"

# forget: the first snapshot is locked for a day.
lb "${LOCK[@]}" forget --keep-last 1 >"$WORK/forget.out" 2>"$WORK/forget.err"
check_eq "forget keeping a locked snapshot exits 3" 3 "$?"
check_has "forget announces the lock" "$WORK/forget.out" "locks every object for 1 days"
check_has "forget names the locked snapshot up front" "$WORK/forget.out" "snapshot ${first:0:8} is locked (Object Lock) until"
check_has "forget's summary counts it" "$WORK/forget.out" "removed 0 snapshots, 1 kept, 1 locked until"
check_has "forget warns on stderr" "$WORK/forget.err" "locked (Object Lock) until"
check_eq "both snapshots are still there" 2 "$(snapshot_ids | wc -l)"
lb "${LOCK[@]}" forget --keep-last 1 --json >"$WORK/forget.json" 2>/dev/null
check_eq "forget --json exits 3 too" 3 "$?"
check_has "forget --json: locked count" "$WORK/forget.json" '"locked":1'
check_has "forget --json: the snapshot's lock end" "$WORK/forget.json" '"locked_until":"20'
check_has "forget --json: the site's lock" "$WORK/forget.json" '"object_lock":{"days":1,"mode":"GOVERNANCE"}'
lb "${LOCK[@]}" forget --keep-last 1 --dry-run >"$WORK/forget-dry.out" 2>&1
check_eq "a dry run exits 0" 0 "$?"
check_has "a dry run says what would stay" "$WORK/forget-dry.out" "1 locked until"

# prune: hide the first snapshot as a client unaware of the lock would (a delete marker), so
# that its data is unused but locked.
expect_rc "forget without the lock option hides the snapshot" 0 lb forget "$first"
lb "${LOCK[@]}" prune --max-unused 0 >"$WORK/prune.out" 2>"$WORK/prune.err"
check_eq "prune keeping locked packs exits 3" 3 "$?"
check_has "prune says what it kept" "$WORK/prune.out" "are locked (Object Lock) until"
check_has "prune warns it will be done later" "$WORK/prune.err" "will be removed by a prune after that date"
lb "${LOCK[@]}" prune --max-unused 0 --json >"$WORK/prune.json" 2>/dev/null
check_eq "prune --json exits 3" 3 "$?"
check_has "prune --json: locked_until" "$WORK/prune.json" '"locked_until":"20'
check_lacks "prune --json: some packs locked" "$WORK/prune.json" '"locked_packs":0'
check_has "prune --json: nothing deleted" "$WORK/prune.json" '"delete_packs":0'
expect_rc "a dry run exits 0" 0 lb "${LOCK[@]}" prune --dry-run --max-unused 0
expect_rc "check --read-data is clean" 0 lb "${LOCK[@]}" check --read-data
second="$(snapshot_ids | head -1)"
expect_rc "the kept snapshot restores" 0 lb "${LOCK[@]}" restore "$second" --target "$WORK/rs"
check "restored as backed up" same_tree "$SRC" "$WORK/rs$SRC"

# repair uploads: an upload started under the repository's prefix and never completed.
start_upload() {
  curl -sS -f --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    -X POST "$LIFEBOAT_TEST_S3_ENDPOINT/$BUCKET/repo/data/00/$1?uploads=" >/dev/null
}
check "an unfinished upload is left behind" start_upload leftover1
check "and another" start_upload leftover2
lb repair uploads --json >"$WORK/uploads.json" 2>"$WORK/uploads.err"
check_eq "repair uploads exits 0" 0 "$?"
check_has "repair uploads --json: two aborted" "$WORK/uploads.json" '"aborted":2'
lb repair uploads >"$WORK/uploads.out" 2>&1
check_eq "a second run exits 0" 0 "$?"
check_has "a second run finds none" "$WORK/uploads.out" "no unfinished uploads in"
expect_rc "local repository: init" 0 lb --repo "$WORK/local" init
lb --repo "$WORK/local" repair uploads >"$WORK/local.out" 2>&1
check_eq "repair uploads on a local repository exits 0" 0 "$?"
check_has "and says there is nothing to do" "$WORK/local.out" "nothing to do"
lb --repo "$WORK/local" repair uploads --json >"$WORK/local.json" 2>&1
check_has "--json says it does not apply" "$WORK/local.json" '"applies":false'

lb_test_finish
