#include "repair/repair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>

#include "checker/checker.h"
#include "repository/blob_saver.h"
#include "repository/index_writer.h"
#include "small_repo_fixture.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

bool StartsWithAny(const std::vector<std::string>& list, const std::string& prefix) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

// The layout is SmallRepoFixture's (tests/small_repo_fixture.h); on_remove_ can make removals
// fail (a crash before them).
class RepairTest : public lifeboat::testing::SmallRepoFixture {
 protected:
  // Every object of every type that repairs touch.
  std::vector<std::string> Listing() {
    std::vector<std::string> all;
    for (ObjectType t : {ObjectType::kPack, ObjectType::kIndex, ObjectType::kSnapshot})
      for (const auto& n : Names(t)) all.push_back(std::string(ObjectTypeName(t)) + "/" + n);
    return all;
  }
  void FlipBitInBlob(const Id& blob, size_t at) {
    auto loc = writer_->index().Find(BlobType::kData, blob);
    ASSERT_TRUE(loc.has_value());
    Bytes pack = LoadObject(ObjectType::kPack, loc->pack.Hex());
    pack[loc->offset + at] ^= 0x10;
    Replace(ObjectType::kPack, loc->pack.Hex(), pack);
  }

  std::unique_ptr<Repository> Open() {
    auto repo = Repository::Open(NewBackend(), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(*repo) : nullptr;
  }
  std::unique_ptr<RepositoryLock> Lock(Repository& repo, LockOptions options = {}) {
    auto lock = RepositoryLock::Acquire(repo, LockKind::kExclusive, std::move(options));
    EXPECT_TRUE(lock.ok()) << lock.status().ToString();
    return lock.ok() ? std::move(*lock) : nullptr;
  }
  // Opens the repository afresh and checks it with --read-data.
  CheckResult Check() {
    auto repo = Open();
    if (!repo) return {};
    CheckOptions options;
    options.read_data = true;
    options.workers = 3;
    auto r = CheckRepository(*repo, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CheckResult{};
  }

  Result<RepairIndexResult> RunRepairIndex(RepairIndexOptions options = {}) {
    auto repo = Open();
    auto lock = Lock(*repo);
    options.workers = 3;
    return RepairIndex(*repo, lock.get(), options);
  }
  Result<RepairPacksResult> RunRepairPacks(std::vector<Id> packs, bool dry_run = false,
                                           bool find_damaged = false) {
    auto repo = Open();
    auto lock = Lock(*repo);
    RepairPacksOptions options;
    options.packs = std::move(packs);
    options.dry_run = dry_run;
    options.find_damaged = find_damaged;
    options.workers = 2;
    return RepairPacks(*repo, lock.get(), options);
  }
  Result<RepairSnapshotsResult> RunRepairSnapshots(RepairSnapshotsOptions options = {}) {
    auto repo = Open();
    EXPECT_TRUE(repo->LoadIndex().ok());
    auto lock = Lock(*repo);
    options.workers = 2;
    return RepairSnapshots(*repo, lock.get(), options);
  }

  // Every data blob the snapshot's files need, by path, loaded and verified.
  std::map<std::string, Bytes> Files(Repository& repo, const Id& tree, const std::string& prefix) {
    std::map<std::string, Bytes> out;
    auto t = repo.LoadTree(tree);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (!t.ok()) return out;
    for (const Node& n : t->nodes) {
      std::string path = prefix + "/" + n.name;
      if (n.type == NodeType::kDir) {
        auto sub = Files(repo, *n.subtree, path);
        out.insert(sub.begin(), sub.end());
        out[path + "/"] = {};
      } else {
        Bytes content;
        for (const Id& id : n.content) {
          auto blob = repo.LoadBlob(BlobType::kData, id);
          EXPECT_TRUE(blob.ok()) << path << ": " << blob.status().ToString();
          if (blob.ok()) content.insert(content.end(), blob->begin(), blob->end());
        }
        out[path] = content;
      }
    }
    return out;
  }

};

TEST_F(RepairTest, RepairIndexAfterIndexFilesWereDeleted) {
  for (const auto& name : Names(ObjectType::kIndex))
    ASSERT_TRUE(mem_.Remove({ObjectType::kIndex, name}).ok());
  ASSERT_FALSE(Check().healthy());

  // A dry run reads and reports, and writes nothing.
  std::vector<std::string> before = Listing();
  auto dry = RunRepairIndex({.dry_run = true});
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->packs_indexed, 4u);
  EXPECT_TRUE(dry->index_files_written.empty());
  EXPECT_EQ(Listing(), before);

  auto r = RunRepairIndex();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->packs, 4u);
  EXPECT_EQ(r->packs_indexed, 4u);
  EXPECT_EQ(r->blobs, 11u);  // 5 data blobs, 6 trees
  EXPECT_TRUE(r->unreadable_packs.empty());
  EXPECT_EQ(r->index_files_old, 0u);
  EXPECT_EQ(r->index_files_written.size(), 1u);

