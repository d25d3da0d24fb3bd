#!/usr/bin/env bash
# What the drill machinery adds to a plain restore (issue 15, "Proven": a drill of the kernel-tree
# service achieves an RTO within 1.1x of a plain `restore --verify` of the same snapshot). One
# service, files only (the kernel tree of bench/run.sh), is backed up once by `lifeboat run`;
# then, for --rounds rounds, the same snapshot is recovered both ways, the order alternating from
# round to round:
#   restore  lifeboat restore ID --target T --verify
#   drill    lifeboat drill kernel --keep   (the plan's only check: `files: {}`, so the drill
#            restores with --verify too; --keep so that neither command spends its time deleting
#            the tree it restored: both trees are moved to a trash directory, emptied at the end)
# Each command runs pinned, the repository read once before it (warm page cache), and its wall
# and CPU (user + system) times are recorded, with the drill's own achieved RTO (its JSON: drill
# start -> service verified). The report gives the medians and the ratios drill / restore.
#
# Usage: bench/drill.sh [--rounds N] [--kernel-subset PATHS] [--tree DIR] [--out FILE.md]
#   --tree DIR  back up DIR instead of the kernel tree (a quick check that the script works)
# Environment: as bench/run.sh (BENCH_WORK, BENCH_DATA, LIFEBOAT_BIN, BENCH_BUILD_DIR,
# BENCH_CPUS). Disk: the kernel tree three times (live copy, repository) plus 2 x N restored
# trees in the trash until the end.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly BENCH_DIR="$REPO_ROOT/bench"

rounds=3
out_file=
kernel_subset=
tree=

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
    --kernel-subset) kernel_subset=${2:?--kernel-subset needs a value}; shift 2 ;;
    --tree) tree=${2:?--tree needs a value}; shift 2 ;;
    --out) out_file=${2:?--out needs a value}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ -z $tree || -d $tree ]] || die "--tree $tree is not a directory"

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

if [[ -n $tree ]]; then
  v1_dir=$(cd "$tree" && pwd)
  dataset_note="$v1_dir ($(tree_stats "$v1_dir")), given with --tree"
else
  extract_kernel_v1
  dataset_note="$(kernel_source_note), $(tree_stats "$v1_dir")"
fi
runs="$WORK/drill"
rm -rf "$runs"
mkdir -p "$runs/trash"
live="$runs/live"
log "copying the tree to $live"
rsync -a --delete --exclude=/.complete "$v1_dir/" "$live/"
printf '%s' "$PASSWORD" >"$runs/password"
export XDG_CACHE_HOME="$runs/cache" LIFEBOAT_PASSWORD="$PASSWORD"
repo="$runs/repo"
results="$runs/results.tsv"
: >"$results"

cat >"$runs/plan.yaml" <<EOF
version: 1
sites:
  bench:
    repository: $repo
    password_file: $runs/password
services:
  kernel:
    tier: 1
    rpo: 1d
    rto: 1h
    sources:
      - paths: [$live]
    sites: [bench]
    verify:
      - files: {}
EOF
log "backing the tree up once (lifeboat run)"
"$LIFEBOAT" plan init --plan "$runs/plan.yaml" -q
"$LIFEBOAT" run --now --plan "$runs/plan.yaml" --state-dir "$runs/state" -q
snapshot=$("$LIFEBOAT" snapshots -r "$repo" --service kernel --json |
  grep -o '"id":"[0-9a-f]\{64\}"' | head -n1 | cut -d'"' -f4)
[[ -n $snapshot ]] || die "no snapshot of service kernel in $repo"

# timed WAY ROUND CMD...: runs CMD pinned, its output in $runs/last.out; records the wall and
# CPU (user + system) seconds, and for a drill its achieved RTO.
timed() {
  local way=$1 round=$2
  shift 2
  local t="$runs/time.$$"
  if ! $TIME_BIN -f '%e %U %S' -o "$t" "${pin[@]}" "$@" >"$runs/last.out" 2>"$runs/last.err"; then
    cat "$runs/last.out" "$runs/last.err" >&2
    die "$way (round $round) failed: $*"
  fi
  local wall user sys rto=-
  read -r wall user sys < <(tail -n1 "$t")
  if [[ $way == drill ]]; then
    rto=$(grep -o '"rto":{"achieved_seconds":[0-9.e+-]*' "$runs/last.out" | head -n1 | cut -d: -f3)
    [[ -n $rto ]] || die "the drill's JSON has no achieved RTO: $(head -c 300 "$runs/last.out")"
    # Both verify: the drill's restore read every file back (its `files` check).
    if ! grep -q '"result":"passed"' "$runs/last.out" ||
       ! grep -q '"verified_files":[1-9]' "$runs/last.out"; then
      die "the drill did not verify the restored files: $(head -c 300 "$runs/last.out")"
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$way" "$round" "$wall" \
    "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$rto" >>"$results"
  rm -f "$t"
}

for ((round = 1; round <= rounds; round++)); do
  order=(restore drill)
  ((round % 2 == 0)) && order=(drill restore)
  for way in "${order[@]}"; do
    warm "$repo"
    if [[ $way == restore ]]; then
      timed restore "$round" "$LIFEBOAT" restore "$snapshot" -r "$repo" --target "$runs/target" \
        --verify -q
      mv "$runs/target" "$runs/trash/restore-$round"
    else
      timed drill "$round" "$LIFEBOAT" --json drill kernel --plan "$runs/plan.yaml" \
        --sandbox "$runs/sandboxes" --keep
      mv "$runs/sandboxes" "$runs/trash/drill-$round"
    fi
    log "round $round: $way $(tail -n1 "$results" | cut -f3) s"
  done
done
log "emptying the trash"
# Restored trees keep the snapshot's modes (read-only directories too): make them removable.
chmod -R u+w "$runs/trash" && rm -rf "$runs/trash"

report() {
  echo "## A drill against a plain restore (\`bench/drill.sh\`)"
  echo
  echo "- Data: $dataset_note; one service, files only, backed up once; snapshot ${snapshot:0:8}"
  host_line
  echo "- $(tool_version lifeboat); $rounds rounds (restore and drill alternating which goes first), medians; ${cpu_note%%;*}"
  echo "- restore: \`lifeboat restore ID --target T --verify\`; drill: \`lifeboat drill kernel --keep\`"
  echo "  (its plan's one check is \`files: {}\`: restore --verify); achieved RTO: the drill's own"
  echo "  measure, drill start -> service verified (doc/drills.md, \"Measurements\")."
  echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| way | wall (s) | CPU (s) | wall / restore wall |"
  echo "|---|--:|--:|--:|"
  awk -F'\t' -v target=1.1 '
    { w[$1] = w[$1] " " $3; c[$1] = c[$1] " " $4; if ($5 != "-") r = r " " $5 }
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
      rw = median(w["restore"]); dw = median(w["drill"]); rto = median(r)
      printf "| restore --verify | %.2f | %.2f | 1.000 |\n", rw, median(c["restore"])
      printf "| drill (the command) | %.2f | %.2f | %.3f |\n", dw, median(c["drill"]), (rw > 0 ? dw / rw : 0)
      printf "| drill: achieved RTO | %.2f | | %.3f |\n", rto, (rw > 0 ? rto / rw : 0)
      ratio = (rw > 0 ? rto / rw : 0)
      printf "\nTarget: achieved RTO <= %.1f x restore wall: %s (%.3f).\n", target,
        (ratio <= target ? "met" : "NOT met"), ratio
    }' "$results"
}
report | tee "${out_file:-/dev/null}"
