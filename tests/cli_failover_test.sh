#!/usr/bin/env bash
# End-to-end test of the daemon's automatic failover (doc/daemon.md, doc/failover.md) on one
# machine: two local sites a and b (b's recovery root a directory of the test), a small paths
# service whose "production" is a process, and a command health check that asks whatever the
# switch step last pointed clients at (a: the process alive; b: the recovered file tree).
# `lifeboat failover SVC --to b --dry-run` shows the waves and preconditions and changes nothing;
# then `lifeboat daemon` sees production die, fails the service over to b by itself, commits it
# after failover.commit_after, and its dashboard's /api/v1/status shows the incident.
#
#   tests/cli_failover_test.sh build/release/tests/lifeboat_testing
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
DAEMON_PID="" PROD_PID=""
on_exit() {
  if [ -n "$DAEMON_PID" ]; then kill -9 "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; fi
  if [ -n "$PROD_PID" ]; then kill -9 "$PROD_PID" 2>/dev/null; wait "$PROD_PID" 2>/dev/null; fi
  return 0
}
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init failover
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/xdg-state" XDG_CACHE_HOME="$WORK/cache"
unset LIFEBOAT_PLAN
mkdir -p "$HOME" "$WORK/data/sub" "$WORK/root-b"
echo "failover-test-password" > "$WORK/pw"
echo "the shop's data" > "$WORK/data/file.txt"
echo "more" > "$WORK/data/sub/other.txt"
STATE="$WORK/state"
PLAN="$WORK/lifeboat.yaml"

# Production: a process; clients are pointed at site a (the "load balancer" is a file the switch
# step rewrites).
sleep 600 &
PROD_PID=$!
echo "$PROD_PID" > "$WORK/prod.pid"
echo a > "$WORK/active"
# The health check: during a recovery (LIFEBOAT_RESTORE_DIR set) the restored tree; in
# production whatever clients are pointed at.
cat > "$WORK/check.sh" <<CHECK_END
#!/bin/sh
if [ -n "\${LIFEBOAT_RESTORE_DIR:-}" ]; then exec test -f "\$LIFEBOAT_RESTORE_DIR$WORK/data/file.txt"; fi
case "\$(cat $WORK/active)" in
  a) exec kill -0 "\$(cat $WORK/prod.pid)" ;;
  b) exec test -f "$WORK/root-b$WORK/data/file.txt" ;;
esac
exit 1
CHECK_END
chmod +x "$WORK/check.sh"

cat > "$PLAN" <<PLAN_END
version: 1
sites:
  a:
    repository: $WORK/sites/a
    password_file: $WORK/pw
  b:
    repository: $WORK/sites/b
    password_file: $WORK/pw
    recovery_root: $WORK/root-b
services:
  shop:
    tier: 1
    rpo: 800d
    schedule: "0 3 1 1 *"
    sites: [a, b]
    replication: sync
    sources:
      - paths: [$WORK/data]
    verify:
      - command: {run: $WORK/check.sh}
    switch:
      - command: 'echo "\$LIFEBOAT_SWITCH_TO" > $WORK/active'
    failover:
      to: b
      interval: 2s
      timeout: 1s
      failures_before_failover: 2
failover:
  commit_after: 3s
daemon:
  loop_wait: 1s
PLAN_END

expect_rc "plan init" 0 lb plan init --plan "$PLAN"
expect_rc "the first backup (both sites)" 0 lb run --plan "$PLAN" --state-dir "$STATE"
snapshots() {  # snapshots SITE: the ids of the snapshots there
  lb snapshots --json --repo "$WORK/sites/$1" --password-file "$WORK/pw" 2>/dev/null |
    python3 -c 'import json,sys; print(" ".join(sorted(s["id"] for s in json.load(sys.stdin))))'
}
# Every file of the state directory with its contents' hash, but the fence's lock file: opening
# the fence creates it empty, and it holds nothing while no action is taken.
state_listing() { (cd "$STATE" && find . -type f ! -name fence.lock -exec sha256sum {} + | sort); }
SNAPS_A="$(snapshots a)" SNAPS_B="$(snapshots b)"
check "site b holds a snapshot" [ -n "$SNAPS_B" ]
BEFORE="$(state_listing)"

