#include "backend/object_lock.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "util/parallel_for.h"

namespace lifeboat {

std::string LockedObjects::Key(const ObjectHandle& h) {
  return std::string(ObjectTypeName(h.type)) + "/" + h.name;
}

void LockedObjects::Add(const ObjectHandle& h, int64_t until_ns) {
  int64_t& until = until_[Key(h)];
  if (until_ns > until) until = until_ns;
}

bool LockedObjects::Contains(const ObjectHandle& h) const { return until_.count(Key(h)) > 0; }

int64_t LockedObjects::until_ns(const ObjectHandle& h) const {
  auto it = until_.find(Key(h));
  return it == until_.end() ? 0 : it->second;
}

Result<LockedObjects> FindLockedObjects(Backend& backend, std::span<const ObjectHandle> handles,
                                        int64_t now_ns, int workers) {
  LockedObjects out;
  if (!backend.Hints().object_lock || handles.empty()) return out;
  std::vector<int64_t> until(handles.size(), 0);
  LB_RETURN_IF_ERROR(
      ParallelForUntilError(handles.size(), std::max(workers, 1), [&](size_t i) -> Status {
        Result<ObjectInfo> info = backend.Stat(handles[i]);
        if (info.status().IsNotFound()) return Status::Ok();
        if (!info.ok())
          return info.status().WithContext("asking whether " + DescribeObject(handles[i]) +
                                           " is locked");
        if (info->retain_until_ns && *info->retain_until_ns > now_ns)
          until[i] = *info->retain_until_ns;
        return Status::Ok();
      }));
  for (size_t i = 0; i < handles.size(); ++i)
    if (until[i] > 0) out.Add(handles[i], until[i]);
  return out;
}

std::optional<int64_t> LockedUntil(Backend& backend, const ObjectHandle& h, const Status& removal,
                                   int64_t now_ns) {
  if (removal.code() != StatusCode::kPermissionDenied) return std::nullopt;
  Result<ObjectInfo> info = backend.Stat(h);
  if (!info.ok() || !info->retain_until_ns || *info->retain_until_ns <= now_ns)
    return std::nullopt;
  return *info->retain_until_ns;
}

std::string FormatLockTime(int64_t unix_ns) {
  std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace lifeboat
