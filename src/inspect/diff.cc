// DiffSnapshots (diff.h): a side-by-side walk of two trees by name, with WalkDepthFirst for the
// subtrees present on one side only.
#include "inspect/diff.h"

#include <deque>
#include <optional>
#include <unordered_set>

#include "repository/tree_walker.h"

namespace lifeboat {

namespace {

using IdSet = std::unordered_set<Id, IdHash>;

bool MetadataDiffers(const Node& a, const Node& b) {
  return a.mode != b.mode || a.uid != b.uid || a.gid != b.gid || a.user != b.user ||
         a.group != b.group || a.mtime_ns != b.mtime_ns || a.xattrs != b.xattrs;
}

std::string Child(const std::string& dir, const Node& n) {
  return dir == "/" ? "/" + n.name : dir + "/" + n.name;
}

void CountNode(const Node& n, DiffSideTotals* c) {
  if (n.type == NodeType::kFile)
    ++c->files;
  else if (n.type == NodeType::kDir)
    ++c->dirs;
  else
    ++c->others;
}

class SnapshotDiffer {
 public:
  SnapshotDiffer(Repository& repo, const DiffOptions& options, DiffResult* result)
      : repo_(repo), options_(options), r_(*result) {}

  // Compares the root trees `a` and `b`, in path order, without recursion: a stack of the pairs
  // of directories being compared (one decoded tree per side and level).
  Status CompareRoots(const Id& a, const Id& b) {
    LB_RETURN_IF_ERROR(CompareTrees(a, b, "/"));
    while (!stack_.empty()) {
      Pair& top = stack_.back();
      const std::vector<Node>& na = top.a.nodes;
      const std::vector<Node>& nb = top.b.nodes;
      if (top.i == na.size() && top.j == nb.size()) {
        stack_.pop_back();
        continue;
      }
      // A deque: pushing a pair (CompareTrees) leaves `top` and its nodes where they are.
      const std::string& dir = top.dir;
      if (top.j == nb.size() || (top.i < na.size() && na[top.i].name < nb[top.j].name)) {
        const Node& n = na[top.i++];
        LB_RETURN_IF_ERROR(OneSide(dir, n, /*added=*/false));
      } else if (top.i == na.size() || nb[top.j].name < na[top.i].name) {
        const Node& n = nb[top.j++];
        LB_RETURN_IF_ERROR(OneSide(dir, n, /*added=*/true));
      } else {
        const Node& x = na[top.i++];
        const Node& y = nb[top.j++];
        LB_RETURN_IF_ERROR(CompareNodes(dir, x, y));
      }
    }
    return Status::Ok();
  }

  // The blob counts and sizes of both sides, from the index. After CompareRoots.
  void CountBlobs() {
    auto count = [&](const IdSet& mine, const IdSet& theirs, BlobType type, DiffSideTotals* c) {
      for (const Id& id : mine) {
        if (theirs.count(id)) continue;
        (type == BlobType::kData ? c->data_blobs : c->tree_blobs)++;
        if (auto loc = repo_.index().Find(type, id)) {
          c->bytes += loc->raw_length;
          if (type == BlobType::kData) c->data_bytes += loc->raw_length;
        } else {
          ++r_.missing_blobs;
        }
      }
    };
    count(data_b_, data_a_, BlobType::kData, &r_.added);
    count(data_a_, data_b_, BlobType::kData, &r_.removed);
    count(trees_b_, trees_a_, BlobType::kTree, &r_.added);
    count(trees_a_, trees_b_, BlobType::kTree, &r_.removed);
  }

 private:
  // Two directories being compared; a side that is absent has no nodes.
  struct Pair {
    Tree a, b;
    size_t i = 0, j = 0;  // next node on each side
    std::string dir;
  };

  // Compares the directories `a` and `b` found at `dir`: nothing when they are the same tree, a
  // one-sided walk when one is absent, else a new pair on the stack.
  Status CompareTrees(const std::optional<Id>& a, const std::optional<Id>& b,
                      const std::string& dir) {
    if (a && b && *a == *b) return Status::Ok();
    if (!a && !b) return Status::Ok();
    if (!b) return WalkOneSide(*a, dir, /*added=*/false);
    if (!a) return WalkOneSide(*b, dir, /*added=*/true);
    LB_RETURN_IF_ERROR(options_.context.Check("diff"));
    Pair pair;
    LB_ASSIGN_OR_RETURN(pair.a, repo_.LoadTree(*a));
    trees_a_.insert(*a);
    LB_ASSIGN_OR_RETURN(pair.b, repo_.LoadTree(*b));
    trees_b_.insert(*b);
    pair.dir = dir;
    stack_.push_back(std::move(pair));
    return Status::Ok();
  }

