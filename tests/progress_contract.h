// Test helpers for the progress contract (util/phase_timer.h, ProgressHead) and for timing
// phases on a ManualClock.
//
//   ProgressLog log;
//   options.progress = [&](const PruneProgress& p) { log.Record(p); };
//   options.progress_interval_ms = 1;
//   auto r = Prune(repo, options);
//   log.ExpectContract(std::this_thread::get_id(), r->phases);
//
// ProgressLog records each report's thread and head and notices calls that overlap;
// ExpectContract adds a gtest failure for each broken rule: every call on one thread that is not
// the caller's, never two at once, exactly one final report and it is the last, elapsed time
// never going back, and each phase one of the result's phases ("" between phases allowed).
//
// TickingBackend advances a ManualClock on every backend call, so each phase that talks to the
// backend takes a known, nonzero time without sleeping.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/forwarding_backend.h"
#include "util/clock.h"
#include "util/phase_timer.h"

namespace lifeboat::testing {

class ProgressLog {
 public:
  struct Entry {
    std::thread::id thread;
    ProgressHead head;
  };

  // Call from the progress callback. Thread-safe (it must notice the calls it should not get).
  void Record(const ProgressHead& head) {
    if (in_call_.exchange(true)) overlapped_ = true;
    {
      std::lock_guard lock(mu_);
      records_.push_back({std::this_thread::get_id(), head});
    }
    std::this_thread::yield();  // widens the window in which an overlapping call would be seen
    in_call_ = false;
  }

  std::vector<Entry> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }

  void ExpectContract(std::thread::id caller, const std::vector<PhaseTime>& phases) const {
    std::vector<Entry> got = records();
    ASSERT_FALSE(got.empty()) << "no progress report at all";
    EXPECT_FALSE(overlapped_.load()) << "two progress calls ran at once";
    size_t finals = 0;
    double elapsed = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const Entry& r = got[i];
      EXPECT_EQ(r.thread, got.front().thread) << "report " << i << " on another thread";
      EXPECT_NE(r.thread, caller) << "report " << i << " on the caller's thread";
      if (r.head.final) finals++;
      EXPECT_GE(r.head.elapsed_seconds, elapsed) << "report " << i << ": time went back";
      elapsed = r.head.elapsed_seconds;
      if (!r.head.phase.empty()) {
        bool known = std::any_of(phases.begin(), phases.end(),
                                 [&](const PhaseTime& p) { return p.phase == r.head.phase; });
        EXPECT_TRUE(known) << "report " << i << ": phase \"" << r.head.phase
                           << "\" is not among the result's phases";
      }
    }
    EXPECT_EQ(finals, 1u) << "there must be exactly one final report";
    EXPECT_TRUE(got.back().head.final) << "the final report must be the last";
  }

  size_t finals() const {
    size_t n = 0;
    for (const Entry& r : records()) n += r.head.final ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Entry> records_;
  std::atomic<bool> in_call_{false};
  std::atomic<bool> overlapped_{false};
};

// The names of `phases`, in order.
inline std::vector<std::string> PhaseNames(const std::vector<PhaseTime>& phases) {
  std::vector<std::string> names;
  for (const PhaseTime& p : phases) names.push_back(p.phase);
  return names;
}

// Advances `clock` by `tick_ns` before every call it forwards.
class TickingBackend : public ForwardingBackend {
 public:
  TickingBackend(std::unique_ptr<Backend> inner, ManualClock* clock,
                 int64_t tick_ns = 1'000'000'000)
      : ForwardingBackend(std::move(inner)), clock_(clock), tick_ns_(tick_ns) {}

  Status Save(const ObjectHandle& h, ByteView data) override {
    Tick();
    return ForwardingBackend::Save(h, data);
  }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    Tick();
    return ForwardingBackend::SaveParts(h, parts);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    Tick();
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    Tick();
    return ForwardingBackend::LoadInto(h, offset, length, out);
  }
  Result<ObjectInfo> Stat(const ObjectHandle& h) override {
    Tick();
    return ForwardingBackend::Stat(h);
  }
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    Tick();
    return ForwardingBackend::List(type, prefix, fn);
  }
  Status Remove(const ObjectHandle& h) override {
    Tick();
    return ForwardingBackend::Remove(h);
  }

 private:
  void Tick() { clock_->Advance(tick_ns_); }

  ManualClock* const clock_;
  const int64_t tick_ns_;
};

}  // namespace lifeboat::testing
