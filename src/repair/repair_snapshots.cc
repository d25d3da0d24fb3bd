// RepairSnapshots: rewrite snapshots around data that is gone (repair.h).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "repair/repair.h"
#include "repair/repair_internal.h"
#include "repository/blob_saver.h"

namespace lifeboat {

using repair_internal::CheckLock;
using repair_internal::ListObjects;

namespace {

// What became of one tree. Paths are relative to the tree ("dir/file.txt").
struct TreeOutcome {
  enum class Kind { kIntact, kChanged, kLost } kind = Kind::kIntact;
  Id id;               // kChanged: the rewritten tree
  std::string reason;  // kLost: why
  uint64_t files_dropped = 0, dirs_emptied = 0;
  std::vector<std::string> lost;  // up to kMaxRepairPathsListed
  uint64_t omitted = 0;
};

void AddPath(std::vector<std::string>* list, uint64_t* omitted, std::string path) {
  if (list->size() < kMaxRepairPathsListed)
    list->push_back(std::move(path));
  else
    ++*omitted;
}

// Walks trees depth-first, rewriting each damaged one once (memoized by tree id). Rewritten
// trees are only kept in memory (they are few: those on the paths to damage) until Store():
// nothing is written before the caller has decided that the repair may go ahead.
class TreeRepairer {
 public:
  TreeRepairer(Repository& repo, std::unordered_set<Id, IdHash> packs)
      : repo_(repo), packs_(std::move(packs)) {}

  Result<TreeOutcome> Visit(const Id& tree) {
    if (intact_.count(tree)) return TreeOutcome{};
    if (auto it = done_.find(tree); it != done_.end()) return it->second;
    auto loaded = repo_.LoadTree(tree);
    if (!loaded.ok()) {
      // Only data that is really gone counts: an I/O error must not make a directory vanish.
      if (!loaded.status().IsNotFound() && !loaded.status().IsCorruption()) return loaded.status();
      TreeOutcome lost;
      lost.kind = TreeOutcome::Kind::kLost;
      lost.reason = loaded.status().message();
      done_.emplace(tree, lost);
      return lost;
    }
    TreeOutcome out;
    Tree rewritten;
    bool changed = false;
    for (Node& node : loaded->nodes) {
      if (node.type == NodeType::kFile) {
        if (auto missing = FirstMissing(node.content)) {
          ++out.files_dropped;
          AddPath(&out.lost, &out.omitted,
                  node.name + ": file dropped (data blob " + missing->Short() + " is gone)");
          changed = true;
          continue;
        }
      } else if (node.type == NodeType::kDir) {
        std::string why;
        if (!node.subtree) {
          why = "it has no tree";
        } else {
          LB_ASSIGN_OR_RETURN(TreeOutcome sub, Visit(*node.subtree));
          if (sub.kind == TreeOutcome::Kind::kLost) {
            why = "its tree " + node.subtree->Short() + " is gone";
          } else if (sub.kind == TreeOutcome::Kind::kChanged) {
            node.subtree = sub.id;
            out.files_dropped += sub.files_dropped;
            out.dirs_emptied += sub.dirs_emptied;
            for (const std::string& p : sub.lost) AddPath(&out.lost, &out.omitted, node.name + "/" + p);
            out.omitted += sub.omitted;
            changed = true;
          }
        }
        if (!why.empty()) {
          LB_ASSIGN_OR_RETURN(node.subtree, EmptyTree());
          ++out.dirs_emptied;
          AddPath(&out.lost, &out.omitted,
                  node.name + "/: directory emptied (" + why + "; its contents are lost)");
          changed = true;
        }
      }
      rewritten.nodes.push_back(std::move(node));
    }
    if (!changed) {
      intact_.insert(tree);
      return TreeOutcome{};
    }
    out.kind = TreeOutcome::Kind::kChanged;
    LB_ASSIGN_OR_RETURN(out.id, Save(rewritten));
    done_.emplace(tree, out);
    return out;
  }

