#!/usr/bin/env bash
# Installs what Lifeboat needs to build and test on Debian 12, only if something is missing.
# With --servers also the servers the remote-site tests run against (tests/servers/): Ceph
# (monitor, manager, OSD, RADOS Gateway), OpenSSH's sshd, rclone, PostgreSQL 15, an SMTP sink,
# Chromium (the HTML reports in a headless browser); scripts/test.sh passes it.
set -euo pipefail
with_servers=0
if [ "${1:-}" = "--servers" ]; then with_servers=1; fi

# clang + libclang-rt-14-dev: the fuzz build (scripts/build.sh fuzz); libclang-rt-14-dev ships
# libFuzzer (/usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a).
PACKAGES=(
  build-essential cmake g++ clang libclang-rt-14-dev pkg-config
  libssl-dev libsodium-dev libzstd-dev libcli11-dev nlohmann-json3-dev
  libcurl4-openssl-dev libssh-dev libpugixml-dev  # remote sites: S3 and REST over HTTP, SFTP
  libyaml-cpp-dev libcctz-dev  # the plan file; schedules in a named time zone
  libcpp-httplib-dev  # the daemon's dashboard and API (doc/daemon.md)
  libsqlite3-dev libpq-dev  # database sources: SQLite's online backup, PostgreSQL's server version
  postgresql-client-15  # pg_dump, pg_dumpall, pg_restore for postgres sources
  python3-jsonschema python3-yaml  # tests/plans/schema_test.py: the plan's JSON Schema checked
  libgtest-dev libgmock-dev libbenchmark-dev
  diffutils coreutils procps
  python3  # scripts/setup.sh's demo database (sqlite3 module), test helpers, recover_test's HTTP service
  openssl  # src/backend/http/http_client_test: a self-signed TLS server (openssl req, s_server)
  restic  # tests/defects/item20_restic_repository.sh: a real restic repository given to Lifeboat
)

# Installed with --no-install-recommends: Ceph's recommendations pull in far more than a
# one-monitor, one-OSD test cluster needs.
SERVER_PACKAGES=(
  ceph-mon ceph-mgr ceph-osd radosgw ceph-common
  openssh-server openssh-client
  rclone python3
  postgresql-15  # tests of postgres sources (initdb + pg_ctl on a loopback port) and drills (scratch clusters)
  python3-aiosmtpd  # the SMTP sink that captures e-mail notifications in the tests
  etcd-server etcd-client  # the daemons' fencing lease (tests/servers/etcd.sh, etcd 3.4)
  chromium  # tests/report/check_page.py: the HTML reports opened headless (console, screenshot)
)

missing=()
missing_servers=()
if [ "$with_servers" = 1 ]; then
  for p in "${SERVER_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing_servers+=("$p")
    fi
  done
fi
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# libFuzzer itself (dpkg -S names libclang-rt-14-dev as its package on Debian 12).
fuzzer_lib="/usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a"
if ! compgen -G "$fuzzer_lib" >/dev/null && [[ " ${missing[*]} " != *" libclang-rt-14-dev "* ]]; then
  missing+=(libclang-rt-14-dev)
fi
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_servers[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
if [ ${#missing_servers[@]} -gt 0 ]; then
  echo "==> installing test servers: ${missing_servers[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing_servers[@]}"
fi
