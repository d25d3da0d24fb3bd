#!/usr/bin/env bash
# CLI integration test for the remote sites (issue 13), against real servers on loopback:
#  1. the lifecycle on each backend: s3 on Ceph RADOS Gateway, sftp on OpenSSH sshd (with
#     -o sftp.identity / -o sftp.known-hosts), rest on `rclone serve restic` with basic
#     authentication: init, backup, restore --verify, check --read-data, snapshots --json, and
#     copy between two remote sites;
#  2. permanent errors fail at once (a few seconds, no retry storm) with a message that says what
#     to fix: a wrong S3 secret key, a missing bucket, an unknown SSH host key (empty known_hosts),
#     a wrong REST password (in the URL and in LIFEBOAT_REST_PASSWORD), a wrong repository
#     password;
#  3. no secret (the S3 secret key, the REST password, the repository password, the SSH private
#     key, and the wrong ones tried) appears in any stdout or stderr of these commands, with and
#     without --json and -v, on the paths that succeed and the paths that fail.
# The lifecycle in depth is the engine's test; faults and several sites: cli_remote_fault_test.sh.
#
#   bash tests/servers/run_with.sh rgw sshd rest -- bash tests/cli_remote_test.sh lifeboat_testing
set -uo pipefail
LIFEBOAT="${1:?usage: $0 /path/to/lifeboat_testing (through tests/servers/run_with.sh rgw sshd rest)}"
# shellcheck source=tests/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for v in LIFEBOAT_TEST_S3_ENDPOINT AWS_SECRET_ACCESS_KEY LIFEBOAT_TEST_SFTP_PORT \
  LIFEBOAT_TEST_REST_AUTH_URL LIFEBOAT_TEST_REST_AUTH_PASSWORD; do
  if [ -z "${!v:-}" ]; then
    echo "FAIL - $v is not set: run this test through tests/servers/run_with.sh rgw sshd rest --" >&2
    exit 1
  fi
done
lb_test_init remote

# The secrets no output may hold. The right ones come from the server scripts; the wrong ones
# are made up here and tried below.
REPO_PW="Repo-Secret-pw-7f3a9c41"
WRONG_REPO_PW="Wrong-repo-pw-0b8e6f22"
WRONG_AWS="Wrong-aws-secret-5e1b77d0"
WRONG_REST="Wrong-rest-pw-91c2d4aa"
REST_PW="$LIFEBOAT_TEST_REST_AUTH_PASSWORD"
SSH_KEY_LINE="$(sed -n 2p "$LIFEBOAT_TEST_SFTP_IDENTITY")"  # a line of the private key
SECRETS=("$REPO_PW" "$WRONG_REPO_PW" "$AWS_SECRET_ACCESS_KEY" "$WRONG_AWS" "$REST_PW" "$WRONG_REST"
  "$SSH_KEY_LINE")
export LIFEBOAT_PASSWORD="$REPO_PW"

# run NAME CODE CMD...: expect_rc, keeping stdout and stderr for the secret scan at the end.
LOGS="$WORK/logs"
mkdir -p "$LOGS"
runs=0
run() {
  expect_rc "$@"
  runs=$((runs + 1))
  cp "$WORK/out" "$LOGS/$runs.out"
  cp "$WORK/err" "$LOGS/$runs.err"
  echo "$1" >"$LOGS/$runs.name"
}
# timed_run NAME CODE MAX_SECONDS CMD...: run, and the command must end within MAX_SECONDS.
timed_run() {
  local name="$1" code="$2" max="$3" start ms
  shift 3
  start="$(date +%s%N)"
  run "$name" "$code" "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
  echo "     ($name: ${ms} ms)"
  check "$name: fails within ${max} s (took ${ms} ms)" [ "$ms" -lt $((max * 1000)) ]
}
snapshot_ids() { grep -o '"id":"[0-9a-f]*"' "$1" | cut -d'"' -f4 | sort; }

