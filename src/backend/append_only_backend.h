// AppendOnlyBackend: a decorator that refuses to remove anything but lock objects. The repository
// puts it under itself when the repository or the key that opened it is append-only, so no code
// path (forget, prune, repair, key remove) can delete history through this process.
//
//   backend = std::make_unique<AppendOnlyBackend>(std::move(backend), "the key is append-only");
//
// This is a client-side guard: whoever can write to the storage directly can still delete. Real
// protection needs storage that refuses deletes for the backup credentials (doc/append-only.md).
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace lifeboat {

class AppendOnlyBackend : public Backend {
 public:
  // `reason` completes "refusing to remove <object>: ..." in the error.
  AppendOnlyBackend(std::unique_ptr<Backend> inner, std::string reason)
      : inner_(std::move(inner)), reason_(std::move(reason)) {}

  std::string Location() const override { return inner_->Location(); }
  Status Save(const ObjectHandle& h, ByteView data) override { return inner_->Save(h, data); }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    return inner_->SaveParts(h, parts);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    return inner_->Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return inner_->LoadInto(h, offset, length, out);
  }
  Result<ObjectInfo> Stat(const ObjectHandle& h) override { return inner_->Stat(h); }
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(type, prefix, fn);
  }
  // Locks are the only objects an append-only client removes (its own, when refreshing or
  // releasing, and stale ones on `unlock`): they hold no data. Everything else: FailedPrecondition.
  Status Remove(const ObjectHandle& h) override;

 private:
  std::unique_ptr<Backend> inner_;
  std::string reason_;
};

}  // namespace lifeboat
