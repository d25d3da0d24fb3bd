// Tests of ConcurrencyLimitBackend: the limit holds under load, waits end with the context, List
// gives its slot back while fn runs, hints are capped; and the conformance suite over it.
#include "backend/concurrency_limit_backend.h"

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

// A memory backend whose calls (all but List) block until the gate opens, counting how many are
// inside at once.
class GatedBackend : public ForwardingBackend {
 public:
  GatedBackend() : ForwardingBackend(std::make_unique<MemoryBackend>()) {}

  BackendHints Hints() const override { return {.concurrent_requests = 32}; }
  Status Save(const ObjectHandle& h, ByteView data) override {
    Inside guard(this);
    return ForwardingBackend::Save(h, data);
  }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    Inside guard(this);
    return ForwardingBackend::SaveParts(h, parts);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    Inside guard(this);
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    Inside guard(this);
    return ForwardingBackend::LoadInto(h, offset, length, out);
  }
  Result<ObjectInfo> Stat(const ObjectHandle& h) override {
    Inside guard(this);
    return ForwardingBackend::Stat(h);
  }
  Status Remove(const ObjectHandle& h) override {
    Inside guard(this);
    return ForwardingBackend::Remove(h);
  }

  void Open() {
    MutexLock lock(&mu_);
    open_ = true;
    cv_.NotifyAll();
  }
  int inside() {
    MutexLock lock(&mu_);
    return inside_;
  }
  int max_inside() {
    MutexLock lock(&mu_);
    return max_inside_;
  }
  int entered() {
    MutexLock lock(&mu_);
    return entered_;
  }
  // Waits (real time, bounded) until `n` calls are inside.
  bool WaitForInside(int n) {
    for (int i = 0; i < 500 && inside() < n; ++i) std::this_thread::sleep_for(milliseconds(5));
    return inside() >= n;
  }

 private:
  class Inside {
   public:
    explicit Inside(GatedBackend* be) : be_(be) {
      MutexLock lock(&be_->mu_);
      ++be_->entered_;
      be_->max_inside_ = std::max(be_->max_inside_, ++be_->inside_);
      be_->cv_.NotifyAll();
      while (!be_->open_) be_->cv_.Wait(&be_->mu_);
    }
    ~Inside() {
      MutexLock lock(&be_->mu_);
      --be_->inside_;
    }

   private:
    GatedBackend* const be_;
  };

  Mutex mu_;
  CondVar cv_;
  bool open_ GUARDED_BY(mu_) = false;
  int inside_ GUARDED_BY(mu_) = 0;
  int max_inside_ GUARDED_BY(mu_) = 0;
  int entered_ GUARDED_BY(mu_) = 0;
};

std::string Name(int i) {
  std::string hex = "0123456789abcdef";
  std::string name(64, '0');
  name[62] = hex[static_cast<size_t>(i / 16 % 16)];
  name[63] = hex[static_cast<size_t>(i % 16)];
  return name;
}

TEST(ConcurrencyLimitBackendTest, AtMostNCallsRunAtOnce) {
  auto gated_owned = std::make_unique<GatedBackend>();
  GatedBackend* gated = gated_owned.get();
  ConcurrencyLimitBackend be(std::move(gated_owned), 3);
  constexpr int kThreads = 12;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ObjectHandle h{ObjectType::kPack, Name(t)};
      Status st;
      switch (t % 4) {
        case 0: st = be.Save(h, AsBytes("x")); break;
        case 1: st = be.Load(h, 0, 0).status(); break;
        case 2: st = be.Stat(h).status(); break;
        default: st = be.Remove(h); break;
      }
      if (!st.ok() && !st.IsNotFound()) ++failures;
    });
  }
  EXPECT_TRUE(gated->WaitForInside(3));
  std::this_thread::sleep_for(milliseconds(100));  // time for a fourth to get in, were it let
  EXPECT_EQ(gated->inside(), 3);
  EXPECT_EQ(gated->entered(), 3);
  gated->Open();
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(gated->entered(), kThreads);
  EXPECT_EQ(gated->max_inside(), 3);
}

