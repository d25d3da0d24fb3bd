#!/usr/bin/env bash
# Repository lifecycle benchmark: Lifeboat beside restic on the same repository history, in one run.
#
# Usage:
#   bench/lifecycle.sh [--tools lifeboat,restic] [--kernel-subset PATHS] [--increments N]
#                      [--out FILE.md]
#
#   --tools          comma-separated tools, run in this order (default: lifeboat,restic)
#   --kernel-subset  comma-separated paths (tar wildcards allowed) inside the kernel tree, e.g.
#                    "kernel,lib" -- for quick runs (default: the whole tree)
#   --increments N   incremental versions backed up after the first (default: 10, i.e. 11
#                    snapshots; the targets are stated for 10)
#   --out FILE.md    also write the Markdown report to FILE.md (it always goes to stdout)
#
# Environment:
#   BENCH_WORK       work directory (default: bench/work); this script uses $BENCH_WORK/lifecycle
#   BENCH_DATA       where the kernel tree is extracted and reused (default: $BENCH_WORK/data,
#                    shared with bench/run.sh); only read once it exists
#   LIFEBOAT_BIN     Lifeboat CLI (default: $BENCH_BUILD_DIR/src/cli/lifeboat); skipped if missing
#   BENCH_BUILD_DIR  CMake build dir holding lifeboat and the bench helpers (default: build/release)
#   BENCH_CPUS       CPU list every tool is pinned to with taskset (default: 0,1 = two cores)
#
# Scenario: a live copy of the kernel tree (v1) is mutated N times in place with
# lifeboat_bench_mutate_tree (seeds 1..N; each time 1% of files edited, 0.2% deleted, 0.2% edited
# copies added); every tool backs up each version in turn, so each repository ends with N+1
# snapshots of the same path. Then, per tool, one after the other: a replica is initialised from
# the repository and every snapshot is copied into it (timed: copy); `check --read-data` (timed);
# `forget --keep-last 3 --prune` (timed); `check` (sanity, must pass). Outside the timing: the
# replica holds N+1 snapshots and passes `check`, the repository holds 3 snapshots after the
# prune, and a restore of Lifeboat's latest snapshot equals the live tree (`diff -r`).
# If this Lifeboat build has no `copy` command, its replica steps are reported as not run.
#
# Exit status: 0 when every step that ran succeeded and every check passed.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly BENCH_DIR="$REPO_ROOT/bench"
readonly KEEP_LAST=3

tools=lifeboat,restic
out_file=
kernel_subset=
increments=10
original_args=("$@")

