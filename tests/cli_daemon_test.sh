#!/usr/bin/env bash
# End-to-end test of `lifeboat daemon` (doc/daemon.md): killed with SIGKILL during a backup and
# after a backup (in its `after` hook, before the run records were written), a daemon started
# again makes no second snapshot for the same due time (checked with `lifeboat snapshots
# --json`) and still makes the one that was lost; SIGHUP with an invalid plan keeps the old plan,
# with a valid one reloads it; SIGTERM stops it cleanly (exit 0); a second daemon on the same plan
# and state directory is refused; `plan install-timer --daemon` writes the service unit.
#
#   tests/cli_daemon_test.sh build/release/tests/lifeboat_testing
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/lifeboat" >&2
  exit 2
fi
LIFEBOAT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
DAEMON_PID=""  # the lifeboat process itself (started without the lb function: no subshell)
on_exit() {
  if [ -n "$DAEMON_PID" ]; then kill -9 "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; fi
  for f in "$WORK"/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
  return 0
}
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lb_test_init daemon
export HOME="$WORK/home" XDG_STATE_HOME="$WORK/xdg-state" XDG_CACHE_HOME="$WORK/cache"
unset LIFEBOAT_PLAN
mkdir -p "$HOME" "$WORK/data"
echo "daemon-test-password" > "$WORK/pw"
echo "some data" > "$WORK/data/file.txt"

