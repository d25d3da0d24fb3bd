#include "fence/lock_file_fence.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "util/file_io.h"

namespace lifeboat::fence {
namespace {

class LockFileFenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/fence-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Fence> Open(const std::string& actor, FenceOptions options = {}) {
    Result<std::unique_ptr<Fence>> f =
        OpenFence(plan::DaemonSettings{}, dir_ + "/state", actor, Context(), options);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  std::string dir_;
};

TEST_F(LockFileFenceTest, MovesAndTokensSurviveReopening) {
  std::unique_ptr<Fence> fence = Open("a");
  EXPECT_EQ(fence->Kind(), "lock-file");
  EXPECT_TRUE(fence->Acting());
  EXPECT_EQ(fence->ActingNote(), "");
  {
    Result<std::unique_ptr<FenceAction>> act = fence->BeginAction(Context());
    ASSERT_TRUE(act.ok()) << act.status().ToString();
    Result<ActiveSite> shop = (*act)->Active("shop");
    ASSERT_TRUE(shop.ok());
    EXPECT_FALSE(shop->stored);
    EXPECT_EQ(shop->site, "");
    Result<uint64_t> t1 = (*act)->MoveActive("shop", *shop, "dr", "inc-1");
    ASSERT_TRUE(t1.ok()) << t1.status().ToString();
    EXPECT_EQ(*t1, 1u);
    // The state read before the move is stale now.
    Result<uint64_t> again = (*act)->MoveActive("shop", *shop, "prod", "inc-2");
    EXPECT_EQ(again.status().code(), StatusCode::kAborted) << again.status().ToString();
    EXPECT_NE(again.status().message().find("moved meanwhile: it is active at site dr"),
              std::string::npos);
    Result<ActiveSite> now = (*act)->Active("shop");
    ASSERT_TRUE(now.ok());
    EXPECT_TRUE(now->stored);
    EXPECT_EQ(now->site, "dr");
    EXPECT_EQ(now->incident, "inc-1");
    EXPECT_EQ(now->token, 1u);
    EXPECT_EQ(now->revision, 1u);
    Result<ActiveSite> db = (*act)->Active("db");
    ASSERT_TRUE(db.ok());
    Result<uint64_t> t2 = (*act)->MoveActive("db", *db, "dr", "inc-1");
    ASSERT_TRUE(t2.ok());
    EXPECT_EQ(*t2, 2u);  // tokens count over all services
  }
  // Another fence (the CLI after the daemon) sees the same state; tokens go on.
  std::unique_ptr<Fence> other = Open("b");
  Result<std::unique_ptr<FenceAction>> act = other->BeginAction(Context());
  ASSERT_TRUE(act.ok());
  Result<std::vector<ActiveSite>> all = (*act)->AllActive();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  Result<ActiveSite> shop = (*act)->Active("shop");
  ASSERT_TRUE(shop.ok());
  Result<uint64_t> t3 = (*act)->MoveActive("shop", *shop, "prod", "inc-3");
  ASSERT_TRUE(t3.ok());
  EXPECT_EQ(*t3, 3u);
  EXPECT_EQ((*act)->Active("shop")->revision, 2u);
}

TEST_F(LockFileFenceTest, OneActionAtATimeAndTheWaiterNamesTheHolder) {
  std::unique_ptr<Fence> a = Open("actor-a");
  FenceOptions quick;
  quick.lock_wait = std::chrono::milliseconds(200);
  std::unique_ptr<Fence> b = Open("actor-b", quick);
  Result<std::unique_ptr<FenceAction>> held = a->BeginAction(Context());
  ASSERT_TRUE(held.ok());
  Result<std::unique_ptr<FenceAction>> refused = b->BeginAction(Context());
  ASSERT_EQ(refused.status().code(), StatusCode::kLocked) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("is held by actor actor-a (pid " +
                                            std::to_string(::getpid()) + ")"),
            std::string::npos)
      << refused.status().message();
  // The caller's context bounds the wait too.
  std::atomic<bool> cancel{true};
  EXPECT_EQ(b->BeginAction(Context().WithCancel(&cancel)).status().code(), StatusCode::kCancelled);
  held->reset();
  EXPECT_TRUE(b->BeginAction(Context()).ok());
}

// Both actors read the same state, then both try to move it: exactly one wins each round, and
// every token is greater than the one before.
TEST_F(LockFileFenceTest, RacingActorsExactlyOneWinsPerRound) {
  std::unique_ptr<Fence> fences[2] = {Open("a"), Open("b")};
  constexpr int kRounds = 100;
  std::barrier sync(2);
  std::atomic<int> wins[kRounds] = {};
  std::vector<uint64_t> tokens[2];
  std::atomic<int> errors{0};
  auto actor = [&](int me) {
    for (int round = 0; round < kRounds; ++round) {
      ActiveSite read;
      {
        Result<std::unique_ptr<FenceAction>> act = fences[me]->BeginAction(Context());
        Result<ActiveSite> a = act.ok() ? (*act)->Active("shop") : Result<ActiveSite>(act.status());
        if (!a.ok()) ++errors;
        if (a.ok()) read = *a;
      }
      sync.arrive_and_wait();  // both have read
      {
        Result<std::unique_ptr<FenceAction>> act = fences[me]->BeginAction(Context());
        Result<uint64_t> t = act.ok() ? (*act)->MoveActive("shop", read, me == 0 ? "prod" : "dr",
                                                           "round-" + std::to_string(round))
                                      : Result<uint64_t>(act.status());
        if (t.ok()) {
          ++wins[round];
          tokens[me].push_back(*t);
        } else if (t.status().code() != StatusCode::kAborted) {
          ++errors;
        }
      }
      sync.arrive_and_wait();  // the round is over
    }
  };
  std::thread t0(actor, 0), t1(actor, 1);
  t0.join();
  t1.join();
  EXPECT_EQ(errors.load(), 0);
  for (int round = 0; round < kRounds; ++round) EXPECT_EQ(wins[round].load(), 1) << round;
  std::vector<uint64_t> all = tokens[0];
  all.insert(all.end(), tokens[1].begin(), tokens[1].end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kRounds));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 1);  // strictly increasing
  for (const auto& mine : tokens)
    for (size_t i = 1; i < mine.size(); ++i) EXPECT_LT(mine[i - 1], mine[i]);
}

