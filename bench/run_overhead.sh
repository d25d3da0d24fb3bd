#!/usr/bin/env bash
# What `lifeboat run` adds to the same backups made with the plain commands (issue 14, "Speed":
# run adds <= 5%). Two layouts, each measured both ways in one run on the same data:
#   one site    plain: lifeboat backup -r A DIR          run: a plan with one service at A
#   two sites   plain: lifeboat backup -r A --also-to B  run: the same with replication: sync
# Steps for each: the first backup of v1, a backup of v2 (changed) and of v2 again (unchanged).
# `run` also loads and validates the plan, takes the run lock, writes the run records (one
# object per site), keeps the status cache and opens each site once more for them; the plan has
# no notification channels and no retention (neither has the plain command). Each step is
# repeated --rounds times into fresh repositories, plain and run alternating, and the median wall
# and CPU times are reported with the ratios run / plain.
#
# Usage: bench/run_overhead.sh [--dataset kernel|image] [--rounds N] [--kernel-subset PATHS]
#                              [--out FILE.md]
# Environment: as bench/run.sh (BENCH_WORK, BENCH_DATA, LIFEBOAT_BIN, BENCH_BUILD_DIR,
# BENCH_CPUS).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly BENCH_DIR="$REPO_ROOT/bench"

dataset=kernel
rounds=3
out_file=
image_size=1G
image_extent=1
kernel_subset=
seed=1

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

while [[ $# -gt 0 ]]; do
  case $1 in
    --dataset) dataset=${2:?--dataset needs a value}; shift 2 ;;
    --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
    --kernel-subset) kernel_subset=${2:?--kernel-subset needs a value}; shift 2 ;;
    --out) out_file=${2:?--out needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $dataset == kernel || $dataset == image ]] || die "--dataset must be kernel or image"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"

WORK=$(mkdir -p "${BENCH_WORK:-$BENCH_DIR/work}" && cd "${BENCH_WORK:-$BENCH_DIR/work}" && pwd)
readonly WORK
readonly BUILD_DIR=${BENCH_BUILD_DIR:-$REPO_ROOT/build/release}
readonly LIFEBOAT=${LIFEBOAT_BIN:-$BUILD_DIR/src/cli/lifeboat}
readonly CPUS=${BENCH_CPUS:-0,1}
DATA=$(mkdir -p "${BENCH_DATA:-$WORK/data}" && cd "${BENCH_DATA:-$WORK/data}" && pwd)
readonly DATA
[[ -x $LIFEBOAT ]] || die "Lifeboat binary not found at $LIFEBOAT (build it or set LIFEBOAT_BIN)"
[[ -x $TIME_BIN ]] || apt_install time || die "cannot install GNU time ($TIME_BIN)"
need_command rsync rsync || die "cannot install rsync"
setup_pinning

"prepare_$dataset"
runs="$WORK/run-overhead"
rm -rf "$runs"
mkdir -p "$runs"
live="$runs/live"
mkdir -p "$live"
printf '%s' "$PASSWORD" >"$runs/password"
export XDG_CACHE_HOME="$runs/cache" LIFEBOAT_PASSWORD="$PASSWORD" LIFEBOAT_FROM_PASSWORD="$PASSWORD"
results="$runs/results.tsv"
: >"$results"

# timed LAYOUT WAY STEP ROUND CMD...: runs CMD pinned, records the wall and CPU (user + system)
# seconds.
timed() {
  local layout=$1 way=$2 step=$3 round=$4
  shift 4
  local t="$runs/time.$$"
  if ! $TIME_BIN -f '%e %U %S' -o "$t" "${pin[@]}" "$@" >"$runs/last.log" 2>&1; then
    cat "$runs/last.log" >&2
    die "$layout/$way/$step failed: $*"
  fi
  local wall user sys
  read -r wall user sys < <(tail -n1 "$t")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$layout" "$way" "$step" "$round" "$wall" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" >>"$results"
  rm -f "$t"
}

