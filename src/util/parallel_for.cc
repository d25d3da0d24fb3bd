#include "util/parallel_for.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

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
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) pool.emplace_back(run);
  for (auto& t : pool) t.join();
}

Status ParallelForUntilError(size_t n, int workers, const std::function<Status(size_t)>& fn) {
  std::mutex mu;
  Status first_error;  // GUARDED_BY(mu)
  ParallelForWhile(n, workers, /*cancel=*/nullptr, [&](size_t i) {
    Status st = fn(i);
    if (st.ok()) return true;
    std::lock_guard lock(mu);
    if (first_error.ok()) first_error = std::move(st);
    return false;
  });
  return first_error;
}

}  // namespace lifeboat
