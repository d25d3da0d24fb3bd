#!/usr/bin/env bash
# Issue 11, item 8: --password-command ran under popen/pclose: no timeout, SIGINT/SIGTERM ignored
# while it ran, and a Ctrl-C to the process group gave exit 2 ("password command failed") instead
# of 130. Now it runs through Subprocess (60 s limit, own process group) and a signal to Lifeboat
# stops it and exits 130 at once, leaving no process behind.
# Usage: tests/defects/item08_password_command_signal.sh /path/to/lifeboat
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
lb_test_init item08
export LIFEBOAT_REPOSITORY="$WORK/repo"
LIFEBOAT_PASSWORD=pw expect_rc "init" 0 lb init --pack-size 1
SLOW="sleep 27.3; echo pw"  # a hung password command (27.3: findable with pgrep)

elapsed_since() { echo $(( $(date +%s%N) / 1000000 - $1 )); }
# Until the password command's sleep runs (Lifeboat has set its signal handlers by then; its own
# command line names "sleep 27.3" too, hence the anchors); a fixed sleep
# lost that race on a loaded machine under ASan (SIGTERM came first: exit 143).
wait_for_command() {
  for _ in $(seq 1 200); do pgrep -f "^sleep 27[.]3$" >/dev/null && return 0; sleep 0.05; done
  bad "the password command never started"
}

# Ctrl-C at a terminal: SIGINT to the whole foreground process group. setsid makes Lifeboat the
# leader of a group of its own, as a shell with job control would.
setsid "$LIFEBOAT" --password-command "$SLOW" snapshots >"$WORK/out" 2>"$WORK/err" &
pid=$!
wait_for_command
start=$(( $(date +%s%N) / 1000000 ))
kill -INT -- "-$pid"
wait "$pid"; rc=$?
ms=$(elapsed_since "$start")
check_eq "Ctrl-C to the process group exits 130" 130 "$rc"
check "it returns at once (${ms} ms)" [ "$ms" -lt 5000 ]
check_has "it says the password command was interrupted" "$WORK/err" "password command was interrupted"

# SIGTERM to Lifeboat alone (systemd stop): the command is stopped with it.
"$LIFEBOAT" --password-command "$SLOW" snapshots >"$WORK/out" 2>"$WORK/err" &
pid=$!
wait_for_command
start=$(( $(date +%s%N) / 1000000 ))
kill -TERM "$pid"
wait "$pid"; rc=$?
ms=$(elapsed_since "$start")
check_eq "SIGTERM exits 130" 130 "$rc"
check "it returns at once (${ms} ms)" [ "$ms" -lt 5000 ]
sleep 0.2
check "no password command is left running" bash -c '! pgrep -f "sleep 27[.]3" >/dev/null'

# A failing command is a setting to fix: exit 2, with its status.
expect_rc "a failing password command" 2 lb --password-command "exit 7" snapshots
check_has "its exit status is named" "$WORK/err" "password command failed with exit status 7"
lb_test_finish
