// lifeboat stats: how big the snapshots are when restored, how much unique data they reference,
// how much of it is stored, and what deduplication and compression save.
//
// Each tree is loaded once (shared subtrees are common between snapshots); the restore size of a
// subtree is computed from what each tree holds, so that every occurrence still counts, as it
// would when restored.
#include <iostream>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "cli/common.h"
#include "repository/tree_walker.h"

namespace lifeboat::cli {

namespace {

struct StatsFlags {
  std::vector<std::string> snapshots;
  std::string mode = "all";
  SnapshotFilter filter;
};

struct SubtreeTotals {
  uint64_t files = 0, dirs = 0, others = 0, bytes = 0;
  void Add(const SubtreeTotals& o) {
    files += o.files;
    dirs += o.dirs;
    others += o.others;
    bytes += o.bytes;
  }
};

// Sizes from one walk of the snapshots' trees (FindUsedBlobs, each distinct tree loaded once): what
// every tree holds itself and which subtrees it names, so that the restore size of a snapshot can
// count a shared subtree at each of its occurrences afterwards, without loading it again.
class StatsWalker {
 public:
  explicit StatsWalker(Repository& repo) : repo_(repo), used_(repo.index().blob_count()) {}

  // Walks every tree reachable from the snapshots' roots. A tree that cannot be loaded, or that
  // no index lists, is an error naming a snapshot that reaches it.
  Status Walk(const std::vector<std::pair<Id, Snapshot>>& snaps) {
    std::vector<Id> roots;
    for (const auto& [id, s] : snaps) roots.push_back(s.tree);
    auto where = [&](size_t root) { return "snapshot " + snaps[root].first.Short(); };
    FindUsedOptions o;
    o.walk.context = CliContext();
    o.walk.on_error = [&](const TreeLoadError& e) { return e.status.WithContext(where(e.root)); };
    o.on_missing = [&](const MissingBlob& m) {
      if (m.type == BlobType::kTree)
        return Status::NotFound("tree blob " + m.id.Hex() +
                                " is not in the index (data missing; run `lifeboat check`)")
            .WithContext(where(m.root));
      std::lock_guard lock(mu_);
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
      std::lock_guard lock(mu_);
      trees_.emplace(t.id, std::move(sizes));
      return Status::Ok();
    };
    Status st = FindUsedBlobs(repo_, roots, o, &used_);
    if (st.code() == StatusCode::kCancelled) return Status::Cancelled("interrupted");
    return st;
  }

  // What restoring the tree `root` writes, every occurrence of a shared subtree counted. After
  // Walk; `root` was one of its roots.
  SubtreeTotals RestoreTotals(const Id& root) {
    std::vector<std::pair<TreeSizes*, size_t>> stack;  // (tree, next child), post-order
    auto find = [&](const Id& id) -> TreeSizes* {
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
      SubtreeTotals sum = t->own;
      for (const Id& c : t->children)
        if (TreeSizes* child = find(c)) sum.Add(*child->total);
      t->total = sum;
      stack.pop_back();
    }
    return *top->total;
  }

  // Raw (plaintext) and stored sizes of every unique blob seen, from the index.
  struct BlobTotals {
    uint64_t data_blobs = 0, tree_blobs = 0, raw = 0, stored = 0, missing = 0;
    uint64_t data_raw = 0;  // raw of data blobs only: what file contents deduplicate to
  };
  BlobTotals SumBlobs() const {
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
    b.missing = missing_data_.size();
    b.data_blobs += b.missing;
    return b;
  }

 private:
  struct TreeSizes {
    SubtreeTotals own;                   // the tree's own nodes
    std::vector<Id> children;            // subtrees of its directories, each occurrence
    std::optional<SubtreeTotals> total;  // own + children's totals, once computed
  };

  Repository& repo_;
  UsedBlobs used_;
  std::mutex mu_;                                    // guards the two below during Walk
  std::unordered_map<Id, TreeSizes, IdHash> trees_;  // every tree walked
  std::unordered_set<Id, IdHash> missing_data_;      // data blobs no index lists
};

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

std::string FormatRatio(double r) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.2fx", r);
  return buf;
}

}  // namespace

