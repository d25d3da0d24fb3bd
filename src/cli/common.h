// Shared plumbing of the command-line interface: global options, password handling, opening the
// repository, exit codes and output. Each verb lives in its own cmd_<verb>.cc and registers
// itself through a Register<Verb>() function called from main.cc.
//
//   LB_ASSIGN_OR_RETURN(auto repo, OpenRepository(global));
//   return ExitCodeFor(status);
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "backend/multi_site_backend.h"
#include "engine/open.h"
#include "engine/password.h"
#include "plan/validate.h"
#include "repository/lock.h"
#include "repository/repository.h"
#include "util/json_bytes.h"
#include "util/phase_timer.h"
#include "util/units.h"

namespace lifeboat::cli {

// Exit codes (also in doc/exit-codes.md and `lifeboat --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,          // the command failed
  kExitUsage = 2,          // bad command line or invalid argument
  kExitIncomplete = 3,     // finished, but some files could not be read or written
  kExitDamaged = 4,        // check found damage
  kExitNoRepository = 10,  // the repository does not exist
  kExitLocked = 11,        // the repository lock could not be taken or was lost
  kExitWrongPassword = 12, // no key matches the password
  kExitInterrupted = 130,  // Ctrl-C / SIGTERM
};

struct GlobalOptions {
  std::string repo;  // --repo / LIFEBOAT_REPOSITORY
  std::string password_file;
  std::string password_command;
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  bool no_lock = false;
  std::string retry_lock;  // --retry-lock DURATION: keep trying to take the lock this long
  std::vector<std::string> backend_options;  // -o/--option KEY=VALUE, in order
  uint64_t limit_upload_kib = 0;    // --limit-upload KiB/s; 0: none
  uint64_t limit_download_kib = 0;  // --limit-download KiB/s; 0: none
};

// Parses argv, runs one verb, returns the process exit code (main.cc).
int Main(int argc, char** argv);

// The command to run after parsing; returns the exit code.
using Runner = std::function<int()>;

// Set by SIGINT/SIGTERM.
extern std::atomic<bool> g_interrupted;
void InstallSignalHandlers();

// Lifts the soft limit on open files to the hard one. Backup and restore hold one directory
// descriptor per level of nesting they are in, so a deep tree would run out at the usual 1024.
// Best effort: what cannot be opened is reported. Call it only where no child process is
// started afterwards (a child would inherit the raised limit).
void RaiseOpenFileLimit();

// Ctrl-C / SIGTERM (g_interrupted) as the engine's context, for every engine call of the CLI.
Context CliContext();

// The password source of the flags and environment: --password-file, LIFEBOAT_PASSWORD_FILE,
// --password-command, LIFEBOAT_PASSWORD_COMMAND, LIFEBOAT_PASSWORD, else a prompt on the terminal
// (asked only when the password is needed). `confirm` asks twice (init, key add).
PasswordSource PasswordSourceFor(const GlobalOptions& g, bool confirm,
                                 const std::string& prompt = "enter password for repository: ");
// ResolvePassword of PasswordSourceFor, with CliContext().
Result<std::string> GetPassword(const GlobalOptions& g, bool confirm,
                                const std::string& prompt = "enter password for repository: ");

// The other repository of `copy --from` and `init --replica-of`, with its own password options.
struct SourceRepositoryOptions {
  std::string repo;              // location (copy: --from, else env LIFEBOAT_FROM_REPOSITORY)
  std::string password_file;     // --from-password-file
  std::string password_command;  // --from-password-command
};
// Adds --from-password-file and --from-password-command to a subcommand.
void AddSourcePasswordOptions(CLI::App* cmd, SourceRepositoryOptions* source);
// Resolves the source repository's password: --from-password-file, LIFEBOAT_FROM_PASSWORD_FILE,
// --from-password-command, LIFEBOAT_FROM_PASSWORD_COMMAND, LIFEBOAT_FROM_PASSWORD, else a prompt
// on the terminal. Never falls back to the target's password.
Result<std::string> GetSourcePassword(const SourceRepositoryOptions& source);
// Opens the source repository (never creates one) with the backend options of `g`. Errors say
// "source repository: ...".
Result<std::unique_ptr<Repository>> OpenSourceRepository(const GlobalOptions& g,
                                                         const SourceRepositoryOptions& source);

