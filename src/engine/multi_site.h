// One backup written to several sites at once: `lifeboat backup --also-to`, and the plan's
// `replication: sync` (doc/replication.md, "Several sites in one backup"). No open-source backup
// tool does this: restic and borg back up to one repository and copy afterwards, so every site
// after the first costs a second read of the data or a second encoding.
//
//   MultiSiteOptions o;
//   o.primary = open_options;                 // the first site: location, password, lock, context
//   o.replicas = {{"site-b", b_location, {}}, {"site-c", c_location, {}}};
//   LB_ASSIGN_OR_RETURN(MultiSiteResult r, RunMultiSiteBackup(o, [&](Repository& repo,
//                                                                    RepositoryLock* lock) {
//     BackupOptions b = backup_options; b.lock = lock;
//     return RunBackup(repo, b);
//   }));
//   if (r.incomplete()) ...                   // some site did not get the snapshot: r.sites says why
//
// How:
//  1. The primary is opened (password, shared lock, index); each replica with the primary's key
//     material (Repository::OpenReplica: no password; a repository that is not a replica is
//     refused before anything is written) under its own shared lock, index loaded.
//  2. Each replica is brought up to date: every snapshot of the primary it lacks is copied in
//     replica mode (copier.h), which sends only the packs it does not hold. So a site that failed
//     in an earlier run catches up here, and afterwards holds everything the backup may reuse.
//  3. The backup runs once, over a MultiSiteBackend (backend/multi_site_backend.h): each pack is
//     chunked, compressed and encrypted once and stored at every healthy site; index files too;
//     the snapshot reaches a site only if every save to it succeeded and its lock still holds.
// A replica that cannot be opened, caught up or written to is named with its error in
// MultiSiteResult::sites and the others carry on. The primary is where the backup reads from: if
// it cannot be opened the run fails (nothing is written anywhere), and if it fails mid-way the
// backup fails with its error; the replicas keep the packs they got, which the next run reuses.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "archiver/archiver.h"
#include "backend/multi_site_backend.h"
#include "copier/copier.h"
#include "engine/open.h"

namespace lifeboat {

struct ReplicaSite {
  std::string name;      // for reports: a plan's site name, or the location on the command line
  std::string location;  // a repository location (backend/open_backend.h)
  // This site's backend options (-o, a plan site's `options` and `env`). Retries stop with the
  // primary's context.
  OpenBackendOptions backend = DefaultOpenBackendOptions();
  // Optional decorators above this site's backend stack (as OpenOptions::decorate_backend).
  std::function<std::unique_ptr<Backend>(std::unique_ptr<Backend>)> decorate_backend;
};

struct MultiSiteOptions {
  // The primary site: location, password, lock kind and wait, context, backend options. The
  // lock and index are taken as given (backup: a shared lock; the index is loaded).
  OpenOptions primary;
  std::string primary_name;  // empty: the primary's location
  std::vector<ReplicaSite> replicas;
  // Called on the caller's thread after a replica was brought up to date (step 2), with what the
  // copy did (nothing copied when it was in step). May be empty.
  std::function<void(const std::string& site, const CopyResult& caught_up)> on_caught_up;
};

struct MultiSiteResult {
  BackupResult backup;
  // The primary first, then the replicas in the order given: bytes sent, time, whether the
  // snapshot landed there, and the first error.
  std::vector<SiteReport> sites;
  // True when some site did not get the snapshot (the exit code says "incomplete").
  bool incomplete() const;
};

// The backup of MultiSiteOptions, step 3: runs the backup over `repo` (the primary, whose
// backend stores at every site) with the primary's lock, and returns its result.
using SiteBackupFn = std::function<Result<BackupResult>(Repository& repo, RepositoryLock* lock)>;

// Runs `backup` once and stores its snapshot at the primary and every replica (see the top of
// this file). Errors: the primary's (open, lock, index, the backup itself), with nothing written
// to any replica when the primary could not be opened; InvalidArgument when a replica repeats
// the primary's or another replica's location. A replica's failure is not an error: it is in
// MultiSiteResult::sites. Blocks.
Result<MultiSiteResult> RunMultiSiteBackup(const MultiSiteOptions& options,
                                           const SiteBackupFn& backup);

// Opens the replica at `site` with the key material of `source` (Repository::OpenReplica), takes
// a lock of `lock_kind` (waiting as `wait` says, stopping with `context`), and loads its index.
// For --also-to, --fallback and `repair packs --from`.
Result<OpenedRepository> OpenReplicaRepository(const ReplicaSite& site, const Repository& source,
                                               std::optional<LockKind> lock_kind,
                                               const LockWaitOptions& wait,
                                               const Context& context);

}  // namespace lifeboat
