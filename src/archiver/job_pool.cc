#include "archiver/job_pool.h"


namespace lifeboat {

JobPool::JobPool(int threads, size_t max_queued, std::function<void(const Status&)> on_failure)
    : max_queued_(max_queued ? max_queued : 1), on_failure_(std::move(on_failure)) {
  // The system may start fewer threads than asked for (or none: Submit then runs jobs inline).
  StartThreads(&threads_, threads > 0 ? static_cast<size_t>(threads) : 0, [this] { Loop(); });
}

JobPool::~JobPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void JobPool::Run(std::function<void()>& job) {
  try {
    job();
  } catch (...) {
    if (on_failure_) on_failure_(StatusFromCurrentException("a backup job"));
  }
}

void JobPool::Submit(std::function<void()> job) {
  if (threads_.empty()) {
    Run(job);
    return;
  }
  std::unique_lock lock(mu_);
  space_cv_.wait(lock, [&] { return jobs_.size() < max_queued_; });
  jobs_.push_back(std::move(job));
  lock.unlock();
  cv_.notify_one();
}

void JobPool::Loop() {
  for (;;) {
    std::function<void()> job;
    bool wake;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      wake = jobs_.size() == max_queued_ / 2;
    }
    if (wake) space_cv_.notify_all();
    Run(job);
  }
}

}  // namespace lifeboat
