// Tests for Forget: a retention decision applied to a real repository in memory: what is
// removed, dry runs, ids, the refusals (append-only, no exclusive lock), a lost lock or a cancel
// stopping the removals, damaged snapshot files and removals that fail.

#include "retention/forget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backend/forwarding_backend.h"
#include "backend/memory_backend.h"
#include "object_lock_backend.h"
#include "progress_contract.h"
#include "repository/keys.h"

namespace lifeboat::retention {
namespace {

[[maybe_unused]] const bool kFastKdf = [] {
  SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
  return true;
}();

constexpr int64_t kSecond = 1000000000;

// Forwards to the test's store; removing a snapshot named in `fail_removal` fails.
class TestBackend : public ForwardingBackend {
 public:
  TestBackend(Backend* inner, const std::set<std::string>* fail_removal)
      : ForwardingBackend(inner), fail_removal_(fail_removal) {}
  Status Remove(const ObjectHandle& h) override {
    if (h.type == ObjectType::kSnapshot && fail_removal_->count(h.name))
      return Status::PermissionDenied("injected: cannot remove " + h.name);
    return ForwardingBackend::Remove(h);
  }

 private:
  const std::set<std::string>* fail_removal_;
};

class ForgetTest : public ::testing::Test {
 protected:
  void SetUp() override { Init(false); }

