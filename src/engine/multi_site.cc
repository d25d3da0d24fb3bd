#include "engine/multi_site.h"

#include <set>

#include "backend/backend_options.h"

namespace lifeboat {

namespace {

// "/srv/a/" and "/srv/a" name one site; so do "local:/srv/a" and "/srv/a".
std::string SiteKey(std::string location) {
  if (location.starts_with("local:")) location = location.substr(6);
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  return location;
}

}  // namespace

bool MultiSiteResult::incomplete() const {
  for (const SiteReport& site : sites) {
    if (!site.error.ok()) return true;
    if (backup.snapshot_id && !site.snapshot_landed) return true;
  }
  return false;
}

Result<OpenedRepository> OpenReplicaRepository(const ReplicaSite& site, const Repository& source,
                                               std::optional<LockKind> lock_kind,
                                               const LockWaitOptions& wait,
                                               const Context& context) {
  OpenBackendOptions backend_options = site.backend;
  backend_options.retry.context = context;
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                      OpenBackend(site.location, false, backend_options));
  if (site.decorate_backend) backend = site.decorate_backend(std::move(backend));
  OpenedRepository out;
  LB_ASSIGN_OR_RETURN(out.repo, Repository::OpenReplica(std::move(backend), source));
  if (lock_kind) {
    LB_ASSIGN_OR_RETURN(out.lock,
                        AcquireLock(*out.repo, *lock_kind, DefaultLockOptions(), wait, context));
  }
  LB_RETURN_IF_ERROR(out.repo->LoadIndex());
  return out;
}

Result<MultiSiteResult> RunMultiSiteBackup(const MultiSiteOptions& options,
                                           const SiteBackupFn& backup) {
  std::set<std::string> seen{SiteKey(options.primary.location)};
  for (const ReplicaSite& site : options.replicas) {
    if (!seen.insert(SiteKey(site.location)).second) {
      return Status::InvalidArgument("site " + RedactLocation(site.location) +
                                     " is named twice; give each site once");
    }
  }
  const Context& context = options.primary.context;
  const std::string primary_name = options.primary_name.empty()
                                       ? RedactLocation(options.primary.location)
                                       : options.primary_name;
  // Declared before the primary: the primary's MultiSiteBackend borrows the replicas' backends,
  // so they are destroyed after it.
  std::vector<OpenedRepository> replicas;
  MultiSiteBackend* sites = nullptr;
  OpenOptions primary = options.primary;
  primary.decorate_backend = [&](std::unique_ptr<Backend> backend) -> std::unique_ptr<Backend> {
    if (options.primary.decorate_backend) {
      backend = options.primary.decorate_backend(std::move(backend));
    }
    auto multi = std::make_unique<MultiSiteBackend>(std::move(backend), primary_name,
                                                    context.clock());
    sites = multi.get();
    return multi;
  };
  LB_ASSIGN_OR_RETURN(OpenedRepository main, OpenRepository(primary));

  for (const ReplicaSite& site : options.replicas) {
    const std::string name = site.name.empty() ? RedactLocation(site.location) : site.name;
    Result<OpenedRepository> opened =
        OpenReplicaRepository(site, *main.repo, primary.lock, primary.lock_wait, context);
    if (!opened.ok()) {
      LB_RETURN_IF_ERROR(context.Check("backup"));
      sites->AddFailedReplica(name, site.location, opened.status());
      continue;
    }
    CopyOptions catch_up;
    catch_up.source_lock = main.lock.get();
    catch_up.target_lock = opened->lock.get();
    catch_up.context = context;
    Result<CopyResult> copied = CopySnapshots(*main.repo, *opened->repo, catch_up);
    if (!copied.ok()) {
      LB_RETURN_IF_ERROR(context.Check("backup"));
      sites->AddFailedReplica(
          name, site.location,
          copied.status().WithContext("bringing the site up to date before the backup"));
      continue;
    }
    if (options.on_caught_up) options.on_caught_up(name, *copied);
    RepositoryLock* lock = opened->lock.get();
    sites->AddReplica(name, &opened->repo->backend(),
                      [lock] { return lock != nullptr ? lock->Check() : Status::Ok(); });
    replicas.push_back(std::move(*opened));
  }

  MultiSiteResult result;
  LB_ASSIGN_OR_RETURN(result.backup, backup(*main.repo, main.lock.get()));
  result.sites = sites->Reports();
  return result;
}

}  // namespace lifeboat