// The backend options of the global flags (-o, --limit-upload, --limit-download) over
// DefaultOpenBackendOptions(), for every repository a command opens. InvalidArgument for a
// malformed -o.
Result<OpenBackendOptions> CliBackendOptions(const GlobalOptions& g);

// The engine's open options (engine/open.h) for the global flags: --repo/LIFEBOAT_REPOSITORY,
// the password source, a lock of `kind` unless --no-lock (nullopt: none), --retry-lock, and
// CliContext(). InvalidArgument when no repository is given or --retry-lock is malformed.
Result<OpenOptions> CliOpenOptions(const GlobalOptions& g, std::optional<LockKind> kind);
// Opens the repository named by --repo with the password; no lock, no index.
Result<std::unique_ptr<Repository>> OpenRepository(const GlobalOptions& g);
// How the CLI waits for a held lock: --retry-lock, announced once on stderr.
Result<LockWaitOptions> CliLockWait(const GlobalOptions& g);
// Takes a lock unless --no-lock (null then), waiting as --retry-lock says.
Result<std::unique_ptr<RepositoryLock>> LockRepository(const GlobalOptions& g, Repository& repo,
                                                       LockKind kind);
// Opens the repository, takes a lock of `kind` unless --no-lock, and loads the index.
Result<OpenedRepository> OpenLockedRepository(const GlobalOptions& g, LockKind kind);

// --fallback REPO (repeatable) on a subcommand (restore, check, copy).
void AddFallbackOption(CLI::App* cmd, std::vector<std::string>* locations);

// The plan verbs' --plan FILE option.
void AddPlanOption(CLI::App* cmd, std::string* plan);
// The plan of --plan (`flag`; empty: FindPlanFile's search), parsed and validated: an error for
// a missing file or a plan with errors (nothing runs on an invalid plan). Its warnings are
// printed to stderr with -v (`always_print_warnings`: always). The path found is in plan.file.
Result<plan::LoadedPlan> LoadPlanForCommand(const GlobalOptions& g, const std::string& flag,
                                            bool always_print_warnings = false);

// The replicas of --fallback for `repo`: each opened with repo's key material
// (Repository::OpenReplica; no password), under a shared lock unless --no-lock, index loaded, and
// set as repo's fallbacks (Repository::SetFallbacks). Each time one serves an object that is
// missing or damaged in repo, a warning names the object, the site it was damaged at, what was
// wrong and the site that served it (JSON: a line with message_type "fallback"). Keep it alive
// while repo loads; destroy it before repo.
class FallbackSites {
 public:
  static Result<std::unique_ptr<FallbackSites>> Open(const GlobalOptions& g, Repository& repo,
                                                     const std::vector<std::string>& locations);
  ~FallbackSites();
  // Objects the replicas served so far.
  uint64_t served() const { return served_.load(); }
  // When any object was served: the advice to heal the damaged site (not in --json mode, where
  // the fallback lines say it all).
  void PrintAdvice() const;

 private:
  explicit FallbackSites(const GlobalOptions& g) : g_(g) {}
  void Report(const FallbackEvent& event);

  const GlobalOptions& g_;
  Repository* repo_ = nullptr;
  std::vector<OpenedRepository> replicas_;
  std::atomic<uint64_t> served_{0};
  std::mutex print_mu_;
  std::string first_served_by_;  // guarded by print_mu_
};

// Maps a failure to an exit code and prints "lifeboat: error: ..." to stderr (JSON on --json).
int ReportError(const GlobalOptions& g, const Status& st);
int ExitCodeFor(const Status& st);

