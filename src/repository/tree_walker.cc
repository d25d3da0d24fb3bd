#include "repository/tree_walker.h"

#include <algorithm>
#include <thread>
#include <unordered_set>

#include "util/mutex.h"
#include "util/parallel_for.h"
#include "util/thread_annotations.h"
#include "util/thread_start.h"

namespace lifeboat {

namespace {

// The one place a walk looks at its context.
Status CheckCancelled(const TreeWalkOptions& options) {
  if (options.context.done()) return options.context.Check("tree walk");
  return Status::Ok();
}

// The one place a walk loads a tree: the caller's loader, or the repository.
Result<Tree> LoadTree(Repository& repo, const TreeWalkOptions& options, const Id& id) {
  if (options.load) return options.load(id);
  return repo.LoadTree(id);
}

class ParallelTreeWalk {
 public:
  ParallelTreeWalk(Repository& repo, const TreeWalkOptions& options, const TreeVisitor& visit)
      : repo_(repo), options_(options), visit_(visit) {}

  Status Run(const std::vector<Id>& roots) EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      for (size_t i = 0; i < roots.size(); ++i) {
        if (options_.dedup && !visited_.insert(roots[i]).second) continue;
        stack_.push_back(Pending{roots[i], Id(), i, false});
      }
      std::reverse(stack_.begin(), stack_.end());  // the first root first
    }
    // Loading trees waits on the backend: as many workers as it serves well at once.
    size_t workers = static_cast<size_t>(WorkersFor(repo_.backend(), options_.workers));
    if (workers > 1) {
      std::vector<std::thread> threads;
      StartThreads(&threads, workers, [this] { Work(); });
      for (auto& t : threads) t.join();
      if (threads.empty()) Work();
    } else {
      Work();
    }
    MutexLock lock(&mu_);
    return fatal_;
  }

 private:
  struct Pending {
    Id id;
    Id parent;
    size_t root;
    bool has_parent;
  };

  void Work() EXCLUDES(mu_) {
    std::vector<Id> enter;
    MutexLock lock(&mu_);
    for (;;) {
      while (stack_.empty() && active_ != 0 && fatal_.ok()) cv_.Wait(&mu_);
      if (fatal_.ok()) fatal_ = CheckCancelled(options_);
      if (!fatal_.ok() || stack_.empty()) {
        cv_.NotifyAll();
        return;
      }
      Pending p = stack_.back();
      stack_.pop_back();
      ++active_;
      lock.Unlock();
      enter.clear();
      Status st;
      try {
        st = Visit(p, &enter);
      } catch (...) {
        st = StatusFromCurrentException("the tree walk");
      }
      lock.Lock();
      --active_;
      if (!st.ok()) {
        if (fatal_.ok()) fatal_ = std::move(st);
        cv_.NotifyAll();
        return;
      }
      size_t pushed = 0;
      for (auto it = enter.rbegin(); it != enter.rend(); ++it) {
        if (options_.dedup && !visited_.insert(*it).second) continue;
        stack_.push_back(Pending{*it, p.id, p.root, true});
        ++pushed;
      }
      if (options_.trees_done) options_.trees_done->fetch_add(1, std::memory_order_relaxed);
      if (pushed > 0 || active_ == 0) cv_.NotifyAll();
    }
  }

  // Loads one tree and hands it to the visitor (or its failure to on_error). Runs unlocked.
  Status Visit(const Pending& p, std::vector<Id>* enter) {
    auto tree = LoadTree(repo_, options_, p.id);
    if (!tree.ok()) {
      if (!options_.on_error) return tree.status();
      TreeLoadError error;
      error.tree = p.id;
      if (p.has_parent) error.parent = p.parent;
      error.root = p.root;
      error.status = tree.status();
      return options_.on_error(error);
    }
    return visit_(VisitedTree{p.id, *tree, p.root, p.has_parent ? &p.parent : nullptr}, enter);
  }

  Repository& repo_;
  const TreeWalkOptions& options_;
  const TreeVisitor& visit_;
  Mutex mu_;
  CondVar cv_;
  std::vector<Pending> stack_ GUARDED_BY(mu_);              // depth-first keeps it small
  std::unordered_set<Id, IdHash> visited_ GUARDED_BY(mu_);  // only with options_.dedup
  size_t active_ GUARDED_BY(mu_) = 0;                       // trees being visited
  Status fatal_ GUARDED_BY(mu_);                            // why the walk stopped
};

std::string JoinPath(const std::string& dir, const std::string& name) {
  std::string s;
  s.reserve(dir.size() + 1 + name.size());
  s = dir;
  if (s.empty() || s.back() != '/') s += '/';
  s += name;
  return s;
}

// WalkDepthFirst from `start`, whose id (for TreeLoadError::parent) is `start_id` when it is a
// stored tree.
Status DepthFirst(Repository& repo, Tree start, std::optional<Id> start_id,
                  const std::string& root_path, const TreeWalkOptions& options,
                  const DepthFirstVisitor& visitor) {
  struct Frame {
    Tree tree;
    size_t next = 0;
    std::string path;
    std::optional<Id> id;
  };
  std::vector<Frame> stack;
  stack.push_back(Frame{std::move(start), 0, root_path, start_id});
  try {
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.next == top.tree.nodes.size()) {
        std::string path = std::move(top.path);
        stack.pop_back();
        if (!stack.empty() && visitor.leave) visitor.leave(path);
        continue;
      }
      LB_RETURN_IF_ERROR(CheckCancelled(options));
      Node& node = top.tree.nodes[top.next++];
      std::optional<Id> subtree = node.type == NodeType::kDir ? node.subtree : std::nullopt;
      std::string path = JoinPath(top.path, node.name);
      LB_ASSIGN_OR_RETURN(bool enter, visitor.node(path, node));
      if (!enter || !subtree) continue;
      auto loaded = LoadTree(repo, options, *subtree);
      if (!loaded.ok()) {
        if (!options.on_error) return loaded.status();
        TreeLoadError error;
        error.tree = *subtree;
        error.parent = top.id;
        error.path = path;
        error.status = loaded.status();
        LB_RETURN_IF_ERROR(options.on_error(error));
        if (visitor.leave) visitor.leave(path);
        continue;
      }
      // `top` is not used past this point: the push may move the frames.
      stack.push_back(Frame{std::move(*loaded), 0, std::move(path), *subtree});
    }
  } catch (...) {
    return StatusFromCurrentException("the tree walk");
  }
  return Status::Ok();
}

