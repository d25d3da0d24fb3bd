#!/usr/bin/env bash
# Remote sites benchmark: Lifeboat beside restic on S3 (Ceph RADOS Gateway), SFTP (OpenSSH sshd)
# and REST (rclone serve restic), all on loopback, plus Lifeboat to a local directory and to
# three local sites at once (backup --also-to), in one run, on bench/run.sh's datasets.
#
# Usage:
#   bench/remote.sh [--dataset kernel|image|all] [--sites local,s3,sftp,rest,multi]
#                   [--tools lifeboat,restic] [--out FILE.md] [--image-size SIZE]
#                   [--image-extent BLOCKS] [--kernel-subset PATHS] [--seed N]
#                   [--restore-on tmpfs|disk]
#
#   --dataset        which dataset(s) to run (default: all); the datasets of bench/run.sh
#   --sites          comma-separated sites, run in this order (default: local,s3,sftp,rest,multi)
#                      local  a directory on this machine (the baseline of two targets)
#                      s3     Ceph RADOS Gateway (tests/servers/rgw.sh: memstore OSD)
#                      sftp   OpenSSH sshd (tests/servers/sshd.sh: internal-sftp)
#                      rest   rclone serve restic (tests/servers/rest.sh)
#                      multi  Lifeboat only: a local primary and two local replicas
#                             (init --replica-of), every backup with --also-to both
#   --tools          lifeboat, restic or both, in this order (default: lifeboat,restic)
#   --out FILE.md    also write the Markdown report to FILE.md (it always goes to stdout)
#   --restore-on     where both tools restore to (default: tmpfs)
#                      tmpfs  a tmpfs mounted for the run at $BENCH_WORK/remote/restore (needs
#                             root or sudo; each restore is removed once checked): what a
#                             restore costs does not drift with the disk's state between steps
#                      disk   a directory on the disk of $BENCH_WORK (ext4 here: the cost of
#                             creating files drifts by tens of percent on this VM, e.g. for
#                             minutes after a mass delete, so restore ratios move between runs)
#   --image-size, --image-extent, --kernel-subset, --seed   as in bench/run.sh
#
# Environment: BENCH_WORK, BENCH_DATA, LIFEBOAT_BIN, BENCH_BUILD_DIR, BENCH_CPUS as in
# bench/run.sh; this script works in $BENCH_WORK/remote (live trees, local repositories, server
# data, restores, tool caches, logs, results.tsv) and shares the datasets in $BENCH_DATA.
#
# The servers are started once for the whole run by tests/servers/run_with.sh (the script runs
# itself under it), on 127.0.0.1, with their data under $BENCH_WORK/remote/servers. They are
# NOT pinned: they run on the machine's other cores, or beside the tools on the same ones.
#
# For each dataset, site and tool, as bench/run.sh: init; backup of v1; backup of v2 (changed);
# backup of v2 again (unchanged); restore of the latest snapshot into an empty directory, checked
# with diff -r (not timed). Each step runs under /usr/bin/time and taskset -c $BENCH_CPUS; the
# servers' CPU time during the step is read from /proc. restic keeps its local cache between
# the steps of one site (emptied before its init), as users have it; Lifeboat has none.
#
# Exit status: 0 when every step and every restore check passed.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly BENCH_DIR="$REPO_ROOT/bench"
readonly STEPS=(init backup-v1 backup-v2 backup-v2-again restore)

dataset=all
sites=local,s3,sftp,rest,multi
tools=lifeboat,restic
out_file=
image_size=1G
image_extent=1
kernel_subset=
seed=1
restore_on=tmpfs
original_args=("$@")

usage() {
  sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

while [[ $# -gt 0 ]]; do
  case $1 in
    --dataset) dataset=${2:?--dataset needs a value}; shift 2 ;;
    --sites) sites=${2:?--sites needs a value}; shift 2 ;;
    --tools) tools=${2:?--tools needs a value}; shift 2 ;;
    --out) out_file=${2:?--out needs a value}; shift 2 ;;
    --image-size) image_size=${2:?--image-size needs a value}; shift 2 ;;
    --image-extent) image_extent=${2:?--image-extent needs a value}; shift 2 ;;
    --kernel-subset) kernel_subset=${2:?--kernel-subset needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    --restore-on) restore_on=${2:?--restore-on needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

case $dataset in
  kernel|image) datasets=("$dataset") ;;
  all) datasets=(kernel image) ;;
  *) die "--dataset must be kernel, image or all" ;;
