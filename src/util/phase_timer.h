// PhaseTimer: the elapsed time of each phase of an operation, read from the operation's clock,
// and the common head of every progress report.
//
// Every result of a long operation carries its phases (a backup's scan/files/commit, a restore's
// layout/write/verify, ...); drills report them as the achieved recovery time per step. Every
// progress report starts with a ProgressHead: the phase running now, the seconds since the
// operation started, and whether it is the last report.
//
//   PhaseTimer phases(ctx.clock());
//   phases.Start("index");  ...  phases.Start("write");  ...
//   result.phases = phases.Finish();   // [{"index", 0.8}, {"write", 41.2}]
//
// The operation's thread starts and stops phases; Head() may be called from any thread (the
// progress reporter's), so the timer takes its own small lock, never held while calling out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct PhaseTime {
  std::string phase;
  double seconds = 0;
};

// The fields every operation's progress report begins with (BackupProgress, RestoreProgress,
// CheckProgress, PruneProgress, CopyProgress, ... derive from it). The progress contract, shared
// by all of them: the callback runs on a ProgressReporter thread (progress_reporter.h), one call
// at a time, never while the engine holds one of its mutexes, about every progress_interval_ms,
// and once more when the operation completes, with final = true (an operation that fails or is
// cancelled may end without a final report). Only when the system could start no thread is the
// final report made on the caller's thread instead, and then it is the only one.
struct ProgressHead {
  std::string phase;  // the phase running now, as named in the result's phases; "" between them
  double elapsed_seconds = 0;  // since the operation started, on its clock
  bool final = false;          // the last report of this operation
};

class PhaseTimer {
 public:
  explicit PhaseTimer(const Clock& clock) : clock_(clock), start_ns_(clock.MonotonicNs()) {}

  // Ends the current phase (if any) and starts `phase`. A phase started again adds to its first
  // entry, so the list keeps one entry per phase, in the order they first started.
  void Start(std::string_view phase) EXCLUDES(mu_);
  // Ends the current phase; time until the next Start counts for none.
  void Stop() EXCLUDES(mu_);
  // Stop(), then the phases in order.
  std::vector<PhaseTime> Finish() EXCLUDES(mu_);
  // The phases so far, the current one counted up to now.
  std::vector<PhaseTime> Phases() const EXCLUDES(mu_);
  // Seconds since the timer was made.
  double ElapsedSeconds() const;
  // The current phase and the elapsed seconds, for a progress report.
  ProgressHead Head(bool final) const EXCLUDES(mu_);

 private:
  void StopLocked() REQUIRES(mu_);

  const Clock& clock_;
  const int64_t start_ns_;
  mutable Mutex mu_;
  std::vector<PhaseTime> phases_ GUARDED_BY(mu_);
  int current_ GUARDED_BY(mu_) = -1;  // index into phases_, or -1
  int64_t current_start_ns_ GUARDED_BY(mu_) = 0;
};

// The sum of the phases' seconds.
double TotalSeconds(const std::vector<PhaseTime>& phases);

}  // namespace lifeboat
