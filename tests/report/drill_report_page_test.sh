#!/usr/bin/env bash
# `lifeboat drill --html FILE` from the outside, and its page in a real browser: a plan with one
# local site and three services: app-data passes (its files verified, a command check reads a
# restored file), broken depends on it and fails (its check prints a script tag and exits 1),
# after-broken depends on broken and is skipped. The services are backed up by `lifeboat run`,
# drilled by the real binary with --html, and the page is checked as text (every service, the
# RTO/RPO cells with their marks, one Gantt bar per step that ran, every script tag of the plan
# and of the outputs escaped), then opened in headless Chromium (check_page.py): no console
# error, nothing fetched, the timeline laid out, a screenshot kept.
#
#   tests/report/drill_report_page_test.sh LIFEBOAT [--browser SCREENSHOT_DIR]
#
# Without --browser the page is only generated and read (the test of every build); with it, it
# is also opened in Chromium and its screenshot goes to SCREENSHOT_DIR (ctest label `server`:
# the release build with LIFEBOAT_SERVER_TESTS; Debian's chromium, scripts/install-deps.sh
# --servers). Prints every check; exits 0 when all passed, 1 otherwise, 2 on bad usage.
set -uo pipefail

if { [ $# -ne 1 ] && [ $# -ne 3 ]; } || [ ! -x "$1" ] || { [ $# -eq 3 ] && [ "$2" != --browser ]; }; then
  echo "usage: $0 path/to/lifeboat [--browser screenshot-dir]" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
SHOTS="${3:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh"
lb_test_init drill-report
unset LIFEBOAT_PLAN
cd "$WORK" || exit 1

echo "drill-report-password" >pass
mkdir -p data/app data/broken
echo "hello from app-data" >data/app/hello.txt
for i in $(seq 1 20); do head -c 3000 /dev/urandom >"data/app/file-$i.bin"; done
echo "broken" >data/broken/readme.txt
cat >plan.yaml <<EOF
version: 1
sites:
  local:
    repository: $WORK/site
    password_file: $WORK/pass
services:
  app-data:
    owner: "<script>console.error('injected from the plan')</script>"
    tier: 1
    rpo: 1h
    rto: 10m
    sources:
      - paths: [$WORK/data/app]
    sites: [local]
    verify:
      - files: {}
      - command: {run: "cat \$LIFEBOAT_RESTORE_DIR$WORK/data/app/hello.txt", expect_output: "hello from app-data"}
  broken:
    tier: 2
    rpo: 1h
    rto: 2s
    depends_on: [app-data]
    sources:
      - paths: [$WORK/data/broken]
    sites: [local]
    verify:
      - command: {run: "echo \"<script>console.error('injected from an output')</script>\"; exit 1"}
        timeout: 20s
      - tcp: {port: 9}
  after-broken:
    tier: 3
    rpo: 1d
    depends_on: [broken]
    sources:
      - paths: [$WORK/data/app]
    sites: [local]
EOF
expect_rc "plan init" 0 lb plan init --plan plan.yaml
expect_rc "run --now backs the three services up" 0 lb run --plan plan.yaml --now --state-dir "$WORK/state"

expect_rc "the drill fails (broken), exit 3" 3 \
  lb drill --all --plan plan.yaml --sandbox "$WORK/drills" --html "$WORK/drill-report.html"
check_has "it says where the page is" "$WORK/out" "drill report written to $WORK/drill-report.html"
expect_rc "--json with --html: one JSON document on stdout" 3 \
  lb --json drill --all --plan plan.yaml --sandbox "$WORK/drills" --html "$WORK/drill-report-2.html"
check "--json: stdout is the drill's JSON alone, and the page was written" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["message_type"] == "drill" and d["exit_status"] == 3, d
' "$WORK/out"
cp "$WORK/out" "$WORK/drill.json"
check "the second page exists" [ -s "$WORK/drill-report-2.html" ]
expect_rc "a page that cannot be written is an error" 1 \
  lb drill app-data --plan plan.yaml --sandbox "$WORK/drills" --html "$WORK/pass/x.html"
check_has "naming --html" "$WORK/err" "--html $WORK/pass/x.html"

page="$WORK/drill-report.html"
check_lacks "no script element in the page" "$page" "<script"
check_has "the plan's script tag is text" "$page" \
  "&lt;script&gt;console.error(&#39;injected from an output&#39;)&lt;/script&gt;"
check_has "the verdict" "$page" '<p class="bad">FAILED: 1 passed, 1 failed, 1 skipped.</p>'
for s in app-data broken after-broken; do
  check_has "$s has its section" "$page" "<h2>$s (tier "
done
check_has "app-data: RTO met against 10m" "$page" "of 10m, ✓ met</td>"
check_has "app-data: RPO met against 1h" "$page" "of 1h, ✓ met</td>"
check_has "broken: not recovered against its 2s target" "$page" \
  '<td class="muted">not recovered (target 2s)</td>'
check_has "broken: the failing step" "$page" "<td class=\"bad\">command &#39;echo"
check_has "after-broken: skipped, naming broken" "$page" "it depends on broken"
check_has "app-data: files restored" "$page" "21 files, "
check "one Gantt bar per step that ran, the failed one marked" python3 -c '
import json, re, sys
page = open(sys.argv[1]).read()
d = json.load(open(sys.argv[2]))
bars = re.findall(r"<rect class=\"bar bar-(restore|recover|verify)( bar-failed)?\"", page)
ran = [st for s in d["services"] for st in s["steps"] if st["result"] != "not_run"]
assert len(bars) == len(ran), (len(bars), len(ran))
assert sum(1 for b in bars if b[1]) == sum(1 for st in ran if st["result"] == "failed") == 1
# Each service with an RTO target has it named on its row (a tick where it falls on the axis).
assert ">RTO 10m" in page and ">RTO 2s" in page
' "$page" "$WORK/drill.json"

if [ -z "$SHOTS" ]; then
  lb_test_finish
  exit
fi
mkdir -p "$SHOTS"
check "the page opens in Chromium without an error, fetches nothing, and draws its timeline" \
  /usr/bin/python3 "$HERE/check_page.py" --screenshot-dir "$SHOTS" --min-svg 1 \
  --text "<script>console.error('injected from an output')</script>" \
  --text "Recovery timeline" --text "FAILED: 1 passed, 1 failed, 1 skipped." \
  "$page"
check "the screenshot is a PNG file" python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
' "$SHOTS/drill-report.png"

lb_test_finish
