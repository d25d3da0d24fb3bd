// The tree walker: each distinct tree once, damage reported with where it was found under both
// error policies, cancellation, parallel and depth-first walks agreeing, path order, post-order,
// the caller's loader, deep trees.
#include "repository/tree_walker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>

#include "backend/memory_backend.h"
#include "repository/blob_saver.h"

namespace lifeboat {
namespace {

Node File(std::string name, std::vector<Id> content) {
  Node n;
  n.name = std::move(name);
  n.type = NodeType::kFile;
  n.content = std::move(content);
  return n;
}

Node Dir(std::string name, const Id& subtree) {
  Node n;
  n.name = std::move(name);
  n.type = NodeType::kDir;
  n.subtree = subtree;
  return n;
}

class TreeWalkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
    auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
    saver_ = std::make_unique<BlobSaver>(*repo_, BlobSaverOptions{});
  }

  Id Data(const std::string& content) {
    Bytes b(content.begin(), content.end());
    Id id = repo_->codec().ComputeId(b);
    EXPECT_TRUE(saver_->Save(BlobType::kData, id, std::move(b)).ok());
    return id;
  }
  Id Save(std::vector<Node> nodes) {
    Tree t;
    t.nodes = std::move(nodes);
    SortTree(&t);
    Bytes encoded = EncodeTree(t);
    Id id = repo_->codec().ComputeId(encoded);
    EXPECT_TRUE(saver_->Save(BlobType::kTree, id, std::move(encoded)).ok());
    return id;
  }
  // A tree blob that loads but does not decode.
  Id Garbage() {
    Bytes b = {'n', 'o', 't', ' ', 'a', ' ', 't', 'r', 'e', 'e'};
    Id id = repo_->codec().ComputeId(b);
    EXPECT_TRUE(saver_->Save(BlobType::kTree, id, std::move(b)).ok());
    return id;
  }
  void Finish() {
    ASSERT_TRUE(saver_->Flush().ok());
    repo_->index().Compact();
  }

  // Two snapshots sharing `shared_` (which holds `leaf_`); the second also reaches `broken_`
  // (does not decode) when `damage`, and `absent_` (in no index) when `missing`.
  void BuildSnapshots(bool damage, bool missing) {
    d1_ = Data("one");
    d2_ = Data("two");
    d3_ = Data("three");
    d4_ = Data("four");
    leaf_ = Save({File("y", {d1_})});
    shared_ = Save({File("x", {d3_}), Dir("s", leaf_)});
    only_a_ = Save({File("z", {d4_})});
    root_a_ = Save({Dir("a", shared_), Dir("b", only_a_), File("f", {d1_})});
    std::vector<Node> b = {Dir("a", shared_), File("g", {d2_, d3_})};
    if (damage) {
      broken_ = Garbage();
      b.push_back(Dir("c", broken_));
    }
    if (missing) {
      absent_.bytes.fill(0x77);
      b.push_back(Dir("m", absent_));
    }
    root_b_ = Save(std::move(b));
    Finish();
  }

  std::unique_ptr<Repository> repo_;
  std::unique_ptr<BlobSaver> saver_;
  Id d1_, d2_, d3_, d4_, leaf_, shared_, only_a_, root_a_, root_b_, broken_, absent_;
};

// Visits every tree with `workers` threads; returns how often each was visited.
std::map<Id, int> VisitCounts(Repository& repo, const std::vector<Id>& roots, int workers,
                              Status* status, const TreeWalkOptions& base = {}) {
  std::mutex mu;
  std::map<Id, int> seen;
  TreeWalkOptions o = base;
  o.workers = workers;
  *status = WalkTrees(repo, roots, o, [&](const VisitedTree& t, std::vector<Id>* enter) {
    {
      std::lock_guard lock(mu);
      ++seen[t.id];
    }
    for (const Node& n : t.tree.nodes)
      if (n.subtree) enter->push_back(*n.subtree);
    return Status::Ok();
  });
  return seen;
}

// The trees WalkPostOrder leaves, in order.
std::vector<Id> LeaveOrder(Repository& repo, const std::vector<Id>& roots,
                           const TreeWalkOptions& options, Status* status,
                           std::function<bool(const Id&)> enter = nullptr) {
  std::vector<Id> left;
  PostOrderVisitor v;
  v.enter = std::move(enter);
  v.leave = [&](const Id& id, Tree&) {
    left.push_back(id);
    return Status::Ok();
  };
  *status = WalkPostOrder(repo, roots, options, v);
  return left;
}