SRC="$WORK/src"
mkdir -p "$SRC/a/b" "$SRC/empty"
head -c 2500000 /dev/urandom >"$SRC/a/random1.bin"
head -c 700000 /dev/urandom >"$SRC/a/b/random2.bin"
for i in $(seq 1 30); do echo "file $i" >"$SRC/a/small-$i.txt"; done
seq 1 50000 >"$SRC/numbers.txt"
ln -s a/small-1.txt "$SRC/link"

S3="s3:$LIFEBOAT_TEST_S3_ENDPOINT"
SFTP_BASE="sftp://$LIFEBOAT_TEST_SFTP_USER@127.0.0.1:$LIFEBOAT_TEST_SFTP_PORT/$LIFEBOAT_TEST_SFTP_ROOT"
SFTP_OPTS=(-o "sftp.identity=$LIFEBOAT_TEST_SFTP_IDENTITY" -o "sftp.known-hosts=$LIFEBOAT_TEST_SFTP_KNOWN_HOSTS")
REST_HOST="${LIFEBOAT_TEST_REST_AUTH_URL#http://}"
REST="rest:http://lifeboat:$REST_PW@$REST_HOST"  # the password in the URL
REST_BARE="rest:http://$REST_HOST"                # the password in LIFEBOAT_REST_PASSWORD
tag="$(date +%s)-$$"

# lifecycle NAME REPO [OPTION...]: init, backup, restore --verify, check --read-data,
# snapshots --json, with and without --json and -v, and a wrong repository password.
lifecycle() {
  local name="$1" repo="$2"
  shift 2
  run "$name: init" 0 lb -r "$repo" "$@" init --pack-size 1
  check_has "$name: init names the site" "$WORK/out" "${repo%%:*}:"
  run "$name: init again is refused" 1 lb -r "$repo" "$@" init
  run "$name: backup --json" 0 lb -r "$repo" "$@" --json backup "$SRC"
  local id
  id="$(grep '"message_type":"summary"' "$WORK/out" | grep -o '"snapshot_id":"[0-9a-f]*"' | cut -d'"' -f4)"
  check "$name: the backup names its snapshot" [ "${#id}" = 64 ]
  echo "changed" >>"$SRC/a/small-3.txt"
  run "$name: second backup -v" 0 lb -r "$repo" "$@" -v backup "$SRC"
  check_has "$name: the second backup uses the first as parent" "$WORK/out" "using parent snapshot ${id:0:8}"
  run "$name: snapshots --json" 0 lb -r "$repo" "$@" snapshots --json
  check_eq "$name: two snapshots" 2 "$(grep -o '"short_id"' "$WORK/out" | wc -l)"
  check_has "$name: snapshots lists the first" "$WORK/out" "\"id\":\"$id\""
  run "$name: restore --verify" 0 lb -r "$repo" "$@" restore latest --target "$WORK/restore-$name" --verify
  check "$name: the restored tree equals the source" same_tree "$SRC" "$WORK/restore-$name$SRC"
  run "$name: restore -v --json of the first" 0 lb -r "$repo" "$@" -v --json restore "$id" --target "$WORK/restore1-$name" --verify
  run "$name: check --read-data" 0 lb -r "$repo" "$@" check --read-data
  check_has "$name: check finds no errors" "$WORK/out" "no errors were found"
  run "$name: check --read-data --json -v" 0 lb -r "$repo" "$@" -v --json check --read-data
  run "$name: wrong repository password" 12 env LIFEBOAT_PASSWORD="$WRONG_REPO_PW" "$LIFEBOAT" -r "$repo" "$@" snapshots
  run "$name: wrong repository password --json -v" 12 env LIFEBOAT_PASSWORD="$WRONG_REPO_PW" "$LIFEBOAT" -r "$repo" "$@" -v --json backup "$SRC"
  run "$name: no repository there" 10 lb -r "$repo-missing" "$@" snapshots
  run "$name: no repository there --json" 10 lb -r "$repo-missing" "$@" --json -v backup "$SRC"
}

