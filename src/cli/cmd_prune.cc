// lifeboat prune: removes data no snapshot references and rewrites mostly-unused packs
// (src/pruner/pruner.h; protocol in doc/prune.md). Also run by `forget --prune`. Exit 0 when
// done, 3 (kExitIncomplete) when done but objects prune would remove are kept by the site's
// Object Lock (a prune after the date it names removes them).
#include <iostream>
#include <string>

#include "backend/object_lock.h"
#include "cli/prune_flags.h"
#include "pruner/pruner.h"
#include "util/units.h"

namespace lifeboat::cli {
namespace {

// One self-overwriting progress line on stderr: "[repack] 3/10 packs". Called only from prune's
// reporter thread; Finish (after Prune returned, the reporter stopped) clears the line.
class PruneProgressPrinter {
 public:
  void operator()(const PruneProgress& p) {
    if (p.phase.empty()) return;
    // "[0:12] trees: 1520 walked", "[0:20] repack: 3/10 packs", "[0:31] index".
    std::string line = "\r[" + FormatDuration(p.elapsed_seconds) + "] " + p.phase;
    if (p.phase != "index") {
      line += ": " + std::to_string(p.done);
      if (p.total) line += "/" + std::to_string(p.total);
      line += p.phase == "trees" ? " walked" : p.phase == "packs" ? " listed" : " packs";
    }
    if (line.size() < width_) line += std::string(width_ - line.size(), ' ');
    width_ = line.size();
    std::cerr << line << std::flush;
  }
  void Finish() {
    if (width_) std::cerr << "\r" << std::string(width_, ' ') << "\r" << std::flush;
    width_ = 0;
  }