  CheckResult c = Check();
  EXPECT_TRUE(c.healthy()) << Describe(c.errors);
  EXPECT_TRUE(c.warnings.empty()) << Describe(c.warnings);
  // Every blob the writer knew is findable, at the same place.
  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  size_t n = 0;
  writer_->index().ForEach([&](const Id& pack, const PackedBlob& b) {
    auto loc = repo->index().Find(b.type, b.id);
    ASSERT_TRUE(loc.has_value()) << b.id.Hex();
    EXPECT_EQ(loc->pack, pack);
    EXPECT_EQ(loc->offset, b.offset);
    ++n;
  });
  EXPECT_EQ(n, 11u);
}

// Issue 11, item 1: with every index file gone, all data looked lost, and `repair snapshots
// --forget` forgot every snapshot although every pack was intact. Now it refuses (a dry run too)
// while packs exist that no index names, and changes nothing; after `repair index` all is well.
TEST_F(RepairTest, RepairSnapshotsRefusesWhileTheIndexIsIncomplete) {
  for (const auto& name : Names(ObjectType::kIndex))
    ASSERT_TRUE(mem_.Remove({ObjectType::kIndex, name}).ok());
  std::vector<std::string> before = Listing();
  for (bool dry_run : {true, false}) {
    auto r = RunRepairSnapshots({.snapshots = {}, .forget = true, .dry_run = dry_run});
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
    EXPECT_NE(r.status().message().find("Run `lifeboat repair index` first"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(Listing(), before);
  }
  ASSERT_TRUE(RunRepairIndex().ok());
  auto r = RunRepairSnapshots({.snapshots = {}, .forget = true});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->snapshots.empty());
  EXPECT_EQ(Names(ObjectType::kSnapshot).size(), 2u);
  EXPECT_TRUE(Check().healthy());
}

// A damaged snapshot file does not depend on the index: an incomplete index does not stop it
// from being forgotten (the other snapshots, intact in unindexed packs, are left alone).
TEST_F(RepairTest, UnreadableSnapshotFileIsForgottenEvenWithAnIncompleteIndex) {
  Bytes bad = LoadObject(ObjectType::kSnapshot, snap2_.Hex());
  bad[bad.size() / 2] ^= 1;
  Replace(ObjectType::kSnapshot, snap2_.Hex(), bad);
  ASSERT_TRUE(mem_.Remove({ObjectType::kIndex, Names(ObjectType::kIndex)[0]}).ok());
  auto r = RunRepairSnapshots({.snapshots = {snap2_}, .forget = true});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->snapshots.size(), 1u);
  EXPECT_TRUE(r->snapshots[0].unreadable);
  EXPECT_EQ(Names(ObjectType::kSnapshot), std::vector<std::string>{snap1_.Hex()});
}

// An old index file that cannot be read for a reason other than damage (I/O) stops repair index
// before it writes anything: the old files are removed at the end, and what this one says about
// unreadable packs would be lost with it.
TEST_F(RepairTest, RepairIndexStopsWhenAnOldIndexFileCannotBeRead) {
  class FailingIndexLoad : public ForwardingBackend {
   public:
    FailingIndexLoad(Backend* inner, std::string name)
        : ForwardingBackend(inner), name_(std::move(name)) {}
    Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
      if (h.type == ObjectType::kIndex && h.name == name_)
        return Status::IOError("simulated read error");
      return ForwardingBackend::Load(h, offset, length);
    }

   private:
    std::string name_;
  };
  std::vector<std::string> before = Listing();
  auto repo = Repository::Open(
      std::make_unique<FailingIndexLoad>(&mem_, Names(ObjectType::kIndex)[0]), "pw");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto lock = Lock(**repo);
  auto r = RepairIndex(**repo, lock.get(), {});
  EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
  EXPECT_NE(r.status().message().find("nothing was changed"), std::string::npos);
  lock.reset();
  EXPECT_EQ(Listing(), before);
}

