#include "cli/common.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <ctime>
#include <iostream>

#include "backend/open_backend.h"
#include "util/file_io.h"
#include "util/json_bytes.h"
#include "util/subprocess.h"
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

Result<std::string> RunPasswordCommand(const std::string& command) {
  SubprocessOptions o;
  o.argv = ShellCommand(command);
  o.description = "password command";
  o.timeout = kPasswordCommandTimeout;
  o.cancel = &g_interrupted;
  o.max_output = 64 << 10;
  auto out = RunAndCapture(o);
  if (!out.ok()) {
    // A command that failed or hung is a setting to fix (exit 2); Ctrl-C stays Cancelled (130).
    if (out.status().code() == StatusCode::kCancelled) return out.status();
    return Status::InvalidArgument(out.status().message());
  }
  size_t nl = out->find('\n');
  if (nl != std::string::npos) out->resize(nl);
  if (!out->empty() && out->back() == '\r') out->pop_back();
  return std::move(*out);
}

static Result<std::string> ReadPasswordFile(const std::string& path) {
  auto data = ReadWholeFile(path);
  if (!data.ok()) return data.status().WithContext("reading password file");
  std::string s(data->begin(), data->end());
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  // No key can have an empty password (init and key add refuse one): say so, not "no key
  // matches".
  if (s.empty())
    return Status::InvalidArgument("password file " + path +
                                   " holds an empty password (its first line is empty); an "
                                   "empty password is not allowed");
  return s;
}

