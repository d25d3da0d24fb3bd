#!/usr/bin/env bash
# The daemon's dashboard (src/dashboard) from the outside: dashboard_fixture serves the fixed
# sample state (two sites, four services, an open failover with its timeline) on a free loopback
# port; the page, /metrics and /api/v1/status are fetched and read (python3's urllib), then, with
# --browser, the page is opened in headless Chromium (check_page.py): no console error, nothing
# fetched but the page itself, no script, the texts with <script> tags shown as text, a
# screenshot kept (dashboard.png: the README's picture, doc/img/dashboard.png).
#
#   tests/report/dashboard_page_test.sh DASHBOARD_FIXTURE [--browser SCREENSHOT_DIR]
#
# Without --browser only the HTTP answers are checked (the test of every build); with it
# (ctest label `server`: Debian's chromium) the page is also opened in Chromium. The fixtures
# are stopped on every exit path. Prints every check; exits 0 when all passed, 1 otherwise, 2 on
# bad usage.
set -uo pipefail

if { [ $# -ne 1 ] && [ $# -ne 3 ]; } || [ ! -x "$1" ] || { [ $# -eq 3 ] && [ "$2" != --browser ]; }; then
  echo "usage: $0 path/to/dashboard_fixture [--browser screenshot-dir]" >&2
  exit 2
fi
FIXTURE="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
SHOTS="${3:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh"
lb_test_init dashboard
cd "$WORK" || exit 1

PIDS=()
on_exit() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
}

# start_fixture NAME ARGS...: starts the fixture, sets PORT from its first line (10 s at most).
start_fixture() {
  local name="$1"; shift
  "$FIXTURE" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  PORT=""
  for _ in $(seq 1 100); do
    PORT="$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$WORK/$name.out")"
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "dashboard_fixture did not start:" >&2
  cat "$WORK/$name.err" >&2
  return 1
}

# fetch URL FILE [TOKEN]: the body into FILE, the status code on stdout.
fetch() {
  /usr/bin/python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 3:
    req.add_header("Authorization", "Bearer " + sys.argv[3])
try:
    with urllib.request.urlopen(req, timeout=20) as r:
        body, code = r.read(), r.status
except urllib.error.HTTPError as e:
    body, code = e.read(), e.code
open(sys.argv[2], "wb").write(body)
print(code)
PY
}

check "the hostile fixture starts" start_fixture hostile --hostile
HOSTILE="http://127.0.0.1:$PORT"
check_eq "GET / answers 200" 200 "$(fetch "$HOSTILE/" page.html)"
check_lacks "no script element in the page" page.html "<script"
check_has "the error's script tag is text" page.html \
  "http check: &lt;script&gt;console.error(&quot;injected from an error&quot;)&lt;/script&gt;"
check_has "the page reloads itself" page.html '<meta http-equiv="refresh" content="30">'
check_has "the open incident" page.html "failover 20261205T0912Z-5c1e from main-site to dr-site: open"
check_has "its timeline" page.html "billing-db: switched to dr-site (vip move 10.0.0.80)"
check_eq "GET /metrics answers 200" 200 "$(fetch "$HOSTILE/metrics" metrics.txt)"
check "every sample follows its # TYPE" /usr/bin/python3 -c '
import re, sys
typed = set()
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        typed.add(line.split()[2]); continue
    if line.startswith("#"): continue
    name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
    assert name in typed, line
assert "lifeboat_failover_state" in typed and "lifeboat_rpo_state" in typed
' metrics.txt
check_eq "GET /api/v1/status answers 200" 200 "$(fetch "$HOSTILE/api/v1/status" status.json)"
check "the status JSON: services, daemon, drills, incident" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["message_type"] == "status" and len(d["services"]) == 4, d.keys()
assert d["daemon"]["acting"] is True and d["daemon"]["fence"] == "etcd"
assert d["incident"]["state"] == "open" and len(d["incident"]["timeline"]) == 7
assert len(d["drills"]) == 4
' status.json

check "a fixture with a read token starts" start_fixture token --read-token s3cret
check_eq "without the token: 401" 401 "$(fetch "http://127.0.0.1:$PORT/" denied.json)"
check_eq "with it: 200" 200 "$(fetch "http://127.0.0.1:$PORT/metrics" allowed.txt s3cret)"

if [ -z "$SHOTS" ]; then
  lb_test_finish
  exit
fi
mkdir -p "$SHOTS"
check "the page opens in Chromium without an error and fetches nothing" \
  /usr/bin/python3 "$HERE/check_page.py" --screenshot-dir "$WORK" --shot-name hostile \
  --text "http check: <script>console.error(\"injected from an error\")</script>" \
  --text "verify check failed: <script>console.error(\"injected from a drill\")</script>" \
  --text "RPO compliance" --text "Timeline" "$HOSTILE/"
check "the clean fixture starts" start_fixture clean
check "the README's picture" \
  /usr/bin/python3 "$HERE/check_page.py" --screenshot-dir "$SHOTS" --shot-name dashboard \
  --width 1000 --max-height 1010 --text "Timeline" --text "RPO compliance" "http://127.0.0.1:$PORT/"
check "the screenshot is a PNG file under 200 KB (doc/img/dashboard.png)" python3 -c '
import os, sys
with open(sys.argv[1], "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
assert os.path.getsize(sys.argv[1]) < 200 * 1024, os.path.getsize(sys.argv[1])
' "$SHOTS/dashboard.png"

# The checker can fail on a served page too: one that loads an image from elsewhere.
printf '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/pixel.png" alt=""></body></html>\n' >fetch.html
check "a request that leaves a file is caught" /usr/bin/python3 "$HERE/check_page.py" --expect-problem "$WORK/fetch.html"

lb_test_finish
