#include "restorer/restore_layout.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <string_view>

#include "repository/tree_prefetch.h"
#include "repository/tree_walker.h"
#include "util/parallel_for.h"

namespace lifeboat::restore {
namespace {

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string s(dir);
  if (s.empty() || s.back() != '/') s += '/';
  s += name;
  return s;
}

// Appends to a layout the selected entries below one directory, walking it with WalkDepthFirst.
class Walker {
 public:
  Walker(Repository& repo, const PathFilter& filter, const Context& ctx, RestoreLayout* layout)
      : repo_(repo), filter_(filter), ctx_(ctx), layout_(layout) {}

  // Appends the selected nodes of `tree` (snapshot path `snap_dir`, target-relative `rel_dir`,
  // its entries at `depth`) and everything selected below them. `selected`: an ancestor matched
  // an include (or there are no includes). Trees below that cannot be read are layout errors.
  // Returns Cancelled / DeadlineExceeded when the context stopped it (what was listed stays).
  Status Walk(Tree tree, const std::string& snap_dir, const std::string& rel_dir, uint32_t depth,
              bool selected) {
    dirs_.clear();
    dirs_.push_back(Dir{rel_dir, depth, selected, false, 0});
    // The walk loads one tree at a time in path order: load them ahead, many to a request.
    std::vector<Id> below;
    for (const Node& n : tree.nodes)
      if (n.type == NodeType::kDir && n.subtree) below.push_back(*n.subtree);
    TreePrefetchOptions prefetch;
    prefetch.context = ctx_;
    LB_ASSIGN_OR_RETURN(PrefetchedTrees trees, PrefetchedTrees::Load(repo_, below, prefetch));
    TreeWalkOptions o;
    o.context = ctx_;
    o.load = [this, &trees](const Id& id) -> Result<Tree> {
      if (const Tree* t = trees.Find(id)) return *t;
      return repo_.LoadTree(id);
    };
    o.on_error = [this](const TreeLoadError& e) {
      layout_->errors.push_back({e.path, "cannot read directory contents: " + e.status.message()});
      return Status::Ok();
    };
    DepthFirstVisitor v;
    v.node = [this](const std::string& path, Node& n) { return Visit(path, n); };
    v.leave = [this](const std::string&) { Leave(); };
    return WalkDepthFirst(repo_, std::move(tree), snap_dir, o, v);
  }

 private:
  // A directory being walked: where its entries go, and whether any was kept.
  struct Dir {
    std::string rel;  // target-relative path of the directory ("" for the walk's top)
    uint32_t depth;   // depth of its entries
    bool selected;    // it, or an ancestor, matched an include
    bool kept_any;    // an entry below it stays in the layout
    size_t index;     // its own entry in layout_->entries (not for the top)
  };

  // Lists node `n` at `path`; returns whether to walk the directory's contents.
  Result<bool> Visit(const std::string& path, Node& n) {
    Dir& dir = dirs_.back();
    if (!IsValidNodeName(n.name)) {  // DecodeTree rejects these; never trust a name blindly
      layout_->errors.push_back({path, "invalid file name in the snapshot; not restored"});
      return false;
    }
    const bool is_dir = n.type == NodeType::kDir;
    if (filter_.Excluded(path, is_dir)) return false;
    const bool sel = dir.selected || filter_.Included(path, is_dir);
    if (!is_dir && !sel) return false;
    if (is_dir && !sel && !filter_.MayIncludeBelow(path)) return false;

    const size_t index = layout_->entries.size();
    const bool has_subtree = n.subtree.has_value();
    LayoutEntry e;
    e.rel = dir.rel.empty() ? n.name : dir.rel + "/" + n.name;
    e.depth = dir.depth;
    e.snap_path = path;
    e.node = std::move(n);
    layout_->entries.push_back(std::move(e));
    if (!is_dir) {
      dir.kept_any = true;
      return false;
    }
    if (!has_subtree) {
      layout_->errors.push_back({path, "directory node has no subtree id (corrupt tree)"});
      Close(Dir{"", 0, sel, false, index});
      return false;
    }
    Dir below{layout_->entries[index].rel, dir.depth + 1, sel, false, index};
    dirs_.push_back(std::move(below));  // `dir` is not used past this point
    return true;
  }