TEST_F(TreeWalkerTest, SharedSubtreesAreVisitedOnce) {
  BuildSnapshots(false, false);
  for (int workers : {1, 4}) {
    Status st;
    auto seen = VisitCounts(*repo_, {root_a_, root_b_, root_a_}, workers, &st);
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::map<Id, int> want = {{root_a_, 1}, {root_b_, 1}, {shared_, 1}, {leaf_, 1}, {only_a_, 1}};
    EXPECT_EQ(seen, want) << workers << " workers";
  }
}

TEST_F(TreeWalkerTest, FindUsedBlobsMarksEveryReachableBlobOnce) {
  BuildSnapshots(false, false);
  UsedBlobs used(repo_->index().blob_count());
  std::mutex mu;
  std::multiset<Id> first;
  FindUsedOptions o;
  o.walk.workers = 3;
  o.on_first_use = [&](BlobType, const Id& id, size_t) {
    std::lock_guard lock(mu);
    first.insert(id);
    return Status::Ok();
  };
  ASSERT_TRUE(FindUsedBlobs(*repo_, {root_b_}, o, &used).ok());
  EXPECT_EQ(used.trees(), 3u);  // root_b, shared, leaf
  // The second call walks only what the first did not: root_a and only_a.
  ASSERT_TRUE(FindUsedBlobs(*repo_, {root_a_, root_b_}, o, &used).ok());
  EXPECT_EQ(used.trees(), 5u);
  std::multiset<Id> want = {root_a_, root_b_, shared_, leaf_, only_a_, d1_, d2_, d3_, d4_};
  EXPECT_EQ(first, want);  // each once
  const MasterIndex& index = repo_->index();
  for (size_t pos = 0; pos < used.size(); ++pos) EXPECT_TRUE(used.Test(pos)) << pos;
  EXPECT_EQ(used.size(), index.blob_count());
}

TEST_F(TreeWalkerTest, FindUsedBlobsReportsMissingBlobsWithWhereTheyAreNamed) {
  BuildSnapshots(false, true);
  UsedBlobs used(repo_->index().blob_count());
  FindUsedOptions o;
  // Unset on_missing: the walk stops with NotFound.
  Status st = FindUsedBlobs(*repo_, {root_a_, root_b_}, o, &used);
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  std::vector<std::string> missing;
  o.on_missing = [&](const MissingBlob& m) {
    EXPECT_EQ(m.type, BlobType::kTree);
    EXPECT_EQ(m.id, absent_);
    EXPECT_EQ(m.root, 1u);
    EXPECT_TRUE(m.tree && *m.tree == root_b_);
    missing.push_back(m.node ? m.node->name : "?");
    return Status::Ok();
  };
  UsedBlobs again(repo_->index().blob_count());
  ASSERT_TRUE(FindUsedBlobs(*repo_, {root_a_, root_b_}, o, &again).ok());
  EXPECT_EQ(missing, std::vector<std::string>{"m"});
  EXPECT_EQ(again.trees(), 5u);
}

TEST_F(TreeWalkerTest, DamagedTreeStopsTheWalkOrIsReportedWithItsParent) {
  BuildSnapshots(true, true);
  for (int workers : {1, 4}) {
    // Without on_error: the load error, unchanged.
    Status st;
    VisitCounts(*repo_, {root_a_, root_b_}, workers, &st);
    EXPECT_FALSE(st.ok());
    EXPECT_TRUE(st.IsCorruption() || st.IsNotFound()) << st.ToString();

    // With on_error returning OK: every damaged tree reported, everything else visited.
    std::mutex mu;
    std::map<Id, TreeLoadError> errors;
    TreeWalkOptions o;
    o.on_error = [&](const TreeLoadError& e) {
      std::lock_guard lock(mu);
      errors.emplace(e.tree, e);
      return Status::Ok();
    };
    auto seen = VisitCounts(*repo_, {root_a_, root_b_}, workers, &st, o);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(seen.size(), 5u);
    ASSERT_EQ(errors.size(), 2u);
    for (const Id& bad : {broken_, absent_}) {
      ASSERT_TRUE(errors.count(bad));
      const TreeLoadError& e = errors.at(bad);
      EXPECT_EQ(e.parent, root_b_);
      EXPECT_EQ(e.root, 1u);
      EXPECT_FALSE(e.status.ok());
    }
    EXPECT_TRUE(errors.at(broken_).status.IsCorruption()) << errors.at(broken_).status.ToString();
    EXPECT_TRUE(errors.at(absent_).status.IsNotFound()) << errors.at(absent_).status.ToString();

    // With on_error returning an error: that error.
    o.on_error = [](const TreeLoadError& e) { return Status::Internal("stop at " + e.tree.Hex()); };
    VisitCounts(*repo_, {root_a_, root_b_}, workers, &st, o);
    EXPECT_EQ(st.code(), StatusCode::kInternal) << st.ToString();
  }
}