TEST_F(RepairTest, RepairIndexReplacesDamagedAndSupersededIndexFiles) {
  std::vector<std::string> old = Names(ObjectType::kIndex);
  ASSERT_GE(old.size(), 2u);
  Bytes bad = LoadObject(ObjectType::kIndex, old[0]);
  bad[bad.size() / 2] ^= 1;
  Replace(ObjectType::kIndex, old[0], bad);

  auto r = RunRepairIndex();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->index_files_old, old.size());
  EXPECT_EQ(r->index_files_undecodable, 1u);
  EXPECT_EQ(r->index_files_removed, old.size());
  std::vector<std::string> now = Names(ObjectType::kIndex);
  for (const auto& name : old) EXPECT_EQ(std::count(now.begin(), now.end(), name), 0) << name;
  CheckResult c = Check();
  EXPECT_TRUE(c.healthy()) << Describe(c.errors);
  EXPECT_TRUE(c.warnings.empty()) << Describe(c.warnings);
}

TEST_F(RepairTest, RepairIndexWithoutLockOrWithALostLockWritesNothing) {
  auto repo = Open();
  auto unlocked = RepairIndex(*repo, nullptr, {});
  EXPECT_EQ(unlocked.status().code(), StatusCode::kInvalidArgument);

  ManualClock clock(NowNs(), /*auto_advance=*/false);
  LockOptions lo;
  lo.clock = &clock;
  auto lock = Lock(*repo, lo);
  std::vector<std::string> before = Listing();
  clock.SetWall(clock.WallNs() + 11LL * 60 * 1000000000);  // no refresh for 11 minutes: lost
  auto r = RepairIndex(*repo, lock.get(), {});
  EXPECT_EQ(r.status().code(), StatusCode::kLocked) << r.status().ToString();
  EXPECT_EQ(Listing(), before);
}

