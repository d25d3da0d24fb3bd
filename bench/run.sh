#!/usr/bin/env bash
# shellcheck disable=SC2317  # prepare_<dataset> is called indirectly
# Lifeboat vs restic vs borg on the same data, in one run.
#
# Usage:
#   bench/run.sh [--dataset kernel|image|all] [--tools lifeboat,restic,borg] [--out FILE.md]
#                [--image-size SIZE] [--image-extent BLOCKS] [--kernel-subset PATHS] [--seed N]
#
#   --dataset        which dataset(s) to run (default: all)
#                      kernel  Linux 6.1 source tree from Debian's linux-source-6.1 package
#                      image   deterministic disk-image-like file (random + zero runs)
#   --tools          comma-separated tools, run in this order (default: lifeboat,restic,borg)
#   --out FILE.md    also write the Markdown report to FILE.md (it always goes to stdout)
#   --image-size S   size of image v1, e.g. 64M or 1G (default: 1G)
#   --image-extent N image v2 rewrites its ~1% of 4 KiB blocks in extents of 1..N consecutive
#                    blocks (default: 1 = scattered single blocks, which touches nearly every
#                    MiB-sized chunk; e.g. 64 gives clustered writes like a real disk)
#   --kernel-subset  comma-separated paths (tar wildcards allowed) inside the kernel tree, e.g.
#                    "kernel,lib,drivers/net" -- for quick runs (default: the whole tree)
#   --seed N         seed for the dataset generators (default: 1)
#
# Environment:
#   BENCH_WORK       work directory for datasets, repositories, logs (default: bench/work)
#   BENCH_DATA       where the datasets are generated and reused (default: $BENCH_WORK/data)
#   LIFEBOAT_BIN     Lifeboat CLI (default: $BENCH_BUILD_DIR/src/cli/lifeboat); skipped if missing
#   BENCH_BUILD_DIR  CMake build dir holding lifeboat and the bench helpers (default: build/release)
#   BENCH_CPUS       CPU list every tool is pinned to with taskset (default: 0,1 = two cores)
#
# For each dataset and tool: init; backup of v1; backup of v2 (changed); backup of v2 again
# (unchanged); restore of the latest snapshot into an empty directory. Every step is timed with
# /usr/bin/time (wall, user+sys CPU, peak RSS); the repository is measured with `du -sb` after each
# step. Restores are verified with `diff -r` outside the timing. Page caches are NOT dropped: the
# data is read once before each step so every tool runs on a warm cache.
#
# Missing restic / borgbackup / time / rsync / linux-source-6.1 packages are installed with
# apt-get (sudo when not root). Exit status: 0 when every step and every restore check passed.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly BENCH_DIR="$REPO_ROOT/bench"
readonly STEPS=(init backup-v1 backup-v2 backup-v2-again restore)

dataset=all
tools=lifeboat,restic,borg
out_file=
image_size=1G
image_extent=1
kernel_subset=
seed=1

usage() {
  sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

while [[ $# -gt 0 ]]; do
  case $1 in
    --dataset) dataset=${2:?--dataset needs a value}; shift 2 ;;
    --tools) tools=${2:?--tools needs a value}; shift 2 ;;
    --out) out_file=${2:?--out needs a value}; shift 2 ;;
    --image-size) image_size=${2:?--image-size needs a value}; shift 2 ;;
    --image-extent) image_extent=${2:?--image-extent needs a value}; shift 2 ;;
    --kernel-subset) kernel_subset=${2:?--kernel-subset needs a value}; shift 2 ;;
    --seed) seed=${2:?--seed needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

case $dataset in
  kernel|image) datasets=("$dataset") ;;
  all) datasets=(kernel image) ;;
  *) die "--dataset must be kernel, image or all" ;;
esac
IFS=, read -r -a tool_list <<<"$tools"
for tool in "${tool_list[@]}"; do
  case $tool in lifeboat|restic|borg) ;; *) die "unknown tool '$tool'" ;; esac
