// The restorer's machinery for running work: a bounded pool of threads, an LRU cache of
// decoded blobs, and the thread that reports progress. Internal to the restorer.
//
//   restore::TaskPool pool(workers, /*capacity=*/4 * workers);
//   pool.Submit([&] { RestoreOneJob(); });  // blocks while the queue is full
//   pool.Wait();                            // every submitted task has finished
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "restorer/restorer.h"
#include "util/bytes.h"
#include "util/id.h"

namespace lifeboat::restore {

constexpr auto kProgressInterval = std::chrono::milliseconds(250);

// A fixed pool of threads running tasks from a bounded queue. Submit blocks while it is full.
class TaskPool {
 public:
  TaskPool(int threads, size_t capacity) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~TaskPool() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Submit(std::function<void()> task) {
    std::unique_lock l(mu_);
    space_cv_.wait(l, [&] { return queue_.size() < capacity_; });
    queue_.push_back(std::move(task));
    work_cv_.notify_one();
  }
  // Blocks until every submitted task has finished.
  void Wait() {
    std::unique_lock l(mu_);
    idle_cv_.wait(l, [&] { return queue_.empty() && active_ == 0; });
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock l(mu_);
        work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
        ++active_;
      }
      space_cv_.notify_one();
      task();
      {
        std::lock_guard l(mu_);
        --active_;
        if (queue_.empty() && active_ == 0) idle_cv_.notify_all();
      }
    }
  }

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable work_cv_, space_cv_, idle_cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  size_t active_ = 0;                        // GUARDED_BY(mu_)
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

// Least-recently-used cache of decoded blobs, bounded in bytes. Thread-safe.
class BlobCache {
 public:
  explicit BlobCache(size_t capacity) : capacity_(capacity) {}
  std::shared_ptr<const Bytes> Get(const Id& id) {
    std::lock_guard l(mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  void Put(const Id& id, std::shared_ptr<const Bytes> data) {
    if (data->size() > capacity_ / 4) return;
    std::lock_guard l(mu_);
    if (map_.count(id)) return;
    size_ += data->size();
    lru_.emplace_front(id, std::move(data));
    map_[id] = lru_.begin();
    while (size_ > capacity_ && !lru_.empty()) {
      size_ -= lru_.back().second->size();
      map_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::list<std::pair<Id, std::shared_ptr<const Bytes>>> lru_;    // GUARDED_BY(mu_), newest first
  std::unordered_map<Id, decltype(lru_)::iterator, IdHash> map_;  // GUARDED_BY(mu_)
  size_t size_ = 0;                                               // GUARDED_BY(mu_)
};

// Calls `fn` with `snapshot()` every kProgressInterval on its own thread, and once more with
// final = true from Stop().
class ProgressReporter {
 public:
  ProgressReporter(std::function<void(const RestoreProgress&)> fn,
                   std::function<RestoreProgress()> snapshot)
      : fn_(std::move(fn)), snapshot_(std::move(snapshot)) {
    if (!fn_) return;
    thread_ = std::thread([this] {
      std::unique_lock l(mu_);
      while (!stop_) {
        if (cv_.wait_for(l, kProgressInterval, [&] { return stop_; })) break;
        l.unlock();
        fn_(snapshot_());
        l.lock();
      }
      l.unlock();
      RestoreProgress p = snapshot_();
      p.final = true;
      fn_(p);
    });
  }
  ~ProgressReporter() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::function<void(const RestoreProgress&)> fn_;
  std::function<RestoreProgress()> snapshot_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace lifeboat::restore
