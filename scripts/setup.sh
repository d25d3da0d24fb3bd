#!/usr/bin/env bash
# Set-up command 1: installs what is missing, builds Lifeboat, and runs its main job on an
# embedded default plan (two local sites, no server): validates the plan, creates the sites,
# backs up a SQLite database and a directory whose service depends on it, each backup written to
# both sites at once, shows that every RPO holds, restores both services from the second site and
# checks them, then drills both (restored into a sandbox, the shop's files served over HTTP,
# checked, RTO and RPO measured against the plan; the report also as demo/drill-report.html).
# Then a disaster: the primary's data and its site's repository are lost; both services fail over
# to the secondary site (brought up below its recovery_root, demo/dr-site, the shop on its
# production port) and are checked, with the failover's RTO beside the drill's; the shop takes 5
# more orders there; the failover is committed; the primary site comes back (its repository, not
# its data) and the services fail back to it with those orders, checked, and the failback is
# committed. Each step is printed. Whatever the failover and failback leave running (the shop's
# HTTP server) is stopped on every exit path. LIFEBOAT_DEMO_PORT: the shop's port (18480).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

echo "==> 1/14 installing dependencies (Debian packages, only if missing)"
bash scripts/install-deps.sh
echo "==> 2/14 building (release)"
bash scripts/build.sh release
lifeboat="$root/build/release/src/cli/lifeboat"

demo="$root/demo"
plan="$demo/lifeboat.yaml"
# The shop's production port: a failover and a failback bring it up there (a drill uses a free
# one), and their preconditions check that it is free.
port="${LIFEBOAT_DEMO_PORT:-18480}"

# Stops what the demo's failover or failback left running, on every exit path: the processes the
# incident's local state names (`failover status --json`, left_running) if they are still the ones
# it started (same start time), then any process still serving the demo's files (the shop's
# recover step, whose command line names $demo), so that setup.sh leaves nothing behind.
stop_demo_services() {
  local status_json=""
  if [ -f "$demo/state/incident.json" ]; then
    status_json=$("$lifeboat" --json failover status --plan "$plan" --state-dir "$demo/state" \
      2>/dev/null) || true
  fi
  printf '%s' "$status_json" | /usr/bin/python3 -c '
import json, os, signal, sys, time
demo = sys.argv[1]
groups = set()
try:
    incident = json.loads(sys.stdin.read() or "{}")  # the incident object ({"incident": null})
except ValueError:
    incident = {}
for p in incident.get("left_running") or []:
    try:
        with open("/proc/%d/stat" % p["pid"]) as f:
            start = int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, KeyError, TypeError, ValueError):
        continue
    if start == p.get("start_time") and p.get("pgid"):
        groups.add(p["pgid"])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        continue
    if "http.server" in argv and any(demo + "/" in a for a in argv):
        try:
            groups.add(os.getpgid(int(pid)))
        except OSError:
            pass
groups.discard(os.getpgrp())
for g in groups:
    try:
        os.killpg(g, signal.SIGTERM)
        print("    stopped the demo process group %d" % g)
    except OSError:
        pass
deadline = time.time() + 10
while groups and time.time() < deadline:
    for g in list(groups):
        try:
            os.killpg(g, 0)
        except OSError:
            groups.discard(g)
    time.sleep(0.1)
for g in groups:
    try:
        os.killpg(g, signal.SIGKILL)
    except OSError:
        pass
' "$demo" || true
}

if [ -d "$demo" ]; then
  stop_demo_services
  chmod -R u+w "$demo"
fi
rm -rf "$demo"
trap stop_demo_services EXIT
mkdir -p "$demo/sample" "$demo/state" "$demo/cache"
echo "==> 3/14 the demo's data in $demo: files and a SQLite database"
cp -r "$root/doc" "$root/src" "$demo/sample/"
head -c 8388608 /dev/urandom > "$demo/sample/random.bin"
ln -s doc/repository-format.md "$demo/sample/format-link"
/usr/bin/python3 - "$demo/orders.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("pragma journal_mode=wal")
db.execute("create table orders(id integer primary key, item text, amount integer)")
db.executemany("insert into orders(item, amount) values (?, ?)",
               [("item-%d" % i, i * 3) for i in range(1, 1001)])
db.commit()
PY
head -c 24 /dev/urandom | base64 > "$demo/password"
chmod 600 "$demo/password"

# The embedded default plan: the shop's files depend on its orders database; both services are
# written to two local sites at once (sync replication). doc/plan.md documents every key.
cat > "$plan" <<PLAN
version: 1
sites:
  primary:
    repository: $demo/sites/primary
    password_file: $demo/password
    location: this machine
  secondary:
    repository: $demo/sites/secondary
    password_file: $demo/password
    role: secondary
    # where a failover to this site brings the services up (the primary's is /)
    recovery_root: $demo/dr-site
    location: this machine, another directory (another disk or an S3 bucket for real)
