#!/usr/bin/env bash
# Set-up command 1: installs what is missing, builds Lifeboat, and runs its main job on an
# embedded default plan (two local sites, no server): validates the plan, creates the sites,
# backs up a SQLite database and a directory whose service depends on it, each backup written to
# both sites at once, shows that every RPO holds, restores both services from the second site and
# checks them, then drills both (restored into a sandbox, the shop's files served over HTTP,
# checked, RTO and RPO measured against the plan; the report also as demo/drill-report.html),
# printing each step.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

echo "==> 1/9 installing dependencies (Debian packages, only if missing)"
bash scripts/install-deps.sh
echo "==> 2/9 building (release)"
bash scripts/build.sh release
lifeboat="$root/build/release/src/cli/lifeboat"

demo="$root/demo"
rm -rf "$demo"
mkdir -p "$demo/sample" "$demo/state" "$demo/cache"
echo "==> 3/9 the demo's data in $demo: files and a SQLite database"
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
plan="$demo/lifeboat.yaml"
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
          # the restored copy: the database's path below the service's restore directory
          run: ["/usr/bin/python3", "-c", "import os, sqlite3, sys; db = sqlite3.connect(os.environ['LIFEBOAT_RESTORE_DIR'] + sys.argv[1]); print(db.execute('pragma integrity_check').fetchone()[0], *db.execute('select count(*), sum(amount) from orders').fetchone())", "$demo/orders.db"]
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
        ports: {http: 8080}
        timeout: 30s
    verify:
      - files: {}
      - http: {port: http, path: /doc/plan.md, expect_body: "# The plan file"}
PLAN
export XDG_CACHE_HOME="$demo/cache"
echo "==> 4/9 lifeboat plan validate ($plan)"
# Warnings are expected for a demo on one disk: fewer than 3 copies on 2 media with 1 offsite,
# and no immutable site.
"$lifeboat" plan validate --plan "$plan"
echo "==> 5/9 lifeboat plan init: the sites' repositories (the second a replica of the first)"
"$lifeboat" plan init --plan "$plan"
echo "==> 6/9 lifeboat run --now: both services in tier order, each backup written to both sites"
"$lifeboat" run --plan "$plan" --now --state-dir "$demo/state"
echo "    run again without --now: only what is due by its schedule runs"
"$lifeboat" run --plan "$plan" --state-dir "$demo/state"
echo "==> 7/9 lifeboat status: does every RPO hold at every site?"
"$lifeboat" status --plan "$plan"
echo "==> 8/9 restore both services from the secondary site and check them"
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
echo "==> 9/9 lifeboat drill --all --site secondary: recover both services into a sandbox, bring the"
echo "    shop up, check it, and measure RTO and RPO against the plan"
"$lifeboat" drill --all --site secondary --plan "$plan" --sandbox "$demo/drills" \
  --html "$demo/drill-report.html"
echo "==> OK: every RPO holds, both services restore intact, and the drill proved they recover"
