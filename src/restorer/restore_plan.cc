#include "restorer/restore_plan.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <string_view>

#include "util/parallel_for.h"

namespace lifeboat::restore {
namespace {

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string s(dir);
  if (s.empty() || s.back() != '/') s += '/';
  s += name;
  return s;
}

class Walker {
 public:
  Walker(Repository& repo, const PathFilter& filter, const std::atomic<bool>* cancel, Plan* plan)
      : repo_(repo), filter_(filter), cancel_(cancel), plan_(plan) {}

  // Appends the selected nodes of `tree` (snapshot path `snap_dir`, target-relative `rel_dir`) and
  // everything selected below them. `selected`: an ancestor matched an include (or there are no
  // includes). Returns whether anything was appended.
  bool Walk(Tree tree, const std::string& snap_dir, const std::string& rel_dir, uint32_t depth,
            bool selected) {
    bool kept_any = false;
    for (Node& n : tree.nodes) {
      if (IsCancelled(cancel_)) return kept_any;  // BuildPlan reports it
      std::string path = JoinPath(snap_dir, n.name);
      if (!IsValidNodeName(n.name)) {  // DecodeTree rejects these; never trust a name blindly
        plan_->errors.push_back({path, "invalid file name in the snapshot; not restored"});
        continue;
      }
      const bool is_dir = n.type == NodeType::kDir;
      if (filter_.Excluded(path, is_dir)) continue;
      const bool sel = selected || filter_.Included(path, is_dir);
      if (!is_dir && !sel) continue;
      if (is_dir && !sel && !filter_.MayIncludeBelow(path)) continue;

      const size_t index = plan_->entries.size();
      std::optional<Id> subtree = n.subtree;
      PlanEntry e;
      e.rel = rel_dir.empty() ? n.name : rel_dir + "/" + n.name;
      e.depth = depth;
      e.snap_path = path;
      e.node = std::move(n);
      plan_->entries.push_back(std::move(e));
      if (!is_dir) {
        kept_any = true;
        continue;
      }
      bool kept_below = false;
      if (!subtree) {
        plan_->errors.push_back({path, "directory node has no subtree id (corrupt tree)"});
      } else {
        auto sub = repo_.LoadTree(*subtree);
        if (!sub.ok()) {
          plan_->errors.push_back(
              {path, "cannot read directory contents: " + sub.status().message()});
        } else {
          std::string rel = plan_->entries[index].rel;
          kept_below = Walk(std::move(*sub), path, rel, depth + 1, sel);
        }
      }
      if (sel || kept_below) {
        kept_any = true;
      } else {
        plan_->entries.resize(index);  // walked only because an include might match below
      }
    }
    return kept_any;
  }

 private:
  Repository& repo_;
  const PathFilter& filter_;
  const std::atomic<bool>* cancel_;
  Plan* plan_;
};

}  // namespace

Result<Plan> BuildPlan(Repository& repo, const Id& root, const RestoreOptions& o,
                       const PathFilter& filter) {
  auto loaded = repo.LoadTree(root);
  if (!loaded.ok()) return loaded.status().WithContext("loading the snapshot's root tree");
  Tree tree = std::move(*loaded);
  Plan plan;
  Walker walker(repo, filter, o.cancel, &plan);
  bool selected = !filter.has_includes();
  std::string snap_dir = "/";
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
    if (filter.Excluded(path, is_dir)) return plan;  // everything below is excluded
    if (filter.Included(path, is_dir)) selected = true;
    if (!is_dir) {
      if (i + 1 != comps.size())
        return Status::InvalidArgument(path + " is not a directory (subtree \"" + o.subtree +
                                       "\")");
      Tree single;
      single.nodes.push_back(std::move(*it));
      walker.Walk(std::move(single), snap_dir, "", 1, selected);
      return plan;
    }
    if (!it->subtree) return Status::Corruption(path + ": directory node has no subtree id");
    auto sub = repo.LoadTree(*it->subtree);
    if (!sub.ok()) return sub.status().WithContext("loading " + path);
    tree = std::move(*sub);
    snap_dir = path;
  }
  walker.Walk(std::move(tree), snap_dir, "", 1, selected);
  if (IsCancelled(o.cancel))
    return Status::Cancelled(
        "restore interrupted while reading the snapshot's directories; "
        "nothing was written");
  return plan;
}

void GroupHardlinks(Plan* plan) {
  std::map<std::pair<uint64_t, uint64_t>, size_t> first;
  for (size_t i = 0; i < plan->entries.size(); ++i) {
    PlanEntry& e = plan->entries[i];
    if (e.node.type != NodeType::kFile || e.node.links <= 1) continue;
    auto [it, inserted] = first.emplace(std::make_pair(e.node.device, e.node.inode), i);
    if (!inserted) {
      e.primary = static_cast<int64_t>(it->second);
      plan->entries[it->second].has_links = true;
    }
  }
}

}  // namespace lifeboat::restore
