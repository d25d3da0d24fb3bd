#!/usr/bin/env bash
# `lifeboat plan bia` from the outside, on real local repositories: a plan of three services at
# two priced sites (db; app, which depends on db and holds a copy of db's data, so the two share
# blobs; wiki, whose tiny impact makes it over-protected at an absurd offsite price), `plan init`,
# `run --now` (backups and the copy to the offsite site), a drill record of db (passed) and one of
# app (failed) stored at the local site as record objects (drill_records_fixture, the §12.1 JSON
# by hand, as in drill_history_page_test.sh); then the BIA in all three formats. The stored bytes are checked against `stats --mode raw-data --service`
# (the engine's own measurement), the monthly costs against bytes x price, the critical path and
# verdicts against hand-computed values; a site that does not exist is named, never skipped;
# --offline reads no site. With --browser the HTML page is opened in headless Chromium
# (check_page.py): no console error, nothing fetched, the charts drawn, the plan's script tags
# shown as text; a screenshot is kept.
#
#   tests/report/bia_page_test.sh LIFEBOAT DRILL_RECORDS_FIXTURE [--browser SCREENSHOT_DIR]
#
# Prints every check; exits 0 when all passed, 1 otherwise, 2 on bad usage.
set -uo pipefail

if { [ $# -ne 2 ] && [ $# -ne 4 ]; } || [ ! -x "$1" ] || [ ! -x "$2" ] ||
   { [ $# -eq 4 ] && [ "$3" != --browser ]; }; then
  echo "usage: $0 path/to/lifeboat path/to/drill_records_fixture [--browser screenshot-dir]" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
FIXTURE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
SHOTS="${4:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh"
lb_test_init bia
unset LIFEBOAT_PLAN
cd "$WORK" || exit 1
STATE="$WORK/state"

echo "bia-password" >pass
mkdir -p data/db data/app data/wiki
head -c 3000000 /dev/urandom >data/db/table.bin
cp data/db/table.bin data/app/copy-of-db.bin   # shared with db: deduplicated between the two
head -c 1000000 /dev/urandom >data/app/uploads.bin
head -c 1000000 /dev/urandom >data/wiki/pages.bin   # 1 MB at 50 EUR/GiB offsite: ~0.58 EUR a year

SITES="sites:
  local:
    repository: $WORK/local
    password_file: $WORK/pass
    location: \"rack 4 <script>console.error('injected from a location')</script>\"
    price_per_gib_month: 0.02
  offsite:
    repository: $WORK/offsite
    password_file: $WORK/pass
    role: offsite
    price_per_gib_month: 50"
SERVICES="services:
  db:
    owner: dba
    tier: 0
    rpo: 1h
    rto: 1h
    mtd: 4h
    impact: {downtime_cost_per_hour: 12000, data_loss_cost_per_hour: 50000}
    sources:
      - paths: [$WORK/data/db]
    sites: [local, offsite]
    verify:
      - files: {}
  app:
    owner: \"<script>console.error('injected from the plan')</script>\"
    tier: 1
    rpo: 1h
    rto: 2h
    mtd: 2h30m
    depends_on: [db]
    impact:
      downtime_cost_per_hour: 3000
      data_loss_cost_per_hour: 800
      notes: \"<b>bold</b> & <script>console.error('injected from notes')</script>\"
    sources:
      - paths: [$WORK/data/app]
    sites: [local, offsite]
  wiki:
    tier: 3
    rpo: 1d
    rto: 1h
    mtd: 1w
    impact: {downtime_cost_per_hour: 0.01, data_loss_cost_per_hour: 0.01}
    sources:
      - paths: [$WORK/data/wiki]
    sites: [local, offsite]"
printf 'version: 1\ncurrency: EUR\n%s\n%s\n' "$SITES" "$SERVICES" >plan.yaml

expect_rc "plan init creates both sites" 0 lb plan init --plan plan.yaml
expect_rc "run --now backs up every service and copies it offsite" 0 \
  lb run --state-dir "$STATE" --plan plan.yaml --now
# The drill records: db passed 2 days ago (RTO 25m, RPO 4m), app failed yesterday.
/usr/bin/python3 - "$WORK/drills.json" "$(date +%s)" <<'PY'
import json, sys, time
NS = 10**9
now = int(sys.argv[2]) * NS
def t(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // NS)) + ".%09dZ" % (ns % NS)
def record(n, service, start, seconds, result, rto_target):
    r = {"id": ("%032x" % (n + 1)), "drill_id": "%032x" % (n + 100), "service": service,
         "site": "local", "start": t(start), "end": t(start + seconds * NS), "wave": 0,
         "snapshots": [], "achieved_rpo_ns": 240 * NS, "rto_target_ns": rto_target,
         "rpo_target_ns": 3600 * NS, "bytes_restored": 3000000, "files_restored": 1,
         "result": result, "host": "dr1", "program_version": "lifeboat 0.1.0", "tools": [],
         "steps": [{"name": "restore " + service, "kind": "restore", "start": t(start),
                    "end": t(start + seconds * NS), "result": result}]}
    if result == "passed":
        r["achieved_rto_ns"] = seconds * NS
    else:
        r["error"] = "verify check failed: <script>console.error('injected from an error')</script>"
    return r
json.dump({"version": 2, "records": [], "drills": [
    record(0, "db", now - 2 * 86400 * NS, 1500, "passed", 3600 * NS),
    record(1, "app", now - 86400 * NS, 300, "failed", 7200 * NS)]}, open(sys.argv[1], "w"))
PY
check "the drill records are stored at the local site" "$FIXTURE" "$WORK/local" "$WORK/pass" "$WORK/drills.json"

# --- JSON
expect_rc "plan bia --format json" 0 lb plan bia --plan plan.yaml --format json
cp "$WORK/out" bia.json
check_eq "no warning on a healthy plan" "" "$(cat "$WORK/err")"
expect_rc "--json is the same document" 0 lb --json plan bia --plan plan.yaml
check "--json: the same services and verdicts" /usr/bin/python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert [s["verdict"] for s in a["services"]] == [s["verdict"] for s in b["services"]]
' bia.json "$WORK/out"
for svc in db app wiki; do
  for site in local offsite; do
    lb --json stats --mode raw-data --service "$svc" --repo "$WORK/$site" --password-file pass \
      >"stats-$svc-$site.json" 2>"$WORK/err" || bad "stats --service $svc at $site"
  done
done
for site in local offsite; do
  lb --json stats --mode raw-data --repo "$WORK/$site" --password-file pass \
    >"stats-all-$site.json" 2>"$WORK/err" || bad "stats at $site"
done
check "stored bytes: referenced = stats --service, shares add up to the site, costs = bytes x price" \
  /usr/bin/python3 -c '
import json, sys
d = json.load(open("bia.json"))
assert d["message_type"] == "plan_bia" and d["version"] == 1 and not d["offline"], d
s = {x["service"]: x for x in d["services"]}
price = {"local": 0.02, "offsite": 50.0}
for name in ("db", "app", "wiki"):
    for e in s[name]["exposure"]["sites"]:
        st = json.load(open("stats-%s-%s.json" % (name, e["site"])))
        assert e["referenced_bytes"] == st["total_stored_size"], (name, e, st)
        assert 0 < e["exclusive_bytes"] <= e["stored_bytes"] <= e["referenced_bytes"], (name, e)
        want = round(e["stored_bytes"] / 2**30 * price[e["site"]], 2)
        assert abs(e["monthly_cost"] - want) < 0.006, (name, e, want)
        assert e["state"] == "ok", (name, e)
# db and app share the 3 MB file: app references it fully, is attributed half of it.
for site in ("local", "offsite"):
    db = [e for e in s["db"]["exposure"]["sites"] if e["site"] == site][0]
    app = [e for e in s["app"]["exposure"]["sites"] if e["site"] == site][0]
    assert app["referenced_bytes"] - app["exclusive_bytes"] > 2_500_000, app
    assert db["referenced_bytes"] - db["stored_bytes"] > 1_000_000, db
    total = json.load(open("stats-all-%s.json" % site))["total_stored_size"]
    summary = [x for x in d["sites"] if x["site"] == site][0]
    assert summary["read"] and summary["services_bytes"] + summary["other_bytes"] == total, (summary, total)
    assert summary["shared_bytes"] > 2_500_000, summary
    shares = sum(e["stored_bytes"] for n in ("db", "app", "wiki")
                 for e in s[n]["exposure"]["sites"] if e["site"] == site)
    assert shares == summary["services_bytes"], (shares, summary)
'
check "critical path, chains, costs and verdicts as computed by hand" /usr/bin/python3 -c '
import json
d = json.load(open("bia.json"))
s = {x["service"]: x for x in d["services"]}
# app: 2h + db 1h = 3h > its MTD 2h30m.
assert s["app"]["critical_path"] == {"rto_seconds": 10800, "services": ["db", "app"],
                                     "without_rto": [], "meets_mtd": False}, s["app"]["critical_path"]
assert s["db"]["critical_path"]["meets_mtd"] is True
chain = [c for c in d["chains"] if [m["service"] for m in c["members"]] == ["db", "app"]][0]
assert chain["meets_mtd"] is False and chain["members"][1]["exceeds_mtd"] is True, chain
assert chain["members"][0]["finish_seconds"] == 3600 and chain["members"][1]["finish_seconds"] == 10800
# db: one RTO (1h) of downtime 12000 + one RPO (1h) of data 50000.
o = s["db"]["outage_impacts"]
assert o["downtime_cost_at_rto"] == 12000 and o["data_loss_cost_at_rpo"] == 50000, o
assert o["loss_per_incident"] == 62000 and o["downtime_cost_at_mtd"] == 48000, o
assert s["app"]["outage_impacts"]["downtime_cost_at_critical_path"] == 9000
assert s["app"]["outage_impacts"]["loss_per_incident"] == 9800
# wiki: 1h x 0.01 + 24h x 0.01 = 0.25 per incident, a year at 50 EUR/GiB offsite costs more.
assert s["wiki"]["outage_impacts"]["loss_per_incident"] == 0.25
assert s["wiki"]["protection"]["annual_cost"] > 0.25, s["wiki"]["protection"]
assert s["wiki"]["verdict"] == "over_protected", s["wiki"]
assert s["app"]["verdict"] == "under_protected"
kinds = [g["kind"] for g in s["app"]["gaps"]]
assert "mtd_exceeded" in kinds and "no_immutable_copy" in kinds, kinds
# db: drilled for real; the achieved RTO and RPO come from the record.
ld = s["db"]["exposure"]["last_drill"]
assert ld["result"] == "passed" and ld["site"] == "local", ld
assert ld["achieved_rto_seconds"] == 1500 and ld["rto_target_seconds"] == 3600, ld
assert ld["achieved_rpo_seconds"] == 240, ld
assert s["app"]["exposure"]["last_drill"]["result"] == "failed"
assert "failed" in kinds and "never_drilled" not in kinds, kinds
assert s["db"]["exposure"]["drills"] == 1 and s["db"]["exposure"]["copies"] == 3
assert s["db"]["exposure"]["sites"][0]["immutability"] == "none"
assert [w["services"][0]["service"] for w in d["waves"]] == ["db", "app"], d["waves"]
assert s["app"]["resources"]["depends_on"] == ["db"] and s["db"]["resources"]["needed_by"] == ["app"]
'

# --- Markdown (the default)
expect_rc "plan bia (Markdown by default)" 0 lb plan bia --plan plan.yaml
for heading in "# Business impact analysis" "## 1. Mission/business processes and recovery criticality" \
  "### 1.2 Outage impacts" "### 1.3 Critical-path RTO against MTD" "## 2. Resource requirements" \
  "## 3. Recovery priorities" "## 4. Exposure" "## 5. Cost efficiency"; do
  check_has "Markdown: $heading" "$WORK/out" "$heading"
done
check_has "the flagged chain" "$WORK/out" "| db -> app | 3h | **NO** | db 1h / 4h; app 3h / 2h30m EXCEEDED |"
check_has "the recovery order" "$WORK/out" "- wave 1: 1. db (tier 0)"
check_has "db's last drill against target" "$WORK/out" "from local: passed | 25m / 1h | 4m / 1h |"
check_lacks "no raw script tag in the Markdown" "$WORK/out" "<script"

# --- a site that cannot be read is named
sed "s|    sites: \[local, offsite\]\$|    sites: [local, offsite, gone]|" plan.yaml >plan-gone.yaml
/usr/bin/python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
text = open(w + "/plan-gone.yaml").read()
text = text.replace("services:\n", "  gone:\n    repository: %s/gone\n    password_file: %s/pass\n    role: secondary\nservices:\n" % (w, w), 1)
open(w + "/plan-gone.yaml", "w").write(text)
PY
expect_rc "a missing site is no failure of the BIA" 0 lb plan bia --plan plan-gone.yaml --format json
check_has "it is warned about on stderr" "$WORK/err" "site gone cannot be read"
check "it is named in the document" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = [x for x in d["sites"] if x["site"] == "gone"][0]
assert g["read"] is False and g["error"], g
e = [x for x in d["services"][0]["exposure"]["sites"] if x["site"] == "gone"][0]
assert e["state"] == "unreachable" and e["error"], e
assert "site_unreadable" in [x["kind"] for x in d["services"][0]["gaps"]]
assert any("gone" in w for w in d["warnings"])
' "$WORK/out"
expect_rc "--offline reads no site" 0 lb plan bia --plan plan-gone.yaml --offline --format json
check "offline: nothing measured, nothing warned" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["offline"] is True and d["warnings"] == [], d["warnings"]
assert all(x["read"] is False for x in d["sites"])
assert all(e["stored_bytes"] is None for s in d["services"] for e in s["exposure"]["sites"])
' "$WORK/out"
expect_rc "--json and --format html exclude each other" 2 lb --json plan bia --plan plan.yaml --format html

# --- HTML
expect_rc "--format html --out" 0 lb plan bia --plan plan.yaml --format html --out "$WORK/bia.html"
check_has "it says where it wrote" "$WORK/out" "business impact analysis written to $WORK/bia.html"
check_lacks "no script element in the page" "$WORK/bia.html" "<script"
check_lacks "no markup from the plan in the page" "$WORK/bia.html" "<b>bold"
check_has "the plan's script tag is text" "$WORK/bia.html" \
  "&lt;script&gt;console.error(&#39;injected from the plan&#39;)&lt;/script&gt;"
check "two charts" [ "$(grep -c '<svg' "$WORK/bia.html")" -ge 2 ]
if [ -z "$SHOTS" ]; then
  lb_test_finish
  exit
fi
mkdir -p "$SHOTS"
check "the page opens in Chromium without an error, fetches nothing, and draws its charts" \
  /usr/bin/python3 "$HERE/check_page.py" --screenshot-dir "$SHOTS" --min-svg 2 \
  --text "<script>console.error('injected from the plan')</script>" \
  --text "<b>bold</b> & <script>console.error('injected from notes')</script>" \
  --text "Cost of protection per year against the loss of one incident at target" \
  --text "over_protected" \
  "$WORK/bia.html"
check "the screenshot is a PNG file" /usr/bin/python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
' "$SHOTS/bia.png"

lb_test_finish
