#include "cli/common.h"

#include "engine/multi_site.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "backend/open_backend.h"
#include "runlog/run_lock.h"
#include "util/file_io.h"
#include "util/json_bytes.h"
#include "util/status_detail.h"
#include "util/units.h"

namespace lifeboat::cli {

std::atomic<bool> g_interrupted{false};

static void OnSignal(int) { g_interrupted.store(true); }

void RaiseOpenFileLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

static std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Context CliContext() { return Context().WithCancel(&g_interrupted); }

static Result<std::string> Prompt(const std::string& prompt, std::string_view how_to_give) {
  if (!isatty(STDIN_FILENO))
    return Status::InvalidArgument("no password given: " + std::string(how_to_give) +
                                   " (stdin is not a terminal, so Lifeboat cannot ask)");
  std::cerr << prompt << std::flush;
  struct termios old, quiet;
  bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  std::cerr << "\n";
  return line;
}

// A terminal prompt as a password source, asked only when the password is needed.
static PasswordSource PromptSource(std::string prompt, bool confirm, std::string how_to_give) {
  return PasswordSource::Ask([=]() -> Result<std::string> {
    LB_ASSIGN_OR_RETURN(std::string first, Prompt(prompt, how_to_give));
    if (confirm) {
      LB_ASSIGN_OR_RETURN(std::string second, Prompt("enter password again: ", how_to_give));
      if (first != second) return Status::InvalidArgument("passwords do not match");
    }
    return first;
  });
}

PasswordSource PasswordSourceFor(const GlobalOptions& g, bool confirm, const std::string& prompt) {
  std::string file = !g.password_file.empty() ? g.password_file : Env("LIFEBOAT_PASSWORD_FILE");
  if (!file.empty()) return PasswordSource::File(file);
  std::string command =
      !g.password_command.empty() ? g.password_command : Env("LIFEBOAT_PASSWORD_COMMAND");
  if (!command.empty()) return PasswordSource::Command(command);
  if (std::getenv("LIFEBOAT_PASSWORD") != nullptr)
    return PasswordSource::Environment("LIFEBOAT_PASSWORD");
  return PromptSource(prompt, confirm,
                      "set LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE or --password-command");
}

Result<std::string> GetPassword(const GlobalOptions& g, bool confirm, const std::string& prompt) {
  return ResolvePassword(PasswordSourceFor(g, confirm, prompt), CliContext());
}

void AddSourcePasswordOptions(CLI::App* cmd, SourceRepositoryOptions* source) {
  cmd->add_option("--from-password-file", source->password_file,
                  "read the source repository's password from this file "
                  "(env LIFEBOAT_FROM_PASSWORD_FILE; or LIFEBOAT_FROM_PASSWORD)");
  cmd->add_option("--from-password-command", source->password_command,
                  "run this to get the source repository's password "
                  "(env LIFEBOAT_FROM_PASSWORD_COMMAND)");
}

static PasswordSource SourcePasswordSource(const SourceRepositoryOptions& source) {
  std::string file =
      !source.password_file.empty() ? source.password_file : Env("LIFEBOAT_FROM_PASSWORD_FILE");
  if (!file.empty()) return PasswordSource::File(file);
  std::string command = !source.password_command.empty() ? source.password_command
                                                         : Env("LIFEBOAT_FROM_PASSWORD_COMMAND");
  if (!command.empty()) return PasswordSource::Command(command);
  if (std::getenv("LIFEBOAT_FROM_PASSWORD") != nullptr)
    return PasswordSource::Environment("LIFEBOAT_FROM_PASSWORD");
  return PromptSource("enter password for source repository " + source.repo + ": ", false,
                      "set LIFEBOAT_FROM_PASSWORD, LIFEBOAT_FROM_PASSWORD_FILE or "
                      "--from-password-file for the source repository");
}

Result<OpenBackendOptions> CliBackendOptions(const GlobalOptions& g) {
  OpenBackendOptions options = DefaultOpenBackendOptions();
  LB_ASSIGN_OR_RETURN(options.options, BackendOptions::Parse(g.backend_options));
  options.limit_upload = g.limit_upload_kib * 1024;
  options.limit_download = g.limit_download_kib * 1024;
  return options;
}

Result<std::unique_ptr<Repository>> OpenSourceRepository(const GlobalOptions& g,
                                                         const SourceRepositoryOptions& source) {
  OpenOptions o;
  LB_ASSIGN_OR_RETURN(o.backend, CliBackendOptions(g));
  o.location = source.repo;
  o.password = SourcePasswordSource(source);
  o.context = CliContext();
  auto opened = OpenRepositoryUnlocked(o);
  if (!opened.ok()) return opened.status().WithContext("source repository");
  return opened;
}

// How the CLI waits for a held lock: --retry-lock, announced once on stderr.
Result<LockWaitOptions> CliLockWait(const GlobalOptions& g) {
  LockWaitOptions wait;
  if (!g.retry_lock.empty()) {
    auto parsed = ParseDuration(g.retry_lock);  // util/units.h; at most 36500d: no overflow
    if (!parsed.ok()) return parsed.status().WithContext("--retry-lock");
    wait.wait = *parsed;
  }
  wait.on_wait = [&g](const Status& conflict) {
    if (g.quiet) return;
    std::cerr << "lifeboat: " << conflict.message() << "\nlifeboat: retrying for up to "
              << g.retry_lock << std::endl;
  };
  return wait;
}

static LockOptions CliLockOptions() {
  LockOptions options = DefaultLockOptions();
  options.retry_interval_ns = std::min(options.retry_interval_ns, options.refresh_interval_ns);
  return options;
}

Result<OpenOptions> CliOpenOptions(const GlobalOptions& g, std::optional<LockKind> kind) {
  OpenOptions o;
  o.location = !g.repo.empty() ? g.repo : Env("LIFEBOAT_REPOSITORY");
  if (o.location.empty())
    return Status::InvalidArgument("no repository given: use --repo or set LIFEBOAT_REPOSITORY");
  o.password = PasswordSourceFor(g, false);
  o.lock = g.no_lock ? std::nullopt : kind;
  LB_ASSIGN_OR_RETURN(o.lock_wait, CliLockWait(g));
  o.lock_options = CliLockOptions();
  o.context = CliContext();
  LB_ASSIGN_OR_RETURN(o.backend, CliBackendOptions(g));
  return o;
}

Result<std::unique_ptr<Repository>> OpenRepository(const GlobalOptions& g) {
  LB_ASSIGN_OR_RETURN(OpenOptions o, CliOpenOptions(g, std::nullopt));
  return OpenRepositoryUnlocked(o);
}

Result<std::unique_ptr<RepositoryLock>> LockRepository(const GlobalOptions& g, Repository& repo,
                                                       LockKind kind) {
  if (g.no_lock) return std::unique_ptr<RepositoryLock>();
  LB_ASSIGN_OR_RETURN(LockWaitOptions wait, CliLockWait(g));
  return AcquireLock(repo, kind, CliLockOptions(), wait, CliContext());
}

Result<OpenedRepository> OpenLockedRepository(const GlobalOptions& g, LockKind kind) {
  LB_ASSIGN_OR_RETURN(OpenOptions o, CliOpenOptions(g, kind));
  return lifeboat::OpenRepository(o);
}

void AddFallbackOption(CLI::App* cmd, std::vector<std::string>* locations) {
  cmd->add_option("--fallback", *locations,
                  "read objects that are missing or damaged here from REPO, a replica "
                  "(init --replica-of, backup --also-to); repeatable, tried in order "
                  "(doc/replication.md)")
      ->type_name("REPO");
}

void AddPlanOption(CLI::App* cmd, std::string* plan) {
  cmd->add_option("--plan", *plan,
                  "the plan file (default: $LIFEBOAT_PLAN, else ./lifeboat.yaml, else "
                  "/etc/lifeboat/lifeboat.yaml)")
      ->type_name("FILE");
}

Result<plan::LoadedPlan> LoadPlanForCommand(const GlobalOptions& g, const std::string& flag,
                                            bool always_print_warnings) {
  LB_ASSIGN_OR_RETURN(std::string path, plan::FindPlanFile(flag));
  LB_ASSIGN_OR_RETURN(plan::LoadedPlan loaded, plan::LoadPlan(path));
  if (always_print_warnings || g.verbose > 0) {
    for (const plan::Diagnostic& d : loaded.diagnostics) std::cerr << d.ToString() << "\n";
  }
  return loaded;
}

Result<std::unique_ptr<FallbackSites>> FallbackSites::Open(
    const GlobalOptions& g, Repository& repo, const std::vector<std::string>& locations) {
  std::unique_ptr<FallbackSites> sites(new FallbackSites(g));
  if (locations.empty()) return sites;
  LB_ASSIGN_OR_RETURN(OpenBackendOptions backend, CliBackendOptions(g));
  LB_ASSIGN_OR_RETURN(LockWaitOptions wait, CliLockWait(g));
  std::vector<Repository*> replicas;
  for (const std::string& location : locations) {
    ReplicaSite site{location, location, backend, {}};
    std::optional<LockKind> lock;
    if (!g.no_lock) lock = LockKind::kShared;
    auto opened = OpenReplicaRepository(site, repo, lock, wait, CliContext());
    if (!opened.ok()) return opened.status().WithContext("--fallback " + RedactLocation(location));
    replicas.push_back(opened->repo.get());
    sites->replicas_.push_back(std::move(*opened));
  }
  sites->repo_ = &repo;
  FallbackSites* self = sites.get();
  repo.SetFallbacks(replicas, [self](const FallbackEvent& e) { self->Report(e); });
  return sites;
}

FallbackSites::~FallbackSites() {
  if (repo_ != nullptr) repo_->SetFallbacks({}, nullptr);
  for (OpenedRepository& replica : replicas_) {
    if (replica.lock) replica.lock->Release().IgnoreError();
  }
}

void FallbackSites::Report(const FallbackEvent& event) {
  served_++;
  std::lock_guard lock(print_mu_);
  if (first_served_by_.empty()) first_served_by_ = RedactLocation(event.served_by);
  if (g_.json) {
    std::cout << DumpJson({{"message_type", "fallback"},
                           {"object", event.object},
                           {"damaged_at", RedactLocation(event.damaged_at)},
                           {"error", event.damage.message()},
                           {"served_by", RedactLocation(event.served_by)}})
              << std::endl;
    return;
  }
  std::cerr << "lifeboat: warning: " << event.object << " is damaged at "
            << RedactLocation(event.damaged_at) << " (" << event.damage.message()
            << "); read it from " << RedactLocation(event.served_by) << " instead" << std::endl;
}

void FallbackSites::PrintAdvice() const {
  if (served_.load() == 0 || g_.json) return;
  std::cerr << "lifeboat: " << served_.load()
            << " object(s) were read from replicas because they are missing or damaged here; "
               "heal this repository with `lifeboat repair packs --from "
            << first_served_by_ << "`, then run `lifeboat check --read-data`" << std::endl;
}

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kUnauthenticated: return kExitWrongPassword;
    case StatusCode::kCancelled: return kExitInterrupted;
    case StatusCode::kLocked: return kExitLocked;
    case StatusCode::kNoRepository: return kExitNoRepository;
    default: return kExitError;
  }
}

