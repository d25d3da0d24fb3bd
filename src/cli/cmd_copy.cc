// lifeboat copy: copies snapshots from another repository into this one (doc/replication.md).
#include <cstdlib>
#include <iostream>

#include "cli/common.h"
#include "copier/copier.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat::cli {
namespace {

struct CopyFlags {
  SourceRepositoryOptions from;
  SnapshotFilter filter;
  std::vector<std::string> snapshots;
  std::vector<std::string> fallbacks;  // replicas of the source
};

// One status line on a terminal's stderr, rewritten at each progress report (the copy's reporter
// paces them).
class CopyProgressPrinter {
 public:
  void operator()(const CopyProgress& p) {
    const CopyStats& s = p.stats;
    std::string line = "\r[" + FormatDuration(p.elapsed_seconds) + "] snapshot " +
                       std::to_string(std::min(p.snapshots_done + 1, p.snapshots_total)) + "/" +
                       std::to_string(p.snapshots_total);
    if (s.packs_copied || s.packs_reused)
      line += ", " + std::to_string(s.packs_copied) + " packs copied (" +
              FormatBytes(s.pack_bytes_copied) + "), " + std::to_string(s.packs_reused) +
              " reused";
    if (s.blobs_loaded)
      line += ", " + std::to_string(s.blobs_loaded) + " blobs read (" +
              FormatBytes(s.bytes_loaded) + ")";
    std::cerr << line << "   " << std::flush;
    printed_ = true;
  }
  // Ends the status line, if one is showing, so that the next output starts on a line of its own.
  void Finish() {
    if (printed_) std::cerr << "\n";
    printed_ = false;
  }

 private:
  bool printed_ = false;
};

// What copy prints while it runs, from two threads: the status line from the copy's reporter
// thread, and each committed snapshot from the caller's thread (on_copied). One lock around
// both keeps every line whole: a snapshot's line ends the status line first, and a status line
// never lands inside a snapshot's line. Neither is called while the copy holds one of its own
// mutexes, so the lock cannot deadlock against the engine.
class CopyOutput {
 public:
  explicit CopyOutput(const GlobalOptions& g) : g_(g) {}

  void Progress(const CopyProgress& p) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    printer_(p);
  }
  void Copied(const CopiedSnapshot& c) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (g_.json) {
      nlohmann::json j = {{"message_type", "copied"},
                          {"source_id", c.source_id.Hex()},
                          {"target_id", c.target_id.Hex()},
                          {"time", FormatTime(c.snapshot.time_ns)},
                          {"hostname", c.snapshot.hostname}};
      PutBytesArray(j, "paths", c.snapshot.paths);
      PrintJson(j);
      return;
    }
    printer_.Finish();
    Say(g_, "snapshot " + c.source_id.Short() + " of " + c.snapshot.hostname + " at " +
                FormatLocalTime(c.snapshot.time_ns) + " copied as " + c.target_id.Short());
  }
  // After the copy returned (its reporter has stopped): ends the status line.
  void Finish() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    printer_.Finish();
  }

 private:
  const GlobalOptions& g_;
  Mutex mu_;
  CopyProgressPrinter printer_ GUARDED_BY(mu_);
};

nlohmann::json PairsJson(const std::vector<std::pair<Id, Id>>& pairs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [source, target] : pairs)
    out.push_back({{"source_id", source.Hex()}, {"target_id", target.Hex()}});
  return out;
}

