// ProgressReporter: a thread that reports a long operation's progress every interval of the
// operation's clock, and once more at the end. Every long operation reports through one (the
// contract: util/phase_timer.h, ProgressHead).
//
//   ProgressReporter reporter(std::chrono::milliseconds(250), [&](bool final) {
//     RestoreProgress p = Snapshot();  // counters read from atomics
//     p.final = final;
//     options.progress(p);
//   });
//   ...                                // the work
//   reporter.Stop();                   // the final report, then the thread ends
//
// The contract every caller's progress callback relies on: `report` runs on the reporter's own
// thread, one call at a time, and never while the engine holds one of its mutexes: the reporter
// holds none of its own when it calls, and the operation's snapshot of its counters must take its
// locks only for the copy (EXCLUDES on the functions that build it). So a callback may block,
// print or take its own locks without stalling the workers, as long as it does not call back into
// the operation it reports on.
//
// Progress is optional: when the system starts no thread for it (a process or memory limit),
// there are no periodic reports and the operation goes on; the final report is then made by
// Stop on the owner's thread. A report that throws (std::bad_alloc while
// formatting) is skipped, not fatal.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

#include "util/clock.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class ProgressReporter {
 public:
  // Starts the thread, which calls report(false) every `interval` of `clock` until Stop(). A
  // null `report` starts nothing. On a ManualClock the periodic reports come as the test moves
  // the time (the final one comes from Stop regardless). `clock` must outlive the reporter.
  ProgressReporter(std::chrono::milliseconds interval, std::function<void(bool final)> report,
                   Clock& clock = SystemClock());
  // Stop(FinalReport::kYes).
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  enum class FinalReport { kYes, kNo };
  // Ends the periodic reports, makes the final one, report(true), when asked (on the reporter's
  // thread, or on the caller's when none was started), and joins the thread. Blocks while a
  // report is running. Later calls do nothing.
  // Call it from the thread that owns the reporter.
  void Stop(FinalReport final = FinalReport::kYes) EXCLUDES(mu_);
  // Whether a reporter thread runs (false: the system started none, or `report` was null).
  bool running() const { return thread_.joinable(); }

 private:
  void Loop() EXCLUDES(mu_);
  void Report(bool final);  // one call of report_, an exception skipped

  const std::chrono::milliseconds interval_;
  Clock& clock_;
  const std::function<void(bool final)> report_;
  Mutex mu_;
  CondVar stop_cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  bool final_report_ GUARDED_BY(mu_) = true;
  bool stopped_ = false;  // the owner's: Stop ran
  std::thread thread_;  // the owner's: started by the constructor, joined by Stop
};

}  // namespace lifeboat
