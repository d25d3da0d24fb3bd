#include "util/thread_pool.h"

#include <new>
#include <utility>
#include <vector>

#include "util/thread_start.h"

namespace lifeboat {

ThreadPool::ThreadPool(ThreadPoolOptions options)
    : options_(std::move(options)), max_queued_(options_.max_queued ? options_.max_queued : 1) {
  // The system may start fewer threads than asked for (or none: Submit then runs tasks inline).
  StartThreads(&threads_, options_.threads > 0 ? static_cast<size_t>(options_.threads) : 0,
               [this] { Loop(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  work_cv_.NotifyAll();
  for (auto& t : threads_) t.join();
}

void ThreadPool::Run(std::function<void()>& task) {
  try {
    task();
  } catch (...) {  // must not reach std::terminate: kept for failure()
    Status st = StatusFromCurrentException(options_.job_name);
    if (options_.on_failure) {
      try {
        options_.on_failure(st);
      } catch (...) {
        // Out of memory in the callback too: failure() still says what happened.
      }
    }
    MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = std::move(st);
  }
}

void ThreadPool::Submit(std::function<void()> task) {
  if (Cancelled()) return;
  if (threads_.empty()) {
    Run(task);
    return;
  }
  {
    MutexLock lock(&mu_);
    while (queue_.size() >= max_queued_) space_cv_.Wait(&mu_);
    queue_.push_back(std::move(task));
  }
  work_cv_.NotifyOne();
}

void ThreadPool::Wait() {
  MutexLock lock(&mu_);
  while (!queue_.empty() || active_ > 0) idle_cv_.Wait(&mu_);
}

Status ThreadPool::failure() {
  MutexLock lock(&mu_);
  return failure_;
}

void ThreadPool::Loop() {
  for (;;) {
    std::function<void()> task;
    // Destroyed outside the lock. Not a std::deque: making one allocates, and out of memory (a
    // ulimit -v) that threw here, outside any handler: std::terminate, a stale lock left behind.
    std::vector<std::function<void()>> dropped;
    bool wake_submitters = false;
    {
      MutexLock lock(&mu_);
      while (!stop_ && queue_.empty()) work_cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing is left to run
      if (Cancelled()) {
        try {
          dropped.reserve(queue_.size());
          for (auto& t : queue_) dropped.push_back(std::move(t));  // noexcept after reserve
        } catch (const std::bad_alloc&) {
          // Out of memory: the tasks are destroyed here, under the lock, by the clear() below.
        }
        queue_.clear();
        wake_submitters = true;
      } else {
        task = std::move(queue_.front());
        queue_.pop_front();
        wake_submitters = queue_.size() == max_queued_ / 2;
        ++active_;
      }
    }
    if (wake_submitters) space_cv_.NotifyAll();
    if (!task) {
      idle_cv_.NotifyAll();  // the queue was emptied and this thread runs nothing
      continue;
    }
    Run(task);
    task = nullptr;  // what the task holds goes before the pool counts it done
    bool idle;
    {
      MutexLock lock(&mu_);
      --active_;
      idle = queue_.empty() && active_ == 0;
    }
    if (idle) idle_cv_.NotifyAll();
  }
}

}  // namespace lifeboat
