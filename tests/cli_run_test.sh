#!/usr/bin/env bash
# End-to-end test of `lifeboat plan init`, `lifeboat run` and `lifeboat plan install-timer`
# (doc/run.md): a plan with two services (one a SQLite database) and a dependency over two local
# sites with sync replication; init creates the origin and a replica; run --now backs both up to
# both sites; a second run has nothing due; --json is one JSON document; two runs at once never
# do the same service (the second names the holder); an unknown --service and a broken plan exit
# 2; install-timer writes units, enables nothing, refuses to overwrite a different unit without
# --force; --crontab prints the line. The password comes from a password_command and never
# appears in any output.
#
#   tests/cli_run_test.sh build/release/tests/lifeboat_testing
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
SLOW_PID=""
on_exit() { if [ -n "$SLOW_PID" ]; then kill "$SLOW_PID" 2>/dev/null; wait "$SLOW_PID" 2>/dev/null; fi; }
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init run
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/state" XDG_CACHE_HOME="$WORK/cache"
export XDG_CONFIG_HOME="$WORK/config"
unset LIFEBOAT_PLAN
STATE="$WORK/state/lifeboat"  # given with --state-dir: as root the default is /var/lib/lifeboat
mkdir -p "$HOME" "$WORK/data"
SECRET="cli-run-secret-4f81d0"
echo "$SECRET" > "$WORK/pw"
echo "some data" > "$WORK/data/file.txt"
python3 - "$WORK/app.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("create table t(x)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
db.commit()
EOF
PLAN="$WORK/lifeboat.yaml"
cat > "$PLAN" <<EOF
version: 1
sites:
  a:
    repository: $WORK/sites/a
    password_command: "cat $WORK/pw"
  b:
    repository: $WORK/sites/b
    password_command: "cat $WORK/pw"
    role: offsite
services:
  files:
    tier: 1
    rpo: 2d
    schedule: "@daily"
    depends_on: [db]
    sources:
      - paths: [$WORK/data]
    sites: [a, b]
    replication: sync
  db:
    tier: 0
    rpo: 2d
    schedule: "@daily"
    sources:
      - sqlite: {path: $WORK/app.db}
    sites: [a, b]
    replication: sync
  slow:
    tier: 3
    rpo: 2d
    schedule: "@daily"
    sources:
      - paths: [$WORK/data]
    sites: [a]
    hooks:
      before: ["sleep \${SLOW_SECONDS:-0}"]
EOF
ALL="$WORK/all-output"
: > "$ALL"
keep() { cat "$WORK/out" "$WORK/err" >> "$ALL"; }

expect_rc "plan init" 0 lb plan init --plan "$PLAN"; keep
check_has "init created the origin" "$WORK/out" "site a ($WORK/sites/a): created (the origin"
check_has "init created b as a replica" "$WORK/out" "site b ($WORK/sites/b): created as a replica of a"
expect_rc "plan init again" 0 lb plan init --plan "$PLAN"; keep
check_has "nothing created the second time" "$WORK/out" "exists, a replica of a"

expect_rc "run --now" 0 lb run --state-dir "$STATE" --plan "$PLAN" --now; keep
check_has "db ran before files" <(grep -o "^service [a-z]*" "$WORK/out" | head -1) "service db"
check_has "the summary says 3 ran" "$WORK/out" ": 3 ran, 0 not due"
export LIFEBOAT_PASSWORD="$SECRET"
for site in a b; do
  n="$(lb -r "$WORK/sites/$site" snapshots --service db --json 2>/dev/null | grep -o '"short_id"' | wc -l)"
  check_eq "db snapshot at $site" 1 "$n"
  n="$(lb -r "$WORK/sites/$site" snapshots --service files --json 2>/dev/null | grep -o '"short_id"' | wc -l)"
  check_eq "files snapshot at $site" 1 "$n"
done
expect_rc "restore db from b" 0 lb -r "$WORK/sites/b" restore latest --service db --target "$WORK/restored"
check_eq "restored database intact" "ok 100" \
  "$(python3 -c "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); print(d.execute('pragma integrity_check').fetchone()[0], d.execute('select count(*) from t').fetchone()[0])" "$WORK/restored$WORK/app.db" 2>&1)"
unset LIFEBOAT_PASSWORD

