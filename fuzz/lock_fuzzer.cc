// Fuzzes lock objects (doc/repository-format.md §10). The lock decoder is internal to lock.cc, so
// this goes through the public path that reads other processes' locks: ListLocks (load, verify,
// open, decode, staleness) and RemoveLocks, on an in-memory repository.
//
// Modes (byte 0 % 2):
//   0 plain: lock JSON, stored as a lock object sealed with the repository's key -> ListLocks
//   1 raw:   the stored bytes of a lock object (named by their SHA-256) -> ListLocks
// Invariants: listing never fails because of one bad lock (an unreadable lock is reported as
// stale so `unlock` can remove it); RemoveLocks(all=false) removes exactly the stale ones.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/memory_backend.h"
#include "fuzz/fuzz_common.h"
#include "repository/lock.h"
#include "repository/repository.h"

namespace lifeboat {
namespace {

struct Fixture {
  MemoryBackend* backend = nullptr;  // owned by repo
  std::unique_ptr<Repository> repo;
};

Fixture& TheFixture() {
  static Fixture* f = [] {
    auto* fx = new Fixture;
    auto backend = std::make_unique<MemoryBackend>();
    fx->backend = backend.get();
    InitOptions options;
    options.kdf = KdfParams{16, 1, 1};  // fast: the key file is not what this target is about
    auto repo = Repository::Init(std::move(backend), "fuzz-password", options);
    if (!repo.ok()) fuzz::Fail(repo.status().message().c_str(), __FILE__, __LINE__);
    fx->repo = std::move(*repo);
    return fx;
  }();
  return *f;
}

// Lists and removes the one lock in the repository, `name`, which the caller has just saved.
void CheckListAndRemove(const std::string& name) {
  Fixture& fx = TheFixture();
  // A fixed clock (2026-01-01T00:00:00Z) keeps staleness a function of the input alone (apart
  // from the pid check, which asks the kernel whether a process exists on this host).
  static ManualClock fixed(int64_t{1767225600} * 1000000000, /*auto_advance=*/false);
  LockOptions options;
  options.clock = &fixed;
  auto locks = ListLocks(*fx.repo, options);
  FUZZ_CHECK(locks.ok());
  FUZZ_CHECK(locks->size() == 1);
  const LockInfo& info = (*locks)[0];
  FUZZ_CHECK(info.name == name);
  if (info.stale) FUZZ_CHECK(!info.stale_reason.empty());

  // RemoveLocks lists again. Staleness by age or unreadability cannot change in between; by a
  // dead pid it could (another process may start or exit meanwhile), so that case is not checked.
  auto removed = RemoveLocks(*fx.repo, /*all=*/false, options);
  FUZZ_CHECK(removed.ok());
  FUZZ_CHECK(*removed == 0 || *removed == 1);
  bool pid_checked = info.hostname == Hostname() && info.pid > 0;
  bool deterministic = !pid_checked || info.stale_reason.rfind("not refreshed", 0) == 0;
  if (deterministic) FUZZ_CHECK(*removed == (info.stale ? 1 : 0));
  if (*removed == 0) FUZZ_CHECK(fx.backend->Remove({ObjectType::kLock, name}).ok());
  FUZZ_CHECK(!fx.backend->Stat({ObjectType::kLock, name}).ok());
}

void FuzzPlain(ByteView json) {
  auto id = TheFixture().repo->SaveUnpacked(ObjectType::kLock, json);
  FUZZ_CHECK(id.ok());
  CheckListAndRemove(id->Hex());
}

void FuzzRaw(ByteView stored) {
  std::string name = HexEncode(crypto::Sha256(stored));
  FUZZ_CHECK(TheFixture().backend->Save({ObjectType::kLock, name}, stored).ok());
  CheckListAndRemove(name);
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzPlain, FuzzRaw});
}
