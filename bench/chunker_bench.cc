// Throughput of Chunker::NextCut with the default (format) parameters.
//
//   chunker_bench --benchmark_filter=Random
//   BM_ChunkRandom: 64 MiB of xorshift data, chunked end to end per iteration. Bytes below
//   min_size of each chunk are skipped, so this is the speed a backup sees.
//   BM_ChunkZeros: 64 MiB of zeros: every chunk runs to max_size, so ~94% of the bytes go through
//   the gear-hash loop; this is the speed of the inner loop itself.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "chunker/chunker.h"

namespace lifeboat {
namespace {

constexpr size_t kDataSize = 64 * 1024 * 1024;

Bytes RandomData() {
  Bytes out(kDataSize);
  uint64_t s = 0x0123456789abcdefULL;
  for (size_t i = 0; i < out.size(); i += 8) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    for (size_t b = 0; b < 8; ++b) out[i + b] = static_cast<uint8_t>(s >> (8 * b));
  }
  return out;
}

void ChunkAll(benchmark::State& state, const Bytes& data) {
  Bytes secret(GearTable::kSecretSize, 0x42);
  Chunker chunker(GearTable::FromSecret(secret), ChunkerParams{});
  size_t chunks = 0;
  for (auto _ : state) {
    ByteView rest(data);
    while (!rest.empty()) {
      size_t cut = chunker.NextCut(rest, /*eof=*/true);
      rest = rest.subspan(cut);
      ++chunks;
    }
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(data.size()));
  state.counters["chunks_per_iter"] =
      static_cast<double>(chunks) / static_cast<double>(state.iterations());
}

void BM_ChunkRandom(benchmark::State& state) {
  static const Bytes data = RandomData();
  ChunkAll(state, data);
}
BENCHMARK(BM_ChunkRandom)->Unit(benchmark::kMillisecond);

void BM_ChunkZeros(benchmark::State& state) {
  static const Bytes data(kDataSize, 0);
  ChunkAll(state, data);
}
BENCHMARK(BM_ChunkZeros)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lifeboat
