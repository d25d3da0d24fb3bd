// Prune and forget on a real S3 Object Lock bucket (Ceph RADOS Gateway on 127.0.0.1, started by
// tests/servers/run_with.sh rgw; ctest does that). Every object is locked for one day (S3's
// shortest lock), so nothing written here can be removed during the test: prune and forget must
// find that out, plan around it and leave a consistent repository. Run by hand:
//   bash tests/servers/run_with.sh rgw -- build/release/src/pruner/prune_object_lock_test
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "archiver/archiver.h"
#include "backend/open_backend.h"
#include "checker/checker.h"
#include "pruner/pruner.h"
#include "repository/keys.h"
#include "repository/lock.h"
#include "retention/forget.h"
#include "tree_builder.h"

namespace lifeboat {
namespace {

[[maybe_unused]] const bool kFastKdf = [] {
  SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
  return true;
}();

// The endpoint run_with.sh exports; fails the test (never skips) when it is missing.
std::string Endpoint() {
  const char* v = std::getenv("LIFEBOAT_TEST_S3_ENDPOINT");
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << "LIFEBOAT_TEST_S3_ENDPOINT is not set: run this test through "
                     "tests/servers/run_with.sh rgw (ctest does), which starts a Ceph RADOS "
                     "Gateway on 127.0.0.1";
    return "";
  }
  return v;
}

class PruneObjectLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string endpoint = Endpoint();
    ASSERT_FALSE(endpoint.empty());
    location_ = "s3:" + endpoint + "/lifeboat-prune-lock-" + std::to_string(::getpid()) + "/" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
    work_ = testing::MakeTempDir("prune-lock");
    src_ = work_ + "/src";
    ASSERT_EQ(::mkdir(src_.c_str(), 0755), 0);
    auto backend = OpenBackend(location_, /*create=*/true, Options(true));
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    InitOptions init;
    init.pack_size = 1u << 20;
    auto repo = Repository::Init(std::move(*backend), "pw", init);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  }
  void TearDown() override { testing::RemoveTree(work_); }

  // With the lock option (as every command on this site should be run) or without.
  static OpenBackendOptions Options(bool with_lock) {
    OpenBackendOptions o = DefaultOpenBackendOptions();
    std::vector<std::string> kv;
    if (with_lock) kv.push_back("s3.object-lock-days=1");
    o.options = *BackendOptions::Parse(kv);
    return o;
  }

  std::unique_ptr<Repository> Open(bool with_lock = true) {
    auto backend = OpenBackend(location_, /*create=*/false, Options(with_lock));
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    if (!backend.ok()) return nullptr;
    auto repo = Repository::Open(std::move(*backend), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    if (!repo.ok()) return nullptr;
    EXPECT_TRUE((*repo)->LoadIndex().ok());
    return std::move(*repo);
  }

  Id Backup(int first_file) {
    for (int i = first_file; i < first_file + 6; ++i)
      testing::WriteFile(src_ + "/f" + std::to_string(i), testing::RandomBytes(300000, i));
    auto repo = Open();
    BackupOptions opt;
    opt.paths = {src_};
    auto r = RunBackup(*repo, opt);
    EXPECT_TRUE(r.ok() && r->snapshot_id) << r.status().ToString();
    return r.ok() && r->snapshot_id ? *r->snapshot_id : Id{};
  }

  void ExpectHealthy() {
    auto repo = Open();
    CheckOptions copt;
    copt.read_data = true;
    auto check = CheckRepository(*repo, copt);
    ASSERT_TRUE(check.ok()) << check.status().ToString();
    for (const auto& p : check->errors)
      ADD_FAILURE() << p.kind << " " << p.object << ": " << p.message;
  }

  std::string location_, work_, src_;
};

