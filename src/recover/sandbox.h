// The sandbox of a recovery session (doc/drills.md, "The sandbox"): a fresh directory that holds
// everything a drill makes (restored sources, scratch clusters, the password file of those
// clusters), owned by one session and removed with it, and the clean-up of sandboxes that a killed
// session left behind.
//
//   for (const StaleSandbox& s : CleanStaleSandboxes(base)) ... s.path, s.processes_stopped ...
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Sandbox> box, Sandbox::Create(base, "drill", clock));
//   ... box->path() ...
//   box->Keep();      // --keep: the directory stays (and is never taken for a stale one)
//   // ~Sandbox removes the directory unless kept
//
// Ownership: the sandbox holds an exclusive flock on its marker file `.lifeboat-sandbox` (JSON:
// pid, host, mode, start time, kept) for as long as the object lives; the kernel drops it when the
// process dies, however it dies. A sandbox whose marker is not locked by anyone and is not marked
// kept is stale. The marker is written under a temporary name, locked, then renamed into place,
// so that a clean-up never sees a marker whose owner has not locked it yet.
//
// Blocks (file system); one thread per object.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/status.h"

namespace lifeboat::recover {

// The default place of sandboxes: $TMPDIR/lifeboat-drills when TMPDIR is set, else
// /var/tmp/lifeboat-drills (on disk on most systems, unlike a tmpfs /tmp, and reachable by every
// user, such as the `postgres` user a root drill runs its scratch clusters as).
std::string DefaultSandboxBase();

class Sandbox {
 public:
  // Makes <base>/<prefix>-<YYYYMMDDTHHMMSSZ>-<random> (mode 0700; 0711 when running as root, so
  // that a scratch cluster's own user can pass through to its directory) and its marker. `base`
  // is created (mode 0711) when missing. Errors: the directory cannot be made or locked.
  static Result<std::unique_ptr<Sandbox>> Create(const std::string& base, const std::string& prefix,
                                                 Clock& clock);
  // Removes the directory (unless kept), then releases the lock.
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& path() const { return path_; }
  // Marks the sandbox kept: it stays after the session and no clean-up takes it for stale.
  Status Keep();
  bool kept() const { return kept_; }
  // Removes the directory now (everything in it, directories made writable first). Idempotent.
  Status Remove();

 private:
  Sandbox(std::string path, int lock_fd, std::string marker)
      : path_(std::move(path)), lock_fd_(lock_fd), marker_(std::move(marker)) {}

  const std::string path_;
  int lock_fd_;
  std::string marker_;  // the marker's JSON
  bool kept_ = false;
  bool removed_ = false;
};

// What CleanStaleSandboxes did with one stale sandbox.
struct StaleSandbox {
  std::string path;
  int64_t owner_pid = 0;      // from the marker (0: unknown)
  std::string owner_started;  // from the marker
  size_t processes_stopped = 0;
  Status removed;  // Ok, or why it could not be removed (it is tried again next time)
};

// Every sandbox under `base` (directories named "<prefix>-...", for the prefixes "drill" and
// "failover") whose owner is gone: processes still working in it (their current directory is in
// it: a step's server, a scratch cluster) are stopped, group by group (SIGTERM, then SIGKILL after
// 3 s), and the directory is removed. Sandboxes in use or kept are left alone; so is a directory
// without a marker that is younger than 10 minutes (its session may be starting). A missing
// `base` has nothing stale.
std::vector<StaleSandbox> CleanStaleSandboxes(const std::string& base);

// Removes `path` and everything below it, making directories writable and searchable first when
// the first attempt fails (a restored read-only directory). NotFound is success.
Status RemoveTree(const std::string& path);

// Stops every process whose current directory is `dir` or below it (not this process, nor its
// own process group): SIGTERM to each one's process group, SIGKILL after `grace`. Returns how
// many processes were found.
size_t StopProcessesIn(const std::string& dir, std::chrono::milliseconds grace);

}  // namespace lifeboat::recover
