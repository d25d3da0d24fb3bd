// Context: what every long operation of the engine is given so that its caller can stop it and
// bound it in time: a cancel flag, a deadline and the clock both are read from. The CLI makes one
// from its SIGINT/SIGTERM flag; a scheduler or a drill runner makes one per job with its own flag
// and deadline; tests inject a ManualClock (util/clock.h).
//
//   Context ctx = Context().WithCancel(&g_interrupted).WithTimeout(std::chrono::minutes(30));
//   LB_RETURN_IF_ERROR(ctx.Check("backup"));            // Cancelled or DeadlineExceeded
//   LB_RETURN_IF_ERROR(ctx.SleepFor(delay, "retrying a load"));  // wakes early when stopped
//
// A Context is a small value: copy it freely. It does not own the flag or the clock; both must
// outlive every copy. Thread safety: const methods may be called from any thread concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

#include "util/clock.h"
#include "util/status.h"

namespace lifeboat {

class Context {
 public:
  // Never cancelled, no deadline, the system clock.
  Context() = default;

  // A copy that is also cancelled when *flag becomes true (null: no flag). Replaces an earlier
  // flag: one flag per context (a caller that has two sets one from the other).
  Context WithCancel(const std::atomic<bool>* flag) const;
  // A copy whose deadline is the earlier of its own and `monotonic_deadline_ns`
  // (Clock::MonotonicNs() of this context's clock).
  Context WithDeadline(int64_t monotonic_deadline_ns) const;
  // WithDeadline(now + timeout); a timeout <= 0 gives a context that is already done.
  Context WithTimeout(std::chrono::nanoseconds timeout) const;
  // A copy reading and waiting on `clock` (tests: ManualClock). Keeps the deadline's value.
  Context WithClock(Clock& clock) const;

  Clock& clock() const { return *clock_; }
  // The cancel flag (null when none), for facilities that take a bare flag (util/subprocess.h).
  const std::atomic<bool>* cancel_flag() const { return cancel_; }
  bool has_deadline() const { return deadline_ns_ != kNoDeadline; }
  int64_t deadline_ns() const { return deadline_ns_; }

  bool cancelled() const { return cancel_ != nullptr && cancel_->load(std::memory_order_relaxed); }
  bool deadline_passed() const {
    return has_deadline() && clock_->MonotonicNs() >= deadline_ns_;
  }
  // True when the work should stop: cancelled or past the deadline. Cheap (one atomic load, one
  // clock read when there is a deadline): fine to call per file or per blob.
  bool done() const { return cancelled() || deadline_passed(); }
  // OK; Cancelled("<what> interrupted"); or DeadlineExceeded("<what>: the deadline passed").
  Status Check(std::string_view what) const;
  // Waits `d` (capped at the deadline). OK when the whole time passed; otherwise what Check
  // returns: a cancelled or expired context returns at once without waiting.
  Status SleepFor(std::chrono::nanoseconds d, std::string_view what) const;

 private:
  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();
  const std::atomic<bool>* cancel_ = nullptr;
  int64_t deadline_ns_ = kNoDeadline;
  Clock* clock_ = &SystemClock();
};

}  // namespace lifeboat
