// Subprocess: the one way Lifeboat starts a child process (password commands, dump commands;
// hooks and recover steps later). A child runs
//   - in its own process group, so it and everything it starts are signalled together;
//   - with an environment built explicitly: the parent's, minus Lifeboat's secrets
//     (kSecretEnvironmentVariables, IsSecretEnvironmentVariable) unless passed on purpose;
//   - with stdin /dev/null (or inherited), stderr inherited (or into the stdout pipe), stdout a
//     pipe that the caller reads (stdout_fd()) or has collected (CaptureAndWait, RunAndCapture);
//   - under a watchdog that ends the whole group (SIGTERM, then SIGKILL after a grace period)
//     on timeout, when *cancel becomes true (Ctrl-C), when its stdout grows past the capture
//     limit, and when the owning Subprocess is destroyed: no child outlives its owner.
//
//   SubprocessOptions o;
//   o.argv = ShellCommand("pass show backup");  o.timeout = std::chrono::seconds(60);
//   o.cancel = &interrupted;  o.description = "password command";
//   LB_ASSIGN_OR_RETURN(std::string out, RunAndCapture(o));
//
//   LB_ASSIGN_OR_RETURN(auto child, Subprocess::Start(o));
//   ... read child->stdout_fd() to its end ...
//   LB_RETURN_IF_ERROR(child->Wait());
//
// Exit decoding (Wait): exit 0 is OK; another exit status or death by a signal is
// FailedPrecondition ("<description> failed with exit status 3", "... was killed by signal 9
// (SIGKILL)"); a timeout is Unavailable ("... did not finish within 60 s and was stopped"); a
// cancel is Cancelled; a capture over the limit is FailedPrecondition. A child runs outside the
// terminal's foreground process group, so it cannot read the terminal: when it stops trying to
// (SIGTTIN/SIGTTOU), it is stopped with FailedPrecondition instead of waiting forever. A program that cannot be
// started (not found, not executable) fails in Start with the errno's code.
//
// Threads: one watchdog thread per running child. A Subprocess object is used by one thread at
// a time; `cancel` may be set from any thread or a signal handler.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/mutex.h"
#include "util/status.h"
#include "util/thread_annotations.h"

namespace lifeboat {

// Environment variables a child never sees unless the caller passes them on purpose
// (SubprocessOptions::pass_secrets): Lifeboat's passwords and the variables naming a password
// file or command, and storage backends' credentials. Any other LIFEBOAT_* variable whose name
// contains PASSWORD counts as a secret too (IsSecretEnvironmentVariable).
inline constexpr std::string_view kSecretEnvironmentVariables[] = {
    "LIFEBOAT_PASSWORD",         "LIFEBOAT_PASSWORD_FILE",      "LIFEBOAT_PASSWORD_COMMAND",
    "LIFEBOAT_FROM_PASSWORD",    "LIFEBOAT_FROM_PASSWORD_FILE", "LIFEBOAT_FROM_PASSWORD_COMMAND",
    "AWS_SECRET_ACCESS_KEY",     "AWS_SESSION_TOKEN",           "B2_ACCOUNT_KEY",
    "AZURE_ACCOUNT_KEY",         "AZURE_ACCOUNT_SAS",           "GOOGLE_ACCESS_TOKEN",
    "OS_PASSWORD",               "ST_KEY",
};

// True for a name in kSecretEnvironmentVariables and for LIFEBOAT_*PASSWORD*.
bool IsSecretEnvironmentVariable(std::string_view name);

// "NAME=value" entries of `parent` (a null-terminated environ-style array) without the secrets,
// except those named in `pass_secrets`. Order is kept.
std::vector<std::string> ChildEnvironment(const char* const* parent,
                                          const std::vector<std::string>& pass_secrets);

// {"/bin/sh", "-c", command}: for commands the user wrote as one string (--password-command).
std::vector<std::string> ShellCommand(const std::string& command);

// `s` as one word for /bin/sh: in single quotes, each ' written as '\''.
std::string ShellQuote(std::string_view s);

enum class SubprocessStdin { kNull, kInherit };

struct SubprocessOptions {
  // argv[0] is looked up in PATH unless it contains a '/'. Must not be empty.
  std::vector<std::string> argv;
  // Names the child in messages ("password command", "command 'pg_dump'"); default: argv[0].
  std::string description;
  // Zero: no limit. Counted from Start.
  std::chrono::milliseconds timeout{0};
  // Between SIGTERM and SIGKILL when the group is stopped.
  std::chrono::milliseconds kill_grace{2000};
  // When it becomes true, the group is stopped and Wait returns Cancelled. May be null.
  const std::atomic<bool>* cancel = nullptr;
  // Secret variables (see kSecretEnvironmentVariables) this child gets on purpose.
  std::vector<std::string> pass_secrets;
  // Variables set in the child's environment on purpose, replacing any of the same name it
  // would inherit: how a secret reaches a child that reads it from its environment (a dump
  // command's PGPASSWORD) without a command line or Lifeboat's own environment holding it.
  // Their values appear in no message.
  std::vector<std::pair<std::string, std::string>> environment;
  SubprocessStdin stdin_mode = SubprocessStdin::kNull;
  // The child's standard error goes to the stdout pipe too (false: inherited): for commands whose
  // diagnostics belong to the caller's record of them (a drill's recover steps).
  bool stderr_to_stdout = false;
  // The child's working directory (empty: the caller's). Start fails (NotFound, ...) when the
  // child cannot enter it.
  std::string working_directory;
  // CaptureAndWait only: more output than this stops the child (FailedPrecondition).
  size_t max_output = 1 << 20;
};

class Subprocess {
 public:
  // Starts the child. NotFound / PermissionDenied / ... when it cannot be started; the child
  // is then not running.
  static Result<std::unique_ptr<Subprocess>> Start(const SubprocessOptions& options);
  // Stops the group if the child still runs (SIGTERM, grace, SIGKILL), reaps it, closes the
  // pipe. May block for up to kill_grace.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  // The read end of the child's stdout (-1 after Wait). Owned by this object. Reads reach end
  // of file once the child and everything it started have exited or were stopped.
  int stdout_fd() const { return stdout_fd_; }

  // Closes stdout_fd(), waits until the child has exited (or the watchdog stopped it) and
  // decodes how it ended (see the header comment). Call once.
  Status Wait();
  // Reads stdout to its end (at most max_output bytes), then Wait()s. Returns the output.
  Result<std::string> CaptureAndWait();
  // Stops the group now (SIGTERM, then SIGKILL after the grace period); Wait reports `why`.
  void Stop(Status why);

 private:
  Subprocess(const SubprocessOptions& options, pid_t pid, int stdout_fd);
  void Watch();  // the watchdog thread
  bool IsCancelledFlag() const;

  const SubprocessOptions options_;
  const std::string description_;
  const pid_t pid_;
  int stdout_fd_;
  const std::chrono::steady_clock::time_point start_;

  Mutex mu_;
  CondVar cv_;  // a stop was requested, or the child was reaped
  Status stop_reason_ GUARDED_BY(mu_);  // why the group is being stopped
  bool stop_requested_ GUARDED_BY(mu_) = false;
  bool reaped_ GUARDED_BY(mu_) = false;
  int wait_status_ GUARDED_BY(mu_) = 0;  // valid once reaped_
  std::thread watchdog_;
};

// Starts options.argv with stdout captured, reads it, waits: the output, or why it failed.
Result<std::string> RunAndCapture(const SubprocessOptions& options);

}  // namespace lifeboat
