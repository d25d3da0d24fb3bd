#!/usr/bin/env bash
# Builds Lifeboat. Usage: scripts/build.sh [release|asan|fuzz] (default release).
# Output: build/<kind>/src/cli/lifeboat; for fuzz (clang, libFuzzer + ASan + UBSan, no tests or
# benches) only the fuzz targets: build/fuzz/fuzz/<name>_fuzzer and make_fuzz_corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
targets=()
env_vars=()
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIFEBOAT_SANITIZE=ON -DLIFEBOAT_BUILD_BENCH=OFF) ;;
  fuzz)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIFEBOAT_FUZZ=ON -DLIFEBOAT_BUILD_TESTS=OFF
           -DLIFEBOAT_BUILD_BENCH=OFF)
    env_vars=(CC=clang CXX=clang++)
    targets=(--target fuzzers)
    ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
jobs="$(nproc 2>/dev/null || echo 2)"
env "${env_vars[@]}" cmake -S . -B "build/$kind" "${flags[@]}" >/dev/null
cmake --build "build/$kind" -j "$jobs" "${targets[@]}"
