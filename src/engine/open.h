// Opening a repository for a job: the one call the CLI, the plan, drills and the daemon use. It
// opens the backend named by a location, reads the password from its source, opens the key,
// takes the repository lock (waiting for it if asked) and loads the index.
//
//   OpenOptions o;
//   o.location = "/srv/backup/site-a";
//   o.password = PasswordSource::File("/etc/lifeboat/site-a.pass");
//   o.lock = LockKind::kShared;
//   o.lock_wait = std::chrono::minutes(10);
//   o.context = ctx;                      // cancels the lock wait and the backend's retries
//   LB_ASSIGN_OR_RETURN(OpenedRepository opened, OpenRepository(o));
//   ... opened.repo->..., opened.lock.get() for the operation's options ...
//
// The backend stack belongs to this job: its retries stop when `context` is done
// (backend/retry_backend.h). Open once per job (a backup run, a drill), not once per process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "backend/open_backend.h"
#include "engine/password.h"
#include "repository/lock.h"
#include "repository/repository.h"
#include "util/context.h"

namespace lifeboat {

// How a lock is taken when another process holds a conflicting one.
struct LockWaitOptions {
  // Keep trying this long (0: fail at once with Locked). Polled every `poll_interval`, or sooner
  // when the wait ends.
  std::chrono::nanoseconds wait{0};
  std::chrono::nanoseconds poll_interval = std::chrono::seconds(5);
  // Told once, before the first wait, with the Locked status of the first attempt (which names
  // the holder): the CLI prints it. Called on the waiting thread. May be empty.
  std::function<void(const Status& conflict)> on_wait;
};

// Takes a lock of `kind`, waiting as `wait` says. Locked when it is still held by another process
// at the end of the wait; Cancelled / DeadlineExceeded ("... while waiting for the lock") when ctx
// stops the wait; any other error of RepositoryLock::Acquire at once. The waits, the lock's times
// and its refreshes are on ctx's clock (lock_options.clock is replaced). Blocks.
Result<std::unique_ptr<RepositoryLock>> AcquireLock(Repository& repo, LockKind kind,
                                                    const LockOptions& lock_options,
                                                    const LockWaitOptions& wait,
                                                    const Context& ctx);

struct OpenOptions {
  // "/srv/repo" or "local:/srv/repo" (backend/open_backend.h).
  std::string location;
  PasswordSource password;
  // The lock to take; nullopt takes none (read-only inspection that accepts a changing
  // repository, `--no-lock`).
  std::optional<LockKind> lock = LockKind::kShared;
  LockWaitOptions lock_wait;
  LockOptions lock_options = DefaultLockOptions();
  // Load the index after locking (every operation but key management and snapshot listings
  // needs it).
  bool load_index = true;
  // Stops the password command, the lock wait and the backend's retries.
  Context context = {};
  // Retry policy, fault injection (tests). Its retry.context is replaced by `context`.
  OpenBackendOptions backend = DefaultOpenBackendOptions();
  // Optional: decorators of the job's own, put above the backend stack before the repository is
  // opened (a MultiSiteBackend for `backup --also-to`: engine/multi_site.h). Given the opened
  // backend, returns the one the repository uses.
  std::function<std::unique_ptr<Backend>(std::unique_ptr<Backend>)> decorate_backend;
  // Optional: the same repository, open already; its key is used (Repository::OpenAgain) instead
  // of resolving `password` and deriving the key again. Must outlive the call only.
  const Repository* reuse_key_of = nullptr;
};

// A repository opened for a job. The lock (null when none was taken) is released before the
// repository is closed: members are destroyed in reverse order.
struct OpenedRepository {
  std::unique_ptr<Repository> repo;
  std::unique_ptr<RepositoryLock> lock;
};

// Opens the repository at options.location: InvalidArgument for a bad location or password
// source; NoRepository when there is none (a restic repository is named as such);
// Unauthenticated when no key matches; Locked when the lock stays held (AcquireLock); the index's
// error when it cannot be loaded. Nothing is written except the lock object. Blocks.
Result<OpenedRepository> OpenRepository(const OpenOptions& options);

// Creates a repository at options.location (lock, lock_wait and load_index are not used):
// AlreadyExists when the location already holds one (nothing is written then); InvalidArgument
// for a bad location or password source. Blocks (key derivation).
Result<std::unique_ptr<Repository>> CreateRepository(const OpenOptions& options,
                                                     const InitOptions& init);

// Opens only the backend stack of options.location, exactly as a repository would get it
// (retries stopped by options.context, options.decorate_backend applied), without a key: no
// password is resolved and nothing is decrypted. For listings of object names that need no key
// (`status` answering from its cache: runlog/cache.h). InvalidArgument for a bad location.
Result<std::unique_ptr<Backend>> OpenRepositoryBackend(const OpenOptions& options);

// Opens a repository without a lock or index (key management, `snapshots`, `cat`, and callers
// that lock later with AcquireLock, e.g. after resolving a snapshot name).
Result<std::unique_ptr<Repository>> OpenRepositoryUnlocked(const OpenOptions& options);

}  // namespace lifeboat
