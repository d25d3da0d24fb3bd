// lifeboat restore: restores a snapshot (or part of it) into a directory.
#include <iostream>

#include "cli/common.h"
#include "restorer/restorer.h"

namespace lifeboat::cli {

namespace {
struct RestoreFlags {
  std::string snapshot;
  std::string target;
  std::vector<std::string> includes, excludes;
  bool verify = false;
  bool dry_run = false;
  SnapshotFilter filter;
  std::vector<std::string> fallbacks;
};

// Splits "id:subpath" (restic style) into its parts.
std::pair<std::string, std::string> SplitSubpath(const std::string& ref) {
  size_t colon = ref.find(':');
  if (colon == std::string::npos) return {ref, "/"};
  std::string sub = ref.substr(colon + 1);
  if (sub.empty() || sub[0] != '/') sub = "/" + sub;
  return {ref.substr(0, colon), sub};
}
}  // namespace

void RegisterRestore(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("restore", "restore a snapshot into a directory");
  auto f = std::make_shared<RestoreFlags>();
  cmd->add_option("snapshot", f->snapshot, "snapshot id prefix or 'latest' (ID:/sub/path for a subtree)")
      ->required();
  cmd->add_option("-t,--target", f->target, "directory to restore into")->required();
  cmd->add_option("-i,--include", f->includes, "restore only paths matching this glob");
  cmd->add_option("-e,--exclude", f->excludes, "do not restore paths matching this glob");
  cmd->add_flag("--verify", f->verify, "re-read restored files and compare with the snapshot");
  cmd->add_flag("-n,--dry-run", f->dry_run, "show what would be restored, write nothing");
  AddSnapshotFilterOptions(cmd, &f->filter);
  AddFallbackOption(cmd, &f->fallbacks);
  cmd->callback([&g, runner, f] {
    *runner = [&g, f]() -> int {
      auto opened = OpenLockedRepository(g, LockKind::kShared);
      if (!opened.ok()) return ReportError(g, opened.status());
      Repository& repo = *opened->repo;
      std::unique_ptr<RepositoryLock>& lock = opened->lock;
      auto fallbacks = FallbackSites::Open(g, repo, f->fallbacks);
      if (!fallbacks.ok()) return ReportError(g, fallbacks.status());
      auto [ref, subpath] = SplitSubpath(f->snapshot);
      std::vector<DamagedSnapshot> damaged;
      auto snap = repo.FindSnapshot(ref, f->filter, &damaged);
      WarnDamagedSnapshots(g, damaged);
      if (!snap.ok()) return ReportError(g, snap.status());
      RestoreOptions opt;
      opt.target = f->target;
      opt.includes = f->includes;
      opt.excludes = f->excludes;
      opt.subtree = subpath;
      opt.verify = f->verify;
      opt.dry_run = f->dry_run;
      opt.context = CliContext();
      RaiseOpenFileLimit();  // one descriptor per directory level; restore starts no process
      auto r = RestoreTree(repo, snap->second.tree, opt);
      (*fallbacks)->PrintAdvice();
      const uint64_t served_by_fallback = (*fallbacks)->served();
      fallbacks->reset();
      if (lock) lock->Release().IgnoreError();
      if (!r.ok()) return ReportError(g, r.status());
      if (g.json) {
        nlohmann::json errors = nlohmann::json::array(), warnings = nlohmann::json::array();
        for (const auto& e : r->errors) {
          nlohmann::json error = {{"message", ToValidUtf8(e.message)}};
          PutBytes(error, "path", e.path);
          errors.push_back(std::move(error));
        }
        for (const auto& w : r->warnings) {
          nlohmann::json warning = {{"message", ToValidUtf8(w.message)}};
          PutBytes(warning, "path", w.path);
          warnings.push_back(std::move(warning));
        }
        PrintJson({{"message_type", "summary"},
                   {"snapshot_id", snap->first.Hex()},
                   {"files", r->files},
                   {"dirs", r->dirs},
                   {"other", r->other},
                   {"hardlinks", r->hardlinks},
                   {"bytes", r->bytes},
                   {"verified_files", r->verified_files},
                   {"dry_run", f->dry_run},
                   {"setid_dropped", r->setid_dropped},
                   {"served_by_fallback", served_by_fallback},
                   {"errors", errors},
                   {"warnings", warnings},
                   {"phases", PhasesJson(r->phases)}});
      } else {
        Say(g, std::string(f->dry_run ? "would restore" : "restored") + " snapshot " +
                   snap->first.Short() + " to " + f->target + ": " + std::to_string(r->files) +
                   " files, " + std::to_string(r->dirs) + " dirs, " +
                   std::to_string(r->other) + " other, " + FormatBytes(r->bytes));
        if (f->verify)
          Say(g, "verified " + std::to_string(r->verified_files) + " files against the snapshot");
      }
      if (!g.json)
        for (const auto& w : r->warnings)
          std::cerr << "lifeboat: warning: " << w.path << ": " << w.message << "\n";
      if (!r->errors.empty()) {
        std::cerr << "lifeboat: " << r->errors.size() << " error(s) during restore:\n";
        for (const auto& e : r->errors) std::cerr << "  " << e.path << ": " << e.message << "\n";
        return kExitIncomplete;
      }
      if (g_interrupted) return kExitInterrupted;
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
