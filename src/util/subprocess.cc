#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <system_error>

extern char** environ;

namespace lifeboat {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool IsSecretEnvironmentVariable(std::string_view name) {
  for (std::string_view secret : kSecretEnvironmentVariables)
    if (name == secret) return true;
  return name.starts_with("LIFEBOAT_") && name.find("PASSWORD") != std::string_view::npos;
}

std::vector<std::string> ChildEnvironment(const char* const* parent,
                                          const std::vector<std::string>& pass_secrets) {
  std::vector<std::string> out;
  for (; parent && *parent; ++parent) {
    std::string_view entry(*parent);
    std::string_view name = entry.substr(0, entry.find('='));
    if (IsSecretEnvironmentVariable(name) &&
        std::find(pass_secrets.begin(), pass_secrets.end(), name) == pass_secrets.end())
      continue;
    out.emplace_back(entry);
  }
  return out;
}

std::vector<std::string> ShellCommand(const std::string& command) {
  return {"/bin/sh", "-c", command};
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

namespace {

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  std::string out = "signal " + std::to_string(sig);
  if (abbrev) out += std::string(" (SIG") + abbrev + ")";
  return out;
}

std::string Seconds(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

Result<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessOptions& options) {
  if (options.argv.empty() || options.argv[0].empty())
    return Status::InvalidArgument("no command to run");
  std::string what = options.description.empty() ? options.argv[0] : options.description;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return PosixError("starting " + what + ": pipe");

  SpawnSetup s;
  // In the child, in this order: stdout to the pipe (dup2 clears close-on-exec), stdin from
  // /dev/null, and no other descriptor of ours beyond 0-2.
  int rc = posix_spawn_file_actions_adddup2(&s.actions, fds[1], STDOUT_FILENO);
  if (rc == 0 && options.stderr_to_stdout)
    rc = posix_spawn_file_actions_adddup2(&s.actions, fds[1], STDERR_FILENO);
  if (rc == 0 && options.stdin_mode == SubprocessStdin::kNull)
    rc = posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
  if (rc == 0 && !options.working_directory.empty())
    rc = posix_spawn_file_actions_addchdir_np(&s.actions, options.working_directory.c_str());
  // Its own process group (pgid = its pid); no blocked signals; every signal at its default
  // (Lifeboat ignores SIGPIPE, which exec would otherwise pass on).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                               POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnattr_setpgroup(&s.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc != 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return PosixError("starting " + what + ": posix_spawn setup", rc);
  }

  std::vector<std::string> env = ChildEnvironment(environ, options.pass_secrets);
  for (const auto& entry : options.environment) {
    // Not a structured binding: clang 14 cannot capture one in a lambda (the tsa build).
    const std::string& name = entry.first;
    const std::string& value = entry.second;
    std::erase_if(env, [&name](const std::string& e) {
      return e.size() > name.size() && e.compare(0, name.size(), name) == 0 &&
             e[name.size()] == '=';
    });
    env.push_back(name + "=" + value);
  }
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  rc = ::posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data());
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    if (what.find(options.argv[0]) == std::string::npos) what += " (" + options.argv[0] + ")";
    if (!options.working_directory.empty()) what += " in " + options.working_directory;
    return PosixError("cannot run " + what, rc);
  }
  std::unique_ptr<Subprocess> child(new Subprocess(options, pid, fds[0]));
  try {
    child->watchdog_ = std::thread([p = child.get()] { p->Watch(); });
  } catch (const std::system_error& e) {
    // No watchdog: stop and reap the child here, so that none is left behind.
    ::kill(-pid, SIGKILL);
    int ws;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    child->reaped_ = true;
    return Status::Unavailable("starting " + what + ": cannot start a thread: " + e.what());
  }
  return child;
}

Subprocess::Subprocess(const SubprocessOptions& options, pid_t pid, int stdout_fd)
    : options_(options),
      description_(options.description.empty() ? options.argv[0] : options.description),
      pid_(pid),
      stdout_fd_(stdout_fd),
      start_(Clock::now()) {}

Subprocess::~Subprocess() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (watchdog_.joinable()) {
    Stop(Status::Cancelled(description_ + " was stopped: its owner went away"));
    watchdog_.join();
  }
}

void Subprocess::Stop(Status why) {
  MutexLock lock(&mu_);
  if (stop_requested_ || reaped_) return;
  stop_requested_ = true;
  stop_reason_ = std::move(why);
  cv_.NotifyAll();
}

