// Repair: puts a damaged repository back into a state where every snapshot restores — the engine
// behind `lifeboat repair index|packs|snapshots` (doc/repair.md).
//
//   LB_ASSIGN_OR_RETURN(auto lock, RepositoryLock::Acquire(*repo, LockKind::kExclusive, {}));
//   LB_ASSIGN_OR_RETURN(RepairIndexResult ri, RepairIndex(*repo, lock.get(), {}));
//   LB_ASSIGN_OR_RETURN(RepairPacksResult rp, RepairPacks(*repo, lock.get(), {.packs = bad}));
//   LB_ASSIGN_OR_RETURN(RepairSnapshotsResult rs, RepairSnapshots(*repo, lock.get(), {}));
//
// The three repairs, in the order they are usually run:
//   RepairIndex     rebuilds the index from the pack headers (lost or damaged index files).
//   RepairPacks     salvages every intact blob of damaged packs into new packs, then drops the
//                   damaged packs (bit rot, truncated uploads, missing packs).
//   RepairSnapshots rewrites snapshots whose trees reference data that is gone: lost files are
//                   dropped and listed, lost directories become empty (what cannot be salvaged).
//
// Crash safety (every repair): nothing is removed before what replaces it is stored — new packs
// before the index files naming them, the replacement index (whose last file supersedes the old
// ones, doc/repository-format.md §7) before old index files or damaged packs are removed, a
// repaired snapshot before its damaged original is forgotten. A crash at any point leaves either
// the old state or the new one, plus leftovers that are ignored (superseded index files) or that
// prune removes (unreferenced packs); running the repair again finishes the job.
//
// Locking: each repair requires an exclusive lock (maintenance) held by the caller, and calls
// lock->Check() right before each step that removes or replaces something; a lost lock stops
// the repair with Locked before that step. `lock` may be null only for a dry run.
//
// Thread safety: a repair must be the only user of `repo` while it runs. It blocks until done and
// uses WorkersFor(repo.backend(), options.workers) threads for its reads (backend/backend.h): an
// explicit count wins, else the cores or what the backend serves at once, whichever is larger.
//
// Time per phase: every result carries `phases` (util/phase_timer.h), the seconds spent in each
// phase on options.context.clock(), in the order the phases started (doc/repair.md):
//   RepairIndex      "list" (listing packs and index files), "packs" (reading every pack's header,
//                    or whole packs with read_all_packs), "index" (reading the old index files),
//                    "recover" (old entries of unreadable packs checked against their bytes),
//                    "write" (the new index stored, the old files removed)
//   RepairPacks      "index" (the index without the damaged packs; other copies verified),
//                    "salvage" (damaged packs read, intact blobs re-saved), "write" (new packs
//                    flushed, the replacement index stored, old index files removed), "remove"
//                    (the damaged packs removed)
//   RepairSnapshots  "list" (packs and snapshots listed and loaded), "walk" (the snapshots' trees
//                    walked and damaged ones rewritten in memory), "write" (the rewritten trees
//                    and the replacement snapshots stored), "forget" (damaged originals removed)
// A dry run stops before "write"; a phase with nothing to do may be missing.
// Repairs report no progress while they run (no progress callback).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repository/lock.h"
#include "repository/repository.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

// The pack that `text` names: 64 hex digits (taken as is, whether or not the pack exists), or a
// prefix of at least 4 hex digits that exactly one pack in the backend starts with. Case does
// not matter. InvalidArgument for anything else (not hex, too short, no pack or several packs with
// that prefix); the backend's error when listing fails.
Result<Id> ResolvePackId(Repository& repo, std::string_view text);

// --- repair index ---

struct RepairIndexOptions {
  // Load every pack whole and index only the blobs that decrypt, decompress and match their ids
  // (slow: reads the whole repository). By default the pack headers are trusted.
  bool read_all_packs = false;
  // Read and report, but write and remove nothing (repo.index() is left unchanged).
  bool dry_run = false;
  // Threads reading pack headers (or packs); 0: WorkersFor(backend, 0).
  int workers = 0;
  // Cancelled or past its deadline: the repair stops before its next write and returns
  // Cancelled / DeadlineExceeded.
  Context context = {};
};

// One pack that could not be indexed from its own header (or, with read_all_packs, not fully).
struct PackProblem {
  Id pack;
  std::string message;  // what went wrong and what to do next
};

