#include "util/buffer_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace lifeboat {
namespace {

// Returns the whole pages of buffer's capacity past its size to the system and says how many
// bytes of it remain backed. Only pages inside the allocation are released; the allocator's own
// bookkeeping lies before data(), so it is never touched, and a released page reads as zeros
// when it is used again.
size_t ReleaseUnusedPages(Bytes& buffer) {
  static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(buffer.data());
  const uintptr_t used_end = (begin + buffer.size() + page - 1) & ~(page - 1);
  const uintptr_t end = (begin + buffer.capacity()) & ~(page - 1);
  if (end > used_end) {
    // Advice only: if it fails, the pages simply stay.
    (void)::madvise(reinterpret_cast<void*>(used_end), end - used_end, MADV_DONTNEED);
    return used_end - begin;
  }
  return buffer.capacity();
}

}  // namespace

Bytes BufferPool::Take(size_t capacity) {
  {
    MutexLock lock(&mu_);
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i) {
      size_t have = free_[i].buffer.capacity();
      if (have >= capacity && (best == free_.size() || have < free_[best].buffer.capacity()))
        best = i;
    }
    if (best < free_.size()) {
      std::swap(free_[best], free_.back());
      Entry e = std::move(free_.back());
      free_.pop_back();
      pooled_ -= e.resident;
      return std::move(e.buffer);
    }
  }
  Bytes b;
  b.reserve(capacity);
  return b;
}

void BufferPool::Give(Bytes buffer) {
  if (buffer.capacity() < kMinPooledCapacity) return;
  {
    MutexLock lock(&mu_);
    if (pooled_ + buffer.size() > max_bytes_) return;  // no room: the buffer is freed on return
  }
  const size_t resident = ReleaseUnusedPages(buffer);  // outside the lock: a system call
  buffer.clear();
  MutexLock lock(&mu_);
  if (pooled_ + resident > max_bytes_) return;
  pooled_ += resident;
  free_.push_back(Entry{std::move(buffer), resident});
}

size_t BufferPool::pooled_bytes() const {
  MutexLock lock(&mu_);
  return pooled_;
}

}  // namespace lifeboat
