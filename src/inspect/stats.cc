// SnapshotStats (stats.h): one FindUsedBlobs walk, then the arithmetic.
#include "inspect/stats.h"

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "repository/tree_walker.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

namespace {

void Add(RestoreTotals* sum, const RestoreTotals& o) {
  sum->files += o.files;
  sum->dirs += o.dirs;
  sum->others += o.others;
  sum->bytes += o.bytes;
}

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

// Sizes from one walk of the snapshots' trees: what every tree holds itself and which subtrees it
// names, so that the restore size of a snapshot can count a shared subtree at each of its
// occurrences afterwards, without loading it again.
class StatsWalker {
 public:
  explicit StatsWalker(Repository& repo) : repo_(repo), used_(repo.index().blob_count()) {}

  // Walks every tree reachable from the snapshots' roots. A tree that cannot be loaded, or that
  // no index lists, is an error naming a snapshot that reaches it.
  Status Walk(const std::vector<std::pair<Id, Snapshot>>& snaps, const StatsOptions& options)
      EXCLUDES(mu_) {
    std::vector<Id> roots;
    for (const auto& [id, s] : snaps) roots.push_back(s.tree);
    auto where = [&](size_t root) { return "snapshot " + snaps[root].first.Short(); };
    FindUsedOptions o;
    o.walk.workers = options.workers;
    o.walk.context = options.context;
    o.walk.on_error = [&](const TreeLoadError& e) { return e.status.WithContext(where(e.root)); };
    o.on_missing = [&](const MissingBlob& m) {
      if (m.type == BlobType::kTree)
        return Status::NotFound("tree blob " + m.id.Hex() +
                                " is not in the index (data missing; run `lifeboat check`)")
            .WithContext(where(m.root));
      MutexLock lock(&mu_);
      missing_data_.insert(m.id);
      return Status::Ok();
    };
    o.on_tree = [&](const VisitedTree& t) {
      TreeSizes sizes;
      for (const Node& n : t.tree.nodes) {
        switch (n.type) {
          case NodeType::kFile:
            ++sizes.own.files;
            sizes.own.bytes += n.size;
            break;
          case NodeType::kDir:
            ++sizes.own.dirs;
            if (n.subtree) sizes.children.push_back(*n.subtree);
            break;
          default:
            ++sizes.own.others;
            break;
        }
      }
      MutexLock lock(&mu_);
      trees_.emplace(t.id, std::move(sizes));
      return Status::Ok();
    };
    return FindUsedBlobs(repo_, roots, o, &used_);
  }

  // What restoring the tree `root` writes, every occurrence of a shared subtree counted. After
  // Walk (no other thread runs then, hence the lock is only for the analysis); `root` was one of
  // its roots.
  RestoreTotals Restore(const Id& root) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    std::vector<std::pair<TreeSizes*, size_t>> stack;  // (tree, next child), post-order
    auto find = [&](const Id& id) -> TreeSizes* {
      mu_.AssertHeld();
      auto it = trees_.find(id);
      return it == trees_.end() ? nullptr : &it->second;
    };
    TreeSizes* top = find(root);
    if (!top) return {};
    if (!top->total) stack.emplace_back(top, 0);
    while (!stack.empty()) {
      auto& [t, next] = stack.back();
      if (next < t->children.size()) {
        TreeSizes* child = find(t->children[next++]);
        if (child && !child->total) stack.emplace_back(child, 0);
        continue;
      }
      RestoreTotals sum = t->own;
      for (const Id& c : t->children)
        if (TreeSizes* child = find(c)) Add(&sum, *child->total);
      t->total = sum;
      stack.pop_back();
    }
    return *top->total;
  }

  // Raw (plaintext) and stored sizes of every unique blob seen, from the index. After Walk.
  BlobTotals SumBlobs() EXCLUDES(mu_) {
    BlobTotals b;
    const MasterIndex& index = repo_.index();
    for (size_t pos = 0; pos < used_.size(); ++pos) {
      if (!used_.Test(pos)) continue;
      BlobLocation loc = index.AtPosition(pos);
      b.raw += loc.raw_length;
      b.stored += loc.stored_length;
      if (loc.type == BlobType::kData) {
        ++b.data_blobs;
        b.data_raw += loc.raw_length;
      } else {
        ++b.tree_blobs;
      }
    }
    MutexLock lock(&mu_);
    b.missing = missing_data_.size();
    b.data_blobs += b.missing;
    return b;
  }

 private:
  struct TreeSizes {
    RestoreTotals own;                   // the tree's own nodes
    std::vector<Id> children;            // subtrees of its directories, each occurrence
    std::optional<RestoreTotals> total;  // own + children's totals, once computed
  };

  Repository& repo_;
  UsedBlobs used_;
  Mutex mu_;  // the walk's threads add to the two below
  std::unordered_map<Id, TreeSizes, IdHash> trees_ GUARDED_BY(mu_);  // every tree walked
  std::unordered_set<Id, IdHash> missing_data_ GUARDED_BY(mu_);      // data blobs no index lists
};

}  // namespace

Result<StatsResult> SnapshotStats(Repository& repo,
                                  const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                  const StatsOptions& options) {
  StatsResult r;
  PhaseTimer phases(options.context.clock());
  r.snapshots = snapshots.size();
  StatsWalker walker(repo);
  phases.Start("walk");
  LB_RETURN_IF_ERROR(walker.Walk(snapshots, options));
  phases.Start("sizes");
  for (const auto& [id, s] : snapshots) Add(&r.restore, walker.Restore(s.tree));
  if (options.blob_sizes) r.blobs = walker.SumBlobs();
  if (options.repository_size) {
    phases.Start("packs");
    LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
      r.repository_bytes += info.size;
      ++r.pack_count;
      return Status::Ok();
    }));
  }
  r.compression_ratio = Ratio(r.blobs.raw, r.blobs.stored);
  r.dedup_ratio = Ratio(r.restore.bytes, r.blobs.data_raw);
  r.phases = phases.Finish();
  return r;
}

}  // namespace lifeboat