usage() {
  sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

while [[ $# -gt 0 ]]; do
  case $1 in
    --tools) tools=${2:?--tools needs a value}; shift 2 ;;
    --out) out_file=${2:?--out needs a value}; shift 2 ;;
    --kernel-subset) kernel_subset=${2:?--kernel-subset needs a value}; shift 2 ;;
    --increments) increments=${2:?--increments needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

IFS=, read -r -a tool_list <<<"$tools"
[[ ${#tool_list[@]} -gt 0 ]] || die "--tools needs at least one tool"
for tool in "${tool_list[@]}"; do
  case $tool in lifeboat|restic) ;; *) die "unknown tool '$tool' (lifeboat or restic)" ;; esac
done
[[ $increments =~ ^[0-9]+$ && $increments -ge $KEEP_LAST && $increments -le 98 ]] ||
  die "--increments must be an integer from $KEEP_LAST to 98"
readonly SNAPSHOTS=$((increments + 1))

WORK=$(mkdir -p "${BENCH_WORK:-$BENCH_DIR/work}" && cd "${BENCH_WORK:-$BENCH_DIR/work}" && pwd)
readonly WORK
DATA=$(mkdir -p "${BENCH_DATA:-$WORK/data}" && cd "${BENCH_DATA:-$WORK/data}" && pwd)
readonly DATA
readonly LC="$WORK/lifecycle"
readonly BUILD_DIR=${BENCH_BUILD_DIR:-$REPO_ROOT/build/release}
readonly LIFEBOAT=${LIFEBOAT_BIN:-$BUILD_DIR/src/cli/lifeboat}
readonly CPUS=${BENCH_CPUS:-0,1}
readonly RESULTS="$LC/results.tsv"
rm -rf "$LC/logs"
mkdir -p "$LC"/{live,repo,replica,restore,cache,logs}

# ---------------------------------------------------------------------------------------------
# Prerequisites

[[ -x $TIME_BIN ]] || apt_install time || die "cannot install GNU time ($TIME_BIN)"
need_command rsync rsync || die "cannot install rsync"
need_command jq jq || die "cannot install jq (used to count snapshots)"

# Whether this Lifeboat build has the replication commands. An unknown subcommand with --help
# prints the top-level help and exits 0, so look for the subcommand's own usage line instead of
# trusting the exit status.
lifeboat_has_copy() {
  local copy_help init_help
  copy_help=$(timeout 10 "$LIFEBOAT" copy --help 2>&1) || true
  init_help=$(timeout 10 "$LIFEBOAT" init --help 2>&1) || true
  grep -Eq '^Usage: ([^ ]*/)?lifeboat copy' <<<"$copy_help" && grep -q -- '--replica-of' <<<"$init_help"
}

declare -A skip_reason=()
lifeboat_copy_note=
for tool in "${tool_list[@]}"; do
  case $tool in
    restic) need_command restic restic || skip_reason[restic]="restic is not installed and apt-get failed" ;;
    lifeboat)
      if [[ ! -x $LIFEBOAT ]]; then
        skip_reason[lifeboat]="Lifeboat binary not found at $LIFEBOAT (build it or set LIFEBOAT_BIN)"
        log "SKIPPING lifeboat: ${skip_reason[lifeboat]}"
      elif ! lifeboat_has_copy; then
        lifeboat_copy_note="this Lifeboat build has no \`copy\` / \`init --replica-of\` \
(\`lifeboat copy --help\` does not show the copy command), so its replica steps were not run"
        log "NOTE: $lifeboat_copy_note"
      fi ;;
  esac
done

setup_pinning
mutate_tree=$(helper lifeboat_bench_mutate_tree mutate_tree.cc)
extract_kernel_v1
readonly live="$LC/live/kernel-$kernel_key"

# ---------------------------------------------------------------------------------------------
# Steps. step_cmd TOOL STEP fills `envs` and `cmd`; `repo` and `replica` name TOOL's repositories.

step_cmd() {
  local tool=$1 step=$2
  case $tool in
    lifeboat) envs=(LIFEBOAT_REPOSITORY="$repo" LIFEBOAT_PASSWORD="$PASSWORD") ;;
    restic) envs=(RESTIC_REPOSITORY="$repo" RESTIC_PASSWORD="$PASSWORD"
                  RESTIC_CACHE_DIR="$LC/cache/restic" GOMAXPROCS=2) ;;
  esac
  case $tool:$step in
    lifeboat:replica-init|lifeboat:copy)
      envs=(LIFEBOAT_REPOSITORY="$replica" LIFEBOAT_PASSWORD="$PASSWORD"
            LIFEBOAT_FROM_PASSWORD="$PASSWORD") ;;
    restic:replica-init|restic:copy)
      envs=(RESTIC_REPOSITORY="$replica" RESTIC_PASSWORD="$PASSWORD" RESTIC_FROM_PASSWORD="$PASSWORD"
            RESTIC_CACHE_DIR="$LC/cache/restic" GOMAXPROCS=2) ;;
  esac
  case $tool:$step in
    lifeboat:init) cmd=("$LIFEBOAT" init) ;;
    lifeboat:backup-*) cmd=("$LIFEBOAT" backup --host bench "$live") ;;
    lifeboat:replica-init) cmd=("$LIFEBOAT" init --replica-of "$repo") ;;
    lifeboat:copy) cmd=("$LIFEBOAT" copy --from "$repo") ;;
    lifeboat:check-read-data) cmd=("$LIFEBOAT" check --read-data) ;;
    lifeboat:forget-prune) cmd=("$LIFEBOAT" forget --keep-last "$KEEP_LAST" --prune) ;;
    lifeboat:check) cmd=("$LIFEBOAT" check) ;;
    restic:init) cmd=(restic init --repository-version 2) ;;
    restic:backup-*) cmd=(restic backup --host bench "$live") ;;
    restic:replica-init)
      cmd=(restic init --repository-version 2 --from-repo "$repo" --copy-chunker-params) ;;
    restic:copy) cmd=(restic copy --from-repo "$repo") ;;
    restic:check-read-data) cmd=(restic check --read-data) ;;
    restic:forget-prune) cmd=(restic forget --keep-last "$KEEP_LAST" --prune) ;;
    restic:check) cmd=(restic check) ;;
    *) die "internal error: no command for $tool $step" ;;
  esac
}

