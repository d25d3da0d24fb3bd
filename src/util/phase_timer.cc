#include "util/phase_timer.h"

namespace lifeboat {

void PhaseTimer::Start(std::string_view phase) {
  MutexLock lock(&mu_);
  StopLocked();
  for (size_t i = 0; i < phases_.size(); ++i) {
    if (phases_[i].phase == phase) current_ = static_cast<int>(i);
  }
  if (current_ < 0) {
    phases_.push_back({std::string(phase), 0});
    current_ = static_cast<int>(phases_.size() - 1);
  }
  current_start_ns_ = clock_.MonotonicNs();
}

void PhaseTimer::Stop() {
  MutexLock lock(&mu_);
  StopLocked();
}

void PhaseTimer::StopLocked() {
  if (current_ < 0) return;
  phases_[static_cast<size_t>(current_)].seconds +=
      static_cast<double>(clock_.MonotonicNs() - current_start_ns_) / 1e9;
  current_ = -1;
}

std::vector<PhaseTime> PhaseTimer::Finish() {
  MutexLock lock(&mu_);
  StopLocked();
  return phases_;
}

std::vector<PhaseTime> PhaseTimer::Phases() const {
  MutexLock lock(&mu_);
  std::vector<PhaseTime> out = phases_;
  if (current_ >= 0) {
    out[static_cast<size_t>(current_)].seconds +=
        static_cast<double>(clock_.MonotonicNs() - current_start_ns_) / 1e9;
  }
  return out;
}

double PhaseTimer::ElapsedSeconds() const {
  return static_cast<double>(clock_.MonotonicNs() - start_ns_) / 1e9;
}

ProgressHead PhaseTimer::Head(bool final) const {
  ProgressHead head;
  head.final = final;
  head.elapsed_seconds = ElapsedSeconds();
  MutexLock lock(&mu_);
  if (current_ >= 0) head.phase = phases_[static_cast<size_t>(current_)].phase;
  return head;
}

double TotalSeconds(const std::vector<PhaseTime>& phases) {
  double total = 0;
  for (const PhaseTime& p : phases) total += p.seconds;
  return total;
}

}  // namespace lifeboat