TEST_F(RepairTest, BitFlipRepairPacksThenSnapshots) {
  FlipBitInBlob(a_[1], 30);
  CheckResult damaged = Check();
  ASSERT_EQ(damaged.damaged_packs, std::vector<Id>{pack_a_}) << Describe(damaged.errors);

  // Dry run: the same report, nothing written.
  std::vector<std::string> before = Listing();
  auto dry = RunRepairPacks(damaged.damaged_packs, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->blobs_salvaged, 1u);
  EXPECT_EQ(dry->blobs_lost, 1u);
  EXPECT_EQ(Listing(), before);

  auto r = RunRepairPacks(damaged.damaged_packs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->packs.size(), 1u);
  const PackRepairReport& p = r->packs[0];
  EXPECT_EQ(p.pack, pack_a_);
  EXPECT_TRUE(p.found);
  EXPECT_TRUE(p.header_readable);
  EXPECT_EQ(p.blobs_known, 2u);
  EXPECT_EQ(p.salvaged, 1u);
  EXPECT_EQ(p.lost, (std::vector<BlobRef>{{BlobType::kData, a_[1]}}));
  EXPECT_TRUE(p.removed);
  EXPECT_EQ(r->new_packs, 1u);
  EXPECT_EQ(r->packs_removed, 1u);
  EXPECT_FALSE(mem_.Stat({ObjectType::kPack, pack_a_.Hex()}).ok()) << "the damaged pack is gone";

  // Only the truly lost blob remains an error, naming only the file that needs it.
  CheckResult after = Check();
  ASSERT_EQ(after.errors.size(), 1u) << Describe(after.errors);
  const CheckProblem* missing = FindProblem(after.errors, "blob", a_[1].Hex());
  ASSERT_NE(missing, nullptr) << Describe(after.errors);
  EXPECT_EQ(missing->affected, std::vector<std::string>{In1("/home/alice/a.txt")});
  EXPECT_TRUE(after.warnings.empty()) << Describe(after.warnings);
  EXPECT_TRUE(after.damaged_packs.empty());

  RepairSnapshotsOptions so;
  so.forget = true;
  auto s = RunRepairSnapshots(so);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->snapshots_checked, 2u);
  ASSERT_EQ(s->snapshots.size(), 1u) << "snapshot 2 is undamaged";
  const SnapshotRepairReport& sr = s->snapshots[0];
  EXPECT_EQ(sr.snapshot, snap1_);
  EXPECT_EQ(sr.files_dropped, 1u);
  EXPECT_EQ(sr.dirs_emptied, 0u);
  ASSERT_EQ(sr.lost.size(), 1u);
  EXPECT_EQ(sr.lost[0].rfind("/home/alice/a.txt: file dropped", 0), 0u) << sr.lost[0];
  ASSERT_TRUE(sr.repaired.has_value());
  EXPECT_TRUE(sr.forgotten);
  EXPECT_EQ(s->snapshots_written, 1u);
  EXPECT_EQ(s->trees_written, 3u);  // alice, home, root

  CheckResult healthy = Check();
  EXPECT_TRUE(healthy.healthy()) << Describe(healthy.errors);

  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  EXPECT_FALSE(repo->LoadSnapshot(snap1_).ok()) << "forgotten";
  auto untouched = repo->LoadSnapshot(snap2_);
  ASSERT_TRUE(untouched.ok()) << "undamaged snapshots keep their id";
  auto fixed = repo->LoadSnapshot(*sr.repaired);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->repaired_from, snap1_);
  EXPECT_EQ(fixed->tags, (std::vector<std::string>{"nightly", "repaired"}));
  EXPECT_EQ(fixed->time_ns, 1000);
  EXPECT_EQ(fixed->hostname, "host");
  EXPECT_EQ(fixed->paths, std::vector<std::string>{"/home"});
  std::map<std::string, Bytes> files = Files(*repo, fixed->tree, "");
  std::map<std::string, Bytes> want = {{"/home/", {}},
                                       {"/home/alice/", {}},
                                       {"/home/alice/b.txt", RandomData(1500, 3)},
                                       {"/home/bob/", {}},
                                       {"/home/bob/c.txt", RandomData(1200, 4)}};
  EXPECT_EQ(files, want);
}

TEST_F(RepairTest, TruncatedPackIsSalvagedThroughTheIndex) {
  // The end of the pack (header and trailer) is cut off; the blobs before it are intact.
  Bytes pack = LoadObject(ObjectType::kPack, pack_a_.Hex());
  pack.resize(pack.size() - 20);
  Replace(ObjectType::kPack, pack_a_.Hex(), pack);
  CheckResult damaged = Check();
  ASSERT_EQ(damaged.damaged_packs, std::vector<Id>{pack_a_}) << Describe(damaged.errors);

  // repair index keeps the old entries that verify, so the blobs stay findable and salvageable.
  auto ri = RunRepairIndex();
  ASSERT_TRUE(ri.ok()) << ri.status().ToString();
  ASSERT_EQ(ri->unreadable_packs.size(), 1u);
  EXPECT_EQ(ri->unreadable_packs[0].pack, pack_a_);
  EXPECT_NE(ri->unreadable_packs[0].message.find("2 of the 2"), std::string::npos)
      << ri->unreadable_packs[0].message;
  EXPECT_NE(ri->unreadable_packs[0].message.find("repair packs"), std::string::npos);

  auto r = RunRepairPacks({pack_a_});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->packs[0].header_readable);
  EXPECT_EQ(r->packs[0].salvaged, 2u);
  EXPECT_TRUE(r->packs[0].lost.empty());
  CheckResult c = Check();
  EXPECT_TRUE(c.healthy()) << Describe(c.errors);
  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  EXPECT_EQ(Files(*repo, alice_, "")["/a.txt"].size(), 5000u);
}

TEST_F(RepairTest, RepairIndexReadAllPacksLeavesDamagedBlobsOut) {
  FlipBitInBlob(a_[1], 40);
  auto r = RunRepairIndex({.read_all_packs = true});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->damaged_blobs, 1u);
  ASSERT_EQ(r->damaged_packs.size(), 1u);
  EXPECT_EQ(r->damaged_packs[0].pack, pack_a_);
  EXPECT_EQ(r->blobs, 10u);
  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  EXPECT_FALSE(repo->index().Has(BlobType::kData, a_[1]));
  EXPECT_TRUE(repo->index().Has(BlobType::kData, a_[0]));
}

