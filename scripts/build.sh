#!/usr/bin/env bash
# Builds Lifeboat. Usage: scripts/build.sh [release|asan|fuzz|tsa] (default release).
# Output: build/<kind>/src/cli/lifeboat. release is g++ (-O2; the tests' own sources -O1). asan
# is clang with ASan + UBSan and clang's thread-safety analysis (-Wthread-safety, as errors) over
# everything it compiles, tests included: the second compiler's warnings and the lock annotations
# are checked in the same build that runs the tests under the sanitizers (-O1, line tables only:
# quick to compile and link, stack traces keep file:line). fuzz (clang, libFuzzer + ASan + UBSan,
# no tests or benches) builds only the fuzz targets: build/fuzz/fuzz/<name>_fuzzer and
# make_fuzz_corpus. tsa is the thread-safety check alone (libraries and CLI, unoptimized, no
# tests), for a quick local look.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-release}"
targets=()
env_vars=()
case "$kind" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release -DLIFEBOAT_SERVER_TESTS=ON) ;;
  asan)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG"
           "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG"
           -DLIFEBOAT_SANITIZE=ON -DLIFEBOAT_THREAD_SAFETY=ON -DLIFEBOAT_BUILD_BENCH=OFF)
    env_vars=(CC=clang CXX=clang++)
    ;;
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