esac
IFS=, read -r -a site_list <<<"$sites"
for site in "${site_list[@]}"; do
  case $site in local|s3|sftp|rest|multi) ;; *) die "unknown site '$site'" ;; esac
done
IFS=, read -r -a tool_list <<<"$tools"
for tool in "${tool_list[@]}"; do
  case $tool in lifeboat|restic) ;; *) die "unknown tool '$tool' (lifeboat or restic)" ;; esac
done
[[ $seed =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[[ $image_size =~ ^[0-9]+[KMGkmg]?$ ]] || die "--image-size must look like 64M or 1G"
[[ $image_extent =~ ^[0-9]+$ ]] || die "--image-extent must be a positive integer"
case $restore_on in tmpfs|disk) ;; *) die "--restore-on must be tmpfs or disk" ;; esac

WORK=$(mkdir -p "${BENCH_WORK:-$BENCH_DIR/work}" && cd "${BENCH_WORK:-$BENCH_DIR/work}" && pwd)
readonly WORK
DATA=$(mkdir -p "${BENCH_DATA:-$WORK/data}" && cd "${BENCH_DATA:-$WORK/data}" && pwd)
readonly DATA
readonly RW="$WORK/remote"
readonly BUILD_DIR=${BENCH_BUILD_DIR:-$REPO_ROOT/build/release}
readonly LIFEBOAT=${LIFEBOAT_BIN:-$BUILD_DIR/src/cli/lifeboat}
readonly CPUS=${BENCH_CPUS:-0,1}
readonly RESULTS="$RW/results.tsv"
readonly TRASH="$RW/trash"

# --- The servers: started by run_with.sh, which runs this script again inside them -----------

servers=()
for site in "${site_list[@]}"; do
  case $site in s3) servers+=(rgw) ;; sftp) servers+=(sshd) ;; rest) servers+=(rest) ;; esac
