// RepairSnapshots: rewrite snapshots around data that is gone (repair.h).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "repair/repair.h"
#include "repair/repair_internal.h"
#include "repository/blob_saver.h"
#include "repository/tree_walker.h"
#include "util/phase_timer.h"

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

// Walks trees depth-first with WalkDepthFirst (repository/tree_walker.h), rewriting each damaged
// one once, bottom-up: a directory's tree is rewritten when the walk leaves it, after everything
// below it. Outcomes are memoized by tree id, so a subtree shared by several directories or
// snapshots is walked once (later occurrences are not entered). Rewritten trees are only kept in
// memory (they are few: those on the paths to damage) until Store(): nothing is written before
// the caller has decided that the repair may go ahead. Serial, on the caller's thread.
class TreeRepairer {
 public:
  TreeRepairer(Repository& repo, std::unordered_set<Id, IdHash> packs, const Context& context)
      : repo_(repo), packs_(std::move(packs)), context_(context) {}

  Result<TreeOutcome> Visit(const Id& root) {
    if (auto known = Known(root)) return *known;
    frames_.clear();
    frames_.emplace_back();
    frames_.back().tree = root;
    TreeWalkOptions walk;
    walk.context = context_;
    // A tree that cannot be loaded: only data that is really gone counts (the directory is then
    // emptied); an I/O error must not make a directory vanish, so it stops the repair.
    walk.on_error = [this](const TreeLoadError& e) -> Status {
      if (!e.status.IsNotFound() && !e.status.IsCorruption()) return e.status;
      frames_.back().lost = true;
      frames_.back().reason = e.status.message();
      return Status::Ok();
    };
    DepthFirstVisitor visitor;
    visitor.node = [this](const std::string&, Node& node) { return OnNode(node); };
    visitor.leave = [this](const std::string&) { status_ = Leave(); };
    status_ = Status::Ok();
    Status walked = WalkDepthFirst(repo_, root, "/", walk, visitor);
    LB_RETURN_IF_ERROR(status_);
    LB_RETURN_IF_ERROR(walked);
    // The root's frame: the walk calls leave() for the directories below it only.
    LB_ASSIGN_OR_RETURN(TreeOutcome out, Finish(&frames_.back()));
    frames_.clear();
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
  // A directory being walked: its tree, the nodes kept so far and what was lost below it.
  struct Frame {
    Id tree;
    bool lost = false;   // the tree could not be loaded (on_error)
    std::string reason;  // why, when lost
    Tree rewritten;      // the nodes kept, subtree ids updated
    bool changed = false;
    TreeOutcome out;      // counts and paths, relative to this tree
    size_t dir_node = 0;  // in the parent's rewritten.nodes: the node naming this tree
  };

  // What is known already about `tree`: intact, rewritten or lost.
  std::optional<TreeOutcome> Known(const Id& tree) const {
    if (intact_.count(tree)) return TreeOutcome{};
    if (auto it = done_.find(tree); it != done_.end()) return it->second;
    return std::nullopt;
  }

  // A node of the directory on top of frames_: keeps it (or drops a file whose data is gone),
  // and enters a subdirectory whose tree is not known yet.
  Result<bool> OnNode(Node& node) {
    LB_RETURN_IF_ERROR(status_);  // a leave() failed: stop the walk
    Frame& top = frames_.back();
    if (node.type == NodeType::kFile) {
      if (auto missing = FirstMissing(node.content)) {
        ++top.out.files_dropped;
        AddPath(&top.out.lost, &top.out.omitted,
                node.name + ": file dropped (data blob " + missing->Short() + " is gone)");
        top.changed = true;
        return false;
      }
    } else if (node.type == NodeType::kDir) {
      if (!node.subtree) {
        LB_RETURN_IF_ERROR(EmptyDirectory(&top, &node, "it has no tree"));
      } else if (auto known = Known(*node.subtree)) {
        LB_RETURN_IF_ERROR(Apply(&top, &node, *known));
      } else {
        top.rewritten.nodes.push_back(std::move(node));
        Frame child;
        child.tree = *top.rewritten.nodes.back().subtree;
        child.dir_node = top.rewritten.nodes.size() - 1;
        frames_.push_back(std::move(child));  // `top` is not used past this point
        return true;
      }
    }
    frames_.back().rewritten.nodes.push_back(std::move(node));
    return false;
  }

  // The walk left the directory on top of frames_: its outcome goes to its parent's node.
  Status Leave() {
    if (!status_.ok()) return status_;  // stopping already
    Frame child = std::move(frames_.back());
    frames_.pop_back();
    LB_ASSIGN_OR_RETURN(TreeOutcome out, Finish(&child));
    Frame& parent = frames_.back();
    Node& node = parent.rewritten.nodes[child.dir_node];
    return Apply(&parent, &node, out);
  }

  // The outcome of a walked tree, memoized.
  Result<TreeOutcome> Finish(Frame* f) {
    if (f->lost) {
      TreeOutcome lost;
      lost.kind = TreeOutcome::Kind::kLost;
      lost.reason = f->reason;
      done_.emplace(f->tree, lost);
      return lost;
    }
    if (!f->changed) {
      intact_.insert(f->tree);
      return TreeOutcome{};
    }
    TreeOutcome out = std::move(f->out);
    out.kind = TreeOutcome::Kind::kChanged;
    LB_ASSIGN_OR_RETURN(out.id, Save(f->rewritten));
    done_.emplace(f->tree, out);
    return out;
  }

  // What became of the tree of the directory `node` (kept in `f`) changes the node and `f`.
  Status Apply(Frame* f, Node* node, const TreeOutcome& sub) {
    if (sub.kind == TreeOutcome::Kind::kLost)
      return EmptyDirectory(f, node, "its tree " + node->subtree->Short() + " is gone");
    if (sub.kind == TreeOutcome::Kind::kChanged) {
      node->subtree = sub.id;
      f->out.files_dropped += sub.files_dropped;
      f->out.dirs_emptied += sub.dirs_emptied;
      for (const std::string& p : sub.lost)
        AddPath(&f->out.lost, &f->out.omitted, node->name + "/" + p);
      f->out.omitted += sub.omitted;
      f->changed = true;
    }
    return Status::Ok();
  }

  Status EmptyDirectory(Frame* f, Node* node, const std::string& why) {
    LB_ASSIGN_OR_RETURN(node->subtree, EmptyTree());
    ++f->out.dirs_emptied;
    AddPath(&f->out.lost, &f->out.omitted,
            node->name + "/: directory emptied (" + why + "; its contents are lost)");
    f->changed = true;
    return Status::Ok();
  }

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
  const Context context_;
  std::vector<Frame> frames_;  // the directories open in the walk, the root first
  Status status_;              // an error from leave(), which cannot return one
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
  PhaseTimer phases(options.context.clock());
  phases.Start("list");

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

  phases.Start("walk");
  TreeRepairer trees(repo, std::move(inventory.present), options.context);

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
  if (options.dry_run) {
    r.phases = phases.Finish();
    return r;
  }

  // The rewritten trees are durable before any snapshot names them, and each replacement is
  // stored before its original may be forgotten.
  {
    phases.Start("write");
    BlobSaver saver(repo, BlobSaverOptions::WithWorkers(WorkersFor(backend, options.workers)));
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
  if (!options.forget) {
    r.phases = phases.Finish();
    return r;
  }
  phases.Start("forget");
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
  r.phases = phases.Finish();
  return r;
}

}  // namespace lifeboat
