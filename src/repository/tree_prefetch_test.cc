// PrefetchedTrees: every tree below the roots, bit-identical to LoadTree's, with far fewer reads
// than trees; damaged trees absent (the caller's LoadTree reports them); the memory budget.
#include "repository/tree_prefetch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "backend/memory_backend.h"
#include "counting_backend.h"
#include "repository/blob_saver.h"

namespace lifeboat {
namespace {

class TreePrefetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
    auto backend = std::make_unique<MemoryBackend>();
    memory_ = backend.get();
    auto repo = Repository::Init(std::move(backend), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    writer_ = std::move(*repo);
    saver_ = std::make_unique<BlobSaver>(*writer_, BlobSaverOptions{});
  }

  Id Save(std::vector<Node> nodes) {
    Tree t;
    t.nodes = std::move(nodes);
    SortTree(&t);
    Bytes encoded = EncodeTree(t);
    Id id = writer_->codec().ComputeId(encoded);
    EXPECT_TRUE(saver_->Save(BlobType::kTree, id, std::move(encoded)).ok());
    return id;
  }
  static Node DirNode(std::string name, const Id& subtree) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kDir;
    n.subtree = subtree;
    return n;
  }
  static Node FileNode(std::string name) {
    Node n;
    n.name = std::move(name);
    n.type = NodeType::kFile;
    return n;
  }
  // A root with `wide` directories of `wide` directories of three files: 1 + wide + wide^2 trees,
  // all distinct. Opens the repository again through a read-counting backend.
  Id Build(int wide) {
    std::vector<Node> top;
    for (int i = 0; i < wide; ++i) {
      std::vector<Node> mid;
      for (int j = 0; j < wide; ++j) {
        std::string p = std::to_string(i) + "." + std::to_string(j);
        mid.push_back(DirNode("d" + std::to_string(j),
                              Save({FileNode(p + "a"), FileNode(p + "b"), FileNode(p + "c")})));
      }
      top.push_back(DirNode("d" + std::to_string(i), Save(std::move(mid))));
    }
    Id root = Save(std::move(top));
    EXPECT_TRUE(saver_->Flush().ok());
    Reopen();
    return root;
  }
  void Reopen() {
    auto backend = std::make_unique<CountingBackend>(memory_);
    counting_ = backend.get();
    auto repo = Repository::Open(std::move(backend), "pw");
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    ASSERT_TRUE(repo_->LoadIndex().ok());
  }
  // Every tree reachable from `root`, loaded one by one.
  size_t CompareAll(const PrefetchedTrees& trees, const Id& root, size_t* absent) {
    size_t checked = 0;
    std::vector<Id> stack = {root};
    while (!stack.empty()) {
      Id id = stack.back();
      stack.pop_back();
      auto direct = repo_->LoadTree(id);
      const Tree* pre = trees.Find(id);
      if (!direct.ok()) {
        EXPECT_EQ(pre, nullptr) << "a tree LoadTree cannot give was prefetched";
        continue;
      }
      if (pre == nullptr) {
        ++*absent;
      } else {
        EXPECT_EQ(EncodeTree(*pre), EncodeTree(*direct));
      }
      ++checked;
      for (const Node& n : direct->nodes)
        if (n.subtree) stack.push_back(*n.subtree);
    }
    return checked;
  }

  MemoryBackend* memory_ = nullptr;
  CountingBackend* counting_ = nullptr;
  std::unique_ptr<Repository> writer_, repo_;
  std::unique_ptr<BlobSaver> saver_;
};

TEST_F(TreePrefetchTest, LoadsEveryTreeWithFewReads) {
  Id root = Build(30);  // 931 trees
  counting_->pack_reads = 0;
  auto trees = PrefetchedTrees::Load(*repo_, {root}, {});
  ASSERT_TRUE(trees.ok()) << trees.status().ToString();
  EXPECT_EQ(trees->size(), 931u);
  // Three levels, their trees side by side in one pack: about one read per level.
  EXPECT_LE(counting_->pack_reads.load(), 6);
  size_t absent = 0;
  EXPECT_EQ(CompareAll(*trees, root, &absent), 931u);
  EXPECT_EQ(absent, 0u);
}