TEST_F(RepairTest, MissingPackAndDuplicateCopies) {
  // Blob c also lives in a second pack (as after an interrupted backup); then pack_c_ vanishes.
  PackWriter w(writer_->aead());
  Bytes plain = RandomData(1200, 4);
  Bytes stored;
  ASSERT_TRUE(writer_->codec().Encode(plain, c_, &stored).ok());
  w.Add(BlobType::kData, c_, std::move(stored), 1200);
  auto dup = w.Finish();
  ASSERT_TRUE(dup.ok());
  ASSERT_TRUE(mem_.Save({ObjectType::kPack, dup->name.Hex()}, dup->Joined()).ok());
  IndexFile f;
  f.packs.push_back(IndexFile::Pack{dup->name, dup->blobs});
  ASSERT_TRUE(writer_->SaveUnpacked(ObjectType::kIndex, EncodeIndexFile(f)).ok());
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_c_.Hex()}).ok());

  auto r = RunRepairPacks({pack_c_});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PackRepairReport& p = r->packs.at(0);
  EXPECT_FALSE(p.found);
  EXPECT_EQ(p.elsewhere, 1u) << "c is in the duplicate pack";
  EXPECT_EQ(p.lost, (std::vector<BlobRef>{{BlobType::kData, d_}}));
  CheckResult c = Check();
  ASSERT_EQ(c.errors.size(), 1u) << Describe(c.errors);
  EXPECT_NE(FindProblem(c.errors, "blob", d_.Hex()), nullptr) << Describe(c.errors);

  // An id that is neither in the backend nor in the index is refused.
  Id typo;
  typo.bytes[0] = 0x42;
  EXPECT_EQ(RunRepairPacks({typo}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RepairTest, RepairSnapshotsWithoutForgetKeepsOriginalAndIsIdempotent) {
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_b_.Hex()}).ok());
  std::vector<std::string> before = Listing();
  auto dry = RunRepairSnapshots({.snapshots = {}, .forget = false, .dry_run = true});
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  ASSERT_EQ(dry->snapshots.size(), 1u);
  EXPECT_EQ(dry->snapshots[0].files_dropped, 1u);
  EXPECT_FALSE(dry->snapshots[0].repaired.has_value());
  EXPECT_EQ(Listing(), before);

  auto first = RunRepairSnapshots();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->snapshots.size(), 1u);
  ASSERT_TRUE(first->snapshots[0].repaired.has_value());
  EXPECT_FALSE(first->snapshots[0].forgotten);
  EXPECT_EQ(Names(ObjectType::kSnapshot).size(), 3u);

  auto again = RunRepairSnapshots();
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->snapshots.size(), 1u);
  EXPECT_TRUE(again->snapshots[0].already_repaired);
  EXPECT_EQ(again->snapshots[0].repaired, first->snapshots[0].repaired);
  EXPECT_EQ(again->snapshots_written, 0u);
  EXPECT_EQ(Names(ObjectType::kSnapshot).size(), 3u) << "not repaired twice";

  auto forget = RunRepairSnapshots({.snapshots = {}, .forget = true});
  ASSERT_TRUE(forget.ok());
  EXPECT_EQ(forget->snapshots_forgotten, 1u);
  EXPECT_EQ(Names(ObjectType::kSnapshot).size(), 2u);
  // The index still names the missing pack until repair index (or packs) drops it.
  CheckResult c = Check();
  EXPECT_NE(FindProblem(c.errors, "pack", pack_b_.Hex()), nullptr) << Describe(c.errors);
  EXPECT_EQ(c.errors.size(), 1u) << Describe(c.errors);
  ASSERT_TRUE(RunRepairIndex().ok());
  c = Check();
  EXPECT_TRUE(c.healthy()) << Describe(c.errors);
}

