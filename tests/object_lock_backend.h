// Test support: S3 Object Lock imitated over any backend, so that prune and forget can be tested
// against a lock without an S3 server (the real one is tested on RGW: prune_object_lock_test).
//
//   ObjectLockTable locks;                 // outlives every backend that uses it
//   ManualClock clock;
//   auto be = std::make_unique<ObjectLockBackend>(std::move(inner), &locks, kDayNs, &clock);
//   ...every object saved through `be` is locked for a day of clock's wall time...
//
// As the S3 backend with s3.object-lock-days: each object saved through it, except lock files,
// is locked for `period_ns` from the clock's wall time at the save; Remove of a locked object is
// refused with PermissionDenied ("... locked (Object Lock, GOVERNANCE) until DATE ...") and
// leaves it; Stat reports ObjectInfo::retain_until_ns; Hints().object_lock announces the lock
// unless `advertise` is false (like a bucket whose default retention Lifeboat was not told about:
// refusals still come, and Stat still reports them). Objects stored before, or through another
// backend on the same storage, are not locked. The table is shared, so a test can open the
// repository again and find its objects still locked.
//
// Thread safety: as thread-safe as the inner backend; the table has its own mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "backend/forwarding_backend.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat::testing {

// Which objects are locked until when (wall ns). Thread-safe.
class ObjectLockTable {
 public:
  void Lock(const ObjectHandle& h, int64_t until_ns) EXCLUDES(mu_);
  // 0 when h was never locked.
  int64_t Until(const ObjectHandle& h) const EXCLUDES(mu_);
  // Objects of `type` locked at some point (for tests to count what was kept).
  size_t Count(ObjectType type) const EXCLUDES(mu_);

 private:
  static std::string Key(const ObjectHandle& h);
  mutable Mutex mu_;
  std::map<std::string, int64_t> until_ GUARDED_BY(mu_);
};

class ObjectLockBackend : public ForwardingBackend {
 public:
  // Does not own `table` or `clock`; both must outlive it.
  ObjectLockBackend(std::unique_ptr<Backend> inner, ObjectLockTable* table, int64_t period_ns,
                    const Clock* clock, bool advertise = true);

  Status Save(const ObjectHandle& h, ByteView data) override;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status Remove(const ObjectHandle& h) override;
  BackendHints Hints() const override;

  // Removals refused so far (for tests that check nothing locked was even attempted).
  int refused() const { return refused_.load(); }

 private:
  void LockIfSaved(const ObjectHandle& h, const Status& saved);

  ObjectLockTable* const table_;
  const int64_t period_ns_;
  const Clock* const clock_;
  const bool advertise_;
  std::atomic<int> refused_{0};
};

}  // namespace lifeboat::testing
