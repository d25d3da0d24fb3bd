#include "archiver/job_pool.h"

#include <new>
#include <system_error>

namespace lifeboat {

Status StatusFromException(const std::exception_ptr& e, const std::string& where) {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return Status::Unavailable(
        "out of memory in " + where +
        " (a memory limit such as ulimit -v is too low; raise it, or use fewer workers)");
  } catch (const std::system_error& se) {
    return Status::Unavailable(where + ": " + se.what() +
                               " (a process or memory limit is too low; raise it)");
  } catch (const std::exception& ex) {
    return Status::Internal(where + ": unexpected exception: " + ex.what());
  } catch (...) {
    return Status::Internal(where + ": unexpected exception");
  }
}

JobPool::JobPool(int threads, size_t max_queued, std::function<void(const Status&)> on_failure)
    : max_queued_(max_queued ? max_queued : 1), on_failure_(std::move(on_failure)) {
  for (int i = 0; i < threads; ++i) {
    try {
      threads_.emplace_back([this] { Loop(); });
    } catch (const std::system_error&) {
      break;  // the system will not start more threads: run with those started
    } catch (const std::bad_alloc&) {
      break;
    }
  }
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
    if (on_failure_) on_failure_(StatusFromException(std::current_exception(), "a backup job"));
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
