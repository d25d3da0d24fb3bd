#include "util/buffer_pool.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace lifeboat {
namespace {

constexpr size_t kMiB = 1u << 20;
const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

Bytes Filled(size_t capacity, size_t size) {
  Bytes b;
  b.reserve(capacity);
  b.assign(size, 0x5a);
  return b;
}

// Pages of [from, to) that are backed by memory, by mincore().
size_t ResidentPages(const uint8_t* from, const uint8_t* to) {
  uintptr_t begin = (reinterpret_cast<uintptr_t>(from) + kPage - 1) & ~(kPage - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(to) & ~(kPage - 1);
  if (end <= begin) return 0;
  std::vector<unsigned char> vec((end - begin) / kPage);
  EXPECT_EQ(::mincore(reinterpret_cast<void*>(begin), end - begin, vec.data()), 0);
  size_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

TEST(BufferPoolTest, GivenBufferComesBackEmptyWithItsMemory) {
  BufferPool pool(16 * kMiB);
  Bytes b = pool.Take(2 * kMiB);
  EXPECT_TRUE(b.empty());
  EXPECT_GE(b.capacity(), 2 * kMiB);
  b.assign(kMiB, 7);
  const uint8_t* memory = b.data();
  pool.Give(std::move(b));
  EXPECT_GE(pool.pooled_bytes(), kMiB);
  EXPECT_LT(pool.pooled_bytes(), kMiB + kPage);
  Bytes again = pool.Take(kMiB);
  EXPECT_TRUE(again.empty());
  EXPECT_EQ(again.data(), memory);
  EXPECT_EQ(pool.pooled_bytes(), 0u);
}

TEST(BufferPoolTest, KeepsOnlyThePagesTheLastContentsCovered) {
  BufferPool pool(64 * kMiB);
  Bytes b = Filled(8 * kMiB, 8 * kMiB);  // every page touched
  b.resize(kMiB);                        // then used for a small chunk
  const uint8_t* memory = b.data();
  pool.Give(std::move(b));
  EXPECT_LT(pool.pooled_bytes(), kMiB + kPage);
  Bytes again = pool.Take(8 * kMiB);
  ASSERT_EQ(again.data(), memory);
  EXPECT_EQ(ResidentPages(memory + kMiB + kPage, memory + 8 * kMiB), 0u);
  EXPECT_GT(ResidentPages(memory, memory + kMiB), 0u);
  // Released pages are usable again (and read as whatever is written to them).
  again.assign(8 * kMiB, 0x33);
  EXPECT_EQ(again[8 * kMiB - 1], 0x33);
}

TEST(BufferPoolTest, TakesTheSmallestBufferThatFits) {
  BufferPool pool(64 * kMiB);
  for (size_t mib : {8, 1, 4}) pool.Give(Filled(mib * kMiB, kMiB / 2));
  EXPECT_EQ(pool.Take(3 * kMiB).capacity(), 4 * kMiB);
  EXPECT_EQ(pool.Take(kMiB).capacity(), kMiB);
  EXPECT_GE(pool.Take(9 * kMiB).capacity(), 9 * kMiB);  // none fits: a new one
  EXPECT_EQ(pool.Take(0).capacity(), 8 * kMiB);
  EXPECT_EQ(pool.pooled_bytes(), 0u);
}

TEST(BufferPoolTest, NeverHoldsMoreThanItsLimit) {
  BufferPool pool(10 * kMiB);
  pool.Give(Filled(8 * kMiB, 4 * kMiB));
  pool.Give(Filled(8 * kMiB, 4 * kMiB));
  size_t full = pool.pooled_bytes();
  EXPECT_GE(full, 8 * kMiB);
  pool.Give(Filled(8 * kMiB, 4 * kMiB));  // would exceed the limit: freed
  EXPECT_EQ(pool.pooled_bytes(), full);
  pool.Give(Filled(BufferPool::kMinPooledCapacity - 1, 1));  // small: left to the allocator
  EXPECT_EQ(pool.pooled_bytes(), full);
  pool.Give(Filled(8 * kMiB, 0));  // keeps almost nothing, so it fits
  EXPECT_LT(pool.pooled_bytes(), full + kPage);
  EXPECT_LE(pool.pooled_bytes(), 10 * kMiB);
}

TEST(BufferPoolTest, ConcurrentTakeAndGive) {
  BufferPool pool(8 * kMiB);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        Bytes b = pool.Take(static_cast<size_t>(256 + (i * 37 + t) % 700) << 10);
        b.resize(b.capacity() / 2, static_cast<uint8_t>(i));
        pool.Give(std::move(b));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(pool.pooled_bytes(), 8 * kMiB);
}

}  // namespace
}  // namespace lifeboat