echo "# 1. each backend: init, backup, restore --verify, check --read-data, snapshots --json"
lifecycle s3 "$S3/lifeboat-cli-$tag/repo"
lifecycle sftp "$SFTP_BASE/repo-$tag" "${SFTP_OPTS[@]}"
lifecycle rest "$REST/repo-$tag"
LIFEBOAT_REST_USERNAME=lifeboat LIFEBOAT_REST_PASSWORD="$REST_PW" \
  run "rest, password in LIFEBOAT_REST_PASSWORD: snapshots --json -v" 0 lb -r "$REST_BARE/repo-$tag" -v snapshots --json
check_eq "rest, password in LIFEBOAT_REST_PASSWORD: two snapshots" 2 "$(grep -o '"short_id"' "$WORK/out" | wc -l)"

echo "# copy between remote sites: s3 -> a replica on rest (packs verbatim, same ids)"
export LIFEBOAT_FROM_PASSWORD="$REPO_PW"
run "init --replica-of s3 on rest" 0 lb -r "$REST/replica-$tag" init --replica-of "$S3/lifeboat-cli-$tag/repo"
run "copy --from s3 --repo rest -v" 0 lb -r "$REST/replica-$tag" -v copy --from "$S3/lifeboat-cli-$tag/repo"
run "snapshots of the s3 site" 0 lb -r "$S3/lifeboat-cli-$tag/repo" snapshots --json
snapshot_ids "$WORK/out" >"$WORK/ids-s3"
run "snapshots of the rest replica" 0 lb -r "$REST/replica-$tag" snapshots --json
snapshot_ids "$WORK/out" >"$WORK/ids-rest"
check "the replica holds the same snapshot ids" cmp -s "$WORK/ids-s3" "$WORK/ids-rest"
run "check --read-data of the replica" 0 lb -r "$REST/replica-$tag" check --read-data
run "copy --json with a wrong source password" 12 env LIFEBOAT_FROM_PASSWORD="$WRONG_REPO_PW" \
  "$LIFEBOAT" -r "$REST/replica-$tag" --json copy --from "$S3/lifeboat-cli-$tag/repo"
unset LIFEBOAT_FROM_PASSWORD

echo "# 2. permanent errors fail at once and say what to fix"
timed_run "s3: wrong secret key" 1 10 env AWS_SECRET_ACCESS_KEY="$WRONG_AWS" "$LIFEBOAT" -r "$S3/lifeboat-cli-$tag/repo" snapshots
check_has "s3: wrong secret key: says the credentials were refused" "$WORK/err" "credentials were refused"
check_has "s3: wrong secret key: names the variable to fix" "$WORK/err" "AWS_SECRET_ACCESS_KEY"
timed_run "s3: wrong secret key, backup --json -v" 1 10 env AWS_SECRET_ACCESS_KEY="$WRONG_AWS" "$LIFEBOAT" -r "$S3/lifeboat-cli-$tag/repo" -v --json backup "$SRC"
check_has "s3: wrong secret key --json: a PERMISSION_DENIED error" "$WORK/err" '"code":"PERMISSION_DENIED"'
timed_run "s3: wrong secret key, init" 1 10 env AWS_SECRET_ACCESS_KEY="$WRONG_AWS" "$LIFEBOAT" -r "$S3/lifeboat-cli-new-$tag/repo" init
timed_run "s3: no such bucket" 10 10 lb -r "$S3/lifeboat-no-such-bucket-$tag/repo" snapshots
check_has "s3: no such bucket: says so" "$WORK/err" "bucket lifeboat-no-such-bucket-$tag does not exist"
check_has "s3: no such bucket: says what to run" "$WORK/err" "lifeboat init"
: >"$WORK/empty_known_hosts"
timed_run "sftp: unknown host key" 1 10 lb -r "$SFTP_BASE/repo-$tag" -o "sftp.identity=$LIFEBOAT_TEST_SFTP_IDENTITY" \
  -o "sftp.known-hosts=$WORK/empty_known_hosts" snapshots