done
[[ $seed =~ ^[0-9]+$ ]] || die "--seed must be a non-negative integer"
[[ $image_size =~ ^[0-9]+[KMGkmg]?$ ]] || die "--image-size must look like 64M or 1G"
[[ $image_extent =~ ^[0-9]+$ ]] || die "--image-extent must be a positive integer"

WORK=$(mkdir -p "${BENCH_WORK:-$BENCH_DIR/work}" && cd "${BENCH_WORK:-$BENCH_DIR/work}" && pwd)
readonly WORK
readonly BUILD_DIR=${BENCH_BUILD_DIR:-$REPO_ROOT/build/release}
readonly LIFEBOAT=${LIFEBOAT_BIN:-$BUILD_DIR/src/cli/lifeboat}
readonly CPUS=${BENCH_CPUS:-0,1}
readonly RESULTS="$WORK/results.tsv"
mkdir -p "$WORK"/{bin,data,live,repo,restore,cache,logs}
readonly TRASH="$WORK/trash"

# discard PATH...: moves old repositories and restores out of the way (a rename) instead of
# deleting them while steps are timed; the trash is emptied after the last timed step. Deleting
# the ~80k files of an earlier kernel restore right before a timed step makes ext4 slow to
# allocate inodes for the next minutes (it scans past recently freed ones: restores measured 3-8x
# slower), which would bill one tool for another's clean-up.
discard() {
  local path
  for path in "$@"; do
    [[ -e $path ]] || continue
    mkdir -p "$TRASH"
    mv "$path" "$(mktemp -d "$TRASH/discarded.XXXXXX")/" || die "cannot move $path to $TRASH"
  done
}
DATA=$(mkdir -p "${BENCH_DATA:-$WORK/data}" && cd "${BENCH_DATA:-$WORK/data}" && pwd)
readonly DATA

# ---------------------------------------------------------------------------------------------
# Prerequisites

[[ -x $TIME_BIN ]] || apt_install time || die "cannot install GNU time ($TIME_BIN)"
need_command rsync rsync || die "cannot install rsync"

declare -A skip_reason=()
for tool in "${tool_list[@]}"; do
  case $tool in
    restic) need_command restic restic || skip_reason[restic]="restic is not installed and apt-get failed" ;;
    borg) need_command borg borgbackup || skip_reason[borg]="borg is not installed and apt-get failed" ;;
    lifeboat)
      if [[ ! -x $LIFEBOAT ]]; then
        skip_reason[lifeboat]="Lifeboat binary not found at $LIFEBOAT (build it or set LIFEBOAT_BIN)"
        log "SKIPPING lifeboat: ${skip_reason[lifeboat]}"
      fi ;;
  esac
done

setup_pinning

# ---------------------------------------------------------------------------------------------
# Datasets: prepare_image and prepare_kernel (bench/lib.sh) set v1_dir, v2_dir and dataset_note.

# Makes $live an exact copy of DIR (rsync: unchanged files keep inode, ctime and mtime, as on a
# real machine, so the tools' change detection works).
sync_live() {  # sync_live SOURCE_DIR
  rsync -a --delete --exclude=/.complete "$1/" "$live/"
}

# ---------------------------------------------------------------------------------------------
# Tools: tool_cmd TOOL STEP prints nothing and fills the array `cmd`.

tool_env() {  # tool_env TOOL: fills `envs` with the environment for TOOL.
  case $1 in
    restic) envs=(RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD="$PASSWORD"
                  RESTIC_CACHE_DIR="$WORK/cache/restic" GOMAXPROCS=2) ;;
    borg) envs=(BORG_REPO="$repo" BORG_PASSPHRASE="$PASSWORD" BORG_BASE_DIR="$WORK/cache/borg"
                BORG_DISPLAY_PASSPHRASE=no BORG_RELOCATED_REPO_ACCESS_IS_OK=yes) ;;
    lifeboat) envs=(LIFEBOAT_REPOSITORY="$repo" LIFEBOAT_PASSWORD="$PASSWORD") ;;
  esac
}

