// lifeboat backup: backs up files and directories, or a stream from stdin or a command.
#include <unistd.h>

#include <iostream>
#include <mutex>

#include "archiver/archiver.h"
#include "archiver/command_backup.h"
#include "backend/backend_options.h"
#include "cli/common.h"
#include "engine/multi_site.h"
#include "util/units.h"

namespace lifeboat::cli {
namespace {

struct BackupFlags {
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_files;
  bool exclude_caches = false;
  bool one_file_system = false;
  std::string exclude_larger_than;
  std::vector<std::string> tags;
  std::string host;
  std::string parent;
  bool force = false;
  bool dry_run = false;
  bool stdin_mode = false;
  std::string stdin_filename = "stdin";
  bool stdin_from_command = false;
  int read_workers = 0;
  std::vector<std::string> also_to;  // replica sites written in the same backup
  std::string read_root;             // read the paths below DIR, record them as given
};

// --exclude-larger-than: a size (util/units.h) of at least one byte; not given: no limit.
Result<uint64_t> ParseExcludeLargerThan(const std::string& text) {
  if (text.empty()) return uint64_t{0};  // archiver: 0 = no limit
  std::string no_limit = "; for no limit, leave --exclude-larger-than out";
  auto limit = ParseSize(text);
  if (!limit.ok())
    return Status::InvalidArgument("--exclude-larger-than: " + limit.status().message() +
                                   (text[0] == '-' ? no_limit : ""));
  if (*limit == 0)
    return Status::InvalidArgument("--exclude-larger-than " + text +
                                   ": the limit must be at least 1 byte" + no_limit);
  return limit;
}

class ProgressPrinter {
 public:
  explicit ProgressPrinter(const GlobalOptions& g) : g_(g), tty_(StderrIsTerminal()) {}
  void operator()(const BackupProgress& p) {
    std::lock_guard lock(mu_);
    if (g_.json) {
      nlohmann::json j = {{"message_type", "status"},
                          {"seconds_elapsed", p.elapsed_seconds},
                          {"files_done", p.files_done},
                          {"bytes_done", p.bytes_done},
                          {"total_files", p.files_total},
                          {"total_bytes", p.bytes_total},
                          {"scan_finished", p.scan_finished},
                          {"bytes_added", p.bytes_added},
                          {"error_count", p.errors}};
      if (p.bytes_total > 0)
        j["percent_done"] = std::min(1.0, double(p.bytes_done) / double(p.bytes_total));
      std::cout << DumpJson(j) << std::endl;
      return;
    }
    if (!tty_ || g_.quiet) return;
    double rate = p.elapsed_seconds > 0 ? double(p.bytes_done) / p.elapsed_seconds : 0;
    std::string eta = "?";
    if (p.scan_finished && rate > 0 && p.bytes_total >= p.bytes_done)
      eta = FormatDuration(double(p.bytes_total - p.bytes_done) / rate);
    char line[256];
    snprintf(line, sizeof line, "\r[%s] %llu/%llu files, %s/%s, %s/s, ETA %s, %llu errors   ",
             FormatDuration(p.elapsed_seconds).c_str(),
             static_cast<unsigned long long>(p.files_done),
             static_cast<unsigned long long>(p.files_total), FormatBytes(p.bytes_done).c_str(),
             FormatBytes(p.bytes_total).c_str(), FormatBytes(static_cast<uint64_t>(rate)).c_str(),
             eta.c_str(), static_cast<unsigned long long>(p.errors));
    std::cerr << line << std::flush;
    printed_ = true;
  }
  void Finish() {
    std::lock_guard lock(mu_);
    if (printed_) std::cerr << "\n";
  }

