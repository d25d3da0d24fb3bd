# Shared by the test-server scripts (tests/servers/*.sh), sourced by run_with.sh.
# Every server listens on 127.0.0.1 only, on a free port, under a work directory of its own.

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for SECONDS DESCRIPTION COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails
# with a message naming DESCRIPTION when SECONDS pass first.
wait_for() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "tests/servers: $what did not come up within ${seconds}s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# wait_port PORT SECONDS DESCRIPTION: waits until 127.0.0.1:PORT accepts connections.
wait_port() {
  wait_for "$2" "$3" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"
}

# stop_pid PIDFILE: stops the process in PIDFILE (TERM, then KILL after 5 s), if it runs.
stop_pid() {
  local pidfile="$1"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