done
if [[ ${#servers[@]} -gt 0 && -z ${LIFEBOAT_BENCH_SERVERS_UP:-} ]]; then
  mkdir -p "$RW"
  servers_dir=$(mktemp -d "$RW/servers.XXXXXX")
  log "starting ${servers[*]} under $servers_dir (tests/servers/run_with.sh)"
  rc=0
  LIFEBOAT_SERVERS_DIR=$servers_dir LIFEBOAT_BENCH_SERVERS_UP=1 \
    bash "$REPO_ROOT/tests/servers/run_with.sh" "${servers[@]}" -- \
    bash "${BASH_SOURCE[0]}" "${original_args[@]}" || rc=$?
  log "servers stopped; removing $servers_dir"
  rm -rf "$servers_dir"
  exit "$rc"
fi
readonly SERVERS_DIR=${LIFEBOAT_SERVERS_DIR:-}

# --- Prerequisites ---------------------------------------------------------------------------

[[ -x $TIME_BIN ]] || apt_install time || die "cannot install GNU time ($TIME_BIN)"
need_command rsync rsync || die "cannot install rsync"
need_command python3 python3 || die "cannot install python3"
declare -A skip_reason=()
for tool in "${tool_list[@]}"; do
  case $tool in
    restic) need_command restic restic || skip_reason[restic]="restic is not installed and apt-get failed" ;;
    lifeboat)
      [[ -x $LIFEBOAT ]] ||
        skip_reason[lifeboat]="Lifeboat binary not found at $LIFEBOAT (build it or set LIFEBOAT_BIN)" ;;
  esac
done
setup_pinning
mkdir -p "$RW"/{live,repo,restore,cache,logs}

# With --restore-on tmpfs the restores go to a tmpfs mounted over $RW/restore for this run
# (unmounted on every exit); a restore is removed once checked, so one at a time takes memory.
restore_mounted=0
unmount_restore() {
  if [[ $restore_mounted -eq 1 ]]; then
    as_root umount "$RW/restore" || log "could not unmount the tmpfs at $RW/restore"
    restore_mounted=0
  fi
}
if [[ $restore_on == tmpfs ]]; then
  as_root mount -t tmpfs -o mode=0755 lifeboat-bench-restore "$RW/restore" ||
    die "cannot mount a tmpfs at $RW/restore (needs root or sudo); use --restore-on disk"
  restore_mounted=1
  trap unmount_restore EXIT
  as_root chown "$(id -u):$(id -g)" "$RW/restore" || die "cannot chown the tmpfs at $RW/restore"
  log "restores go to a tmpfs at $RW/restore"
fi

# discard PATH...: moves old repositories and restores into the trash, emptied after the last
# timed step (bench/run.sh explains why: ext4 is slow for minutes after a mass delete). What
# is on the restore tmpfs is removed at once (freeing memory costs the disk nothing).
discard() {
  local path
  for path in "$@"; do
    [[ -e $path ]] || continue
    if [[ $restore_mounted -eq 1 && $path == "$RW/restore/"* ]]; then
      rm -rf "$path" || die "cannot remove $path"
      continue
    fi
    mkdir -p "$TRASH"
    mv "$path" "$(mktemp -d "$TRASH/discarded.XXXXXX")/" || die "cannot move $path to $TRASH"
  done
}

sync_live() {  # sync_live SOURCE_DIR (as bench/run.sh: unchanged files keep inode and times)
  rsync -a --delete --exclude=/.complete "$1/" "$live/"
}

# --- Sites: site_setup SITE TOOL sets, for the current dataset,
#   repo        the location the tool is given
#   repo_dir    where its bytes are on this machine (for du and warming), "" for S3
#   tool_opts   extra arguments before the subcommand (-o ... for both tools)

ssh_command() {
  echo "ssh -i $LIFEBOAT_TEST_SFTP_IDENTITY -o UserKnownHostsFile=$LIFEBOAT_TEST_SFTP_KNOWN_HOSTS \
-o BatchMode=yes -p $LIFEBOAT_TEST_SFTP_PORT $LIFEBOAT_TEST_SFTP_USER@127.0.0.1 -s sftp"
}

site_setup() {
  local site=$1 tool=$2 name="$2-$current_dataset"
  tool_opts=()
  repo_dir=
  case $site in
    local|multi)
      repo_dir="$RW/repo/$site-$name"
      repo=$repo_dir ;;
    s3)
      repo="s3:$LIFEBOAT_TEST_S3_ENDPOINT/$name"
      if [[ $tool == lifeboat ]]; then repo="$repo/repo"; fi ;;
    sftp)
      repo_dir="$LIFEBOAT_TEST_SFTP_ROOT/$name"
      if [[ $tool == lifeboat ]]; then
        repo="sftp://$LIFEBOAT_TEST_SFTP_USER@127.0.0.1:$LIFEBOAT_TEST_SFTP_PORT/$repo_dir"
        tool_opts=(-o "sftp.identity=$LIFEBOAT_TEST_SFTP_IDENTITY"
                   -o "sftp.known-hosts=$LIFEBOAT_TEST_SFTP_KNOWN_HOSTS")
      else
        repo="sftp:$LIFEBOAT_TEST_SFTP_USER@127.0.0.1:$repo_dir"
        tool_opts=(-o "sftp.command=$(ssh_command)")
      fi ;;
    rest)
      repo_dir="$LIFEBOAT_TEST_REST_DIR/$name"
      repo="rest:$LIFEBOAT_TEST_REST_URL/$name/" ;;
  esac
}

# The replicas of the multi site (Lifeboat only).
replica() { echo "$RW/repo/multi-lifeboat-$current_dataset-r$1"; }

# Bytes the repository takes now: du of its directory, or the bucket's size for S3.
repo_size() {
  if [[ -n $repo_dir ]]; then
    du -sb "$repo_dir" 2>/dev/null | cut -f1 || echo 0
    return
  fi
  timeout 60 radosgw-admin -c "$SERVERS_DIR/rgw/ceph.conf" bucket stats \
    --bucket "$current_tool-$current_dataset" 2>/dev/null | python3 -c '
import json, sys
try:
    usage = json.load(sys.stdin).get("usage", {})
    print(sum(v.get("size_actual", 0) for v in usage.values()))
except ValueError:
    print(0)' || echo 0
}