TEST_F(RepairTest, LostSubtreeBecomesAnEmptyDirectory) {
  // Snapshot 3: /keep (the bob tree) and /sub, whose tree is alone in its own pack.
  BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
  Id sub = SaveTree(saver, {File("x", {d_})});
  ASSERT_TRUE(saver.Flush().ok());
  Id sub_pack = writer_->index().Find(BlobType::kTree, sub)->pack;
  Id root = SaveTree(saver, {Dir("keep", bob_), Dir("sub", sub)});
  ASSERT_TRUE(saver.Flush().ok());
  Snapshot s3;
  s3.time_ns = 3000;
  s3.tree = root;
  Id snap3 = *writer_->SaveSnapshot(s3);
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, sub_pack.Hex()}).ok());

  auto r = RunRepairSnapshots({.snapshots = {snap3}, .forget = true});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots_checked, 1u);
  ASSERT_EQ(r->snapshots.size(), 1u);
  EXPECT_EQ(r->snapshots[0].dirs_emptied, 1u);
  EXPECT_TRUE(StartsWithAny(r->snapshots[0].lost, "/sub/: directory emptied"));
  auto packs = RunRepairPacks({sub_pack});
  ASSERT_TRUE(packs.ok()) << packs.status().ToString();
  EXPECT_EQ(packs->packs[0].lost, (std::vector<BlobRef>{{BlobType::kTree, sub}}));
  CheckResult c = Check();
  EXPECT_TRUE(c.healthy()) << Describe(c.errors);
  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  auto fixed = repo->LoadSnapshot(*r->snapshots[0].repaired);
  ASSERT_TRUE(fixed.ok());
  std::map<std::string, Bytes> want = {
      {"/keep/", {}}, {"/keep/c.txt", RandomData(1200, 4)}, {"/sub/", {}}};
  EXPECT_EQ(Files(*repo, fixed->tree, ""), want);
}

TEST_F(RepairTest, LostRootTreeLeavesNothingToKeep) {
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_t_.Hex()}).ok());
  auto keep = RunRepairSnapshots();
  ASSERT_TRUE(keep.ok()) << keep.status().ToString();
  ASSERT_EQ(keep->snapshots.size(), 2u);
  EXPECT_TRUE(keep->snapshots[0].root_lost);
  EXPECT_FALSE(keep->snapshots[0].repaired.has_value());
  EXPECT_EQ(Names(ObjectType::kSnapshot).size(), 2u) << "nothing is removed without forget";

  auto forget = RunRepairSnapshots({.snapshots = {}, .forget = true});
  ASSERT_TRUE(forget.ok());
  EXPECT_EQ(forget->snapshots_forgotten, 2u);
  EXPECT_TRUE(Names(ObjectType::kSnapshot).empty());
}

TEST_F(RepairTest, InterruptedRepairPacksLeavesIgnoredLeftovers) {
  FlipBitInBlob(a_[1], 30);
  std::vector<std::string> old_index = Names(ObjectType::kIndex);
  // A crash right after the replacement index is stored: every removal fails.
  on_remove_ = [](const ObjectHandle& h) {
    if (h.type == ObjectType::kLock) return Status::Ok();
    return Status::IOError("simulated crash");
  };
  auto r = RunRepairPacks({pack_a_});
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  on_remove_ = nullptr;
  for (const auto& name : old_index)
    EXPECT_TRUE(mem_.Stat({ObjectType::kIndex, name}).ok()) << "old file left over: " << name;
  EXPECT_TRUE(mem_.Stat({ObjectType::kPack, pack_a_.Hex()}).ok()) << "the damaged pack is still there";

  // The leftovers are ignored: the replacement index is in force (blob a[0] in its new pack,
  // the damaged pack unreferenced), and check only reports the truly lost blob.
  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  EXPECT_EQ(repo->superseded_index_files().size(), old_index.size() + 1)
      << "the old files and the salvage's own index file";
  EXPECT_NE(repo->index().Find(BlobType::kData, a_[0])->pack, pack_a_);
  EXPECT_FALSE(repo->index().Has(BlobType::kData, a_[1]));
  CheckResult c = Check();
  ASSERT_EQ(c.errors.size(), 1u) << Describe(c.errors);
  EXPECT_NE(FindProblem(c.errors, "blob", a_[1].Hex()), nullptr);
  EXPECT_NE(FindProblem(c.warnings, "pack", pack_a_.Hex()), nullptr) << Describe(c.warnings);

  // Running the repair again finishes the job.
  auto again = RunRepairPacks({pack_a_});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->packs[0].elsewhere, 1u);
  EXPECT_EQ(again->packs[0].lost.size(), 1u);
  EXPECT_FALSE(mem_.Stat({ObjectType::kPack, pack_a_.Hex()}).ok());
  CheckResult done = Check();
  EXPECT_EQ(done.errors.size(), 1u) << Describe(done.errors);
  EXPECT_TRUE(done.warnings.empty()) << Describe(done.warnings);
}