# Runs one untimed command of TOOL against REPOSITORY (for the checks): tool_at TOOL REPO ARGS...
tool_at() {
  local tool=$1 repository=$2
  shift 2
  case $tool in
    lifeboat) env LIFEBOAT_REPOSITORY="$repository" LIFEBOAT_PASSWORD="$PASSWORD" "$LIFEBOAT" "$@" ;;
    restic) env RESTIC_REPOSITORY="$repository" RESTIC_PASSWORD="$PASSWORD" \
              RESTIC_CACHE_DIR="$LC/cache/restic" GOMAXPROCS=2 restic "$@" ;;
  esac
}

snapshot_count() {  # snapshot_count TOOL REPO -> number of snapshots, or nothing on failure
  case $1 in
    lifeboat) tool_at lifeboat "$2" --json snapshots 2>/dev/null | jq length 2>/dev/null ;;
    restic) tool_at restic "$2" snapshots --json 2>/dev/null | jq length 2>/dev/null ;;
  esac
}

record() {  # record TOOL STEP KIND RC WALL USER SYS RSS_KIB REPO_BYTES VERIFY
  local IFS=$'\t'
  echo "$*" >>"$RESULTS"
}

# run_step TOOL STEP KIND: runs and records one timed step (KIND: build, replica, target,
# sanity). Then checks what the step must have produced. Returns non-zero if either failed.
run_step() {
  local tool=$1 step=$2 kind=$3
  local logfile="$LC/logs/$tool-$step.log" timefile="$LC/logs/$tool-$step.time"
  local rc=0 wall=0 user=0 sys=0 rss=0 verify=- measured=$repo count
  local cmd envs
  step_cmd "$tool" "$step"
  case $step in
    backup-*) warm "$live" ;;
    replica-init|copy) warm "$repo" "$replica" "$LC/cache/$tool"; measured=$replica ;;
    *) warm "$repo" "$LC/cache/$tool" ;;
  esac
  log "$tool / $step"
  rm -f "$timefile"
  "$TIME_BIN" -f '%e %U %S %M' -o "$timefile" "${pin[@]}" env "${envs[@]}" "${cmd[@]}" \
    >"$logfile" 2>&1 </dev/null || rc=$?
  if [[ -s $timefile ]]; then
    read -r wall user sys rss < <(tail -n1 "$timefile") || true
  fi
  if [[ $rc -ne 0 ]]; then
    log "FAILED ($rc): $tool $step, see $logfile"
    tail -n5 "$logfile" | sed 's/^/    /' >&2
  else
    case $step in
      copy)
        count=$(snapshot_count "$tool" "$replica")
        if [[ $count != "$SNAPSHOTS" ]]; then
          verify="MISMATCH: replica has ${count:-?} snapshots, expected $SNAPSHOTS"
        elif ! tool_at "$tool" "$replica" check >"$LC/logs/$tool-replica-check.log" 2>&1; then
          verify="MISMATCH: check of the replica failed (see $LC/logs/$tool-replica-check.log)"
        else
          verify="replica: $count snapshots, check ok"
        fi ;;
      forget-prune)
        count=$(snapshot_count "$tool" "$repo")
        if [[ $count != "$KEEP_LAST" ]]; then
          verify="MISMATCH: ${count:-?} snapshots left, expected $KEEP_LAST"
        else
          verify="$count snapshots left"
        fi ;;
    esac
    [[ $verify == MISMATCH* ]] && log "$tool $step: $verify"
  fi
  local repo_bytes
  repo_bytes=$(du -sb "$measured" 2>/dev/null | cut -f1) || repo_bytes=0
  record "$tool" "$step" "$kind" "$rc" "$wall" "$user" "$sys" "${rss:-0}" "${repo_bytes:-0}" "$verify"
  [[ $rc -eq 0 && $verify != MISMATCH* ]]
}