tool_cmd() {  # tool_cmd TOOL STEP: fills `cmd`.
  local tool=$1 step=$2
  # shellcheck disable=SC2054  # "zstd,3" below is one argument, not an array separator
  case $tool:$step in
    restic:init) cmd=(restic init --repository-version 2) ;;
    restic:backup-*) cmd=(restic backup --host bench "$live") ;;
    restic:restore) cmd=(restic restore latest --target "$target") ;;
    borg:init) cmd=(borg init -e repokey-blake2 "$repo") ;;
    borg:backup-*) cmd=(borg create --compression zstd,3 "$repo::${step#backup-}" "$live") ;;
    borg:restore) cmd=(borg extract "$repo::v2-again") ;;  # runs inside $target
    lifeboat:init) cmd=("$LIFEBOAT" init) ;;
    lifeboat:backup-*) cmd=("$LIFEBOAT" backup --host bench "$live") ;;
    lifeboat:restore) cmd=("$LIFEBOAT" restore latest --target "$target") ;;
  esac
}

tool_settings() {
  case $1 in
    restic) echo "repository version 2, compression auto (default)" ;;
    borg) echo "repokey-blake2, --compression zstd,3" ;;
    lifeboat) echo "defaults" ;;
  esac
}

# run_step TOOL STEP: runs and records one timed step. Returns the step's exit status.
run_step() {
  local tool=$1 step=$2
  local logfile="$WORK/logs/$current_dataset-$tool-$step.log"
  local timefile="$WORK/logs/$current_dataset-$tool-$step.time"
  local rc=0 wall=0 user=0 sys=0 rss=0 verify=-
  local cmd envs
  tool_env "$tool"
  tool_cmd "$tool" "$step"
  case $step in
    backup-*) warm "$live" ;;
    restore) warm "$repo"; discard "$target"; mkdir -p "$target" ;;
  esac
  log "$current_dataset / $tool / $step"
  (
    [[ $step == restore ]] && cd "$target"
    exec "$TIME_BIN" -f '%e %U %S %M' -o "$timefile" "${pin[@]}" env "${envs[@]}" "${cmd[@]}"
  ) >"$logfile" 2>&1 || rc=$?
  if [[ -s $timefile ]]; then
    read -r wall user sys rss < <(tail -n1 "$timefile") || true
  fi
  if [[ $rc -ne 0 ]]; then
    log "FAILED ($rc): $tool $step, see $logfile"
    tail -n5 "$logfile" | sed 's/^/    /' >&2
  elif [[ $step == restore ]]; then
    if diff -r --no-dereference -q "$live" "$(restored_root)" >"$WORK/logs/$current_dataset-$tool-verify.log" 2>&1; then
      verify=ok
    else
      verify=MISMATCH
      log "restore of $tool differs from the source, see $WORK/logs/$current_dataset-$tool-verify.log"
    fi
  fi
  local repo_bytes
  repo_bytes=$(du -sb "$repo" 2>/dev/null | cut -f1) || repo_bytes=0
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$current_dataset" "$tool" "$step" "$rc" \
    "$wall" "$user" "$sys" "${rss:-0}" "${repo_bytes:-0}" "$verify" >>"$RESULTS"
  [[ $rc -eq 0 && $verify != MISMATCH ]]
}

run_tool() {  # run_tool TOOL: all steps of TOOL on the current dataset.
  local tool=$1 step failed=0
  repo="$WORK/repo/$tool-$current_dataset"
  target="$WORK/restore/$tool-$current_dataset"
  discard "$repo" "$target" "$WORK/cache/$tool"
  mkdir -p "$WORK/cache/$tool"
  sync_live "$v1_dir"
  for step in "${STEPS[@]}"; do
    if [[ $failed -eq 1 ]]; then
      printf '%s\t%s\t%s\tskipped\t0\t0\t0\t0\t0\t-\n' "$current_dataset" "$tool" "$step" >>"$RESULTS"
      continue
    fi
    [[ $step == backup-v2 ]] && sync_live "$v2_dir"
    run_step "$tool" "$step" || { failed=1; any_failure=1; }
  done
}

