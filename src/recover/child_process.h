// A child process of a recovery session: a Subprocess (util/subprocess.h: own process group,
// environment without Lifeboat's secrets, timeout, cancel, stopped when its owner goes) that the
// session's ProcessGuard watches, with its output read by a thread of its own and kept trimmed
// (OutputTail), so that a server started in the background never blocks on a full pipe and a
// failing step's output can be shown (util/trim_output.h).
//
//   LB_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(options, guard));   // background
//   ... child->running() ... child->output() ...
//   Status how = child->Stop(Status::Cancelled("the drill ended"));
//
//   ForegroundResult r = RunForeground(options, guard);  // a step: r.status, r.output
//
// Thread safety: output() and running() from any thread; Stop and Wait from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "recover/process_guard.h"
#include "util/mutex.h"
#include "util/subprocess.h"
#include "util/thread_annotations.h"
#include "util/trim_output.h"

namespace lifeboat::recover {

class ChildProcess {
 public:
  // Starts options.argv and has `guard` (may be null) watch its group. The output is read from
  // the start; with options.stderr_to_stdout it holds standard error too.
  static Result<std::unique_ptr<ChildProcess>> Start(const SubprocessOptions& options,
                                                     ProcessGuard* guard);
  // Stops it if it still runs (as Stop).
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return child_->pid(); }
  // False once the process has exited (or was stopped).
  bool running() const;
  // What it printed so far, trimmed.
  std::string output() const;

  // Waits until it exits (its timeout and cancel still apply) and says how it ended, as
  // Subprocess::Wait. Call once, and not after Stop.
  Status Wait();
  // Stops the group now (SIGTERM, the options' kill_grace, SIGKILL) unless it already exited,
  // and says how it ended: `why` when it was stopped, else its own exit (Subprocess::Wait's
  // decoding: Ok for exit 0). Idempotent: later calls return the first answer.
  Status Stop(Status why);

 private:
  ChildProcess(std::unique_ptr<Subprocess> child, ProcessGuard* guard, bool watched);
  void Drain();     // the reader thread
  Status Finish();  // joins the reader, waits for the child, forgets its group

  std::unique_ptr<Subprocess> child_;
  ProcessGuard* const guard_;
  const bool watched_;
  std::thread reader_;
  mutable Mutex mu_;
  OutputTail output_ GUARDED_BY(mu_);
  bool finished_ = false;  // the thread calling Stop/Wait only
  Status end_;             // valid once finished_
};

struct ForegroundResult {
  Status status;       // as Subprocess::Wait (also when it could not start)
  std::string output;  // trimmed
};

// Starts the command, waits for it and returns how it ended with its output.
ForegroundResult RunForeground(const SubprocessOptions& options, ProcessGuard* guard);

// True while the process `pid` (a child of this process) has not exited. It is not reaped here.
bool ChildRunning(pid_t pid);

}  // namespace lifeboat::recover
