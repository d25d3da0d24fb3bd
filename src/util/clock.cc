#include "util/clock.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace lifeboat {
namespace {

class RealClock : public Clock {
 public:
  int64_t WallNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  bool WaitUntil(Mutex* mu, CondVar* cv, int64_t deadline_ns, const bool* stop)
      REQUIRES(mu) override {
    while (!*stop) {
      const int64_t left = deadline_ns - MonotonicNs();
      if (left <= 0) return true;
      cv->WaitFor(mu, std::chrono::nanoseconds(left));
    }
    return false;
  }
  bool SleepUntil(int64_t deadline_ns, const std::atomic<bool>* cancel) override {
    for (;;) {
      if (cancel != nullptr && cancel->load()) return false;
      const int64_t left = deadline_ns - MonotonicNs();
      if (left <= 0) return true;
      // A signal handler can only set the flag, not notify: poll it.
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min(left, kCancelPollIntervalNs)));
    }
  }
};

}  // namespace

Clock& SystemClock() {
  static RealClock clock;
  return clock;
}

ManualClock::ManualClock(int64_t wall_ns, bool auto_advance)
    : auto_advance_(auto_advance), wall_ns_(wall_ns) {}

int64_t ManualClock::WallNs() const {
  MutexLock lock(&mu_);
  return wall_ns_;
}

int64_t ManualClock::MonotonicNs() const {
  MutexLock lock(&mu_);
  return monotonic_ns_;
}

bool ManualClock::SleepUntil(int64_t deadline_ns, const std::atomic<bool>* cancel) {
  MutexLock lock(&mu_);
  sleeps_.push_back(std::max<int64_t>(0, deadline_ns - monotonic_ns_));
  if (cancel != nullptr && cancel->load()) return false;
  if (monotonic_ns_ >= deadline_ns) return true;
  if (auto_advance_) {
    wall_ns_ += deadline_ns - monotonic_ns_;
    monotonic_ns_ = deadline_ns;
    cv_.NotifyAll();
    return true;
  }
  // The cancel flag may be set without a notification (a signal handler): poll it in real time.
  for (;;) {
    if (cancel != nullptr && cancel->load()) return false;
    if (monotonic_ns_ >= deadline_ns) return true;
    cv_.WaitFor(&mu_, std::chrono::nanoseconds(kCancelPollIntervalNs));
  }
}

bool ManualClock::WaitUntil(Mutex* mu, CondVar* cv,
                            int64_t deadline_ns, const bool* stop) {
  {
    MutexLock own(&mu_);
    sleeps_.push_back(std::max<int64_t>(0, deadline_ns - monotonic_ns_));
  }
  while (!*stop) {
    if (MonotonicNs() >= deadline_ns) return true;
    cv->WaitFor(mu, std::chrono::milliseconds(2));  // Advance does not know the caller's cv
  }
  return false;
}

void ManualClock::Advance(int64_t ns) {
  MutexLock lock(&mu_);
  if (ns > 0) {
    wall_ns_ += ns;
    monotonic_ns_ += ns;
  }
  cv_.NotifyAll();
}

void ManualClock::SetWall(int64_t wall_ns) {
  MutexLock lock(&mu_);
  wall_ns_ = wall_ns;
}

std::vector<int64_t> ManualClock::sleeps() const {
  MutexLock lock(&mu_);
  return sleeps_;
}

}  // namespace lifeboat