TEST_F(RepairTest, ResolvePackIdTakesFullIdsAndUniquePrefixes) {
  auto repo = Open();
  auto full = ResolvePackId(*repo, pack_a_.Hex());
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(*full, pack_a_);
  // A full id is taken as is, even when no such pack exists (a missing pack is named so).
  Id absent = writer_->codec().ComputeId(RandomData(7, 77));
  auto named = ResolvePackId(*repo, absent.Hex());
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, absent);
  // The shortest prefix (>= 4 digits) that names pack_b_ alone, in upper case.
  std::vector<std::string> packs = Names(ObjectType::kPack);
  std::string prefix;
  for (size_t n = 4; n <= 64 && prefix.empty(); ++n) {
    std::string p = pack_b_.Hex().substr(0, n);
    size_t matches = std::count_if(packs.begin(), packs.end(),
                                   [&](const std::string& name) { return name.rfind(p, 0) == 0; });
    if (matches == 1) prefix = p;
  }
  std::string upper = prefix;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  auto short_id = ResolvePackId(*repo, upper);
  ASSERT_TRUE(short_id.ok()) << short_id.status().ToString();
  EXPECT_EQ(*short_id, pack_b_);

  std::vector<std::string> bad_ids = {"abc", "xyz12345", "", std::string(65, 'a')};
  for (const std::string& bad : bad_ids)
    EXPECT_EQ(ResolvePackId(*repo, bad).status().code(), StatusCode::kInvalidArgument) << bad;
  // A prefix that no pack has: matches 0 packs.
  std::string none;
  for (const char* candidate : {"0000", "ffff", "1234", "abcd"})
    if (std::none_of(packs.begin(), packs.end(),
                     [&](const std::string& name) { return name.rfind(candidate, 0) == 0; }))
      none = candidate;
  ASSERT_FALSE(none.empty());
  auto zero = ResolvePackId(*repo, none);
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zero.status().message().find("matches 0 packs"), std::string::npos);
}

std::vector<std::string> PhaseNames(const std::vector<PhaseTime>& phases) {
  std::vector<std::string> names;
  for (const PhaseTime& p : phases) names.push_back(p.phase);
  return names;
}

// Every repair reports its phases, in order, timed on the context's clock.
TEST_F(RepairTest, EveryRepairReportsItsPhasesOnTheContextClock) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);

  auto dry_index = RunRepairIndex({.dry_run = true, .context = ctx});
  ASSERT_TRUE(dry_index.ok()) << dry_index.status().ToString();
  EXPECT_EQ(PhaseNames(dry_index->phases),
            (std::vector<std::string>{"list", "packs", "index", "recover"}));
  auto index = RunRepairIndex({.context = ctx});
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(PhaseNames(index->phases),
            (std::vector<std::string>{"list", "packs", "index", "recover", "write"}));
  for (const PhaseTime& p : index->phases) EXPECT_EQ(p.seconds, 0) << "the manual clock stood";

  FlipBitInBlob(b_, 30);
  {
    auto repo = Open();
    auto lock = Lock(*repo);
    RepairPacksOptions options;
    options.packs = {pack_b_};
    options.workers = 2;
    options.context = ctx;
    auto packs = RepairPacks(*repo, lock.get(), options);
    ASSERT_TRUE(packs.ok()) << packs.status().ToString();
    EXPECT_EQ(PhaseNames(packs->phases),
              (std::vector<std::string>{"index", "salvage", "write", "remove"}));
  }

  auto snapshots = RunRepairSnapshots({.snapshots = {}, .forget = true, .context = ctx});
  ASSERT_TRUE(snapshots.ok()) << snapshots.status().ToString();
  ASSERT_EQ(snapshots->snapshots.size(), 1u);
  EXPECT_EQ(PhaseNames(snapshots->phases),
            (std::vector<std::string>{"list", "walk", "write", "forget"}));
}

