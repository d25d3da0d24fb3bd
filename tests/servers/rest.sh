# restic REST servers for the REST backend's tests: `rclone serve restic` on 127.0.0.1, serving
# WORKDIR/data. Sourced by run_with.sh (servers "rest" and "rest-append-only").
#
# start_rest exports
#   LIFEBOAT_TEST_REST_URL            http://127.0.0.1:PORT (no authentication)
#   LIFEBOAT_TEST_REST_DIR            the directory it serves (rclone's files, for tests that
#                                     plant what an interrupted upload leaves)
#   LIFEBOAT_TEST_REST_AUTH_URL       http://127.0.0.1:PORT2 (basic authentication required,
#                                     same directory)
#   LIFEBOAT_TEST_REST_AUTH_USER, LIFEBOAT_TEST_REST_AUTH_PASSWORD   its credentials
# start_rest_append_only exports
#   LIFEBOAT_TEST_REST_APPEND_ONLY_URL  http://127.0.0.1:PORT3 (--append-only: no deletes but
#                                       of locks, no overwrites)

# _start_rclone_restic WORKDIR NAME ARGS...: starts one server, pid in WORKDIR/NAME.pid, log in
# WORKDIR/NAME.log; prints its port.
_start_rclone_restic() {
  local workdir="$1" name="$2"
  shift 2
  local port
  port="$(free_port)"
  mkdir -p "$workdir/data" "$workdir/cache"
  rclone serve restic --config /dev/null --cache-dir "$workdir/cache" \
    --addr "127.0.0.1:$port" "$@" "$workdir/data" >"$workdir/$name.log" 2>&1 &
  echo $! >"$workdir/$name.pid"
  if ! wait_port "$port" 30 "rclone serve restic ($name)"; then
    cat "$workdir/$name.log" >&2
    return 1
  fi
  echo "$port"
}

start_rest() {
  local workdir="$1" port auth_port
  command -v rclone >/dev/null || { echo "tests/servers: rclone is not installed" >&2; return 1; }
  port="$(_start_rclone_restic "$workdir" rclone)" || return 1
  export LIFEBOAT_TEST_REST_URL="http://127.0.0.1:$port"
  export LIFEBOAT_TEST_REST_DIR="$workdir/data"
  export LIFEBOAT_TEST_REST_AUTH_USER="lifeboat"
  export LIFEBOAT_TEST_REST_AUTH_PASSWORD="p4ss-$RANDOM$RANDOM"
  auth_port="$(_start_rclone_restic "$workdir" rclone-auth --user "$LIFEBOAT_TEST_REST_AUTH_USER" \
    --pass "$LIFEBOAT_TEST_REST_AUTH_PASSWORD")" || return 1
  export LIFEBOAT_TEST_REST_AUTH_URL="http://127.0.0.1:$auth_port"
}

stop_rest() {
  stop_pid "$1/rclone-auth.pid"
  stop_pid "$1/rclone.pid"
}

start_rest_append_only() {
  local workdir="$1" port
  command -v rclone >/dev/null || { echo "tests/servers: rclone is not installed" >&2; return 1; }
  port="$(_start_rclone_restic "$workdir" rclone --append-only)" || return 1
  export LIFEBOAT_TEST_REST_APPEND_ONLY_URL="http://127.0.0.1:$port"
}

stop_rest_append_only() {
  stop_pid "$1/rclone.pid"
}