  // Saves the rewritten trees through `saver`; returns how many were new to the repository.
  Result<uint64_t> Store(BlobSaver& saver) {
    uint64_t added_count = 0;
    for (auto& [id, encoded] : pending_) {
      LB_ASSIGN_OR_RETURN(bool added, saver.Save(BlobType::kTree, id, std::move(encoded)));
      if (added) ++added_count;
    }
    pending_.clear();
    return added_count;
  }

 private:
  // The first content blob that is not in the index, or whose pack is not in the backend.
  std::optional<Id> FirstMissing(const std::vector<Id>& content) const {
    for (const Id& id : content) {
      auto loc = repo_.index().Find(BlobType::kData, id);
      if (!loc || !packs_.count(loc->pack)) return id;
    }
    return std::nullopt;
  }

  Result<Id> Save(const Tree& tree) {
    Bytes encoded = EncodeTree(tree);
    Id id = repo_.codec().ComputeId(encoded);
    if (pending_ids_.insert(id).second) pending_.emplace_back(id, std::move(encoded));
    return id;
  }

  Result<Id> EmptyTree() {
    if (!empty_tree_) {
      LB_ASSIGN_OR_RETURN(Id id, Save(Tree{}));
      empty_tree_ = id;
    }
    return *empty_tree_;
  }

  Repository& repo_;
  const std::unordered_set<Id, IdHash> packs_;
  std::unordered_set<Id, IdHash> intact_;
  std::unordered_map<Id, TreeOutcome, IdHash> done_;  // changed or lost trees
  std::optional<Id> empty_tree_;
  std::vector<std::pair<Id, Bytes>> pending_;  // rewritten trees, not yet stored
  std::unordered_set<Id, IdHash> pending_ids_;
};

}  // namespace

Result<RepairSnapshotsResult> RepairSnapshots(Repository& repo, const RepositoryLock* lock,
                                              const RepairSnapshotsOptions& options) {
  LB_RETURN_IF_ERROR(repair_internal::RequireLock(lock, options.dry_run, "repair snapshots"));
  Backend& backend = repo.backend();
  RepairSnapshotsResult r;

  // One listing of the packs: which exist, and whether the index names them all.
  LB_ASSIGN_OR_RETURN(PackInventory inventory, repo.TakePackInventory());

  // Every snapshot is loaded: a replacement from an earlier run may exist for a selected one.
  LB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> snapshot_infos,
                      ListObjects(backend, ObjectType::kSnapshot));
  std::vector<std::pair<Id, Snapshot>> snapshots;
  std::vector<std::pair<Id, std::string>> unreadable;
  std::unordered_map<Id, Id, IdHash> repaired_by;  // original -> replacement
  for (const ObjectInfo& info : snapshot_infos) {
    auto id = Id::FromHex(info.name);
    if (!id) continue;
    auto s = repo.LoadSnapshot(*id);
    if (!s.ok()) {
      if (!s.status().IsCorruption()) return s.status();
      unreadable.emplace_back(*id, s.status().message());
      continue;
    }
    if (s->repaired_from) repaired_by.emplace(*s->repaired_from, *id);
    snapshots.emplace_back(*id, std::move(*s));
  }
  std::sort(snapshots.begin(), snapshots.end(), [](const auto& a, const auto& b) {
    if (a.second.time_ns != b.second.time_ns) return a.second.time_ns < b.second.time_ns;
    return a.first < b.first;
  });
  std::unordered_set<Id, IdHash> selected(options.snapshots.begin(), options.snapshots.end());
  for (const Id& id : options.snapshots) {
    bool exists = std::any_of(snapshot_infos.begin(), snapshot_infos.end(),
                              [&](const ObjectInfo& info) { return info.name == id.Hex(); });
    if (!exists) return Status::NotFound("no snapshot " + id.Hex());
  }
  auto wanted = [&](const Id& id) { return selected.empty() || selected.count(id) > 0; };

  TreeRepairer trees(repo, std::move(inventory.present));

