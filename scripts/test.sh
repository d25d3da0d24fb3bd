#!/usr/bin/env bash
# Set-up command 2: runs the whole test suite: a release build (g++) and an ASan+UBSan build
# (clang, which also checks the thread-safety annotations, -Wthread-safety as errors), each with
# all unit and integration tests (ctest; the tests against real servers run once, in release),
# then a clang libFuzzer build whose fuzz targets each run briefly on their seed corpus
# (fuzz/run.sh; about 2.5 minutes in all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --servers
jobs="$(nproc 2>/dev/null || echo 2)"
status=0
for kind in release asan; do
  echo "==> building $kind"
  bash scripts/build.sh "$kind"
  echo "==> testing $kind"
  if [ "$kind" = asan ]; then
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  fi
  if ! ctest --test-dir "build/$kind" --output-on-failure -j "$jobs" --timeout 1500; then
    status=1
  fi
done
echo "==> building fuzz"
bash scripts/build.sh fuzz
echo "==> fuzzing (${LIFEBOAT_FUZZ_SECONDS:-15} s per target)"
if ! bash fuzz/run.sh build/fuzz "${LIFEBOAT_FUZZ_SECONDS:-15}"; then
  status=1
fi
exit $status
