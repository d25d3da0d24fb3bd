#include "backend/forwarding_backend.h"

#include <utility>

namespace lifeboat {

ForwardingBackend::ForwardingBackend(std::unique_ptr<Backend> inner)
    : owned_(std::move(inner)), inner_(owned_.get()) {}

ForwardingBackend::ForwardingBackend(Backend* inner) : inner_(inner) {}

std::string ForwardingBackend::Location() const { return inner_->Location(); }
BackendHints ForwardingBackend::Hints() const { return inner_->Hints(); }

Status ForwardingBackend::Save(const ObjectHandle& h, ByteView data) {
  return inner_->Save(h, data);
}

Status ForwardingBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  return inner_->SaveParts(h, parts);
}

Result<Bytes> ForwardingBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  return inner_->Load(h, offset, length);
}

Status ForwardingBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                                   Bytes* out) {
  return inner_->LoadInto(h, offset, length, out);
}

Result<ObjectInfo> ForwardingBackend::Stat(const ObjectHandle& h) { return inner_->Stat(h); }

Status ForwardingBackend::List(ObjectType type, std::string_view prefix,
                               const std::function<Status(const ObjectInfo&)>& fn) {
  return inner_->List(type, prefix, fn);
}

Status ForwardingBackend::Remove(const ObjectHandle& h) { return inner_->Remove(h); }

}  // namespace lifeboat