struct RepairIndexResult {
  uint64_t packs = 0;          // pack objects in the backend
  uint64_t packs_indexed = 0;  // packs in the new index
  uint64_t blobs = 0;          // blob entries in the new index
  // Packs whose header cannot be read. When an old index file described such a pack, its entries
  // (those that lie inside the pack, and with read_all_packs only those that verify) are carried
  // over so that `repair packs` can salvage them; otherwise the pack is left out.
  std::vector<PackProblem> unreadable_packs;
  // read_all_packs: packs with blobs that failed verification; those blobs were left out.
  std::vector<PackProblem> damaged_packs;
  uint64_t damaged_blobs = 0;
  uint64_t index_files_old = 0;          // index files found (all are superseded)
  uint64_t index_files_undecodable = 0;  // of those, damaged files (do not decrypt or decode)
  std::vector<Id> index_files_written;   // empty for a dry run
  uint64_t index_files_removed = 0;
  std::vector<PhaseTime> phases;  // "list", "packs", "index", "recover", "write"
};

// Rebuilds the index from the pack headers: lists every pack, reads each header (workers in
// parallel), writes the result with WriteReplacementIndex superseding every index file in the
// backend (including ones that cannot be decoded), then removes those files. Does not need
// repo.LoadIndex() (index files may be what is broken). On success (not a dry run) repo.index()
// holds exactly the new index (repo.index_files() is stale: LoadIndex() refreshes it); after a
// failure it may hold part of it, so LoadIndex() again before using it. Errors: listing fails, a
// pack or an old index file cannot be read for a reason other than damage (I/O: nothing is
// written then, since the old files are removed at the end and what they say would be lost),
// storing the index fails, the lock is lost (Locked).
Result<RepairIndexResult> RepairIndex(Repository& repo, const RepositoryLock* lock,
                                      const RepairIndexOptions& options);

// --- repair packs ---

struct RepairPacksOptions {
  // The damaged packs (CheckResult::damaged_packs). Packs that are not in the backend any more
  // are dropped from the index; their blobs are lost unless another pack holds them.
  std::vector<Id> packs;
  // With no `packs` given: find them first by reading every pack (CheckRepository with
  // read_data; phase "find"). When none is damaged, nothing else runs and the result is empty
  // (`searched` set). Without it, empty `packs` is InvalidArgument.
  bool find_damaged = false;
  // Report what would be salvaged and lost; write and remove nothing. repo.index() is rebuilt
  // in memory without the packs all the same.
  bool dry_run = false;
  int workers = 0;       // readers and BlobSaver workers; 0: WorkersFor(backend, 0)
  Context context = {};  // as RepairIndexOptions::context
  // Heal from replicas (`repair packs --from`): when repo has fallbacks (Repository::SetFallbacks,
  // replicas opened with Repository::OpenReplica), each damaged or missing pack that a replica
  // holds intact (its SHA-256 matches the name) is first put back verbatim under its own name
  // (phase "heal": the damaged object removed, the replica's bytes saved). The index already
  // describes it, so nothing else changes and none of its blobs is lost. Only the packs no
  // replica holds go on to the salvage below.
};

// A pack put back from a replica (RepairPacksOptions, "heal").
struct HealedPack {
  Id pack;
  std::string from;    // the replica's location
  bool was_present = false;  // a damaged object was there (removed first); false: it was missing
};

struct BlobRef {
  BlobType type = BlobType::kData;
  Id id;
  bool operator==(const BlobRef&) const = default;
};

struct PackRepairReport {
  Id pack;
  bool found = true;             // the pack object existed
  bool header_readable = false;  // its header decrypted and parsed
  uint64_t blobs_known = 0;      // distinct blobs its header and the index name
  uint64_t salvaged = 0;         // intact, re-saved into new packs
  uint64_t elsewhere = 0;        // an intact copy is in another pack already
  std::vector<BlobRef> lost;     // damaged, and no intact copy anywhere
  bool removed = false;          // the pack object was removed (false for a dry run)
  std::string note;              // e.g. why nothing about it is known
};

struct RepairPacksResult {
  // Put back verbatim from a replica (only with fallbacks); not in `packs`. In a dry run: what
  // would be.
  std::vector<HealedPack> healed;
  std::vector<PackRepairReport> packs;  // in the order of options.packs (plus packs found to be
                                        // damaged along the way: another copy that failed)
  uint64_t blobs_salvaged = 0, blobs_lost = 0;
  uint64_t new_packs = 0;
  std::vector<Id> index_files_written;
  uint64_t index_files_removed = 0;
  uint64_t packs_removed = 0;
  std::vector<PhaseTime> phases;  // ["find"], "index", "salvage", "write", "remove"
  // find_damaged ran: the packs were found by reading them all, and...
  bool searched = false;
  bool other_problems = false;  // ...that check found problems other than damaged packs
};