TEST_F(TreeWalkerTest, DepthFirstReportsTheDamagedDirectorysPath) {
  BuildSnapshots(true, false);
  std::vector<std::string> paths, left;
  DepthFirstVisitor v;
  v.node = [&](const std::string& path, Node&) -> Result<bool> {
    paths.push_back(path);
    return true;
  };
  v.leave = [&](const std::string& path) { left.push_back(path); };
  Status st = WalkDepthFirst(*repo_, root_b_, "/", {}, v);
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();

  paths.clear();
  left.clear();
  std::vector<TreeLoadError> errors;
  TreeWalkOptions o;
  o.on_error = [&](const TreeLoadError& e) {
    errors.push_back(e);
    return Status::Ok();
  };
  ASSERT_TRUE(WalkDepthFirst(*repo_, root_b_, "/", o, v).ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "/c");
  EXPECT_EQ(errors[0].tree, broken_);
  EXPECT_EQ(errors[0].parent, root_b_);
  EXPECT_EQ(paths, (std::vector<std::string>{"/a", "/a/s", "/a/s/y", "/a/x", "/c", "/g"}));
  EXPECT_EQ(left, (std::vector<std::string>{"/a/s", "/a", "/c"}));
}

TEST_F(TreeWalkerTest, DepthFirstVisitsInPathOrderAndEntersOnlyWhatItIsTold) {
  BuildSnapshots(false, false);
  std::vector<std::string> paths;
  DepthFirstVisitor v;
  v.node = [&](const std::string& path, Node& n) -> Result<bool> {
    paths.push_back(path);
    return n.name != "b";  // everything but /b
  };
  ASSERT_TRUE(WalkDepthFirst(*repo_, root_a_, "/srv", {}, v).ok());
  EXPECT_EQ(paths, (std::vector<std::string>{"/srv/a", "/srv/a/s", "/srv/a/s/y", "/srv/a/x",
                                             "/srv/b", "/srv/f"}));
  // An error from the visitor stops the walk and is returned.
  paths.clear();
  v.node = [&](const std::string& path, Node&) -> Result<bool> {
    paths.push_back(path);
    if (path == "/a/s") return Status::IOError("reader went away");
    return true;
  };
  Status st = WalkDepthFirst(*repo_, root_a_, "/", {}, v);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
  EXPECT_EQ(paths, (std::vector<std::string>{"/a", "/a/s"}));
}

TEST_F(TreeWalkerTest, ParallelAndDepthFirstReachTheSameTrees) {
  BuildSnapshots(false, false);
  Status st;
  auto parallel = VisitCounts(*repo_, {root_a_, root_b_}, 4, &st);
  ASSERT_TRUE(st.ok());
  std::set<Id> serial = {root_a_, root_b_};
  DepthFirstVisitor v;
  v.node = [&](const std::string&, Node& n) -> Result<bool> {
    if (n.subtree) serial.insert(*n.subtree);
    return true;
  };
  for (const Id& root : {root_a_, root_b_})
    ASSERT_TRUE(WalkDepthFirst(*repo_, root, "/", {}, v).ok());
  std::set<Id> reached;
  for (const auto& [id, count] : parallel) reached.insert(id);
  EXPECT_EQ(reached, serial);
}

