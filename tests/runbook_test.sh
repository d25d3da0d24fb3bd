#!/usr/bin/env bash
# The runbook's commands really recover the demo services, run by hand on a fresh machine: the
# demo plan of scripts/setup.sh (its plan text taken from the script, with a free HTTP port) is
# backed up to its two sites, `lifeboat runbook` writes the Markdown runbook, and for each site
# the command blocks of that site (doc/runbook.md, "Running the commands of one site") are taken
# from it and run by bash in an empty directory, with an empty HOME and an environment that holds
# only PATH (a directory with nothing but the release `lifeboat`, then /usr/bin:/bin). Then: the
# restored files equal the demo's (diff -r), the SQLite database passes integrity_check with all
# its rows, and the shop's files are served over HTTP by the process the runbook started.
#
#   tests/runbook_test.sh LIFEBOAT_TESTING LIFEBOAT [--browser SCREENSHOT_DIR]
#
# LIFEBOAT_TESTING (cheap keys) sets the demo up; LIFEBOAT (the release binary) is the one on the
# fresh machine's PATH. With --browser the HTML runbook of a plan with script tags in its strings
# and an unreadable site is opened in headless Chromium (tests/report/check_page.py; ctest label
# `server`). Prints every check; exits 0 when all passed, 1 otherwise, 2 on bad usage.
set -uo pipefail