// Past the budget for whole packs, each level's trees come in ranges: the same trees, more reads.
TEST_F(TreePrefetchTest, RangesPastThePackBudget) {
  Id root = Build(30);
  counting_->pack_reads = 0;
  TreePrefetchOptions o;
  o.max_pack_bytes = 0;
  auto trees = PrefetchedTrees::Load(*repo_, {root}, o);
  ASSERT_TRUE(trees.ok()) << trees.status().ToString();
  EXPECT_EQ(trees->size(), 931u);
  EXPECT_LE(counting_->pack_reads.load(), 6);  // a range per level (three), no whole pack
  size_t absent = 0;
  EXPECT_EQ(CompareAll(*trees, root, &absent), 931u);
  EXPECT_EQ(absent, 0u);
}

TEST_F(TreePrefetchTest, DamagedTreeIsLeftToTheCaller) {
  Id root = Build(10);  // 111 trees
  // Damage one tree of the middle level at rest: it (and so its ten children) is not prefetched;
  // every other tree is, and equals LoadTree's.
  Tree top = *repo_->LoadTree(root);
  const Id victim = *top.nodes[4].subtree;
  auto loc = repo_->index().Find(BlobType::kTree, victim);
  ASSERT_TRUE(loc);
  auto pack = memory_->Load({ObjectType::kPack, loc->pack.Hex()}, 0, 0);
  ASSERT_TRUE(pack.ok());
  (*pack)[loc->offset + 3] ^= 0x10;
  ASSERT_TRUE(memory_->ReplaceForTesting({ObjectType::kPack, loc->pack.Hex()}, *pack).ok());
  Reopen();
  auto trees = PrefetchedTrees::Load(*repo_, {root}, {});
  ASSERT_TRUE(trees.ok()) << trees.status().ToString();
  EXPECT_EQ(trees->Find(victim), nullptr);
  EXPECT_EQ(trees->size(), 100u);  // 111 - the victim - its 10 children
  size_t absent = 0;
  // LoadTree cannot load the victim either, so the comparison does not reach its children.
  EXPECT_EQ(CompareAll(*trees, root, &absent), 100u);
  EXPECT_EQ(absent, 0u);
}

TEST_F(TreePrefetchTest, StopsAtTheMemoryBudget) {
  Id root = Build(10);
  TreePrefetchOptions o;
  o.max_bytes = 2000;  // the root and some of the next level
  auto trees = PrefetchedTrees::Load(*repo_, {root}, o);
  ASSERT_TRUE(trees.ok()) << trees.status().ToString();
  EXPECT_GE(trees->size(), 1u);
  EXPECT_LT(trees->size(), 111u);
  size_t absent = 0;
  CompareAll(*trees, root, &absent);
  EXPECT_EQ(absent, 111u - trees->size());
  // What is held stays within the budget.
  uint64_t held = 0;
  std::vector<Id> stack = {root};
  while (!stack.empty()) {
    Id id = stack.back();
    stack.pop_back();
    if (trees->Find(id)) held += repo_->index().Find(BlobType::kTree, id)->raw_length;
    auto tree = repo_->LoadTree(id);
    ASSERT_TRUE(tree.ok()) << tree.status().ToString();
    for (const Node& n : tree->nodes)
      if (n.subtree) stack.push_back(*n.subtree);
  }
  EXPECT_LE(held, o.max_bytes);
}

TEST_F(TreePrefetchTest, StopsWhenCancelled) {
  Id root = Build(5);
  std::atomic<bool> cancel{true};
  TreePrefetchOptions o;
  o.context = Context().WithCancel(&cancel);
  auto trees = PrefetchedTrees::Load(*repo_, {root}, o);
  EXPECT_EQ(trees.status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace lifeboat
