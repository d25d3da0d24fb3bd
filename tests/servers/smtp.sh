# An SMTP sink for the e-mail notification tests: aiosmtpd (python3-aiosmtpd from Debian, run by
# /usr/bin/python3) on 127.0.0.1 via tests/servers/smtp_sink.py. Sourced by run_with.sh ("smtp").
#
# start_smtp exports
#   LIFEBOAT_TEST_SMTP_URL         smtp://127.0.0.1:PORT: STARTTLS required by the server, AUTH
#                                  only over TLS and only for the user below
#   LIFEBOAT_TEST_SMTP_PLAIN_URL   smtp://127.0.0.1:PORT2: offers no STARTTLS (a client that
#                                  requires TLS must refuse it)
#   LIFEBOAT_TEST_SMTP_CA          the server's self-signed certificate (PEM), its own CA
#   LIFEBOAT_TEST_SMTP_USER, LIFEBOAT_TEST_SMTP_PASSWORD   the login it accepts
#   LIFEBOAT_TEST_SMTP_LOG         JSONL, one line per message received (see smtp_sink.py)

start_smtp() {
  local dir="$1"
  local here
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    echo "tests/servers: python3-aiosmtpd is not installed (scripts/install-deps.sh)" >&2
    return 1
  fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$dir/smtp.key" -out "$dir/smtp.pem" >/dev/null 2>&1 ||
    { echo "tests/servers: openssl failed" >&2; return 1; }
  export LIFEBOAT_TEST_SMTP_USER="lifeboat"
  export LIFEBOAT_TEST_SMTP_PASSWORD="smtp-s3cret-$RANDOM$RANDOM"
  local port plain_port
  port="$(free_port)"
  plain_port="$(free_port)"
  rm -f "$dir/ports"
  /usr/bin/python3 "$here/smtp_sink.py" --log "$dir/messages.jsonl" --ports-file "$dir/ports" \
    --cert "$dir/smtp.pem" --key "$dir/smtp.key" --user "$LIFEBOAT_TEST_SMTP_USER" \
    --password "$LIFEBOAT_TEST_SMTP_PASSWORD" --starttls-port "$port" \
    --plain-port "$plain_port" >"$dir/smtp.log" 2>&1 &
  echo $! >"$dir/smtp.pid"
  wait_for 20 "the SMTP sink (log: $dir/smtp.log)" test -s "$dir/ports" || {
    cat "$dir/smtp.log" >&2
    return 1
  }
  wait_port "$port" 10 "the SMTP sink"
  wait_port "$plain_port" 10 "the SMTP sink (plain)"
  export LIFEBOAT_TEST_SMTP_URL="smtp://127.0.0.1:$port"
  export LIFEBOAT_TEST_SMTP_PLAIN_URL="smtp://127.0.0.1:$plain_port"
  export LIFEBOAT_TEST_SMTP_CA="$dir/smtp.pem"
  export LIFEBOAT_TEST_SMTP_LOG="$dir/messages.jsonl"
}

stop_smtp() {
  stop_pid "$1/smtp.pid"
}
