#!/usr/bin/env bash
# `lifeboat run` after a failover (doc/run.md, "After a failover"): a real `lifeboat failover shop
# --to b` moves shop to site b (recovery root $WORK/root-b) under the lock-file fence; then the
# primary's disk "comes back" with stale data at shop's original path while the current data is
# below b's recovery root. `run --dry-run` says where shop is read; `run --now` snapshots the
# current content (restored and compared), at b first, recorded at the original path. With the
# plan's fence in etcd on a closed loopback port nobody can say where shop runs: it is skipped
# with a note (exit 3), the never-moved service still runs.
#
#   tests/cli_run_active_site_test.sh build/release/tests/lifeboat_testing
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init run-active-site
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/xdg-state" XDG_CACHE_HOME="$WORK/cache"
unset LIFEBOAT_PLAN
mkdir -p "$HOME" "$WORK/data" "$WORK/other" "$WORK/root-b"
echo "run-active-site-password" > "$WORK/pw"
echo "before the failover" > "$WORK/data/file.txt"
echo "never moved" > "$WORK/other/o.txt"
STATE="$WORK/state"
PLAN="$WORK/lifeboat.yaml"

plan_text() {  # plan_text [DAEMON_SECTION]
  cat <<PLAN_END
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
    replication: async
    sources:
      - paths: [$WORK/data]
  other:
    tier: 2
    rpo: 800d
    schedule: "0 3 1 1 *"
    sites: [a, b]
    replication: async
    sources:
      - paths: [$WORK/other]
${1:-}
PLAN_END
}
plan_text > "$PLAN"

# The id of SERVICE's newest snapshot at SITE.
newest() {  # newest SITE SERVICE
  lb snapshots --json --repo "$WORK/sites/$1" --password-file "$WORK/pw" 2>/dev/null |
    python3 -c '
import json, sys
snaps = [s for s in json.load(sys.stdin) if s.get("service") == sys.argv[1]]
print(max(snaps, key=lambda s: s["time"])["id"] if snaps else "")' "$2"
}
count() {  # count SITE SERVICE: SERVICE's snapshots at SITE
  lb snapshots --json --repo "$WORK/sites/$1" --password-file "$WORK/pw" 2>/dev/null |
    python3 -c '
import json, sys
print(len([s for s in json.load(sys.stdin) if s.get("service") == sys.argv[1]]))' "$2"
}

expect_rc "plan init" 0 lb plan init --plan "$PLAN"
expect_rc "the first backup (before any failover)" 0 lb run --plan "$PLAN" --state-dir "$STATE"
expect_rc "failover shop to b" 0 lb failover shop --to b --yes --plan "$PLAN" --state-dir "$STATE"
check "shop's data is restored below b's recovery root" cmp "$WORK/data/file.txt" "$WORK/root-b$WORK/data/file.txt"

# shop writes at b; the primary's disk comes back with an old copy at the original path.
echo "current, written at b" > "$WORK/root-b$WORK/data/file.txt"
echo "stale, from the primary's old disk" > "$WORK/data/file.txt"
A_BEFORE="$(count a shop)" B_BEFORE="$(count b shop)"

expect_rc "run --now --dry-run" 0 lb run --plan "$PLAN" --state-dir "$STATE" --now --dry-run
check_has "the dry run says where shop is read" "$WORK/out" \
  "would read its sources below $WORK/root-b (active at b since the failover)"
check_has "and that it goes to b first" "$WORK/out" "to b, then copy to the others (async)"

expect_rc "run --now --json" 0 lb run --plan "$PLAN" --state-dir "$STATE" --now --json
check "the JSON names the read root and the first site" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
shop = [s for s in r["services"] if s["service"] == "shop"][0]
assert shop["read_root"] == sys.argv[2], shop
assert shop["read_from"] == "below " + sys.argv[2] + " (active at b since the failover)", shop
assert shop["outcomes"][0]["site"] == "b" and shop["outcomes"][0]["what"] == "backup", shop
other = [s for s in r["services"] if s["service"] == "other"][0]
assert other["read_root"] is None and other["outcomes"][0]["site"] == "a", other
' "$WORK/out" "$WORK/root-b"
check_eq "one new snapshot of shop at b" "$((B_BEFORE + 1))" "$(count b shop)"
check_eq "copied to a" "$((A_BEFORE + 1))" "$(count a shop)"
for site in b a; do
  expect_rc "restore shop's newest snapshot at $site" 0 lb restore "$(newest "$site" shop)" \
    --target "$WORK/restored-$site" --repo "$WORK/sites/$site" --password-file "$WORK/pw"
  check_eq "it holds the current data (at its original path), not the stale copy ($site)" \
    "current, written at b" "$(cat "$WORK/restored-$site$WORK/data/file.txt")"
done

# --- The fence cannot be read: etcd on a closed loopback port. ---
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
plan_text "daemon:
  fencing:
    etcd:
      endpoints: [http://127.0.0.1:$PORT]
      retry_timeout: 1s" > "$WORK/etcd.yaml"
A_BEFORE="$(count a shop)" OTHER_BEFORE="$(count a other)"
expect_rc "run --now with the fence unreadable: incomplete" 3 \
  lb run --plan "$WORK/etcd.yaml" --state-dir "$STATE" --now
check_has "shop is skipped, saying why and what to do" "$WORK/err" \
  "service shop not backed up: where it runs is unknown: the etcd fence cannot be read"
check_has "it names the command to run after" "$WORK/err" "lifeboat run --service shop --now"
check_has "the summary counts it" "$WORK/out" "1 SKIPPED"
check_eq "no snapshot of shop was taken (not the stale copy)" "$A_BEFORE" "$(count a shop)"
check_eq "other was backed up" "$((OTHER_BEFORE + 1))" "$(count a other)"
expect_rc "run --now --json with the fence unreadable" 3 \
  lb run --plan "$WORK/etcd.yaml" --state-dir "$STATE" --now --json
check "the JSON shows shop skipped" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
shop = [s for s in r["services"] if s["service"] == "shop"][0]
assert shop["state"] == "skipped" and "where it runs is unknown" in shop["note"], shop
assert r["exit_status"] == 3, r["exit_status"]
assert any("cannot be read" in w for w in r["warnings"]), r["warnings"]
' "$WORK/out"

lb_test_finish
