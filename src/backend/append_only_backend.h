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

#include "backend/forwarding_backend.h"

namespace lifeboat {

// Every call but Remove is forwarded unchanged, SaveParts and LoadInto included (packs are written
// without joining their parts). Thread-safe as far as the inner backend is.
class AppendOnlyBackend : public ForwardingBackend {
 public:
  // Owns `inner`. `reason` completes "refusing to remove <object>: ..." in the error.
  AppendOnlyBackend(std::unique_ptr<Backend> inner, std::string reason)
      : ForwardingBackend(std::move(inner)), reason_(std::move(reason)) {}

  // Locks are the only objects an append-only client removes (its own, when refreshing or
  // releasing, and stale ones on `unlock`): they hold no data. Everything else: FailedPrecondition.
  Status Remove(const ObjectHandle& h) override;

 private:
  const std::string reason_;
};

}  // namespace lifeboat