 private:
  size_t width_ = 0;  // of the line on the screen; 0: none
};

}  // namespace

nlohmann::json ObjectLockJson(const Backend& backend) {
  const std::optional<ObjectLockHint> lock = backend.Hints().object_lock;
  if (!lock) return nullptr;
  return {{"days", lock->period.count() / 86400}, {"mode", lock->mode}};
}

void AnnounceObjectLock(const GlobalOptions& g, const Backend& backend, const std::string& verb) {
  const std::optional<ObjectLockHint> lock = backend.Hints().object_lock;
  if (!lock || g.json) return;
  std::string mode = lock->mode;
  for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Say(g, "this site locks every object for " + std::to_string(lock->period.count() / 86400) +
             " days (S3 Object Lock, " + mode + " mode): " + verb +
             " leaves what is still locked and names the date it can go");
}

void AddPruneFlags(CLI::App* cmd, PruneFlags* flags) {
  cmd->add_option("--max-unused", flags->max_unused,
                  "unused data allowed to remain in kept packs: a percentage, a SIZE (e.g. "
                  "200M; doc/units.md) or \"unlimited\" (default 5%)");
  cmd->add_option("--max-repack-size", flags->max_repack_size,
                  "rewrite at most SIZE of packs in this run (e.g. 500M, 2G; doc/units.md)")
      ->type_name("SIZE");
}

int RunPrune(const GlobalOptions& g, OpenedRepository& opened, const PruneFlags& flags,
             bool dry_run, std::vector<Id> assume_removed) {
  PruneOptions options;
  options.dry_run = dry_run;
  options.assume_removed = std::move(assume_removed);
  options.lock = opened.lock.get();
  options.context = CliContext();
  Status st = ParseMaxUnused(flags.max_unused, &options);
  if (!st.ok()) return ReportError(g, st);
  if (!flags.max_repack_size.empty()) {
    auto bytes = ParseSize(flags.max_repack_size);
    if (!bytes.ok()) return ReportError(g, bytes.status().WithContext("--max-repack-size"));
    options.max_repack_bytes = *bytes;
  }
  AnnounceObjectLock(g, opened.repo->backend(), "prune");
  PruneProgressPrinter printer;
  if (!g.json && !g.quiet && StderrIsTerminal())
    options.progress = [&printer](const PruneProgress& p) { printer(p); };
  auto stats = Prune(*opened.repo, options);
  printer.Finish();
  if (!stats.ok()) return ReportError(g, stats.status());
  const PruneStats& s = *stats;
  if (g.json) {
    PrintJson({{"message_type", "prune"},
               {"dry_run", s.dry_run},
               {"snapshots", s.snapshots},
               {"trees", s.trees},
               {"packs", s.packs},
               {"pack_bytes", s.pack_bytes},
               {"used_blobs", s.used_blobs},
               {"used_bytes", s.used_bytes},
               {"unused_blobs", s.unused_blobs},
               {"unused_bytes", s.unused_bytes},
               {"unindexed_packs", s.unindexed_packs},
               {"unindexed_bytes", s.unindexed_bytes},
               {"missing_packs", s.missing_packs},
               {"delete_packs", s.delete_packs},
               {"delete_bytes", s.delete_bytes},
               {"repack_packs", s.repack_packs},
               {"repack_bytes", s.repack_bytes},
               {"repack_blobs", s.repack_blobs},
               {"repack_blob_bytes", s.repack_blob_bytes},
               {"remaining_unused_bytes", s.remaining_unused_bytes},
               {"packs_after", s.packs_after},
               {"pack_bytes_after", s.pack_bytes_after},
               {"index_files_written", s.index_files_written},
               {"index_files_removed", s.index_files_removed},
               {"object_lock", ObjectLockJson(opened.repo->backend())},
               {"locked_packs", s.locked_packs},
               {"locked_bytes", s.locked_bytes},
               {"locked_index_files", s.locked_index_files},
               {"locked_until", s.locked_until_ns ? nlohmann::json(FormatLockTime(s.locked_until_ns))
                                                  : nlohmann::json(nullptr)},
               {"phases", PhasesJson(s.phases)}});
    return s.dry_run || s.locked_objects() == 0 ? kExitOk : kExitIncomplete;
  }
  auto n = [](uint64_t v) { return std::to_string(v); };
  Say(g, (s.dry_run ? "would prune (dry run, nothing changed):" : "prune:"));
  Say(g, "  " + n(s.snapshots) + " snapshots, " + n(s.trees) + " trees walked");
  Say(g, "  repository: " + n(s.packs) + " packs, " + FormatBytes(s.pack_bytes));
  Say(g, "  used:   " + n(s.used_blobs) + " blobs, " + FormatBytes(s.used_bytes));
  Say(g, "  unused: " + n(s.unused_blobs) + " blobs, " + FormatBytes(s.unused_bytes));
  std::string verb = s.dry_run ? "would " : "";
  Say(g, "  " + verb + "delete " + n(s.delete_packs) + " unused packs (" +
             FormatBytes(s.delete_bytes) + ") and " + n(s.unindexed_packs) +
             " unindexed leftover packs (" + FormatBytes(s.unindexed_bytes) + ")");
  Say(g, "  " + verb + "repack " + n(s.repack_packs) + " packs (" + FormatBytes(s.repack_bytes) +
             "), keeping " + n(s.repack_blobs) + " blobs (" + FormatBytes(s.repack_blob_bytes) +
             ")");
  if (s.missing_packs > 0)
    Say(g, "  " + verb + "drop " + n(s.missing_packs) +
               " missing packs that held nothing used from the index");
  Say(g, "  " + verb + "write " + n(s.index_files_written) + " index files, remove " +
             n(s.index_files_removed));
  Say(g, "  after: " + n(s.packs_after) + " packs, " + FormatBytes(s.pack_bytes_after) + ", " +
             FormatBytes(s.remaining_unused_bytes) + " of it unused");
  if (s.locked_objects() == 0) return kExitOk;
  const std::string kept = n(s.locked_packs) + " packs (" + FormatBytes(s.locked_bytes) + ") and " +
                           n(s.locked_index_files) + " index files";
  const std::string until = FormatLockTime(s.locked_until_ns);
  if (s.dry_run) {
    Say(g, "  would keep " + kept + ": they are locked (Object Lock) until " + until +
               " at the latest");
    return kExitOk;
  }
  Say(g, "  kept " + kept + ": they are locked (Object Lock) until " + until + " at the latest");
  std::cerr << "lifeboat: warning: " << n(s.locked_objects())
            << " objects are locked until " << until
            << " and were kept: they will be removed by a prune after that date" << std::endl;
  return kExitIncomplete;
}

void RegisterPrune(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "prune", "remove data no snapshot references; rewrite packs that are mostly unused");
  auto flags = std::make_shared<PruneFlags>();
  auto dry_run = std::make_shared<bool>(false);
  AddPruneFlags(cmd, flags.get());
  cmd->add_flag("-n,--dry-run", *dry_run, "only say what would be deleted and rewritten");
  cmd->callback([&g, runner, flags, dry_run] {
    *runner = [&g, flags, dry_run]() -> int {
      auto opened = OpenLockedRepository(g, LockKind::kExclusive);
      if (!opened.ok()) return ReportError(g, opened.status());
      return RunPrune(g, *opened, *flags, *dry_run);
    };
  });
}

}  // namespace lifeboat::cli