# Restores Lifeboat's latest snapshot and compares it with the live tree (not timed).
verify_restore() {
  local tool=$1 verify
  target="$LC/restore/$tool"
  rm -rf "$target" && mkdir -p "$target"
  log "$tool / restore latest (verification, not timed)"
  if ! tool_at "$tool" "$repo" restore latest --target "$target" >"$LC/logs/$tool-restore.log" 2>&1; then
    verify="FAILED (see $LC/logs/$tool-restore.log)"
  elif diff -r --no-dereference -q "$live" "$(restored_root)" >"$LC/logs/$tool-restore-diff.log" 2>&1; then
    verify="ok"
    rm -rf "$target"
  else
    verify="MISMATCH (see $LC/logs/$tool-restore-diff.log)"
  fi
  [[ $verify == ok ]] || log "$tool: restore of the latest snapshot: $verify"
  record "$tool" restore-latest verify "$([[ $verify == ok ]] && echo 0 || echo 1)" 0 0 0 0 0 "$verify"
  [[ $verify == ok ]]
}

# ---------------------------------------------------------------------------------------------
# Run

: >"$RESULTS"
any_failure=0
declare -A failed=()
active=()
for tool in "${tool_list[@]}"; do
  [[ -n ${skip_reason[$tool]:-} ]] || active+=("$tool")
