// Pruner: removes data that no snapshot references and rewrites packs that are mostly unused —
// the engine behind `lifeboat prune` and `forget --prune` (protocol in doc/prune.md).
//
//   LB_ASSIGN_OR_RETURN(auto opened, OpenLockedRepository(g, LockKind::kExclusive));
//   PruneOptions options;
//   options.lock = opened.lock.get();
//   LB_ASSIGN_OR_RETURN(PruneStats stats, Prune(*opened.repo, options));
//
// Safety (doc/prune.md): the caller holds the exclusive lock, so no backup, copy or other
// maintenance writes meanwhile, and a backup whose lock went stale can no longer commit
// (RepositoryLock::Check is final once lost). Every snapshot must load and every blob they
// reference must be in the index, otherwise prune deletes nothing and says what to run. Order of
// writes: repacked blobs are stored and indexed, then a replacement index that no longer names the
// doomed packs supersedes every old index file, then the old index files go, then the packs. A
// crash at any point leaves a repository whose snapshots are all complete; the next prune removes
// the leftovers. The same order makes Object Lock harmless (backend.h, BackendHints::object_lock):
// what the lock keeps is planned around before the first write (PruneStats::locked_*), and a
// removal the lock refuses anyway leaves an unindexed pack or a superseded index file, which is
// counted as locked, not as an error.
//
// Phases (PruneStats::phases, the progress reports' `phase`), in this order: "trees" (list the
// snapshots and walk their trees), "packs" (list the packs, count used and unused blobs, decide),
// "repack" (copy the used blobs out of the packs to rewrite), "index" (write the replacement
// index, remove the old index files, and at the end reload the index), "delete" (remove the
// packs). A dry run, or a prune with nothing to do, has "trees" and "packs" only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "repository/lock.h"
#include "repository/repository.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

// The head's phase is one of the phases above; done/total count that phase's work: trees walked,
// packs listed, packs repacked, packs deleted (nothing for "index").
struct PruneProgress : ProgressHead {
  uint64_t done = 0, total = 0;  // total 0 when not known in advance
};

struct PruneOptions {
  // Unused data allowed to stay in partly used packs after prune, as a percentage of the used
  // data's share of the repository: with 5, at most 5% of the packs' bytes are unused afterwards.
  // 100 means unlimited (never repack). Ignored when max_unused_bytes is set.
  double max_unused_percent = 5.0;
  std::optional<uint64_t> max_unused_bytes;
  // Upper bound for the bytes of packs rewritten in this run (`--max-repack-size`).
  std::optional<uint64_t> max_repack_bytes;
  // Plan only: compute and return the statistics, change nothing.
  bool dry_run = false;
  // Snapshots to treat as already removed (`forget --prune --dry-run` plans as if its removals
  // had happened). Only allowed together with dry_run.
  std::vector<Id> assume_removed;
  // Threads for the tree walk and the repack, which mostly wait on the backend's reads; 0:
  // WorkersFor(repo.backend(), 0) (the cores, or more when the backend serves more at once).
  int workers = 0;
  // The caller's exclusive lock, checked before each destructive step (may be null in tests).
  const RepositoryLock* lock = nullptr;
  // Called on a reporter thread (never the caller's, never concurrently with itself, never
  // while prune holds one of its mutexes) every progress_interval_ms, and once more at the end
  // with final = true when prune succeeded (util/phase_timer.h, ProgressHead).
  std::function<void(const PruneProgress&)> progress;
  int progress_interval_ms = 250;
  // Cancelled or past its deadline: prune stops before its next destructive step and returns
  // Cancelled / DeadlineExceeded.
  Context context = {};
};

struct PruneStats {
  bool dry_run = false;
  uint64_t snapshots = 0;
  uint64_t trees = 0;                           // distinct trees walked
  uint64_t packs = 0, pack_bytes = 0;           // packs on the backend before prune
  uint64_t used_blobs = 0, used_bytes = 0;      // referenced by some snapshot (stored bytes)
  uint64_t unused_blobs = 0, unused_bytes = 0;  // indexed, referenced by no snapshot
  uint64_t unindexed_packs = 0, unindexed_bytes = 0;  // on the backend, named by no index
  uint64_t missing_packs = 0;                   // indexed, absent, holding nothing used
  uint64_t delete_packs = 0, delete_bytes = 0;  // packs holding nothing used
  uint64_t repack_packs = 0, repack_bytes = 0;  // partly used packs rewritten
  uint64_t repack_blobs = 0, repack_blob_bytes = 0;  // used blobs copied out of them
  uint64_t remaining_unused_bytes = 0;          // unused bytes left in kept packs
  uint64_t packs_after = 0, pack_bytes_after = 0;    // estimate for dry runs
  uint64_t index_files_removed = 0, index_files_written = 0;
  // Object Lock (doc/prune.md): packs prune would delete or repack, and index files it would
  // remove, that the backend's lock keeps for now. They are left as they are (a locked unused pack
  // stays indexed; a locked index file is superseded) and not counted in delete_*, unindexed_*,
  // repack_* or index_files_removed; a prune after locked_until_ns removes them. Found up front
  // when the backend advertises its lock, else when a removal is refused.
  uint64_t locked_packs = 0, locked_bytes = 0;
  uint64_t locked_index_files = 0;
  int64_t locked_until_ns = 0;  // the latest end of those locks (ns since the epoch); 0: none
  uint64_t locked_objects() const { return locked_packs + locked_index_files; }
  // Seconds per phase (see the top of this file), on options.context's clock.
  std::vector<PhaseTime> phases;
};

// Plans and (unless dry_run) carries out a prune. REQUIRES: repo.LoadIndex() has run. On success
// (not a dry run) repo.index() is reloaded from the new index files. Returns:
//   FailedPrecondition: the repository or key is append-only; a snapshot file is damaged; a
//     tree or referenced blob is missing or unreadable (nothing was deleted; the message says
//     to run check/repair, and `repair index` first when packs exist that no index names);
//   Corruption: a blob to repack failed verification (nothing was deleted);
//   Cancelled / DeadlineExceeded: the context stopped it before a destructive step; Locked: the lock was lost;
//   the backend's error otherwise. Any failure leaves every snapshot restorable.
// Objects kept by the backend's lock are no failure: prune succeeds and counts them in
// PruneStats::locked_* (the CLI exits 3 then).
Result<PruneStats> Prune(Repository& repo, const PruneOptions& options);

// Parses `--max-unused`: "5%" (0% to 100%), "unlimited", or a size in util/units.h's grammar
// ("200M", "1.5G", bytes without a unit; "0" allows no unused data).
Status ParseMaxUnused(std::string_view spec, PruneOptions* options);

}  // namespace lifeboat
