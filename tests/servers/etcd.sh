# etcd 3.4 (Debian's etcd-server, /usr/bin/etcd) for the fencing tests: one member on
# 127.0.0.1 with free client and peer ports and its data under WORKDIR/data. Sourced by
# run_with.sh (server "etcd"; list `proxy` after it to put the fault proxy in front).
#
# start_etcd exports
#   LIFEBOAT_TEST_ETCD_URL       http://127.0.0.1:PORT (the client URL; its /v3 JSON gateway)
#   LIFEBOAT_TEST_ETCD_PIDFILE   the file holding etcd's pid (tests stop it with SIGSTOP and
#                                resume it with SIGCONT to make it hang)
#   LIFEBOAT_PROXY_TARGET_PORT   the client port, for `proxy` listed after `etcd` (proxy.sh)
# Its log is WORKDIR/etcd.log.

start_etcd() {
  local dir="$1" client_port peer_port
  local etcd_bin="${LIFEBOAT_ETCD:-/usr/bin/etcd}"
  if [ ! -x "$etcd_bin" ]; then
    echo "tests/servers: $etcd_bin is missing (Debian package etcd-server, scripts/install-deps.sh)" >&2
    return 1
  fi
  client_port="$(free_port)"
  peer_port="$(free_port)"
  while [ "$peer_port" = "$client_port" ]; do peer_port="$(free_port)"; done
  mkdir -p "$dir/data"
  # Debian's etcd 3.4 refuses to start on arches it does not support officially (arm64, ...)
  # unless told; amd64 needs nothing.
  case "$(uname -m)" in
    x86_64) ;;
    aarch64) export ETCD_UNSUPPORTED_ARCH=arm64 ;;
    *) export ETCD_UNSUPPORTED_ARCH="$(dpkg --print-architecture 2>/dev/null || uname -m)" ;;
  esac
  "$etcd_bin" --name lifeboat-test --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$client_port" \
    --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "lifeboat-test=http://127.0.0.1:$peer_port" \
    --initial-cluster-state new --logger zap --log-outputs stderr \
    >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  if ! wait_for 30 "etcd (log: $dir/etcd.log)" \
    curl -sf -X POST -d '{"key":"AA=="}' "http://127.0.0.1:$client_port/v3/kv/range"; then
    tail -n 20 "$dir/etcd.log" >&2
    return 1
  fi
  export LIFEBOAT_TEST_ETCD_URL="http://127.0.0.1:$client_port"
  export LIFEBOAT_TEST_ETCD_PIDFILE="$dir/etcd.pid"
  export LIFEBOAT_PROXY_TARGET_PORT="$client_port"
}

stop_etcd() {
  local dir="$1"
  # A test may have left it stopped (SIGSTOP): resume it so that TERM is heard.
  if [ -f "$dir/etcd.pid" ]; then kill -CONT "$(cat "$dir/etcd.pid")" 2>/dev/null || true; fi
  stop_pid "$dir/etcd.pid"
}
