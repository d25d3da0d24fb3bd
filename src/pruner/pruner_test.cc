// Prune: removes exactly what no snapshot needs, repacks by --max-unused, refuses when it cannot
// tell what is used, and leaves every snapshot restorable when it fails at any write.
#include "pruner/pruner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "archiver/archiver.h"
#include "backend/forwarding_backend.h"
#include "backend/local_backend.h"
#include "checker/checker.h"
#include "object_lock_backend.h"
#include "progress_contract.h"
#include "restorer/restorer.h"
#include "tree_builder.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

using testing::CompareTrees;
using testing::MakeTempDir;
using testing::RandomBytes;
using testing::RemoveTree;
using testing::WriteFile;

// Fails every Save and Remove after the first `budget` of them, like a process killed there: the
// repository on disk is left exactly as it was at that moment. SaveParts (how packs are written)
// goes through Save so that it counts too; reads go straight to `inner`. Thread-safe: prune's
// repack workers write packs concurrently.
class StopAfterWritesBackend : public ForwardingBackend {
 public:
  StopAfterWritesBackend(std::unique_ptr<Backend> inner, int budget)
      : ForwardingBackend(std::move(inner)), budget_(budget) {}
  Status Save(const ObjectHandle& h, ByteView data) override {
    if (h.type != ObjectType::kLock && budget_-- <= 0) return Status::IOError("stopped");
    return ForwardingBackend::Save(h, data);
  }
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
    return SavePartsThroughSave(h, parts);
  }
  Status Remove(const ObjectHandle& h) override {
    if (h.type != ObjectType::kLock && budget_-- <= 0) return Status::IOError("stopped");
    return ForwardingBackend::Remove(h);
  }
  bool exhausted() const { return budget_ < 0; }

 private:
  std::atomic<int> budget_;
};

class PrunerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
    work_ = MakeTempDir("pruner");
    src_ = work_ + "/src";
    mkdir(src_.c_str(), 0755);
    auto backend = LocalBackend::Create(work_ + "/repo");
    ASSERT_TRUE(backend.ok());
    InitOptions init;
    init.pack_size = 1u << 20;  // many small packs, so repacking has choices
    auto repo = Repository::Init(std::move(*backend), "pw", init);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  }
  void TearDown() override { RemoveTree(work_); }

  std::unique_ptr<Repository> Open(const std::string& dir = "repo", int write_budget = -1) {
    auto backend = LocalBackend::Open(work_ + "/" + dir);
    EXPECT_TRUE(backend.ok());
    std::unique_ptr<Backend> be = std::move(*backend);
    if (locks_ != nullptr)
      be = std::make_unique<testing::ObjectLockBackend>(std::move(be), locks_, kDayNs,
                                                        &lock_clock_, advertise_lock_);
    if (write_budget >= 0) be = std::make_unique<StopAfterWritesBackend>(std::move(be), write_budget);
    auto repo = Repository::Open(std::move(be), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    EXPECT_TRUE((*repo)->LoadIndex().ok());
    return std::move(*repo);
  }

  Id Backup() {
    auto repo = Open();
    BackupOptions opt;
    opt.paths = {src_};
    auto r = RunBackup(*repo, opt);
    EXPECT_TRUE(r.ok() && r->snapshot_id) << r.status().ToString();
    return r.ok() && r->snapshot_id ? *r->snapshot_id : Id{};
  }

  // Two snapshots sharing half their files; the first is then forgotten, leaving its own files
  // unused, spread over packs that also hold used files.
  Id TwoSnapshotsForgetFirst() {
    for (int i = 0; i < 24; ++i)
      WriteFile(src_ + "/f" + std::to_string(i), RandomBytes(150000 + i * 1000, i));
    Id first = Backup();
    for (int i = 0; i < 24; i += 2) unlink((src_ + "/f" + std::to_string(i)).c_str());
    for (int i = 100; i < 112; ++i)
      WriteFile(src_ + "/f" + std::to_string(i), RandomBytes(150000 + i * 1000, i));
    Id second = Backup();
    auto repo = Open();
    EXPECT_TRUE(repo->backend().Remove({ObjectType::kSnapshot, first.Hex()}).ok());
    return second;
  }

  // Deletes every index file of the repository (the index becomes incomplete).
  void RemoveIndexFiles() {
    auto backend = LocalBackend::Open(work_ + "/repo");
    ASSERT_TRUE(backend.ok());
    std::vector<std::string> names;
    ASSERT_TRUE((*backend)
                    ->List(ObjectType::kIndex, "",
                           [&](const ObjectInfo& info) {
                             names.push_back(info.name);
                             return Status::Ok();
                           })
                    .ok());
    for (const auto& n : names) ASSERT_TRUE((*backend)->Remove({ObjectType::kIndex, n}).ok());
  }
  // Every (type, name) -> size in the repository directory.
  std::map<std::pair<int, std::string>, uint64_t> Listing(const std::string& dir = "repo") {
    auto backend = LocalBackend::Open(work_ + "/" + dir);
    EXPECT_TRUE(backend.ok());
    std::map<std::pair<int, std::string>, uint64_t> out;
    for (ObjectType t : {ObjectType::kPack, ObjectType::kIndex, ObjectType::kSnapshot,
                         ObjectType::kKey}) {
      EXPECT_TRUE((*backend)
                      ->List(t, "",
                             [&](const ObjectInfo& info) {
                               out[{static_cast<int>(t), info.name}] = info.size;
                               return Status::Ok();
                             })
                      .ok());
    }
    return out;
  }

  // check --read-data finds no error, and `snapshot` restores identical to src_.
  void ExpectHealthyAndRestorable(const Id& snapshot, const std::string& dir = "repo") {
    auto repo = Open(dir);
    CheckOptions copt;
    copt.read_data = true;
    auto check = CheckRepository(*repo, copt);
    ASSERT_TRUE(check.ok()) << check.status().ToString();
    for (const auto& p : check->errors) ADD_FAILURE() << p.kind << " " << p.object << ": " << p.message;
    auto snap = repo->LoadSnapshot(snapshot);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    RestoreOptions ropt;
    ropt.target = work_ + "/restore-" + std::to_string(restores_++);
    auto r = RestoreTree(*repo, snap->tree, ropt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->errors.empty());
    testing::CompareOptions cmp;
    cmp.check_ownership = false;
    auto diffs = CompareTrees(src_, ropt.target + src_, cmp);
    for (const auto& d : diffs) ADD_FAILURE() << d;
    RemoveTree(ropt.target);
  }

  std::string work_, src_;
  int restores_ = 0;
  // Set: every Open goes through an ObjectLockBackend with this table, a lock of one day on
  // lock_clock_, advertised (Hints().object_lock) unless advertise_lock_ is false.
  static constexpr int64_t kDayNs = 24LL * 3600 * 1'000'000'000;
  testing::ObjectLockTable* locks_ = nullptr;
  ManualClock lock_clock_{NowNs(), /*auto_advance=*/false};
  bool advertise_lock_ = true;
};

// S3 Object Lock: a repository whose old data is unlocked and whose newer data is still locked.
class PrunerObjectLockTest : public PrunerTest {
 protected:
  void SetUp() override {
    PrunerTest::SetUp();
    locks_ = &table_;
  }

  // Snapshot A (unlocked by now), then two days later B (kept) and C (forgotten, its own data
  // still locked), A forgotten too. Returns B. *locked_packs: the packs holding only C's data.
  Id Build(std::set<std::string>* locked_packs) {
    for (int i = 0; i < 24; ++i)
      WriteFile(src_ + "/f" + std::to_string(i), RandomBytes(150000 + i * 1000, i));
    Id a = Backup();
    lock_clock_.Advance(2 * kDayNs);
    for (int i = 0; i < 24; i += 2) unlink((src_ + "/f" + std::to_string(i)).c_str());
    Id b = Backup();
    auto before_c = Listing();
    for (int i = 200; i < 212; ++i)
      WriteFile(src_ + "/f" + std::to_string(i), RandomBytes(150000 + i * 1000, i));
    Id c = Backup();
    for (const auto& [key, size] : Listing())
      if (key.first == static_cast<int>(ObjectType::kPack) && !before_c.count(key))
        locked_packs->insert(key.second);
    for (int i = 200; i < 212; ++i) unlink((src_ + "/f" + std::to_string(i)).c_str());
    // Forgotten behind the lock's back (the snapshot files themselves are not the point here).
    auto raw = LocalBackend::Open(work_ + "/repo");
    EXPECT_TRUE((*raw)->Remove({ObjectType::kSnapshot, a.Hex()}).ok());
    EXPECT_TRUE((*raw)->Remove({ObjectType::kSnapshot, c.Hex()}).ok());
    return b;
  }

