// The restorer's internals, shared by the files that each do one part of a restore:
//   restorer.cc        RestoreTree, the walk over the plan, directories and special files
//   file_writer.cc     regular files: content jobs on the pool, completion, their hardlinks
//   metadata.cc        ownership, mode, xattrs, times; directories' metadata at the end
//   verify.cc          re-reading restored files (RestoreOptions::verify, VerifyRestored)
// Not part of the library's API (restorer.h is).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "repository/repository.h"
#include "restorer/blob_cache.h"
#include "restorer/dir_chain.h"
#include "restorer/restore_layout.h"
#include "restorer/restorer.h"
#include "util/file_io.h"
#include "util/parallel_for.h"
#include "util/mutex.h"
#include "util/status.h"
#include "util/thread_annotations.h"
#include "util/thread_pool.h"

namespace lifeboat::restore {

constexpr uint64_t kJobBytes = 4u << 20;   // one content job covers about this many bytes
// Blobs are read pack range by pack range: blobs of one pack at most this far apart share one
// read (the bytes between are read and dropped: cheaper than a request to a remote site), and
// one read spans at most kMaxRangeBytes (its buffer, per worker).
constexpr uint64_t kMaxGapBytes = 256u << 10;
constexpr uint64_t kMaxRangeBytes = kJobBytes;
// Small files (one job's worth or less) are restored a window at a time: the blobs of all the
// window's files, sorted by pack and offset, are read in runs of neighbours, each run one job
// that writes into whichever files need its blobs. A pack's blobs are shuffled (repository
// format, section 6), so the files of one pack are spread over all of it and every window that
// needs some of them reads the whole pack: a window must span many packs' worth of files for
// each pack to be read about once (with windows of 2,500 files, a kernel-tree restore read its
// packs twice over, and a remote site served twice the bytes). A window's file keeps the
// descriptor it was created with while the descriptor budget allows (DescriptorBudget::
// window_fds); beyond it, the walk closes it and each run that writes there reopens it below the
// target (OpenFileBeneath, checked to be the same inode). Reopening costs a few system calls a
// file; reading a range again from a local directory costs only a copy from the page cache. So
// on a backend with local reads (BackendHints::local_reads) a window holds no more files than
// keep their descriptors (at most kLocalWindowFiles) and kFirstWindowBytes of content; on any
// other, a window holds up to kWindowBytes and kMaxWindowFiles files, the first one only
// kFirstWindowBytes and kFirstWindowFiles, so that the workers start while the walk gathers the
// next.
constexpr uint64_t kFirstWindowBytes = 64u << 20;
constexpr size_t kFirstWindowFiles = 2048;
constexpr size_t kLocalWindowFiles = 4096;
constexpr uint64_t kWindowBytes = 1u << 30;
constexpr size_t kMaxWindowFiles = 16384;
constexpr size_t kCacheBytes = 16u << 20;  // LRU cache of recently loaded blobs (>= 2 max-size blobs)
// Files at least this large are written through (WriteThrough) job by job.
constexpr uint64_t kWriteThroughBytes = 16u << 20;

inline bool RunningAsRoot() { return ::geteuid() == 0; }

// ---------------------------------------------------------------------------------------------
// Helpers shared by restore and verify (restorer.cc unless said otherwise).

// The pool for content and verification jobs.
ThreadPoolOptions PoolOptions(int workers, size_t queue);

// Locations of a file's blobs, in order. NotFound naming the first blob the index lacks.
Result<std::vector<BlobLocation>> LocateContent(Repository& repo, const Node& node);

// Re-reads the restored file of `e` below `root_fd` and compares its blob ids with the snapshot.
// Cancelled / DeadlineExceeded when `ctx` is done (checked before each blob). In verify.cc.
Status VerifyFile(Repository& repo, int root_fd, const LayoutEntry& e,
                  const Context& ctx);

// How many threads, queued jobs, window files holding their descriptors and open directories the
// descriptors left allow. Each worker may hold a pack file while it reads, and a window's file it
// reopened to write or complete; each large file being written holds its descriptor and may hold
// its directory's; a reopened directory needs two while it is opened; the window files that keep
// their descriptors (two windows: one being written, the next being gathered) take at most a
// quarter of what is left. The defaults (cores, 4 jobs per worker, 2 * kLocalWindowFiles window
// files) apply whenever the limit is not tiny; under `ulimit -n 16` this is one worker, one
// queued job, no window file kept open and two open directories.
struct DescriptorBudget {
  int workers;
  size_t queue;
  size_t dirs;
  size_t window_fds;
};

DescriptorBudget BudgetDescriptors(int workers);

// ---------------------------------------------------------------------------------------------
// The restore itself.

enum EntryState : uint8_t { kPending = 0, kDone, kFailed, kSkipped };

class Restorer {
 public:
  // `phases` is RestoreTree's, which times the layout before the restorer exists.
  Restorer(Repository& repo, const RestoreOptions& options, PhaseTimer& phases, RestoreLayout plan)
      : repo_(repo),
        opt_(options),
        phases_(phases),
        plan_(std::move(plan)),
        root_(RunningAsRoot()),
        states_(plan_.entries.size()),
        cache_(kCacheBytes) {
    for (auto& e : plan_.errors) AddError(e.path, e.message);
    for (const auto& e : plan_.entries) {
      if (e.node.type == NodeType::kFile && e.primary < 0) {
        files_total_++;
        bytes_total_ += e.node.size;
      }
    }
  }