expect_rc "run again: nothing due" 0 lb run --state-dir "$STATE" --plan "$PLAN"; keep
check_has "nothing ran" "$WORK/out" ": 0 ran, 3 not due"
expect_rc "run -v names what is not due" 0 lb -v run --state-dir "$STATE" --plan "$PLAN"; keep
check_has "not due with the next time" "$WORK/out" "service db: not due (last start"

expect_rc "run --json --now --service db" 0 lb --json run --state-dir "$STATE" --plan "$PLAN" --now --service db; keep
check "--json is one JSON document" python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
assert d['message_type']=='run' and d['exit_status']==0
s=[x for x in d['services'] if x['service']=='db'][0]
assert s['state']=='ran' and len(s['outcomes'])==2 and all(o['result']=='ok' for o in s['outcomes'])
assert len(d['record_writes'])==2" "$WORK/out"
expect_rc "--dry-run" 0 lb run --state-dir "$STATE" --plan "$PLAN" --now --dry-run --service files; keep
check_has "dry run says what would run" "$WORK/out" "would back up source paths (paths) to a, b (sync)"

# Two runs at once: the second skips the service the first holds, naming the holder.
SLOW_SECONDS=5 "$LIFEBOAT" run --state-dir "$STATE" --plan "$PLAN" --now --service slow >"$WORK/slow.out" 2>&1 &
SLOW_PID=$!
held=""
for _ in $(seq 1 100); do
  if grep -qs "pid $SLOW_PID" "$STATE"/run-locks/*.lock 2>/dev/null; then held=1; break; fi
  sleep 0.1
done
check "the first run holds the lock of slow" [ -n "$held" ]
expect_rc "second run at once" 0 lb run --state-dir "$STATE" --plan "$PLAN" --now --service slow; keep
check_has "the second run skips slow, naming the holder" "$WORK/out" "service slow: skipped:"
check_has "the holder's pid is named" "$WORK/out" "pid $SLOW_PID"
wait "$SLOW_PID"; rc=$?; SLOW_PID=""
cat "$WORK/slow.out" >> "$ALL"
check_eq "the first run succeeded" 0 "$rc"
export LIFEBOAT_PASSWORD="$SECRET"
n="$(lb -r "$WORK/sites/a" snapshots --service slow --json 2>/dev/null | grep -o '"short_id"' | wc -l)"
check_eq "slow was backed up once more, not twice" 2 "$n"  # run --now above, then the first slow run
unset LIFEBOAT_PASSWORD

expect_rc "unknown --service" 2 lb run --state-dir "$STATE" --plan "$PLAN" --service nope; keep
check_has "the error names the services" "$WORK/err" "no service named \"nope\""
printf 'version: 1\nsites: {}\n' > "$WORK/broken.yaml"
expect_rc "a broken plan" 2 lb run --plan "$WORK/broken.yaml"

# install-timer
expect_rc "install-timer --user --dir" 0 lb plan install-timer --plan "$PLAN" --user --dir "$WORK/units"; keep
check "service unit written" [ -f "$WORK/units/lifeboat-run.service" ]
check "timer unit written" [ -f "$WORK/units/lifeboat-run.timer" ]
check_has "the unit runs the plan" "$WORK/units/lifeboat-run.service" "$PLAN"
check_has "nothing enabled, the commands printed" "$WORK/out" "systemctl --user enable --now lifeboat-run.timer"
expect_rc "install-timer again" 0 lb plan install-timer --plan "$PLAN" --user --dir "$WORK/units"
check_has "unchanged" "$WORK/out" "lifeboat-run.service: unchanged"
echo "# local change" >> "$WORK/units/lifeboat-run.timer"
expect_rc "a different unit is not overwritten" 1 lb plan install-timer --plan "$PLAN" --user --dir "$WORK/units"
check_has "the refusal names the file" "$WORK/err" "lifeboat-run.timer exists with other content"
check_has "the changed unit is kept" "$WORK/units/lifeboat-run.timer" "# local change"
expect_rc "--force replaces it" 0 lb plan install-timer --plan "$PLAN" --user --dir "$WORK/units" --force
check_lacks "replaced" "$WORK/units/lifeboat-run.timer" "# local change"
expect_rc "--crontab" 0 lb plan install-timer --plan "$PLAN" --crontab
check_has "the crontab line" "$WORK/out" "* * * * * "
check_has "the crontab line runs the plan" "$WORK/out" "run --plan '$PLAN'"

check_lacks "the password never appears in any output" "$ALL" "$SECRET"
check_lacks "nor in the units" <(cat "$WORK/units"/*) "$SECRET"
lb_test_finish