 private:
  const GlobalOptions& g_;
  bool tty_;
  bool printed_ = false;
  std::mutex mu_;
};

int RunBackupCommand(const GlobalOptions& g, const BackupFlags& f) {
  if (f.stdin_mode && f.stdin_from_command)
    return ReportError(g, Status::InvalidArgument("use either --stdin or --stdin-from-command"));
  if (!f.stdin_mode && !f.stdin_from_command && f.paths.empty())
    return ReportError(g, Status::InvalidArgument(
                              "nothing to back up: give one or more paths, --stdin, or "
                              "--stdin-from-command -- CMD ARGS..."));
  if (f.stdin_from_command && f.paths.empty())
    return ReportError(g, Status::InvalidArgument(
                              "--stdin-from-command needs the command after `--`"));
  if (!f.read_root.empty() && (f.stdin_mode || f.stdin_from_command))
    return ReportError(
        g, Status::InvalidArgument("--read-root reads paths below a directory: it does not go with "
                                   "--stdin or --stdin-from-command"));
  // Before the password is asked for or anything is read (the archiver checks this again).
  if (Status st = CheckSnapshotLabels(f.tags, f.host); !st.ok()) return ReportError(g, st);
  BackupOptions opt;
  if (!f.stdin_mode && !f.stdin_from_command) opt.paths = f.paths;
  opt.read_root = f.read_root;
  opt.excludes = f.excludes;
  for (const auto& file : f.exclude_files) {
    auto patterns = ReadExcludeFile(file);
    if (!patterns.ok()) return ReportError(g, patterns.status());
    opt.excludes.insert(opt.excludes.end(), patterns->begin(), patterns->end());
  }
  // Before the repository is opened: a bad pattern is a usage error (RunBackup checks again).
  if (auto compiled = ExcludeMatcher::Compile(opt.excludes); !compiled.ok())
    return ReportError(g, compiled.status());
  opt.exclude_caches = f.exclude_caches;
  opt.one_file_system = f.one_file_system;
  auto limit = ParseExcludeLargerThan(f.exclude_larger_than);
  if (!limit.ok()) return ReportError(g, limit.status());
  opt.exclude_larger_than = *limit;
  opt.tags = f.tags;
  opt.host = f.host;
  opt.dry_run = f.dry_run;
  opt.no_parent = f.force;
  opt.read_workers = f.read_workers;
  opt.context = CliContext();

  // Deduplication trusts the index only for packs that exist: the backup leaves missing ones
  // out and says so here (doc/design.md, "Missing packs").
  opt.on_missing_packs = [&g](const MissingPacks& missing) {
    std::string message =
        "the index names " + std::to_string(missing.packs.size()) +
        " pack(s) that are missing from the repository (e.g. " + missing.packs[0].Hex() +
        "), with " + std::to_string(missing.blobs) +
        " blob(s) in them: this backup treats those blobs as absent and stores again the ones "
        "it needs. Run "
        "`lifeboat repair index` to drop the missing packs from the index, then `lifeboat "
        "check` (snapshots that need blobs no backup stored again stay damaged: `lifeboat "
        "repair snapshots`)";
    if (g.json)  // like the backup's other warnings: a JSON line on stdout
      std::cout << nlohmann::json({{"message_type", "warning"},
                                   {"missing_packs", missing.packs.size()},
                                   {"missing_blobs", missing.blobs},
                                   {"message", message}})
                       .dump()
                << std::endl;
    else
      std::cerr << "lifeboat: warning: " << message << std::endl;
  };
  ProgressPrinter printer(g);
  if (g.json || StderrIsTerminal()) {
    opt.progress = [&printer](const BackupProgress& p) { printer(p); };
  }
  opt.on_issue = [&g](const BackupIssue& issue, bool error) {
    if (g.json) {
      nlohmann::json j = {{"message_type", error ? "error" : "warning"},
                          {"message", ToValidUtf8(issue.message)}};
      PutBytes(j, "item", issue.path);
      std::cout << DumpJson(j) << std::endl;
    } else {
      std::cerr << "\r" << (error ? "error: " : "warning: ") << issue.path << ": "
                << issue.message << std::endl;
    }
  };

  // The backup itself, over the repository (with --also-to: the primary, storing at every site).
  auto backup = [&](Repository& repo, RepositoryLock* lock) -> Result<BackupResult> {
    BackupOptions o = opt;
    o.lock = lock;
    if (!f.parent.empty()) {
      std::vector<DamagedSnapshot> damaged;
      auto p = repo.FindSnapshot(f.parent, {}, &damaged);
      WarnDamagedSnapshots(g, damaged);
      if (!p.ok()) return p.status().WithContext("--parent");
      o.parent = p->first;
    }
    if (f.stdin_mode) return RunStreamBackup(repo, STDIN_FILENO, f.stdin_filename, o, nullptr);
    if (f.stdin_from_command) {
      CommandSource command;
      command.argv = f.paths;
      command.filename = f.stdin_filename;
      command.stdin_mode = SubprocessStdin::kInherit;
      return RunCommandBackup(repo, command, o);
    }
    RaiseOpenFileLimit();  // only here: no child process inherits the raised limit
    return RunBackup(repo, o);
  };

  auto open = CliOpenOptions(g, LockKind::kShared);
  if (!open.ok()) return ReportError(g, open.status());
  Result<BackupResult> result = Status::Internal("unset");
  std::vector<SiteReport> sites;
  // A dry run stores nothing anywhere: the replicas are not even opened.
  if (f.also_to.empty() || f.dry_run) {
    auto opened = lifeboat::OpenRepository(*open);
    if (!opened.ok()) return ReportError(g, opened.status());
    result = backup(*opened->repo, opened->lock.get());
    if (opened->lock) opened->lock->Release().IgnoreError();
  } else {
    auto backend = CliBackendOptions(g);
    if (!backend.ok()) return ReportError(g, backend.status());
    MultiSiteOptions multi;
    multi.primary = *open;
    for (const std::string& location : f.also_to) {
      multi.replicas.push_back({RedactLocation(location), location, *backend, {}});
    }
    multi.on_caught_up = [&g](const std::string& site, const CopyResult& r) {
      if (r.copied.empty() || g.json) return;
      Say(g, "site " + site + ": brought up to date before the backup: " +
                 std::to_string(r.copied.size()) + " snapshot(s), " +
                 std::to_string(r.stats.packs_copied) + " pack(s) sent, " +
                 std::to_string(r.stats.packs_reused) + " already there");
    };
    auto ran = RunMultiSiteBackup(multi, backup);
    if (ran.ok()) {
      result = std::move(ran->backup);
      sites = std::move(ran->sites);
    } else {
      result = ran.status();
    }
  }
  printer.Finish();
  if (!result.ok()) return ReportError(g, result.status());
  const BackupResult& r = *result;
  const SnapshotSummary& m = r.snapshot.summary;
  double seconds = double(m.backup_end_ns - m.backup_start_ns) / 1e9;
  if (g.json) {
    nlohmann::json j = SummaryToJson(m);
    j["message_type"] = "summary";
    j["dry_run"] = f.dry_run;
    j["total_duration"] = seconds;
    j["errors"] = r.errors.size();
    j["warnings"] = r.warnings.size();
    j["incomplete"] = r.incomplete;
    if (r.snapshot_id) j["snapshot_id"] = r.snapshot_id->Hex();
    if (r.parent_id) j["parent"] = r.parent_id->Hex();
    j["phases"] = PhasesJson(r.phases);
    if (!sites.empty()) j["sites"] = SitesJson(sites);
    PrintJson(j);
  } else {
    if (r.parent_id) Say(g, "using parent snapshot " + r.parent_id->Short());
    Say(g, "Files:       " + std::to_string(m.files_new) + " new, " +
               std::to_string(m.files_changed) + " changed, " +
               std::to_string(m.files_unmodified) + " unmodified");
    Say(g, "Dirs:        " + std::to_string(m.dirs_new) + " new, " +
               std::to_string(m.dirs_changed) + " changed, " +
               std::to_string(m.dirs_unmodified) + " unmodified");
    Say(g, std::string(f.dry_run ? "Would add:   " : "Added:       ") +
               FormatBytes(m.data_added) + " (" + FormatBytes(m.data_added_packed) +
               " stored)");
    Say(g, "Processed:   " + std::to_string(m.total_files_processed) + " files, " +
               FormatBytes(m.total_bytes_processed) + " in " + FormatDuration(seconds));
    if (r.snapshot_id) Say(g, "snapshot " + r.snapshot_id->Short() + " saved");
    else Say(g, "dry run: nothing was stored");
    for (const SiteReport& site : sites) {
      Say(g, "site " + site.name + ": " +
                 (site.snapshot_landed ? std::string("snapshot stored")
                  : site.error.ok()   ? std::string("no snapshot")
                                      : std::string("FAILED")) +
                 ", " + FormatBytes(site.bytes_sent) + " sent in " + FormatDuration(site.seconds));
    }
  }
  bool sites_incomplete = false;
  for (const SiteReport& site : sites) {
    if (site.error.ok() && (site.snapshot_landed || !r.snapshot_id)) continue;
    sites_incomplete = true;
    std::cerr << "lifeboat: warning: site " << site.name << " did not get the snapshot: "
              << (site.error.ok() ? std::string("unknown reason") : site.error.ToString())
              << "\nlifeboat: the next backup with --also-to brings it up to date, or run "
                 "`lifeboat copy --from "
              << RedactLocation(sites[0].location) << " --repo " << site.location << "`\n";
  }
  if (r.incomplete) {
    std::cerr << "lifeboat: warning: backup is incomplete: " << r.errors.size()
              << " item(s) could not be read, " << r.warnings.size() << " warning(s):\n";
    for (const auto& e : r.errors) std::cerr << "  error: " << e.path << ": " << e.message << "\n";
    for (const auto& w : r.warnings)
      std::cerr << "  warning: " << w.path << ": " << w.message << "\n";
    return kExitIncomplete;
  }
  if (sites_incomplete) return kExitIncomplete;
  return kExitOk;
}

}  // namespace

void RegisterBackup(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("backup", "create a snapshot of files, directories or a stream");
  auto f = std::make_shared<BackupFlags>();
  cmd->add_option("paths", f->paths, "files and directories to back up (with "
                                     "--stdin-from-command: the command and its arguments)");
  cmd->add_option("--read-root", f->read_root,
                  "read the PATHs below DIR and record them as given: `--read-root /srv/dr "
                  "/var/lib/app` reads /srv/dr/var/lib/app into a snapshot of /var/lib/app "
                  "(PATHs absolute; excludes match the recorded paths; no symlink below DIR is "
                  "followed; for failback, doc/failover.md)")
      ->type_name("DIR");
  cmd->add_option("-e,--exclude", f->excludes, "exclude paths matching this glob (repeatable)");
  cmd->add_option("--exclude-file", f->exclude_files, "read exclude globs from a file");
  cmd->add_flag("--exclude-caches", f->exclude_caches,
                "skip the contents of directories holding a CACHEDIR.TAG");
  cmd->add_flag("-x,--one-file-system", f->one_file_system, "stay on the starting filesystems");
  cmd->add_option("--exclude-larger-than", f->exclude_larger_than,
                  "skip files larger than SIZE (e.g. 500M, 2G; doc/units.md)")
      ->type_name("SIZE");
  cmd->add_option("--tag", f->tags, "add a tag to the snapshot (repeatable; UTF-8 text)");
  cmd->add_option("--host", f->host, "hostname recorded in the snapshot (default: this host)");
  cmd->add_option("--parent", f->parent, "use this snapshot as parent (id prefix or latest)");
  cmd->add_flag("-f,--force", f->force, "read every file, do not use a parent snapshot");
  cmd->add_flag("-n,--dry-run", f->dry_run, "read and hash everything but store nothing");
  cmd->add_flag("--stdin", f->stdin_mode, "back up standard input as one file");
  cmd->add_option("--stdin-filename", f->stdin_filename, "file name for --stdin data");
  cmd->add_flag("--stdin-from-command", f->stdin_from_command,
                "back up the output of the command given after `--`; if the command fails, "
                "no snapshot is written");
  cmd->add_option("--read-concurrency", f->read_workers, "files read in parallel (default: cores)");
  cmd->add_option("--also-to", f->also_to,
                  "also store this backup at REPO, a replica of --repo (init --replica-of): "
                  "each pack is encoded once and written to every site; repeatable "
                  "(doc/replication.md)")
      ->type_name("REPO");
  cmd->callback([&g, runner, f] { *runner = [&g, f] { return RunBackupCommand(g, *f); }; });
}

}  // namespace lifeboat::cli