  struct Pending {
    size_t report;  // into r.snapshots
    Snapshot snapshot;
  };
  std::vector<Pending> to_write;
  for (const auto& [id, why] : unreadable) {
    if (!wanted(id)) continue;
    ++r.snapshots_checked;
    SnapshotRepairReport report;
    report.snapshot = id;
    report.damaged = true;
    report.unreadable = true;
    report.lost.push_back("snapshot file cannot be read: " + why);
    r.snapshots.push_back(std::move(report));
  }
  for (const auto& [id, snapshot] : snapshots) {
    if (!wanted(id)) continue;
    LB_RETURN_IF_ERROR(options.context.Check("repair snapshots"));
    ++r.snapshots_checked;
    LB_ASSIGN_OR_RETURN(TreeOutcome root, trees.Visit(snapshot.tree));
    if (root.kind == TreeOutcome::Kind::kIntact) continue;
    SnapshotRepairReport report;
    report.snapshot = id;
    report.damaged = true;
    if (root.kind == TreeOutcome::Kind::kLost) {
      report.root_lost = true;
      report.lost.push_back("/: root tree " + snapshot.tree.Short() + " is gone (" + root.reason +
                            "); nothing is left to keep");
    } else {
      report.files_dropped = root.files_dropped;
      report.dirs_emptied = root.dirs_emptied;
      for (const std::string& p : root.lost) report.lost.push_back("/" + p);
      report.paths_omitted = root.omitted;
      if (auto it = repaired_by.find(id); it != repaired_by.end()) {
        report.already_repaired = true;
        report.repaired = it->second;
      } else {
        Snapshot fixed = snapshot;
        fixed.tree = root.id;
        fixed.repaired_from = id;
        // A repaired snapshot is not the snapshot it was copied from (it lacks data): without
        // an `original`, `copy` can still bring the intact version from another repository.
        fixed.original.reset();
        if (!fixed.HasTag(kRepairedTag)) fixed.tags.push_back(kRepairedTag);
        to_write.push_back(Pending{r.snapshots.size(), std::move(fixed)});
      }
    }
    r.snapshots.push_back(std::move(report));
  }
  // Data counts as gone only if the view is complete: packs that no index names probably hold
  // it (index files lost or damaged). Dropping files, or forgetting a snapshot whose root "is
  // gone", would then throw away what `repair index` recovers (doc/repair.md, "A complete view").
  bool data_gone = std::any_of(r.snapshots.begin(), r.snapshots.end(),
                               [](const SnapshotRepairReport& s) { return !s.unreadable; });
  if (data_gone && !inventory.unindexed.empty())
    return Status::FailedPrecondition(
        "repair snapshots refuses to run: the index is incomplete: " +
        std::to_string(inventory.unindexed.size()) +
        " pack(s) in the repository are named by no index file, so data the snapshots need "
        "may only look lost (e.g. pack " + inventory.unindexed.front().Hex() +
        "). Nothing was changed. Run `lifeboat repair index` first (it rebuilds the index from "
        "the packs), then `lifeboat check` and, if still needed, repair snapshots again.");
  if (options.dry_run) return r;

  // The rewritten trees are durable before any snapshot names them, and each replacement is
  // stored before its original may be forgotten.
  {
    BlobSaver saver(repo, BlobSaverOptions::WithWorkers(options.workers));
    LB_ASSIGN_OR_RETURN(r.trees_written, trees.Store(saver));
    LB_RETURN_IF_ERROR(saver.Flush().WithContext("saving repaired trees"));
  }
  if (!to_write.empty())
    LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "storing the repaired snapshots"));
  for (Pending& p : to_write) {
    LB_ASSIGN_OR_RETURN(Id id, repo.SaveSnapshot(p.snapshot));
    r.snapshots[p.report].repaired = id;
    ++r.snapshots_written;
  }
  if (!options.forget) return r;
  bool any = std::any_of(r.snapshots.begin(), r.snapshots.end(), [](const auto& s) {
    return s.repaired || s.root_lost || s.unreadable;
  });
  if (any) LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "forgetting the damaged snapshots"));
  for (SnapshotRepairReport& s : r.snapshots) {
    if (!s.repaired && !s.root_lost && !s.unreadable) continue;
    Status st = backend.Remove({ObjectType::kSnapshot, s.snapshot.Hex()});
    if (!st.ok() && !st.IsNotFound())
      return st.WithContext("forgetting damaged snapshot " + s.snapshot.Hex());
    s.forgotten = true;
    ++r.snapshots_forgotten;
  }
  return r;
}

}  // namespace lifeboat
