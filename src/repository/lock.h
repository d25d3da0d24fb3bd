// Repository locks (doc/repository-format.md §10): shared for backup and restore, exclusive for
// maintenance; refreshed in the background; stale locks are detected.
//
//   LB_ASSIGN_OR_RETURN(auto lock, RepositoryLock::Acquire(repo, LockKind::kShared, {}));
//   ...
//   LB_RETURN_IF_ERROR(lock->Check());   // before committing: Locked if the lock was lost
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "repository/repository.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

enum class LockKind { kShared, kExclusive };

struct LockOptions {
  int64_t refresh_interval_ns = 5LL * 60 * 1000000000;  // write a fresh lock this often
  int64_t retry_interval_ns = 30LL * 1000000000;        // after a failed refresh
  int64_t lost_after_ns = 10LL * 60 * 1000000000;  // no successful refresh for this long: lost
  int64_t stale_after_ns = 30LL * 60 * 1000000000;  // other processes' locks older than this
  // The wall time written into lock objects and compared with them (staleness, lost), and the
  // clock the refresher waits on. Tests inject a ManualClock (util/clock.h).
  Clock* clock = &SystemClock();
};

// The options commands lock with: LockOptions{} unless a test set an override. Nothing in the
// environment changes them (the test executable reads LIFEBOAT_LOCK_*_SECONDS and calls
// SetLockOptionsOverrideForTesting): shorter times there would let a second process judge a
// live lock stale. Thread-safe.
LockOptions DefaultLockOptions();
// For tests only: DefaultLockOptions() returns `options` (nullopt: the defaults again).
void SetLockOptionsOverrideForTesting(std::optional<LockOptions> options);

struct LockInfo {
  std::string name;
  int64_t time_ns = 0;
  bool exclusive = false;
  std::string hostname, username;
  int64_t pid = 0;
  bool stale = false;
  std::string stale_reason;
};

class RepositoryLock {
 public:
  // Writes a lock object and checks for conflicts: any non-stale exclusive lock, or any
  // non-stale lock when `kind` is exclusive. On conflict removes its own lock and returns
  // Locked naming the holder and saying how to proceed, with the holder as data
  // (Status::lock_conflict(): host, user, pid, kind, lock time and age by options.clock).
  static Result<std::unique_ptr<RepositoryLock>> Acquire(Repository& repo, LockKind kind,
                                                         LockOptions options);
  // Stops refreshing and removes the lock object (errors ignored; the lock goes stale).
  ~RepositoryLock();

  // OK while the lock is fresh; Locked once no refresh succeeded for lost_after_ns, or once
  // the refresher found its lock object removed by someone else. Lost is final: a later
  // successful write does not revive the lock (the caller must stop before committing anything
  // or deleting anything). Thread-safe.
  Status Check() const;
  // Stops refreshing and removes the lock object.
  Status Release();
  // The kind asked for at Acquire (fixed for the lock's life). Thread-safe.
  LockKind kind() const { return kind_; }

 private:
  RepositoryLock(Repository& repo, LockKind kind, LockOptions options, std::string name,
                 int64_t time_ns);
  void RefreshLoop();

  Repository& repo_;
  LockKind kind_;
  LockOptions options_;
  mutable Mutex mu_;
  CondVar cv_;  // stop_ was set
  std::string name_ GUARDED_BY(mu_);
  int64_t last_ok_ns_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool released_ GUARDED_BY(mu_) = false;
  std::string lost_ GUARDED_BY(mu_);  // why the lock is lost for good
  std::thread refresher_;
};

// Lists all locks, marking stale ones (old, or from a dead process on this host).
Result<std::vector<LockInfo>> ListLocks(Repository& repo, const LockOptions& options = {});
// What RemoveLocks did, lock by lock (for `unlock` output).
struct UnlockReport {
  std::vector<std::pair<LockInfo, std::string>> removed;  // each lock and why: its stale reason,
                                                          // or "--remove-all"
  int kept = 0;  // fresh locks left in place (held by running processes)
};
// Removes stale locks (or all locks with `all`); returns how many were removed. A lock that is
// gone by the time it is removed (its owner released it) is neither counted nor an error. Stops
// at the first other removal error (the locks removed before it are in *report). `report` may be
// null.
Result<int> RemoveLocks(Repository& repo, bool all, const LockOptions& options = {},
                        UnlockReport* report = nullptr);

}  // namespace lifeboat
