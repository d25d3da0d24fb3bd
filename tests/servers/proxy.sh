# The fault-injecting TCP proxy (tests/servers/fault_proxy.py) in front of another test server,
# for tests of how a backend copes with resets, stalls, 503 SlowDown and a site that is down.
#
#   LIFEBOAT_PROXY_TARGET_PORT=... bash tests/servers/run_with.sh proxy -- TEST
#   bash tests/servers/run_with.sh rgw proxy -- TEST    # rgw.sh exports LIFEBOAT_PROXY_TARGET_PORT
#
# Target: 127.0.0.1:$LIFEBOAT_PROXY_TARGET_PORT, which the server listed before `proxy` in the
# run_with.sh list exports (each server script that can sit behind the proxy sets it to its own
# port), or the caller sets. Unset: the start fails and says so.
# Exports:
#   LIFEBOAT_TEST_PROXY_PORT          where clients connect instead of the target
#   LIFEBOAT_TEST_PROXY_CONTROL_PORT  the control port: one command a line ("reset-new 0.3",
#                                     "slowdown 1", "stall 2", "down", "up", "pass", "status"),
#                                     one "ok ..."/"error ..." reply line each; or HTTP GET
#                                     /reset-new/0.3 (see the header of fault_proxy.py)
# The proxy starts in pass-through mode. Its log is WORKDIR/proxy.log.

# proxy_control COMMAND...: sends one command to the running proxy and prints its reply; fails
# unless the reply starts with "ok".
proxy_control() {
  local reply
  exec 9<>"/dev/tcp/127.0.0.1/$LIFEBOAT_TEST_PROXY_CONTROL_PORT"
  echo "$*" >&9
  read -r reply <&9
  exec 9<&-
  echo "$reply"
  [[ "$reply" == ok* ]]
}

start_proxy() {
  local dir="$1"
  if [ -z "${LIFEBOAT_PROXY_TARGET_PORT:-}" ]; then
    echo "tests/servers/proxy.sh: LIFEBOAT_PROXY_TARGET_PORT is not set: list the server the" \
      "proxy fronts before 'proxy' in run_with.sh (its script exports it), or set it" >&2
    return 1
  fi
  local script
  script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fault_proxy.py"
  rm -f "$dir/proxy.ports"
  python3 "$script" --target-port "$LIFEBOAT_PROXY_TARGET_PORT" --ports-file "$dir/proxy.ports" \
    >"$dir/proxy.log" 2>&1 &
  echo $! >"$dir/proxy.pid"
  wait_for 10 "the fault proxy (log: $dir/proxy.log)" test -s "$dir/proxy.ports"
  local ports
  read -r -a ports <"$dir/proxy.ports"
  export LIFEBOAT_TEST_PROXY_PORT="${ports[0]}"
  export LIFEBOAT_TEST_PROXY_CONTROL_PORT="${ports[1]}"
  wait_port "$LIFEBOAT_TEST_PROXY_CONTROL_PORT" 10 "the fault proxy's control port"
}

stop_proxy() {
  stop_pid "$1/proxy.pid"
}
