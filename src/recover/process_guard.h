// ProcessGuard: a small watcher process that stops the process groups a recovery session started
// when the session's process dies without stopping them itself (kill -9, a crash, the OOM killer).
// Subprocess (util/subprocess.h) stops its children on every exit path of a living process; this
// covers the one path where no code of ours runs any more.
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<ProcessGuard> guard, ProcessGuard::Start());
//   guard->Watch(child->pid());   // a child of its own process group (Subprocess makes it so)
//   ...                           // the child ends, or is stopped by its owner
//   guard->Forget(child->pid());
//
// How: Start forks a watcher (no exec) holding one end of a socket pair; the session keeps the
// other. Watch and Forget send it process group ids. When the session's end closes, which the
// kernel does however the process ends, the watcher sends SIGTERM to every group still watched,
// gives them kGrace to go, sends SIGKILL to what is left and exits. Destroying the guard closes
// the socket the same way (so a group still watched then is stopped too) and reaps the watcher.
// The watcher runs in its own process group and ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT, so
// that a Ctrl-C to the terminal's group reaches the session (which stops its children itself)
// and not the watcher; between fork and _exit it calls only async-signal-safe functions.
//
// Thread safety: Watch and Forget may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>

#include "util/mutex.h"
#include "util/status.h"
#include "util/thread_annotations.h"

namespace lifeboat::recover {

class ProcessGuard {
 public:
  // Between SIGTERM and SIGKILL when the watcher stops the groups.
  static constexpr std::chrono::milliseconds kGrace{3000};
  // Groups watched at once; more are not watched (Watch says so).
  static constexpr int kMaxGroups = 512;

  // Forks the watcher. Unavailable when the system cannot make a process or a socket.
  static Result<std::unique_ptr<ProcessGuard>> Start();
  // Closes the session's end and reaps the watcher: it stops the groups still watched first, so
  // this blocks up to kGrace when there are any, and returns at once otherwise.
  ~ProcessGuard();
  ProcessGuard(const ProcessGuard&) = delete;
  ProcessGuard& operator=(const ProcessGuard&) = delete;

  // The watcher stops group `pgid` if the session dies. An error when the watcher is gone or
  // watches kMaxGroups already (the caller goes on: its own Subprocess still stops the child on
  // every path a living process takes).
  Status Watch(pid_t pgid);
  // The group ended (or was stopped); not stopped again. Call it only for a group Watch took.
  void Forget(pid_t pgid);
  // The watcher's pid (tests).
  pid_t watcher_pid() const { return watcher_; }

 private:
  ProcessGuard(int fd, pid_t watcher) : fd_(fd), watcher_(watcher) {}
  Status Send(char op, pid_t pgid);

  Mutex mu_;
  int fd_ GUARDED_BY(mu_);
  int watched_ GUARDED_BY(mu_) = 0;
  const pid_t watcher_;
};

}  // namespace lifeboat::recover
