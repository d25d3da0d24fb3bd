// The archiver's internals, shared by the files that each do one part of a backup:
//   archiver.cc           RunBackup / RunStreamBackup, the run of a backup, progress
//   backup_paths.cc       the paths given: cleaned, and as the tree of directories above them
//   tree_walk.cc          the walk: directories listed, entries turned into nodes, files queued
//   file_reader.cc        a file read, chunked and its chunks handed to the saver (reader threads)
//   snapshot_assembly.cc  directory trees finished bottom-up, then the snapshot written
// Not part of the library's API (archiver.h is).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "archiver/archiver.h"
#include "archiver/dir_descriptors.h"
#include "archiver/walk_rules.h"
#include "repository/blob_saver.h"
#include "repository/tree_prefetch.h"
#include "util/buffer_pool.h"
#include "util/mutex.h"
#include "util/phase_timer.h"
#include "util/progress_reporter.h"
#include "util/thread_annotations.h"
#include "util/thread_pool.h"

namespace lifeboat::backup {

// Memory of chunk buffers a backup keeps for reuse (util/buffer_pool.h). Measured on the 1 GiB
// image benchmark: 8 MiB cuts page faults by a third (sys time 1.3 -> 1.0 s) for about 6-13 MiB
// more peak memory; 16 MiB gains little more and costs another 8.
constexpr size_t kPooledBufferBytes = 8u << 20;

// Opens the entry `name` of the directory open as `dirfd` (by `path` when dirfd < 0) without
// touching its atime where the kernel allows that (O_NOATIME needs ownership or CAP_FOWNER).
// In file_reader.cc.
int OpenEntry(int dirfd, const std::string& name, const std::string& path, int flags);

// One directory being assembled. Children fill fixed slots; `pending` counts outstanding
// children plus one hold by the walker. Whoever drops it to zero finishes the tree.
struct DirState {
  std::string path;
  // How to open the directory (dirs_): its entries are opened, stat'ed and their xattrs read
  // relative to its descriptor, so no path is ever longer than a name and paths beyond PATH_MAX
  // are backed up. Unused for the virtual directories above the paths given (`is_virtual`:
  // their entries are reached by path, following symlinks in those leading components).
  DirLink link;
  bool is_virtual = false;
  int depth = 0;  // below the root of the walk
  Node node;
  std::vector<Node> children;
  std::vector<uint8_t> valid;
  std::atomic<int64_t> pending{1};
  std::shared_ptr<DirState> parent;
  size_t slot = 0;
  const Node* old = nullptr;  // this directory in the parent snapshot (owned by old_trees)
};

// A directory AddEntry found that the walk enters next, once the caller has let go of its own
// directory's descriptor (so the walk holds descriptors for a window of levels, not all).
struct Descent {
  std::shared_ptr<DirState> dir;
  const Tree* old_tree = nullptr;
};

// The paths given and the directories above them: `target` marks a path given (backed up whole),
// the others are the "virtual" directories leading to them.
struct PathTrie {
  std::map<std::string, PathTrie> children;
  bool target = false;
};

// The paths to back up, each made absolute and clean (CleanPath), sorted, without duplicates.
std::vector<std::string> CleanPaths(const std::vector<std::string>& paths);

// The trie of `paths` (clean, sorted): a path below another one given is covered by it.
PathTrie BuildPathTrie(const std::vector<std::string>& paths);

// Where the recorded path `recorded` (clean, absolute) is read: below `read_root` (clean,
// absolute, "" for none; BackupOptions::read_root), or itself.
std::string ReadPath(const std::string& read_root, const std::string& recorded);

class Archiver {
 public:
  // `phases` is the run's (RunBackup's, which times the steps before the archiver too).
  Archiver(Repository& repo, const BackupOptions& options, PhaseTimer& phases,
           ExcludeMatcher excludes)
      : repo_(repo),
        options_(options),
        phases_(phases),
        rules_(options, std::move(excludes)),
        clock_(options.context.clock()) {
    if (!options_.dry_run) {
      BlobSaverOptions so;
      so.workers = options_.save_workers;
      so.buffers = &buffers_;
      if (RepositoryLock* lock = options_.lock) so.before_index_write = [lock] { return lock->Check(); };
      saver_ = std::make_unique<BlobSaver>(repo_, so);
    }
    int readers = options_.read_workers > 0
                      ? options_.read_workers
                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    ThreadPoolOptions po;
    po.threads = readers;
    po.max_queued = static_cast<size_t>(readers) * 16;
    po.job_name = "a backup job";
    po.on_failure = [this](const Status& st) { Fatal(st); };
    pool_ = std::make_unique<ThreadPool>(std::move(po));
    start_ns_ = clock_.MonotonicNs();
    summary_.backup_start_ns = clock_.WallNs();
  }

  ~Archiver() {
    StopReporter(ProgressReporter::FinalReport::kNo);
    pool_.reset();  // join readers before the saver goes away
  }

  Result<BackupResult> RunPaths(const Snapshot* parent_snapshot, std::optional<Id> parent_id);
  // `names`: the stream file's path in the snapshot, one name per level (the last is the file).
  Result<BackupResult> RunStream(int fd, const std::vector<std::string>& names,
                                 const std::function<Status()>& finish);

