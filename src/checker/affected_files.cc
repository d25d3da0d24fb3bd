#include "checker/affected_files.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

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
  AffectedFinder(Repository& repo, const DamageLookup& damage, const Context& ctx)
      : repo_(repo), damage_(damage), ctx_(ctx) {}

  // Step 1: fills marked_ for every tree reachable from `roots`.
  Status MarkDamagedTrees(const std::vector<Id>& roots) {
    for (const Id& root : roots) {
      if (marked_.count(root)) continue;
      std::vector<Frame> stack;
      if (!Open(root, &stack)) marked_[root] = true;
      while (!stack.empty()) {
        LB_RETURN_IF_ERROR(ctx_.Check("check"));
        size_t top = stack.size() - 1;
        bool descended = false;
        while (stack[top].next < stack[top].tree->nodes.size()) {
          const Node& n = stack[top].tree->nodes[stack[top].next++];
          if (n.type != NodeType::kDir || !n.subtree) continue;
          Id child = *n.subtree;
          if (auto it = marked_.find(child); it != marked_.end()) {
            stack[top].damaged = stack[top].damaged || it->second;
          } else if (Open(child, &stack)) {
            descended = true;  // stack may have moved: nothing of stack[top] is held across
            break;
          } else {
            marked_[child] = true;
            stack[top].damaged = true;
          }
        }
        if (descended) continue;
        Frame done = std::move(stack.back());
        stack.pop_back();
        marked_[done.id] = done.damaged;
        if (!stack.empty()) stack.back().damaged = stack.back().damaged || done.damaged;
        if (done.damaged) Keep(done.id, std::move(done.tree));
      }
    }
    return Status::Ok();
  }

  // Step 2 for snapshot `s` rooted at `root`.
  Status ReportSnapshot(size_t s, const Id& root, const AffectedSink& sink) {
    std::vector<int64_t> problems;
    damage_.reference(BlobType::kTree, root, &problems);
    Report(s, "", &problems, sink);
    std::vector<std::pair<Id, std::string>> stack;
    if (IsMarked(root)) stack.emplace_back(root, "");
    while (!stack.empty()) {
      LB_RETURN_IF_ERROR(ctx_.Check("check"));
      auto [id, dir] = std::move(stack.back());
      stack.pop_back();
      std::shared_ptr<const Tree> tree = Load(id);
      if (!tree) continue;  // reported by the main walk
      size_t first_child = stack.size();
      for (const Node& n : tree->nodes) {
        std::string path = dir + "/" + n.name;
        for (const Id& blob : n.content) damage_.reference(BlobType::kData, blob, &problems);
        if (n.type == NodeType::kDir) {
          if (!n.subtree) {
            if (auto h = damage_.missing_subtree(id)) problems.push_back(*h);
          } else {
            damage_.reference(BlobType::kTree, *n.subtree, &problems);
            if (IsMarked(*n.subtree)) stack.emplace_back(*n.subtree, path);
          }
        }
        Report(s, path, &problems, sink);
      }
      std::reverse(stack.begin() + static_cast<std::ptrdiff_t>(first_child), stack.end());
    }
    return Status::Ok();
  }

 private:
  struct Frame {
    Id id;
    std::shared_ptr<const Tree> tree;
    size_t next = 0;
    bool damaged = false;
  };

  // Loads `id` and pushes its frame, already marked when the tree itself holds damage. False
  // (nothing pushed) when it cannot be loaded.
  bool Open(const Id& id, std::vector<Frame>* stack) {
    auto loaded = repo_.LoadTree(id);
    if (!loaded.ok()) return false;
    Frame f{id, std::make_shared<const Tree>(std::move(*loaded))};
    std::vector<int64_t> problems;
    for (const Node& n : f.tree->nodes) {
      for (const Id& blob : n.content) damage_.reference(BlobType::kData, blob, &problems);
      if (n.type == NodeType::kDir && n.subtree)
        damage_.reference(BlobType::kTree, *n.subtree, &problems);
      if (n.type == NodeType::kDir && !n.subtree && damage_.missing_subtree(id)) f.damaged = true;
    }
    f.damaged = f.damaged || !problems.empty();
    stack->push_back(std::move(f));
    return true;
  }

  void Keep(const Id& id, std::shared_ptr<const Tree> tree) {
    size_t size = TreeFootprint(*tree);
    if (cached_bytes_ + size > kTreeCacheBudget) return;
    cached_bytes_ += size;
    cache_.emplace(id, std::move(tree));
  }

  std::shared_ptr<const Tree> Load(const Id& id) {
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    auto loaded = repo_.LoadTree(id);
    if (!loaded.ok()) return nullptr;
    return std::make_shared<const Tree>(std::move(*loaded));
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
  std::unordered_map<Id, bool, IdHash> marked_;  // every tree seen: does it hold damage?
  std::unordered_map<Id, std::shared_ptr<const Tree>, IdHash> cache_;  // marked trees
  size_t cached_bytes_ = 0;
};

}  // namespace

Status FindAffectedFiles(Repository& repo, const std::vector<Id>& roots, const DamageLookup& damage,
                         const Context& ctx, const AffectedSink& sink) {
  AffectedFinder finder(repo, damage, ctx);
  LB_RETURN_IF_ERROR(finder.MarkDamagedTrees(roots));
  for (size_t s = 0; s < roots.size(); ++s)
    LB_RETURN_IF_ERROR(finder.ReportSnapshot(s, roots[s], sink));
  return Status::Ok();
}

}  // namespace lifeboat::checker_internal