// Prints to stdout unless --quiet; for human-readable progress and results.
void Say(const GlobalOptions& g, const std::string& line);
// One line of JSON on stdout; never throws (util/json_bytes.h: DumpJson). Fields that hold names
// or paths are set with PutBytes/PutBytesArray so that they survive exactly (doc/json.md).
void PrintJson(const nlohmann::json& j);

// FormatBytes is util/units.h's.
std::string FormatDuration(double seconds);
std::string FormatLocalTime(int64_t unix_ns);
bool StdoutIsTerminal();
bool StderrIsTerminal();
// --state-dir when given, else DefaultRunStateDirectory() (runlog/run_lock.h).
Result<std::string> StateDirOrDefault(const std::string& flag);
// Commands that change production (failover, failback, commit, rollback): true with --yes;
// without it a person at a terminal answers `what [y/N]` on standard error; without a terminal
// (or with --json) false.
bool ConfirmOnTerminal(const GlobalOptions& g, bool yes, const std::string& what);

// Adds the verbs. Each sets *runner when its subcommand is chosen.
void RegisterInit(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterBackup(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterRestore(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterSnapshots(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterLs(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterDiff(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterCheck(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterCopy(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterRepair(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterStats(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterCat(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterKey(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterUnlock(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterPrune(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterForget(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterPlan(CLI::App& app, GlobalOptions& g, Runner* runner);  // cmd_plan.cc
void RegisterRun(CLI::App& app, GlobalOptions& g, Runner* runner);   // cmd_run.cc
void RegisterStatus(CLI::App& app, GlobalOptions& g, Runner* runner);  // cmd_status.cc
void RegisterDrill(CLI::App& app, GlobalOptions& g, Runner* runner);   // cmd_drill.cc
void RegisterFailover(CLI::App& app, GlobalOptions& g, Runner* runner);  // cmd_failover.cc
void RegisterFailback(CLI::App& app, GlobalOptions& g, Runner* runner);  // cmd_failback.cc
// `drill history` (cmd_drill_history.cc): registered after RegisterDrill, whose verb it joins.
void RegisterDrillHistory(CLI::App& app, GlobalOptions& g, Runner* runner);
// `failover history` (cmd_failover_history.cc): registered after RegisterFailover.
void RegisterFailoverHistory(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterRunbook(CLI::App& app, GlobalOptions& g, Runner* runner);  // cmd_runbook.cc
void RegisterDaemon(CLI::App& app, GlobalOptions& g, Runner* runner);   // cmd_daemon.cc

// The "phases" array of a --json summary: [{"phase": "index", "seconds": 0.8}, ...], the
// operation's elapsed time per phase in the order the phases started (doc/json.md).
nlohmann::json PhasesJson(const std::vector<PhaseTime>& phases);
// The sites of a multi-site backup (backup --also-to), as the summary's "sites" array
// (doc/json.md): name, location, primary, objects_sent, bytes_sent, seconds, snapshot_landed,
// and error {code, message} for a site that failed.
nlohmann::json SitesJson(const std::vector<SiteReport>& sites);

// The JSON form of a snapshot used by `snapshots --json` and other listings.
nlohmann::json SnapshotJson(const Id& id, const Snapshot& s);
// Warns on stderr about each snapshot file that a listing skipped as damaged (text, or one JSON
// object per line with --json, so that stdout stays valid JSON). Defined in cmd_snapshots.cc.
void WarnDamagedSnapshots(const GlobalOptions& g, const std::vector<DamagedSnapshot>& damaged);

// The JSON form of one tree node, used by `ls --json` (with "path" added) and `cat tree`.
// `with_ids` adds "content" (data blob ids), "subtree" and "xattrs" (values hex); without it
// "content_blobs" is only the number of data blobs. Defined in cmd_ls.cc.
nlohmann::json NodeJson(const Node& node, bool with_ids);

// Adds --host/--tag/--path/--service snapshot filter options to a subcommand.
void AddSnapshotFilterOptions(CLI::App* cmd, SnapshotFilter* filter);

}  // namespace lifeboat::cli
