// The plan status and the drill history the daemon's dashboard shows, computed on a thread of
// their own so that neither the daemon's loop nor a dashboard request waits for the sites:
// a request gets the newest computed view at once, and asks for a fresh one when that view is
// older than `min_age` (the daemon's loop_wait). Nothing is computed while nobody looks.
//
//   StatusRefresher r({.plan = [&] { return daemon.plan(); }, .cache_path = cache,
//                      .context = ctx, .min_age_ns = 10 * kSecond});
//   StatusView v = r.Get();   // before the first computation: no status, note "computing ..."
//
// Threads: Get() from any thread (never blocks on a site); one refresher thread runs
// dr::ComputePlanStatus (with the status cache) and dr::ReadDrillHistory. Stop() (or the
// destructor) cancels a computation in progress and joins the thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dashboard/state.h"
#include "dr/status.h"
#include "plan/plan.h"
#include "util/context.h"
#include "util/mutex.h"

namespace lifeboat::daemon {

struct StatusView {
  std::optional<dr::PlanStatus> status;
  std::string note;  // "computing the first status", or the last attempt's error
  std::vector<dashboard::DrillSummary> drills;  // the newest drill of each service
  std::vector<std::string> warnings;            // from reading the drill history
  int64_t computed_mono_ns = 0;                 // 0: never
};

struct StatusRefresherOptions {
  std::function<std::shared_ptr<const plan::Plan>()> plan;  // required: the plan now
  std::string cache_path;                                   // the status cache; "" none
  Context context;  // its clock measures the age; its cancel flag stops a computation too
  int64_t min_age_ns = 10'000'000'000;
};

class StatusRefresher {
 public:
  explicit StatusRefresher(StatusRefresherOptions options);
  ~StatusRefresher();
  StatusRefresher(const StatusRefresher&) = delete;
  StatusRefresher& operator=(const StatusRefresher&) = delete;

  StatusView Get();
  void Stop();

 private:
  void Loop();

  const StatusRefresherOptions options_;
  std::atomic<bool> cancel_{false};
  const Context ctx_;  // options_.context with cancel_
  Mutex mu_;
  CondVar cv_;
  StatusView view_ GUARDED_BY(mu_);
  bool wanted_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lifeboat::daemon
