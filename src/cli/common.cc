#include "cli/common.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

#include "backend/open_backend.h"
#include "util/file_io.h"

namespace lifeboat::cli {

std::atomic<bool> g_interrupted{false};

static void OnSignal(int) { g_interrupted.store(true); }

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
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return PosixError("running password command");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0)
    return Status::InvalidArgument("password command failed (exit status " +
                                   std::to_string(WIFEXITED(rc) ? WEXITSTATUS(rc) : rc) + ")");
  size_t nl = out.find('\n');
  if (nl != std::string::npos) out.resize(nl);
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

static Result<std::string> ReadPasswordFile(const std::string& path) {
  auto data = ReadWholeFile(path);
  if (!data.ok()) return data.status().WithContext("reading password file");
  std::string s(data->begin(), data->end());
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  if (!s.empty() && s.back() == '\r') s.pop_back();
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
  LockOptions options;
  if (const char* s = std::getenv("LIFEBOAT_LOCK_REFRESH_SECONDS")) {
    long v = std::atol(s);
    if (v > 0) options.refresh_interval_ns = v * 1000000000LL;
  }
  return RepositoryLock::Acquire(repo, kind, options);
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
    case StatusCode::kCancelled:
      return g_interrupted ? kExitInterrupted : kExitLocked;
    case StatusCode::kFailedPrecondition:
      return st.message().find("locked") != std::string::npos ? kExitLocked : kExitError;
    case StatusCode::kNotFound:
      return st.message().find("not a Lifeboat repository") != std::string::npos
                 ? kExitNoRepository
                 : kExitError;
    default: return kExitError;
  }
}

int ReportError(const GlobalOptions& g, const Status& st) {
  int code = ExitCodeFor(st);
  if (g.json) {
    nlohmann::json j = {{"message_type", "error"},
                        {"code", std::string(StatusCodeName(st.code()))},
                        {"message", st.message()},
                        {"exit_code", code}};
    std::cerr << j.dump() << std::endl;
  } else {
    std::cerr << "lifeboat: error: " << st.message() << std::endl;
  }
  return code;
}

void Say(const GlobalOptions& g, const std::string& line) {
  if (g.quiet) return;
  std::cout << line << std::endl;
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

std::string FormatBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

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