# --- The dry run: the waves and every precondition, nothing changed. ---
expect_rc "failover --dry-run" 0 lb failover shop --to b --dry-run --plan "$PLAN" --state-dir "$STATE"
check_has "it shows the recovery site and root" "$WORK/out" "failover to b (recovery root $WORK/root-b)"
check_has "it shows the waves" "$WORK/out" "wave 1: shop"
check_has "it shows the preconditions" "$WORK/out" "preconditions:"
check_has "it changed nothing" "$WORK/out" "dry run: every precondition holds; nothing was changed"
check_eq "the snapshots at a are unchanged" "$SNAPS_A" "$(snapshots a)"
check_eq "the snapshots at b are unchanged" "$SNAPS_B" "$(snapshots b)"
check_eq "the state directory is unchanged" "$BEFORE" "$(state_listing)"
check "but for an empty fence.lock" [ ! -s "$STATE/fence.lock" ]
check "nothing was restored below b's recovery root" [ -z "$(ls -A "$WORK/root-b")" ]
expect_rc "no incident" 0 lb failover status --json --state-dir "$STATE"
check_has "failover status says so" "$WORK/out" '"incident":null'

# --- The daemon: production dies, the daemon fails shop over to b and commits it. ---
wait_for_text() {  # wait_for_text FILE TEXT [SECONDS]
  local _
  for _ in $(seq 1 "$(( ${3:-30} * 10 ))"); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
"$LIFEBOAT" daemon --plan "$PLAN" --state-dir "$STATE" --listen 127.0.0.1:0 > "$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
check "the daemon serves its dashboard" wait_for_text "$WORK/daemon.log" "dashboard at http://127.0.0.1:"
URL="$(grep -o 'dashboard at http://127.0.0.1:[0-9]*' "$WORK/daemon.log" | head -n 1 | sed 's/dashboard at //')"
check "shop is healthy" wait_for_text "$WORK/daemon.log" "service shop: healthy" 15
kill -9 "$PROD_PID"; wait "$PROD_PID" 2>/dev/null; PROD_PID=""
check "the daemon declares shop failed" wait_for_text "$WORK/daemon.log" "service shop declared FAILED" 20
check_has "and fails it over (its own site a: one daemon)" "$WORK/daemon.log" "service shop: failing over to b"
check "the failover ends" wait_for_text "$WORK/daemon.log" "failover of shop to b: done" 30
check "the file tree is restored below b's recovery root" cmp "$WORK/data/file.txt" "$WORK/root-b$WORK/data/file.txt"
check "with its subdirectory" cmp "$WORK/data/sub/other.txt" "$WORK/root-b$WORK/data/sub/other.txt"
check_eq "clients point at b (the switch step ran)" b "$(cat "$WORK/active")"
expect_rc "failover status --json" 0 lb failover status --json --state-dir "$STATE"
check "it shows the incident: to b, declared by the daemon" python3 -c '
import json, sys
i = json.load(open(sys.argv[1]))
assert len(i["incident"]) == 32 and i["kind"] == "failover", i
assert i["to"] == "b" and i["declared_by"] == "daemon b", i
assert i["services"][0]["service"] == "shop" and i["services"][0]["result"] == "recovered", i
assert i["state"] in ("open", "committed"), i["state"]' "$WORK/out"
check "it commits after commit_after" wait_for_text "$WORK/daemon.log" "committed (failover.commit_after)" 20
expect_rc "failover status --json, committed" 0 lb failover status --json --state-dir "$STATE"
check "the incident is committed" python3 -c '
import json, sys
assert json.load(open(sys.argv[1]))["state"] == "committed"' "$WORK/out"
check "the dashboard's status shows it" python3 -c '
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/status", timeout=10))
assert s["incident"]["state"] == "committed" and s["incident"]["to"] == "b", s["incident"]
assert [h["service"] for h in s["daemon"]["health"]] == ["shop"], s["daemon"]["health"]
assert {"service": "shop", "site": "b"}.items() <= s["daemon"]["active_sites"][0].items(), s["daemon"]
' "$URL"
# The incident as the sites recorded it (both sites of shop hold it), text and JSON.
expect_rc "failover history" 0 lb failover history --plan "$PLAN"
check_has "the history names the committed failover" "$WORK/out" "committed"
expect_rc "failover history --json" 0 lb failover history --json --plan "$PLAN"
check "the record is committed, to b, read from both sites" python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
assert h["warnings"] == [], h["warnings"]
e = h["incidents"][0]
assert e["record"]["state"] == "committed" and e["record"]["to_site"] == "b", e["record"]
assert e["record"]["services"][0]["service"] == "shop", e["record"]
assert sorted(e["sites"]) == ["a", "b"], e["sites"]' "$WORK/out"
curl -s -o "$WORK/commit.out" -w '%{http_code}' -X POST -d '{}' "$URL/api/v1/failover/commit" > "$WORK/commit.code"
check_eq "operations without a token are refused (no operate_token in the plan)" 403 "$(cat "$WORK/commit.code")"

kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"; RC=$?
DAEMON_PID=""
check_eq "SIGTERM stops the daemon cleanly" 0 "$RC"
check_has "it says so" "$WORK/daemon.log" "daemon stopped"
check "the dashboard is closed" bash -c "! curl -s -m 2 '$URL/api/v1/status' >/dev/null"

lb_test_finish
