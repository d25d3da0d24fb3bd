#!/usr/bin/env bash
# `lifeboat drill history` from the outside, and its HTML page in a real browser: a plan with two
# local sites, thirty-one weekly drills (the newest with a step made 50% slower) and one failed
# drill written into the sites' repositories as record objects (tests/report/make_drills.py, the
# §12.1 JSON by hand), the table, --json and --format md, then --format html opened in headless
# Chromium (check_page.py): no console error, nothing fetched, the charts laid out, every script
# tag of the plan and of the records shown as text; a screenshot of each page is kept.
#
#   tests/report/drill_history_page_test.sh LIFEBOAT DRILL_RECORDS_FIXTURE [--browser SCREENSHOT_DIR]
#
# Without --browser the page is only generated (the test of every build); with it, it is opened
# in Chromium and the screenshots go to SCREENSHOT_DIR (ctest label `server`: the release build
# with LIFEBOAT_SERVER_TESTS). Installs nothing: the browser part needs Debian's chromium
# (scripts/install-deps.sh --servers). Prints every check; exits 0 when all passed, 1 otherwise,
# 2 on bad usage.
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
lb_test_init drill-history
unset LIFEBOAT_PLAN
cd "$WORK" || exit 1

echo "drill-history-password" >pass
cat >plan.yaml <<EOF
version: 1
sites:
  local:
    repository: $WORK/local
    password_file: $WORK/pass
    location: "rack 4 <script>console.error('injected from a location')</script>"
  offsite:
    repository: $WORK/offsite
    password_file: $WORK/pass
    role: offsite
services:
  billing-db:
    owner: "<script>console.error('injected from the plan')</script>"
    tier: 0
    rpo: 15m
    rto: 1h
    drill_every: 8d
    sources:
      - paths: [/srv/billing]
    sites: [local, offsite]
  shop:
    tier: 1
    rpo: 1h
    rto: 2h
    depends_on: [billing-db]
    drill_every: 8d
    sources:
      - paths: [/srv/shop]
    sites: [local, offsite]
  wiki:
    tier: 3
    rpo: 1d
    sources:
      - paths: [/srv/wiki]
    sites: [local]
EOF
expect_rc "plan init creates both sites" 0 lb plan init --plan plan.yaml

# --- the records
python3 "$HERE/make_drills.py" "$WORK/objects" "$(date +%s)"
check "the offsite objects are stored" "$FIXTURE" "$WORK/offsite" "$WORK/pass" "$WORK"/objects/offsite-*.json
check "the local object is stored" "$FIXTURE" "$WORK/local" "$WORK/pass" "$WORK/objects/local-12.json"
# As `copy` would: the offsite records also at the local site (read twice, counted once).
check "copy carries the drill records" lb copy --repo "$WORK/local" --password-file pass \
  --from "$WORK/offsite" --from-password-file pass

expect_rc "cat drills" 0 lb --json cat drills --repo "$WORK/local" --password-file pass
check "cat drills: the local site holds all 63 drills, one per id" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["drills"]) == 63 and not d["unreadable"], (len(d["drills"]), d["unreadable"])
assert len({r["id"] for r in d["drills"]}) == 63
' "$WORK/out"

# --- the table
expect_rc "drill history" 0 lb drill history --plan plan.yaml
check_has "billing-db has 32 drills" "$WORK/out" "billing-db (tier 0, owner <script>console.error('injected from the plan')</script>): 32 drills; RTO target 1h, RPO target 15m, drill_every 1w1d"
check_has "the newest drill is flagged at once, with its step" "$WORK/out" \
  "! the RTO of billing-db from offsite regressed: 1m55s is 35% above the median of the last 5 drills (1m26s); step postgres_restore took 49% longer than its median"
check_has "its row says so" "$WORK/out" "RTO regressed +35%"
check_has "the failed local drill is listed" "$WORK/out" "  local    failed"
check_has "shop waited longer for billing-db: its RTO regressed too, and the wait is named" \
  "$WORK/out" "! the RTO of shop from offsite regressed: 2m22s is 26% above the median of the last 5 drills (1m53s); the wait for earlier waves took 35% longer than its median"
