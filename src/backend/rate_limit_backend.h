// RateLimitBackend: a decorator that limits the bytes per second sent to and received from its
// inner backend (restic's --limit-upload / --limit-download, which are in KiB/s: multiply by 1024).
//
//   RateLimitOptions o; o.upload_bytes_per_second = 512 * 1024; o.context = job_context;
//   auto be = std::make_unique<RateLimitBackend>(std::move(inner), o);
//
// Each direction is a token bucket shared by all threads: it holds at most one second's worth of
// bytes (the burst), refills at the configured rate, and a call that takes more than it holds
// goes into debt and waits until the debt is paid, so over any long interval the bytes moved are
// at most rate * interval + one second's worth, whatever the number of threads. Calls queue
// behind earlier debt in the order they took their bytes.
//  - Save and SaveParts take the object's size from the upload bucket BEFORE calling the inner
//    backend (the bytes go out after the wait).
//  - Load and LoadInto take the size of what was loaded from the download bucket AFTER the inner
//    call (the size of a "to the end" load is known only then) and return after the wait.
//  - Stat, List and Remove move no object bytes and are not limited.
// A limit of 0 leaves that direction unlimited (no waiting, no clock reads).
// Waits are on `context`'s clock (tests inject a ManualClock, util/clock.h, and never sleep for
// real) and end early when the context is done: the call then returns the context's error
// (Cancelled or DeadlineExceeded) naming the call; a Save interrupted so has not been passed on,
// a Load's data is dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "backend/forwarding_backend.h"
#include "util/context.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct RateLimitOptions {
  // Bytes per second saved (upload) and loaded (download); 0 = unlimited.
  uint64_t upload_bytes_per_second = 0;
  uint64_t download_bytes_per_second = 0;
  // Clock of the buckets and of the waits, and what ends a wait early. It and its cancel flag and
  // clock must outlive the backend.
  Context context = {};
};

class RateLimitBackend : public ForwardingBackend {
 public:
  // Takes ownership of `inner`.
  RateLimitBackend(std::unique_ptr<Backend> inner, RateLimitOptions options);

  // The Backend contract, limited as described above. Thread-safe if the inner backend is (the
  // buckets are behind a mutex, never held during a wait or an inner call). Blocks while waiting.
  Status Save(const ObjectHandle& h, ByteView data) override;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;

 private:
  // One direction's bucket, kept as the time its debt is paid off (a "theoretical arrival time"):
  // the bucket holds (now - paid_off_ns) worth of bytes, at most one second's worth; a Take that
  // pushes paid_off_ns past now waits until then.
  class Bucket {
   public:
    explicit Bucket(uint64_t bytes_per_second) : bytes_per_second_(bytes_per_second) {}
    bool unlimited() const { return bytes_per_second_ == 0; }
    // Takes `bytes` at monotonic time `now_ns`; returns the monotonic time until which the
    // caller must wait (<= now_ns: no wait).
    int64_t Take(uint64_t bytes, int64_t now_ns);

   private:
    const uint64_t bytes_per_second_;
    Mutex mu_;
    int64_t paid_off_ns_ GUARDED_BY(mu_) = INT64_MIN;
  };

  // Takes `bytes` from `bucket` and waits as it says. OK, or the context's error naming `what`.
  Status Throttle(Bucket& bucket, uint64_t bytes, std::string_view what);

  const Context context_;
  Bucket upload_;
  Bucket download_;
};

}  // namespace lifeboat
