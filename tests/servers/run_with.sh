#!/usr/bin/env bash
# Runs a command with real servers started on 127.0.0.1 and stopped afterwards, on every exit
# path (success, failure, Ctrl-C, TERM):
#
#   bash tests/servers/run_with.sh rgw sshd rest -- build/release/src/backend/s3/s3_backend_test
#
# Each SERVER is tests/servers/<SERVER>.sh, which defines start_<SERVER> WORKDIR (starts it,
# waits until it answers, exports the LIFEBOAT_TEST_* variables the tests read) and
# stop_<SERVER> WORKDIR. A server that does not come up fails the run: tests never skip for a
# missing server. Work directories live under $LIFEBOAT_SERVERS_DIR (default: a fresh temporary
# directory, removed afterwards).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"

servers=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  servers+=("$1")
  shift
done
if [ $# -eq 0 ] || [ ${#servers[@]} -eq 0 ]; then
  echo "usage: run_with.sh SERVER... -- COMMAND [ARG...]" >&2
  exit 2
fi
shift

base="${LIFEBOAT_SERVERS_DIR:-}"
own_base=0
if [ -z "$base" ]; then
  base="$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-servers.XXXXXX")"
  own_base=1
fi
started=()
cleanup() {
  local s
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    s="${started[$i]}"
    "stop_${s//-/_}" "$base/$s" || echo "tests/servers: stopping $s failed" >&2
  done
  if [ "$own_base" = 1 ]; then rm -rf "$base"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for s in "${servers[@]}"; do
  file="$here/${s%%-*}.sh"
  if [ ! -f "$file" ]; then
    echo "tests/servers: no server script $file" >&2
    exit 2
  fi
  source "$file"
  mkdir -p "$base/$s"
  started+=("$s")
  "start_${s//-/_}" "$base/$s"
done
"$@"