  RestoreResult DryRun();
  Result<RestoreResult> Run();

 private:
  struct FileWork;
  // Part of a job: blobs [begin, end) of one file.
  struct Segment {
    std::shared_ptr<FileWork> w;
    size_t begin = 0, end = 0;
  };
  struct Window;
  // A hardlink waiting for its file. `dir` (the link's directory) is null when the file is a
  // window's that did not keep its descriptor: a large window may keep many links waiting, and
  // their directories are reopened below the target when the links are made.
  struct PendingLink {
    size_t entry;
    std::shared_ptr<FileDescriptor> dir;
  };
  // One regular file being restored; shared by its content jobs.
  struct FileWork {
    size_t entry = 0;
    // The parent directory. Set before the jobs start; once `done`, the main thread may drop it
    // (ReleaseLinkDirs) under `mu`. Null for a window's file that did not keep its descriptor.
    std::shared_ptr<FileDescriptor> dir;
    // Written by jobs, closed by FinishFile. A window's file that does not keep it is closed once
    // created; the run that writes its last blob hands its descriptor over for FinishFile.
    FileDescriptor fd;
    bool windowed = false;  // restored by window runs (set before the file joins its window)
    bool holds_fd = false;  // a window's file that kept its descriptor (set likewise)
    dev_t dev = 0;          // a window's file as created: a reopened file must be this one
    ino_t ino = 0;
    std::vector<BlobLocation> locs;
    std::vector<uint64_t> offsets;
    uint64_t size = 0;
    // Content jobs not yet done; for a window's file, its blob writes not yet done plus one
    // (FlushWindow's hold while it submits the runs). The one who drops it to 0 finishes it.
    std::atomic<size_t> jobs_left{0};
    std::atomic<bool> failed{false};
    Mutex mu;
    Status error GUARDED_BY(mu);  // first content error
    bool done GUARDED_BY(mu) = false;
    bool ok GUARDED_BY(mu) = false;
    std::vector<PendingLink> links GUARDED_BY(mu);  // names to link once done
  };
  enum class Made { kCreated, kSkipped };

  void AddError(const std::string& path, std::string message) EXCLUDES(result_mu_) {
    MutexLock l(&result_mu_);
    result_.errors.push_back({path, std::move(message)});
    error_count_++;
  }
  void AddWarning(const std::string& path, std::string message) EXCLUDES(result_mu_) {
    MutexLock l(&result_mu_);
    result_.warnings.push_back({path, std::move(message)});
  }
  RestoreProgress Progress(bool final) const {
    RestoreProgress p;
    static_cast<ProgressHead&>(p) = phases_.Head(final);
    p.files_total = files_total_;
    p.bytes_total = bytes_total_;
    p.files_done = files_done_.load();
    p.bytes_done = bytes_done_.load();
    p.errors = error_count_.load();
    return p;
  }

