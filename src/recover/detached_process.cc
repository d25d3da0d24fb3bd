#include "recover/detached_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include "util/trim_output.h"

extern char** environ;

namespace lifeboat::recover {

namespace {

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

Result<LeftRunning> StartDetached(const SubprocessOptions& options, const std::string& service,
                                  const std::string& what, const std::string& log_path) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return Status::InvalidArgument("no command to run");
  }
  std::string name = options.description.empty() ? options.argv[0] : options.description;
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return PosixError("opening the log file " + log_path + " of " + name);

  SpawnSetup s;
  // stdout and stderr to the log (dup2 clears close-on-exec), stdin /dev/null, nothing else.
  int rc = posix_spawn_file_actions_adddup2(&s.actions, log, STDOUT_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&s.actions, log, STDERR_FILENO);
  if (rc == 0) {
    rc = posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
  if (rc == 0 && !options.working_directory.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(&s.actions, options.working_directory.c_str());
  }
  // A session of its own (so also a process group: pgid = pid), signals at their defaults.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        &s.attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc != 0) {
    ::close(log);
    return PosixError("starting " + name + ": posix_spawn setup", rc);
  }
  std::vector<std::string> env = ChildEnvironment(environ, options.pass_secrets);
  for (const auto& entry : options.environment) {
    const std::string& var = entry.first;
    std::erase_if(env, [&var](const std::string& e) {
      return e.size() > var.size() && e.compare(0, var.size(), var) == 0 && e[var.size()] == '=';
    });
    env.push_back(var + "=" + entry.second);
  }
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  rc = ::posix_spawnp(&pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data());
  ::close(log);
  if (rc != 0) {
    if (name.find(options.argv[0]) == std::string::npos) name += " (" + options.argv[0] + ")";
    if (!options.working_directory.empty()) name += " in " + options.working_directory;
    return PosixError("cannot run " + name, rc);
  }
  LeftRunning lr;
  lr.service = service;
  lr.what = what;
  lr.pid = pid;
  lr.pgid = pid;
  lr.log = log_path;
  Result<uint64_t> start = ProcessStartTime(pid);
  if (!start.ok()) {
    // Gone already (it exited at once): a start time that matches nothing.
    lr.start_time = 0;
  } else {
    lr.start_time = *start;
  }
  return lr;
}

std::string LogTail(const std::string& log_path, size_t max_bytes) {
  std::ifstream in(log_path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from =
      std::max<std::streamoff>(0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return TrimOutput(text);
}

}  // namespace lifeboat::recover