// The typed detail of an error as JSON fields (doc/exit-codes.md, "Error details").
static void AddErrorDetail(const Status& st, nlohmann::json* j) {
  if (const LockConflict* held = st.lock_conflict()) {
    (*j)["lock"] = {{"id", held->lock_id},
                    {"host", held->hostname},
                    {"user", held->username},
                    {"pid", held->pid},
                    {"exclusive", held->exclusive},
                    {"time", FormatTime(held->time_ns)},
                    {"age_seconds", held->age_ns / 1000000000}};
  }
  if (const Damage* damage = st.damage()) {
    nlohmann::json snapshots = nlohmann::json::array();
    for (const Id& id : damage->snapshots) snapshots.push_back(id.Hex());
    (*j)["damage"] = {{"type", damage->object_type},
                      {"object", damage->object},
                      {"snapshots", std::move(snapshots)}};
    if (!damage->pack.empty()) (*j)["damage"]["pack"] = damage->pack;
  }
}

int ReportError(const GlobalOptions& g, const Status& st) {
  int code = ExitCodeFor(st);
  if (g.json) {
    // The message may quote a path that is not UTF-8: shown with U+FFFD (doc/json.md).
    nlohmann::json j = {{"message_type", "error"},
                        {"code", std::string(StatusCodeName(st.code()))},
                        {"message", ToValidUtf8(st.message())},
                        {"exit_code", code}};
    AddErrorDetail(st, &j);
    std::cerr << DumpJson(j) << std::endl;
  } else {
    std::cerr << "lifeboat: error: " << st.message() << std::endl;
  }
  return code;
}