# Empties what a site keeps after a tool's run (outside the timing): S3's memstore lives in RAM.
site_cleanup() {
  local site=$1
  case $site in
    s3)
      timeout 300 radosgw-admin -c "$SERVERS_DIR/rgw/ceph.conf" bucket rm \
        --bucket "$current_tool-$current_dataset" --purge-objects --bypass-gc \
        >>"$RW/logs/s3-cleanup.log" 2>&1 || log "could not empty bucket $current_tool-$current_dataset (see $RW/logs/s3-cleanup.log)" ;;
    *) [[ -n $repo_dir ]] && discard "$repo_dir" ;;
  esac
  if [[ $site == multi ]]; then discard "$(replica 1)" "$(replica 2)"; fi
  return 0
}

# --- Server CPU: clock ticks (user + system, with reaped children) of a site's servers --------

server_pids() {
  case $1 in
    s3) cat "$SERVERS_DIR"/rgw/{rgw,osd,mon}.pid 2>/dev/null ;;
    sftp) cat "$SERVERS_DIR/sshd/sshd.pid.job" 2>/dev/null ;;
    rest) cat "$SERVERS_DIR/rest/rclone.pid" 2>/dev/null ;;
  esac
  return 0
}

server_ticks() {  # server_ticks SITE -> utime+stime+cutime+cstime summed over its servers
  local pid total=0 fields
  for pid in $(server_pids "$1"); do
    [[ -r /proc/$pid/stat ]] || continue
    # Fields after the command name (which may hold spaces): utime is the 12th of them.
    fields=$(sed 's/^.*) //' "/proc/$pid/stat") || continue
    total=$((total + $(awk '{ print $12 + $13 + $14 + $15 }' <<<"$fields")))
  done
  echo "$total"
}

# sshd's sessions end (and are reaped into its counters) a moment after the client exits.
wait_sessions() {
  [[ $1 == sftp ]] || return 0
  local pid
  pid=$(server_pids sftp)
  for _ in $(seq 50); do
    [[ -z $(ps -o pid= --ppid "$pid" 2>/dev/null) ]] && return 0
    sleep 0.1
  done
}

# --- Tools -----------------------------------------------------------------------------------

tool_env() {  # tool_env TOOL SITE: fills `envs`.
  case $1 in
    restic) envs=(RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD="$PASSWORD"
                  RESTIC_CACHE_DIR="$RW/cache/restic-$2" GOMAXPROCS=2) ;;
    lifeboat) envs=(LIFEBOAT_REPOSITORY="$repo" LIFEBOAT_PASSWORD="$PASSWORD"
                    LIFEBOAT_FROM_PASSWORD="$PASSWORD") ;;
  esac
}

tool_cmd() {  # tool_cmd TOOL SITE STEP: fills `cmd`.
  local tool=$1 site=$2 step=$3
  case $tool:$site:$step in
    restic:*:init) cmd=(restic "${tool_opts[@]}" init --repository-version 2) ;;
    restic:*:backup-*) cmd=(restic "${tool_opts[@]}" backup --host bench "$live") ;;
    restic:*:restore) cmd=(restic "${tool_opts[@]}" restore latest --target "$target") ;;
    lifeboat:multi:init)
      # The two replicas share the primary's key material (init --replica-of).
      # shellcheck disable=SC2016  # expanded by sh -c
      cmd=(sh -c '"$1" init && "$1" -r "$2" init --replica-of "$LIFEBOAT_REPOSITORY" &&
                  "$1" -r "$3" init --replica-of "$LIFEBOAT_REPOSITORY"' sh
           "$LIFEBOAT" "$(replica 1)" "$(replica 2)") ;;
    lifeboat:multi:backup-*)
      cmd=("$LIFEBOAT" backup --host bench --also-to "$(replica 1)" --also-to "$(replica 2)" "$live") ;;
    # Restored from the second replica: it shows that the replica got every object.
    lifeboat:multi:restore) cmd=("$LIFEBOAT" -r "$(replica 2)" restore latest --target "$target") ;;
    lifeboat:*:init) cmd=("$LIFEBOAT" "${tool_opts[@]}" init) ;;
    lifeboat:*:backup-*) cmd=("$LIFEBOAT" "${tool_opts[@]}" backup --host bench "$live") ;;
    lifeboat:*:restore) cmd=("$LIFEBOAT" "${tool_opts[@]}" restore latest --target "$target") ;;
  esac
}