static Result<std::string> Prompt(
    const std::string& prompt,
    std::string_view how_to_give = "set LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE or "
                                   "--password-command") {
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

Result<std::string> GetPassword(const GlobalOptions& g, bool confirm, const std::string& prompt) {
  std::string file = !g.password_file.empty() ? g.password_file : Env("LIFEBOAT_PASSWORD_FILE");
  if (!file.empty()) return ReadPasswordFile(file);
  std::string command =
      !g.password_command.empty() ? g.password_command : Env("LIFEBOAT_PASSWORD_COMMAND");
  if (!command.empty()) return RunPasswordCommand(command);
  if (const char* pw = std::getenv("LIFEBOAT_PASSWORD")) return std::string(pw);
  LB_ASSIGN_OR_RETURN(std::string first, Prompt(prompt));
  if (confirm) {
    LB_ASSIGN_OR_RETURN(std::string second, Prompt("enter password again: "));
    if (first != second) return Status::InvalidArgument("passwords do not match");
  }
  return first;
}

void AddSourcePasswordOptions(CLI::App* cmd, SourceRepositoryOptions* source) {
  cmd->add_option("--from-password-file", source->password_file,
                  "read the source repository's password from this file "
                  "(env LIFEBOAT_FROM_PASSWORD_FILE; or LIFEBOAT_FROM_PASSWORD)");
  cmd->add_option("--from-password-command", source->password_command,
                  "run this to get the source repository's password "
                  "(env LIFEBOAT_FROM_PASSWORD_COMMAND)");
}

Result<std::string> GetSourcePassword(const SourceRepositoryOptions& source) {
  std::string file =
      !source.password_file.empty() ? source.password_file : Env("LIFEBOAT_FROM_PASSWORD_FILE");
  if (!file.empty()) return ReadPasswordFile(file);
  std::string command = !source.password_command.empty() ? source.password_command
                                                         : Env("LIFEBOAT_FROM_PASSWORD_COMMAND");
  if (!command.empty()) return RunPasswordCommand(command);
  if (const char* pw = std::getenv("LIFEBOAT_FROM_PASSWORD")) return std::string(pw);
  return Prompt("enter password for source repository " + source.repo + ": ",
                "set LIFEBOAT_FROM_PASSWORD, LIFEBOAT_FROM_PASSWORD_FILE or "
                "--from-password-file for the source repository");
}

Result<std::unique_ptr<Repository>> OpenSourceRepository(const SourceRepositoryOptions& source) {
  auto opened = [&]() -> Result<std::unique_ptr<Repository>> {
    LB_ASSIGN_OR_RETURN(auto backend, OpenBackend(source.repo, false));
    LB_ASSIGN_OR_RETURN(std::string password, GetSourcePassword(source));
    return Repository::Open(std::move(backend), password);
  }();
  if (!opened.ok()) return opened.status().WithContext("source repository");
  return opened;
}

Result<std::unique_ptr<Backend>> OpenRepositoryBackend(const GlobalOptions& g, bool create) {
  std::string location = !g.repo.empty() ? g.repo : Env("LIFEBOAT_REPOSITORY");
  if (location.empty())
    return Status::InvalidArgument("no repository given: use --repo or set LIFEBOAT_REPOSITORY");
  return OpenBackend(location, create);
}

Result<std::unique_ptr<Repository>> OpenRepository(const GlobalOptions& g) {
  LB_ASSIGN_OR_RETURN(auto backend, OpenRepositoryBackend(g, false));
  LB_ASSIGN_OR_RETURN(std::string password, GetPassword(g, false));
  return Repository::Open(std::move(backend), password);
}

Result<std::unique_ptr<RepositoryLock>> LockRepository(const GlobalOptions& g, Repository& repo,
                                                       LockKind kind) {
  if (g.no_lock) return std::unique_ptr<RepositoryLock>();
  LockOptions options = DefaultLockOptions();
  options.retry_interval_ns = std::min(options.retry_interval_ns, options.refresh_interval_ns);
  std::chrono::seconds retry{0};
  if (!g.retry_lock.empty()) {
    auto parsed = ParseDuration(g.retry_lock);  // util/units.h; at most 36500d: no overflow
    if (!parsed.ok()) return parsed.status().WithContext("--retry-lock");
    retry = *parsed;
  }
  int64_t deadline = NowNs() + std::chrono::nanoseconds(retry).count();
  bool said = false;
  for (;;) {
    auto lock = RepositoryLock::Acquire(repo, kind, options);
    if (lock.ok() || lock.status().code() != StatusCode::kLocked ||
        NowNs() >= deadline)
      return lock;
    if (!said && !g.quiet) {
      std::cerr << "lifeboat: " << lock.status().message() << "\nlifeboat: retrying for up to "
                << g.retry_lock << std::endl;
      said = true;
    }
    // Poll every few seconds (at most until the deadline), waking early on Ctrl-C.
    int64_t until = std::min<int64_t>(deadline, NowNs() + 5000000000LL);
    while (NowNs() < until) {
      if (g_interrupted) return Status::Cancelled("interrupted while waiting for the lock");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

Result<OpenedRepository> OpenLockedRepository(const GlobalOptions& g, LockKind kind) {
  OpenedRepository out;
  LB_ASSIGN_OR_RETURN(out.repo, OpenRepository(g));
  LB_ASSIGN_OR_RETURN(out.lock, LockRepository(g, *out.repo, kind));
  LB_RETURN_IF_ERROR(out.repo->LoadIndex());
  return out;
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

int ReportError(const GlobalOptions& g, const Status& st) {
  int code = ExitCodeFor(st);
  if (g.json) {
    // The message may quote a path that is not UTF-8: shown with U+FFFD (doc/json.md).
    nlohmann::json j = {{"message_type", "error"},
                        {"code", std::string(StatusCodeName(st.code()))},
                        {"message", ToValidUtf8(st.message())},
                        {"exit_code", code}};
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
bool StderrIsTerminal() { return isatty(STDERR_FILENO); }

void AddSnapshotFilterOptions(CLI::App* cmd, SnapshotFilter* filter) {
  cmd->add_option("--host", filter->hosts, "only snapshots of this host (repeatable)");
  cmd->add_option("--tag", filter->tags,
                  "only snapshots with this tag; \"a,b\" means both (repeatable: any)");
  cmd->add_option("--path", filter->paths, "only snapshots containing this path (repeatable)");
}

}  // namespace lifeboat::cli
