# Ceph RADOS Gateway (S3) for the server tests, sourced by run_with.sh: a throwaway cluster of
# one monitor and one memstore OSD (no mgr: radosgw needs none), and radosgw with two beast
# frontends, plain HTTP and TLS, all on 127.0.0.1 and all under WORKDIR (its own fsid, ceph.conf,
# run and log directories; /etc/ceph and /var/lib/ceph are never read or written). Without
# cephx (auth none), so there are no keyrings; S3 requests are still signed and checked.
#
# start_rgw exports:
#   LIFEBOAT_TEST_S3_ENDPOINT       http://127.0.0.1:PORT
#   LIFEBOAT_TEST_S3_TLS_ENDPOINT   https://127.0.0.1:PORT (a self-signed certificate for 127.0.0.1)
#   LIFEBOAT_TEST_S3_CA_FILE        that certificate, to trust it
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   the keys of an S3 user created at start
#   LIFEBOAT_PROXY_TARGET_PORT      the plain HTTP port, for `proxy` listed after `rgw` (proxy.sh)
#   LIFEBOAT_TEST_RGW_DIR           WORKDIR, for kill_radosgw / restart_radosgw below
# kill_radosgw WORKDIR kills radosgw alone (SIGKILL: a crash, connections reset), leaving the
# cluster up; restart_radosgw WORKDIR starts it again on the same ports and waits until it
# answers. Tests source this file to call them (the server outage of a fault test).
# Takes about 3 s on a small machine once the packages are installed.

RGW_ACCESS_KEY="LIFEBOATTESTACCESSKEY"
RGW_SECRET_KEY="lifeboat-test-secret-key-0123456789abcdef"

# rgw_ceph DIR ARGS...: a ceph command against the cluster in DIR, never waiting forever.
rgw_ceph() {
  local dir="$1"
  shift
  timeout 20 ceph -c "$dir/ceph.conf" --connect-timeout 15 "$@"
}