# run_floor: the CPU floor of Lifeboat's design on the current dataset (bench/floor_bench.cc:
# read, chunk, id, encode and verify on one thread, no packs or writes), for backup-v1 and for
# backup-v2 after v1. Appends "dataset step cpu_seconds" lines to $FLOOR. Not a tool: it does
# not back anything up; it shows how close any implementation of the design could get.
run_floor() {
  local floor_bench=$BUILD_DIR/bench/floor_bench cpu
  if [[ ! -x $floor_bench ]]; then
    log "no $floor_bench (build the floor_bench target): the CPU floor is not measured"
    return 0
  fi
  warm "$v1_dir"
  log "$current_dataset / CPU floor of backup-v1"
  cpu=$("${pin[@]}" "$floor_bench" "$v1_dir" | awk '$1 == "total" { print $2 }') ||
    die "floor_bench failed on $v1_dir"
  printf '%s\tbackup-v1\t%s\n' "$current_dataset" "$cpu" >>"$FLOOR"
  warm "$v1_dir" "$v2_dir"
  log "$current_dataset / CPU floor of backup-v2"
  cpu=$("${pin[@]}" "$floor_bench" --known "$v1_dir" "$v2_dir" | awk '$1 == "total" { print $2 }') ||
    die "floor_bench failed on $v2_dir"
  printf '%s\tbackup-v2\t%s\n' "$current_dataset" "$cpu" >>"$FLOOR"
}

# ---------------------------------------------------------------------------------------------
# Report (Markdown, from results.tsv)

report() {
  local ds
  cat <<EOF
# Lifeboat benchmark: $(date -u '+%Y-%m-%d %H:%M UTC')

$(host_line)
- CPU: $cpu_note.
- Cache: **warm page cache** -- caches are not dropped; the source data (before a backup) or the
  repository (before a restore) is read once right before each timed step. Each tool starts with
  an empty repository and an empty tool cache.
- Measured with \`$TIME_BIN -f '%e %U %S %M'\`: wall time, CPU = user + sys, peak RSS of the
  largest process. Repository size: \`du -sb\` after the step. Restores verified with
  \`diff -r --no-dereference\` (not timed).
- Steps: init; backup of v1; backup of v2 (changed data, same path); backup of v2 again
  (unchanged); restore of the latest snapshot into an empty directory.
EOF
  echo "- Tools:"
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
    awk -F'\t' -v ds="$ds" -v cores="$floor_cores" \
      -v floor_v1="$(awk -F'\t' -v ds="$ds" '$1 == ds && $2 == "backup-v1" { print $3 }' "$FLOOR")" \
      -v floor_v2="$(awk -F'\t' -v ds="$ds" '$1 == ds && $2 == "backup-v2" { print $3 }' "$FLOOR")" \
      -f "$BENCH_DIR/report_lib.awk" -f "$BENCH_DIR/report.awk" "$RESULTS"
  done
}

# ---------------------------------------------------------------------------------------------

: >"$RESULTS"
readonly FLOOR="$WORK/floor.tsv"
: >"$FLOOR"
floor_cores=$("${pin[@]}" nproc)
any_failure=0
declare -A dataset_notes=()
live=
for current_dataset in "${datasets[@]}"; do
  "prepare_$current_dataset"
  live="$WORK/live/$current_dataset"
  mkdir -p "$live"
  dataset_notes[$current_dataset]="$dataset_note
v1: $(tree_stats "$v1_dir"); v2: $(tree_stats "$v2_dir"). Backed-up path: \`$live\` \
(both versions are synced into it with rsync, so every tool sees the same path)."
  for tool in "${tool_list[@]}"; do
    [[ -n ${skip_reason[$tool]:-} ]] && continue
    run_tool "$tool"
  done
  [[ " ${tool_list[*]} " == *" lifeboat "* ]] && run_floor
done

report_text=$(report)
echo "$report_text"
if [[ -n $out_file ]]; then
  echo "$report_text" >"$out_file"
  log "report written to $out_file"
fi
log "raw results: $RESULTS; logs: $WORK/logs"
if [[ -d $TRASH ]]; then
  log "emptying $TRASH; ext4 allocates inodes slowly for a few minutes after a mass delete, so start the next run a few minutes from now"
  rm -rf "$TRASH"
fi
exit "$any_failure"
