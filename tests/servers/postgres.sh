# PostgreSQL 15 from Debian for the postgres source's tests (sourced by run_with.sh).
#
# start_postgres WORKDIR runs a cluster of its own: initdb (superuser `lifeboat` with a
# generated password, scram-sha-256 on TCP, trust on its private socket), then pg_ctl start on
# 127.0.0.1:<free port> only (listen_addresses=127.0.0.1, unix_socket_directories in its own
# directory, fsync off: a test cluster), and waits for pg_isready. It exports:
#   LIFEBOAT_TEST_PG_HOST, _PORT   where it listens (127.0.0.1, the port)
#   LIFEBOAT_TEST_PG_USER          the superuser (lifeboat)
#   LIFEBOAT_TEST_PG_PASSWORD      its password (a secret: children of Lifeboat never see it)
#   LIFEBOAT_TEST_PG_BINDIR        the server's bin directory (pg_dump, pg_restore, psql, ...)
# start_postgres_restore WORKDIR starts a second, empty cluster the same way, with the superuser
# `lifeboat_restore` (so that a pg_dumpall restored into it does not change its own password),
# and exports LIFEBOAT_TEST_PGRESTORE_{HOST,PORT,USER,PASSWORD,BINDIR}: the fresh cluster the
# tests restore into. stop_postgres / stop_postgres_restore stop them (pg_ctl stop -m fast, then
# -m immediate) and remove what they made.
#
# PostgreSQL refuses to run as root. When the tests run as root (CI), each cluster is created
# and run as Debian's `postgres` system user through `runuser -u postgres --`, in a directory of
# its own made with mktemp under /tmp and owned by that user (the work directory may lie below
# directories only root can enter); its path is kept in WORKDIR/pgdir and it is removed when the
# server stops. As an ordinary user, the cluster lives in WORKDIR itself.

_pg_bindir() {
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    echo /usr/lib/postgresql/15/bin
  else
    pg_config --bindir
  fi
}

# _pg_as_owner PGDIR COMMAND...: runs COMMAND as the cluster's owner, from PGDIR.
_pg_as_owner() {
  local pgdir="$1"
  shift
  if [ "$(id -u)" = 0 ]; then
    (cd "$pgdir" && runuser -u postgres -- "$@")
  else
    (cd "$pgdir" && "$@")
  fi
}

# _pg_start WORKDIR VARIABLE_PREFIX SUPERUSER
_pg_start() {
  local dir="$1" prefix="$2" superuser="$3"
  local bindir port password pgdir
  bindir="$(_pg_bindir)"
  if [ ! -x "$bindir/initdb" ]; then
    echo "tests/servers: no PostgreSQL server in $bindir: install postgresql-15" >&2
    return 1
  fi
  port="$(free_port)"
  password="pg-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "tests/servers: PostgreSQL cannot run as root and there is no postgres user" \
        "(Debian's postgresql package makes it)" >&2
      return 1
    fi
    pgdir="$(mktemp -d /tmp/lifeboat-pg.XXXXXX)"
    chown postgres: "$pgdir"
  else
    pgdir="$dir"
  fi
  echo "$pgdir" >"$dir/pgdir"
  echo "$bindir" >"$dir/bindir"
  mkdir -p "$pgdir/sock"
  (umask 077 && printf '%s\n' "$password" >"$pgdir/pwfile")
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$pgdir"; fi
  if ! _pg_as_owner "$pgdir" "$bindir/initdb" -D "$pgdir/data" -U "$superuser" \
      --pwfile="$pgdir/pwfile" --auth-host=scram-sha-256 --auth-local=trust -E UTF8 \
      --no-locale >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    rm -f "$pgdir/pwfile"
    return 1
  fi
  rm -f "$pgdir/pwfile"
  if ! _pg_as_owner "$pgdir" "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
      -t 60 -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pgdir/sock -c fsync=off -c max_connections=50" \
      start >"$dir/pg_ctl.log" 2>&1; then
    cat "$dir/pg_ctl.log" "$pgdir/postgres.log" >&2 2>/dev/null
    return 1
  fi
  wait_for 30 "PostgreSQL on 127.0.0.1:$port" "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" || {
    cat "$pgdir/postgres.log" >&2
    return 1
  }
  export "${prefix}_HOST=127.0.0.1" "${prefix}_PORT=$port" "${prefix}_USER=$superuser"
  export "${prefix}_PASSWORD=$password" "${prefix}_BINDIR=$bindir"
}

_pg_stop() {
  local dir="$1"
  [ -f "$dir/pgdir" ] || return 0
  local pgdir bindir
  pgdir="$(cat "$dir/pgdir")"
  bindir="$(cat "$dir/bindir")"
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    _pg_as_owner "$pgdir" "$bindir/pg_ctl" -D "$pgdir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      _pg_as_owner "$pgdir" "$bindir/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop \
        >/dev/null 2>&1 || echo "tests/servers: stopping PostgreSQL in $pgdir failed" >&2
  fi
  if [ "$pgdir" != "$dir" ]; then rm -rf "$pgdir"; fi
  rm -f "$dir/pgdir"
}

start_postgres() { _pg_start "$1" LIFEBOAT_TEST_PG lifeboat; }
stop_postgres() { _pg_stop "$1"; }
start_postgres_restore() { _pg_start "$1" LIFEBOAT_TEST_PGRESTORE lifeboat_restore; }
stop_postgres_restore() { _pg_stop "$1"; }
