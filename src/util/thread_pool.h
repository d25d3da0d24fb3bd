// ThreadPool: a fixed set of threads running tasks from a bounded queue. The backup's file
// readers and the restore's content writers and verifiers run on one.
//
//   ThreadPoolOptions o; o.threads = 4; o.max_queued = 16; o.job_name = "a restore job";
//   ThreadPool pool(o);
//   pool.Submit([&] { WriteRange(file, begin, end); });  // blocks while 16 tasks wait
//   pool.Wait();                                         // every submitted task has finished
//   if (!pool.failure().ok()) ...                        // a task threw (out of memory)
//
// Threads: `threads` are asked for; when the system refuses to start one (std::system_error, EAGAIN
// under a process or memory limit) the pool runs with those it has, and with none, Submit runs each
// task in the caller's thread before it returns. Tasks run in submission order, on any thread.
//
// Queue: Submit blocks while `max_queued` tasks wait, and resumes once the queue has drained to
// half: a thread that submits many small tasks is woken once per max_queued/2 of them, not once
// per task (kernel tree backup: 100k context switches -> 11k, 0.4 s).
//
// Failures: a task that throws (std::bad_alloc; tasks should not throw otherwise) is caught on its
// thread and turned into a Status by StatusFromCurrentException ("out of memory in <job_name>");
// the first is kept for failure(), each is passed to `on_failure` when set, and the pool carries on
// with the next task. An exception never reaches std::terminate.
//
// Cancellation: once *cancel is set, tasks not yet started are dropped, and Submit drops the tasks
// it is given. Use it only for tasks whose skipping needs no clean-up: tasks that must always run
// (they release what they hold, or count themselves done) leave cancel null and check for
// cancellation themselves.
//
// Destruction runs the tasks still queued (not the dropped ones), then joins the threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "util/mutex.h"
#include "util/status.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct ThreadPoolOptions {
  int threads = 1;         // asked for; <= 0: none, every task runs in Submit's caller
  size_t max_queued = 1;   // tasks waiting to start before Submit blocks; 0 counts as 1
  // Names a task in failures: "out of memory in a restore job".
  const char* job_name = "a job";
  // Called with each task's failure, on that task's thread, holding no lock of the pool. Must be
  // thread-safe. Null: failures are only kept for failure().
  std::function<void(const Status&)> on_failure;
  // Set (by a signal handler or another thread) to drop the tasks not yet started. Null = never.
  const std::atomic<bool>* cancel = nullptr;
};

class ThreadPool {
 public:
  explicit ThreadPool(ThreadPoolOptions options);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues a task, blocking while the queue is full; with no threads, runs it now. Thread-safe.
  void Submit(std::function<void()> task) EXCLUDES(mu_);
  // Blocks until every submitted task has finished (or was dropped by cancellation). Tasks may
  // be submitted meanwhile by other threads; Wait returns at a moment when none is left.
  void Wait() EXCLUDES(mu_);
  // The first failure of a task, as a Status (OK when none failed). A caller whose tasks must all
  // complete (a task stopped part-way through its file) has failed when this is not OK.
  Status failure() EXCLUDES(mu_);
  // How many threads were started (may be fewer than asked for; 0: tasks run in Submit).
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void Loop() EXCLUDES(mu_);
  void Run(std::function<void()>& task) EXCLUDES(mu_);  // exceptions become failures
  bool Cancelled() const { return options_.cancel && options_.cancel->load(); }

  const ThreadPoolOptions options_;
  const size_t max_queued_;
  Mutex mu_;
  CondVar work_cv_;   // a task is queued, or the pool is stopping
  CondVar space_cv_;  // the queue has drained to half
  CondVar idle_cv_;   // the queue is empty and no task runs
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  size_t active_ GUARDED_BY(mu_) = 0;  // tasks running on the pool's threads
  bool stop_ GUARDED_BY(mu_) = false;
  Status failure_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_;  // set in the constructor, joined in the destructor
};

}  // namespace lifeboat
