#!/usr/bin/env bash
# CLI integration test of remote sites under faults (issue 13), against real servers on loopback:
# Ceph RADOS Gateway behind the fault proxy (tests/servers/fault_proxy.py), and rclone's REST
# server.
#  a. about 10% of the requests fail transiently (503 SlowDown, connections reset mid-transfer):
#     a backup of 300 files / 30 MB completes, and check --read-data and restore --verify, under
#     the same faults, are clean;
#  b. radosgw is killed mid-backup and started again 5 s later on the same port: the backup
#     waits (RetryBackend) and completes, and the repository checks clean;
#  c. the site goes down mid-backup and stays down: the backup fails within a bound (measured and
#     checked), its error names the site and the reason, no snapshot is written; once the site
#     is back, a re-run completes and sends far less than the whole (the packs that had arrived
#     are reused);
#  d. several sites (backup --also-to): a local primary, a REST replica, and an S3 replica behind
#     the proxy that goes down mid-backup (after some of its packs had arrived): the snapshot
#     lands on the other two, exit 3, the --json "sites" array names the failed site with its
#     error; `copy --from A --repo C` makes it identical (same snapshot ids); after another
#     failed run, the next `backup --also-to` brings it up to date first; every site checks clean.
# No secret appears in any output (as in cli_remote_test.sh).
# Permanent errors (wrong keys, missing bucket, unknown host key) are in cli_remote_test.sh.
#
#   bash tests/servers/run_with.sh rgw proxy rest -- bash tests/cli_remote_fault_test.sh lifeboat_testing
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat_testing (through tests/servers/run_with.sh rgw proxy rest)}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$here/lib.sh"
for v in LIFEBOAT_TEST_S3_ENDPOINT LIFEBOAT_TEST_PROXY_PORT LIFEBOAT_TEST_PROXY_CONTROL_PORT \
  LIFEBOAT_TEST_RGW_DIR LIFEBOAT_TEST_REST_URL; do
  if [ -z "${!v:-}" ]; then
    echo "FAIL - $v is not set: run this test through tests/servers/run_with.sh rgw proxy rest --" >&2
    exit 1
  fi
done
# proxy_control; kill_radosgw and restart_radosgw (with wait_port from servers/lib.sh).
# shellcheck source=tests/servers/lib.sh
source "$here/servers/lib.sh"
# shellcheck source=tests/servers/proxy.sh
source "$here/servers/proxy.sh"
# shellcheck source=tests/servers/rgw.sh
source "$here/servers/rgw.sh"
lb_test_init remote-fault
on_exit() {
  # Leave the servers as run_with.sh started them, whatever happened: proxy passing, radosgw up.
  proxy_control pass >/dev/null 2>&1
  if [ ! -f "$LIFEBOAT_TEST_RGW_DIR/rgw.pid" ]; then restart_radosgw "$LIFEBOAT_TEST_RGW_DIR"; fi
}