# plan FILE SERVICE SOURCE-YAML [HOOKS-YAML]: one site, one service scheduled once a year (so that
# the next due time is never reached while the test runs).
plan() {
  cat > "$1" <<EOF
version: 1
sites:
  a:
    repository: $WORK/sites/a
    password_file: $WORK/pw
services:
  $2:
    tier: 3
    rpo: 800d
    schedule: "0 3 1 1 *"
    sites: [a]
    sources:
$3
${4:-}
EOF
}
count() {  # count SERVICE: its snapshots at site a
  lb snapshots --json --repo "$WORK/sites/a" --password-file "$WORK/pw" 2>/dev/null |
    python3 -c 'import json,sys; print(sum(1 for s in json.load(sys.stdin) if s.get("service") == sys.argv[1]))' "$1"
}
wait_for_file() {  # wait_for_file PATH [SECONDS]
  local _
  for _ in $(seq 1 "$(( ${2:-60} * 10 ))"); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
wait_for_text() {  # wait_for_text FILE TEXT [SECONDS]
  local _
  for _ in $(seq 1 "$(( ${3:-30} * 10 ))"); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
kill9_daemon() {
  kill -9 "$DAEMON_PID" 2>/dev/null
  wait "$DAEMON_PID" 2>/dev/null
  DAEMON_PID=""
}

# --- Killed after the backup, in hooks.after: the snapshot is stored, the run record is not. ---
PLAN_A="$WORK/after.yaml"
plan "$PLAN_A" after "      - paths: [$WORK/data]" "    hooks:
      after: ['if [ ! -e $WORK/after-started ]; then touch $WORK/after-started; echo \$\$ > $WORK/after.pid; exec sleep 60; fi']"
expect_rc "plan init" 0 lb plan init --plan "$PLAN_A"
STATE_A="$WORK/state-a"
"$LIFEBOAT" daemon --plan "$PLAN_A" --state-dir "$STATE_A" --listen 127.0.0.1:0 > "$WORK/a1.log" 2>&1 &
DAEMON_PID=$!
check "the first daemon reaches the after hook" wait_for_file "$WORK/after-started"
check "its snapshot is stored" [ "$(count after)" = 1 ]
kill9_daemon
wait_for_file "$WORK/after.pid" 5 && kill -9 "$(cat "$WORK/after.pid")" 2>/dev/null
check "a run journal was left behind" ls "$STATE_A"/daemon-run-*.json
expect_rc "a daemon started again (--once)" 0 lb daemon --once --plan "$PLAN_A" --state-dir "$STATE_A"
check_has "it finds what the killed run stored" "$WORK/out" "was stored by the interrupted run"
check_eq "no second snapshot for the same due time" 1 "$(count after)"
expect_rc "and once more" 0 lb daemon --once --plan "$PLAN_A" --state-dir "$STATE_A"
check_eq "still one snapshot" 1 "$(count after)"

# --- Killed during the backup: nothing stored, so the next daemon makes the backup. ---
PLAN_B="$WORK/during.yaml"
plan "$PLAN_B" during "      - name: dump
        command: 'if [ ! -e $WORK/during-started ]; then touch $WORK/during-started; echo \$\$ > $WORK/during.pid; exec sleep 60; fi; echo data'"
STATE_B="$WORK/state-b"
"$LIFEBOAT" daemon --plan "$PLAN_B" --state-dir "$STATE_B" --listen 127.0.0.1:0 > "$WORK/b1.log" 2>&1 &
DAEMON_PID=$!
check "the first daemon is in the backup" wait_for_file "$WORK/during-started"
kill9_daemon
wait_for_file "$WORK/during.pid" 5 && kill -9 "$(cat "$WORK/during.pid")" 2>/dev/null
check_eq "nothing was stored" 0 "$(count during)"
expect_rc "a daemon started again (--once)" 0 lb daemon --once --plan "$PLAN_B" --state-dir "$STATE_B"
check_has "it looked for what the killed run stored" "$WORK/out" "the previous daemon stopped during the run"
check_eq "it made the backup that was lost" 1 "$(count during)"
expect_rc "and once more" 0 lb daemon --once --plan "$PLAN_B" --state-dir "$STATE_B"
check_eq "not twice" 1 "$(count during)"

# --- Signals: SIGHUP with an invalid plan keeps the old one; SIGTERM stops. ---
PLAN_C="$WORK/signals.yaml"
plan "$PLAN_C" sig "      - paths: [$WORK/data]"
cp "$PLAN_C" "$WORK/signals.good"
"$LIFEBOAT" daemon --plan "$PLAN_C" --state-dir "$WORK/state-c" --listen 127.0.0.1:0 > "$WORK/c.log" 2>&1 &
DAEMON_PID=$!
check "the daemon starts" wait_for_text "$WORK/c.log" "daemon started"
expect_rc "a second daemon on the same plan and state is refused" 11 \
  lb daemon --once --plan "$PLAN_C" --state-dir "$WORK/state-c"
check_has "it names the other daemon" "$WORK/err" "another lifeboat daemon"
echo "services: [oops" >> "$PLAN_C"
kill -HUP "$DAEMON_PID"
check "SIGHUP with an invalid plan is rejected" \
  wait_for_text "$WORK/c.log" "reload rejected, the plan loaded before is kept"
check "the daemon still runs" kill -0 "$DAEMON_PID"
cp "$WORK/signals.good" "$PLAN_C"
kill -HUP "$DAEMON_PID"
check "SIGHUP with a valid plan reloads it" wait_for_text "$WORK/c.log" "plan reloaded"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "SIGTERM stops it with exit 0" 0 "$?"
DAEMON_PID=""
check_has "it says it stopped" "$WORK/c.log" "daemon stopped"
check "log lines carry a timestamp" grep -qE '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z daemon started' "$WORK/c.log"
check_lacks "no password in the logs" "$WORK/c.log" "daemon-test-password"

# --- --help and install-timer --daemon. ---
expect_rc "daemon --help" 0 lb daemon --help
check_has "--help lists --once" "$WORK/out" "--once"
check_has "--help lists --site" "$WORK/out" "--site"
expect_rc "install-timer --daemon" 0 lb plan install-timer --plan "$PLAN_A" --daemon --user --dir "$WORK/units"
check "the daemon unit is written" [ -f "$WORK/units/lifeboat-daemon.service" ]
check "no timer is written" [ ! -e "$WORK/units/lifeboat-run.timer" ]
check_has "it runs the daemon" "$WORK/units/lifeboat-daemon.service" " daemon --plan \"$PLAN_A\""
check_has "SIGHUP reloads" "$WORK/units/lifeboat-daemon.service" 'ExecReload=/bin/kill -HUP $MAINPID'
check_lacks "no secret in the unit" "$WORK/units/lifeboat-daemon.service" "daemon-test-password"
expect_rc "--daemon with --crontab is refused" 2 lb plan install-timer --plan "$PLAN_A" --daemon --crontab

lb_test_finish
