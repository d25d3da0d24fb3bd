// Copier: copies snapshots from one repository into another — the engine behind `lifeboat copy`
// (doc/replication.md).
//
//   CopyOptions o; o.filter.hosts = {"db1"}; o.target_lock = lock.get();
//   LB_ASSIGN_OR_RETURN(CopyResult r, CopySnapshots(source, target, o));
//   // r.replica: packs were copied verbatim; r.copied: (source id, target id) per snapshot
//
// Which snapshots: those selected by options.snapshots / options.filter whose identity
// (Snapshot::Identity: `original` if set, else the own id) is not yet the identity of any target
// snapshot. A second run therefore copies nothing, and a copy of a copy keeps the identity of the
// first snapshot in every repository it reaches. Snapshots are copied oldest first.
//
// Two modes, chosen by comparing the key material (SharesKeyMaterial), never by a config flag:
//   replica (same enc key, id key and chunker secret — `init --replica-of`): blob ids and sealed
//     bytes are valid in both repositories. The trees of each snapshot are walked (each distinct
//     tree once per run); every blob the target index lacks is looked up in the source index and
//     its pack is copied byte for byte under the same name, after its SHA-256 was checked against
//     that name and its sealed header opened. A pack already stored in the target (left by an
//     interrupted earlier run) is not transferred again, only verified there the same way. Index
//     files for the copied packs are written from the pack headers; then the snapshot object is
//     copied verbatim, so it keeps its id and its fields (`original`, `parent`) unchanged.
//   re-encrypt (anything else): blob ids differ (keyed HMAC), so every data blob the target may
//     lack is loaded from the source (verified), its target id computed with the target's keys and
//     saved through a BlobSaver (which verifies before committing); trees are rewritten bottom-up
//     with the new ids and saved as tree blobs. The new snapshot keeps time, host, user, paths,
//     tags, excludes, summary and `repaired_from`; `original` is the source snapshot's identity;
//     `parent` names the target's copy of the source parent when there is one, else it is absent.
//     Incremental: when an earlier copy of a related source snapshot (the parent, else the newest
//     one of the same host and paths) exists in the target, its source and target trees are walked
//     alongside, so unchanged subtrees map to the existing target trees without being read and
//     unchanged chunks of changed files are not loaded again.
//
// Order of writes (what makes an interrupted copy safe and resumable): for each snapshot, every
// pack it needs is stored, then the index files naming them, and only then — after checking the
// locks — the snapshot object. The snapshot is the commit point: an interrupted run leaves packs
// and index files but no snapshot; the next run finds them (target index, Backend::Stat) and moves
// only what is still missing.
//
// Memory: both indexes (loaded by the caller), the snapshot lists, one entry per distinct tree
// walked in this run (and, in re-encrypt mode, the map source tree id -> target tree id), the
// blobs one snapshot still needs (replica mode, grouped by pack), at most pack_workers whole packs
// in flight (replica) or the BlobSaver queue (re-encrypt). Blob contents are never accumulated.
//
// Phases (CopyResult::phases, the progress reports' `phase`), each entered once per snapshot and
// timed in total: "select" (list both repositories, resolve the selection); replica mode: "walk"
// (walk the snapshot's trees for the blobs the target lacks), "transfer" (move and verify packs),
// "index" (write their index files); re-encrypt mode: "transfer" (read, verify, re-encrypt and
// store blobs and trees, with their index files); both: "commit" (check the locks, store the
// snapshot). So a replica copy reports select, walk, transfer, index, commit (transfer and index
// absent when nothing was missing), a re-encrypting one select, transfer, commit; a copy with
// nothing to copy, select alone. Then, when the source holds run records (format §12) and
// options.run_records is set: "runs" (copy the records the target lacks, by record id, so a
// second run copies none; runlog/run_records.h CopyRunRecords).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "repository/lock.h"
#include "repository/repository.h"
#include "repository/snapshot.h"
#include "runlog/run_records.h"
#include "util/context.h"
#include "util/phase_timer.h"