check_has "sftp: unknown host key: says the key is not known" "$WORK/err" "is not known"
check_has "sftp: unknown host key: shows the fingerprint" "$WORK/err" "SHA256:"
check_has "sftp: unknown host key: says how to add it" "$WORK/err" "ssh-keyscan -p $LIFEBOAT_TEST_SFTP_PORT 127.0.0.1 >> $WORK/empty_known_hosts"
timed_run "sftp: unknown host key, backup --json -v" 1 10 lb -r "$SFTP_BASE/repo-$tag" -o "sftp.identity=$LIFEBOAT_TEST_SFTP_IDENTITY" \
  -o "sftp.known-hosts=$WORK/empty_known_hosts" -v --json backup "$SRC"
check_has "sftp: unknown host key --json: a PERMISSION_DENIED error" "$WORK/err" '"code":"PERMISSION_DENIED"'
check "sftp: nothing was added to the empty known_hosts" [ ! -s "$WORK/empty_known_hosts" ]
timed_run "rest: wrong password in the URL" 1 10 lb -r "rest:http://lifeboat:$WRONG_REST@$REST_HOST/repo-$tag" snapshots
check_has "rest: wrong password: says the server refused it" "$WORK/err" "refused the user name or password"
check_has "rest: wrong password: says where it comes from" "$WORK/err" "LIFEBOAT_REST_PASSWORD"
check_has "rest: wrong password: the location is shown redacted" "$WORK/err" "lifeboat:***@"
timed_run "rest: wrong password in LIFEBOAT_REST_PASSWORD, --json -v" 1 10 env LIFEBOAT_REST_USERNAME=lifeboat \
  LIFEBOAT_REST_PASSWORD="$WRONG_REST" "$LIFEBOAT" -r "$REST_BARE/repo-$tag" -v --json backup "$SRC"
check_has "rest: wrong password --json: a PERMISSION_DENIED error" "$WORK/err" '"code":"PERMISSION_DENIED"'
timed_run "rest: wrong password, init" 1 10 lb -r "rest:http://lifeboat:$WRONG_REST@$REST_HOST/new-$tag" init

echo "# several sites: a replica that fails (not a replica) is named, redacted, in --json"
run "init a local primary" 0 lb -r "$WORK/local" init --pack-size 1
run "backup --also-to a rest site that is no replica --json" 3 lb -r "$WORK/local" --json backup "$SRC" --also-to "$REST/repo-$tag"
check_has "the failed site is named in the sites array" "$WORK/out" '"location":"rest:http://lifeboat:***@'
check_has "the failed site's error says what to do" "$WORK/out" "init --replica-of"
run "the same without --json, -v" 3 lb -r "$WORK/local" -v backup "$SRC" --also-to "$REST/repo-$tag"
check_has "the warning says how to bring the site up to date" "$WORK/err" "lifeboat copy --from"

echo "# 3. no secret in any output ($runs commands)"
leaks=0
for f in "$LOGS"/*.out "$LOGS"/*.err; do
  for s in "${SECRETS[@]}"; do
    if grep -qF -- "$s" "$f"; then
      leaks=$((leaks + 1))
      bad "a secret (${s:0:4}...) in the output of '$(cat "${f%.*}.name")': $(basename "$f")"
      grep -nF -- "$s" "$f" | head -n 3 | sed "s/$s/<SECRET>/g; s/^/    | /"
    fi
  done
done
check_eq "no secret appears in $((runs * 2)) outputs" 0 "$leaks"
check "the scan looked at real output" [ "$(cat "$LOGS"/*.err "$LOGS"/*.out | wc -c)" -gt 10000 ]

lb_test_finish
