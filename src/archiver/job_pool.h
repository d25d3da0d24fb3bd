// JobPool: a fixed set of threads running jobs from a bounded queue (the backup's file readers).
//
//   JobPool pool(4, /*max_queued=*/64, [&](const Status& st) { Fail(st); });
//   pool.Submit([&] { ReadFile(path); });   // blocks while 64 jobs wait
//
// Submit blocks while the queue is full and resumes once it has drained to half: the walker that
// submits is woken once per max_queued/2 jobs, not once per job (kernel tree backup: 100k
// context switches -> 11k, 0.4 s). Jobs run in submission order, on any of the threads.
//
// Failures: when the system refuses to start a thread (std::system_error, EAGAIN under a process
// or memory limit) the pool runs with the threads it has; with none, Submit runs each job in the
// caller's thread. A job that throws (std::bad_alloc) is caught on its thread and reported to
// `on_failure` as a Status; the thread carries on with the next job. The destructor runs the
// jobs still queued, then joins the threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "util/status.h"
#include "util/thread_start.h"

namespace lifeboat {

class JobPool {
 public:
  JobPool(int threads, size_t max_queued, std::function<void(const Status&)> on_failure);
  ~JobPool();
  JobPool(const JobPool&) = delete;
  JobPool& operator=(const JobPool&) = delete;

  // Queues a job (or, with no threads, runs it now). Thread-safe; may block.
  void Submit(std::function<void()> job);
  // How many threads were started (may be fewer than asked for; 0: jobs run in Submit).
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop();
  void Run(std::function<void()>& job);  // runs one job, turning an exception into on_failure_

  const size_t max_queued_;
  const std::function<void(const Status&)> on_failure_;
  std::mutex mu_;
  std::condition_variable cv_, space_cv_;
  std::deque<std::function<void()>> jobs_;  // GUARDED_BY(mu_)
  bool stop_ = false;                       // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace lifeboat
