// Test-only: records what an operation's progress callback saw, to check it against the progress
// contract (util/phase_timer.h, ProgressHead): one thread that is not the caller's, never two
// calls at once, exactly one final report and it is the last, each naming a phase the result
// lists, elapsed time that never goes back.
//
//   ProgressLog log;
//   options.progress = [&](const RestoreProgress& p) { log.Record(p); };
//   auto r = RestoreTree(...);
//   EXPECT_EQ(log.ContractViolation(r->phases), "");
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "util/phase_timer.h"

namespace lifeboat {

class ProgressLog {
 public:
  ProgressLog() : caller_(std::this_thread::get_id()) {}

  void Record(const ProgressHead& head) {
    if (inside_.fetch_add(1) != 0) overlapped_ = true;
    {
      std::lock_guard lock(mu_);
      heads_.push_back(head);
      threads_.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));  // widens any overlap
    inside_.fetch_sub(1);
  }

  std::vector<ProgressHead> heads() const {
    std::lock_guard lock(mu_);
    return heads_;
  }

  // "" when the reports kept the contract for an operation that completed with `phases`, else
  // what was broken first.
  std::string ContractViolation(const std::vector<PhaseTime>& phases) const {
    std::lock_guard lock(mu_);
    if (heads_.empty()) return "no report at all";
    if (overlapped_) return "two reports ran at once";
    if (threads_.size() != 1) return std::to_string(threads_.size()) + " reporting threads";
    if (threads_.count(caller_)) return "a report on the caller's thread";
    double elapsed = 0;
    for (size_t i = 0; i < heads_.size(); ++i) {
      const ProgressHead& h = heads_[i];
      const bool last = i + 1 == heads_.size();
      if (h.final != last) return "report " + std::to_string(i) + (last ? " is the last but not final" : " is final but not the last");
      if (h.elapsed_seconds < elapsed) return "elapsed time went back at report " + std::to_string(i);
      elapsed = h.elapsed_seconds;
      const bool known = h.phase.empty() ||
                         std::any_of(phases.begin(), phases.end(),
                                     [&](const PhaseTime& p) { return p.phase == h.phase; });
      if (!known) return "report " + std::to_string(i) + " names phase '" + h.phase + "' that the result lacks";
    }
    return "";
  }

 private:
  const std::thread::id caller_;
  mutable std::mutex mu_;
  std::vector<ProgressHead> heads_;
  std::set<std::thread::id> threads_;
  std::atomic<int> inside_{0};
  std::atomic<bool> overlapped_{false};
};

// The phases' names, in order.
inline std::vector<std::string> PhaseNames(const std::vector<PhaseTime>& phases) {
  std::vector<std::string> names;
  for (const PhaseTime& p : phases) names.push_back(p.phase);
  return names;
}

}  // namespace lifeboat
