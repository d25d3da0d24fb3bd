// The write path when the system refuses threads or memory (issue 11 item 7): BlobSaver encodes
// in the saving thread instead of ending the process; a lock whose refresh thread cannot start is
// an error, and leaves no lock behind.
#include "repository/blob_saver.h"
#include "repository/lock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cstdio>

#include "backend/memory_backend.h"
#include "util/address_space_limit_for_test.h"

namespace lifeboat {
namespace {

Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 2654435761u + seed) >> 11);
  return b;
}

// Runs in a child process (EXPECT_EXIT): the address space limit stays there.
[[noreturn]] void SaveWithoutThreads() {
  auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
  if (!repo.ok()) std::_Exit(2);
  const Bytes big = Pattern(600 << 10, 1);
  const Bytes unhashed = Pattern(500 << 10, 2);
  const Id big_id = (*repo)->codec().ComputeId(big);
  if (!LimitAddressSpaceForTest(6 << 20)) std::_Exit(0);  // cannot limit: nothing to test
  BlobSaver saver(**repo, BlobSaverOptions::WithWorkers(4));
  auto added = saver.Save(BlobType::kData, big_id, big);
  if (!added.ok() || !*added) std::_Exit(3);
  Id id;
  PendingIds pending;
  if (!saver.SaveUnhashed(BlobType::kData, unhashed, &id, &pending).ok()) std::_Exit(4);
  pending.Wait();
  if (!saver.Flush().ok()) std::_Exit(5);
  const MasterIndex& index = (*repo)->index();
  if (!index.Has(BlobType::kData, big_id) || !index.Has(BlobType::kData, id)) std::_Exit(6);
  if (id != (*repo)->codec().ComputeId(unhashed)) std::_Exit(7);
  std::_Exit(0);
}

TEST(BlobSaverTest, WithoutWorkerThreadsBlobsAreEncodedByTheCaller) {
  if (kBuiltWithAddressSanitizer) GTEST_SKIP() << kAddressSanitizerSkipReason;
  SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 1});
  EXPECT_EXIT(SaveWithoutThreads(), ::testing::ExitedWithCode(0), "");
}

[[noreturn]] void LockWithoutThreads() {
  auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
  if (!repo.ok()) std::_Exit(2);
  if (!LimitAddressSpaceForTest(6 << 20)) std::_Exit(0);
  auto lock = RepositoryLock::Acquire(**repo, LockKind::kShared, LockOptions{});
  if (lock.ok()) std::_Exit(0);  // the thread started after all: nothing to check
  int locks = 0;
  Status listed = (*repo)->backend().List(ObjectType::kLock, "", [&](const ObjectInfo&) {
    ++locks;
    return Status::Ok();
  });
  std::_Exit(listed.ok() && locks == 0 ? 0 : 3);
}

TEST(RepositoryLockTest, NoThreadForTheRefreshIsAnErrorAndLeavesNoLock) {
  if (kBuiltWithAddressSanitizer) GTEST_SKIP() << kAddressSanitizerSkipReason;
  SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 1});
  EXPECT_EXIT(LockWithoutThreads(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace lifeboat
