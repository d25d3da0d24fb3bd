#include "engine/open.h"

#include <algorithm>

namespace lifeboat {

Result<std::unique_ptr<RepositoryLock>> AcquireLock(Repository& repo, LockKind kind,
                                                    const LockOptions& lock_options,
                                                    const LockWaitOptions& wait,
                                                    const Context& ctx) {
  Clock& clock = ctx.clock();
  const int64_t wait_ns = std::max<int64_t>(wait.wait.count(), 0);
  const int64_t start = clock.MonotonicNs();
  const int64_t end = wait_ns > INT64_MAX - start ? INT64_MAX : start + wait_ns;
  const int64_t poll = std::max<int64_t>(wait.poll_interval.count(), 1'000'000);
  bool told = false;
  for (;;) {
    LB_RETURN_IF_ERROR(ctx.Check("waiting for the lock"));
    LockOptions options = lock_options;
    options.clock = &clock;  // the lock's times and refresh waits follow the job's clock
    auto lock = RepositoryLock::Acquire(repo, kind, options);
    if (lock.ok() || lock.status().code() != StatusCode::kLocked) return lock;
    const int64_t now = clock.MonotonicNs();
    if (now >= end) return lock;
    if (!told && wait.on_wait) wait.on_wait(lock.status());
    told = true;
    LB_RETURN_IF_ERROR(
        ctx.SleepFor(std::chrono::nanoseconds(std::min(poll, end - now)), "waiting for the lock"));
  }
}

Result<std::unique_ptr<Backend>> OpenRepositoryBackend(const OpenOptions& options) {
  OpenBackendOptions backend_options = options.backend;
  backend_options.retry.context = options.context;
  LB_ASSIGN_OR_RETURN(auto backend, OpenBackend(options.location, false, backend_options));
  if (options.decorate_backend) backend = options.decorate_backend(std::move(backend));
  return backend;
}

Result<std::unique_ptr<Repository>> OpenRepositoryUnlocked(const OpenOptions& options) {
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenRepositoryBackend(options));
  if (options.reuse_key_of != nullptr) {
    return Repository::OpenAgain(std::move(backend), *options.reuse_key_of);
  }
  LB_ASSIGN_OR_RETURN(std::string password, ResolvePassword(options.password, options.context));
  return Repository::Open(std::move(backend), password);
}

Result<std::unique_ptr<Repository>> CreateRepository(const OpenOptions& options,
                                                     const InitOptions& init) {
  OpenBackendOptions backend_options = options.backend;
  backend_options.retry.context = options.context;
  LB_ASSIGN_OR_RETURN(auto backend, OpenBackend(options.location, true, backend_options));
  if (backend->HasConfig())
    return Status::AlreadyExists(backend->Location() + " already holds a Lifeboat repository");
  LB_ASSIGN_OR_RETURN(std::string password, ResolvePassword(options.password, options.context));
  return Repository::Init(std::move(backend), password, init);
}

Result<OpenedRepository> OpenRepository(const OpenOptions& options) {
  OpenedRepository out;
  LB_ASSIGN_OR_RETURN(out.repo, OpenRepositoryUnlocked(options));
  if (options.lock) {
    LB_ASSIGN_OR_RETURN(out.lock, AcquireLock(*out.repo, *options.lock, options.lock_options,
                                              options.lock_wait, options.context));
  }
  if (options.load_index) LB_RETURN_IF_ERROR(out.repo->LoadIndex());
  return out;
}

}  // namespace lifeboat