if { [ $# -ne 2 ] && [ $# -ne 4 ]; } || [ ! -x "$1" ] || [ ! -x "$2" ] ||
   { [ $# -eq 4 ] && [ "$3" != --browser ]; }; then
  echo "usage: $0 path/to/lifeboat_testing path/to/lifeboat [--browser screenshot-dir]" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
RELEASE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
SHOTS="${4:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
# shellcheck source=tests/lib.sh
source "$HERE/lib.sh"
lb_test_init runbook
unset LIFEBOAT_PLAN
cd "$WORK" || exit 1
export XDG_CACHE_HOME="$WORK/cache"

# Every server a runbook started is stopped on every exit path (its pid files).
on_exit() {
  local pid
  for pid in "$WORK"/fresh-*/recovery/logs/*.pid; do
    [ -e "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
  done
}

# --- the demo: its data as scripts/setup.sh makes it (smaller), and its plan text from the script
demo="$WORK/demo"
mkdir -p "$demo/sample" "$demo/state"
cp -r "$ROOT/doc" "$demo/sample/"
cp -r "$ROOT/src/plan" "$demo/sample/plan-src"
head -c 1048576 /dev/urandom >"$demo/sample/random.bin"
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
head -c 24 /dev/urandom | base64 >"$demo/password"
chmod 600 "$demo/password"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
plan_text=$(sed -n '/^cat > "\$plan" <<PLAN$/,/^PLAN$/p' "$ROOT/scripts/setup.sh" | sed '1d;$d')
check "the demo plan is found in scripts/setup.sh" [ -n "$plan_text" ]
# The heredoc of setup.sh is unquoted: expand it as the script does, with $demo set and $port
# (the shop's port there) a free one here.
eval "cat >\"\$demo/lifeboat.yaml\" <<PLAN
$plan_text
PLAN"
check_has "the shop's port is a free one" "$demo/lifeboat.yaml" "ports: {http: $port}"
plan="$demo/lifeboat.yaml"

expect_rc "plan init" 0 lb plan init --plan "$plan"
expect_rc "run --now backs both services up to both sites" 0 \
  lb run --plan "$plan" --now --state-dir "$demo/state"

# --- the runbook
expect_rc "runbook --out" 0 lb runbook --plan "$plan" --out "$WORK/runbook.md" \
  --recovery-dir /var/tmp/not-used-by-this-test
check_has "it says where it wrote" "$WORK/out" "runbook written to $WORK/runbook.md"
expect_rc "runbook on standard output" 0 lb runbook --plan "$plan" --recovery-dir /var/tmp/not-used-by-this-test
# The same document but for the time it was generated at (a line with "UTC").
check "standard output and --out are the same document" \
  diff <(grep -v ' UTC' "$WORK/out") <(grep -v ' UTC' "$WORK/runbook.md")
for s in "## 2. Activation and notification" "## 3. Recovery" "## 4. Reconstitution" \
         "## Appendix A. Drill results" "#### Wave 1: orders-db (tier 0, RTO 30m)" \
         "#### Wave 2: shop-files (tier 1, RTO 2h)" \
         "export LIFEBOAT_PASSWORD_FILE='$demo/password'" \
         "lifeboat restore latest --repo '$demo/sites/secondary' --service 'orders-db' --source 'orders' --target \"\$LIFEBOAT_RESTORE_DIR\" --verify"; do
  check_has "the runbook has: $s" "$WORK/runbook.md" "$s"
done
check_lacks "no password in the runbook" "$WORK/runbook.md" "$(cat "$demo/password")"

# The blocks of one site, in document order (doc/runbook.md, "Running the commands of one site").
site_script() {  # site_script RUNBOOK.md SITE
  /usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
text, site = open(sys.argv[1]).read(), sys.argv[2]
out = []
for m in re.finditer(r"^(`{3,})sh\n(.*?)^\1$", text, re.S | re.M):
    body = m.group(2)
    marker = dict(kv.split("=", 1) for kv in body.split("\n", 1)[0]
                  .removeprefix("# lifeboat-runbook: ").split())
    if marker.get("part") == "prepare" and marker.get("site") == site:
        out.insert(0, body)
    elif "service" in marker and marker.get("site", site) == site:
        out.append(body)
sys.stdout.write("".join(out))
PY
}

for site in secondary primary; do
  fresh="$WORK/fresh-$site"
  mkdir -p "$fresh/bin" "$fresh/home" "$fresh/cwd"
  ln -s "$RELEASE" "$fresh/bin/lifeboat"
  # The recovery directory inside the test's directory, as the runbook's default.
  lb runbook --plan "$plan" --recovery-dir "$fresh/recovery" >"$fresh/runbook.md"
  site_script "$fresh/runbook.md" "$site" >"$fresh/recover.sh"
  check "$site: the script has the prepare block and 2 x env, restore, verify and 1 start" [ \
    "$(grep -c '^# lifeboat-runbook: ' "$fresh/recover.sh")" = 8 ]
  # A fresh machine: an empty directory and HOME, nothing in the environment but PATH.
  (cd "$fresh/cwd" && env -i PATH="$fresh/bin:/usr/bin:/bin" HOME="$fresh/home" \
    bash -e "$fresh/recover.sh") >"$fresh/log" 2>&1
  rc=$?
  check_eq "$site: the runbook's commands ran to the end" 0 "$rc"
  [ "$rc" = 0 ] || sed 's/^/    | /' "$fresh/log" | tail -n 30
  check_eq "$site: the fresh PATH finds that lifeboat alone" "$fresh/bin/lifeboat" \
    "$(env -i PATH="$fresh/bin:/usr/bin:/bin" bash -c 'command -v lifeboat')"
  check_has "$site: lifeboat verified the restored files" "$fresh/log" \
    "files against the snapshot"
  check_has "$site: the database's check passed" "$fresh/log" "ok 1000 1501500"
  r="$fresh/recovery/services"
  check "$site: the shop's files are identical to the demo's" \
    diff -r --no-dereference "$demo/sample" "$r/shop-files$demo/sample"
  check_eq "$site: the database passes integrity_check with every order" "ok 1000 1501500" \
    "$(/usr/bin/python3 - "$r/orders-db$demo/orders.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("pragma integrity_check").fetchone()[0],
      *db.execute("select count(*), sum(amount) from orders").fetchone())
PY
)"
  check "$site: the shop is served over HTTP by the process the runbook started" \
    sh -c "curl -sS --max-time 10 http://127.0.0.1:$port/doc/plan.md | grep '^# The plan file' >/dev/null"
  check "$site: the lifeboat home stayed empty of secrets (no password file written)" \
    sh -c "! grep -rqF -- \"\$(cat '$demo/password')\" '$fresh/home'"
  for pid in "$fresh"/recovery/logs/*.pid; do kill "$(cat "$pid")" 2>/dev/null; rm -f "$pid"; done
  sleep 0.3
done

# The runbook's commands can fail: with a wrong password the first block stops the script.
fresh="$WORK/fresh-wrong"
mkdir -p "$fresh/bin" "$fresh/home"
ln -s "$RELEASE" "$fresh/bin/lifeboat"
site_script "$WORK/fresh-secondary/runbook.md" secondary | sed "s|export LIFEBOAT_PASSWORD_FILE=.*|export LIFEBOAT_PASSWORD_FILE='$fresh/wrong'|" \
  >"$fresh/recover.sh"
echo "not the password" >"$fresh/wrong"
(cd "$fresh" && env -i PATH="$fresh/bin:/usr/bin:/bin" HOME="$fresh/home" \
  RECOVERY_DIR="$fresh/recovery" bash -e "$fresh/recover.sh") >"$fresh/log" 2>&1
check "a wrong password stops the commands at once (exit 12)" [ $? = 12 ]
check "and nothing was restored" [ ! -e "$fresh/recovery/services/orders-db/$demo" ]

# --- HTML, with script tags in the plan's strings and a site that cannot be read
cat >"$WORK/hostile.yaml" <<EOF
version: 1
sites:
  primary:
    repository: $demo/sites/primary
    password_file: $demo/password
    location: "rack 4 <script>console.error('injected from a location')</script>"
  gone:
    repository: $WORK/no-such-site
    password_file: $demo/password
    role: offsite
services:
  orders-db:
    owner: "<script>console.error('injected from the plan')</script>"
    tier: 0
    rpo: 1h
    sources:
      - name: orders
        sqlite: {path: $demo/orders.db}
    sites: [primary, gone]
    verify:
      - command: {run: "echo '<script>alert(1)</script>'", expect_output: "</script>"}
contacts:
  carol:
    role: "incident <b>commander</b>"
    phone: "+1 555 0100"
EOF
expect_rc "runbook --format html" 0 lb runbook --plan "$WORK/hostile.yaml" --format html \
  --out "$WORK/runbook.html"
check_has "the unreadable site is named on stderr" "$WORK/err" "gone"
check_lacks "no script element in the page" "$WORK/runbook.html" "<script"
check_has "the plan's script tag is text" "$WORK/runbook.html" \
  "&lt;script&gt;console.error(&#39;injected from the plan&#39;)&lt;/script&gt;"
expect_rc "runbook --format md of the same plan" 0 lb runbook --plan "$WORK/hostile.yaml"
check_has "the coordinator is the incident contact" "$WORK/out" \
  "carol (incident &lt;b&gt;commander&lt;/b&gt;), phone +1 555 0100"
if [ -z "$SHOTS" ]; then
  lb_test_finish
  exit
fi
mkdir -p "$SHOTS"
check "the runbook page opens in Chromium without an error and fetches nothing" \
  /usr/bin/python3 "$HERE/report/check_page.py" --screenshot-dir "$SHOTS" \
  --text "<script>console.error('injected from the plan')</script>" \
  --text "3.3 Recovery procedures" --text "# lifeboat-runbook: service=orders-db part=verify" \
  "$WORK/runbook.html"
check "the screenshot is a PNG file" /usr/bin/python3 -c '
import sys
with open(sys.argv[1], "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
' "$SHOTS/runbook.png"
lb_test_finish
