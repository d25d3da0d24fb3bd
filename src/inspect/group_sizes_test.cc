#include "inspect/group_sizes.h"

#include <gtest/gtest.h>

#include <atomic>

#include "small_repo_fixture.h"

namespace lifeboat {
namespace {

// The layout is SmallRepoFixture's (tests/small_repo_fixture.h): snapshot 1 holds /home/alice
// (a_[0], a_[1], b_) and /home/bob (c_); snapshot 2 holds the same bob tree and d_.
class GroupSizesTest : public lifeboat::testing::SmallRepoFixture {
 protected:
  void SetUp() override {
    SmallRepoFixture::SetUp();
    repo_ = OpenWithIndex();
    ASSERT_NE(repo_, nullptr);
    for (const Id& snap : {snap1_, snap2_}) {
      auto s = repo_->LoadSnapshot(snap);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      roots_.push_back(s->tree);
      auto root = repo_->LoadTree(s->tree);
      ASSERT_TRUE(root.ok());
      ASSERT_EQ(root->nodes.size(), 1u);  // "home"
      homes_.push_back(*root->nodes[0].subtree);
    }
  }
  uint64_t Stored(BlobType type, const Id& id) {
    auto loc = repo_->index().Find(type, id);
    EXPECT_TRUE(loc.has_value()) << id.Hex();
    return loc ? loc->stored_length : 0;
  }
  uint64_t Data(const std::vector<Id>& ids) {
    uint64_t sum = 0;
    for (const Id& id : ids) sum += Stored(BlobType::kData, id);
    return sum;
  }
  uint64_t Trees(const std::vector<Id>& ids) {
    uint64_t sum = 0;
    for (const Id& id : ids) sum += Stored(BlobType::kTree, id);
    return sum;
  }

  std::unique_ptr<Repository> repo_;
  std::vector<Id> roots_, homes_;  // of snapshot 1 and 2
};

// Two groups sharing the bob tree and c_: each counts them fully in `referenced`, neither in
// `exclusive`, and half each in `attributed`; the attributed bytes add up to the union.
TEST_F(GroupSizesTest, SharedBlobsAreSplitBetweenTheGroups) {
  auto r = SnapshotGroupSizes(*repo_, {{"one", {roots_[0]}}, {"two", {roots_[1]}}}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->groups.size(), 2u);
  const uint64_t only_one =
      Data({a_[0], a_[1], b_}) + Trees({roots_[0], homes_[0], alice_});
  const uint64_t only_two = Data({d_}) + Trees({roots_[1], homes_[1]});
  const uint64_t c = Stored(BlobType::kData, c_), bob = Stored(BlobType::kTree, bob_);
  const GroupSize& one = r->groups[0];
  const GroupSize& two = r->groups[1];
  EXPECT_EQ(one.name, "one");
  EXPECT_EQ(one.blobs, 3u + 3u + 2u);  // a_[0], a_[1], b_, root, home, alice; c_, bob
  EXPECT_EQ(two.blobs, 1u + 2u + 2u);  // d_, root2, home2; c_, bob
  EXPECT_EQ(one.exclusive, only_one);
  EXPECT_EQ(two.exclusive, only_two);
  EXPECT_EQ(one.referenced, only_one + c + bob);
  EXPECT_EQ(two.referenced, only_two + c + bob);
  // Half of each shared blob, the odd byte to the first group.
  EXPECT_EQ(one.attributed, only_one + (c + 1) / 2 + (bob + 1) / 2);
  EXPECT_EQ(two.attributed, only_two + c / 2 + bob / 2);
  EXPECT_EQ(r->shared, c + bob);
  EXPECT_EQ(r->referenced, only_one + only_two + c + bob);
  EXPECT_EQ(one.attributed + two.attributed, r->referenced);
  EXPECT_EQ(one.missing + two.missing, 0u);
}

// One group with both snapshots: everything is its own; a group of nothing is zero.
TEST_F(GroupSizesTest, OneGroupOwnsEverything) {
  auto r = SnapshotGroupSizes(*repo_, {{"all", {roots_[0], roots_[1], roots_[0]}}, {"none", {}}},
                              {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const uint64_t all = Data({a_[0], a_[1], b_, c_, d_}) +
                       Trees({roots_[0], homes_[0], alice_, bob_, roots_[1], homes_[1]});
  EXPECT_EQ(r->groups[0].blobs, 11u);
  EXPECT_EQ(r->groups[0].referenced, all);
  EXPECT_EQ(r->groups[0].exclusive, all);
  EXPECT_EQ(r->groups[0].attributed, all);
  EXPECT_EQ(r->groups[1].blobs, 0u);
  EXPECT_EQ(r->groups[1].attributed, 0u);
  EXPECT_EQ(r->shared, 0u);
}

// Three groups on one blob: size / 3 each, the remainder one byte each to the first groups.
TEST_F(GroupSizesTest, ThreeWaySplitAddsUp) {
  auto r = SnapshotGroupSizes(
      *repo_, {{"x", {bob_}}, {"y", {bob_}}, {"z", {bob_}}}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const uint64_t total = Data({c_}) + Trees({bob_});
  const uint64_t sum = r->groups[0].attributed + r->groups[1].attributed + r->groups[2].attributed;
  EXPECT_EQ(sum, total);
  EXPECT_GE(r->groups[0].attributed, r->groups[2].attributed);
  EXPECT_LE(r->groups[0].attributed - r->groups[2].attributed, 2u);  // one byte per shared blob
  EXPECT_EQ(r->groups[1].exclusive, 0u);
  EXPECT_EQ(r->groups[1].referenced, total);
}

TEST_F(GroupSizesTest, MissingTreeNamesTheGroup) {
  const Id unknown = *Id::FromHex(std::string(64, 'e'));
  auto r = SnapshotGroupSizes(*repo_, {{"ghost", {unknown}}}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("group ghost"), std::string::npos) << r.status().ToString();
}

TEST_F(GroupSizesTest, CancelledContextStops) {
  std::atomic<bool> cancel{true};
  GroupSizeOptions o;
  o.context = Context().WithCancel(&cancel);
  auto r = SnapshotGroupSizes(*repo_, {{"one", {roots_[0]}}}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace lifeboat