  // A new repository in a new store.
  void Init(bool append_only) {
    repo_.reset();
    store_ = std::make_unique<MemoryBackend>();
    InitOptions o;
    o.append_only = append_only;
    auto repo = Repository::Init(std::make_unique<TestBackend>(store_.get(), &fail_removal_), "pw",
                                 o);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  Id Add(int64_t time_s, const std::string& host, const std::string& path = "/srv") {
    Snapshot s;
    s.time_ns = time_s * kSecond;
    s.hostname = host;
    s.paths = {path};
    auto id = repo_->SaveSnapshot(s);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : Id{};
  }

  // Snapshots in the store, by id.
  std::set<Id> Stored() {
    std::set<Id> out;
    Status listed = store_->List(ObjectType::kSnapshot, "", [&](const ObjectInfo& info) {
      out.insert(*Id::FromHex(info.name));
      return Status::Ok();
    });
    EXPECT_TRUE(listed.ok()) << listed.ToString();
    return out;
  }

  std::unique_ptr<RepositoryLock> Lock(LockKind kind = LockKind::kExclusive) {
    LockOptions o;
    o.clock = &clock_;
    auto lock = RepositoryLock::Acquire(*repo_, kind, o);
    EXPECT_TRUE(lock.ok()) << lock.status().ToString();
    return lock.ok() ? std::move(*lock) : nullptr;
  }

  static ForgetRequest KeepLast(int n) {
    ForgetRequest r;
    r.policy.keep_last = n;
    r.now_ns = 100000 * kSecond;
    return r;
  }

  // Host a: a1..a3, host b: b1, b2 (newest last).
  void AddFive() {
    a1_ = Add(100, "a");
    b1_ = Add(200, "b");
    a2_ = Add(300, "a");
    b2_ = Add(400, "b");
    a3_ = Add(500, "a");
  }

  std::unique_ptr<MemoryBackend> store_;
  std::set<std::string> fail_removal_;
  std::unique_ptr<Repository> repo_;
  ManualClock clock_{NowNs(), /*auto_advance=*/false};
  Id a1_, a2_, a3_, b1_, b2_;
};

TEST_F(ForgetTest, AppliesThePolicyPerGroupAndRemovesTheRest) {
  AddFive();
  auto lock = Lock();
  std::vector<Id> reported;
  ForgetOptions options;
  options.on_removal = [&](const Id& id, const Status& st) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    reported.push_back(id);
  };
  auto r = Forget(*repo_, lock.get(), KeepLast(1), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stopped.ok()) << r->stopped.ToString();
  EXPECT_TRUE(r->failed.empty());
  EXPECT_TRUE(r->damaged.empty());
  ASSERT_EQ(r->plan.groups.size(), 2u);
  EXPECT_EQ(r->plan.groups[0].key.host, "a");
  EXPECT_EQ(r->plan.groups[1].key.host, "b");
  EXPECT_EQ(r->plan.kept(), 2u);
  EXPECT_EQ(r->plan.to_remove(), 3u);
  // Kept with the reasons; removed newest first within each group, groups in order.
  const Decision& kept_a = r->plan.groups[0].snapshots[0];
  EXPECT_EQ(kept_a.id, a3_);
  EXPECT_TRUE(kept_a.keep);
  EXPECT_EQ(kept_a.reasons, std::vector<std::string>{"last snapshot"});
  EXPECT_EQ(r->removed, (std::vector<Id>{a2_, a1_, b1_}));
  EXPECT_EQ(reported, r->removed);
  EXPECT_TRUE(r->WasRemoved(a1_));
  EXPECT_FALSE(r->WasRemoved(a3_));
  EXPECT_EQ(Stored(), (std::set<Id>{a3_, b2_}));
}

TEST_F(ForgetTest, FilterLimitsWhatIsConsidered) {
  AddFive();
  auto lock = Lock();
  ForgetRequest request = KeepLast(1);
  request.filter.hosts = {"b"};
  auto r = Forget(*repo_, lock.get(), request, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->plan.groups.size(), 1u);
  EXPECT_EQ(r->removed, std::vector<Id>{b1_});
  EXPECT_EQ(Stored(), (std::set<Id>{a1_, a2_, a3_, b2_}));
}

TEST_F(ForgetTest, DryRunRemovesNothingAndNeedsNoLock) {
  AddFive();
  ForgetRequest request = KeepLast(1);
  request.dry_run = true;
  int calls = 0;
  ForgetOptions options;
  options.on_removal = [&](const Id&, const Status&) { ++calls; };
  auto r = Forget(*repo_, nullptr, request, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->plan.dry_run);
  EXPECT_EQ(r->plan.to_remove(), 3u);
  EXPECT_TRUE(r->removed.empty());
  EXPECT_TRUE(r->stopped.ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(Stored().size(), 5u);
}

TEST_F(ForgetTest, IdsAreResolvedFirstAndRemovedOnce) {
  AddFive();
  auto lock = Lock();
  ForgetRequest request;
  request.ids = {a2_.Hex().substr(0, 8), a2_.Hex(), "latest"};
  request.filter.hosts = {"b"};  // "latest" of host b
  auto r = Forget(*repo_, lock.get(), request, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->plan.by_ids);
  EXPECT_EQ(r->plan.kept(), 0u);
  EXPECT_EQ(r->removed.size(), 2u);
  EXPECT_EQ(Stored(), (std::set<Id>{a1_, a3_, b1_}));

  // One unknown id: nothing is removed, not even the ones before it.
  request.ids = {a1_.Hex().substr(0, 10), "deadbeef"};
  request.filter = {};
  auto unknown = Forget(*repo_, lock.get(), request, {});
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Stored(), (std::set<Id>{a1_, a3_, b1_}));

  // Ids and rules together are refused.
  request.ids = {a1_.Hex()};
  request.policy.keep_last = 1;
  EXPECT_EQ(Forget(*repo_, lock.get(), request, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Stored().size(), 3u);
}

TEST_F(ForgetTest, AnEmptyPolicyRemovesNothing) {
  AddFive();
  auto lock = Lock();
  ForgetRequest request;
  request.now_ns = NowNs();
  EXPECT_EQ(Forget(*repo_, lock.get(), request, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Stored().size(), 5u);
}

TEST_F(ForgetTest, AppendOnlyRepositoryIsRefusedButADryRunWorks) {
  Init(/*append_only=*/true);
  AddFive();
  auto lock = Lock();
  auto refused = Forget(*repo_, lock.get(), KeepLast(1), {});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("append-only"), std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(Stored().size(), 5u);

  ForgetRequest dry = KeepLast(1);
  dry.dry_run = true;
  auto r = Forget(*repo_, lock.get(), dry, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->plan.to_remove(), 3u);

  // A plan made elsewhere is refused by the removal step too, before anything is attempted.
  ForgetPlan plan = r->plan;
  plan.dry_run = false;
  ForgetResult executed = ExecuteForget(*repo_, lock.get(), plan, {});
  EXPECT_EQ(executed.stopped.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(executed.removed.empty());
  EXPECT_EQ(Stored().size(), 5u);
}

TEST_F(ForgetTest, RemovingNeedsTheExclusiveLock) {
  AddFive();
  EXPECT_EQ(Forget(*repo_, nullptr, KeepLast(1), {}).status().code(),
            StatusCode::kFailedPrecondition);
  auto shared = Lock(LockKind::kShared);
  EXPECT_EQ(Forget(*repo_, shared.get(), KeepLast(1), {}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(Stored().size(), 5u);
}

TEST_F(ForgetTest, ALostLockStopsTheRemovals) {
  AddFive();
  auto lock = Lock();
  auto plan = [&] {
    std::vector<DamagedSnapshot> damaged;
    auto p = PlanForget(*repo_, lock.get(), KeepLast(1), &damaged);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : ForgetPlan{};
  }();
  ASSERT_EQ(plan.to_remove(), 3u);
  // The lock goes unrefreshed for longer than lost_after_ns right after the first removal.
  ForgetOptions options;
  options.on_removal = [&](const Id&, const Status&) { clock_.Advance(11LL * 60 * kSecond); };
  ForgetResult r = ExecuteForget(*repo_, lock.get(), plan, options);
  EXPECT_EQ(r.stopped.code(), StatusCode::kLocked) << r.stopped.ToString();
  EXPECT_NE(r.stopped.message().find("stopped after removing 1 snapshot"), std::string::npos)
      << r.stopped.message();
  EXPECT_EQ(r.removed, std::vector<Id>{a2_});
  EXPECT_TRUE(r.failed.empty());
  EXPECT_EQ(Stored(), (std::set<Id>{a1_, a3_, b1_, b2_}));

  // Lost before the first removal: nothing is removed.
  ForgetResult again = ExecuteForget(*repo_, lock.get(), plan, {});
  EXPECT_EQ(again.stopped.code(), StatusCode::kLocked);
  EXPECT_TRUE(again.removed.empty());
  EXPECT_EQ(Stored().size(), 4u);
}

TEST_F(ForgetTest, CancelStopsBetweenRemovals) {
  AddFive();
  auto lock = Lock();
  std::atomic<bool> cancel{false};
  ForgetOptions options;
  options.ctx = Context().WithCancel(&cancel);
  options.on_removal = [&](const Id&, const Status&) { cancel = true; };
  auto r = Forget(*repo_, lock.get(), KeepLast(1), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stopped.code(), StatusCode::kCancelled);
  EXPECT_EQ(r->stopped.message(), "interrupted; 1 snapshot removed before that");
  EXPECT_EQ(r->removed.size(), 1u);
  EXPECT_EQ(Stored().size(), 4u);

  // A deadline that passes stops them the same way.
  ForgetOptions timed;
  timed.ctx = Context().WithClock(clock_).WithTimeout(std::chrono::seconds(5));
  timed.on_removal = [&](const Id&, const Status&) { clock_.Advance(6 * kSecond); };
  auto late = Forget(*repo_, lock.get(), KeepLast(1), timed);
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->stopped.code(), StatusCode::kDeadlineExceeded) << late->stopped.ToString();
  EXPECT_EQ(late->removed.size(), 1u);
  EXPECT_EQ(Stored().size(), 3u);
}

TEST_F(ForgetTest, AFailedRemovalIsRecordedAndTheOthersContinue) {
  AddFive();
  fail_removal_.insert(a2_.Hex());
  auto lock = Lock();
  std::vector<Status> outcomes;
  ForgetOptions options;
  options.on_removal = [&](const Id&, const Status& st) { outcomes.push_back(st); };
  auto r = Forget(*repo_, lock.get(), KeepLast(1), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stopped.ok());
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0].first, a2_);
  EXPECT_EQ(r->failed[0].second.code(), StatusCode::kPermissionDenied);
  ASSERT_NE(r->FailureOf(a2_), nullptr);
  EXPECT_EQ(r->FailureOf(a1_), nullptr);
  EXPECT_EQ(r->removed, (std::vector<Id>{a1_, b1_}));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_FALSE(outcomes[0].ok());
  EXPECT_EQ(Stored(), (std::set<Id>{a2_, a3_, b2_}));

  // A snapshot already gone counts as removed.
  fail_removal_.clear();
  ForgetPlan stale = r->plan;
  ASSERT_TRUE(store_->Remove({ObjectType::kSnapshot, a2_.Hex()}).ok());
  ForgetResult again = ExecuteForget(*repo_, lock.get(), stale, {});
  EXPECT_TRUE(again.failed.empty());
  EXPECT_EQ(again.removed.size(), 3u);
  EXPECT_EQ(Stored(), (std::set<Id>{a3_, b2_}));
}

TEST_F(ForgetTest, ADamagedSnapshotIsNeitherKeptNorRemovedAndTakesNoSlot) {
  AddFive();
  // The newest snapshot of host a is damaged: keep-last 1 keeps a2 instead, a3 stays.
  ObjectHandle h{ObjectType::kSnapshot, a3_.Hex()};
  Bytes bad = *store_->Load(h, 0, 0);
  bad[30] ^= 4;
  ASSERT_TRUE(store_->ReplaceForTesting(h, bad).ok());
  auto lock = Lock();
  auto r = Forget(*repo_, lock.get(), KeepLast(1), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->damaged.size(), 1u);
  EXPECT_EQ(r->damaged[0].name, a3_.Hex());
  ASSERT_NE(r->damaged[0].problem.damage(), nullptr);
  EXPECT_EQ(r->plan.groups[0].snapshots[0].id, a2_);
  EXPECT_TRUE(r->plan.groups[0].snapshots[0].keep);
  EXPECT_EQ(r->removed, (std::vector<Id>{a1_, b1_}));
  EXPECT_EQ(Stored(), (std::set<Id>{a2_, a3_, b2_}));

  // Named by id, a damaged snapshot is an error and nothing is removed.
  ForgetRequest by_id;
  by_id.ids = {b2_.Hex(), a3_.Hex()};
  auto named = Forget(*repo_, lock.get(), by_id, {});
  EXPECT_EQ(named.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Stored(), (std::set<Id>{a2_, a3_, b2_}));
}

// The result's phases: "decide" then "remove", on the context's clock (here one that a backend
// call moves by a second); a dry run decides only. The split calls give the same.
TEST_F(ForgetTest, PhasesDecideThenRemoveOnTheContextClock) {
  AddFive();
  auto lock = Lock();
  ManualClock ticks(NowNs(), /*auto_advance=*/false);
  auto ticking = Repository::Open(std::make_unique<testing::TickingBackend>(
                                      std::make_unique<ForwardingBackend>(store_.get()), &ticks),
                                  "pw");
  ASSERT_TRUE(ticking.ok()) << ticking.status().ToString();
  ForgetOptions options;
  options.ctx = Context().WithClock(ticks);

  ForgetRequest dry = KeepLast(1);
  dry.dry_run = true;
  auto planned = Forget(**ticking, nullptr, dry, options);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  EXPECT_EQ(testing::PhaseNames(planned->phases), (std::vector<std::string>{"decide"}));
  EXPECT_GE(planned->phases[0].seconds, 1.0);  // listing and loading the snapshots

  auto r = Forget(**ticking, lock.get(), KeepLast(1), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->removed.size(), 3u);
  ASSERT_EQ(testing::PhaseNames(r->phases), (std::vector<std::string>{"decide", "remove"}));
  EXPECT_GE(r->phases[0].seconds, 1.0);
  EXPECT_DOUBLE_EQ(r->phases[1].seconds, 3.0);  // one backend call per removal

  AddFive();
  std::vector<DamagedSnapshot> damaged;
  auto plan = PlanForget(**ticking, lock.get(), KeepLast(1), &damaged, options.ctx);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(testing::PhaseNames(plan->phases), (std::vector<std::string>{"decide"}));
  ForgetResult executed = ExecuteForget(**ticking, lock.get(), *plan, options);
  EXPECT_TRUE(executed.stopped.ok()) << executed.stopped.ToString();
  EXPECT_EQ(testing::PhaseNames(executed.phases), (std::vector<std::string>{"decide", "remove"}));
}

// S3 Object Lock (tests/object_lock_backend.h): a1 was written two days before a2 and a3, so
// with a lock of one day a1 is free and a2 still locked.
class ForgetObjectLockTest : public ForgetTest {
 protected:
  static constexpr int64_t kDayNs = 24LL * 3600 * kSecond;

  void InitLocked(bool advertise) {
    repo_.reset();
    store_ = std::make_unique<MemoryBackend>();
    auto be = std::make_unique<testing::ObjectLockBackend>(
        std::make_unique<TestBackend>(store_.get(), &fail_removal_), &table_, kDayNs, &clock_,
        advertise);
    lock_backend_ = be.get();
    auto repo = Repository::Init(std::move(be), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    a1_ = Add(100, "a");
    clock_.Advance(2 * kDayNs);
    a2_ = Add(300, "a");
    a3_ = Add(500, "a");
  }

  ForgetOptions Options() {
    ForgetOptions o;
    o.ctx = Context().WithClock(clock_);
    o.on_removal = [](const Id& id, const Status& st) {
      EXPECT_TRUE(st.ok()) << id.Hex() << ": " << st.ToString();
    };
    return o;
  }

  testing::ObjectLockTable table_;
  testing::ObjectLockBackend* lock_backend_ = nullptr;
};

// Advertised: the plan names the locked snapshot up front (also in a dry run), the removal skips
// it without trying, the rest is removed, and a forget after the lock ends removes it.
TEST_F(ForgetObjectLockTest, PlansAroundALockedSnapshotAndRemovesItOnceTheLockEnds) {
  InitLocked(/*advertise=*/true);
  const int64_t a2_lock_end = table_.Until({ObjectType::kSnapshot, a2_.Hex()});
  ASSERT_GT(a2_lock_end, clock_.WallNs());
  auto lock = Lock();

  ForgetRequest dry = KeepLast(1);
  dry.dry_run = true;
  auto plan = PlanForget(*repo_, nullptr, dry, nullptr, Context().WithClock(clock_));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->to_remove(), 2u);
  ASSERT_EQ(plan->locked.size(), 1u);
  EXPECT_EQ(plan->locked[0], std::make_pair(a2_, a2_lock_end));

  auto r = Forget(*repo_, lock.get(), KeepLast(1), Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stopped.ok()) << r->stopped.ToString();
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(r->removed, std::vector<Id>{a1_});
  ASSERT_EQ(r->locked.size(), 1u);
  EXPECT_EQ(r->locked[0], std::make_pair(a2_, a2_lock_end));
  EXPECT_EQ(r->LockEndOf(a2_), a2_lock_end);
  EXPECT_EQ(r->LatestLockEnd(), a2_lock_end);
  EXPECT_EQ(lock_backend_->refused(), 0);
  EXPECT_EQ(Stored(), (std::set<Id>{a2_, a3_}));

  lock.reset();  // two days without a refresh would lose it
  clock_.Advance(2 * kDayNs);
  lock = Lock();
  auto later = Forget(*repo_, lock.get(), KeepLast(1), Options());
  ASSERT_TRUE(later->stopped.ok()) << later->stopped.ToString();
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_TRUE(later->locked.empty());
  EXPECT_EQ(later->removed, std::vector<Id>{a2_});
  EXPECT_EQ(Stored(), std::set<Id>{a3_});
}

// Not advertised (a bucket's default retention): the removal is tried, refused, and reported as
// kept by the lock, not as a failure; the other removals go on.
TEST_F(ForgetObjectLockTest, ARefusalByAnUnadvertisedLockIsKeptNotFailed) {
  InitLocked(/*advertise=*/false);
  auto lock = Lock();
  auto r = Forget(*repo_, lock.get(), KeepLast(1), Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->plan.locked.empty());  // nothing was known up front
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(r->removed, std::vector<Id>{a1_});
  ASSERT_EQ(r->locked.size(), 1u);
  EXPECT_EQ(r->locked[0].first, a2_);
  EXPECT_EQ(lock_backend_->refused(), 1);
  EXPECT_EQ(Stored(), (std::set<Id>{a2_, a3_}));
}

// A refusal that is not a lock stays a failure.
TEST_F(ForgetObjectLockTest, ARefusalWithoutALockIsStillAFailure) {
  InitLocked(/*advertise=*/true);
  fail_removal_.insert(a1_.Hex());
  auto lock = Lock();
  ForgetOptions options = Options();
  options.on_removal = nullptr;
  auto r = Forget(*repo_, lock.get(), KeepLast(1), options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->failed.size(), 1u);
  EXPECT_EQ(r->failed[0].first, a1_);
  EXPECT_EQ(r->locked.size(), 1u);
}

}  // namespace
}  // namespace lifeboat::retention