 private:
  bool Cancelled() const { return options_.context.done(); }
  // Records a problem with one path and tells options_.on_issue, holding mu_ (so that the
  // callbacks are serialized, as archiver.h promises).
  void Issue(const std::string& path, const std::string& message, bool error) EXCLUDES(mu_);
  void Fatal(const Status& st) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (fatal_.ok()) fatal_ = st;
    root_cv_.NotifyAll();  // the walk's end may never come (a job failed mid-way): stop waiting
  }
  Status FatalStatus() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return fatal_;
  }

  // Chunks the stream of `fd` to its end, storing new blobs; fills content and returns the bytes
  // read. `size_hint` (a regular file's size from fstat; nullopt for pipes) only sizes buffers.
  Result<uint64_t> ChunkStream(int fd, std::optional<uint64_t> size_hint,
                               std::vector<Id>* content);
  // Stores one chunk unless the repository has it and appends its id to *content. Large chunks
  // are hashed by the saver's workers (SaveUnhashed): their ids appear in *content once
  // pending->Wait() returns. The buffer of a chunk that is not handed to the saver goes back to
  // buffers_ at once.
  Status StoreChunk(Bytes chunk, std::deque<Id>* content, PendingIds* pending);

  void WalkVirtual(const std::shared_ptr<DirState>& dir, const PathTrie& trie,
                   const Tree* old_tree);
  void WalkDir(const std::shared_ptr<DirState>& dir, const Tree* old_tree);
  // Handles one entry of a real or virtual directory, `dirfd` being that directory's descriptor
  // (-1 for a virtual one). `trie` is non-null for virtual entries. A directory to walk is
  // returned, not walked, except virtual ones.
  Descent AddEntry(const std::shared_ptr<DirState>& dir, int dirfd, size_t slot,
                   const std::string& name, const struct stat& st, const Tree* old_tree,
                   const PathTrie* trie);
  // Reads a file the walk found new or changed (`had_old`: it is in the parent snapshot).
  void ReadFileJob(const std::shared_ptr<DirState>& dir, size_t slot, std::string path,
                   Node node, bool had_old);
  // Opens a file of `dir` to read it; -1 with errno set on failure.
  int OpenFile(DirState& dir, const std::string& name, const std::string& path);
  void Release(const std::shared_ptr<DirState>& dir);
  void Complete(const std::shared_ptr<DirState>& dir);

  void StartReporter();
  // Stops the progress scan and the reporter, with a final report or not.
  void StopReporter(ProgressReporter::FinalReport final);
  // The counters now, for the progress reporter: takes mu_ only to copy.
  BackupProgress Progress(bool final) EXCLUDES(mu_);
  Result<BackupResult> Commit(const Id& root, std::optional<Id> parent_id);

  Repository& repo_;
  const BackupOptions& options_;
  PhaseTimer& phases_;
  const WalkRules rules_;  // what is included: shared with the progress scan
  Clock& clock_;
  // The walk's directory descriptors, for a window of directories (dir_descriptors.h); the
  // scanner has its own. Declared before every holder of a DirState (jobs in pool_).
  DirDescriptors dirs_{DirDescriptors::DefaultCapacity()};
  DirDescriptors scan_dirs_{std::max<size_t>(1, DirDescriptors::DefaultCapacity() / 4)};
  // Chunk buffers circulate: the reader takes one per chunk, the saver gives it back once the
  // chunk is encoded (or the reader does, when the repository already has the chunk). Declared
  // before saver_, which uses it.
  BufferPool buffers_{kPooledBufferBytes};
  std::unique_ptr<BlobSaver> saver_;
  std::unique_ptr<ThreadPool> pool_;  // the file readers
  int64_t start_ns_ = 0;  // clock_'s monotonic time at the start

  Mutex mu_;
  Status fatal_ GUARDED_BY(mu_);
  std::vector<BackupIssue> errors_ GUARDED_BY(mu_);
  std::vector<BackupIssue> warnings_ GUARDED_BY(mu_);
  CondVar root_cv_;  // the root's tree is done, or a fatal error
  std::optional<Id> root_id_ GUARDED_BY(mu_);
  bool root_done_ GUARDED_BY(mu_) = false;
  std::optional<Id> old_root_tree_;   // the parent snapshot's root tree, if any
  PrefetchedTrees parent_trees_;  // set before the walk, read-only during it
  std::deque<Tree> old_trees_ GUARDED_BY(mu_);  // parent trees not prefetched, kept for DirState::old

  SnapshotSummary summary_;  // counters below are folded in at the end
  std::atomic<uint64_t> files_new_{0}, files_changed_{0}, files_unmodified_{0};
  std::atomic<uint64_t> dirs_new_{0}, dirs_changed_{0}, dirs_unmodified_{0};
  std::atomic<uint64_t> files_done_{0}, dirs_done_{0}, bytes_done_{0}, bytes_read_{0};
  std::atomic<uint64_t> dry_new_bytes_{0}, dry_new_blobs_{0};
  std::atomic<uint64_t> scan_files_{0}, scan_bytes_{0};
  std::atomic<bool> scan_finished_{false};
  std::atomic<bool> scan_stop_{false};

  std::optional<ProgressReporter> reporter_;
  std::thread scanner_;
  std::string current_path_ GUARDED_BY(mu_);
};

}  // namespace lifeboat::backup
