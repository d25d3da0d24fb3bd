#include "util/parallel_for.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "util/thread_start.h"

namespace lifeboat {

void ParallelFor(size_t n, int workers, const std::atomic<bool>* cancel,
                 const std::function<void(size_t)>& fn) {
  ParallelForWhile(n, workers, cancel, [&](size_t i) {
    fn(i);
    return true;
  });
}

void ParallelForWhile(size_t n, int workers, const std::atomic<bool>* cancel,
                      const std::function<bool(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::exception_ptr failure;  // guarded by mu: the first exception fn threw on a thread
  auto run = [&] {
    while (!stop && !IsCancelled(cancel)) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      if (!fn(i)) stop = true;
    }
  };
  size_t threads = std::min<size_t>(static_cast<size_t>(std::max(workers, 1)), n);
  if (threads <= 1) {
    run();
    return;
  }
  auto guarded = [&] {
    try {
      run();
    } catch (...) {  // must not escape the thread (std::terminate): rethrown below
      stop = true;
      std::lock_guard lock(mu);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads);
  StartThreads(&pool, threads, guarded);  // fewer under a process or memory limit
  if (pool.empty()) guarded();  // not even one: the caller's thread does the work
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

Status ParallelForUntilError(size_t n, int workers, const std::function<Status(size_t)>& fn) {
  std::mutex mu;
  Status first_error;  // guarded by mu
  try {
    ParallelForWhile(n, workers, /*cancel=*/nullptr, [&](size_t i) {
      Status st = fn(i);
      if (st.ok()) return true;
      std::lock_guard lock(mu);
      if (first_error.ok()) first_error = std::move(st);
      return false;
    });
  } catch (const std::bad_alloc&) {
    return Status::Unavailable("out of memory (a memory limit such as ulimit -v is too low)");
  }
  return first_error;
}

}  // namespace lifeboat
