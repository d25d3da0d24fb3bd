// Object Lock from the caller's side: which objects a backend keeps from removal, and until when,
// so that prune and forget can plan around them instead of failing half-way (doc/prune.md,
// "Object Lock").
//
//   LB_ASSIGN_OR_RETURN(LockedObjects locked,
//                       FindLockedObjects(backend, candidates, clock.WallNs(), workers));
//   if (locked.Contains(h)) ...keep it, say until locked.until_ns(h)...
//   Status st = backend.Remove(h);
//   if (std::optional<int64_t> until = LockedUntil(backend, h, st, clock.WallNs())) ...kept...
//
// A backend tells about its lock in two places (backend.h): BackendHints::object_lock (every
// object it writes is locked) and Stat's ObjectInfo::retain_until_ns (this object, until then).
// Thread safety: the functions may be called from any thread; they block on the backend.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "backend/backend.h"

namespace lifeboat {

// Objects under lock, each with the wall time (ns since the epoch) its lock ends.
class LockedObjects {
 public:
  void Add(const ObjectHandle& h, int64_t until_ns);
  bool Contains(const ObjectHandle& h) const;
  // The time h's lock ends; 0 when h is not locked.
  int64_t until_ns(const ObjectHandle& h) const;
  size_t size() const { return until_.size(); }
  bool empty() const { return until_.empty(); }

 private:
  static std::string Key(const ObjectHandle& h);
  std::unordered_map<std::string, int64_t> until_;
};

// The objects among `handles` whose removal `backend` would refuse at `now_ns`: Stat's
// retain_until_ns is later than now_ns. Asks only when the backend advertises a lock
// (Hints().object_lock); otherwise returns none without a request. Stats `workers` objects at once
// (at least 1). An object that is gone is not locked. Errors: the first Stat error other than
// NotFound (nothing is decided then).
Result<LockedObjects> FindLockedObjects(Backend& backend, std::span<const ObjectHandle> handles,
                                        int64_t now_ns, int workers);

// After `removal` = backend.Remove(h): the time h's lock ends when the removal was refused
// because h is locked (PermissionDenied, and Stat reports a retain_until_ns later than now_ns),
// else nullopt (removed, or refused for another reason: the caller treats it as the failure it
// is). A lock the backend did not advertise (a bucket's default retention) is recognised too.
std::optional<int64_t> LockedUntil(Backend& backend, const ObjectHandle& h, const Status& removal,
                                   int64_t now_ns);

// "2026-12-05T18:00:00Z" (UTC, to the second): how messages and JSON write a lock's end.
std::string FormatLockTime(int64_t unix_ns);

}  // namespace lifeboat