  PruneOptions Options(bool dry_run = false) {
    PruneOptions o;
    o.max_unused_percent = 0;
    o.dry_run = dry_run;
    o.context = Context().WithClock(lock_clock_);
    return o;
  }

  // The packs the repository's index names.
  std::set<std::string> IndexedPacks() {
    std::set<std::string> out;
    auto repo = Open();
    EXPECT_TRUE(repo->index()
                    .ForEachPack([&](const Id& pack, const std::vector<PackedBlob>&) {
                      out.insert(pack.Hex());
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  testing::ObjectLockTable table_;
};

// The lock is advertised: prune asks first, removes what is unlocked, leaves the locked packs
// indexed and untouched (never even tries to remove one), says until when, and a prune after
// that date removes them.
TEST_F(PrunerObjectLockTest, PlansAroundLockedObjectsAndALaterPruneRemovesThem) {
  std::set<std::string> c_packs;
  Id b = Build(&c_packs);
  ASSERT_FALSE(c_packs.empty());
  const int64_t c_lock_end = table_.Until({ObjectType::kPack, *c_packs.begin()});
  ASSERT_GT(c_lock_end, lock_clock_.WallNs());

  auto dry = Prune(*Open(), Options(true));
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->locked_packs, c_packs.size());
  EXPECT_GT(dry->delete_packs + dry->repack_packs, 0u);  // A's data, unlocked

  auto repo = Open();
  auto* lock_backend = dynamic_cast<testing::ObjectLockBackend*>(&repo->backend());
  ASSERT_NE(lock_backend, nullptr);
  auto done = Prune(*repo, Options());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(lock_backend->refused(), 0);  // planned around: no removal was even refused
  EXPECT_EQ(done->locked_packs, c_packs.size());
  EXPECT_EQ(done->delete_packs, dry->delete_packs);
  EXPECT_EQ(done->repack_packs, dry->repack_packs);
  EXPECT_GT(done->locked_index_files, 0u);  // B's and C's index files, superseded
  EXPECT_GE(done->locked_until_ns, c_lock_end);
  EXPECT_LE(done->locked_until_ns, lock_clock_.WallNs() + kDayNs);
  std::set<std::string> indexed = IndexedPacks();
  for (const std::string& p : c_packs) EXPECT_TRUE(indexed.count(p)) << "pack " << p;
  ExpectHealthyAndRestorable(b);

  // Still locked: a second prune changes nothing and writes no new index.
  auto listing = Listing();
  auto again = Prune(*Open(), Options());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->locked_packs, c_packs.size());
  EXPECT_EQ(again->index_files_written, 0u);
  EXPECT_EQ(Listing(), listing);

  // After the lock ends, C's packs and the superseded index files go.
  lock_clock_.Advance(2 * kDayNs);
  auto later = Prune(*Open(), Options());
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->locked_objects(), 0u);
  EXPECT_EQ(later->delete_packs, c_packs.size());
  for (const auto& [key, size] : Listing())
    EXPECT_FALSE(key.first == static_cast<int>(ObjectType::kPack) && c_packs.count(key.second));
  ExpectHealthyAndRestorable(b);
}

// A lock the backend does not advertise (a bucket's default retention): prune decides as usual,
// the removals are refused, and that is reported as kept, not as a failure; the repository stays
// consistent (the refused packs are unindexed leftovers) and a later prune removes them.
TEST_F(PrunerObjectLockTest, RefusedRemovalsOfAnUnadvertisedLockAreKeptNotFailed) {
  advertise_lock_ = false;
  std::set<std::string> c_packs;
  Id b = Build(&c_packs);
  auto repo = Open();
  auto* lock_backend = dynamic_cast<testing::ObjectLockBackend*>(&repo->backend());
  ASSERT_NE(lock_backend, nullptr);
  auto done = Prune(*repo, Options());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_GT(lock_backend->refused(), 0);
  EXPECT_EQ(done->locked_packs, c_packs.size());
  EXPECT_GT(done->locked_index_files, 0u);
  EXPECT_GT(done->locked_until_ns, lock_clock_.WallNs());
  std::set<std::string> indexed = IndexedPacks();
  for (const std::string& p : c_packs) EXPECT_FALSE(indexed.count(p)) << "pack " << p;
  ExpectHealthyAndRestorable(b);

  lock_clock_.Advance(2 * kDayNs);
  auto later = Prune(*Open(), Options());
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  EXPECT_EQ(later->locked_objects(), 0u);
  EXPECT_EQ(later->unindexed_packs, c_packs.size());
  ExpectHealthyAndRestorable(b);
}

TEST_F(PrunerTest, DryRunChangesNothingAndPruneRemovesExactlyTheUnused) {
  Id kept = TwoSnapshotsForgetFirst();
  auto before = Listing();
  PruneOptions dry;
  dry.dry_run = true;
  dry.max_unused_percent = 0;
  auto plan = Prune(*Open(), dry);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(Listing(), before);
  EXPECT_EQ(plan->snapshots, 1u);
  EXPECT_GT(plan->unused_blobs, 0u);
  EXPECT_GT(plan->used_blobs, 0u);
  EXPECT_GT(plan->repack_packs + plan->delete_packs, 0u);

  PruneOptions real;
  real.max_unused_percent = 0;
  auto done = Prune(*Open(), real);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->delete_packs, plan->delete_packs);
  EXPECT_EQ(done->repack_packs, plan->repack_packs);
  EXPECT_EQ(done->remaining_unused_bytes, 0u);
  EXPECT_LT(Listing().size(), before.size() + done->index_files_written);
  ExpectHealthyAndRestorable(kept);