void RegisterStats(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("stats", "show sizes, deduplication and compression");
  auto f = std::make_shared<StatsFlags>();
  cmd->add_option("snapshots", f->snapshots, "snapshot id prefixes or 'latest' (default: all)");
  cmd->add_option("--mode", f->mode,
                  "restore-size: files and bytes a restore would write; raw-data: unique blobs "
                  "and their stored size; all (default): both, plus repository size")
      ->check(CLI::IsMember({"restore-size", "raw-data", "all"}));
  AddSnapshotFilterOptions(cmd, &f->filter);
  cmd->callback([&g, runner, f] {
    *runner = [&g, f]() -> int {
      auto repo = OpenRepository(g);
      if (!repo.ok()) return ReportError(g, repo.status());
      auto lock = LockRepository(g, **repo, LockKind::kShared);
      if (!lock.ok()) return ReportError(g, lock.status());
      auto fail = [&](const Status& st) {
        if (lock->get()) lock->get()->Release().IgnoreError();
        return ReportError(g, st);
      };
      Status st = (*repo)->LoadIndex();
      if (!st.ok()) return fail(st);

      std::vector<std::pair<Id, Snapshot>> snaps;
      if (f->snapshots.empty()) {
        auto all = (*repo)->ListSnapshots();
        if (!all.ok()) return fail(all.status());
        for (auto& e : *all)
          if (f->filter.Matches(e.second)) snaps.push_back(std::move(e));
      } else {
        std::unordered_set<Id, IdHash> seen;
        for (const auto& ref : f->snapshots) {
          auto s = (*repo)->FindSnapshot(ref, f->filter);
          if (!s.ok()) return fail(s.status());
          if (seen.insert(s->first).second) snaps.push_back(std::move(*s));
        }
      }

      bool restore = f->mode != "raw-data";
      bool raw = f->mode != "restore-size";
      bool all = f->mode == "all";
      StatsWalker walker(**repo);
      st = walker.Walk(snaps);
      if (!st.ok()) return fail(st);
      SubtreeTotals restore_totals;
      for (const auto& [id, s] : snaps) restore_totals.Add(walker.RestoreTotals(s.tree));
      StatsWalker::BlobTotals blobs;
      if (raw) blobs = walker.SumBlobs();
      uint64_t repo_bytes = 0, pack_count = 0;
      if (all) {
        st = (*repo)->backend().List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
          repo_bytes += info.size;
          ++pack_count;
          return Status::Ok();
        });
        if (!st.ok()) return fail(st);
      }
      if (lock->get()) lock->get()->Release().IgnoreError();
      if (blobs.missing)
        std::cerr << "lifeboat: warning: " << blobs.missing
                  << " referenced blob(s) are not in the index; their sizes are not counted "
                     "(run `lifeboat check`)\n";

      double dedup = Ratio(restore_totals.bytes, blobs.data_raw);
      double compression = Ratio(blobs.raw, blobs.stored);
      if (g.json) {
        nlohmann::json j = {
            {"message_type", "stats"}, {"mode", f->mode}, {"snapshots_count", snaps.size()}};
        if (restore) {
          j["total_size"] = restore_totals.bytes;
          j["total_file_count"] = restore_totals.files;
          j["total_dir_count"] = restore_totals.dirs;
          j["total_other_count"] = restore_totals.others;
        }
        if (raw) {
          j["total_blob_count"] = blobs.data_blobs + blobs.tree_blobs;
          j["data_blob_count"] = blobs.data_blobs;
          j["tree_blob_count"] = blobs.tree_blobs;
          j["total_uncompressed_size"] = blobs.raw;
          j["data_uncompressed_size"] = blobs.data_raw;
          j["total_stored_size"] = blobs.stored;
          j["compression_ratio"] = compression;
          j["missing_blobs"] = blobs.missing;
        }
        if (all) {
          j["repository_size"] = repo_bytes;
          j["pack_count"] = pack_count;
          j["dedup_ratio"] = dedup;
        }
        PrintJson(j);
        return kExitOk;
      }
      char line[160];
      auto row = [&](const char* label, const std::string& value) {
        snprintf(line, sizeof line, "%26s  %s", label, value.c_str());
        Say(g, line);
      };
      Say(g, "Stats in " + f->mode + " mode:");
      row("Snapshots processed:", std::to_string(snaps.size()));
      if (restore) {
        row("Total File Count:", std::to_string(restore_totals.files));
        row("Total Dir Count:", std::to_string(restore_totals.dirs));
        row("Restore Size:", FormatBytes(restore_totals.bytes));
      }
      if (raw) {
        row("Unique Blobs:", std::to_string(blobs.data_blobs + blobs.tree_blobs) + " (" +
                                 std::to_string(blobs.data_blobs) + " data, " +
                                 std::to_string(blobs.tree_blobs) + " tree)");
        row("Unique Raw Size:", FormatBytes(blobs.raw));
        row("Unique Stored Size:", FormatBytes(blobs.stored));
        row("Compression Ratio:", FormatRatio(compression));
      }
      if (all) {
        row("Deduplication Ratio:", FormatRatio(dedup));
        row("Repository Size:",
            FormatBytes(repo_bytes) + " in " + std::to_string(pack_count) + " packs");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
