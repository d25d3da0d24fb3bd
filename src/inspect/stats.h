// SnapshotStats: how big snapshots are when restored, how much unique data they reference, how
// much of it is stored, and what deduplication and compression save; the engine behind
// `lifeboat stats`.
//
//   StatsOptions options;
//   options.context = ctx;
//   LB_ASSIGN_OR_RETURN(StatsResult r, SnapshotStats(repo, snapshots, options));
//   // r.restore.bytes, r.blobs.stored, r.dedup_ratio, ...
//
// One walk of the snapshots' trees (FindUsedBlobs, repository/tree_walker.h: each distinct tree
// loaded once, in parallel) gathers what every tree holds itself and which subtrees it names, and
// marks the blobs used; the restore size of each snapshot is then computed from those per-tree
// sizes, so a shared subtree counts at each of its occurrences, as it would when restored, without
// being loaded again. Blob sizes come from the index; the repository size from a listing of the
// packs.
//
// Threads: the walk runs on options.workers threads; the call blocks until done. Memory: the
// per-tree sizes (a few counters and the subtree ids per distinct tree), one bit per index entry,
// and the ids of referenced data blobs no index lists.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "repository/repository.h"
#include "repository/snapshot.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

struct StatsOptions {
  // Sum the sizes of the unique blobs (raw and stored) from the index.
  bool blob_sizes = true;
  // List the packs for the repository's size (pack_count, repository_bytes).
  bool repository_size = true;
  int workers = 0;       // tree walk threads; 0: max(2, cores)
  Context context = {};  // the walk stops with Cancelled / DeadlineExceeded once it is done
};

// What a restore of the snapshots writes, each snapshot in full.
struct RestoreTotals {
  uint64_t files = 0, dirs = 0, others = 0;
  uint64_t bytes = 0;  // the files' sizes
};

// The unique blobs the snapshots reference (with blob_sizes).
struct BlobTotals {
  uint64_t data_blobs = 0;  // missing ones included
  uint64_t tree_blobs = 0;
  uint64_t raw = 0;       // plaintext bytes, data and trees
  uint64_t data_raw = 0;  // plaintext bytes of data blobs: what file contents deduplicate to
  uint64_t stored = 0;    // bytes stored in packs (compressed and encrypted)
  uint64_t missing = 0;   // referenced data blobs no index lists (not in the sizes)
};

struct StatsResult {
  uint64_t snapshots = 0;
  RestoreTotals restore;
  BlobTotals blobs;               // zero without blob_sizes
  uint64_t repository_bytes = 0;  // all packs' sizes (with repository_size)
  uint64_t pack_count = 0;
  double compression_ratio = 0;  // blobs.raw / blobs.stored; 0 when nothing is stored
  double dedup_ratio = 0;        // restore.bytes / blobs.data_raw; 0 when no data
  // "walk" (the trees), "sizes" (restore sizes and blob sizes), "packs" (repository_size).
  std::vector<PhaseTime> phases;
};

// Statistics over `snapshots` (ids with their loaded snapshots; duplicates count twice in the
// restore totals). Errors: a tree that cannot be loaded or that no index lists (with the context
// "snapshot <short id>" of a snapshot reaching it), a failed pack listing, the context (Cancelled
// / DeadlineExceeded). REQUIRES: repo.LoadIndex() succeeded.
Result<StatsResult> SnapshotStats(Repository& repo,
                                  const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                  const StatsOptions& options);

}  // namespace lifeboat