// A lock file is not locked: a command's lock goes when it ends, so the next exclusive command
// is not kept out (before, every lock file stayed for the lock's days).
TEST_F(PruneObjectLockTest, LockFilesAreNotLocked) {
  auto repo = Open();
  for (int i = 0; i < 2; ++i) {
    auto lock = RepositoryLock::Acquire(*repo, LockKind::kExclusive, {});
    ASSERT_TRUE(lock.ok()) << lock.status().ToString();
    ASSERT_TRUE((*lock)->Release().ok());
  }
  auto locks = ListLocks(*repo);
  ASSERT_TRUE(locks.ok()) << locks.status().ToString();
  EXPECT_TRUE(locks->empty());
}

// forget: the snapshot the policy removes is locked on the server, so it is named in the plan,
// kept (not attempted, not failed), with the server's retain-until date.
TEST_F(PruneObjectLockTest, ForgetKeepsALockedSnapshotAndSaysUntilWhen) {
  Id a = Backup(0);
  Id b = Backup(10);
  auto repo = Open();
  ASSERT_TRUE(repo->backend().Hints().object_lock.has_value());
  auto info = repo->backend().Stat({ObjectType::kSnapshot, a.Hex()});
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(info->retain_until_ns.has_value());
  const int64_t now = SystemClock().WallNs();
  EXPECT_GT(*info->retain_until_ns, now + 23LL * 3600 * 1'000'000'000);
  EXPECT_LT(*info->retain_until_ns, now + 25LL * 3600 * 1'000'000'000);

  auto lock = RepositoryLock::Acquire(*repo, LockKind::kExclusive, {});
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  retention::ForgetRequest request;
  request.policy.keep_last = 1;
  request.now_ns = now;
  auto r = retention::Forget(*repo, lock->get(), request, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stopped.ok()) << r->stopped.ToString();
  EXPECT_TRUE(r->failed.empty());
  EXPECT_TRUE(r->removed.empty());
  ASSERT_EQ(r->plan.locked.size(), 1u);
  ASSERT_EQ(r->locked.size(), 1u);
  EXPECT_EQ(r->locked[0].first, a);
  EXPECT_EQ(r->locked[0].second, *info->retain_until_ns);
  ASSERT_TRUE((*lock)->Release().ok());
  EXPECT_TRUE(Open()->LoadSnapshot(a).ok());
  EXPECT_TRUE(Open()->LoadSnapshot(b).ok());
}

// prune: a snapshot hidden by a client that did not know about the lock (a plain DELETE leaves
// the locked version behind a delete marker) leaves unused data that is locked: prune plans
// around it, removes nothing, writes no index, and the repository stays healthy.
TEST_F(PruneObjectLockTest, PruneKeepsLockedUnusedPacksAndChangesNothing) {
  Id a = Backup(0);
  for (int i = 0; i < 6; ++i) ::unlink((src_ + "/f" + std::to_string(i)).c_str());
  Backup(10);
  {
    auto unaware = Open(/*with_lock=*/false);
    ASSERT_FALSE(unaware->backend().Hints().object_lock.has_value());
    ASSERT_TRUE(unaware->backend().Remove({ObjectType::kSnapshot, a.Hex()}).ok());
  }
  PruneOptions dry;
  dry.dry_run = true;
  dry.max_unused_percent = 0;
  auto plan = Prune(*Open(), dry);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_GT(plan->locked_packs, 0u);
  EXPECT_EQ(plan->delete_packs + plan->repack_packs + plan->unindexed_packs, 0u);

  PruneOptions real;
  real.max_unused_percent = 0;
  auto done = Prune(*Open(), real);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->locked_packs, plan->locked_packs);
  EXPECT_EQ(done->index_files_written, 0u);
  EXPECT_EQ(done->delete_packs + done->repack_packs, 0u);
  const int64_t now = SystemClock().WallNs();
  EXPECT_GT(done->locked_until_ns, now);
  EXPECT_LT(done->locked_until_ns, now + 25LL * 3600 * 1'000'000'000);
  ExpectHealthy();
}

}  // namespace
}  // namespace lifeboat