namespace lifeboat {

struct CopyStats {
  uint64_t snapshots_selected = 0;  // matched the selection (copied + skipped + not reached)
  uint64_t snapshots_copied = 0;
  uint64_t snapshots_skipped = 0;   // their identity was already in the target
  uint64_t trees_walked = 0;        // distinct source trees loaded
  // Replica mode.
  uint64_t packs_copied = 0, pack_bytes_copied = 0;  // transferred verbatim
  uint64_t packs_reused = 0;  // needed, but already stored in the target (an earlier, interrupted
                              // run): verified there and indexed, not transferred
  // Re-encrypt mode.
  uint64_t blobs_loaded = 0, bytes_loaded = 0;  // blobs read from the source (plaintext bytes)
  uint64_t blobs_reencrypted = 0;  // new blobs stored in the target (data and trees)
  uint64_t bytes_reencrypted = 0;  // their plaintext bytes
  uint64_t bytes_reencrypted_stored = 0;  // their stored (compressed, sealed) bytes
  uint64_t trees_reused = 0;  // subtrees mapped to an earlier copy without being read
  // Both modes.
  uint64_t index_files = 0;  // index files written to the target
};

struct CopiedSnapshot {
  Id source_id;
  Id target_id;  // equal to source_id in replica mode
  Snapshot snapshot;  // as stored in the target
};

// The head's phase is one of the phases above.
struct CopyProgress : ProgressHead {
  uint64_t snapshots_total = 0;  // snapshots to copy in this run (skipped ones not counted)
  uint64_t snapshots_done = 0;
  Id current;  // source id of the snapshot being copied
  CopyStats stats;
};

struct CopyOptions {
  // Source snapshots to consider: each entry is an id, a unique id prefix or "latest" (the newest
  // matching `filter`). Empty: every source snapshot that matches `filter`.
  std::vector<std::string> snapshots;
  SnapshotFilter filter;
  // Checked before each snapshot is written; a lost lock stops the copy (Locked) before
  // anything refers to what was transferred. Either may be null (--no-lock, tests).
  RepositoryLock* source_lock = nullptr;
  RepositoryLock* target_lock = nullptr;
  // Cancelled or past its deadline: the copy stops early (Cancelled / DeadlineExceeded); no
  // further snapshot is written.
  Context context = {};
  // Replica mode: packs transferred in parallel (each is held whole in memory while it moves) and
  // threads walking the source's trees; 0: WorkersFor (backend.h) of the source or the target,
  // whichever serves more requests at once. And packs per index file written to the target.
  int pack_workers = 0;
  size_t packs_per_index = 16;
  // Re-encrypt mode: BlobSaver threads, which encode and upload (0: WorkersFor the target).
  int save_workers = 0;
  // Called on a reporter thread (never the caller's, never concurrently with itself, never while
  // the copy holds one of its mutexes) every progress_interval_ms, and once more at the end with
  // final = true when the copy succeeded (util/phase_timer.h, ProgressHead). It may block or take
  // the caller's own locks (the copy goes on meanwhile) but must not call into the copy.
  std::function<void(const CopyProgress&)> progress;
  int progress_interval_ms = 250;
  // Called from the caller's thread right after each snapshot was written to the target, so a
  // caller learns what was committed even when a later snapshot fails. It runs concurrently with
  // `progress` (a caller printing from both serialises them itself); the copy holds no mutex of
  // its own meanwhile.
  std::function<void(const CopiedSnapshot&)> on_copied;
  // Also copy the run records (the plan's run history, format §12) the target lacks, after the
  // snapshots. Every run record is copied, whatever the snapshot selection: the history of a
  // site is one whole.
  bool run_records = true;
};

struct CopyResult {
  bool replica = false;  // packs were copied verbatim (shared key material)
  std::vector<CopiedSnapshot> copied;
  // (source id, id of the target snapshot with the same identity) for each snapshot skipped.
  std::vector<std::pair<Id, Id>> skipped;
  CopyStats stats;
  // Seconds per phase (see the top of this file), on options.context's clock.
  std::vector<PhaseTime> phases;
  // Run records (options.run_records): copied to the target, already there (same id), and the
  // source objects that could not be read (damaged, or of a newer version), which were not.
  // Drill records (§12.1) travel with them.
  uint64_t run_records_copied = 0;
  uint64_t run_records_present = 0;
  uint64_t drill_records_copied = 0;
  uint64_t drill_records_present = 0;
  uint64_t incident_records_copied = 0;  // every sequence of every incident (format §12.2)
  uint64_t incident_records_present = 0;
  std::vector<UnreadableRunObject> run_records_not_copied;
};

// True when both repositories use the same master key material (enc key, id key and chunker
// secret, compared in constant time): packs and snapshots of one are valid in the other.
bool SharesKeyMaterial(const Repository& a, const Repository& b);

// Copies the selected snapshots from `source` into `target` (see the top of this file).
// REQUIRES: LoadIndex() has run on both; `target` is written only through this call meanwhile
// (other processes may write to it under their own shared locks, as a backup does).
// Errors: InvalidArgument / NotFound from resolving options.snapshots (nothing written);
// Corruption naming the pack or blob when source data fails verification (that snapshot and the
// ones after it are not written; nothing damaged is stored); Cancelled / DeadlineExceeded when the
// context stopped it; Locked when a lock was lost; the run records' error (after every snapshot
// was written) when they could not be listed or stored (FailedPrecondition from a REST server
// that keeps no run records: set run_records = false to copy snapshots only); the backend's error
// otherwise. Snapshots written before an error stay written and were reported through on_copied.
// Blocks; uses pack_workers / save_workers threads, and one reporter thread when
// options.progress is set.
Result<CopyResult> CopySnapshots(Repository& source, Repository& target,
                                 const CopyOptions& options);

}  // namespace lifeboat