  // Nothing is unused any more: a second prune has nothing to do and changes nothing.
  auto after = Listing();
  auto again = Prune(*Open(), real);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unused_blobs, 0u);
  EXPECT_EQ(again->delete_packs + again->repack_packs + again->unindexed_packs, 0u);
  EXPECT_EQ(Listing(), after);
}

TEST_F(PrunerTest, MaxUnusedAndMaxRepackSizeLimitRepacking) {
  TwoSnapshotsForgetFirst();
  PruneOptions unlimited;
  unlimited.dry_run = true;
  unlimited.max_unused_percent = 100;
  auto a = Prune(*Open(), unlimited);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->repack_packs, 0u);

  PruneOptions zero;
  zero.dry_run = true;
  zero.max_unused_percent = 0;
  auto b = Prune(*Open(), zero);
  ASSERT_TRUE(b.ok());
  ASSERT_GT(b->repack_packs, 1u) << "the test data must leave several partly used packs";

  PruneOptions capped = zero;
  capped.max_repack_bytes = b->repack_bytes / b->repack_packs;  // about one pack
  auto c = Prune(*Open(), capped);
  ASSERT_TRUE(c.ok());
  EXPECT_LT(c->repack_packs, b->repack_packs);
  EXPECT_LE(c->repack_bytes, *capped.max_repack_bytes);
  EXPECT_GT(c->remaining_unused_bytes, 0u);
}

TEST_F(PrunerTest, RefusesWhenUsedDataIsMissingAndDeletesNothing) {
  Id kept = TwoSnapshotsForgetFirst();
  // Lose the pack that holds a tree of the kept snapshot... or any used pack: take the biggest.
  auto listing = Listing();
  std::string victim;
  uint64_t size = 0;
  for (const auto& [k, v] : listing)
    if (k.first == static_cast<int>(ObjectType::kPack) && v > size) victim = k.second, size = v;
  ASSERT_FALSE(victim.empty());
  {
    auto repo = Open();
    ASSERT_TRUE(repo->backend().Remove({ObjectType::kPack, victim}).ok());
  }
  auto before = Listing();
  PruneOptions opt;
  opt.max_unused_percent = 0;
  auto r = Prune(*Open(), opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("Nothing was deleted"), std::string::npos);
  EXPECT_EQ(Listing(), before);
  (void)kept;
}

// Issue 11, item 1: with the index files lost, every pack is unindexed and the snapshots' trees
// "missing". Prune must say that the index is incomplete and that `repair index` comes first.
TEST_F(PrunerTest, RefusesWhenTheIndexIsIncompleteAndSaysToRepairItFirst) {
  for (int i = 0; i < 4; ++i) WriteFile(src_ + "/f" + std::to_string(i), RandomBytes(300000, i));
  Id snapshot = Backup();
  RemoveIndexFiles();
  auto before = Listing();
  auto r = Prune(*Open(), PruneOptions{});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("index is incomplete"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("Run `lifeboat repair index` first"), std::string::npos);
  EXPECT_EQ(Listing(), before);
  (void)snapshot;
}

