// Archiver: backs up paths (or a stream) into a repository and writes a snapshot.
//
//   BackupOptions opt; opt.paths = {"/srv/data"}; opt.lock = lock.get();
//   LB_ASSIGN_OR_RETURN(BackupResult r, RunBackup(repo, opt));
//   if (r.incomplete) ...   // some files could not be read; the snapshot holds everything else
//
// Pipeline: the calling thread walks directories (lstat, excludes, parent lookup); a pool of
// reader threads reads changed files, chunks and hashes them; BlobSaver's workers compress,
// encrypt, verify and pack new blobs. Directory trees are finished bottom-up as their last child
// completes. Memory is bounded by the job queue, the read buffers and the saver's queue.
// Incremental: a file whose size, mtime, ctime and inode match the parent snapshot is not read.
// What is included is decided by WalkRules (walk_rules.h), for the walk and the progress scan
// alike; directory descriptors are kept for a window of directories (dir_descriptors.h), so
// trees deeper than the open-file limit are walked whole. Threads that cannot be started are
// done without, and running out of memory is an error, never an abort (doc/design.md).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "archiver/exclude.h"
#include "repository/lock.h"
#include "repository/repository.h"
#include "util/context.h"
#include "util/phase_timer.h"

namespace lifeboat {

// Phases (BackupResult::phases and the progress head): "index" (packs the index names that are
// missing are left out, see BackupOptions::on_missing_packs), "parent" (finding the parent
// snapshot and loading its root tree), "files" (walking, reading and saving; for a stream,
// "stream"), "commit" (the last packs, the index and the snapshot written).
struct BackupProgress : ProgressHead {
  uint64_t files_done = 0, dirs_done = 0, bytes_done = 0;
  uint64_t files_total = 0, bytes_total = 0;  // from the scanner; 0 until it knows
  bool scan_finished = false;
  uint64_t errors = 0;
  uint64_t bytes_added = 0;  // plaintext bytes of new blobs
  std::string current_path;
};

struct BackupIssue {
  std::string path;
  std::string message;
};

struct BackupOptions {
  // Files or directories; made absolute and cleaned. Symlinks among a path's leading components
  // are followed (the path is recorded as given); a path that names a symlink stores the symlink.
  std::vector<std::string> paths;
  // Set: `paths` (then absolute, else InvalidArgument) are read below this directory and
  // recorded as given: read_root "/srv/dr" and paths {"/var/lib/app"} read /srv/dr/var/lib/app
  // into a snapshot of /var/lib/app whose trees are those a backup of /var/lib/app would make
  // of the same files, so a restore lays them out at their original paths (failback,
  // doc/failover.md). Must be an absolute path naming a directory (InvalidArgument otherwise);
  // "" or "/" read the paths themselves. The parent is looked for by the recorded paths, and
  // `excludes` match the recorded paths ("/var/lib/app/cache", not "/srv/dr/..."). Below the
  // read root no symlink is followed, the leading components of a path included (one there is
  // an error for that path: following it could leave the read root); the read root's own
  // components may be symlinks. Messages (BackupIssue::path, progress) name the files read,
  // below the read root.
  std::string read_root;
  std::vector<std::string> excludes;  // glob patterns (exclude.h); invalid ones fail RunBackup
  bool exclude_caches = false;        // skip contents of dirs holding a valid CACHEDIR.TAG
  bool one_file_system = false;       // do not descend into other filesystems
  uint64_t exclude_larger_than = 0;   // bytes; 0 = no limit
  std::vector<std::string> tags;      // valid UTF-8 (CheckSnapshotLabels), else InvalidArgument
  std::string host;                   // empty: this machine's hostname; valid UTF-8 like tags
  // The plan's service and source this backup is for (format §9.1), written into the snapshot
  // as they are; empty / unset for a plain backup. The parent is looked for among snapshots of
  // the same service. `service` must be valid UTF-8 like tags (else InvalidArgument).
  std::string service;
  std::optional<SnapshotSource> source;
  std::optional<Id> parent;           // empty: newest snapshot with same host, paths, service
  bool no_parent = false;             // read every file (full backup)
  bool dry_run = false;               // read and hash, store nothing, write no snapshot
  int read_workers = 0;               // 0: one per core
  int save_workers = 0;               // 0: WorkersFor(the backend): they encode and upload
  RepositoryLock* lock = nullptr;     // checked before the snapshot is written
  // Cancelled or past its deadline: the backup stops early and writes no snapshot (Cancelled /
  // DeadlineExceeded). Its clock gives the snapshot's time and the elapsed times.
  Context context = {};
  // The progress contract (util/phase_timer.h, ProgressHead): from a reporter thread every
  // progress_interval_ms, and once at the end with final = true when the backup completes.
  std::function<void(const BackupProgress&)> progress;
  int progress_interval_ms = 1000;
  // Called as problems are found (from any thread, serialized).
  std::function<void(const BackupIssue&, bool is_error)> on_issue;
  // Called once, on the caller's thread before anything is read, when the index names packs
  // that are missing from the repository. Deduplication trusts the index only for packs that
  // exist (doc/design.md, "Missing packs"): the backup leaves those packs out of its index and
  // stores again the blobs it needs. The same is in BackupResult::missing_packs.
  std::function<void(const MissingPacks&)> on_missing_packs;
};

struct BackupResult {
  std::optional<Id> snapshot_id;  // empty on dry run
  Snapshot snapshot;
  std::optional<Id> parent_id;
  std::vector<BackupIssue> errors;    // files/dirs that could not be read (left out)
  std::vector<BackupIssue> warnings;  // e.g. file changed while it was read
  bool incomplete = false;            // errors or warnings: the exit code says "incomplete"
  MissingPacks missing_packs;         // packs the index named that were missing (left out)
  std::vector<PhaseTime> phases;      // time per phase, on the context's clock (BackupProgress)
};

// Walks `options.paths` and writes a snapshot. Per-file problems are collected in the result
// (the snapshot is written with everything else, marked incomplete). A non-OK status means no
// snapshot was written: the repository failed, the lock was lost, or the context stopped the run.
Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& options);

// Backs up one stream (a database dump) as a single file named `filename` in the snapshot.
// `filename` may be a relative path ("srv/app/app.db"; a leading '/' is ignored): its leading
// directories are made in the snapshot's tree (mode 0755, this process's owner, the backup's
// time), so the file restores to <target>/srv/app/app.db. The snapshot's path is "/" + filename.
// `finish` is called after end of stream; a non-OK result (e.g. the dump command failed) fails
// the backup and no snapshot is written.
Result<BackupResult> RunStreamBackup(Repository& repo, int fd, const std::string& filename,
                                     const BackupOptions& options,
                                     const std::function<Status()>& finish);

// Makes a path absolute and removes ".", "..", duplicate and trailing slashes.
std::string CleanPath(const std::string& path);

}  // namespace lifeboat
