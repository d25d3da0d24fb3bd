#include "checker/affected_files.h"

#include <algorithm>
#include <unordered_map>

#include "repository/tree_walker.h"

namespace lifeboat::checker_internal {

namespace {

constexpr size_t kTreeCacheBudget = size_t{64} << 20;

// A rough count of the memory a decoded tree takes.
size_t TreeFootprint(const Tree& t) {
  size_t n = sizeof(Tree);
  for (const Node& node : t.nodes)
    n += sizeof(Node) + node.name.size() + node.link_target.size() + node.user.size() +
         node.group.size() + node.content.size() * sizeof(Id);
  return n;
}

class AffectedFinder {
 public:
  AffectedFinder(Repository& repo, const DamageLookup& damage, const Context& ctx,
                 std::atomic<uint64_t>* trees_loaded)
      : repo_(repo), damage_(damage), ctx_(ctx), trees_loaded_(trees_loaded) {}

  // Step 1: fills marked_ for every tree reachable from `roots`, children before parents, each
  // distinct tree once (marked_ is the walk's visited set).
  Status MarkDamagedTrees(const std::vector<Id>& roots) {
    TreeWalkOptions o = WalkOptions();
    o.dedup = false;
    o.on_error = [this](const TreeLoadError& e) {
      marked_[e.tree] = true;  // reported by the main walk; damage for whatever holds it
      return Status::Ok();
    };
    PostOrderVisitor v;
    v.enter = [this](const Id& id) { return marked_.count(id) == 0; };
    v.leave = [this](const Id& id, Tree& tree) {
      bool damaged = HoldsDamage(id, tree);
      for (const Node& n : tree.nodes)
        if (n.type == NodeType::kDir && n.subtree && IsMarked(*n.subtree)) damaged = true;
      marked_[id] = damaged;
      if (damaged) Keep(id, std::move(tree));
      return Status::Ok();
    };
    return WalkPostOrder(repo_, roots, o, v);
  }

  // Step 2 for snapshot `s` rooted at `root`: its paths in path order, entering marked trees only.
  Status ReportSnapshot(size_t s, const Id& root, const AffectedSink& sink) {
    std::vector<int64_t> problems;
    damage_.reference(BlobType::kTree, root, &problems);
    Report(s, "", &problems, sink);
    if (!IsMarked(root)) return Status::Ok();
    TreeWalkOptions o = WalkOptions();
    o.on_error = [](const TreeLoadError&) { return Status::Ok(); };  // reported by the main walk
    std::vector<Id> open = {root};  // the trees whose nodes are being visited, innermost last
    DepthFirstVisitor v;
    v.node = [&](const std::string& path, Node& n) -> Result<bool> {
      for (const Id& blob : n.content) damage_.reference(BlobType::kData, blob, &problems);
      bool enter = false;
      if (n.type == NodeType::kDir) {
        if (!n.subtree) {
          if (auto h = damage_.missing_subtree(open.back())) problems.push_back(*h);
        } else {
          damage_.reference(BlobType::kTree, *n.subtree, &problems);
          enter = IsMarked(*n.subtree);
        }
      }
      Report(s, path, &problems, sink);
      if (enter) open.push_back(*n.subtree);
      return enter;
    };
    v.leave = [&](const std::string&) { open.pop_back(); };
    return WalkDepthFirst(repo_, root, "/", o, v);
  }

 private:
  TreeWalkOptions WalkOptions() {
    TreeWalkOptions o;
    o.context = ctx_;
    o.load = [this](const Id& id) { return Load(id); };
    return o;
  }

  // Whether `tree` (`id`) itself refers to damage: a damaged or missing blob or subtree, or a
  // directory without a subtree.
  bool HoldsDamage(const Id& id, const Tree& tree) {
    std::vector<int64_t> problems;
    for (const Node& n : tree.nodes) {
      for (const Id& blob : n.content) damage_.reference(BlobType::kData, blob, &problems);
      if (n.type != NodeType::kDir) continue;
      if (n.subtree) {
        damage_.reference(BlobType::kTree, *n.subtree, &problems);
      } else if (damage_.missing_subtree(id)) {
        return true;
      }
      if (!problems.empty()) return true;
    }
    return !problems.empty();
  }

  void Keep(const Id& id, Tree tree) {
    size_t size = TreeFootprint(tree);
    if (cached_bytes_ + size > kTreeCacheBudget) return;
    cached_bytes_ += size;
    cache_.emplace(id, std::move(tree));
  }

  // The walks' loader: a marked tree kept by step 1, or the repository.
  Result<Tree> Load(const Id& id) {
    if (auto it = cache_.find(id); it != cache_.end())
      return it->second;  // a copy: the walk may take it apart
    if (trees_loaded_) trees_loaded_->fetch_add(1, std::memory_order_relaxed);
    return repo_.LoadTree(id);
  }

  bool IsMarked(const Id& id) const {
    auto it = marked_.find(id);
    return it != marked_.end() && it->second;
  }

  // Sends `*problems` (deduplicated) for `path` when there are any, and clears them.
  static void Report(size_t s, const std::string& path, std::vector<int64_t>* problems,
                     const AffectedSink& sink) {
    if (problems->empty()) return;
    std::sort(problems->begin(), problems->end());
    problems->erase(std::unique(problems->begin(), problems->end()), problems->end());
    sink(s, path, *problems);
    problems->clear();
  }

  Repository& repo_;
  const DamageLookup& damage_;
  const Context ctx_;
  std::atomic<uint64_t>* const trees_loaded_;
  std::unordered_map<Id, bool, IdHash> marked_;  // every tree seen: does it hold damage?
  std::unordered_map<Id, Tree, IdHash> cache_;   // marked trees, up to kTreeCacheBudget
  size_t cached_bytes_ = 0;
};

}  // namespace

Status FindAffectedFiles(Repository& repo, const std::vector<Id>& roots, const DamageLookup& damage,
                         const Context& ctx, const AffectedSink& sink,
                         std::atomic<uint64_t>* trees_loaded) {
  AffectedFinder finder(repo, damage, ctx, trees_loaded);
  LB_RETURN_IF_ERROR(finder.MarkDamagedTrees(roots));
  for (size_t s = 0; s < roots.size(); ++s)
    LB_RETURN_IF_ERROR(finder.ReportSnapshot(s, roots[s], sink));
  return Status::Ok();
}

}  // namespace lifeboat::checker_internal