  // Everything below the tree `root` (the directory at `dir`) was added or removed.
  Status WalkOneSide(const Id& root, const std::string& dir, bool added) {
    IdSet& trees = added ? trees_b_ : trees_a_;
    TreeWalkOptions walk;
    walk.context = options_.context;
    DepthFirstVisitor visitor;
    visitor.node = [&](const std::string& path, Node& n) -> Result<bool> {
      LB_RETURN_IF_ERROR(Emit(added ? '+' : '-', path, n));
      Count(n, added);
      if (n.type != NodeType::kDir || !n.subtree) return false;
      trees.insert(*n.subtree);
      return true;
    };
    trees.insert(root);
    return WalkDepthFirst(repo_, root, dir, walk, visitor);
  }

  void Count(const Node& n, bool added) {
    CountNode(n, added ? &r_.added : &r_.removed);
    IdSet& data = added ? data_b_ : data_a_;
    data.insert(n.content.begin(), n.content.end());
  }

  // A node on one side only, and what is below it.
  Status OneSide(const std::string& dir, const Node& n, bool added) {
    LB_RETURN_IF_ERROR(EmitIn(added ? '+' : '-', dir, n));
    Count(n, added);
    if (n.type == NodeType::kDir && n.subtree) return WalkOneSide(*n.subtree, Child(dir, n), added);
    return Status::Ok();
  }

  Status CompareNodes(const std::string& dir, const Node& a, const Node& b) {
    if (a.type != b.type) {
      LB_RETURN_IF_ERROR(EmitIn('T', dir, b));
      ++r_.type_changed;
      data_a_.insert(a.content.begin(), a.content.end());
      data_b_.insert(b.content.begin(), b.content.end());
      // What was below the old directory is gone; what is below the new one is new.
      std::optional<Id> sa = a.type == NodeType::kDir ? a.subtree : std::nullopt;
      std::optional<Id> sb = b.type == NodeType::kDir ? b.subtree : std::nullopt;
      return CompareTrees(sa, sb, Child(dir, b));
    }
    switch (a.type) {
      case NodeType::kFile:
        if (a.content != b.content || a.size != b.size) {
          LB_RETURN_IF_ERROR(EmitIn('M', dir, b));
          ++r_.changed_files;
          data_a_.insert(a.content.begin(), a.content.end());
          data_b_.insert(b.content.begin(), b.content.end());
          return Status::Ok();
        }
        break;
      case NodeType::kDir:
        if (MetadataDiffers(a, b)) {
          LB_RETURN_IF_ERROR(EmitIn('U', dir, b));
          ++r_.metadata_changed;
          ++r_.metadata_changed_dirs;
        }
        return CompareTrees(a.subtree, b.subtree, Child(dir, b));
      default:
        if (a.link_target != b.link_target || a.rdev != b.rdev) {
          LB_RETURN_IF_ERROR(EmitIn('M', dir, b));
          ++r_.changed_others;
          return Status::Ok();
        }
        break;
    }
    if (MetadataDiffers(a, b)) {
      LB_RETURN_IF_ERROR(EmitIn('U', dir, b));
      ++r_.metadata_changed;
    }
    return Status::Ok();
  }

  // Reports a change at `path` (the node's path without the '/' of a directory). The change
  // passed to on_change is reused, so that its path's buffer is not allocated per change.
  Status Emit(char modifier, const std::string& path, const Node& n) {
    if (modifier == 'U' && !options_.metadata) return Status::Ok();
    change_.path.assign(path);
    return Report(modifier, n);
  }
  // The same for the node `n` of the directory at `dir`.
  Status EmitIn(char modifier, const std::string& dir, const Node& n) {
    if (modifier == 'U' && !options_.metadata) return Status::Ok();
    change_.path.assign(dir);
    if (dir != "/") change_.path += '/';
    change_.path += n.name;
    return Report(modifier, n);
  }
  // change_.path holds the node's path: completes and reports the change.
  Status Report(char modifier, const Node& n) {
    change_.modifier = modifier;
    if (n.type == NodeType::kDir) change_.path += '/';
    change_.type = n.type;
    if (options_.on_change) return options_.on_change(change_);
    r_.changes.push_back(change_);
    return Status::Ok();
  }

  Repository& repo_;
  const DiffOptions& options_;
  DiffResult& r_;
  std::deque<Pair> stack_;
  IdSet data_a_, data_b_, trees_a_, trees_b_;
  DiffChange change_;  // the one Emit fills
};

}  // namespace

Result<DiffResult> DiffTrees(Repository& repo, const Id& a, const Id& b,
                             const DiffOptions& options) {
  DiffResult r;
  PhaseTimer phases(options.context.clock());
  SnapshotDiffer differ(repo, options, &r);
  phases.Start("compare");
  LB_RETURN_IF_ERROR(differ.CompareRoots(a, b));
  phases.Start("sizes");
  differ.CountBlobs();
  r.phases = phases.Finish();
  return r;
}

Result<DiffResult> DiffSnapshots(Repository& repo, const Snapshot& a, const Snapshot& b,
                                 const DiffOptions& options) {
  return DiffTrees(repo, a.tree, b.tree, options);
}

}  // namespace lifeboat