void Say(const GlobalOptions& g, const std::string& line) {
  if (g.quiet) return;
  std::cout << line << std::endl;
}

void PrintJson(const nlohmann::json& j) { std::cout << DumpJson(j) << std::endl; }

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string FormatLocalTime(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

bool StdoutIsTerminal() { return isatty(STDOUT_FILENO); }

Result<std::string> StateDirOrDefault(const std::string& flag) {
  if (!flag.empty()) return flag;
  return DefaultRunStateDirectory();
}

bool ConfirmOnTerminal(const GlobalOptions& g, bool yes, const std::string& what) {
  if (yes) return true;
  if (!::isatty(STDIN_FILENO) || g.json) return false;
  std::cerr << what << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}
bool StderrIsTerminal() { return isatty(STDERR_FILENO); }

void AddSnapshotFilterOptions(CLI::App* cmd, SnapshotFilter* filter) {
  cmd->add_option("--host", filter->hosts, "only snapshots of this host (repeatable)");
  cmd->add_option("--tag", filter->tags,
                  "only snapshots with this tag; \"a,b\" means both (repeatable: any)");
  cmd->add_option("--path", filter->paths, "only snapshots containing this path (repeatable)");
  cmd->add_option("--service", filter->services,
                  "only snapshots the plan made for this service (repeatable: any)");
  cmd->add_option("--source", filter->sources,
                  "only snapshots of the plan's source of this name (repeatable: any); with "
                  "--service, one source of one service");
}

nlohmann::json PhasesJson(const std::vector<PhaseTime>& phases) {
  nlohmann::json out = nlohmann::json::array();
  for (const PhaseTime& p : phases) out.push_back({{"phase", p.phase}, {"seconds", p.seconds}});
  return out;
}

nlohmann::json SitesJson(const std::vector<SiteReport>& sites) {
  nlohmann::json out = nlohmann::json::array();
  for (const SiteReport& site : sites) {
    nlohmann::json j = {{"name", site.name},
                        {"location", site.location},
                        {"primary", site.primary},
                        {"objects_sent", site.objects_sent},
                        {"bytes_sent", site.bytes_sent},
                        {"seconds", site.seconds},
                        {"snapshot_landed", site.snapshot_landed}};
    if (!site.error.ok()) {
      j["error"] = {{"code", std::string(StatusCodeName(site.error.code()))},
                    {"message", site.error.message()}};
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace lifeboat::cli
