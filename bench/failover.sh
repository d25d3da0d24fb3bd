#!/usr/bin/env bash
# A failover's achieved RTO against the drills' RTOs of the same services (issue 16, "Proven":
# achieved RTO for the demo plan's failover <= the sum of its drills' RTOs, waves in parallel
# where they can be). The plan is the README demo's, with a third service so that a wave has two
# services side by side:
#   orders-db   tier 0, a SQLite database (1000 orders), verified by integrity_check + a sum
#   shop-files  tier 1, depends on orders-db: a file tree served by python3 -m http.server on its
#               production port, verified over HTTP
#   reports     tier 1, no dependency: another file tree, verified file by file
# Waves: orders-db, then shop-files and reports together. Both sites are local directories; the
# secondary site's recovery_root is a directory, so the failover recovers below it. One `run`
# backs everything up to both sites; then, for --rounds rounds:
#   drill     lifeboat drill --all --site secondary --json: each service's achieved RTO (drill
#             start -> service verified) and its own steps' time (restore, recover, verify)
#   failover  lifeboat failover --all --to secondary --yes --json: each service's achieved RTO
#             (incident start -> service switched); the failover's RTO is the largest
#   rollback  lifeboat failover rollback --yes (stops the HTTP server, moves the files aside)
# The report gives medians: the failover's RTO, the sum of the drills' RTOs per service (the
# issue's bound), the sum of the services' drill steps (recovering them one after another)
# and the drill --all RTO (the same waves without fencing, switch or incident records).
#
# Usage: bench/failover.sh [--rounds N] [--tree DIR] [--out FILE.md]
#   --tree DIR  the files of shop-files and reports (default: this repository's src and doc)
# Environment: as bench/run.sh (BENCH_WORK, LIFEBOAT_BIN, BENCH_BUILD_DIR, BENCH_CPUS).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_ROOT
readonly BENCH_DIR="$REPO_ROOT/bench"

rounds=5
out_file=
tree=

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
}

# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
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
[[ -x $LIFEBOAT ]] || die "Lifeboat binary not found at $LIFEBOAT (build it or set LIFEBOAT_BIN)"
[[ -x $TIME_BIN ]] || apt_install time || die "cannot install GNU time ($TIME_BIN)"
need_command rsync rsync || die "cannot install rsync"
setup_pinning

runs="$WORK/failover"
# A rolled-back failover leaves its files below the recovery root (read-only directories too).
[[ -d $runs ]] && chmod -R u+w "$runs" && rm -rf "$runs"
mkdir -p "$runs/live" "$runs/dr-root"
live="$runs/live"
if [[ -n $tree ]]; then
  rsync -a "$(cd "$tree" && pwd)/" "$live/shop/"
else
  rsync -a "$REPO_ROOT/src" "$REPO_ROOT/doc" "$live/shop/"
fi
rsync -a "$live/shop/" "$live/reports/"
head -c 8388608 /dev/urandom >"$live/reports/random.bin"
/usr/bin/python3 - "$live/orders.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("pragma journal_mode=wal")
db.execute("create table orders(id integer primary key, item text, amount integer)")
db.executemany("insert into orders(item, amount) values (?, ?)",
               [("item-%d" % i, i * 3) for i in range(1, 1001)])
db.commit()
PY
dataset_note="shop-files $(tree_stats "$live/shop"), reports $(tree_stats "$live/reports"), orders-db 1000 rows"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '%s' "$PASSWORD" >"$runs/password"
export XDG_CACHE_HOME="$runs/cache"
state="$runs/state"
plan="$runs/plan.yaml"
cat >"$plan" <<EOF
version: 1
sites:
  primary:
    repository: $runs/sites/primary
    password_file: $runs/password
  secondary:
    repository: $runs/sites/secondary
    password_file: $runs/password
    recovery_root: $runs/dr-root
services:
  orders-db:
    tier: 0
    rpo: 1h
    rto: 30m
    sources:
      - name: orders
        sqlite: {path: $live/orders.db}
    sites: [primary, secondary]
    replication: sync
    verify:
      - files: {}
      - command:
          run: ["/usr/bin/python3", "-c", "import os, sqlite3, sys; db = sqlite3.connect(os.environ['LIFEBOAT_RESTORE_DIR'] + sys.argv[1]); print(db.execute('pragma integrity_check').fetchone()[0], *db.execute('select count(*), sum(amount) from orders').fetchone())", "$live/orders.db"]
          expect_output: "ok 1000 1501500"
  shop-files:
    tier: 1
    rpo: 1d
    rto: 2h
    depends_on: [orders-db]
    sources:
      - paths: [$live/shop]
    sites: [primary, secondary]
    replication: sync
    recover:
      - command: "exec /usr/bin/python3 -m http.server --bind 127.0.0.1 \$LIFEBOAT_PORT_HTTP --directory \$LIFEBOAT_RESTORE_DIR$live/shop"
        background: true
        ports: {http: $port}
        timeout: 30s
    verify:
      - files: {}
      - http: {port: http, path: /doc/plan.md, expect_body: "# The plan file"}
  reports:
    tier: 1
    rpo: 1d
    rto: 2h
    sources:
      - paths: [$live/reports]
    sites: [primary, secondary]
    replication: sync
    verify:
      - files: {}