// Issue 11, item 12: a damaged snapshot file means prune cannot know what is used: it refuses,
// naming the file, until the snapshot is explicitly removed.
TEST_F(PrunerTest, RefusesWhileASnapshotFileIsDamagedAndNamesIt) {
  Id kept = TwoSnapshotsForgetFirst();
  Id other = Backup();
  {
    auto repo = Open();
    ObjectHandle h{ObjectType::kSnapshot, other.Hex()};
    auto data = repo->backend().Load(h, 0, 0);
    ASSERT_TRUE(data.ok());
    (*data)[20] ^= 0x20;
    ASSERT_TRUE(repo->backend().Remove(h).ok());
    ASSERT_TRUE(repo->backend().Save(h, *data).ok());
  }
  auto before = Listing();
  auto r = Prune(*Open(), PruneOptions{});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("snapshots/" + other.Hex()), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("repair snapshots --forget"), std::string::npos);
  EXPECT_EQ(Listing(), before);
  (void)kept;
}

TEST_F(PrunerTest, RefusesWhenABlobToRepackIsDamagedAndDeletesNothing) {
  TwoSnapshotsForgetFirst();
  PruneOptions dry;
  dry.dry_run = true;
  dry.max_unused_percent = 0;
  auto repo = Open();
  ASSERT_TRUE(Prune(*repo, dry).ok());
  // Damage every data blob (trees stay intact, so the walk succeeds and repack hits the damage).
  std::vector<std::pair<std::string, uint32_t>> spots;
  repo->index().ForEach([&](const Id& pack, const PackedBlob& b) {
    if (b.type == BlobType::kData) spots.emplace_back(pack.Hex(), b.offset + b.stored_length / 2);
  });
  for (const auto& [pack, offset] : spots) {
    std::string path = work_ + "/repo/data/" + pack.substr(0, 2) + "/" + pack;
    FILE* f = fopen(path.c_str(), "r+b");
    ASSERT_TRUE(f);
    fseek(f, offset, SEEK_SET);
    int c = fgetc(f);
    fseek(f, offset, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
  }
  auto before = Listing();
  PruneOptions opt;
  opt.max_unused_percent = 0;
  auto r = Prune(*Open(), opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  // Only new packs/index files of the repack may have appeared; nothing was removed.
  auto after = Listing();
  for (const auto& [k, v] : before) EXPECT_TRUE(after.count(k)) << k.second << " was removed";
}

TEST_F(PrunerTest, AppendOnlyRepositoryRefusesPrune) {
  auto backend = LocalBackend::Create(work_ + "/ao");
  ASSERT_TRUE(backend.ok());
  InitOptions init;
  init.append_only = true;
  auto repo = Repository::Init(std::move(*backend), "pw", init);
  ASSERT_TRUE(repo.ok());
  ASSERT_TRUE((*repo)->append_only());
  auto r = Prune(**repo, PruneOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("append-only"), std::string::npos);
  // The backend below refuses removals too, whoever asks.
  auto reopened = Open("ao");
  EXPECT_EQ(reopened->backend().Remove({ObjectType::kSnapshot, std::string(64, 'a')}).code(),
            StatusCode::kFailedPrecondition);
}

// Stops prune at every one of its writes/removals in turn (as a crash would); after each stop the
// repository checks clean with --read-data, the kept snapshot restores bit-exact, and a second
// prune completes.
TEST_F(PrunerTest, InterruptedAtEveryWriteLeavesARestorableRepositoryAndAReRunCompletes) {
  Id kept = TwoSnapshotsForgetFirst();
  std::string pristine = work_ + "/pristine";
  ASSERT_EQ(std::system(("cp -a " + work_ + "/repo " + pristine).c_str()), 0);
  PruneOptions opt;
  opt.max_unused_percent = 0;
  int stops = 0;
  for (int budget = 0; budget < 200; ++budget) {
    std::string dir = "run" + std::to_string(budget);
    ASSERT_EQ(std::system(("cp -a " + pristine + " " + work_ + "/" + dir).c_str()), 0);
    auto repo = Open(dir, budget);
    auto r = Prune(*repo, opt);
    auto* be = dynamic_cast<StopAfterWritesBackend*>(&repo->backend());
    bool stopped = be && be->exhausted();
    repo.reset();
    if (!stopped) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      RemoveTree(work_ + "/" + dir);
      break;  // prune needed fewer writes than this: every stop point was covered
    }
    ++stops;
    ASSERT_FALSE(r.ok()) << "budget " << budget;
    ExpectHealthyAndRestorable(kept, dir);
    auto rerun = Prune(*Open(dir), opt);
    ASSERT_TRUE(rerun.ok()) << "budget " << budget << ": " << rerun.status().ToString();
    EXPECT_EQ(rerun->remaining_unused_bytes, 0u);
    ExpectHealthyAndRestorable(kept, dir);
    RemoveTree(work_ + "/" + dir);
  }
  EXPECT_GT(stops, 5) << "prune should have several write points";
}

// Every phase of a real prune, in order, each timed on the context's clock (a ManualClock that
// moves one second per backend call, so each phase's time is known to be above zero); the
// progress reports keep the contract and name those phases.
TEST_F(PrunerTest, PhasesInOrderOnTheContextClockAndProgressOnOneReporterThread) {
  Id kept = TwoSnapshotsForgetFirst();
  ManualClock clock(NowNs(), /*auto_advance=*/false);
  auto local = LocalBackend::Open(work_ + "/repo");
  ASSERT_TRUE(local.ok());
  auto repo =
      Repository::Open(std::make_unique<testing::TickingBackend>(std::move(*local), &clock), "pw");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  ASSERT_TRUE((*repo)->LoadIndex().ok());

  testing::ProgressLog log;
  PruneOptions opt;
  opt.max_unused_percent = 0;
  opt.context = Context().WithClock(clock);
  opt.progress_interval_ms = 1;
  std::vector<PruneProgress> finals;
  opt.progress = [&](const PruneProgress& p) {
    log.Record(p);
    if (p.final) finals.push_back(p);
  };
  const int64_t start_ns = clock.MonotonicNs();
  auto r = Prune(**repo, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->repack_packs, 0u);
  ASSERT_GT(r->delete_packs, 0u);
  EXPECT_EQ(testing::PhaseNames(r->phases),
            (std::vector<std::string>{"trees", "packs", "repack", "index", "delete"}));
  for (const PhaseTime& p : r->phases) EXPECT_GE(p.seconds, 1.0) << p.phase;
  EXPECT_LE(TotalSeconds(r->phases), static_cast<double>(clock.MonotonicNs() - start_ns) / 1e9);
  log.ExpectContract(std::this_thread::get_id(), r->phases);
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0].phase, "index");  // the index is reloaded last
  repo->reset();
  ExpectHealthyAndRestorable(kept);

  // A dry run: the planning phases only.
  PruneOptions dry;
  dry.dry_run = true;
  dry.context = Context().WithClock(clock);
  auto plan = Prune(*Open(), dry);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(testing::PhaseNames(plan->phases), (std::vector<std::string>{"trees", "packs"}));
}