done
[[ ${#active[@]} -gt 0 ]] || die "none of the tools can run (${skip_reason[*]})"
repo_of() { repo="$LC/repo/$1"; replica="$LC/replica/$1"; }

log "live tree: $live (from $v1_dir)"
rm -rf "$live"
mkdir -p "$(dirname "$live")"
rsync -a --exclude=/.complete "$v1_dir/" "$live/"
v1_stats=$(tree_stats "$live")

# Build: every version is backed up by every tool before the next mutation.
for tool in "${active[@]}"; do
  repo_of "$tool"
  rm -rf "$repo" "$replica" "$LC/cache/$tool" "$LC/restore/$tool"
  mkdir -p "$LC/cache/$tool"
  run_step "$tool" init build || { failed[$tool]=1; any_failure=1; }
done
for ((version = 1; version <= SNAPSHOTS; version++)); do
  if [[ $version -gt 1 ]]; then
    log "mutating the live tree into version $version"
    "$mutate_tree" --seed $((version - 1)) --copy-suffix ".v${version}copy" "$live" \
      2>>"$LC/logs/mutate.log" || die "mutate_tree failed, see $LC/logs/mutate.log"
  fi
  step=$(printf 'backup-%02d' "$version")
  for tool in "${active[@]}"; do
    repo_of "$tool"
    if [[ -n ${failed[$tool]:-} ]]; then
      record "$tool" "$step" build skipped 0 0 0 0 0 -
      continue
    fi
    run_step "$tool" "$step" build || { failed[$tool]=1; any_failure=1; }
  done
done
last_stats=$(tree_stats "$live")

# Lifecycle: one tool after the other.
for tool in "${active[@]}"; do
  repo_of "$tool"
  replica_ok=1
  for entry in replica-init:replica copy:target check-read-data:target forget-prune:target \
               check:sanity; do
    step=${entry%%:*}
    kind=${entry#*:}
    if [[ -n ${failed[$tool]:-} ]]; then
      record "$tool" "$step" "$kind" skipped 0 0 0 0 0 -
      continue
    fi
    if [[ $tool == lifeboat && -n $lifeboat_copy_note ]] &&
       [[ $step == replica-init || $step == copy ]]; then
      record "$tool" "$step" "$kind" unavailable 0 0 0 0 0 -
      continue
    fi
    if [[ $step == copy && $replica_ok -eq 0 ]]; then
      record "$tool" "$step" "$kind" skipped 0 0 0 0 0 -
      continue
    fi
    if ! run_step "$tool" "$step" "$kind"; then
      any_failure=1
      # The replica steps leave the source repository untouched: carry on with check and forget.
      case $step in
        replica-init) replica_ok=0 ;;
        copy) ;;
        *) failed[$tool]=1 ;;
      esac
    fi
  done
  if [[ $tool == lifeboat && -z ${failed[$tool]:-} ]]; then
    verify_restore "$tool" || any_failure=1
  fi
done

# ---------------------------------------------------------------------------------------------
# Report

shell_quote() {  # shell_quote WORD: WORD as is if it is plain, else in single quotes
  if [[ $1 =~ ^[A-Za-z0-9_./:,+=@%-]+$ ]]; then
    echo "$1"
  else
    echo "'${1//\'/\'\\\'\'}'"
  fi
}

reproduce_command() {
  local parts=() var arg
  for var in BENCH_WORK BENCH_DATA LIFEBOAT_BIN BENCH_BUILD_DIR BENCH_CPUS; do
    [[ -n ${!var:-} ]] && parts+=("$var=$(shell_quote "${!var}")")
  done
  parts+=(bench/lifecycle.sh)
  for arg in "${original_args[@]}"; do parts+=("$(shell_quote "$arg")"); done
  echo "${parts[*]}"
}

source_revision() {
  local rev
  rev=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null) || { echo "unknown"; return; }
  if [[ -n $(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    rev="$rev + uncommitted changes"
  fi
  echo "$rev"
}

report() {
  cat <<EOF
# Lifeboat repository lifecycle benchmark: $(date -u '+%Y-%m-%d %H:%M UTC')

- Reproduce (from the repository root, source at $(source_revision)):
  \`$(reproduce_command)\`
$(host_line)
- CPU: $cpu_note.
- Cache: **warm page cache** -- caches are not dropped; the live tree (before a backup) or the
  repository (before every other step) is read once right before each timed step.
- Tool caches: restic runs with its local cache as users have it (\`RESTIC_CACHE_DIR\` =
  \`$LC/cache/restic\`, emptied when the run starts, then kept across all steps, so the
  backups have filled it with index, snapshot and tree data). \`restic check\` ignores that
  cache by default and reads everything from the repository. Lifeboat has no local cache: every
  command reads the index and trees from the repository.
- Measured with \`$TIME_BIN -f '%e %U %S %M'\`: wall time, CPU = user + sys, peak RSS of the
  largest process. Repository size: \`du -sb\` after the step (for the replica steps: of the
  replica).
EOF
  echo "- Tools:"
  for tool in "${tool_list[@]}"; do
    if [[ -n ${skip_reason[$tool]:-} ]]; then
      echo "  - $tool: **not run** -- ${skip_reason[$tool]}"
    elif [[ $tool == restic ]]; then
      echo "  - $(tool_version restic) (repository version 2, compression auto; replica: \`init --from-repo SRC --copy-chunker-params\`)"
    else
      echo "  - $(tool_version lifeboat) (defaults)"
    fi
  done
  [[ -n $lifeboat_copy_note ]] && echo "- **Note**: $lifeboat_copy_note."
  cat <<EOF

## Data

$(kernel_source_note). v1: $v1_stats. Then $increments successive versions of the same
directory (\`$live\`): version k+1 is version k mutated in place by
\`lifeboat_bench_mutate_tree --seed k --copy-suffix .v<k+1>copy\` (1% of files edited in the
middle, 0.2% deleted, 0.2% edited copies added). Version $SNAPSHOTS: $last_stats.
Each tool backs up every version (same path, host \`bench\`) before the next mutation, so
each repository holds $SNAPSHOTS snapshots when the lifecycle steps start.

Per tool, one after the other: replica init; copy of every snapshot into the replica;
\`check --read-data\`; \`forget --keep-last $KEEP_LAST --prune\`; \`check\`.
EOF
  echo
  awk -F'\t' -v snapshots="$SNAPSHOTS" -v keep="$KEEP_LAST" -v increments="$increments" \
    -f "$BENCH_DIR/report_lib.awk" -f "$BENCH_DIR/lifecycle_report.awk" "$RESULTS"
}

report_text=$(report)
echo "$report_text"
if [[ -n $out_file ]]; then
  echo "$report_text" >"$out_file"
  log "report written to $out_file"
fi
log "raw results: $RESULTS; logs: $LC/logs"
exit "$any_failure"