// A damaged tree shared by two directories of one snapshot and by another snapshot: rewritten
// once, its loss listed under every path that reaches it.
TEST_F(RepairTest, SharedDamagedSubtreeIsRewrittenOnceAndListedEverywhere) {
  BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
  Id root = SaveTree(saver, {Dir("x", alice_), Dir("y", alice_), Dir("z", bob_)});
  ASSERT_TRUE(saver.Flush().ok());
  Snapshot s3;
  s3.time_ns = 3000;
  s3.tree = root;
  Id snap3 = *writer_->SaveSnapshot(s3);
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_b_.Hex()}).ok());  // b.txt, in alice_

  auto r = RunRepairSnapshots();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots_checked, 3u);
  ASSERT_EQ(r->snapshots.size(), 2u);
  EXPECT_EQ(r->snapshots[0].snapshot, snap1_);
  EXPECT_EQ(r->snapshots[0].lost,
            (std::vector<std::string>{"/home/alice/b.txt: file dropped (data blob " + b_.Short() +
                                      " is gone)"}));
  EXPECT_EQ(r->snapshots[1].snapshot, snap3);
  EXPECT_EQ(r->snapshots[1].files_dropped, 2u);
  EXPECT_EQ(
      r->snapshots[1].lost,
      (std::vector<std::string>{"/x/b.txt: file dropped (data blob " + b_.Short() + " is gone)",
                                "/y/b.txt: file dropped (data blob " + b_.Short() + " is gone)"}));
  // The new alice tree, snapshot 1's home and root, snapshot 3's root.
  EXPECT_EQ(r->trees_written, 4u);

  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  auto fixed = repo->LoadSnapshot(*r->snapshots[1].repaired);
  ASSERT_TRUE(fixed.ok());
  auto tree = repo->LoadTree(fixed->tree);
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->nodes.size(), 3u);
  EXPECT_EQ(tree->nodes[0].subtree, tree->nodes[1].subtree);  // x and y: one rewritten tree
  EXPECT_EQ(tree->nodes[2].subtree, bob_);                    // z untouched
  std::map<std::string, Bytes> want = {{"/x/", {}}, {"/x/a.txt", Bytes()},
                                       {"/y/", {}}, {"/y/a.txt", Bytes()},
                                       {"/z/", {}}, {"/z/c.txt", RandomData(1200, 4)}};
  Bytes a = RandomData(3000, 1), a2 = RandomData(2000, 2);
  a.insert(a.end(), a2.begin(), a2.end());
  want["/x/a.txt"] = a;
  want["/y/a.txt"] = a;
  EXPECT_EQ(Files(*repo, fixed->tree, ""), want);
}

// `repair packs` with no pack named: the library finds the damaged packs itself (phase "find")
// and salvages them; on a healthy repository it stops there, changing nothing.
TEST_F(RepairTest, RepairPacksFindsTheDamagedPacksWhenNoneAreNamed) {
  EXPECT_EQ(RunRepairPacks({}).status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> before = Listing();
  auto healthy = RunRepairPacks({}, /*dry_run=*/false, /*find_damaged=*/true);
  ASSERT_TRUE(healthy.ok()) << healthy.status().ToString();
  EXPECT_TRUE(healthy->searched);
  EXPECT_TRUE(healthy->packs.empty());
  EXPECT_FALSE(healthy->other_problems);
  ASSERT_EQ(healthy->phases.size(), 1u);
  EXPECT_EQ(healthy->phases[0].phase, "find");
  EXPECT_EQ(Listing(), before);

  FlipBitInBlob(a_[1], 30);
  auto r = RunRepairPacks({}, /*dry_run=*/false, /*find_damaged=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->searched);
  ASSERT_EQ(r->packs.size(), 1u);
  EXPECT_EQ(r->packs[0].pack, pack_a_);
  EXPECT_EQ(r->blobs_salvaged, 1u);
  EXPECT_EQ(r->blobs_lost, 1u);
  ASSERT_FALSE(r->phases.empty());
  EXPECT_EQ(r->phases[0].phase, "find");
  EXPECT_TRUE(Check().damaged_packs.empty());
}

}  // namespace
}  // namespace lifeboat
