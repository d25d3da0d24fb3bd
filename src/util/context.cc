#include "util/context.h"

#include <algorithm>
#include <string>

namespace lifeboat {

Context Context::WithCancel(const std::atomic<bool>* flag) const {
  Context c = *this;
  c.cancel_ = flag;
  return c;
}

Context Context::WithDeadline(int64_t monotonic_deadline_ns) const {
  Context c = *this;
  c.deadline_ns_ = std::min(deadline_ns_, monotonic_deadline_ns);
  return c;
}

Context Context::WithTimeout(std::chrono::nanoseconds timeout) const {
  const int64_t now = clock_->MonotonicNs();
  const int64_t t = timeout.count();
  // Saturate instead of overflowing for "practically forever" timeouts.
  const int64_t deadline = t > 0 && now > kNoDeadline - t ? kNoDeadline - 1 : now + std::max<int64_t>(t, 0);
  return WithDeadline(deadline);
}

Context Context::WithClock(Clock& clock) const {
  Context c = *this;
  c.clock_ = &clock;
  return c;
}

Status Context::Check(std::string_view what) const {
  if (cancelled()) return Status::Cancelled(std::string(what) + " interrupted");
  if (deadline_passed())
    return Status::DeadlineExceeded(std::string(what) + ": the deadline passed");
  return Status::Ok();
}

Status Context::SleepFor(std::chrono::nanoseconds d, std::string_view what) const {
  LB_RETURN_IF_ERROR(Check(what));
  const int64_t now = clock_->MonotonicNs();
  const int64_t t = std::max<int64_t>(d.count(), 0);
  const int64_t until = std::min(deadline_ns_, now > kNoDeadline - t ? kNoDeadline - 1 : now + t);
  clock_->SleepUntil(until, cancel_);
  return Check(what);
}

}  // namespace lifeboat
