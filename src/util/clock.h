// Clock: the one place the engine reads the time or waits. Everything that records a time
// (snapshots, locks, key files), compares one (retention, lock staleness, RPO checks), measures
// one (phase timings, timeouts) or waits (retry backoff, lock retries) takes a Clock, so that
// schedules, drills and retries can be tested without sleeping.
//
//   Clock& clock = context.clock();           // SystemClock() unless a test injected another
//   snapshot.time_ns = clock.WallNs();
//   if (!clock.SleepUntil(clock.MonotonicNs() + delay_ns, cancel)) return Cancelled(...);
//
// Thread safety: every method of every Clock may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in ns since the Unix epoch: what is recorded and compared with recorded
  // times. May jump (NTP, an operator); never use it to measure an interval.
  virtual int64_t WallNs() const = 0;
  // Monotonic time in ns from an arbitrary origin: intervals, deadlines, timeouts. Never goes
  // back.
  virtual int64_t MonotonicNs() const = 0;
  // Blocks until MonotonicNs() >= deadline_ns or *cancel becomes true (cancel may be null; it may
  // be set from any thread or a signal handler). Returns true when the deadline was reached,
  // false when cancelled (checked before waiting too: a cancelled wait returns at once).
  virtual bool SleepUntil(int64_t deadline_ns, const std::atomic<bool>* cancel) = 0;
  // The same for a thread that also waits for a flag guarded by the caller's mutex (a background
  // refresher that must stop promptly): waits on `cv` with `mu` held on entry and on return
  // (released while waiting) until `*stop` is true (returns false) or the deadline is reached
  // (returns true). The caller sets *stop under `mu` and then notifies `cv`.
  virtual bool WaitUntil(Mutex* mu, CondVar* cv, int64_t deadline_ns, const bool* stop)
      REQUIRES(mu) = 0;
};

// The real clocks (system_clock, steady_clock). SleepUntil notices `cancel` within
// kCancelPollInterval.
Clock& SystemClock();
inline constexpr int64_t kCancelPollIntervalNs = 20'000'000;  // 20 ms

// A clock for tests: time moves only when Advance() or SetWall() is called, or, when
// auto_advance is on, when someone sleeps (SleepUntil then moves the time to the deadline and
// returns at once, so code that backs off runs without waiting). Without auto_advance a sleeper
// blocks until another thread advances the time past its deadline, or `cancel` is set. Every
// sleep is recorded (sleeps()).
class ManualClock : public Clock {
 public:
  // Starts at wall time `wall_ns` (default 2026-01-01T00:00:00Z) and monotonic time 0.
  explicit ManualClock(int64_t wall_ns = 1'767'225'600'000'000'000, bool auto_advance = true);

  int64_t WallNs() const override;
  int64_t MonotonicNs() const override;
  bool SleepUntil(int64_t deadline_ns, const std::atomic<bool>* cancel) override;
  // Records the wait; returns when stop() holds (polled every few ms of real time, and at each
  // notification of cv) or Advance moved the time past the deadline. Never auto-advances: a
  // background thread would otherwise spin through time.
  bool WaitUntil(Mutex* mu, CondVar* cv, int64_t deadline_ns, const bool* stop)
      REQUIRES(mu) override;

  // Moves both clocks forward by ns (>= 0) and wakes sleepers whose deadline passed.
  void Advance(int64_t ns);
  // Sets the wall clock only (a jump, like an operator or NTP would make).
  void SetWall(int64_t wall_ns);
  // The durations (deadline - now at the call) of every SleepUntil so far, in call order.
  std::vector<int64_t> sleeps() const;

 private:
  const bool auto_advance_;
  mutable Mutex mu_;
  CondVar cv_;  // the time moved
  int64_t wall_ns_ GUARDED_BY(mu_);
  int64_t monotonic_ns_ GUARDED_BY(mu_) = 0;
  std::vector<int64_t> sleeps_ GUARDED_BY(mu_);
};

}  // namespace lifeboat