TEST_F(TreeWalkerTest, CancellationStopsTheWalk) {
  BuildSnapshots(false, false);
  std::atomic<bool> cancel{true};
  TreeWalkOptions o;
  o.context = Context().WithCancel(&cancel);
  Status st;
  auto seen = VisitCounts(*repo_, {root_a_, root_b_}, 4, &st, o);
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_TRUE(seen.empty());

  // Set during the walk: no tree is taken after the one that set it.
  cancel = false;
  int visited = 0;
  o.workers = 1;
  st = WalkTrees(*repo_, {root_a_, root_b_}, o, [&](const VisitedTree& t, std::vector<Id>* enter) {
    ++visited;
    cancel = true;
    for (const Node& n : t.tree.nodes)
      if (n.subtree) enter->push_back(*n.subtree);
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(visited, 1);

  cancel = false;
  int nodes = 0;
  DepthFirstVisitor v;
  v.node = [&](const std::string&, Node&) -> Result<bool> {
    ++nodes;
    cancel = true;
    return true;
  };
  st = WalkDepthFirst(*repo_, root_a_, "/", o, v);
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(nodes, 1);

  cancel = true;
  UsedBlobs used(repo_->index().blob_count());
  FindUsedOptions fo;
  fo.walk.context = Context().WithCancel(&cancel);
  EXPECT_EQ(FindUsedBlobs(*repo_, {root_a_}, fo, &used).code(), StatusCode::kCancelled);
}

TEST_F(TreeWalkerTest, DeepTreesDoNotGrowTheCallStack) {
  constexpr int kDepth = 20000;  // far deeper than a recursive walk's frames fit in 8 MiB
  Id below = Save({File("end", {})});
  for (int i = 0; i < kDepth; ++i) below = Save({Dir("d", below)});
  Finish();
  UsedBlobs used(repo_->index().blob_count());
  ASSERT_TRUE(FindUsedBlobs(*repo_, {below}, {}, &used).ok());
  EXPECT_EQ(used.trees(), uint64_t{kDepth} + 1);
  size_t nodes = 0, max_len = 0;
  DepthFirstVisitor v;
  v.node = [&](const std::string& path, Node&) -> Result<bool> {
    ++nodes;
    max_len = std::max(max_len, path.size());
    return true;
  };
  ASSERT_TRUE(WalkDepthFirst(*repo_, below, "/", {}, v).ok());
  EXPECT_EQ(nodes, size_t{kDepth} + 1);
  EXPECT_EQ(max_len, size_t{2} * kDepth + 4);  // "/d" x kDepth + "/end"
  Status st;
  auto left = LeaveOrder(*repo_, {below}, {}, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(left.size(), size_t{kDepth} + 1);
  EXPECT_EQ(left.back(), below);
}

TEST_F(TreeWalkerTest, PostOrderLeavesChildrenBeforeParents) {
  BuildSnapshots(false, false);
  // root_a: a -> shared (s -> leaf, x), b -> only_a, f; root_b: a -> shared, g.
  Status st;
  auto left = LeaveOrder(*repo_, {root_a_, root_b_, root_a_}, {}, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(left, (std::vector<Id>{leaf_, shared_, only_a_, root_a_, root_b_}));

  // Without the walk's set every reference is entered: shared (and leaf) twice.
  TreeWalkOptions o;
  o.dedup = false;
  left = LeaveOrder(*repo_, {root_a_, root_b_}, o, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(left, (std::vector<Id>{leaf_, shared_, only_a_, root_a_, leaf_, shared_, root_b_}));

  // The visitor's own record of what it left deduplicates as well, asked at each reference.
  std::set<Id> asked_twice, asked;
  std::vector<Id> done;
  PostOrderVisitor v;
  v.enter = [&](const Id& id) {
    if (!asked.insert(id).second) asked_twice.insert(id);
    return std::find(done.begin(), done.end(), id) == done.end();
  };
  v.leave = [&](const Id& id, Tree& tree) {
    // Every subtree is done when its parent is left.
    for (const Node& n : tree.nodes) {
      if (n.subtree) {
        EXPECT_NE(std::find(done.begin(), done.end(), *n.subtree), done.end());
      }
    }
    done.push_back(id);
    return Status::Ok();
  };
  ASSERT_TRUE(WalkPostOrder(*repo_, {root_a_, root_b_}, o, v).ok());
  EXPECT_EQ(done, (std::vector<Id>{leaf_, shared_, only_a_, root_a_, root_b_}));
  EXPECT_EQ(asked_twice, std::set<Id>{shared_});
}

TEST_F(TreeWalkerTest, PostOrderReportsDamagedTreesWithTheirParent) {
  BuildSnapshots(true, true);
  Status st;
  LeaveOrder(*repo_, {root_a_, root_b_}, {}, &st);
  EXPECT_TRUE(st.IsCorruption() || st.IsNotFound()) << st.ToString();

  std::map<Id, TreeLoadError> errors;
  TreeWalkOptions o;
  o.on_error = [&](const TreeLoadError& e) {
    errors.emplace(e.tree, e);
    return Status::Ok();
  };
  auto left = LeaveOrder(*repo_, {root_a_, root_b_}, o, &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(left, (std::vector<Id>{leaf_, shared_, only_a_, root_a_, root_b_}));
  ASSERT_EQ(errors.size(), 2u);
  for (const Id& bad : {broken_, absent_}) {
    ASSERT_TRUE(errors.count(bad));
    EXPECT_EQ(errors.at(bad).parent, root_b_);
    EXPECT_EQ(errors.at(bad).root, 1u);
  }

  // A root that does not load has no parent; an error from on_error stops the walk.
  errors.clear();
  left = LeaveOrder(*repo_, {broken_, root_a_}, o, &st);
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(errors.count(broken_));
  EXPECT_FALSE(errors.at(broken_).parent.has_value());
  EXPECT_EQ(errors.at(broken_).root, 0u);
  o.on_error = [](const TreeLoadError&) { return Status::Internal("stop"); };
  left = LeaveOrder(*repo_, {root_b_}, o, &st);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
}

TEST_F(TreeWalkerTest, PostOrderStopsOnCancelAndOnTheVisitorsError) {
  BuildSnapshots(false, false);
  std::atomic<bool> cancel{false};
  TreeWalkOptions o;
  o.context = Context().WithCancel(&cancel);
  int left = 0;
  PostOrderVisitor v;
  v.leave = [&](const Id&, Tree&) {
    ++left;
    cancel = true;
    return Status::Ok();
  };
  EXPECT_EQ(WalkPostOrder(*repo_, {root_a_}, o, v).code(), StatusCode::kCancelled);
  EXPECT_EQ(left, 1);  // leaf; nothing is loaded after the stop

  v.leave = [&](const Id& id, Tree&) {
    return id == shared_ ? Status::IOError("full") : Status::Ok();
  };
  EXPECT_EQ(WalkPostOrder(*repo_, {root_a_}, {}, v).code(), StatusCode::kIOError);
}

TEST_F(TreeWalkerTest, EveryModeLoadsThroughTheCallersLoader) {
  BuildSnapshots(false, false);
  std::mutex mu;
  std::multiset<Id> loads;
  TreeWalkOptions o;
  o.load = [&](const Id& id) -> Result<Tree> {
    {
      std::lock_guard lock(mu);
      loads.insert(id);
    }
    if (id == only_a_) return Status::NotFound("not in the cache, say");
    return repo_->LoadTree(id);
  };
  std::vector<Id> failed;
  o.on_error = [&](const TreeLoadError& e) {
    std::lock_guard lock(mu);
    failed.push_back(e.tree);
    return Status::Ok();
  };
  const std::multiset<Id> all = {root_a_, shared_, leaf_, only_a_};
  Status st;
  LeaveOrder(*repo_, {root_a_}, o, &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(loads, all);
  loads.clear();
  auto seen = VisitCounts(*repo_, {root_a_}, 3, &st, o);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(loads, all);
  EXPECT_EQ(seen.count(only_a_), 0u);
  loads.clear();
  DepthFirstVisitor v;
  v.node = [](const std::string&, Node&) -> Result<bool> { return true; };
  ASSERT_TRUE(WalkDepthFirst(*repo_, root_a_, "/", o, v).ok());
  EXPECT_EQ(loads, all);
  EXPECT_EQ(failed, (std::vector<Id>{only_a_, only_a_, only_a_}));
}

TEST_F(TreeWalkerTest, TreesDoneCountsEveryVisitedTree) {
  BuildSnapshots(false, false);
  std::atomic<uint64_t> done{0};
  TreeWalkOptions o;
  o.trees_done = &done;
  Status st;
  VisitCounts(*repo_, {root_a_, root_b_}, 4, &st, o);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(done.load(), 5u);
}

TEST_F(TreeWalkerTest, FindPathLooksUpNodesLevelByLevel) {
  BuildSnapshots(false, false);
  auto root = FindPath(*repo_, root_a_, "/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->path, "/");
  EXPECT_FALSE(root->node.has_value());
  EXPECT_EQ(root->tree, root_a_);

  auto dir = FindPath(*repo_, root_a_, "/a//s/");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->path, "/a/s");
  ASSERT_TRUE(dir->node.has_value());
  EXPECT_EQ(dir->node->name, "s");
  EXPECT_EQ(dir->tree, leaf_);

  auto file = FindPath(*repo_, root_a_, "/a/s/y");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->node->type, NodeType::kFile);
  EXPECT_FALSE(file->tree.has_value());

  auto missing = FindPath(*repo_, root_a_, "/a/nope/y");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/a/nope"), std::string::npos);
  auto below_file = FindPath(*repo_, root_a_, "/f/x");
  EXPECT_EQ(below_file.status().code(), StatusCode::kNotFound);
  EXPECT_NE(below_file.status().message().find("/f is not a directory"), std::string::npos)
      << below_file.status().message();
  EXPECT_EQ(FindPath(*repo_, root_a_, "a").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FindPath(*repo_, root_a_, "/a/../b").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat
