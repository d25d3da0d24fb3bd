// lifeboat stats: how big the snapshots are when restored, how much unique data they reference,
// how much of it is stored, and what deduplication and compression save.
//
// Each tree is loaded once (shared subtrees are common between snapshots); the restore size of a
// subtree is cached so that every occurrence still counts, as it would when restored.
#include <iostream>
#include <unordered_map>
#include <unordered_set>

#include "cli/common.h"

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

class StatsWalker {
 public:
  StatsWalker(Repository& repo, bool want_blobs) : repo_(repo), want_blobs_(want_blobs) {}

  // Totals of the tree `id`, loading it only the first time it is seen.
  Result<SubtreeTotals> Walk(const Id& id) {
    if (auto it = totals_.find(id); it != totals_.end()) return it->second;
    if (g_interrupted) return Status::Cancelled("interrupted");
    LB_ASSIGN_OR_RETURN(Tree tree, repo_.LoadTree(id));
    SubtreeTotals t;
    for (const Node& n : tree.nodes) {
      switch (n.type) {
        case NodeType::kFile:
          ++t.files;
          t.bytes += n.size;
          if (want_blobs_) data_.insert(n.content.begin(), n.content.end());
          break;
        case NodeType::kDir:
          ++t.dirs;
          if (n.subtree) {
            LB_ASSIGN_OR_RETURN(SubtreeTotals sub, Walk(*n.subtree));
            t.Add(sub);
          }
          break;
        default:
          ++t.others;
          break;
      }
    }
    totals_.emplace(id, t);
    return t;
  }

  // Raw (plaintext) and stored sizes of every unique blob seen, from the index.
  struct BlobTotals {
    uint64_t data_blobs = 0, tree_blobs = 0, raw = 0, stored = 0, missing = 0;
    uint64_t data_raw = 0;  // raw of data blobs only: what file contents deduplicate to
  };
  BlobTotals SumBlobs() const {
    BlobTotals b;
    auto add = [&](BlobType type, const Id& id) {
      auto loc = repo_.index().Find(type, id);
      if (!loc) {
        ++b.missing;
        return;
      }
      b.raw += loc->raw_length;
      b.stored += loc->stored_length;
      if (type == BlobType::kData) b.data_raw += loc->raw_length;
    };
    for (const Id& id : data_) add(BlobType::kData, id);
    for (const auto& [id, t] : totals_) add(BlobType::kTree, id);
    b.data_blobs = data_.size();
    b.tree_blobs = totals_.size();
    return b;
  }

 private:
  Repository& repo_;
  bool want_blobs_;
  std::unordered_map<Id, SubtreeTotals, IdHash> totals_;  // also the visited set of trees
  std::unordered_set<Id, IdHash> data_;
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
      StatsWalker walker(**repo, raw);
      SubtreeTotals restore_totals;
      for (const auto& [id, s] : snaps) {
        auto t = walker.Walk(s.tree);
        if (!t.ok()) return fail(t.status().WithContext("snapshot " + id.Short()));
        restore_totals.Add(*t);
      }
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
