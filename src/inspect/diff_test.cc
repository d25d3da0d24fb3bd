#include "inspect/diff.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "repository/blob_saver.h"
#include "small_repo_fixture.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

// The layout is SmallRepoFixture's (tests/small_repo_fixture.h).
class DiffTest : public lifeboat::testing::SmallRepoFixture {
 protected:
  Snapshot Load(Repository& repo, const Id& id) {
    auto s = repo.LoadSnapshot(id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : Snapshot{};
  }
  static std::vector<std::string> Lines(const std::vector<DiffChange>& changes) {
    std::vector<std::string> out;
    for (const DiffChange& c : changes)
      out.push_back(std::string(1, c.modifier) + " " + c.path + " " +
                    std::string(NodeTypeName(c.type)));
    return out;
  }
  static Node Symlink(const std::string& name, const std::string& target) {
    Node n;
    n.name = name;
    n.type = NodeType::kSymlink;
    n.mode = 0777;
    n.link_target = target;
    return n;
  }
};

TEST_F(DiffTest, FixtureSnapshots) {
  auto repo = OpenWithIndex();
  auto r = DiffSnapshots(*repo, Load(*repo, snap1_), Load(*repo, snap2_), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Lines(r->changes),
            (std::vector<std::string>{"- /home/alice/ dir", "- /home/alice/a.txt file",
                                      "- /home/alice/b.txt file", "+ /home/d.txt file"}));
  EXPECT_EQ(r->removed.files, 2u);
  EXPECT_EQ(r->removed.dirs, 1u);
  EXPECT_EQ(r->added.files, 1u);
  EXPECT_EQ(r->added.dirs, 0u);
  EXPECT_EQ(r->removed.data_blobs, 3u);  // a_[0], a_[1], b_
  EXPECT_EQ(r->added.data_blobs, 1u);    // d_
  EXPECT_EQ(r->removed.tree_blobs, 3u);  // root, home, alice
  EXPECT_EQ(r->added.tree_blobs, 2u);    // root2, home2
  EXPECT_EQ(r->removed.data_bytes, 3000u + 2000u + 1500u);
  EXPECT_EQ(r->added.data_bytes, 900u);
  EXPECT_GT(r->added.bytes, r->added.data_bytes);  // the trees count too
  EXPECT_EQ(r->missing_blobs, 0u);
  EXPECT_EQ(r->changed_files + r->changed_others + r->type_changed + r->metadata_changed, 0u);
}

TEST_F(DiffTest, SameSnapshotHasNoChanges) {
  auto repo = OpenWithIndex();
  Snapshot s = Load(*repo, snap1_);
  auto r = DiffSnapshots(*repo, s, s, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changes.empty());
  EXPECT_EQ(r->added.tree_blobs + r->removed.tree_blobs + r->added.bytes + r->removed.bytes, 0u);
}

// Modified, metadata-only, type changes (file <-> dir, dir -> symlink), symlink targets, nested
// directories, and the order of the changes.
TEST_F(DiffTest, EveryKindOfChange) {
  Id old_root, new_root;
  {
    BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
    Id deep = SaveTree(saver, {File("f", {c_})});
    Id deep2 = SaveTree(saver, {File("f", {c_}), File("g", {d_})});
    Id mid = SaveTree(saver, {Dir("deep", deep)});
    Id mid2 = SaveTree(saver, {Dir("deep", deep2)});
    Id gone = SaveTree(saver, {File("x", {b_})});
    Node touched = File("touched", {a_[0]});
    Node touched2 = touched;
    touched2.mtime_ns = 42;
    Node dir_mode = Dir("mid", mid);
    Node dir_mode2 = Dir("mid", mid2);
    dir_mode2.mode = 0700;
    old_root =
        SaveTree(saver, {File("changed", {a_[0]}), touched, dir_mode, File("became_dir", {b_}),
                         Dir("became_link", gone), Symlink("link", "a"), File("same", {d_})});
    new_root =
        SaveTree(saver, {File("changed", {a_[1]}), touched2, dir_mode2, Dir("became_dir", deep),
                         Symlink("became_link", "x"), Symlink("link", "b"), File("same", {d_})});
    ASSERT_TRUE(saver.Flush().ok());
  }
  auto repo = OpenWithIndex();
  auto r = DiffTrees(*repo, old_root, new_root, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Lines(r->changes), (std::vector<std::string>{
                                   "T /became_dir/ dir",
                                   "+ /became_dir/f file",
                                   "T /became_link symlink",
                                   "- /became_link/x file",
                                   "M /changed file",
                                   "M /link symlink",
                                   "U /mid/ dir",
                                   "+ /mid/deep/g file",
                                   "U /touched file",
                               }));
  EXPECT_EQ(r->changed_files, 1u);
  EXPECT_EQ(r->changed_others, 1u);
  EXPECT_EQ(r->type_changed, 2u);
  EXPECT_EQ(r->metadata_changed, 2u);
  EXPECT_EQ(r->metadata_changed_dirs, 1u);
  EXPECT_EQ(r->added.files, 2u);
  EXPECT_EQ(r->removed.files, 1u);

  // Without metadata: no U lines, the same counts.
  DiffOptions quiet;
  quiet.metadata = false;
  auto q = DiffTrees(*repo, old_root, new_root, quiet);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->changes.size(), r->changes.size() - 2);
  EXPECT_EQ(q->metadata_changed, 2u);

  // Streaming: the same changes, in the same order, none kept.
  std::vector<DiffChange> seen;
  DiffOptions stream;
  stream.on_change = [&](const DiffChange& c) {
    seen.push_back(c);
    return Status::Ok();
  };
  auto s = DiffTrees(*repo, old_root, new_root, stream);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->changes.empty());
  EXPECT_EQ(Lines(seen), Lines(r->changes));

  // An error from on_change stops the diff and is returned.
  int calls = 0;
  DiffOptions failing;
  failing.on_change = [&](const DiffChange&) {
    return ++calls == 2 ? Status::IOError("stdout closed") : Status::Ok();
  };
  auto f = DiffTrees(*repo, old_root, new_root, failing);
  EXPECT_EQ(f.status().code(), StatusCode::kIOError);
  EXPECT_EQ(calls, 2);
}

TEST_F(DiffTest, MissingTreeIsAnError) {
  auto repo = OpenWithIndex();
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_t_.Hex()}).ok());
  auto r = DiffSnapshots(*repo, Load(*repo, snap1_), Load(*repo, snap2_), {});
  EXPECT_FALSE(r.ok());
}

TEST_F(DiffTest, CancelledContextStops) {
  auto repo = OpenWithIndex();
  Snapshot a = Load(*repo, snap1_), b = Load(*repo, snap2_);
  std::atomic<bool> cancel{true};
  DiffOptions options;
  options.context = Context().WithCancel(&cancel);
  auto r = DiffSnapshots(*repo, a, b, options);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
}

TEST_F(DiffTest, PhasesOnTheContextClock) {
  auto repo = OpenWithIndex();
  Snapshot a = Load(*repo, snap1_), b = Load(*repo, snap2_);
  ManualClock clock;
  DiffOptions options;
  options.context = Context().WithClock(clock);
  auto r = DiffSnapshots(*repo, a, b, options);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->phases.size(), 2u);
  EXPECT_EQ(r->phases[0].phase, "compare");
  EXPECT_EQ(r->phases[1].phase, "sizes");
  EXPECT_EQ(r->phases[0].seconds, 0);  // the manual clock did not move
}

}  // namespace
}  // namespace lifeboat
