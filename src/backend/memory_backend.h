// MemoryBackend: a Backend held in process memory, for tests. Same contract as LocalBackend
// (names validated with ValidateObjectHandle, no overwrite, ranged loads, prefix listing), but
// nothing survives the process.
//
//   MemoryBackend be;
//   LB_RETURN_IF_ERROR(be.Save({ObjectType::kPack, id}, bytes));
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "backend/backend.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class MemoryBackend : public Backend {
 public:
  MemoryBackend() = default;

  // "memory:".
  std::string Location() const override;

  // The Backend contract. Thread-safe: one mutex guards the object map; Save copies `data`,
  // Load returns a copy. List collects the matching entries under the lock and calls fn after
  // releasing it, so fn may call back into the backend. Never blocks on I/O.
  Status Save(const ObjectHandle& h, ByteView data) override;
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Stat(const ObjectHandle& h) override;
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override;
  Status Remove(const ObjectHandle& h) override;

  // Test hook: stores `data` under `h` even if the object exists (e.g. to simulate corruption or a
  // truncated upload). Bypasses the no-overwrite rule but not name validation.
  Status ReplaceForTesting(const ObjectHandle& h, ByteView data);
  // Number of stored objects of all types. Thread-safe.
  size_t ObjectCount() const;

 private:
  using Key = std::pair<ObjectType, std::string>;
  static Key KeyOf(const ObjectHandle& h);

  mutable Mutex mu_;
  std::map<Key, Bytes> objects_ GUARDED_BY(mu_);
};

}  // namespace lifeboat
