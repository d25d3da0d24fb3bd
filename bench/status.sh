#!/usr/bin/env bash
# `lifeboat status` benchmark (issue 14, "Speed"): a plan of 50 services x 3 local sites whose
# repositories hold 20,000 snapshots in all (plus 20 run-record objects of 50 records per site),
# then `status` cold (no cache file) and warm (the cache filled by the previous call), each
# several times, wall time and peak RSS from /usr/bin/time. Also `status --no-cache` and the plan
# load alone (`plan validate`), so the table shows where the time goes. Target: <= 0.5 s warm.
#
# Usage: bench/status.sh [--services N] [--snapshots N] [--runs N] [--out FILE.md]
#
# Environment: BENCH_WORK (default /tmp/lifeboat-bench-status: the dataset and the cache),
# LIFEBOAT_BIN (default build/release/src/cli/lifeboat), BENCH_BUILD_DIR (default build/release:
# bench/lifeboat_bench_make_status_plan). The dataset is made once and reused while its
# parameters stay the same. Prints a Markdown table (to FILE.md too with --out).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
services=50
snapshots=20000
runs=5
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --services) services="$2"; shift 2 ;;
    --snapshots) snapshots="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--services N] [--snapshots N] [--runs N] [--out FILE.md]" >&2; exit 2 ;;
  esac
done
WORK="${BENCH_WORK:-/tmp/lifeboat-bench-status}"
BUILD_DIR="${BENCH_BUILD_DIR:-$REPO_ROOT/build/release}"
LIFEBOAT="${LIFEBOAT_BIN:-$BUILD_DIR/src/cli/lifeboat}"
MAKE_PLAN="$BUILD_DIR/bench/lifeboat_bench_make_status_plan"
for bin in "$LIFEBOAT" "$MAKE_PLAN" /usr/bin/time; do
  [[ -x "$bin" ]] || { echo "$0: $bin is missing (build with scripts/build.sh release)" >&2; exit 2; }
done

data="$WORK/plan-$services-$snapshots"
if [[ ! -f "$data/done" ]]; then
  rm -rf "$data"
  mkdir -p "$WORK"
  start=$(date +%s.%N)
  "$MAKE_PLAN" "$data" "$services" "$snapshots" >&2
  echo "dataset made in $(echo "$(date +%s.%N) - $start" | bc) s" >&2
  touch "$data/done"
fi
plan="$data/lifeboat.yaml"
export XDG_CACHE_HOME="$WORK/cache"
cache="$XDG_CACHE_HOME/lifeboat/status.sqlite3"

# One measured call: prints "seconds KiB" and checks the exit code (every RPO holds: 0).
measure() {
  local t
  t=$(mktemp)
  if ! /usr/bin/time -f '%e %M' -o "$t" "$@" >/dev/null; then
    echo "$0: $* failed" >&2
    cat "$t" >&2
    exit 1
  fi
  tail -n 1 "$t"
  rm -f "$t"
}

# Median of the first column and the largest second column over $runs calls of "$@" (after
# `prepare`, a function run before each call).
series() {
  local prepare="$1"
  shift
  local results=()
  for ((i = 0; i < runs; i++)); do
    $prepare
    results+=("$(measure "$@")")
  done
  printf '%s\n' "${results[@]}" | sort -n | awk '{t[NR] = $1; if ($2 > m) m = $2}
    END {printf "%.2f %.1f\n", t[int((NR + 1) / 2)], m / 1024}'
}
cold() { rm -f "$cache" "$cache-wal" "$cache-shm"; }
nothing() { :; }

cold
measure "$LIFEBOAT" status --plan "$plan" >/dev/null  # fills the cache once (also a check)
read -r cold_s cold_mb < <(series cold "$LIFEBOAT" status --plan "$plan")
read -r warm_s warm_mb < <(series nothing "$LIFEBOAT" status --plan "$plan")
read -r prom_s prom_mb < <(series nothing "$LIFEBOAT" status --plan "$plan" --prometheus)
read -r none_s none_mb < <(series nothing "$LIFEBOAT" status --plan "$plan" --no-cache)
read -r plan_s plan_mb < <(series nothing "$LIFEBOAT" plan validate --plan "$plan")
# The sites' part alone (ComputePlanStatus), from --json, warm.
sites_s=$("$LIFEBOAT" status --plan "$plan" --json | python3 -c \
  'import json, sys; print("%.2f" % json.load(sys.stdin)["duration_seconds"])')
key_s=$(series nothing "$LIFEBOAT" key list --repo "$data/site-a" -p "$data/pw" | cut -d' ' -f1)

report=$(cat <<EOF
| call | wall time (median of $runs) | peak RSS |
|---|---|---|
| \`status\`, cold (no cache file: every snapshot and run object read) | $cold_s s | $cold_mb MiB |
| \`status\`, warm (cache filled) | $warm_s s | $warm_mb MiB |
| \`status --prometheus\`, warm | $prom_s s | $prom_mb MiB |
| \`status --no-cache\` (every object read, nothing cached) | $none_s s | $none_mb MiB |
| of the warm call: opening and listing the 3 sites (\`duration_seconds\` of \`--json\`) | $sites_s s | |
| \`plan validate\` alone (loading the plan: parse + validate) | $plan_s s | $plan_mb MiB |
| \`key list\` on one site (one key derivation, scrypt N=2^15) | $key_s s | |
EOF
)
echo "$report"
if [[ -n "$out" ]]; then echo "$report" >"$out"; fi