// A prune that fails makes no final report.
TEST_F(PrunerTest, AFailedPruneMakesNoFinalReport) {
  WriteFile(src_ + "/f", RandomBytes(300000, 1));
  Backup();
  RemoveIndexFiles();
  testing::ProgressLog log;
  PruneOptions opt;
  opt.progress_interval_ms = 1;
  opt.progress = [&](const PruneProgress& p) { log.Record(p); };
  auto r = Prune(*Open(), opt);
  ASSERT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(log.finals(), 0u);
}

// Sizes are util/units.h's: bytes without a unit, no sign, no fraction of a byte.
TEST(ParseMaxUnusedTest, PercentUnlimitedOrSize) {
  PruneOptions o;
  ASSERT_TRUE(ParseMaxUnused("200M", &o).ok());
  EXPECT_EQ(o.max_unused_bytes, uint64_t{200} << 20);
  ASSERT_TRUE(ParseMaxUnused("0", &o).ok());
  EXPECT_EQ(o.max_unused_bytes, 0u);
  ASSERT_TRUE(ParseMaxUnused("12.5%", &o).ok());
  EXPECT_DOUBLE_EQ(o.max_unused_percent, 12.5);
  EXPECT_FALSE(o.max_unused_bytes.has_value());
  ASSERT_TRUE(ParseMaxUnused("unlimited", &o).ok());
  EXPECT_DOUBLE_EQ(o.max_unused_percent, 100);
  for (const char* bad : {"", "lots", "-1", "1.5", "5X", "101%", "-1%"}) {
    Status st = ParseMaxUnused(bad, &o);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("--max-unused"), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace lifeboat
