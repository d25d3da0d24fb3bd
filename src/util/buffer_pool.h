// BufferPool: recycles large byte buffers between the stages of a pipeline. In a backup the reader
// takes a buffer for each chunk and the saver gives it back once the chunk is encoded; a pack
// gives back its blobs' buffers once it is stored. A buffer that comes back keeps the pages it
// used, so the next user writes to memory the process already has instead of faulting in and
// zeroing fresh pages (before the pool, that was the largest kernel cost of a first backup).
//
//   BufferPool pool(16u << 20);
//   Bytes chunk = pool.Take(8u << 20);   // empty, capacity >= 8 MiB
//   ...
//   pool.Give(std::move(chunk));
//
// Memory: a returned buffer keeps only the pages its last contents covered (the rest of its
// capacity goes back to the system), so a buffer reserved for the largest chunk but used for a
// small one does not stay large in memory. The pool holds at most max_bytes of such pages;
// buffers beyond that, and buffers under kMinPooledCapacity (the allocator recycles small blocks
// well by itself), are freed. Thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "util/bytes.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class BufferPool {
 public:
  static constexpr size_t kMinPooledCapacity = 256u << 10;

  explicit BufferPool(size_t max_bytes) : max_bytes_(max_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // An empty buffer whose capacity is at least `capacity`: the smallest pooled one that fits,
  // or a new one.
  Bytes Take(size_t capacity);

  // Hands a buffer back; its contents are discarded.
  void Give(Bytes buffer);

  // Memory the pooled buffers hold right now (the pages each one kept).
  size_t pooled_bytes() const;

 private:
  struct Entry {
    Bytes buffer;
    size_t resident;  // bytes of the buffer still backed by memory
  };
  const size_t max_bytes_;
  mutable Mutex mu_;
  std::vector<Entry> free_ GUARDED_BY(mu_);
  size_t pooled_ GUARDED_BY(mu_) = 0;  // sum of free_[i].resident
};

}  // namespace lifeboat
