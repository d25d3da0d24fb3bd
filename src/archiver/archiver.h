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
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "repository/lock.h"
#include "repository/repository.h"

namespace lifeboat {

struct BackupProgress {
  uint64_t files_done = 0, dirs_done = 0, bytes_done = 0;
  uint64_t files_total = 0, bytes_total = 0;  // from the scanner; 0 until it knows
  bool scan_finished = false;
  uint64_t errors = 0;
  uint64_t bytes_added = 0;  // plaintext bytes of new blobs
  double elapsed_seconds = 0;
  std::string current_path;
};

struct BackupIssue {
  std::string path;
  std::string message;
};

struct BackupOptions {
  std::vector<std::string> paths;  // files or directories; made absolute and cleaned
  std::vector<std::string> excludes;  // glob patterns (see ExcludeMatcher)
  bool exclude_caches = false;        // skip contents of dirs holding a valid CACHEDIR.TAG
  bool one_file_system = false;       // do not descend into other filesystems
  uint64_t exclude_larger_than = 0;   // bytes; 0 = no limit
  std::vector<std::string> tags;      // valid UTF-8 (CheckSnapshotLabels), else InvalidArgument
  std::string host;                   // empty: this machine's hostname; valid UTF-8 like tags
  std::optional<Id> parent;           // empty: newest snapshot with same host and paths
  bool no_parent = false;             // read every file (full backup)
  bool dry_run = false;               // read and hash, store nothing, write no snapshot
  int read_workers = 0;               // 0: one per core
  int save_workers = 0;               // 0: one per core
  RepositoryLock* lock = nullptr;     // checked before the snapshot is written
  const std::atomic<bool>* cancel = nullptr;  // set to stop early (Ctrl-C): no snapshot
  // Called from a reporter thread every progress_interval_ms (and once at the end).
  std::function<void(const BackupProgress&)> progress;
  int progress_interval_ms = 1000;
  // Called as problems are found (from any thread, serialized).
  std::function<void(const BackupIssue&, bool is_error)> on_issue;
};

struct BackupResult {
  std::optional<Id> snapshot_id;  // empty on dry run
  Snapshot snapshot;
  std::optional<Id> parent_id;
  std::vector<BackupIssue> errors;    // files/dirs that could not be read (left out)
  std::vector<BackupIssue> warnings;  // e.g. file changed while it was read
  bool incomplete = false;            // errors or warnings: the exit code says "incomplete"
};

// Walks `options.paths` and writes a snapshot. Per-file problems are collected in the result
// (the snapshot is written with everything else, marked incomplete). A non-OK status means no
// snapshot was written: the repository failed, the lock was lost, or the run was cancelled.
Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& options);

// Backs up one stream (a database dump) as a single file named `filename` in the snapshot.
// `finish` is called after end of stream; a non-OK result (e.g. the dump command failed) fails
// the backup and no snapshot is written.
Result<BackupResult> RunStreamBackup(Repository& repo, int fd, const std::string& filename,
                                     const BackupOptions& options,
                                     const std::function<Status()>& finish);

// Exclude patterns, restic-style: a pattern without '/' matches any single path component
// (e.g. "*.tmp", "node_modules"); a pattern with '/' matches the whole absolute path from the
// start (e.g. "/var/cache/*") and everything below a matching directory. fnmatch(3) syntax.
class ExcludeMatcher {
 public:
  explicit ExcludeMatcher(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  bool Excluded(const std::string& abs_path, std::string_view name) const;
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::string> patterns_;
};

// Reads patterns from an exclude file: one per line, '#' comments and blank lines ignored,
// surrounding whitespace trimmed.
Result<std::vector<std::string>> ReadExcludeFile(const std::string& path);

// Makes a path absolute and removes ".", "..", duplicate and trailing slashes.
std::string CleanPath(const std::string& path);

}  // namespace lifeboat