// A holder killed with SIGKILL in the middle of its action releases the lock (the kernel closes
// its descriptor); what it had stored stays.
TEST_F(LockFileFenceTest, AKilledHolderReleasesTheLock) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    LockFileFence fence(dir_ + "/state", "doomed", {});
    Result<std::unique_ptr<FenceAction>> act = fence.BeginAction(Context());
    if (!act.ok()) ::_exit(1);
    Result<ActiveSite> a = (*act)->Active("shop");
    if (!a.ok() || !(*act)->MoveActive("shop", *a, "dr", "inc-1").ok()) ::_exit(2);
    if (::write(ready[1], "x", 1) != 1) ::_exit(3);
    for (;;) ::pause();  // holds the lock until killed
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  FenceOptions quick;
  quick.lock_wait = std::chrono::milliseconds(100);
  std::unique_ptr<Fence> fence = Open("survivor", quick);
  Result<std::unique_ptr<FenceAction>> refused = fence->BeginAction(Context());
  EXPECT_EQ(refused.status().code(), StatusCode::kLocked);
  EXPECT_NE(refused.status().message().find("actor doomed (pid " + std::to_string(child) + ")"),
            std::string::npos)
      << refused.status().message();
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  Result<std::unique_ptr<FenceAction>> act = fence->BeginAction(Context());
  ASSERT_TRUE(act.ok()) << act.status().ToString();
  Result<ActiveSite> shop = (*act)->Active("shop");
  ASSERT_TRUE(shop.ok());
  EXPECT_EQ(shop->site, "dr");
  EXPECT_EQ(shop->token, 1u);
}

TEST_F(LockFileFenceTest, JoinMembersHealthLeave) {
  std::unique_ptr<Fence> fence = Open("daemon-1");
  EXPECT_TRUE(fence->Members(Context())->empty());
  EXPECT_EQ(fence->ReportHealth({{"shop", "up"}}, Context()).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(fence->Join({"prod", "dr"}, Context()).ok());
  EXPECT_EQ(fence->Join({"prod"}, Context()).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fence->Acting());
  ASSERT_TRUE(fence->ReportHealth({{"shop", "up"}}, Context()).ok());
  Result<std::vector<Member>> members = fence->Members(Context());
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[0].site, "prod");
  EXPECT_EQ((*members)[1].site, "dr");
  EXPECT_EQ((*members)[0].actor, "daemon-1");
  EXPECT_EQ((*members)[0].health["shop"], "up");
  ASSERT_TRUE(fence->Leave(Context()).ok());
  ASSERT_TRUE(fence->Leave(Context()).ok());  // idempotent
  EXPECT_FALSE(fence->Acting());
  EXPECT_NE(fence->ActingNote().find("left"), std::string::npos);
  EXPECT_EQ(fence->BeginAction(Context()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fence->Members(Context())->empty());
}

TEST_F(LockFileFenceTest, ADamagedStateIsCorruptionNotAFreshStart) {
  std::unique_ptr<Fence> fence = Open("a");
  {
    Result<std::unique_ptr<FenceAction>> act = fence->BeginAction(Context());
    ASSERT_TRUE(act.ok());
    ASSERT_TRUE((*act)->MoveActive("shop", ActiveSite{}, "dr", "i").ok());
  }
  std::ofstream(dir_ + "/state/fence.json") << "{\"version\": 1, \"token\": \"x\"";
  Result<std::unique_ptr<FenceAction>> act = fence->BeginAction(Context());
  EXPECT_EQ(act.status().code(), StatusCode::kCorruption);
  EXPECT_NE(act.status().message().find("fence.json is damaged"), std::string::npos)
      << act.status().message();
}

}  // namespace
}  // namespace lifeboat::fence
