#!/usr/bin/env bash
# Installs what Lifeboat needs to build and test on Debian 12, only if something is missing.
set -euo pipefail

# clang + libclang-rt-14-dev: the fuzz build (scripts/build.sh fuzz); libclang-rt-14-dev ships
# libFuzzer (/usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a).
PACKAGES=(
  build-essential cmake g++ clang libclang-rt-14-dev pkg-config
  libssl-dev libsodium-dev libzstd-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  diffutils coreutils procps
  restic  # tests/defects/item20_restic_repository.sh: a real restic repository given to Lifeboat
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# libFuzzer itself (dpkg -S names libclang-rt-14-dev as its package on Debian 12).
fuzzer_lib="/usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a"
if ! compgen -G "$fuzzer_lib" >/dev/null && [[ " ${missing[*]} " != *" libclang-rt-14-dev "* ]]; then
  missing+=(libclang-rt-14-dev)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "==> installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
