// BlobCache: a least-recently-used cache of decoded blobs, bounded in bytes, so that blobs that
// repeat within a restore (the same chunk in many files) are loaded once. Internal to the
// restorer.
//
//   BlobCache cache(16u << 20);
//   if (auto data = cache.Get(id)) Write(*data); else cache.Put(id, Load(id));
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <unordered_map>
#include <utility>

#include "util/bytes.h"
#include "util/id.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat::restore {

// Thread-safe. Blobs larger than a quarter of the capacity are not kept.
class BlobCache {
 public:
  explicit BlobCache(size_t capacity) : capacity_(capacity) {}
  // The blob, or null when it is not cached.
  std::shared_ptr<const Bytes> Get(const Id& id) EXCLUDES(mu_) {
    MutexLock l(&mu_);
    auto it = map_.find(id);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  void Put(const Id& id, std::shared_ptr<const Bytes> data) EXCLUDES(mu_) {
    if (data->size() > capacity_ / 4) return;
    MutexLock l(&mu_);
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
  using Entries = std::list<std::pair<Id, std::shared_ptr<const Bytes>>>;

  const size_t capacity_;
  Mutex mu_;
  Entries lru_ GUARDED_BY(mu_);  // newest first
  std::unordered_map<Id, Entries::iterator, IdHash> map_ GUARDED_BY(mu_);
  size_t size_ GUARDED_BY(mu_) = 0;
};

}  // namespace lifeboat::restore
