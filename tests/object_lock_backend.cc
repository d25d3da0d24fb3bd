#include "object_lock_backend.h"

#include "backend/object_lock.h"

namespace lifeboat::testing {

std::string ObjectLockTable::Key(const ObjectHandle& h) {
  return std::string(ObjectTypeName(h.type)) + "/" + h.name;
}

void ObjectLockTable::Lock(const ObjectHandle& h, int64_t until_ns) {
  MutexLock lock(&mu_);
  until_[Key(h)] = until_ns;
}

int64_t ObjectLockTable::Until(const ObjectHandle& h) const {
  MutexLock lock(&mu_);
  auto it = until_.find(Key(h));
  return it == until_.end() ? 0 : it->second;
}

size_t ObjectLockTable::Count(ObjectType type) const {
  const std::string prefix = std::string(ObjectTypeName(type)) + "/";
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, until] : until_) n += key.rfind(prefix, 0) == 0;
  return n;
}

ObjectLockBackend::ObjectLockBackend(std::unique_ptr<Backend> inner, ObjectLockTable* table,
                                     int64_t period_ns, const Clock* clock, bool advertise)
    : ForwardingBackend(std::move(inner)),
      table_(table),
      period_ns_(period_ns),
      clock_(clock),
      advertise_(advertise) {}

void ObjectLockBackend::LockIfSaved(const ObjectHandle& h, const Status& saved) {
  if (saved.ok() && h.type != ObjectType::kLock) table_->Lock(h, clock_->WallNs() + period_ns_);
}

Status ObjectLockBackend::Save(const ObjectHandle& h, ByteView data) {
  Status st = ForwardingBackend::Save(h, data);
  LockIfSaved(h, st);
  return st;
}

Status ObjectLockBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  Status st = ForwardingBackend::SaveParts(h, parts);
  LockIfSaved(h, st);
  return st;
}

Result<ObjectInfo> ObjectLockBackend::Stat(const ObjectHandle& h) {
  LB_ASSIGN_OR_RETURN(ObjectInfo info, ForwardingBackend::Stat(h));
  if (int64_t until = table_->Until(h); until != 0) info.retain_until_ns = until;
  return info;
}

Status ObjectLockBackend::Remove(const ObjectHandle& h) {
  if (int64_t until = table_->Until(h); until > clock_->WallNs()) {
    LB_RETURN_IF_ERROR(ForwardingBackend::Stat(h).status());  // a missing object is NotFound
    refused_++;
    return Status::PermissionDenied("removing " + DescribeObject(h) +
                                    ": the object is locked (Object Lock, GOVERNANCE) until " +
                                    FormatLockTime(until) + "; it cannot be removed before then");
  }
  return ForwardingBackend::Remove(h);
}

BackendHints ObjectLockBackend::Hints() const {
  BackendHints hints = ForwardingBackend::Hints();
  if (advertise_)
    hints.object_lock =
        ObjectLockHint{std::chrono::seconds(period_ns_ / 1'000'000'000), "GOVERNANCE"};
  return hints;
}

}  // namespace lifeboat::testing
