// Tests of RateLimitBackend on a ManualClock (no real sleeping): bytes per simulated second in
// each direction, the bucket shared by threads, the burst, unlimited directions, waits ended by
// the context; and the conformance suite over it.
#include "backend/rate_limit_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "backend/conformance/backend_conformance.h"
#include "backend/memory_backend.h"

namespace lifeboat {
namespace {

using std::chrono::milliseconds;
constexpr int64_t kSecond = 1'000'000'000;

std::string Name(int i) {
  std::string hex = "0123456789abcdef";
  std::string name(64, 'a');
  name[61] = hex[static_cast<size_t>(i / 256 % 16)];
  name[62] = hex[static_cast<size_t>(i / 16 % 16)];
  name[63] = hex[static_cast<size_t>(i % 16)];
  return name;
}

ObjectHandle Pack(int i) { return {ObjectType::kPack, Name(i)}; }

std::unique_ptr<RateLimitBackend> Limited(ManualClock& clock, uint64_t up, uint64_t down,
                                          std::unique_ptr<Backend> inner = nullptr) {
  RateLimitOptions o;
  o.upload_bytes_per_second = up;
  o.download_bytes_per_second = down;
  o.context = Context().WithClock(clock);
  if (!inner) inner = std::make_unique<MemoryBackend>();
  return std::make_unique<RateLimitBackend>(std::move(inner), o);
}

TEST(RateLimitBackendTest, UploadsTakeSimulatedTimeAfterTheBurst) {
  ManualClock clock;  // auto-advances: every wait moves the time to its end at once
  auto be = Limited(clock, 1000, 0);
  // 5,000 bytes at 1,000 B/s with one second's burst: 4 simulated seconds.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(be->Save(Pack(i), Bytes(500, 1)).ok());
  EXPECT_EQ(clock.MonotonicNs(), 4 * kSecond);
  // SaveParts counts the sum of its parts.
  Bytes a(300, 2), b(700, 3);
  const ByteView parts[] = {a, b};
  ASSERT_TRUE(be->SaveParts(Pack(100), parts).ok());
  EXPECT_EQ(clock.MonotonicNs(), 5 * kSecond);
  // Downloads are unlimited here, and Stat/List/Remove move no object bytes.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(be->Load(Pack(i), 0, 0).ok());
  ASSERT_TRUE(be->Stat(Pack(1)).ok());
  ASSERT_TRUE(be->List(ObjectType::kPack, "", [](const ObjectInfo&) { return Status::Ok(); }).ok());
  ASSERT_TRUE(be->Remove(Pack(1)).ok());
  EXPECT_EQ(clock.MonotonicNs(), 5 * kSecond);
}

TEST(RateLimitBackendTest, DownloadsTakeSimulatedTimeForWhatWasLoaded) {
  ManualClock clock;
  auto memory = std::make_unique<MemoryBackend>();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(memory->Save(Pack(i), Bytes(1000, 1)).ok());
  auto be = Limited(clock, 0, 2000, std::move(memory));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(be->Load(Pack(i), 0, 0).ok());  // "to the end": 1000 B
  Bytes buf;
  for (int i = 5; i < 10; ++i) ASSERT_TRUE(be->LoadInto(Pack(i), 0, 1000, &buf).ok());
  // 10,000 bytes at 2,000 B/s, 2,000 of them from the burst.
  EXPECT_EQ(clock.MonotonicNs(), 4 * kSecond);
  // A range costs its length only.
  ASSERT_TRUE(be->Load(Pack(0), 10, 200).ok());
  EXPECT_EQ(clock.MonotonicNs(), 4 * kSecond + kSecond / 10);
  // Errors cost nothing.
  EXPECT_TRUE(be->Load(Pack(999), 0, 0).status().IsNotFound());
  EXPECT_EQ(clock.MonotonicNs(), 4 * kSecond + kSecond / 10);
}

TEST(RateLimitBackendTest, EachSimulatedSecondMovesTheRateOnce) {
  // Time moves only when the test says: a saver in a loop gets exactly the rate per second.
  ManualClock clock(1'767'225'600'000'000'000, /*auto_advance=*/false);
  auto be = Limited(clock, 1000, 0);
  std::atomic<uint64_t> saved_bytes{0};
  std::atomic<bool> stop{false};
  std::thread saver([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (!be->Save(Pack(i), Bytes(100, 1)).ok()) return;
      saved_bytes += 100;
    }
  });
  struct StopSaver {
    std::atomic<bool>& stop;
    ManualClock& clock;
    std::thread& saver;
    ~StopSaver() {
      stop = true;
      clock.Advance(kSecond);
      saver.join();
    }
  } stop_saver{stop, clock, saver};
  // Waits (real time, bounded) until the saver is asleep for the `n`-th time.
  auto wait_for_sleep = [&](size_t n) {
    for (int i = 0; i < 1000 && clock.sleeps().size() < n; ++i) {
      std::this_thread::sleep_for(milliseconds(2));
    }
    return clock.sleeps().size() >= n;
  };
  ASSERT_TRUE(wait_for_sleep(1));
  EXPECT_EQ(saved_bytes.load(), 1000u);  // the burst
  for (size_t second = 1; second <= 5; ++second) {
    uint64_t before = saved_bytes.load();
    clock.Advance(kSecond);
    ASSERT_TRUE(wait_for_sleep(second + 1));
    EXPECT_EQ(saved_bytes.load() - before, 1000u) << "simulated second " << second;
  }
}

TEST(RateLimitBackendTest, ThreadsShareOneBucket) {
  ManualClock clock;
  auto be = Limited(clock, 10000, 10000);
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!be->Save(Pack(t * 5 + i), Bytes(1000, 1)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // 40,000 bytes at 10,000 B/s, 10,000 from the burst: 3 s, not 3/8 s.
  EXPECT_EQ(clock.MonotonicNs(), 3 * kSecond);
}

TEST(RateLimitBackendTest, AnIdleBucketRefillsOnlyUpToTheBurst) {
  ManualClock clock;
  auto be = Limited(clock, 1000, 0);
  clock.Advance(3600 * kSecond);  // an hour idle
  const int64_t start = clock.MonotonicNs();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(be->Save(Pack(i), Bytes(1000, 1)).ok());
  EXPECT_EQ(clock.MonotonicNs() - start, 2 * kSecond);
  // An object larger than the burst waits for its whole debt.
  ASSERT_TRUE(be->Save(Pack(10), Bytes(5000, 1)).ok());
  EXPECT_EQ(clock.MonotonicNs() - start, 7 * kSecond);
}

TEST(RateLimitBackendTest, ZeroMeansUnlimited) {
  ManualClock clock;
  auto be = Limited(clock, 0, 0);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(be->Save(Pack(i), Bytes(100000, 1)).ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(be->Load(Pack(i), 0, 0).ok());
  EXPECT_EQ(clock.MonotonicNs(), 0);
  EXPECT_TRUE(clock.sleeps().empty());
}

TEST(RateLimitBackendTest, AWaitEndsWithTheContext) {
  ManualClock clock;
  std::atomic<bool> cancel{false};
  RateLimitOptions o;
  o.upload_bytes_per_second = 1000;
  o.download_bytes_per_second = 1000;
  o.context = Context().WithClock(clock).WithCancel(&cancel).WithTimeout(std::chrono::seconds(10));
  auto memory = std::make_unique<MemoryBackend>();
  MemoryBackend* inner = memory.get();
  RateLimitBackend be(std::move(memory), o);
  ASSERT_TRUE(be.Save(Pack(1), Bytes(1000, 1)).ok());  // the burst
  // 20 s of debt, but the deadline is at 10 s: the save is refused, not passed on.
  Status st = be.Save(Pack(2), Bytes(20000, 1));
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.ToString();
  EXPECT_NE(st.message().find("save pack " + Name(2)), std::string::npos) << st.ToString();
  EXPECT_TRUE(inner->Stat(Pack(2)).status().IsNotFound());
  // Downloads have their own bucket: the first load fits its burst, the second must wait.
  ASSERT_TRUE(be.Load(Pack(1), 0, 0).ok());
  cancel = true;
  Result<Bytes> r = be.Load(Pack(1), 0, 0);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
}

ConformanceBackend RateLimitedOverMemory() {
  return {"RateLimitedOverMemory", [] {
            static ManualClock clock;  // auto-advances: the limits cost no real time
            RateLimitOptions o;
            o.upload_bytes_per_second = 1 << 20;
            o.download_bytes_per_second = 512 << 10;
            o.context = Context().WithClock(clock);
            return ConformanceInstance{
                std::make_unique<RateLimitBackend>(std::make_unique<MemoryBackend>(), o), nullptr};
          }};
}

INSTANTIATE_TEST_SUITE_P(RateLimit, BackendConformanceTest,
                         ::testing::Values(RateLimitedOverMemory()), ConformanceTestName);

}  // namespace
}  // namespace lifeboat
