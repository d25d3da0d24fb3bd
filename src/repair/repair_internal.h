// Helpers shared by the three repairs (not part of the module's API).
#pragma once

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "repair/repair.h"
#include "util/parallel_for.h"

namespace lifeboat::repair_internal {

// Every object of `type` in the backend, sorted by name.
inline Result<std::vector<ObjectInfo>> ListObjects(Backend& backend, ObjectType type) {
  std::vector<ObjectInfo> out;
  LB_RETURN_IF_ERROR(backend.List(type, "", [&](const ObjectInfo& info) {
    out.push_back(info);
    return Status::Ok();
  }));
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.name < b.name; });
  return out;
}

// OK for a dry run; otherwise the lock must be held and fresh. `step` names what comes next.
inline Status CheckLock(const RepositoryLock* lock, const Context& ctx,
                        const std::string& step) {
  if (ctx.done()) {
    Status st = ctx.Check("repair");
    return Status(st.code(), st.message() + " before " + step);
  }
  if (!lock) return Status::Ok();
  return lock->Check().WithContext("before " + step);
}

struct BlobRefHash {
  size_t operator()(const BlobRef& r) const { return IdHash()(r.id) ^ static_cast<size_t>(r.type); }
};

inline Status RequireLock(const RepositoryLock* lock, bool dry_run, const char* what) {
  if (lock || dry_run) return Status::Ok();
  return Status::InvalidArgument(std::string(what) +
                                 " changes the repository and needs its exclusive lock (only a "
                                 "dry run can go without)");
}

}  // namespace lifeboat::repair_internal