check_has "wiki was never drilled" "$WORK/out" "! service wiki was never drilled"
check "the table has one row per drill" [ "$(grep -c '  offsite  passed' "$WORK/out")" = 62 ]

# --- --json
expect_rc "drill history --json" 0 lb --json drill history --plan plan.yaml
check "--json: 32 + 31 drills, duplicates read twice and counted once, the regression" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["service"]: x for x in d["services"]}
assert d["sites_read"] == ["local", "offsite"], d["sites_read"]
assert d["duplicates"] == 62, d["duplicates"]
assert len(s["billing-db"]["drills"]) == 32 and len(s["shop"]["drills"]) == 31
assert [f["kind"] for f in s["billing-db"]["findings"]] == ["rto_regressed"]
assert s["billing-db"]["drills"][-1]["findings"][0]["step"] == "postgres_restore"
assert s["wiki"]["findings"][0]["kind"] == "never_drilled"
assert sum(1 for r in s["billing-db"]["drills"] if r["findings"]) == 2  # the failed one, the slow one
' "$WORK/out"
expect_rc "--service and --site select" 0 lb --json drill history --plan plan.yaml --service billing-db --site local
check "only the local drill of billing-db" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["service"] for x in d["services"]] == ["billing-db"]
assert [r["site"] for r in d["services"][0]["drills"]] == ["local"]
' "$WORK/out"
expect_rc "an unknown service is a usage error" 2 lb drill history --plan plan.yaml --service shpo
check_has "it names the plan's services" "$WORK/err" "it has billing-db, shop, wiki"
expect_rc "--json and --format exclude each other" 2 lb --json drill history --plan plan.yaml --format md

# --- Markdown
expect_rc "--format md" 0 lb drill history --plan plan.yaml --format md
check_has "a Markdown table" "$WORK/out" "| date (UTC) | site | result | RTO / target | RPO / target | slowest step | flags |"

# --- HTML, in a browser
expect_rc "--format html --out" 0 lb drill history --plan plan.yaml --format html --out "$WORK/drill-history.html"
check_has "it says where it wrote" "$WORK/out" "drill history written to $WORK/drill-history.html"
expect_rc "one service's page" 0 lb drill history --plan plan.yaml --service shop --format html --out "$WORK/drill-history-shop.html"
check_lacks "no script element in the page" "$WORK/drill-history.html" "<script"
check_has "the plan's script tag is text" "$WORK/drill-history.html" \
  "&lt;script&gt;console.error(&#39;injected from the plan&#39;)&lt;/script&gt;"
if [ -z "$SHOTS" ]; then
  lb_test_finish
  exit
fi
mkdir -p "$SHOTS"
check "the pages open in Chromium without an error, fetch nothing, and draw their charts" \
  /usr/bin/python3 "$HERE/check_page.py" --screenshot-dir "$SHOTS" --min-svg 3 \
  --text "<script>console.error('injected from the plan')</script>" \
  --text "verify check failed: <script>console.error(\"injected from an error\")</script>" \
  --text "Recovery timeline" \
  "$WORK/drill-history.html"
check "the one-service page too" /usr/bin/python3 "$HERE/check_page.py" --screenshot-dir "$SHOTS" \
  --min-svg 3 --text "shop (tier 1)" "$WORK/drill-history-shop.html"
check "the screenshots are PNG files" python3 -c '
import sys
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", p
' "$SHOTS/drill-history.png" "$SHOTS/drill-history-shop.png"

# --- the checker itself can fail: a console error, and a page that fetches something.
printf '<!DOCTYPE html><html><body><p>x</p><script>console.error("planted")</script></body></html>\n' >console.html
printf '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/pixel.png" alt=""></body></html>\n' >fetch.html
check "a console error is caught" /usr/bin/python3 "$HERE/check_page.py" --expect-problem "$WORK/console.html"
check "a request that leaves the file is caught" /usr/bin/python3 "$HERE/check_page.py" --expect-problem "$WORK/fetch.html"

lb_test_finish