  void Leave() {
    Dir done = std::move(dirs_.back());
    dirs_.pop_back();
    Close(done);
  }

  // A directory is kept when it was selected itself or something below it was; otherwise it was
  // walked only because an include might have matched below, and its entry goes again.
  void Close(const Dir& done) {
    if (done.selected || done.kept_any) {
      dirs_.back().kept_any = true;
    } else {
      layout_->entries.resize(done.index);
    }
  }

  Repository& repo_;
  const PathFilter& filter_;
  const Context ctx_;
  RestoreLayout* layout_;
  std::vector<Dir> dirs_;  // the directories open in the walk; the first is its top
};

}  // namespace

Result<RestoreLayout> BuildRestoreLayout(Repository& repo, const Id& root, const RestoreOptions& o,
                                         const PathFilter& filter) {
  auto loaded = repo.LoadTree(root);
  if (!loaded.ok()) return loaded.status().WithContext("loading the snapshot's root tree");
  Tree tree = std::move(*loaded);
  RestoreLayout layout;
  Walker walker(repo, filter, o.context, &layout);
  bool selected = !filter.has_includes();
  std::string snap_dir = "/";
  // Lists what lies in `dir` (at snap_dir) and below.
  auto walk = [&](Tree dir) -> Result<RestoreLayout> {
    Status st = walker.Walk(std::move(dir), snap_dir, "", 1, selected);
    if (st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded ||
        o.context.done()) {
      Status stop = o.context.Check("restore");
      if (stop.ok()) stop = st;
      return Status(stop.code(), stop.message() +
                                     " while reading the snapshot's directories; nothing was "
                                     "written");
    }
    LB_RETURN_IF_ERROR(st);
    return std::move(layout);
  };
  auto comps = SplitPath(o.subtree);
  for (size_t i = 0; i < comps.size(); ++i) {
    auto it = std::lower_bound(tree.nodes.begin(), tree.nodes.end(), comps[i],
                               [](const Node& n, std::string_view name) { return n.name < name; });
    if (it == tree.nodes.end() || it->name != comps[i])
      return Status::NotFound("\"" + o.subtree + "\" is not in the snapshot (no \"" +
                              std::string(comps[i]) + "\" in " + snap_dir +
                              "); list the snapshot with `lifeboat ls`");
    std::string path = JoinPath(snap_dir, it->name);
    const bool is_dir = it->type == NodeType::kDir;
    if (filter.Excluded(path, is_dir)) return layout;  // everything below is excluded
    if (filter.Included(path, is_dir)) selected = true;
    if (!is_dir) {
      if (i + 1 != comps.size())
        return Status::InvalidArgument(path + " is not a directory (subtree \"" + o.subtree +
                                       "\")");
      Tree single;
      single.nodes.push_back(std::move(*it));
      return walk(std::move(single));
    }
    if (!it->subtree) return Status::Corruption(path + ": directory node has no subtree id");
    auto sub = repo.LoadTree(*it->subtree);
    if (!sub.ok()) return sub.status().WithContext("loading " + path);
    tree = std::move(*sub);
    snap_dir = path;
  }
  return walk(std::move(tree));
}

void GroupHardlinks(RestoreLayout* layout) {
  std::map<std::pair<uint64_t, uint64_t>, size_t> first;
  for (size_t i = 0; i < layout->entries.size(); ++i) {
    LayoutEntry& e = layout->entries[i];
    if (e.node.type != NodeType::kFile || e.node.links <= 1) continue;
    auto [it, inserted] = first.emplace(std::make_pair(e.node.device, e.node.inode), i);
    if (!inserted) {
      e.primary = static_cast<int64_t>(it->second);
      layout->entries[it->second].has_links = true;
    }
  }
}

}  // namespace lifeboat::restore
