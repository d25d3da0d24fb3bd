// MultiSiteBackend: one backup written to several sites at once (`backup --also-to`, a plan
// service with `replication: sync`; doc/replication.md "Several sites in one backup"). The sites
// are replicas of each other (`init --replica-of`: the same key material), so a pack encoded
// once is valid, byte for byte, at every site.
//
//   auto multi = std::make_unique<MultiSiteBackend>(std::move(primary_backend), "site-a");
//   MultiSiteBackend* sites = multi.get();
//   ... open the primary Repository over `multi`, then each replica ...
//   sites->AddReplica("site-b", &replica_repo->backend(), [&] { return b_lock->Check(); });
//   ... RunBackup over the primary repository ...
//   for (const SiteReport& s : sites->Reports()) ...
//
// What goes where:
//  - Saves of packs, index files and snapshots go to the primary and to every healthy replica,
//    the sites in parallel. A replica whose save fails is marked failed with its error and is
//    sent nothing more in this backup: a snapshot must never reach a site that lacks part of its
//    data, and the next backup or a `copy` brings it up to date. A failure at the primary is the
//    call's error (the backup stops; the replicas keep what they got, which the next run reuses).
//  - A snapshot reaches a replica only after its `before_snapshot` check passes (its lock still
//    held), and only if every earlier save to it succeeded. Packs, index files and the snapshot
//    are saved by the backup in that order (archiver.h), so a replica that has the snapshot has
//    everything it needs, provided it held everything the primary held when the backup started
//    (the caller brings lagging replicas up to date first: engine/multi_site.h).
//  - A replica that already holds the pack or index file (AlreadyExists: an earlier interrupted
//    run) counts as a success when the stored object has the same size: names are the SHA-256 of
//    the stored bytes. A different size is Corruption at that site (marked failed).
//  - Everything else (loads, listings, stats, removals, config, keys, locks) goes to the primary
//    alone: each site's lock is taken through its own Repository.
//
// Thread safety: every method may be called concurrently (the Backend contract); AddReplica
// before the backup starts, Reports after it ended (or concurrently: it copies under the mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/forwarding_backend.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

// What one site got during a multi-site backup.
struct SiteReport {
  std::string name;      // as given to the constructor / AddReplica
  std::string location;  // the backend's Location() (redacted)
  bool primary = false;
  uint64_t objects_sent = 0;  // packs, index files and snapshots stored there
  uint64_t bytes_sent = 0;    // their stored bytes
  bool snapshot_landed = false;  // a snapshot was stored there
  // The first error at this site; after it, nothing more was sent there. OK when none.
  Status error;
  // Seconds from the MultiSiteBackend's creation to the site's last successful save.
  double seconds = 0;
};

class MultiSiteBackend : public ForwardingBackend {
 public:
  // Owns `primary`. `clock` times the sites (the backup context's clock).
  MultiSiteBackend(std::unique_ptr<Backend> primary, std::string primary_name,
                   Clock& clock = SystemClock());

  // Adds a replica site (borrowed: it must outlive this object's use). `before_snapshot` is
  // called before a snapshot is saved there (may be empty); its error marks the site failed.
  void AddReplica(std::string name, Backend* replica, std::function<Status()> before_snapshot);

  // A replica that failed before the backup (opening it, bringing it up to date): reported, sent
  // nothing.
  void AddFailedReplica(std::string name, std::string location, Status error);

  // The primary's hints, with concurrent_requests the largest of all sites'.
  BackendHints Hints() const override;

  // See the header comment.
  Status Save(const ObjectHandle& h, ByteView data) override;
  Status SaveParts(const ObjectHandle& h, ByteParts parts) override;

  // Primary first, then the replicas in the order added.
  std::vector<SiteReport> Reports() const EXCLUDES(mu_);

 private:
  struct Site {
    SiteReport report;
    Backend* backend = nullptr;
    std::function<Status()> before_snapshot;
  };

  // The save to site `i` (0 = primary); records the outcome.
  Status SaveTo(size_t i, const ObjectHandle& h, ByteParts parts, uint64_t size) EXCLUDES(mu_);
  bool Healthy(size_t i) const EXCLUDES(mu_);
  void Fail(size_t i, const Status& error) EXCLUDES(mu_);

  Clock& clock_;
  const int64_t start_ns_;
  mutable Mutex mu_;
  std::vector<Site> sites_ GUARDED_BY(mu_);
};

}  // namespace lifeboat