int RunCopyCommand(const GlobalOptions& g, CopyFlags f) {
  if (f.from.repo.empty()) {
    const char* env = std::getenv("LIFEBOAT_FROM_REPOSITORY");
    if (env) f.from.repo = env;
  }
  if (f.from.repo.empty())
    return ReportError(g, Status::InvalidArgument(
                              "no source repository: use --from REPO or set "
                              "LIFEBOAT_FROM_REPOSITORY"));
  auto source = OpenSourceRepository(g, f.from);
  if (!source.ok()) return ReportError(g, source.status());
  auto target = OpenRepository(g);
  if (!target.ok()) return ReportError(g, target.status().WithContext("target repository"));
  // Shared locks on both sides, like a backup: other backups may run meanwhile, prune may not.
  auto source_lock = LockRepository(g, **source, LockKind::kShared);
  if (!source_lock.ok())
    return ReportError(g, source_lock.status().WithContext("source repository"));
  auto target_lock = LockRepository(g, **target, LockKind::kShared);
  if (!target_lock.ok())
    return ReportError(g, target_lock.status().WithContext("target repository"));
  Status st = (*source)->LoadIndex();
  if (!st.ok()) return ReportError(g, st.WithContext("source repository"));
  st = (*target)->LoadIndex();
  if (!st.ok()) return ReportError(g, st.WithContext("target repository"));
  auto fallbacks = FallbackSites::Open(g, **source, f.fallbacks);
  if (!fallbacks.ok()) return ReportError(g, fallbacks.status().WithContext("source repository"));

  bool replica = SharesKeyMaterial(**source, **target);
  if (!g.json)
    Say(g, "copying from " + (*source)->backend().Location() + " to " +
               (*target)->backend().Location() +
               (replica ? " (replica: packs are copied verbatim)"
                        : " (different keys: data is re-encrypted)"));

  CopyOptions o;
  o.snapshots = f.snapshots;
  o.filter = f.filter;
  o.source_lock = source_lock->get();
  o.target_lock = target_lock->get();
  o.context = CliContext();
  CopyOutput output(g);
  if (!g.json && !g.quiet && StderrIsTerminal())
    o.progress = [&output](const CopyProgress& p) { output.Progress(p); };
  o.on_copied = [&output](const CopiedSnapshot& c) { output.Copied(c); };
  auto result = CopySnapshots(**source, **target, o);
  output.Finish();
  (*fallbacks)->PrintAdvice();
  fallbacks->reset();
  if (target_lock->get()) target_lock->get()->Release().IgnoreError();
  if (source_lock->get()) source_lock->get()->Release().IgnoreError();
  if (!result.ok()) return ReportError(g, result.status());

  const CopyStats& s = result->stats;
  if (g.json) {
    nlohmann::json copied = nlohmann::json::array();
    for (const auto& c : result->copied)
      copied.push_back({{"source_id", c.source_id.Hex()}, {"target_id", c.target_id.Hex()}});
    PrintJson({{"message_type", "summary"},
               {"mode", result->replica ? "replica" : "re-encrypt"},
               {"snapshots_selected", s.snapshots_selected},
               {"snapshots_copied", s.snapshots_copied},
               {"snapshots_skipped", s.snapshots_skipped},
               {"packs_copied", s.packs_copied},
               {"pack_bytes_copied", s.pack_bytes_copied},
               {"packs_reused", s.packs_reused},
               {"trees_walked", s.trees_walked},
               {"trees_reused", s.trees_reused},
               {"blobs_loaded", s.blobs_loaded},
               {"bytes_loaded", s.bytes_loaded},
               {"blobs_reencrypted", s.blobs_reencrypted},
               {"bytes_reencrypted", s.bytes_reencrypted},
               {"bytes_reencrypted_stored", s.bytes_reencrypted_stored},
               {"index_files", s.index_files},
               {"copied", copied},
               {"skipped", PairsJson(result->skipped)},
               {"phases", PhasesJson(result->phases)}});
    return kExitOk;
  }
  if (s.snapshots_selected == 0) {
    Say(g, "no snapshot in the source matches the selection");
    return kExitOk;
  }
  Say(g, "Snapshots:   " + std::to_string(s.snapshots_copied) + " copied, " +
             std::to_string(s.snapshots_skipped) + " already in the target");
  if (result->replica)
    Say(g, "Packs:       " + std::to_string(s.packs_copied) + " copied verbatim (" +
               FormatBytes(s.pack_bytes_copied) + "), " + std::to_string(s.packs_reused) +
               " already there");
  else
    Say(g, "Blobs:       " + std::to_string(s.blobs_loaded) + " read (" +
               FormatBytes(s.bytes_loaded) + "), " + std::to_string(s.blobs_reencrypted) +
               " new in the target (" + FormatBytes(s.bytes_reencrypted) + ", " +
               FormatBytes(s.bytes_reencrypted_stored) + " stored)");
  return kExitOk;
}

}  // namespace

void RegisterCopy(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "copy",
      "copy snapshots from another repository (--from) into this one (--repo); snapshots "
      "already copied are skipped");
  auto f = std::make_shared<CopyFlags>();
  cmd->add_option("--from", f->from.repo,
                  "the repository to copy from (env LIFEBOAT_FROM_REPOSITORY)");
  AddSourcePasswordOptions(cmd, &f->from);
  AddSnapshotFilterOptions(cmd, &f->filter);
  cmd->add_option("snapshots", f->snapshots,
                  "source snapshot ids (or prefixes, or 'latest'); default: every snapshot "
                  "matching --host/--tag/--path");
  static const char kSourceHelp[] =
      "The source password comes from --from-password-file, LIFEBOAT_FROM_PASSWORD_FILE, "
      "--from-password-command, LIFEBOAT_FROM_PASSWORD_COMMAND or LIFEBOAT_FROM_PASSWORD (never "
      "from the target's). Between replicas (`init --replica-of`) packs are copied verbatim; "
      "otherwise data is re-encrypted. See doc/replication.md.";
  cmd->footer(std::string(kSourceHelp) + "\n\n" + cmd->get_footer());
  AddFallbackOption(cmd, &f->fallbacks);
  cmd->callback([&g, runner, f] { *runner = [&g, f] { return RunCopyCommand(g, *f); }; });
}

}  // namespace lifeboat::cli
