#include "backend/append_only_backend.h"

namespace lifeboat {

Status AppendOnlyBackend::Remove(const ObjectHandle& h) {
  if (h.type == ObjectType::kLock) return ForwardingBackend::Remove(h);
  return Status::FailedPrecondition("refusing to remove " + std::string(ObjectTypeName(h.type)) +
                                    " " + h.name + ": " + reason_);
}

}  // namespace lifeboat