services:
  orders-db:
    owner: shop team
    tier: 0
    rpo: 1h
    rto: 30m
    mtd: 4h
    schedule: "*/15 * * * *"
    sources:
      - name: orders
        sqlite: {path: $demo/orders.db}
    sites: [primary, secondary]
    replication: sync
    drill_every: 7d
    retention: {keep_last: 24, keep_daily: 7}
    verify:
      - files: {}
      - command:
          # the restored copy: the database's path below the service's restore directory; the
          # demo's first 1000 orders (the shop adds more at the recovery site after a failover)
          run: ["/usr/bin/python3", "-c", "import os, sqlite3, sys; db = sqlite3.connect(os.environ['LIFEBOAT_RESTORE_DIR'] + sys.argv[1]); print(db.execute('pragma integrity_check').fetchone()[0], *db.execute('select count(*), sum(amount) from orders where id <= 1000').fetchone())", "$demo/orders.db"]
          expect_output: "ok 1000 1501500"
  shop-files:
    owner: shop team
    tier: 1
    rpo: 1d
    rto: 2h
    mtd: 1d
    depends_on: [orders-db]
    schedule: "@hourly"
    sources:
      - paths: [$demo/sample]
    sites: [primary, secondary]
    replication: sync
    drill_every: 7d
    recover:
      - command: "exec /usr/bin/python3 -m http.server --bind 127.0.0.1 \$LIFEBOAT_PORT_HTTP --directory \$LIFEBOAT_RESTORE_DIR$demo/sample"
        background: true
        ports: {http: $port}
        timeout: 30s
    verify:
      - files: {}
      - http: {port: http, path: /doc/plan.md, expect_body: "# The plan file"}
PLAN
export XDG_CACHE_HOME="$demo/cache"
echo "==> 4/14 lifeboat plan validate ($plan)"
# Warnings are expected for a demo on one disk: fewer than 3 copies on 2 media with 1 offsite,
# and no immutable site.
"$lifeboat" plan validate --plan "$plan"
echo "==> 5/14 lifeboat plan init: the sites' repositories (the second a replica of the first)"
"$lifeboat" plan init --plan "$plan"
echo "==> 6/14 lifeboat run --now: both services in tier order, each backup written to both sites"
"$lifeboat" run --plan "$plan" --now --state-dir "$demo/state"
echo "    run again without --now: only what is due by its schedule runs"
"$lifeboat" run --plan "$plan" --state-dir "$demo/state"
echo "==> 7/14 lifeboat status: does every RPO hold at every site?"
"$lifeboat" status --plan "$plan"
echo "==> 8/14 restore both services from the secondary site and check them"
export LIFEBOAT_PASSWORD_FILE="$demo/password"
"$lifeboat" restore --repo "$demo/sites/secondary" latest --service shop-files \
  --target "$demo/restore" --verify
"$lifeboat" restore --repo "$demo/sites/secondary" latest --service orders-db \
  --target "$demo/restore-db"
if ! diff -r --no-dereference "$demo/sample" "$demo/restore$demo/sample"; then
  echo "==> FAILED: the restored files differ from the sample" >&2
  exit 1
fi
restored_db=$(find "$demo/restore-db" -name orders.db -type f)
rows=$(/usr/bin/python3 - "$restored_db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
assert db.execute("pragma integrity_check").fetchone()[0] == "ok", "integrity_check failed"
print("%d %d" % db.execute("select count(*), sum(amount) from orders").fetchone())
PY
)
if [ "$rows" != "1000 1501500" ]; then
  echo "==> FAILED: the restored database holds (count, sum) $rows, not 1000 1501500" >&2
  exit 1
fi
echo "    the files restored from the secondary site are identical (diff -r, and lifeboat verified"
echo "    them) and the database passes integrity_check with all 1000 orders"
echo "==> 9/14 lifeboat drill --all --site secondary: recover both services into a sandbox, bring the"
echo "    shop up, check it, and measure RTO and RPO against the plan"
"$lifeboat" drill --all --site secondary --plan "$plan" --sandbox "$demo/drills" \
  --html "$demo/drill-report.html"

# orders DB: "integrity count sum" of the orders database DB (its integrity_check must say ok).
orders() {
  /usr/bin/python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("pragma integrity_check").fetchone()[0],
      *db.execute("select count(*), sum(amount) from orders").fetchone())
PY
}
# shop_serves DIR: the shop on $port answers /doc/plan.md with the file in DIR.
shop_serves() {
  /usr/bin/python3 - "$port" "$1/doc/plan.md" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/doc/plan.md" % sys.argv[1], timeout=10).read()
sys.exit(0 if body == open(sys.argv[2], "rb").read() else "the shop served another plan.md")
PY
}
fail() {
  echo "==> FAILED: $*" >&2
  exit 1
}
lifeboat_state=(--plan "$plan" --state-dir "$demo/state")

