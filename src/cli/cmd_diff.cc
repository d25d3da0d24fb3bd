// lifeboat diff: compares two snapshots (the engine: DiffSnapshots, inspect/diff.h); this file
// parses the flags and prints the changes and the summary.
//
// Markers: "+" added, "-" removed, "M" content changed, "U" metadata only, "T" type changed.
#include <iostream>

#include "cli/common.h"
#include "inspect/diff.h"

namespace lifeboat::cli {

namespace {

struct DiffFlags {
  std::string first, second;
  bool metadata = true;
  SnapshotFilter filter;
};

// Prints one change as it is found.
Status PrintChange(const GlobalOptions& g, const DiffChange& c) {
  if (g.json) {
    nlohmann::json j = {{"message_type", "change"},
                        {"modifier", std::string(1, c.modifier)},
                        {"type", std::string(NodeTypeName(c.type))}};
    PutBytes(j, "path", c.path);
    PrintJson(j);
  } else if (!g.quiet) {
    std::cout << c.modifier << "    " << c.path << "\n";
  }
  if (!std::cout) return Status::IOError("writing the changes to stdout failed");
  return Status::Ok();
}

// Prints the summary (text or JSON) after the changes.
void PrintSummary(const GlobalOptions& g, const Id& first, const Id& second, const DiffResult& r) {
  if (r.missing_blobs)
    std::cerr << "lifeboat: warning: " << r.missing_blobs
              << " blob(s) are not in the index; their sizes are not counted (run `lifeboat "
                 "check`)\n";
  if (g.json) {
    auto side = [](const DiffSideTotals& c) {
      return nlohmann::json{{"files", c.files},           {"dirs", c.dirs},
                            {"others", c.others},         {"data_blobs", c.data_blobs},
                            {"tree_blobs", c.tree_blobs}, {"bytes", c.bytes},
                            {"data_bytes", c.data_bytes}};
    };
    PrintJson({{"message_type", "statistics"},
               {"source_snapshot", first.Hex()},
               {"target_snapshot", second.Hex()},
               {"changed_files", r.changed_files},
               {"changed_others", r.changed_others},
               {"metadata_changed", r.metadata_changed},
               {"metadata_changed_dirs", r.metadata_changed_dirs},
               {"type_changed", r.type_changed},
               {"added", side(r.added)},
               {"removed", side(r.removed)}});
    return;
  }
  char line[160];
  auto row = [&](const char* what, uint64_t n, uint64_t rm, long long c) {
    if (c >= 0)
      snprintf(line, sizeof line, "%-13s %6llu new, %6llu removed, %6lld changed", what,
               static_cast<unsigned long long>(n), static_cast<unsigned long long>(rm), c);
    else
      snprintf(line, sizeof line, "%-13s %6llu new, %6llu removed", what,
               static_cast<unsigned long long>(n), static_cast<unsigned long long>(rm));
    Say(g, line);
  };
  Say(g, "");
  row("Files:", r.added.files, r.removed.files, static_cast<long long>(r.changed_files));
  row("Dirs:", r.added.dirs, r.removed.dirs, static_cast<long long>(r.metadata_changed_dirs));
  row("Others:", r.added.others, r.removed.others, static_cast<long long>(r.changed_others));
  Say(g, "Metadata only: " + std::to_string(r.metadata_changed) +
             " (U), type changed: " + std::to_string(r.type_changed) + " (T)");
  row("Data Blobs:", r.added.data_blobs, r.removed.data_blobs, -1);
  row("Tree Blobs:", r.added.tree_blobs, r.removed.tree_blobs, -1);
  Say(g, "  Added:   " + FormatBytes(r.added.bytes));
  Say(g, "  Removed: " + FormatBytes(r.removed.bytes));
}

}  // namespace

void RegisterDiff(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("diff", "show what changed between two snapshots");
  auto f = std::make_shared<DiffFlags>();
  cmd->add_option("snapshot1", f->first, "older snapshot: id prefix or 'latest'")->required();
  cmd->add_option("snapshot2", f->second, "newer snapshot: id prefix or 'latest'")->required();
  cmd->add_flag("--metadata,!--no-metadata", f->metadata,
                "print U lines for metadata-only changes (default on)");
  AddSnapshotFilterOptions(cmd, &f->filter);
  cmd->callback([&g, runner, f] {
    *runner = [&g, f]() -> int {
      auto opened = OpenLockedRepository(g, LockKind::kShared);
      if (!opened.ok()) return ReportError(g, opened.status());
      Repository& repo = *opened->repo;
      std::unique_ptr<RepositoryLock>& lock = opened->lock;
      auto a = repo.FindSnapshot(f->first, f->filter);
      if (!a.ok()) return ReportError(g, a.status());
      auto b = repo.FindSnapshot(f->second, f->filter);
      if (!b.ok()) return ReportError(g, b.status());
      if (!g.json)
        Say(g, "comparing snapshot " + a->first.Short() + " to " + b->first.Short() + ":");
      DiffOptions options;
      options.metadata = f->metadata;
      options.context = CliContext();
      options.on_change = [&g](const DiffChange& c) { return PrintChange(g, c); };
      auto r = DiffSnapshots(repo, a->second, b->second, options);
      std::cout << std::flush;
      if (lock) lock->Release().IgnoreError();
      if (!r.ok()) {
        if (r.status().code() == StatusCode::kCancelled)
          return ReportError(g, Status::Cancelled("interrupted"));
        return ReportError(g, r.status());
      }
      PrintSummary(g, a->first, b->first, *r);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
