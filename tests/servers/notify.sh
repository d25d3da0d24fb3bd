# The HTTP receiver of the notification tests (tests/servers/notify_http.py) on 127.0.0.1, plain
# and TLS (a throwaway self-signed certificate for 127.0.0.1). Sourced by run_with.sh ("notify").
#
# start_notify exports
#   LIFEBOAT_TEST_NOTIFY_URL          http://127.0.0.1:PORT (every path is accepted and recorded)
#   LIFEBOAT_TEST_NOTIFY_TLS_URL      https://127.0.0.1:PORT2 (same receiver, same log)
#   LIFEBOAT_TEST_NOTIFY_CA           the PEM certificate the TLS port presents (its own CA)
#   LIFEBOAT_TEST_NOTIFY_LOG          the JSONL file of recorded requests
#   LIFEBOAT_TEST_NOTIFY_CLOSED_URL   http://127.0.0.1:PORT3 where nothing listens (a channel down)
# The receiver's control paths (/_control/fail/N, /stall/S, /status/C, /reset) are described in
# notify_http.py.

# make_test_cert DIR NAME: a self-signed certificate (CA:TRUE) for 127.0.0.1 and localhost,
# DIR/NAME.pem and DIR/NAME.key.
make_test_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$1/$2.key" -out "$1/$2.pem" >/dev/null 2>&1
}

start_notify() {
  local dir="$1"
  local script
  script="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/notify_http.py"
  make_test_cert "$dir" receiver || { echo "tests/servers: openssl failed" >&2; return 1; }
  rm -f "$dir/ports"
  python3 "$script" --log "$dir/requests.jsonl" --ports-file "$dir/ports" \
    --tls-cert "$dir/receiver.pem" --tls-key "$dir/receiver.key" >"$dir/notify.log" 2>&1 &
  echo $! >"$dir/notify.pid"
  wait_for 10 "the notification receiver (log: $dir/notify.log)" test -s "$dir/ports" || {
    cat "$dir/notify.log" >&2
    return 1
  }
  local ports
  read -r -a ports <"$dir/ports"
  wait_port "${ports[0]}" 10 "the notification receiver"
  wait_port "${ports[1]}" 10 "the notification receiver (TLS)"
  export LIFEBOAT_TEST_NOTIFY_URL="http://127.0.0.1:${ports[0]}"
  export LIFEBOAT_TEST_NOTIFY_TLS_URL="https://127.0.0.1:${ports[1]}"
  export LIFEBOAT_TEST_NOTIFY_CA="$dir/receiver.pem"
  export LIFEBOAT_TEST_NOTIFY_LOG="$dir/requests.jsonl"
  export LIFEBOAT_TEST_NOTIFY_CLOSED_URL="http://127.0.0.1:$(free_port)"
}

stop_notify() {
  stop_pid "$1/notify.pid"
}