# plan FILE SITES...: a plan with one service backing up $live to SITES (sync when two).
write_plan() {
  local file=$1
  shift
  {
    echo "version: 1"
    echo "sites:"
    local s
    for s in "$@"; do
      echo "  $s:"
      echo "    repository: $runs/repo-run-$s"
      echo "    password_file: $runs/password"
    done
    echo "services:"
    echo "  data:"
    echo "    tier: 2"
    echo "    rpo: 1d"
    echo "    sources:"
    echo "      - paths: [$live]"
    echo "    sites: [$(IFS=,; echo "$*" | sed 's/,/, /g')]"
    if [[ $# -gt 1 ]]; then echo "    replication: sync"; fi
  } >"$file"
}

for layout in one-site two-sites; do
  if [[ $layout == one-site ]]; then sites=(a); else sites=(a b); fi
  for ((round = 1; round <= rounds; round++)); do
    for way in plain run; do
      rm -rf "$runs"/repo-* "$runs/state" "$runs/cache"
      rsync -a --delete --exclude=/.complete "$v1_dir/" "$live/"
      if [[ $way == plain ]]; then
        for s in "${sites[@]}"; do "$LIFEBOAT" init -r "$runs/repo-plain-$s" -q; done
        for s in "${sites[@]:1}"; do
          rm -rf "$runs/repo-plain-$s"
          "$LIFEBOAT" init -r "$runs/repo-plain-$s" --replica-of "$runs/repo-plain-a" -q
        done
        cmd=("$LIFEBOAT" backup -r "$runs/repo-plain-a" -q)
        for s in "${sites[@]:1}"; do cmd+=(--also-to "$runs/repo-plain-$s"); done
        cmd+=("$live")
      else
        write_plan "$runs/plan.yaml" "${sites[@]}"
        "$LIFEBOAT" plan init --plan "$runs/plan.yaml" -q
        cmd=("$LIFEBOAT" run --now --plan "$runs/plan.yaml" --state-dir "$runs/state" -q)
      fi
      warm "$live"
      timed "$layout" "$way" first "$round" "${cmd[@]}"
      rsync -a --delete --exclude=/.complete "$v2_dir/" "$live/"
      warm "$live"
      timed "$layout" "$way" changed "$round" "${cmd[@]}"
      timed "$layout" "$way" unchanged "$round" "${cmd[@]}"
    done
  done
done

report() {
  echo "## \`lifeboat run\` against the plain commands"
  echo
  echo "- Data: $dataset_note"
  host_line
  echo "- $(tool_version lifeboat); $rounds rounds, medians; $cpu_note"
  echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). CPU time (user + system of"
  echo "  the process) is much less disturbed than wall time by other work on the machine."
  echo
  echo "| layout | step | plain wall (s) | run wall (s) | run / plain | plain CPU (s) | run CPU (s) | run / plain |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|"
  awk -F'\t' '
    { v[$1 SUBSEP $2 SUBSEP $3] = v[$1 SUBSEP $2 SUBSEP $3] " " $5
      c[$1 SUBSEP $2 SUBSEP $3] = c[$1 SUBSEP $2 SUBSEP $3] " " $6; seen[$1 SUBSEP $3] = 1 }
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
      split("one-site two-sites", layouts, " ")
      split("first changed unchanged", steps, " ")
      for (l = 1; l <= 2; l++) for (s = 1; s <= 3; s++) {
        k = layouts[l] SUBSEP steps[s]
        if (!(k in seen)) continue
        p = median(v[layouts[l] SUBSEP "plain" SUBSEP steps[s]])
        r = median(v[layouts[l] SUBSEP "run" SUBSEP steps[s]])
        pc = median(c[layouts[l] SUBSEP "plain" SUBSEP steps[s]])
        rc = median(c[layouts[l] SUBSEP "run" SUBSEP steps[s]])
        printf "| %s | %s | %.2f | %.2f | %.3f | %.2f | %.2f | %.3f |\n", layouts[l], steps[s],
          p, r, (p > 0 ? r / p : 0), pc, rc, (pc > 0 ? rc / pc : 0)
      }
    }' "$results"
}
report | tee "${out_file:-/dev/null}"
