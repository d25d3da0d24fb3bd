// Typed details a Status may carry besides its code and message, so that a caller (a scheduler,
// a drill runner, the CLI's --json output) can act on data instead of reading the message.
//
//   Status st = lock.status();
//   if (const LockConflict* held = st.lock_conflict())
//     if (held->age_ns < 3600e9) ...wait and retry...; else ...report held->hostname, pid...
//   if (const Damage* d = st.damage()) ...d->object_type, d->object, d->snapshots...
//
// A detail is plain data, immutable once attached (Status::WithDetail), shared between the copies
// of a Status and kept by WithContext. Which details are set where (doc/exit-codes.md, "Error
// details"):
//   LockConflict: RepositoryLock::Acquire's Locked (another process holds a conflicting lock).
//     A Locked status without it means our own lock was lost (RepositoryLock::Check).
//   Damage: Repository::LoadUnpacked / LoadSnapshot / ListSnapshots (the damaged file; for a
//     snapshot file it is also the affected snapshot), LoadBlob / LoadBlobAt / LoadTree (the blob
//     and its pack; a pack or blob that is missing too, with a NotFound code).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/id.h"

namespace lifeboat {

// Another process holds a repository lock that conflicts with the one asked for.
struct LockConflict {
  std::string lock_id;   // name of the holder's lock object (64 hex)
  std::string hostname;  // as the holder wrote it (invalid UTF-8 shown as U+FFFD)
  std::string username;  // empty when the lock does not say
  int64_t pid = 0;       // 0 when the lock does not say
  bool exclusive = false;
  // The time written in the holder's lock object: when it took the lock or last refreshed it
  // (locks are rewritten every few minutes, so this is not when the holder started).
  int64_t time_ns = 0;
  // now - time_ns, by the clock of the process that found the conflict (may be negative when the
  // clocks disagree). A holder whose age grows past the stale limit (30 min) stops blocking.
  int64_t age_ns = 0;
};

// Damaged or missing data, naming the object and, where the caller knew them, the snapshots it
// affects.
struct Damage {
  // "config", "key", "index", "snapshot", "lock", "pack" (object files) or "data", "tree" (blobs).
  std::string object_type;
  // The damaged object: a file name (normally 64 hex) or a blob id.
  std::string object;
  // For a blob: the pack that holds it, according to the index (64 hex); empty otherwise.
  std::string pack;
  // Snapshots the damage affects, where the code that found it knew them (a damaged snapshot
  // file names itself). Empty means not known, not "none": `lifeboat check` traces damage to
  // every snapshot and path it affects.
  std::vector<Id> snapshots;
};

}  // namespace lifeboat
