#!/usr/bin/env bash
# Runs every fuzz target for a fixed time on its seed corpus (doc/fuzzing.md).
#
#   bash fuzz/run.sh <build dir> <seconds per target> [work dir]
#   bash fuzz/run.sh build/fuzz 15                 # what scripts/test.sh runs
#   bash fuzz/run.sh build/fuzz 600 ~/lb-fuzz      # a long campaign; run again to continue it
#
# <build dir> is a LIFEBOAT_FUZZ build (`bash scripts/build.sh fuzz` makes build/fuzz). The work
# dir holds <target>/corpus (seeds from make_fuzz_corpus plus what the fuzzer found interesting),
# <target>/artifacts (crashing inputs) and <target>.log. Without a work dir a temporary one is
# used and removed after a clean run. FUZZ_TARGETS="pack index" runs only those targets.
#
# Exit status 0 when no target found anything; 1 when any crashed, leaked, timed out (-timeout)
# or allocated too much (-malloc_limit_mb / -rss_limit_mb), after printing each input's path and
# how to reproduce it; 2 on bad usage or a missing build.
set -uo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 <build dir> <seconds per target> [work dir]" >&2
  exit 2
fi
build="$1"
secs="$2"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: seconds per target must be a positive integer, got '$secs'" >&2
  exit 2
fi
bindir="$build/fuzz"
if [ ! -x "$bindir/make_fuzz_corpus" ]; then
  echo "$0: no fuzz build in $build (expected $bindir/make_fuzz_corpus); run: bash scripts/build.sh fuzz" >&2
  exit 2
fi
targets="${FUZZ_TARGETS:-pack blob index tree snapshot key config lock aead}"

keep_work=1
if [ $# -eq 3 ]; then
  work="$3"
  mkdir -p "$work" || exit 2
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-fuzz.XXXXXX")" || exit 2
  keep_work=0
fi
work="$(cd "$work" && pwd)"

# Fresh seeds every run (cheap); a kept corpus from earlier runs is added to, never replaced.
seeds="$work/seeds"
rm -rf "$seeds"
if ! "$bindir/make_fuzz_corpus" "$seeds" >/dev/null; then
  echo "$0: make_fuzz_corpus failed" >&2
  exit 1
fi

# Sanitizer reports end the run with a crash artifact; leaks are checked after every input.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
for t in $targets; do
  bin="$bindir/${t}_fuzzer"
  if [ ! -x "$bin" ]; then
    echo "FAIL $t: $bin is missing" >&2
    status=1
    continue
  fi
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  log="$work/$t.log"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$seeds/$t"/* "$corpus"/ 2>/dev/null
  before=$(find "$corpus" -type f | wc -l)
  "$bin" -max_total_time="$secs" -rss_limit_mb=1024 -malloc_limit_mb=256 -timeout=5 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?
  after=$(find "$corpus" -type f | wc -l)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(find "$artifacts" -type f | sort)
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    status=1
    echo "FAIL $t: exit status $rc after ${runs:-?} runs; log: $log"
    grep -E "^==[0-9]+==ERROR|runtime error|fuzz check failed|ERROR: libFuzzer|SUMMARY" "$log" \
      | head -5 | sed 's/^/    /'
    if [ -n "$found" ]; then
      while IFS= read -r f; do
        echo "    input: $f"
        echo "    reproduce: $bin $f"
      done <<<"$found"
    fi
  else
    echo "ok   $t: ${runs:-?} runs in ${secs} s, corpus $before -> $after inputs"
  fi
done

if [ $status -ne 0 ]; then
  echo "fuzzing found problems; inputs, corpora and logs are kept in $work"
elif [ $keep_work -eq 0 ]; then
  rm -rf "$work"
fi
exit $status