tool_settings() {
  case $1 in
    restic) echo "repository version 2, compression auto (default), local cache kept within a site" ;;
    lifeboat) echo "defaults" ;;
  esac
}

# run_step SITE TOOL STEP: runs and records one timed step. Returns the step's exit status.
run_step() {
  local site=$1 tool=$2 step=$3
  local base="$RW/logs/$current_dataset-$site-$tool-$step"
  local rc=0 wall=0 user=0 sys=0 rss=0 verify=- ticks_before ticks_after server_cpu
  local cmd envs
  tool_env "$tool" "$site"
  tool_cmd "$tool" "$site" "$step"
  case $step in
    backup-*) warm "$live" ;;
    restore)
      if [[ $site == multi ]]; then warm "$(replica 2)"; elif [[ -n $repo_dir ]]; then warm "$repo_dir"; fi
      discard "$target"
      mkdir -p "$target" ;;
  esac
  log "$current_dataset / $site / $tool / $step"
  ticks_before=$(server_ticks "$site")
  (
    [[ $step == restore ]] && cd "$target"
    exec "$TIME_BIN" -f '%e %U %S %M' -o "$base.time" "${pin[@]}" env "${envs[@]}" "${cmd[@]}"
  ) >"$base.log" 2>&1 || rc=$?
  wait_sessions "$site"
  ticks_after=$(server_ticks "$site")
  server_cpu=$(awk -v t="$((ticks_after - ticks_before))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", t / hz }')
  if [[ -s $base.time ]]; then
    read -r wall user sys rss < <(tail -n1 "$base.time") || true
  fi
  if [[ $rc -ne 0 ]]; then
    log "FAILED ($rc): $site $tool $step, see $base.log"
    tail -n5 "$base.log" | sed 's/^/    /' >&2
  elif [[ $step == restore ]]; then
    if diff -r --no-dereference -q "$live" "$(restored_root)" >"$base.verify" 2>&1; then
      verify=ok
    else
      verify=MISMATCH
      log "restore of $tool from $site differs from the source, see $base.verify"
    fi
    [[ $restore_mounted -eq 1 ]] && discard "$target"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$current_dataset" "$site" "$tool" \
    "$step" "$rc" "$wall" "$user" "$sys" "${rss:-0}" "$(repo_size)" "$verify" "$server_cpu" \
    >>"$RESULTS"
  [[ $rc -eq 0 && $verify != MISMATCH ]]
}

run_site_tool() {  # run_site_tool SITE TOOL: every step of TOOL at SITE on the current dataset.
  local site=$1 tool=$2 step failed=0
  current_tool=$tool
  site_setup "$site" "$tool"
  target="$RW/restore/$site-$tool-$current_dataset"
  discard "$target"
  if [[ $tool == restic ]]; then discard "$RW/cache/restic-$site"; fi
  sync_live "$v1_dir"
  for step in "${STEPS[@]}"; do
    if [[ $failed -eq 1 ]]; then
      printf '%s\t%s\t%s\t%s\tskipped\t0\t0\t0\t0\t0\t-\t0\n' "$current_dataset" "$site" "$tool" \
        "$step" >>"$RESULTS"
      continue
    fi
    [[ $step == backup-v2 ]] && sync_live "$v2_dir"
    run_step "$site" "$tool" "$step" || { failed=1; any_failure=1; }
  done
  site_cleanup "$site"
}

# --- Report ------------------------------------------------------------------------------------

