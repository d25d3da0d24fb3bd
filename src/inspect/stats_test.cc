#include "inspect/stats.h"

#include <gtest/gtest.h>

#include <atomic>

#include "repository/blob_saver.h"
#include "small_repo_fixture.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

// The layout is SmallRepoFixture's (tests/small_repo_fixture.h).
class StatsTest : public lifeboat::testing::SmallRepoFixture {
 protected:
  std::vector<std::pair<Id, Snapshot>> Snapshots(Repository& repo, std::vector<Id> ids) {
    std::vector<std::pair<Id, Snapshot>> out;
    for (const Id& id : ids) {
      auto s = repo.LoadSnapshot(id);
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      if (s.ok()) out.emplace_back(id, *s);
    }
    return out;
  }
  static Node SizedFile(const std::string& name, std::vector<Id> content, uint64_t size) {
    Node n = File(name, std::move(content));
    n.size = size;
    return n;
  }
};

TEST_F(StatsTest, FixtureSnapshots) {
  auto repo = OpenWithIndex();
  auto r = SnapshotStats(*repo, Snapshots(*repo, {snap1_, snap2_}), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshots, 2u);
  // snap1: /home, /home/alice, /home/bob and three files; snap2: /home, /home/bob, two files.
  EXPECT_EQ(r->restore.dirs, 3u + 2u);
  EXPECT_EQ(r->restore.files, 3u + 2u);
  EXPECT_EQ(r->blobs.data_blobs, 5u);
  EXPECT_EQ(r->blobs.tree_blobs, 6u);
  EXPECT_EQ(r->blobs.data_raw, 3000u + 2000u + 1500u + 1200u + 900u);
  EXPECT_GT(r->blobs.raw, r->blobs.data_raw);
  EXPECT_GT(r->blobs.stored, 0u);
  EXPECT_EQ(r->blobs.missing, 0u);
  EXPECT_EQ(r->pack_count, 4u);
  uint64_t bytes = 0;
  for (const auto& name : Names(ObjectType::kPack))
    bytes += LoadObject(ObjectType::kPack, name).size();
  EXPECT_EQ(r->repository_bytes, bytes);
  EXPECT_DOUBLE_EQ(r->compression_ratio, static_cast<double>(r->blobs.raw) / r->blobs.stored);
}

// A subtree shared by two directories counts at each occurrence in the restore size, once in
// the unique blobs; the dedup ratio is restore bytes over unique data bytes.
TEST_F(StatsTest, SharedSubtreesCountPerOccurrence) {
  Id root;
  {
    BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
    Id shared = SaveTree(saver, {SizedFile("a", a_, 5000), SizedFile("b", {b_}, 1500)});
    root = SaveTree(saver, {Dir("one", shared), Dir("two", shared), SizedFile("c", {c_}, 1200)});
    ASSERT_TRUE(saver.Flush().ok());
  }
  Snapshot s;
  s.time_ns = 3000;
  s.hostname = "host";
  s.tree = root;
  auto id = writer_->SaveSnapshot(s);
  ASSERT_TRUE(id.ok());
  auto repo = OpenWithIndex();
  StatsOptions options;
  options.repository_size = false;
  auto r = SnapshotStats(*repo, {{*id, s}}, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->restore.files, 5u);
  EXPECT_EQ(r->restore.dirs, 2u);
  EXPECT_EQ(r->restore.bytes, 2u * 6500u + 1200u);
  EXPECT_EQ(r->blobs.data_blobs, 4u);  // a_[0], a_[1], b_, c_
  EXPECT_EQ(r->blobs.tree_blobs, 2u);
  EXPECT_EQ(r->blobs.data_raw, 7700u);
  EXPECT_DOUBLE_EQ(r->dedup_ratio, 14200.0 / 7700.0);
  EXPECT_EQ(r->pack_count, 0u);  // not asked for

  // The same snapshot twice: restore totals double, unique blobs do not.
  auto twice = SnapshotStats(*repo, {{*id, s}, {*id, s}}, options);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->restore.bytes, 2 * r->restore.bytes);
  EXPECT_EQ(twice->blobs.data_blobs, r->blobs.data_blobs);

  // Restore size only.
  options.blob_sizes = false;
  auto restore_only = SnapshotStats(*repo, {{*id, s}}, options);
  ASSERT_TRUE(restore_only.ok());
  EXPECT_EQ(restore_only->restore.bytes, r->restore.bytes);
  EXPECT_EQ(restore_only->blobs.data_blobs, 0u);
}

TEST_F(StatsTest, MissingTreeNamesTheSnapshot) {
  auto repo = OpenWithIndex();
  auto snaps = Snapshots(*repo, {snap1_});
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_t_.Hex()}).ok());
  auto r = SnapshotStats(*repo, snaps, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("snapshot " + snap1_.Short()), std::string::npos)
      << r.status().ToString();
}

TEST_F(StatsTest, MissingDataBlobsAreCounted) {
  Id root;
  Id absent = writer_->codec().ComputeId(RandomData(10, 99));  // never saved
  {
    BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
    root = SaveTree(saver, {SizedFile("lost", {absent}, 10), SizedFile("kept", {d_}, 900)});
    ASSERT_TRUE(saver.Flush().ok());
  }
  Snapshot s;
  s.tree = root;
  auto repo = OpenWithIndex();
  auto r = SnapshotStats(*repo, {{Id(), s}}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->blobs.missing, 1u);
  EXPECT_EQ(r->blobs.data_blobs, 2u);  // the missing one included
  EXPECT_EQ(r->blobs.data_raw, 900u);
}

TEST_F(StatsTest, CancelledContextStops) {
  auto repo = OpenWithIndex();
  auto snaps = Snapshots(*repo, {snap1_});
  std::atomic<bool> cancel{true};
  StatsOptions options;
  options.context = Context().WithCancel(&cancel);
  auto r = SnapshotStats(*repo, snaps, options);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
}

TEST_F(StatsTest, PhasesInOrder) {
  auto repo = OpenWithIndex();
  ManualClock clock;
  StatsOptions options;
  options.context = Context().WithClock(clock);
  auto r = SnapshotStats(*repo, Snapshots(*repo, {snap1_}), options);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->phases.size(), 3u);
  EXPECT_EQ(r->phases[0].phase, "walk");
  EXPECT_EQ(r->phases[1].phase, "sizes");
  EXPECT_EQ(r->phases[2].phase, "packs");
}

}  // namespace
}  // namespace lifeboat