// Salvages damaged packs. For each: loads it whole, takes the blob locations from its header
// and from the index (so a pack with a broken header or a truncated end still yields what is
// intact), decodes every blob, and re-saves the intact ones through a BlobSaver (which verifies
// them again before storing). A blob that another pack holds is not re-saved; that copy is read
// and verified first, and a failing copy makes its pack damaged too (it is then salvaged as
// well). Then: new packs and their index files stored (Flush) → lock check → replacement index
// without the damaged packs, superseding every index file → old index files removed → lock
// check → damaged packs removed. A pack whose content is wholly unknown (no readable header, no
// index entry) is left in place. Reads the index files itself (no LoadIndex needed); an index
// file that cannot be read is an error saying to run RepairIndex first. Lost blobs are reported:
// RepairSnapshots then removes the files that need them from the snapshots. Afterwards
// repo.index() holds the new index (in a dry run: the index without the damaged packs).
Result<RepairPacksResult> RepairPacks(Repository& repo, const RepositoryLock* lock,
                                      const RepairPacksOptions& options);

// --- repair snapshots ---

// Paths listed per snapshot before the rest is only counted.
inline constexpr size_t kMaxRepairPathsListed = 100;

// The tag added to every snapshot that RepairSnapshots writes.
inline constexpr char kRepairedTag[] = "repaired";

struct RepairSnapshotsOptions {
  std::vector<Id> snapshots;  // empty: every snapshot
  // Remove each damaged snapshot once its repaired replacement is stored (and snapshots with
  // nothing left to keep: an unreadable root tree or snapshot file). Off by default: the
  // damaged original still names what was lost, and would restore fully again if the missing
  // blobs came back (a later backup of the same files, or a copy from another site).
  bool forget = false;
  bool dry_run = false;  // walk and report; write and remove nothing
  int workers = 0;       // BlobSaver workers for the rewritten trees; 0: WorkersFor(backend, 0)
  Context context = {};  // as RepairIndexOptions::context
};

struct SnapshotRepairReport {
  Id snapshot;
  bool damaged = false;
  // The snapshot file itself cannot be read (Corruption): nothing in it can be recovered.
  bool unreadable = false;
  // The root tree is gone: nothing is left to keep, so no replacement is written.
  bool root_lost = false;
  std::optional<Id> repaired;        // the replacement written (or found from an earlier run)
  bool already_repaired = false;     // a snapshot with repaired_from = this one already existed
  bool forgotten = false;            // removed (with forget)
  uint64_t files_dropped = 0;        // files whose content is not all there
  uint64_t dirs_emptied = 0;         // directories whose tree is gone
  // "/path/to/file: content blob 1a2b3c4d missing", "/path/to/dir/: directory lost (...)", up to
  // kMaxRepairPathsListed; the rest counted in paths_omitted.
  std::vector<std::string> lost;
  uint64_t paths_omitted = 0;
};

struct RepairSnapshotsResult {
  std::vector<SnapshotRepairReport> snapshots;  // damaged ones only
  uint64_t snapshots_checked = 0;
  uint64_t snapshots_written = 0, snapshots_forgotten = 0;
  uint64_t trees_written = 0;  // rewritten trees that were new to the repository
  std::vector<PhaseTime> phases;  // "list", "walk", "write", "forget"
};

// Rewrites the snapshots whose trees reference data that is gone. A data blob counts as gone
// when the index does not list it or its pack is not in the backend; a tree counts as gone when
// it cannot be loaded or decoded. (A blob that the index lists but that is damaged inside its
// pack is found by `check --read-data` and removed from the index by RepairPacks: run that
// first.) A file with any content blob gone is dropped from its directory; a directory whose tree
// is gone becomes an empty directory (same metadata); every change is listed. Changed trees are
// re-encoded and saved through a BlobSaver; after Flush, each replacement snapshot is stored:
// the original's fields with the new root tree, repaired_from = the original's id and the tag
// kRepairedTag added. Undamaged snapshots are not touched (same id). A damaged snapshot that a
// stored snapshot already names in repaired_from (an earlier run) is not repaired twice.
// A complete view first (doc/repair.md): when data is found gone while packs exist that no index
// names, the repair stops with FailedPrecondition before writing or removing anything (also in a
// dry run) and says to run RepairIndex first: the "lost" data is probably in those packs.
// Snapshot files that cannot be read do not depend on the index and are handled regardless.
// REQUIRES: repo.LoadIndex() succeeded.
Result<RepairSnapshotsResult> RepairSnapshots(Repository& repo, const RepositoryLock* lock,
                                              const RepairSnapshotsOptions& options);

}  // namespace lifeboat
