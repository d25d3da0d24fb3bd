#include "daemon/status_refresher.h"

#include "dr/drill_history.h"

namespace lifeboat::daemon {

StatusRefresher::StatusRefresher(StatusRefresherOptions options)
    : options_(std::move(options)), ctx_(options_.context.WithCancel(&cancel_)) {
  view_.note = "computing the first status";
  thread_ = std::thread([this] { Loop(); });
}

StatusRefresher::~StatusRefresher() { Stop(); }

void StatusRefresher::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
    cv_.NotifyAll();
  }
  cancel_ = true;
  if (thread_.joinable()) thread_.join();
}

StatusView StatusRefresher::Get() {
  MutexLock l(&mu_);
  const int64_t now = ctx_.clock().MonotonicNs();
  if (view_.computed_mono_ns == 0 || now - view_.computed_mono_ns >= options_.min_age_ns) {
    wanted_ = true;
    cv_.NotifyAll();
  }
  return view_;
}

void StatusRefresher::Loop() {
  for (;;) {
    {
      MutexLock l(&mu_);
      while (!stop_ && !wanted_) cv_.Wait(&mu_);
      if (stop_) return;
      wanted_ = false;
    }
    const std::shared_ptr<const plan::Plan> plan = options_.plan();
    dr::StatusOptions so;
    so.context = ctx_;
    so.cache_path = options_.cache_path;
    Result<dr::PlanStatus> status = dr::ComputePlanStatus(*plan, so);
    dr::DrillHistoryOptions ho;
    ho.context = ctx_;
    Result<dr::DrillHistory> history = dr::ReadDrillHistory(*plan, ho);
    if (ctx_.cancelled()) return;
    MutexLock l(&mu_);
    if (status.ok()) {
      view_.status = std::move(*status);
      view_.note.clear();
    } else {
      view_.note = "the status could not be computed: " + status.status().message();
    }
    view_.warnings.clear();
    if (history.ok()) {
      view_.drills = dashboard::RecentDrills(*history, 1);
      for (const std::string& w : history->warnings) view_.warnings.push_back("drills: " + w);
    } else {
      view_.warnings.push_back("the drill history could not be read: " +
                               history.status().message());
    }
    view_.computed_mono_ns = std::max<int64_t>(1, ctx_.clock().MonotonicNs());
  }
}

}  // namespace lifeboat::daemon
