// lifeboat stats: how big the snapshots are when restored, how much unique data they reference,
// how much of it is stored, and what deduplication and compression save. The engine is
// SnapshotStats (inspect/stats.h); this file selects the snapshots and prints.
#include <iostream>
#include <unordered_set>

#include "cli/common.h"
#include "inspect/stats.h"

namespace lifeboat::cli {

namespace {

struct StatsFlags {
  std::vector<std::string> snapshots;
  std::string mode = "all";
  SnapshotFilter filter;
};

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
      StatsOptions options;
      options.blob_sizes = raw;
      options.repository_size = all;
      options.context = CliContext();
      auto r = SnapshotStats(**repo, snaps, options);
      if (!r.ok()) {
        if (r.status().code() == StatusCode::kCancelled)
          return fail(Status::Cancelled("interrupted"));
        return fail(r.status());
      }
      if (lock->get()) lock->get()->Release().IgnoreError();
      const RestoreTotals& restore_totals = r->restore;
      const BlobTotals& blobs = r->blobs;
      if (blobs.missing)
        std::cerr << "lifeboat: warning: " << blobs.missing
                  << " referenced blob(s) are not in the index; their sizes are not counted "
                     "(run `lifeboat check`)\n";

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
          j["compression_ratio"] = r->compression_ratio;
          j["missing_blobs"] = blobs.missing;
        }
        if (all) {
          j["repository_size"] = r->repository_bytes;
          j["pack_count"] = r->pack_count;
          j["dedup_ratio"] = r->dedup_ratio;
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
        row("Compression Ratio:", FormatRatio(r->compression_ratio));
      }
      if (all) {
        row("Deduplication Ratio:", FormatRatio(r->dedup_ratio));
        row("Repository Size:",
            FormatBytes(r->repository_bytes) + " in " + std::to_string(r->pack_count) + " packs");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
