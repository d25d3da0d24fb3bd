// PhaseTimer: the elapsed time of each phase of an operation, read from the operation's clock.
// Every result of a long operation carries these (a backup's scan/read/commit, a restore's
// plan/write/verify, ...); drills report them as the achieved recovery time per step.
//
//   PhaseTimer phases(ctx.clock());
//   phases.Start("index");  ...  phases.Start("write");  ...
//   result.phases = phases.Finish();   // [{"index", 0.8}, {"write", 41.2}]
//
// Not thread-safe: one thread (the operation's) starts and finishes phases.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/clock.h"

namespace lifeboat {

struct PhaseTime {
  std::string phase;
  double seconds = 0;
};

class PhaseTimer {
 public:
  explicit PhaseTimer(const Clock& clock) : clock_(clock), start_ns_(clock.MonotonicNs()) {}

  // Ends the current phase (if any) and starts `phase`. A phase started again adds to its first
  // entry, so the list keeps one entry per phase, in the order they first started.
  void Start(std::string_view phase);
  // Ends the current phase; time until the next Start counts for none.
  void Stop();
  // Stop(), then the phases in order.
  std::vector<PhaseTime> Finish();
  // Seconds since the timer was made.
  double ElapsedSeconds() const;

 private:
  const Clock& clock_;
  const int64_t start_ns_;
  std::vector<PhaseTime> phases_;
  int current_ = -1;  // index into phases_, or -1
  int64_t current_start_ns_ = 0;
};

// The sum of the phases' seconds.
double TotalSeconds(const std::vector<PhaseTime>& phases);

}  // namespace lifeboat
