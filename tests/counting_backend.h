// CountingBackend (tests): forwards every call and counts the reads of pack objects and the
// bytes they returned, so a test can prove that a remote site is asked few times (one ranged read
// per run of neighbouring blobs, one whole-pack read per tree pack) and serves each byte about
// once.
//
//   auto backend = std::make_unique<CountingBackend>(memory_backend);
//   ... Repository::Open(std::move(backend), ...) ... restore ...
//   EXPECT_LE(counting->pack_reads, 6);
//
// Thread-safe: the counters are atomic; LoadInto goes through Load so both are counted.
#pragma once

#include <atomic>

#include "backend/forwarding_backend.h"

namespace lifeboat {

class CountingBackend : public ForwardingBackend {
 public:
  explicit CountingBackend(Backend* inner) : ForwardingBackend(inner) {}
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    if (h.type == ObjectType::kPack) pack_reads++;
    Result<Bytes> loaded = ForwardingBackend::Load(h, offset, length);
    if (h.type == ObjectType::kPack && loaded.ok()) pack_bytes += loaded->size();
    return loaded;
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return LoadIntoThroughLoad(h, offset, length, out);
  }
  std::atomic<int> pack_reads{0};
  std::atomic<uint64_t> pack_bytes{0};
};

}  // namespace lifeboat