# rgw_free_ports N: N distinct TCP ports that nothing on this machine uses right now, below the
# kernel's ephemeral range (so no outgoing connection holds them). Not free_port: a python start
# costs over a second on a loaded machine, three of them half the start time.
rgw_free_ports() {
  local ports=() p
  while [ ${#ports[@]} -lt "$1" ]; do
    p=$((10000 + RANDOM % 22000))
    [[ " ${ports[*]} " == *" $p "* ]] && continue
    [ -z "$(ss -Htan "sport = :$p")" ] || continue
    ports+=("$p")
  done
  echo "${ports[@]}"
}

start_rgw() {
  local dir="$1"
  local start_ns
  start_ns="$(date +%s%N)"
  mkdir -p "$dir/mon" "$dir/osd" "$dir/rgw" "$dir/run" "$dir/log"
  local fsid mon_port http_port tls_port
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  read -r mon_port http_port tls_port < <(rgw_free_ports 3)

  # A self-signed certificate for 127.0.0.1 (EC: quick to make), the CA file of the TLS tests.
  timeout 20 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 3 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$dir/rgw/key.pem" -out "$dir/rgw/cert.pem" >"$dir/log/openssl.log" 2>&1 || {
    echo "tests/servers: openssl could not make the test certificate (see $dir/log/openssl.log)" >&2
    return 1
  }

  cat >"$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
# Without it a client of an auth-none cluster (radosgw) waits forever for the monitor.
ms mon client mode = crc secure
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
crash dir = $dir/crash
# One OSD: pools of one copy, few placement groups, nothing to rebalance.
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
# Each monitor change otherwise waits a second.
paxos propose interval = 0.05
mon data = $dir/mon
mon initial members = a
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = 4294967296
osd journal size = 0

[client.rgw]
rgw data = $dir/rgw
# tcp_nodelay=1: otherwise Nagle holds the second segment of each answer on a kept-alive
# connection until the client's delayed ACK, and every small GET after the first waits ~40 ms.
rgw frontends = beast tcp_nodelay=1 endpoint=127.0.0.1:$http_port ssl_endpoint=127.0.0.1:$tls_port ssl_certificate=$dir/rgw/cert.pem ssl_private_key=$dir/rgw/key.pem
rgw dns name = 127.0.0.1
CONF

  timeout 20 monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" \
    "$dir/monmap" >"$dir/log/monmaptool.log" 2>&1 || { echo "tests/servers: monmaptool failed" >&2; return 1; }
  timeout 20 osdmaptool -c "$dir/ceph.conf" --createsimple 1 --clobber "$dir/osdmap" \
    >"$dir/log/osdmaptool.log" 2>&1 || { echo "tests/servers: osdmaptool failed" >&2; return 1; }
  timeout 30 ceph-mon -c "$dir/ceph.conf" -i a --mkfs --monmap "$dir/monmap" --osdmap "$dir/osdmap" \
    >"$dir/log/mon-mkfs.log" 2>&1 || { echo "tests/servers: ceph-mon --mkfs failed (see $dir/log)" >&2; return 1; }
  ceph-mon -c "$dir/ceph.conf" -i a -f >"$dir/log/mon.out" 2>&1 &
  echo $! >"$dir/mon.pid"

  timeout 30 ceph-osd -c "$dir/ceph.conf" -i 0 --mkfs >"$dir/log/osd-mkfs.log" 2>&1 ||
    { echo "tests/servers: ceph-osd --mkfs failed (see $dir/log)" >&2; return 1; }
  ceph-osd -c "$dir/ceph.conf" -i 0 -f >"$dir/log/osd.out" 2>&1 &
  echo $! >"$dir/osd.pid"

  rgw_start_radosgw "$dir"
  # The user is made while radosgw starts (both wait for the OSD).
  timeout 30 radosgw-admin -c "$dir/ceph.conf" user create --uid lifeboat-test \
    --display-name "Lifeboat tests" --access-key "$RGW_ACCESS_KEY" --secret "$RGW_SECRET_KEY" \
    >"$dir/log/user-create.log" 2>&1 ||
    { echo "tests/servers: radosgw-admin user create failed (see $dir/log)" >&2; return 1; }
  wait_port "$http_port" 60 "radosgw on 127.0.0.1:$http_port (logs in $dir/log)" || return 1

  export LIFEBOAT_TEST_S3_ENDPOINT="http://127.0.0.1:$http_port"
  export LIFEBOAT_TEST_S3_TLS_ENDPOINT="https://127.0.0.1:$tls_port"
  export LIFEBOAT_TEST_S3_CA_FILE="$dir/rgw/cert.pem"
  export AWS_ACCESS_KEY_ID="$RGW_ACCESS_KEY"
  export AWS_SECRET_ACCESS_KEY="$RGW_SECRET_KEY"
  export LIFEBOAT_PROXY_TARGET_PORT="$http_port"
  export LIFEBOAT_TEST_RGW_DIR="$dir"
  echo "$http_port" >"$dir/rgw/http_port"
  echo "tests/servers: rgw up on $LIFEBOAT_TEST_S3_ENDPOINT and $LIFEBOAT_TEST_S3_TLS_ENDPOINT in $(( ($(date +%s%N) - start_ns) / 1000000 )) ms" >&2
}

# rgw_start_radosgw WORKDIR: starts radosgw in the background (pid in WORKDIR/rgw.pid; its
# output is appended to WORKDIR/log/rgw.out).
rgw_start_radosgw() {
  local dir="$1"
  radosgw -c "$dir/ceph.conf" -n client.rgw -f >>"$dir/log/rgw.out" 2>&1 &
  echo $! >"$dir/rgw.pid"
}

kill_radosgw() {
  local dir="$1" pid
  pid="$(cat "$dir/rgw.pid")"
  kill -KILL "$pid" 2>/dev/null || true
  # Gone (and its port closed) before this returns: reaped by its parent, or no longer there.
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    [ "$(ps -o stat= -p "$pid" 2>/dev/null)" = Z ] && break
    sleep 0.05
  done
  rm -f "$dir/rgw.pid"
}

restart_radosgw() {
  local dir="$1" port
  port="$(cat "$dir/rgw/http_port")"
  rgw_start_radosgw "$dir"
  wait_port "$port" 60 "radosgw restarted on 127.0.0.1:$port (logs in $dir/log)"
}

stop_rgw() {
  local dir="$1"
  # radosgw first (it talks to the cluster), then the OSD, then the monitor.
  stop_pid "$dir/rgw.pid"
  stop_pid "$dir/osd.pid"
  stop_pid "$dir/mon.pid"
}