echo "==> 10/14 a disaster: the primary's production data is lost, and so is its site's repository"
mkdir -p "$demo/lost"
mv "$demo"/orders.db* "$demo/sample" "$demo/lost/"
mv "$demo/sites/primary" "$demo/lost/primary"
echo "    moved $demo/orders.db, $demo/sample and $demo/sites/primary to $demo/lost/"

echo "==> 11/14 lifeboat failover --all --to secondary: both services up below $demo/dr-site,"
echo "    the shop on its production port $port"
"$lifeboat" failover --all --to secondary --yes "${lifeboat_state[@]}"
dr_db="$demo/dr-site$demo/orders.db"
[ "$(orders "$dr_db")" = "ok 1000 1501500" ] ||
  fail "the database at the recovery site holds $(orders "$dr_db"), not ok 1000 1501500"
shop_serves "$demo/lost/sample" || fail "the shop does not serve its files on port $port"
echo "    the shop answers on port $port with its files, and $dr_db holds all 1000 orders"
"$lifeboat" --json drill history --site secondary --plan "$plan" > "$demo/drill-history.json"
"$lifeboat" --json failover status "${lifeboat_state[@]}" > "$demo/failover.json"
/usr/bin/python3 - "$demo/drill-history.json" "$demo/failover.json" <<'PY'
import json, sys
drills = {}
for s in json.load(open(sys.argv[1]))["services"]:
    passed = [d for d in s["drills"] if d.get("achieved_rto_ns") is not None]
    if passed:
        drills[s["service"]] = max(passed, key=lambda d: d["start"])["achieved_rto_ns"] / 1e9
incident = json.load(open(sys.argv[2]))
print("    achieved RTO    failover  drill (step 9)")
for s in incident["services"]:
    print("    %-14s %7.2f s %9.2f s" % (s["service"], s["rto_seconds"], drills.get(s["service"], float("nan"))))
largest = max(s["rto_seconds"] for s in incident["services"])
total = sum(drills.values())
print("    the failover's RTO (%.2f s, its slowest service) is %s the sum of the drills' RTOs (%.2f s)"
      % (largest, "within" if largest <= total else "above", total))
print("    (one measurement on a shared machine; bench/failover.sh measures it over rounds)")
PY

echo "==> 12/14 the shop takes 5 more orders at the recovery site; lifeboat failover commit"
/usr/bin/python3 - "$dr_db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executemany("insert into orders(item, amount) values (?, ?)",
               [("dr-order-%d" % i, 100 * i) for i in range(1, 6)])
db.commit()
PY
[ "$(orders "$dr_db")" = "ok 1005 1503000" ] || fail "$dr_db holds $(orders "$dr_db")"
echo "    $dr_db now holds 1005 orders"
"$lifeboat" failover commit --yes "${lifeboat_state[@]}"

echo "==> 13/14 the primary site is back (its repository; its production data stays lost):"
echo "    lifeboat failback --to primary: final backups at the recovery site, stop there, restore"
echo "    at the primary's paths, recover, verify, switch"
mv "$demo/lost/primary" "$demo/sites/primary"
"$lifeboat" failback --to primary --yes "${lifeboat_state[@]}"
[ "$(orders "$demo/orders.db")" = "ok 1005 1503000" ] ||
  fail "$demo/orders.db holds $(orders "$demo/orders.db"), not ok 1005 1503000 (the 5 orders taken at the recovery site)"
diff -r --no-dereference "$demo/lost/sample" "$demo/sample" ||
  fail "the shop's files at the primary differ from the ones lost in the disaster"
shop_serves "$demo/sample" || fail "the shop does not serve its files on port $port"
"$lifeboat" --json failover status "${lifeboat_state[@]}" > "$demo/failback.json"
/usr/bin/python3 - "$demo/failback.json" "$demo" <<'PY' || fail "the shop does not run from $demo/sample"
import json, sys
demo = sys.argv[2]
running = [p for p in json.load(open(sys.argv[1]))["left_running"] if p["running"]]
argv = [open("/proc/%d/cmdline" % p["pid"], "rb").read().decode().split("\0") for p in running]
sys.exit(0 if any(a.endswith(demo + "/sample") and "/dr-site/" not in a for v in argv for a in v)
         else "running: %r" % argv)
PY
if pgrep -f "$demo/dr-site" >/dev/null; then
  fail "something still runs below $demo/dr-site: $(pgrep -af "$demo/dr-site")"
fi
echo "    $demo/orders.db holds all 1005 orders (integrity_check ok), the shop's files are identical"
echo "    to the lost ones (diff -r) and served on port $port from $demo/sample; nothing runs below"
echo "    $demo/dr-site any more"

echo "==> 14/14 lifeboat failover commit (the failback), then lifeboat failover status"
"$lifeboat" failover commit --yes "${lifeboat_state[@]}"
"$lifeboat" failover status "${lifeboat_state[@]}"
echo "==> OK: every RPO holds, both services restore intact, the drill proved they recover, and they"
echo "    failed over to the secondary site and back to the primary with the orders taken meanwhile"
echo "    (setup.sh now stops the shop it left running)"