  void CreateEntry(size_t i);
  void CreateDir(size_t i, int dirfd);
  void StartFile(size_t i, const std::shared_ptr<FileDescriptor>& dir);
  // Adds a small file to the window being gathered; submits the window when it is full.
  void AddToWindow(std::shared_ptr<FileWork> w);
  // Plans the window being gathered into runs and submits them (main thread; before anything
  // waits for the pool). Waits first for the previous window, so at most two are open.
  void FlushWindow();
  // One run of a window: loads its blobs with one read and writes them wherever the window's
  // files need them; each write releases its file, and the last one completes it.
  void RunWindowJob(const Window& window, size_t run);
  // Writes blob k of the window's file w (`data` null: all zeros, a hole, or not loaded), then
  // releases w. A file that did not keep its descriptor is reopened for the write, and the
  // descriptor handed to FinishFile when this write is its last.
  void WriteWindowPlace(const std::shared_ptr<FileWork>& w, size_t k, const Bytes* data);
  // Drops one hold on a file of a window; the last completes it.
  void ReleaseFile(const std::shared_ptr<FileWork>& w);
  // Opens a window's file again for writing; FailedPrecondition when what is there now is not
  // the file the walk created.
  Result<FileDescriptor> ReopenFile(const FileWork& w);
  // Removes a window's file that failed (its directory reopened below the target); leaves what
  // is there alone when it is not the file the walk created. Ok when it is gone already.
  Status RemoveWindowFile(const FileWork& w);
  // Writes the segments' blobs: each blob loaded once, neighbours in a pack with one read
  // (LoadSegments); then completes every file whose last job this was.
  void RunJob(const std::vector<Segment>& segments);
  void LoadSegments(const std::vector<Segment>& segments);
  // Records the first error of w's content (the file is then removed by FinishFile).
  static void FailFile(FileWork& w, const Status& st);
  // Writes `data`, blob k of w, at its offset through `fd` (zero blocks left as holes); a
  // failure fails w.
  void WritePlace(FileWork& w, int fd, size_t k, const Bytes& data);
  void FinishFile(const std::shared_ptr<FileWork>& w);
  void LinkEntry(size_t i, const std::shared_ptr<FileDescriptor>& dir);
  // Links entry i (in the directory `dirfd`) to w's file, which is in `from_dirfd`.
  void MakeLink(const FileWork& w, int from_dirfd, size_t i, int dirfd);
  // Drops the directory descriptors that finished files with later hardlinks hold (LinkEntry
  // reopens the directory when it needs it). Main thread.
  void ReleaseLinkDirs();
  void CreateSpecial(size_t i, int dirfd);
  // Runs `create` (returns 0 or -1 with errno); on EEXIST replaces the existing non-directory
  // when overwrite is set, or reports kSkipped.
  Result<Made> CreateReplacing(int dirfd, const std::string& name,
                               const std::function<int()>& create);
  // Ownership, mode, xattrs, times. Uses `fd` when >= 0, else (dirfd, name) without following.
  void ApplyMetadata(const LayoutEntry& e, int fd, int dirfd);
  // Whether ownership of `n` is what the snapshot has after ApplyMetadata's chown step.
  bool OwnerRestored(const Node& n, int fd, int dirfd, uid_t uid, gid_t gid);
  void FinishDirs();
  void VerifyAll(ThreadPool& pool);
  bool Cancelled() const { return opt_.context.done(); }
  // After an open failed for lack of descriptors: releases the walk's shallower directories and
  // waits for the files being written (their descriptors close). Main thread only.
  void FreeDescriptors() {
    if (chain_) chain_->ReleaseAllButDeepest();
    FlushWindow();
    if (pool_) pool_->Wait();
    ReleaseLinkDirs();
  }
  // The directory `e` is created in (the walk's level e.depth - 1), reopened if it was released;
  // null when it was not restored or cannot be reopened (then an error names `e`).
  std::shared_ptr<FileDescriptor> ParentDir(const LayoutEntry& e);

  Repository& repo_;
  const RestoreOptions& opt_;
  PhaseTimer& phases_;
  RestoreLayout plan_;
  const bool root_;
  std::vector<std::atomic<uint8_t>> states_;  // EntryState per plan entry
  BlobCache cache_;
  Mutex zero_mu_;
  std::unordered_set<Id, IdHash> zero_blobs_ GUARDED_BY(zero_mu_);

  FileDescriptor root_fd_;
  size_t hole_block_ = 4096;  // zero blocks of this size are left as holes (HoleBlockSize)
  DescriptorBudget budget_{1, 1, 2, 0};
  bool local_reads_ = false;                // the repository's BackendHints::local_reads
  std::atomic<size_t> window_fds_held_{0};  // window files holding their descriptor now
  ThreadPool* pool_ = nullptr;
  std::vector<std::shared_ptr<FileWork>> window_;  // main thread: the window being gathered
  uint64_t window_bytes_ = 0;
  size_t windows_flushed_ = 0;     // main thread
  bool window_in_flight_ = false;  // main thread: a window was submitted since the last wait
  DirChain* chain_ = nullptr;  // main thread: the directories the walk is in, by depth
  std::unordered_map<size_t, std::shared_ptr<FileWork>> link_targets_;  // main thread
  size_t link_dirs_held_ = 0;  // main thread: link_targets_ that may still hold their directory

  Mutex result_mu_;
  // Errors and warnings as they come; the counts are set from the counters below at the end.
  RestoreResult result_ GUARDED_BY(result_mu_);
  std::atomic<uint64_t> files_{0}, dirs_{0}, other_{0}, bytes_{0}, hardlinks_{0}, skipped_{0},
      verified_{0}, setid_dropped_{0};
  Mutex setid_mu_;
  std::string first_setid_dropped_ GUARDED_BY(setid_mu_);  // named in the warning
  uint64_t files_total_ = 0, bytes_total_ = 0;
  std::atomic<uint64_t> files_done_{0}, bytes_done_{0}, error_count_{0};
};

}  // namespace lifeboat::restore