TEST(ConcurrencyLimitBackendTest, AWaitingCallEndsWhenTheContextIsCancelled) {
  auto gated_owned = std::make_unique<GatedBackend>();
  GatedBackend* gated = gated_owned.get();
  std::atomic<bool> cancel{false};
  ConcurrencyLimitBackend be(std::move(gated_owned), 1, Context().WithCancel(&cancel));
  std::thread holder([&] { EXPECT_TRUE(be.Save({ObjectType::kPack, Name(1)}, AsBytes("x")).ok()); });
  ASSERT_TRUE(gated->WaitForInside(1));
  Status waiting_result;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waiting_result = be.Stat({ObjectType::kPack, Name(1)}).status();
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_FALSE(returned.load());
  cancel = true;
  // Returns within the poll interval although the slot is still taken.
  for (int i = 0; i < 200 && !returned.load(); ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_TRUE(returned.load());
  gated->Open();
  waiter.join();
  EXPECT_EQ(waiting_result.code(), StatusCode::kCancelled) << waiting_result.ToString();
  EXPECT_NE(waiting_result.message().find("stat pack " + Name(1)), std::string::npos)
      << waiting_result.ToString();
  EXPECT_EQ(gated->entered(), 1);  // the cancelled call never reached the inner backend
  holder.join();
}

TEST(ConcurrencyLimitBackendTest, AWaitingCallEndsAtTheDeadlineOnTheContextsClock) {
  auto gated_owned = std::make_unique<GatedBackend>();
  GatedBackend* gated = gated_owned.get();
  ManualClock clock(1'767'225'600'000'000'000, /*auto_advance=*/false);
  Context ctx = Context().WithClock(clock).WithTimeout(std::chrono::seconds(30));
  ConcurrencyLimitBackend be(std::move(gated_owned), 1, ctx);
  std::thread holder([&] { EXPECT_TRUE(be.Save({ObjectType::kPack, Name(1)}, AsBytes("x")).ok()); });
  ASSERT_TRUE(gated->WaitForInside(1));
  Status waiting_result;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waiting_result = be.Remove({ObjectType::kPack, Name(2)});
    returned = true;
  });
  clock.Advance(29'000'000'000);
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_FALSE(returned.load());
  clock.Advance(1'000'000'000);
  for (int i = 0; i < 200 && !returned.load(); ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_TRUE(returned.load());
  gated->Open();
  waiter.join();
  EXPECT_EQ(waiting_result.code(), StatusCode::kDeadlineExceeded) << waiting_result.ToString();
  EXPECT_EQ(gated->entered(), 1);
  holder.join();
}

TEST(ConcurrencyLimitBackendTest, ListGivesItsSlotBackWhileFnRuns) {
  auto memory = std::make_unique<MemoryBackend>();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(memory->Save({ObjectType::kIndex, Name(i)}, AsBytes("i")).ok());
  }
  auto gated_owned = std::make_unique<GatedBackend>();
  GatedBackend* gated = gated_owned.get();
  gated->Open();
  ConcurrencyLimitBackend be(std::move(gated_owned), 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(be.Save({ObjectType::kIndex, Name(i)}, AsBytes("i")).ok());
  // With one slot, fn calling back in would deadlock if List kept its slot; so would another
  // thread's call made while fn runs.
  int seen = 0;
  Status st = be.List(ObjectType::kIndex, "", [&](const ObjectInfo& info) -> Status {
    ++seen;
    LB_ASSIGN_OR_RETURN(Bytes b, be.Load({ObjectType::kIndex, info.name}, 0, 0));
    Status other;
    std::thread t([&] { other = be.Stat({ObjectType::kIndex, info.name}).status(); });
    t.join();
    return other;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen, 5);
  EXPECT_EQ(gated->max_inside(), 1);
  // fn's error ends the listing and is returned; the slot is free afterwards.
  st = be.List(ObjectType::kIndex, "", [](const ObjectInfo&) { return Status::Cancelled("stop"); });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_TRUE(be.Stat({ObjectType::kIndex, Name(0)}).ok());
}

TEST(ConcurrencyLimitBackendTest, HintsAreCappedAtTheLimit) {
  EXPECT_EQ(ConcurrencyLimitBackend(std::make_unique<GatedBackend>(), 5).Hints().concurrent_requests,
            5);
  EXPECT_EQ(ConcurrencyLimitBackend(std::make_unique<GatedBackend>(), 100).Hints()
                .concurrent_requests,
            32);
  ConcurrencyLimitBackend zero(std::make_unique<GatedBackend>(), 0);
  EXPECT_EQ(zero.max_in_flight(), 1);
  EXPECT_EQ(zero.Hints().concurrent_requests, 1);
  EXPECT_EQ(zero.Location(), "memory:");
}

ConformanceBackend LimitedOverMemory(int n) {
  return {"LimitedTo" + std::to_string(n) + "OverMemory", [n] {
            return ConformanceInstance{
                std::make_unique<ConcurrencyLimitBackend>(std::make_unique<MemoryBackend>(), n),
                nullptr};
          }};
}

INSTANTIATE_TEST_SUITE_P(ConcurrencyLimit, BackendConformanceTest,
                         ::testing::Values(LimitedOverMemory(1), LimitedOverMemory(3)),
                         ConformanceTestName);

}  // namespace
}  // namespace lifeboat
