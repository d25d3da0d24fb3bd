#include "util/progress_reporter.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "util/thread_start.h"

namespace lifeboat {

ProgressReporter::ProgressReporter(std::chrono::milliseconds interval,
                                   std::function<void(bool final)> report, Clock& clock)
    : interval_(interval), clock_(clock), report_(std::move(report)) {
  if (!report_) return;
  // Progress is optional: when the system starts no thread for it, the work goes on without.
  std::vector<std::thread> started;
  StartThreads(&started, 1, [this] { Loop(); });
  if (!started.empty()) thread_ = std::move(started.front());
}

ProgressReporter::~ProgressReporter() { Stop(); }

void ProgressReporter::Stop(FinalReport final) {
  if (stopped_) return;
  stopped_ = true;
  if (!thread_.joinable()) {
    // No reporter thread (the system started none): the final report is still made, here, on
    // the owner's thread, which holds no engine lock when it stops the reporter.
    if (report_ && final == FinalReport::kYes) Report(true);
    return;
  }
  {
    MutexLock lock(&mu_);
    stop_ = true;
    final_report_ = final == FinalReport::kYes;
  }
  stop_cv_.NotifyAll();
  thread_.join();
}

void ProgressReporter::Report(bool final) {
  try {
    report_(final);
  } catch (...) {
    // Out of memory while reporting: skip this report, not the operation.
  }
}

void ProgressReporter::Loop() {
  const int64_t interval_ns =
      std::max<int64_t>(1'000'000, std::chrono::nanoseconds(interval_).count());
  MutexLock lock(&mu_);
  while (!stop_) {
    if (!clock_.WaitUntil(&mu_, &stop_cv_, clock_.MonotonicNs() + interval_ns, &stop_)) break;
    lock.Unlock();  // the report runs holding no lock (the contract in the header)
    Report(false);
    lock.Lock();
  }
  const bool final = final_report_;
  lock.Unlock();
  if (final) Report(true);
}

}  // namespace lifeboat
