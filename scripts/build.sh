#!/usr/bin/env bash
# Builds Lifeboat. Usage: scripts/build.sh [release|asan|fuzz|tsa] (default release).
# Output: build/<kind>/src/cli/lifeboat; for fuzz (clang, libFuzzer + ASan + UBSan, no tests or
# benches) only the fuzz targets: build/fuzz/fuzz/<name>_fuzzer and make_fuzz_corpus. tsa is a
# check, not a build to run: clang's thread-safety analysis (-Wthread-safety, as errors) over the
# libraries and the CLI, unoptimized and without debug information so that it compiles quickly,
# no tests or benches.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
targets=()
env_vars=()
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release -DLIFEBOAT_SERVER_TESTS=ON) ;;
  asan) flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIFEBOAT_SANITIZE=ON -DLIFEBOAT_BUILD_BENCH=OFF) ;;
  fuzz)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIFEBOAT_FUZZ=ON -DLIFEBOAT_BUILD_TESTS=OFF
           -DLIFEBOAT_BUILD_BENCH=OFF)
    env_vars=(CC=clang CXX=clang++)
    targets=(--target fuzzers)
    ;;
  tsa)
    flags=(-DCMAKE_BUILD_TYPE=None -DLIFEBOAT_THREAD_SAFETY=ON -DLIFEBOAT_BUILD_TESTS=OFF
           -DLIFEBOAT_BUILD_BENCH=OFF)
    env_vars=(CC=clang CXX=clang++)
    ;;
  *) echo "usage: $0 [release|asan|fuzz|tsa]" >&2; exit 2 ;;
esac
jobs="$(nproc 2>/dev/null || echo 2)"
env "${env_vars[@]}" cmake -S . -B "build/$kind" "${flags[@]}" >/dev/null
cmake --build "build/$kind" -j "$jobs" "${targets[@]}"