REPO_PW="Repo-Secret-pw-c0ffee42"
export LIFEBOAT_PASSWORD="$REPO_PW"
SECRETS=("$REPO_PW" "$AWS_SECRET_ACCESS_KEY" "replica-pw-b-51d3" "replica-pw-c-9e07")
LOGS="$WORK/logs"
mkdir -p "$LOGS"
runs=0
# keep_output NAME: keeps $WORK/out and $WORK/err for the secret scan at the end.
keep_output() {
  runs=$((runs + 1))
  cp "$WORK/out" "$LOGS/$runs.out"
  cp "$WORK/err" "$LOGS/$runs.err"
  echo "$1" >"$LOGS/$runs.name"
}
run() { expect_rc "$@"; keep_output "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# json_field FIELD FILE: the first numeric "FIELD":N in the summary line of FILE.
json_field() { grep '"message_type":"summary"' "$2" | grep -o "\"$1\":[0-9]*" | head -n 1 | cut -d: -f2; }
snapshot_ids() { grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4 | sort; }
# data_objects BUCKET: how many packs (keys under */data/) RGW holds in BUCKET, asked directly
# (radosgw-admin), whatever the proxy does.
data_objects() {
  timeout 20 radosgw-admin -c "$LIFEBOAT_TEST_RGW_DIR/ceph.conf" bucket list --bucket "$1" 2>/dev/null |
    grep -c '"name": "[^"]*/data/'
}
# data_bytes BUCKET: the bytes of those packs.
data_bytes() {
  timeout 20 radosgw-admin -c "$LIFEBOAT_TEST_RGW_DIR/ceph.conf" bucket list --bucket "$1" 2>/dev/null |
    python3 -c 'import json, sys; print(sum(o["meta"]["size"] for o in json.load(sys.stdin) if "/data/" in o["name"]))'
}
# wait_for_packs BUCKET N: waits (up to 60 s) until BUCKET holds at least N packs.
wait_for_packs() {
  local _
  for _ in $(seq 300); do
    [ "$(data_objects "$1")" -ge "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
# wait_for_pack_bytes BUCKET BYTES: waits (up to 60 s) until its packs hold at least BYTES.
wait_for_pack_bytes() {
  local _
  for _ in $(seq 300); do
    [ "$(data_bytes "$1")" -ge "$2" ] && return 0
    sleep 0.2
  done
  return 1
}
# stream_command FILE CHUNKS: a command writing FILE to stdout in CHUNKS pieces of 500 kB, 0.25 s
# apart: a backup that lasts a few seconds without any test knob (the retries keep their real
# delays), with the same bytes every time (for the resume).
stream_command() {
  echo "for i in \$(seq 0 $(($2 - 1))); do dd if=$1 bs=500000 skip=\$i count=1 status=none; sleep 0.25; done"
}

S3P="s3:http://127.0.0.1:$LIFEBOAT_TEST_PROXY_PORT"  # through the proxy
tag="$(date +%s)-$$"

# 300 files, 30 MB, incompressible.
BIG="$WORK/big"
python3 - "$BIG" <<'EOF'
import os, random, sys
r = random.Random(13)
for i in range(300):
    d = os.path.join(sys.argv[1], "d%d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%d" % i), "wb") as f:
        f.write(os.urandom(r.randint(20000, 180000)))
EOF
echo "# data: $(find "$BIG" -type f | wc -l) files, $(du -sb "$BIG" | cut -f1) bytes"

echo "# a. about 10% of the requests fail transiently"
REPO_A="$S3P/lifeboat-fault-a-$tag/repo"
run "a: init" 0 lb -r "$REPO_A" init --pack-size 1
# Opening a site talks to it too (the config probe): a SlowDown there is retried as well.
proxy_control slowdown 1 >/dev/null
(sleep 2 && proxy_control slowdown 0 >/dev/null) &
start="$(now_ms)"
run "a: snapshots while every request is answered SlowDown for 2 s" 0 lb -r "$REPO_A" snapshots --json
wait
echo "     (a: it took $(($(now_ms) - start)) ms)"
check_eq "a: an empty list" "[]" "$(cat "$WORK/out")"
# proxy_count NAME: a counter of the proxy's status line (counted since it started).
proxy_count() { proxy_control status | grep -o "$1=[0-9]*" | cut -d= -f2; }
slowdowns0="$(proxy_count slowdowns)" resets0="$(proxy_count reset_mid)"
proxy_control seed 7 >/dev/null
proxy_control slowdown 0.1 >/dev/null
proxy_control reset-after 3000000 0.3 >/dev/null
start="$(now_ms)"
run "a: backup of 300 files / 30 MB under faults" 0 lb -r "$REPO_A" --json backup "$BIG"
echo "     (a: the backup took $(($(now_ms) - start)) ms; $(($(proxy_count slowdowns) - slowdowns0)) SlowDown answers, $(($(proxy_count reset_mid) - resets0)) connections reset)"
check "a: the proxy answered SlowDown to some of the backup's requests" [ "$(proxy_count slowdowns)" -gt $((slowdowns0 + 1)) ]
check_eq "a: all 300 files are in the snapshot" 300 "$(json_field files_new "$WORK/out")"
start="$(now_ms)"
run "a: check --read-data under faults" 0 lb -r "$REPO_A" check --read-data
echo "     (a: check --read-data took $(($(now_ms) - start)) ms)"
check_has "a: check finds no errors" "$WORK/out" "no errors were found"
run "a: restore --verify under faults" 0 lb -r "$REPO_A" restore latest --target "$WORK/restore-a" --verify
check "a: the restored tree equals the source" same_tree "$BIG" "$WORK/restore-a$BIG"
slowdowns="$(($(proxy_count slowdowns) - slowdowns0))" resets="$(($(proxy_count reset_mid) - resets0))"
echo "     (a: in all $slowdowns SlowDown answers and $resets connections reset mid-transfer)"
check "a: the proxy answered SlowDown to some requests ($slowdowns)" [ "$slowdowns" -gt 5 ]
check "a: the proxy reset some connections mid-transfer ($resets)" [ "$resets" -gt 0 ]
proxy_control pass >/dev/null
rm -rf "$WORK/restore-a"

echo "# b. radosgw killed mid-backup, started again 5 s later on the same port"
head -c 20000000 /dev/urandom >"$WORK/stream-b.bin"
BUCKET_B="lifeboat-fault-b-$tag"
REPO_B="s3:$LIFEBOAT_TEST_S3_ENDPOINT/$BUCKET_B/repo"
run "b: init" 0 lb -r "$REPO_B" init --pack-size 1
start="$(now_ms)"
lb -r "$REPO_B" --json backup --stdin-filename stream.bin --stdin-from-command -- \
  bash -c "$(stream_command "$WORK/stream-b.bin" 40)" >"$WORK/b.out" 2>"$WORK/b.err" &
backup_pid=$!
check "b: some packs arrived before the kill" wait_for_packs "$BUCKET_B" 2
kill_radosgw "$LIFEBOAT_TEST_RGW_DIR"
killed="$(now_ms)"
check "b: the backup is still running when radosgw dies" kill -0 "$backup_pid"
sleep 5
restart_radosgw "$LIFEBOAT_TEST_RGW_DIR"
up="$(now_ms)"
wait "$backup_pid"
rc=$?
done_ms="$(now_ms)"
cp "$WORK/b.out" "$WORK/out"
cp "$WORK/b.err" "$WORK/err"
keep_output "b: backup across the outage"
echo "     (b: killed at +$((killed - start)) ms, answering again after $((up - killed)) ms, backup done at +$((done_ms - start)) ms, $((done_ms - up)) ms after radosgw was back)"
check_eq "b: the backup completes (exit code; stderr: $(head -c 300 "$WORK/b.err"))" 0 "$rc"
check_has "b: the backup saved a snapshot" "$WORK/b.out" '"snapshot_id":"'
run "b: check --read-data" 0 lb -r "$REPO_B" check --read-data
check_has "b: check finds no errors" "$WORK/out" "no errors were found"
run "b: restore --verify" 0 lb -r "$REPO_B" restore latest --target "$WORK/restore-b" --verify
check "b: the restored stream equals what was sent" cmp -s "$WORK/stream-b.bin" "$WORK/restore-b/stream.bin"
rm -rf "$WORK/restore-b"

echo "# c. the site goes down mid-backup and stays down; then a resuming re-run"
head -c 30000000 /dev/urandom >"$WORK/stream-c.bin"
BUCKET_C="lifeboat-fault-c-$tag"
REPO_C="$S3P/$BUCKET_C/repo"
run "c: init" 0 lb -r "$REPO_C" init --pack-size 1
lb -r "$REPO_C" --json backup --stdin-filename stream.bin --stdin-from-command -- \
  bash -c "$(stream_command "$WORK/stream-c.bin" 60)" >"$WORK/c.out" 2>"$WORK/c.err" &
backup_pid=$!
check "c: half the data arrived before the site went down" wait_for_pack_bytes "$BUCKET_C" 15000000
proxy_control down >/dev/null
down="$(now_ms)"
wait "$backup_pid"
rc=$?
failed_after=$(($(now_ms) - down))
arrived="$(data_objects "$BUCKET_C")" arrived_bytes="$(data_bytes "$BUCKET_C")"
cp "$WORK/c.out" "$WORK/out"
cp "$WORK/c.err" "$WORK/err"
keep_output "c: backup while the site is down"
echo "     (c: $arrived packs, $arrived_bytes bytes had arrived; the backup failed $failed_after ms after the site went down)"
check_eq "c: the backup fails" 1 "$rc"
# The bound: one call's retries (10 attempts, 0.5 s doubling up to 30 s: at most 121.5 s of
# waits) plus the attempts themselves; the calls after it (packs queued behind it, the lock's
# removal) fail at once (RetryBackend: a site that stays down).
check "c: it fails within 150 s ($failed_after ms)" [ "$failed_after" -lt 150000 ]
check_has "c: the error names the site" "$WORK/c.err" "127.0.0.1:$LIFEBOAT_TEST_PROXY_PORT/$BUCKET_C/repo"
check_has "c: the error says why" "$WORK/c.err" "Couldn't connect to server"
check_has "c: the error says the retries gave up" "$WORK/c.err" "giving up after 10 attempts"
check_lacks "c: no snapshot was reported" "$WORK/c.out" '"snapshot_id"'
proxy_control up >/dev/null
run "c: snapshots once the site is back" 0 lb -r "$REPO_C" snapshots --json
check_eq "c: no snapshot was written" "[]" "$(cat "$WORK/out")"
run "c: the re-run completes" 0 lb -r "$REPO_C" --json backup --stdin-filename stream.bin --stdin-from-command -- \
  bash -c "$(stream_command "$WORK/stream-c.bin" 60)"
added="$(json_field data_added_packed "$WORK/out")"
# What had arrived is not sent again, but for the packs whose index file had not been written
# yet (one is written every 4 packs, blob_saver.h): at most 3 packs, plus one in flight.
missing=$((30000000 - arrived_bytes))
echo "     (c: the re-run stored ${added:-?} of 30000000 bytes; $arrived_bytes had arrived, so $missing were missing)"
check "c: the re-run sends far less than the whole (${added:-?} bytes)" [ "${added:-30000000}" -lt 20000000 ]
check "c: the re-run sends little more than was missing" [ "${added:-30000000}" -lt $((missing + 6000000)) ]
run "c: check --read-data" 0 lb -r "$REPO_C" check --read-data
check_has "c: check finds no errors" "$WORK/out" "no errors were found"
run "c: restore --verify" 0 lb -r "$REPO_C" restore latest --target "$WORK/restore-c" --verify
check "c: the restored stream equals what was sent" cmp -s "$WORK/stream-c.bin" "$WORK/restore-c/stream.bin"
rm -rf "$WORK/restore-c"

echo "# d. three sites; the S3 one goes down mid-backup"
SITE_A="$WORK/site-a"
SITE_B="rest:$LIFEBOAT_TEST_REST_URL/site-b-$tag"
BUCKET_D="lifeboat-fault-d-$tag"
SITE_C="$S3P/$BUCKET_D/site-c"
run "d: init A" 0 lb -r "$SITE_A" init --pack-size 1
run "d: init B --replica-of A" 0 env LIFEBOAT_PASSWORD=replica-pw-b-51d3 LIFEBOAT_FROM_PASSWORD="$REPO_PW" \
  "$LIFEBOAT" -r "$SITE_B" init --replica-of "$SITE_A"
run "d: init C --replica-of A" 0 env LIFEBOAT_PASSWORD=replica-pw-c-9e07 LIFEBOAT_FROM_PASSWORD="$REPO_PW" \
  "$LIFEBOAT" -r "$SITE_C" init --replica-of "$SITE_A"
ids_of() { env LIFEBOAT_PASSWORD="$1" "$LIFEBOAT" -r "$2" snapshots --json 2>/dev/null | snapshot_ids; }
all_ids() {
  ids_of "$REPO_PW" "$SITE_A" >"$WORK/ids-a"
  ids_of replica-pw-b-51d3 "$SITE_B" >"$WORK/ids-b"
  ids_of replica-pw-c-9e07 "$SITE_C" >"$WORK/ids-c"
}
# multi_site_backup_with_c_dying NAME: a backup of $BIG to A, B and C (each save slowed by
# 60 ms: LIFEBOAT_FAULT_DELAY_MS) during which C goes down once some of its packs arrived.
multi_site_backup_with_c_dying() {
  local before pid rc
  before="$(data_objects "$BUCKET_D")"
  LIFEBOAT_FAULT_DELAY_MS=60 lb -r "$SITE_A" --json backup "$BIG" --also-to "$SITE_B" --also-to "$SITE_C" \
    >"$WORK/d.out" 2>"$WORK/d.err" &
  pid=$!
  check "$1: some packs reached C before it went down" wait_for_packs "$BUCKET_D" $((before + 4))
  proxy_control down >/dev/null
  wait "$pid"
  rc=$?
  cp "$WORK/d.out" "$WORK/out"
  cp "$WORK/d.err" "$WORK/err"
  keep_output "$1"
  check_eq "$1: exit code 3, incomplete (stderr: $(head -c 300 "$WORK/d.err"))" 3 "$rc"
  # The sites array of the summary: one object per site, in order A, B, C.
  grep '"message_type":"summary"' "$WORK/d.out" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sites"]:
    e = s.get("error", {})
    print(s["location"], s["snapshot_landed"], s["objects_sent"], e.get("code", "-"), e.get("message", "-"))
' >"$WORK/sites" 2>&1
  sed 's/^/     | /' "$WORK/sites"
  check_eq "$1: A and B got the snapshot, C did not" "True True False" "$(cut -d' ' -f2 "$WORK/sites" | tr '\n' ' ' | sed 's/ $//')"
  check "$1: the failed site is C, with its location" grep -q "^s3:http://127.0.0.1:$LIFEBOAT_TEST_PROXY_PORT/$BUCKET_D/site-c False" "$WORK/sites"
  check "$1: C's error is there, with its reason" grep -q "^s3:.* False [0-9]* UNAVAILABLE .*Couldn't connect" "$WORK/sites"
  check "$1: C had received packs ($(sed -n 3p "$WORK/sites" | cut -d' ' -f3) objects)" [ "$(sed -n 3p "$WORK/sites" | cut -d' ' -f3)" -gt 0 ]
  check_has "$1: the warning names C" "$WORK/d.err" "site s3:http://127.0.0.1:$LIFEBOAT_TEST_PROXY_PORT/$BUCKET_D/site-c did not get the snapshot"
  proxy_control up >/dev/null
}
start="$(now_ms)"
multi_site_backup_with_c_dying "d: first backup to three sites"
echo "     (d: the first backup took $(($(now_ms) - start)) ms)"
all_ids
check "d: A holds one snapshot" [ "$(wc -l <"$WORK/ids-a")" = 1 ]
check "d: B holds the same snapshot" cmp -s "$WORK/ids-a" "$WORK/ids-b"
check "d: C holds no snapshot" [ ! -s "$WORK/ids-c" ]
run "d: copy --from A --repo C (C's own password)" 0 env LIFEBOAT_PASSWORD=replica-pw-c-9e07 \
  LIFEBOAT_FROM_PASSWORD="$REPO_PW" "$LIFEBOAT" -r "$SITE_C" copy --from "$SITE_A"
all_ids
check "d: after the copy C holds A's snapshot ids" cmp -s "$WORK/ids-a" "$WORK/ids-c"

# New data enough for C to go down mid-way again (22 MB).
for i in $(seq 300 449); do head -c 150000 /dev/urandom >"$BIG/d1/new$i"; done
multi_site_backup_with_c_dying "d: second backup to three sites"
run "d: the next backup --also-to, C back" 0 lb -r "$SITE_A" backup "$BIG" --also-to "$SITE_B" --also-to "$SITE_C"
check_has "d: C is brought up to date first" "$WORK/out" "brought up to date before the backup: 1 snapshot(s)"
all_ids
check "d: A holds three snapshots" [ "$(wc -l <"$WORK/ids-a")" = 3 ]
check "d: B holds A's snapshot ids" cmp -s "$WORK/ids-a" "$WORK/ids-b"
check "d: C holds A's snapshot ids" cmp -s "$WORK/ids-a" "$WORK/ids-c"
run "d: check --read-data A" 0 lb -r "$SITE_A" check --read-data
run "d: check --read-data B" 0 env LIFEBOAT_PASSWORD=replica-pw-b-51d3 "$LIFEBOAT" -r "$SITE_B" check --read-data
run "d: check --read-data C" 0 env LIFEBOAT_PASSWORD=replica-pw-c-9e07 "$LIFEBOAT" -r "$SITE_C" check --read-data

echo "# no secret in any output ($runs commands)"
leaks=0
for f in "$LOGS"/*.out "$LOGS"/*.err; do
  for s in "${SECRETS[@]}"; do
    if grep -qF -- "$s" "$f"; then
      leaks=$((leaks + 1))
      bad "a secret (${s:0:4}...) in the output of '$(cat "${f%.*}.name")'"
    fi
  done
done
check_eq "no secret appears in $((runs * 2)) outputs" 0 "$leaks"

lb_test_finish