EOF
[[ -z $tree ]] || sed -i 's|path: /doc/plan.md, expect_body: "# The plan file"|path: /|' "$plan"
log "backing the three services up to both sites (lifeboat run)"
"$LIFEBOAT" plan init --plan "$plan" -q
"$LIFEBOAT" run --now --plan "$plan" --state-dir "$state" -q

results="$runs/results.tsv"
: >"$results"
# rtos KIND FILE: one line per service "KIND service rto span" from a drill's or failover's JSON.
rtos() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
j = json.load(open(path))
if kind == "drill":
    services = j["services"] if "services" in j else j["recovery"]["services"]
    for s in services:
        if s["result"] != "passed":
            sys.exit("drill: %s %s: %s" % (s["service"], s["result"], s["failure"]))
        print(kind, s["service"], s["rto"]["achieved_seconds"], sum(x["seconds"] for x in s["steps"]))
else:
    inc = j["incident"]
    for s in inc["services"]:
        if s["result"] != "recovered":
            sys.exit("failover: %s %s: %s" % (s["service"], s["result"], s["error"]))
        print(kind, s["service"], s["rto_seconds"], "-")
PY
}

for ((round = 1; round <= rounds; round++)); do
  "${pin[@]}" "$LIFEBOAT" --json drill --all --site secondary --plan "$plan" \
    --state-dir "$state" --sandbox "$runs/sandboxes" >"$runs/drill.json" 2>"$runs/drill.err" ||
    die "drill (round $round) failed: $(head -c 600 "$runs/drill.err")"
  rtos drill "$runs/drill.json" | sed "s/^/$round /" >>"$results" || die "drill round $round"
  "${pin[@]}" "$LIFEBOAT" --json failover --all --to secondary --yes --plan "$plan" \
    --state-dir "$state" >"$runs/failover.json" 2>"$runs/failover.err" ||
    die "failover (round $round) failed: $(head -c 600 "$runs/failover.err") $(head -c 600 "$runs/failover.json")"
  rtos failover "$runs/failover.json" | sed "s/^/$round /" >>"$results" || die "failover round $round"
  "$LIFEBOAT" failover rollback --yes --plan "$plan" --state-dir "$state" -q >/dev/null ||
    die "rollback (round $round) failed"
  chmod -R u+w "$runs/dr-root" && rm -rf "$runs/dr-root" && mkdir -p "$runs/dr-root"
  log "round $round: $(grep "^$round " "$results" | awk '{printf "%s %s %.2f; ", $2, $3, $4}')"
done

report() {
  echo "## A failover against the drills (\`bench/failover.sh\`)"
  echo
  echo "- Data: $dataset_note; both sites local directories on one disk"
  host_line
  echo "- $(tool_version lifeboat); $rounds rounds (drill --all, then failover --all, then rollback), medians"
  echo "- Waves: orders-db, then shop-files and reports side by side. Drill RTO: drill start ->"
  echo "  service verified; failover RTO: incident start -> service switched (doc/failover.md)."
  echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  awk '
    function median(list,   a, n, i, j, t) {
      n = split(list, a, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $2 == "drill" { d[$1] += $4; span[$1] += $5; if ($4 > dall[$1]) dall[$1] = $4; svc[$3] = svc[$3] " " $4 }
    $2 == "failover" { if ($4 > f[$1]) f[$1] = $4; fs[$3] = fs[$3] " " $4 }
    END {
      for (r in f) { F = F " " f[r]; D = D " " d[r]; S = S " " span[r]; A = A " " dall[r]; ratio = ratio " " (d[r] > 0 ? f[r] / d[r] : 0) }
      print "| service | drill RTO (s) | failover RTO (s) |"
      print "|---|--:|--:|"
      for (s in svc) printf "| %s | %.2f | %.2f |\n", s, median(svc[s]), median(fs[s])
      print ""
      printf "| measure | seconds |\n|---|--:|\n"
      printf "| failover RTO (last service switched) | %.2f |\n", median(F)
      printf "| sum of the drills RTOs per service (the bound) | %.2f |\n", median(D)
      printf "| sum of the services drill steps (one after another) | %.2f |\n", median(S)
      printf "| drill --all RTO (same waves, no fence, switch or records) | %.2f |\n", median(A)
      m = median(ratio)
      printf "\nTarget: failover RTO <= sum of the drills RTOs: %s (median ratio %.3f; per round:%s).\n",
        (m <= 1 ? "met" : "NOT met"), m, ratio
    }' "$results"
}
report | tee "${out_file:-/dev/null}"
