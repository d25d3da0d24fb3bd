// ForwardingBackend: a Backend that passes every call, unchanged, to an inner backend. It is the
// base of decorators and test doubles that change one or two calls (like leveldb's EnvWrapper):
// a subclass overrides only what it changes, and calls ForwardingBackend::X where it wants the
// call to go on to the inner backend.
//
//   class NoRemoveBackend : public ForwardingBackend {
//    public:
//     using ForwardingBackend::ForwardingBackend;
//     Status Remove(const ObjectHandle& h) override { return Status::PermissionDenied("no"); }
//   };
//   auto owning = std::make_unique<NoRemoveBackend>(std::move(inner));  // deletes inner
//   NoRemoveBackend borrowing(&shared_memory_backend);                   // leaves it alone
//
// SaveParts and LoadInto are forwarded to the inner backend's SaveParts and LoadInto, NOT routed
// through this object's Save and Load (so packs are still written without joining their parts).
// A subclass that overrides only Save therefore does not see objects saved with SaveParts (packs
// are), and one that overrides only Load does not see LoadInto (restore reads blobs with it). A
// subclass that must see every save or every load (to count, fail or alter it) overrides those
// too and routes them through its own Save / Load with the helpers below:
//
//   Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
//     return SavePartsThroughSave(h, parts);
//   }
//   Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
//     return LoadIntoThroughLoad(h, offset, length, out);
//   }
//
// Thread safety: ForwardingBackend holds no state of its own besides the inner pointer, so it is
// as thread-safe as the inner backend; subclasses document what they add.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "backend/backend.h"

namespace lifeboat {

class ForwardingBackend : public Backend {
 public:
  // Owns `inner` and deletes it with this object. REQUIRES: inner is not null.
  explicit ForwardingBackend(std::unique_ptr<Backend> inner);
  // Borrows `inner`: the caller keeps it alive for as long as this object is used (e.g. test
  // doubles that let several Repository objects share one MemoryBackend). REQUIRES: not null.
  explicit ForwardingBackend(Backend* inner);

  // Not copyable or movable: a moved-from owner would leave a copy of the inner pointer behind.
  ForwardingBackend(const ForwardingBackend&) = delete;
  ForwardingBackend& operator=(const ForwardingBackend&) = delete;

  // Each returns what the inner backend's method of the same name returns.
  std::string Location() const override;
  BackendHints Hints() const override;
  Status Save(const ObjectHandle& h, ByteView data) override;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  // The backend calls are forwarded to, owned or borrowed. Never null.
  Backend* inner() const { return inner_; }

 protected:
  // Backend's default SaveParts: joins the parts in memory and calls this->Save (the override, if
  // any). For subclasses whose Save must see every save; see the header comment.
  Status SavePartsThroughSave(const ObjectHandle& h, ByteParts parts) {
    return Backend::SaveParts(h, parts);
  }
  // Backend's default LoadInto: calls this->Load (the override, if any) and moves the result into
  // *out. For subclasses whose Load must see every load; see the header comment.
  Status LoadIntoThroughLoad(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) {
    return Backend::LoadInto(h, offset, length, out);
  }

 private:
  const std::unique_ptr<Backend> owned_;  // null when inner_ is borrowed
  Backend* const inner_;
};

}  // namespace lifeboat