void Subprocess::Watch() {
  MutexLock lock(&mu_);
  std::optional<Clock::time_point> term_sent;
  bool kill_sent = false;
  for (;;) {
    // Has the leader exited? WNOWAIT leaves it a zombie, so its pid (= the group id) cannot be
    // reused while the rest of the group is killed.
    siginfo_t info = {};
    int rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info,
                      WEXITED | WSTOPPED | WNOHANG | WNOWAIT);
    bool exited = rc == 0 && info.si_pid == pid_ && info.si_code != CLD_STOPPED;
    if (exited || (rc < 0 && errno == ECHILD)) {
      ::kill(-pid_, SIGKILL);  // whatever it started and left behind
      int ws = 0;
      while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
      }
      wait_status_ = ws;
      reaped_ = true;
      cv_.NotifyAll();
      return;
    }
    Clock::time_point now = Clock::now();
    if (!stop_requested_) {
      if (rc == 0 && info.si_pid == pid_ && info.si_code == CLD_STOPPED &&
          (info.si_status == SIGTTIN || info.si_status == SIGTTOU)) {
        // Not in the terminal's foreground group, it stopped to read the terminal: it would
        // wait forever.
        stop_requested_ = true;
        stop_reason_ = Status::FailedPrecondition(
            description_ + " tried to use the terminal, which commands started by Lifeboat "
                           "cannot do (give it its input another way, e.g. a file)");
      } else if (IsCancelledFlag()) {
        stop_requested_ = true;
        stop_reason_ = Status::Cancelled(description_ + " was interrupted");
      } else if (options_.timeout.count() > 0 && now - start_ >= options_.timeout) {
        stop_requested_ = true;
        stop_reason_ = Status::Unavailable(description_ + " did not finish within " +
                                           Seconds(options_.timeout) + " and was stopped");
      }
    }
    if (stop_requested_ && !term_sent) {
      ::kill(-pid_, SIGTERM);
      ::kill(-pid_, SIGCONT);  // a stopped process acts on SIGTERM only once it runs
      term_sent = now;
    } else if (term_sent && !kill_sent && now - *term_sent >= options_.kill_grace) {
      ::kill(-pid_, SIGKILL);
      kill_sent = true;
    }
    // A 10 ms tick, cut short by a stop to act on.
    const Clock::time_point tick_end = now + milliseconds(10);
    for (Clock::time_point t = Clock::now(); !(stop_requested_ && !term_sent) && t < tick_end;
         t = Clock::now())
      cv_.WaitFor(&mu_, tick_end - t);
  }
}

bool Subprocess::IsCancelledFlag() const {
  return options_.cancel != nullptr && options_.cancel->load();
}

Status Subprocess::Wait() {
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  if (watchdog_.joinable()) watchdog_.join();
  MutexLock lock(&mu_);
  if (!stop_reason_.ok()) return stop_reason_;
  int ws = wait_status_;
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) return Status::Ok();
  if (WIFEXITED(ws))
    return Status::FailedPrecondition(description_ + " failed with exit status " +
                                      std::to_string(WEXITSTATUS(ws)));
  if (WIFSIGNALED(ws))
    return Status::FailedPrecondition(description_ + " was killed by " +
                                      SignalName(WTERMSIG(ws)));
  return Status::Internal(description_ + ": unexpected wait status " + std::to_string(ws));
}

Result<std::string> Subprocess::CaptureAndWait() {
  std::string out;
  char buf[4096];
  std::optional<Clock::time_point> reaped_at;
  while (stdout_fd_ >= 0) {
    struct pollfd p = {stdout_fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR) {
      Stop(PosixError("reading the output of " + description_));
      break;
    }
    if (ready <= 0) {
      // The group is gone but the pipe is still open: something that left the group holds it.
      // Give it a second to finish writing, then stop reading.
      MutexLock lock(&mu_);
      if (reaped_ && !reaped_at) reaped_at = Clock::now();
      if (reaped_at && Clock::now() - *reaped_at > milliseconds(1000)) break;
      continue;
    }
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      Stop(PosixError("reading the output of " + description_));
      break;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > options_.max_output) {
      Stop(Status::FailedPrecondition(description_ + " printed more than " +
                                      std::to_string(options_.max_output) + " bytes"));
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  LB_RETURN_IF_ERROR(Wait());
  return out;
}

Result<std::string> RunAndCapture(const SubprocessOptions& options) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Subprocess> child, Subprocess::Start(options));
  return child->CaptureAndWait();
}

}  // namespace lifeboat