// WalkPostOrder: one stack of open trees per root, each frame's nodes taken one at a time, so a
// subtree is entered (or skipped) at the moment the walk reaches its reference.
Status PostOrder(Repository& repo, const std::vector<Id>& roots, const TreeWalkOptions& options,
                 const PostOrderVisitor& visitor) {
  struct Frame {
    Id id;
    Tree tree;
    size_t next = 0;
  };
  std::unordered_set<Id, IdHash> visited;  // only with options.dedup
  std::vector<Frame> stack;
  // Reaches `id` from `parent` (null for root `root`): enters it when the walk and the visitor
  // agree, loading it and pushing its frame.
  auto reach = [&](const Id& id, const Id* parent, size_t root) -> Status {
    if (options.dedup && !visited.insert(id).second) return Status::Ok();
    if (visitor.enter && !visitor.enter(id)) return Status::Ok();
    LB_RETURN_IF_ERROR(CheckCancelled(options));
    auto loaded = LoadTree(repo, options, id);
    if (!loaded.ok()) {
      if (!options.on_error) return loaded.status();
      TreeLoadError error;
      error.tree = id;
      if (parent) error.parent = *parent;
      error.root = root;
      error.status = loaded.status();
      return options.on_error(error);
    }
    stack.push_back(Frame{id, std::move(*loaded), 0});
    return Status::Ok();
  };
  for (size_t root = 0; root < roots.size(); ++root) {
    LB_RETURN_IF_ERROR(reach(roots[root], nullptr, root));
    while (!stack.empty()) {
      LB_RETURN_IF_ERROR(CheckCancelled(options));
      Frame& top = stack.back();
      if (top.next < top.tree.nodes.size()) {
        const Node& node = top.tree.nodes[top.next++];
        if (node.type != NodeType::kDir || !node.subtree) continue;
        const Id child = *node.subtree;
        const Id parent = top.id;
        // `top` is not used past this point: the push may move the frames.
        LB_RETURN_IF_ERROR(reach(child, &parent, root));
        continue;
      }
      Frame done = std::move(top);
      stack.pop_back();
      LB_RETURN_IF_ERROR(visitor.leave(done.id, done.tree));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<PathInTree> FindPath(Repository& repo, const Id& root, const std::string& path) {
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument(
        "'" + path + "' is not an absolute path inside the snapshot (start it with /)");
  std::vector<std::string> parts;
  for (size_t pos = 0; pos < path.size();) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(pos, slash - pos);
    if (part == "." || part == "..")
      return Status::InvalidArgument("'" + path + "': '.' and '..' are not allowed in the path");
    if (!part.empty()) parts.push_back(std::move(part));
    pos = slash + 1;
  }
  PathInTree found;
  found.path = "/";
  found.tree = root;
  for (const std::string& part : parts) {
    const std::string here = JoinPath(found.path, part);
    if (!found.tree)
      return Status::NotFound("path " + path + " is not in the snapshot (" + found.path +
                              " is not a directory)");
    LB_ASSIGN_OR_RETURN(Tree tree, repo.LoadTree(*found.tree));
    auto it =
        std::lower_bound(tree.nodes.begin(), tree.nodes.end(), part,
                         [](const Node& n, const std::string& name) { return n.name < name; });
    if (it == tree.nodes.end() || it->name != part)
      return Status::NotFound("path " + here + " is not in the snapshot");
    found.path = here;
    found.tree = it->type == NodeType::kDir ? it->subtree : std::nullopt;
    found.node = std::move(*it);
  }
  return found;
}

Status WalkTrees(Repository& repo, const std::vector<Id>& roots, const TreeWalkOptions& options,
                 const TreeVisitor& visit) {
  ParallelTreeWalk walk(repo, options, visit);
  return walk.Run(roots);
}

Status WalkDepthFirst(Repository& repo, Tree start, const std::string& root_path,
                      const TreeWalkOptions& options, const DepthFirstVisitor& visitor) {
  return DepthFirst(repo, std::move(start), std::nullopt, root_path, options, visitor);
}

Status WalkDepthFirst(Repository& repo, const Id& root, const std::string& root_path,
                      const TreeWalkOptions& options, const DepthFirstVisitor& visitor) {
  LB_RETURN_IF_ERROR(CheckCancelled(options));
  auto loaded = LoadTree(repo, options, root);
  if (!loaded.ok()) {
    if (!options.on_error) return loaded.status();
    TreeLoadError error;
    error.tree = root;
    error.path = root_path;
    error.status = loaded.status();
    return options.on_error(error);
  }
  return DepthFirst(repo, std::move(*loaded), root, root_path, options, visitor);
}

Status WalkPostOrder(Repository& repo, const std::vector<Id>& roots, const TreeWalkOptions& options,
                     const PostOrderVisitor& visitor) {
  try {
    return PostOrder(repo, roots, options, visitor);
  } catch (...) {
    return StatusFromCurrentException("the tree walk");
  }
}

Status FindUsedBlobs(Repository& repo, const std::vector<Id>& roots, const FindUsedOptions& options,
                     UsedBlobs* used) {
  const MasterIndex& index = repo.index();
  if (used->size() != index.blob_count())
    return Status::InvalidArgument("FindUsedBlobs: the used set has " +
                                   std::to_string(used->size()) + " positions, the index " +
                                   std::to_string(index.blob_count()));
  auto missing = [&](const MissingBlob& m) -> Status {
    if (options.on_missing) return options.on_missing(m);
    return Status::NotFound(std::string(BlobTypeName(m.type)) + " blob " + m.id.Hex() +
                            " is not in the index");
  };
  // Marks (type, id) used; true when this call set its bit (so a tree is entered once).
  auto mark = [&](BlobType type, const Id& id, size_t root, const Id* tree, const Node* node,
                  bool* first) -> Status {
    *first = false;
    auto pos = index.Position(type, id);
    if (!pos) return missing(MissingBlob{type, id, root, tree, node});
    if (used->TestAndSet(*pos)) return Status::Ok();
    *first = true;
    if (options.on_first_use) return options.on_first_use(type, id, *pos);
    return Status::Ok();
  };
  // Roots not yet walked: the walk is told not to deduplicate, the bits do it.
  std::vector<Id> fresh;
  std::vector<size_t> root_of;  // index in `roots` of each entry of `fresh`
  for (size_t i = 0; i < roots.size(); ++i) {
    bool first;
    LB_RETURN_IF_ERROR(mark(BlobType::kTree, roots[i], i, nullptr, nullptr, &first));
    if (!first) continue;
    fresh.push_back(roots[i]);
    root_of.push_back(i);
  }
  TreeWalkOptions walk = options.walk;
  walk.dedup = false;
  if (walk.on_error) {
    walk.on_error = [&](const TreeLoadError& e) {
      TreeLoadError mapped = e;
      mapped.root = root_of[e.root];
      return options.walk.on_error(mapped);
    };
  }
  return WalkTrees(repo, fresh, walk, [&](const VisitedTree& t, std::vector<Id>* enter) -> Status {
    size_t root = root_of[t.root];
    bool first;
    for (const Node& node : t.tree.nodes) {
      for (const Id& blob : node.content)
        LB_RETURN_IF_ERROR(mark(BlobType::kData, blob, root, &t.id, &node, &first));
      if (node.subtree) {
        LB_RETURN_IF_ERROR(mark(BlobType::kTree, *node.subtree, root, &t.id, &node, &first));
        if (first) enter->push_back(*node.subtree);
      }
    }
    used->CountTree();
    if (options.on_tree) return options.on_tree(VisitedTree{t.id, t.tree, root, t.parent});
    return Status::Ok();
  });
}

}  // namespace lifeboat
