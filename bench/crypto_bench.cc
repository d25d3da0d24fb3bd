// Micro-benchmarks for the crypto module on 1 MiB objects (the typical blob/pack-part size).
//
//   cmake --build build/release --target crypto_bench && build/release/bench/crypto_bench --benchmark_filter=Seal

#include <benchmark/benchmark.h>

#include <cstdlib>

#include "crypto/crypto.h"

namespace lifeboat::crypto {
namespace {

constexpr size_t kSize = size_t{1} << 20;

Bytes RandomData(size_t n) {
  Bytes b(n);
  if (!RandomBytes(b).ok()) std::abort();
  return b;
}

void BM_Seal(benchmark::State& state) {
  const Aead aead(SecretKey::Random());
  const Bytes plain = RandomData(kSize);
  Bytes out;
  out.reserve(kSize + kSealOverhead);
  for (auto _ : state) {
    out.clear();  // keeps capacity: measures encryption, not allocation
    if (!aead.SealAppend(plain, &out).ok()) state.SkipWithError("SealAppend failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kSize);
}
BENCHMARK(BM_Seal);

void BM_Open(benchmark::State& state) {
  const Aead aead(SecretKey::Random());
  Result<Bytes> sealed = aead.Seal(RandomData(kSize));
  if (!sealed.ok()) std::abort();
  Bytes out;
  out.reserve(kSize);
  for (auto _ : state) {
    if (!aead.Open(*sealed, &out).ok()) state.SkipWithError("Open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kSize);
}
BENCHMARK(BM_Open);

void BM_HmacSha256(benchmark::State& state) {
  const HmacSha256 mac(SecretKey::Random());
  const Bytes data = RandomData(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(mac.Mac(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_HmacSha256)->Arg(64)->Arg(kSize);

void BM_Sha256(benchmark::State& state) {
  const Bytes data = RandomData(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(kSize);

}  // namespace
}  // namespace lifeboat::crypto

// main() comes from benchmark::benchmark_main (see bench/CMakeLists.txt).
