// index_bench: memory and lookup cost of the MasterIndex at repository scale.
//
// Builds a MasterIndex of N random blobs the way Repository::LoadIndex does (BulkAdd per pack of
// 1000 blobs, then one Compact), then reports
//   - MemoryUsage() / blob (the index's own accounting),
//   - peak RSS (getrusage ru_maxrss) / blob, and the RSS increase / blob (current RSS after
//     Compact minus RSS before building, from /proc/self/statm),
//   - the mean Find() latency over M random lookups, half hits and half misses.
//
//   index_bench                 # N = 5,000,000 blobs, M = 1,000,000 lookups
//   index_bench 1000000 200000  # smaller
//
// Ids are generated from a counter (SplitMix64), so hits can be regenerated without keeping a
// second copy of the ids in memory, which would distort the RSS numbers.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

#include "index/index.h"

namespace {

using lifeboat::BlobType;
using lifeboat::Id;
using lifeboat::MasterIndex;
using lifeboat::PackedBlob;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The id of blob number i (i >= N gives ids that are not in the index).
Id BlobId(uint64_t i) {
  Id id;
  for (int k = 0; k < 4; ++k) {
    uint64_t v = SplitMix64(i * 4 + k);
    std::memcpy(id.bytes.data() + 8 * k, &v, 8);
  }
  return id;
}

Id PackId(uint64_t p) { return BlobId(~p); }

// Resident set size now, in bytes.
uint64_t CurrentRss() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

// Peak resident set size so far, in bytes.
uint64_t PeakRss() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

// CPU time of this thread, in seconds: the machine may be shared, wall time then overstates.
double ThreadCpuSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5000000;
  const uint64_t lookups = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000000;
  constexpr uint64_t kPerPack = 1000;
  if (n == 0 || lookups == 0) {
    std::fprintf(stderr, "usage: index_bench [blobs] [lookups]\n");
    return 2;
  }

  const uint64_t rss_before = CurrentRss();
  const uint64_t peak_before = PeakRss();
  auto t0 = std::chrono::steady_clock::now();
  MasterIndex index;
  {
    std::vector<PackedBlob> pack;
    pack.reserve(kPerPack);
    for (uint64_t start = 0, p = 0; start < n; start += kPerPack, ++p) {
      pack.clear();
      uint32_t offset = 0;
      for (uint64_t i = start; i < std::min(n, start + kPerPack); ++i) {
        PackedBlob b;
        b.type = i % 16 == 0 ? BlobType::kTree : BlobType::kData;
        b.id = BlobId(i);
        b.offset = offset;
        b.stored_length = 1000 + static_cast<uint32_t>(i % 1000);
        b.raw_length = b.stored_length * 2;
        offset += b.stored_length;
        pack.push_back(b);
      }
      index.BulkAdd(PackId(p), pack);
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  const uint64_t rss_bulk = CurrentRss();
  index.Compact();
  auto t2 = std::chrono::steady_clock::now();
  const uint64_t rss_after = CurrentRss();
  const uint64_t peak_after = PeakRss();

  if (index.blob_count() != n) {
    std::fprintf(stderr, "index holds %zu blobs, expected %llu\n", index.blob_count(),
                 static_cast<unsigned long long>(n));
    return 1;
  }

  // Lookups: ids prepared up front (outside the timed loop), half hits and half misses.
  std::mt19937_64 rng(42);
  std::vector<std::pair<BlobType, Id>> queries;
  queries.reserve(lookups);
  for (uint64_t q = 0; q < lookups; ++q) {
    if (q % 2 == 0) {
      uint64_t i = rng() % n;
      queries.emplace_back(i % 16 == 0 ? BlobType::kTree : BlobType::kData, BlobId(i));
    } else {
      queries.emplace_back(BlobType::kData, BlobId(n + rng() % (n + 1)));
    }
  }
  uint64_t hits = 0;
  auto t3 = std::chrono::steady_clock::now();
  double cpu3 = ThreadCpuSeconds();
  for (const auto& [type, id] : queries) hits += index.Find(type, id).has_value();
  double cpu4 = ThreadCpuSeconds();
  auto t4 = std::chrono::steady_clock::now();
  const uint64_t expected_hits = (lookups + 1) / 2;
  if (hits != expected_hits) {
    std::fprintf(stderr, "%llu hits, expected %llu\n", static_cast<unsigned long long>(hits),
                 static_cast<unsigned long long>(expected_hits));
    return 1;
  }

  const double dn = static_cast<double>(n);
  std::printf("blobs                      %llu (%llu packs of %llu)\n",
              static_cast<unsigned long long>(n),
              static_cast<unsigned long long>((n + kPerPack - 1) / kPerPack),
              static_cast<unsigned long long>(kPerPack));
  std::printf("BulkAdd                    %.3f s\n", Seconds(t1 - t0));
  std::printf("Compact                    %.3f s\n", Seconds(t2 - t1));
  std::printf("MemoryUsage()/blob         %.1f bytes\n",
              static_cast<double>(index.MemoryUsage()) / dn);
  std::printf("RSS after BulkAdd/blob     %.1f bytes\n",
              static_cast<double>(rss_bulk - rss_before) / dn);
  std::printf("RSS increase/blob          %.1f bytes (after Compact)\n",
              static_cast<double>(rss_after - rss_before) / dn);
  std::printf("peak RSS/blob              %.1f bytes (ru_maxrss %.1f MiB; %.1f MiB before)\n",
              static_cast<double>(peak_after) / dn, static_cast<double>(peak_after) / 1048576.0,
              static_cast<double>(peak_before) / 1048576.0);
  std::printf(
      "Find                       %.1f ns mean wall, %.1f ns CPU, over %llu lookups "
      "(%llu hits)\n",
      Seconds(t4 - t3) * 1e9 / static_cast<double>(lookups),
      (cpu4 - cpu3) * 1e9 / static_cast<double>(lookups), static_cast<unsigned long long>(lookups),
      static_cast<unsigned long long>(hits));
  return 0;
}