server_note() {
  local site
  for site in "${site_list[@]}"; do
    case $site in
      s3) echo "  - s3: Ceph $(ceph --version 2>/dev/null | awk '{ print $3 }') RADOS Gateway (beast, plain HTTP) over one monitor and one memstore OSD (tests/servers/rgw.sh; objects held in RAM); restic as \`s3:http://127.0.0.1:PORT/BUCKET\`, Lifeboat as \`s3:http://127.0.0.1:PORT/BUCKET/repo\` (SigV4 with signed payload on plain HTTP)" ;;
      sftp) echo "  - sftp: $(ssh -V 2>&1 | cut -d, -f1) sshd with internal-sftp (tests/servers/sshd.sh), ed25519 keys; restic through \`ssh ... -s sftp\` (the OpenSSH client), Lifeboat through libssh $(dpkg-query -W -f='${Version}' libssh-4 2>/dev/null || echo '?')" ;;
      rest) echo "  - rest: $(rclone version 2>/dev/null | head -n1) \`serve restic\` (tests/servers/rest.sh), plain HTTP, no authentication" ;;
      local) echo "  - local: a directory on the same disk as the data" ;;
      multi) echo "  - multi: Lifeboat only: a local primary and two local replicas (\`init --replica-of\`), every backup with \`--also-to\` both; restored from the second replica" ;;
    esac
  done
}

restore_note() {
  if [[ $restore_on == tmpfs ]]; then
    echo "a tmpfs mounted for the run (\`--restore-on tmpfs\`), the same for both tools"
  else
    echo "a directory on the disk of the work directory (\`--restore-on disk\`: $(df -T "$RW/restore" | awk 'NR == 2 { print $2 }'))"
  fi
}

report() {
  local ds
  cat <<EOF
# Lifeboat remote sites benchmark: $(date -u '+%Y-%m-%d %H:%M UTC')

$(host_line)
- CPU: $cpu_note. **The servers run on the same machine, unpinned**: they share the $(nproc --all)
  CPUs with the tool being measured, so server work slows the client and the reverse. "Server
  CPU" is the servers' user + system time during the step (from /proc, sessions included).
- Load average at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg).
- Cache: warm page cache (the source before a backup and the repository's files before a restore
  are read once); restic keeps its local cache between the steps of one site, as users have it.
- Measured with \`$TIME_BIN -f '%e %U %S %M'\`: wall time, client CPU = user + sys (children
  included: restic's ssh), peak RSS of the largest process. Repository size: \`du -sb\`, or the
  bucket's size_actual for S3. Restores verified with \`diff -r --no-dereference\` (not timed).
- Restore target: $(restore_note)
- Command: \`bench/remote.sh ${original_args[*]}\`
- Sites (servers on 127.0.0.1, started by tests/servers/run_with.sh):
$(server_note)
- Tools:
EOF
  for tool in "${tool_list[@]}"; do
    if [[ -n ${skip_reason[$tool]:-} ]]; then
      echo "  - $tool: **not run** -- ${skip_reason[$tool]}"
    else
      echo "  - $(tool_version "$tool") ($(tool_settings "$tool"))"
    fi
  done
  for ds in "${datasets[@]}"; do
    echo
    echo "## Dataset: $ds"
    echo
    echo "${dataset_notes[$ds]}"
    echo
    awk -F'\t' -v ds="$ds" -f "$BENCH_DIR/report_lib.awk" -f "$BENCH_DIR/remote_report.awk" \
      "$RESULTS"
  done
}

# -----------------------------------------------------------------------------------------------

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$RESULTS"
any_failure=0
declare -A dataset_notes=()
for current_dataset in "${datasets[@]}"; do
  "prepare_$current_dataset"
  live="$RW/live/$current_dataset"
  mkdir -p "$live"
  dataset_notes[$current_dataset]="$dataset_note
v1: $(tree_stats "$v1_dir"); v2: $(tree_stats "$v2_dir"). Backed-up path: \`$live\`."
  for site in "${site_list[@]}"; do
    for tool in "${tool_list[@]}"; do
      [[ -n ${skip_reason[$tool]:-} ]] && continue
      [[ $site == multi && $tool != lifeboat ]] && continue
      run_site_tool "$site" "$tool"
    done
  done
done

report_text=$(report)
echo "$report_text"
if [[ -n $out_file ]]; then
  echo "$report_text" >"$out_file"
  log "report written to $out_file"
fi
log "raw results: $RESULTS; logs: $RW/logs"
if [[ -d $TRASH ]]; then
  log "emptying $TRASH"
  rm -rf "$TRASH"
fi
exit "$any_failure"
