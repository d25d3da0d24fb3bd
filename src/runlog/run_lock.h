// RunLock: one `lifeboat run` at a time per (plan, service) on this machine, so two runs started
// together (a timer firing while someone runs `lifeboat run --now` by hand) never back up the same
// service twice at once. The second run skips a service that is being done and says so.
//
//   LB_ASSIGN_OR_RETURN(std::string dir, DefaultRunStateDirectory());
//   Result<RunLock> lock = RunLock::TryAcquire(dir, plan_path, "orders");
//   if (lock.status().code() == StatusCode::kLocked) ...skip "orders": lock.status().message()...
//
// Mechanism: flock(2), exclusive and non-blocking, on the file
// <state dir>/run-locks/<SHA-256 of plan path, NUL, service name>.lock. The kernel releases it when
// the holder's descriptor closes, also when the process is killed (SIGKILL, a crash, the OOM
// killer), so a dead run never blocks the next one and there is no staleness rule. The
// descriptor is opened O_CLOEXEC: a hook or dump command the run starts does not inherit the lock
// and cannot keep it after the run ends. Lock files are never removed (removing a flock'ed file
// races with a process opening it); each is a few bytes, one per (plan, service). While held, the
// file holds a line for people: "pid 1234 since 2026-12-04T22:00:00Z service orders plan /p.yaml".
//
// Scope: processes on one machine that see the same state directory. Runs on two machines
// against the same plan are not kept apart (each machine runs its own plan's services).
//
// Thread safety: a RunLock is owned by one thread at a time; distinct RunLocks may be taken and
// released concurrently. flock locks belong to the open file, so two TryAcquire calls in one
// process conflict like two processes do.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace lifeboat {

// Where per-machine state (run locks, notification state) lives: /var/lib/lifeboat when running
// as root (uid 0), else $XDG_STATE_HOME/lifeboat when XDG_STATE_HOME is set to an absolute path,
// else $HOME/.local/state/lifeboat. InvalidArgument when none can be determined (no HOME).
// Does not create it.
Result<std::string> DefaultRunStateDirectory();

class RunLock {
 public:
  // Takes the lock of (`plan_path`, `service`) under `state_dir` (created with mode 0700 if
  // missing) without waiting. `plan_path` should be absolute so that two spellings of one plan
  // share a lock (the caller makes it so). Locked, naming the service and the holder's line
  // when readable, when another process (or another RunLock in this one) holds it; IOError and
  // friends from creating or opening the file.
  static Result<RunLock> TryAcquire(const std::string& state_dir, std::string_view plan_path,
                                    std::string_view service);

  RunLock(RunLock&& other) noexcept;
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  // Releases the lock (closes the descriptor).
  ~RunLock();

  // The lock file.
  const std::string& path() const { return path_; }

 private:
  RunLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace lifeboat
