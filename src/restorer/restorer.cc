#include "restorer/restorer.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "restorer/blob_cache.h"
#include "restorer/dir_chain.h"
#include "restorer/path_filter.h"
#include "restorer/restore_plan.h"
#include "restorer/sparse_write.h"
#include "util/file_io.h"
#include "util/parallel_for.h"
#include "util/progress_reporter.h"
#include "util/thread_pool.h"

namespace lifeboat {
namespace {

using restore::BlobCache;
using restore::BuildPlan;
using restore::GroupHardlinks;
using restore::ParentRel;
using restore::Plan;
using restore::PlanEntry;

constexpr auto kProgressInterval = std::chrono::milliseconds(250);
constexpr uint64_t kJobBytes = 4u << 20;   // one content job covers about this many bytes
constexpr size_t kCacheBytes = 16u << 20;  // LRU cache of recently loaded blobs (>= 2 max-size blobs)
// Files at least this large are written through (WriteThrough) job by job.
constexpr uint64_t kWriteThroughBytes = 16u << 20;

bool RunningAsRoot() { return ::geteuid() == 0; }

timespec ToTimespec(int64_t ns) {
  int64_t sec = ns / 1000000000, rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    sec -= 1;
  }
  timespec ts;
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by restore and verify.

int WorkerCount(const RestoreOptions& o) {
  if (o.workers > 0) return o.workers;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : static_cast<int>(n);
}

// The pool for content and verification jobs.
ThreadPoolOptions PoolOptions(int workers, size_t queue) {
  ThreadPoolOptions o;
  o.threads = workers;
  o.max_queued = queue;
  o.job_name = "a restore job";
  return o;
}

// Writes [offset, offset + length) of a restored file to disk and drops it from the page cache,
// so that restoring a large file does not fill memory with dirty pages and the next writes reuse
// these pages instead of fresh ones (which cost several times more, above all in virtual
// machines). Not a durability promise: metadata and the device cache are not flushed. A write-back
// error is returned (the file is then reported and removed); filesystems without
// sync_file_range are left to the kernel.
Status WriteThrough(int fd, uint64_t offset, uint64_t length) {
  if (::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
    if (errno == EINVAL || errno == ENOSYS || errno == ESPIPE) return Status::Ok();
    return PosixError("writing back bytes " + std::to_string(offset) + "-" +
                      std::to_string(offset + length));
  }
  (void)::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length),
                        POSIX_FADV_DONTNEED);  // a hint; the data is on disk either way
  return Status::Ok();
}

// Locations of a file's blobs, in order. NotFound naming the first blob the index lacks.
Result<std::vector<BlobLocation>> LocateContent(Repository& repo, const Node& node) {
  std::vector<BlobLocation> locs;
  locs.reserve(node.content.size());
  for (size_t k = 0; k < node.content.size(); ++k) {
    auto loc = repo.index().Find(BlobType::kData, node.content[k]);
    if (!loc)
      return Status::NotFound("data blob " + node.content[k].Hex() + " (part " +
                              std::to_string(k + 1) + " of " + std::to_string(node.content.size()) +
                              ") is not in the index; run `lifeboat check`");
    locs.push_back(*loc);
  }
  return locs;
}

// Re-reads the restored file of `e` below `root_fd` and compares its blob ids with the snapshot.
// Cancelled when `cancel` is set (checked before each blob).
Status VerifyFile(Repository& repo, int root_fd, const PlanEntry& e,
                  const std::atomic<bool>* cancel) {
  LB_ASSIGN_OR_RETURN(FileDescriptor dir, OpenDirBeneath(root_fd, ParentRel(e.rel)));
  const char* name = e.node.name.c_str();
  // O_NOATIME keeps the restored atime (allowed for the owner and for root).
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  FileDescriptor fd(::openat(dir.get(), name, flags | O_NOATIME));
  if (!fd.valid() && errno == EPERM) fd = FileDescriptor(::openat(dir.get(), name, flags));
  if (!fd.valid()) {
    if (errno == ELOOP) return Status::Corruption("is a symlink, the snapshot has a file");
    return PosixError("open for verification");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat");
  if (!S_ISREG(st.st_mode)) return Status::Corruption("is not a regular file");
  LB_ASSIGN_OR_RETURN(auto locs, LocateContent(repo, e.node));
  uint64_t total = 0;
  for (const auto& l : locs) total += l.raw_length;
  if (static_cast<uint64_t>(st.st_size) != total)
    return Status::Corruption("size is " + std::to_string(st.st_size) +
                              " bytes, the snapshot has " + std::to_string(total));
  Bytes buf;
  uint64_t offset = 0;
  for (size_t k = 0; k < locs.size(); ++k) {
    if (IsCancelled(cancel)) return Status::Cancelled("verification interrupted");
    buf.resize(locs[k].raw_length);
    LB_RETURN_IF_ERROR(PReadExact(fd.get(), buf.data(), buf.size(), offset, "restored file"));
    if (repo.codec().ComputeId(buf) != e.node.content[k])
      return Status::Corruption(
          "content differs from the snapshot in bytes " + std::to_string(offset) + ".." +
          std::to_string(offset + buf.size()) + " (blob " + e.node.content[k].Hex() + ")");
    offset += buf.size();
  }
  return Status::Ok();
}

// How many threads, queued jobs and open directories the descriptors left allow. Each worker
// may hold a pack file while it reads; each file being written holds its descriptor and may hold
// its directory's; a reopened directory needs two while it is opened. The defaults (cores, 4 jobs
// per worker) apply whenever the limit is not tiny; under `ulimit -n 16` this is one worker, one
// queued job and two open directories.
struct DescriptorBudget {
  int workers;
  size_t queue;
  size_t dirs;
};

DescriptorBudget BudgetDescriptors(int workers) {
  const size_t spare = SpareDescriptors();
  workers = std::clamp(workers, 1, static_cast<int>(std::clamp<size_t>(spare / 8, 1, 4096)));
  const size_t w = static_cast<size_t>(workers);
  const size_t reserve = 4 + 2 * w;  // pack reads, a reopening, the lock's refresh
  const size_t avail = spare > reserve ? spare - reserve : 0;
  const size_t queue = std::clamp<size_t>(avail / 3, 1, 4 * w);
  const size_t files = queue + w + 1;
  const size_t dirs = avail > 2 * files + 2 ? avail - 2 * files : 2;
  return {workers, queue, dirs};
}

// ---------------------------------------------------------------------------------------------
// The restore itself.

enum EntryState : uint8_t { kPending = 0, kDone, kFailed, kSkipped };

class Restorer {
 public:
  Restorer(Repository& repo, const RestoreOptions& options, Plan plan)
      : repo_(repo),
        opt_(options),
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
  struct PendingLink {
    size_t entry;
    std::shared_ptr<FileDescriptor> dir;
  };
  // One regular file being restored; shared by its content jobs.
  struct FileWork {
    size_t entry = 0;
    // The parent directory. Set before the jobs start; once `done`, the main thread may drop it
    // (ReleaseLinkDirs) under `mu`.
    std::shared_ptr<FileDescriptor> dir;
    FileDescriptor fd;                    // written by jobs, closed by Finish
    std::vector<BlobLocation> locs;
    std::vector<uint64_t> offsets;
    uint64_t size = 0;
    std::atomic<size_t> jobs_left{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status error;                    // GUARDED_BY(mu): first content error
    bool done = false, ok = false;   // GUARDED_BY(mu)
    std::vector<PendingLink> links;  // GUARDED_BY(mu): names to link once done
  };
  enum class Made { kCreated, kSkipped };

  void AddError(const std::string& path, std::string message) {
    std::lock_guard l(result_mu_);
    result_.errors.push_back({path, std::move(message)});
    error_count_++;
  }
  void AddWarning(const std::string& path, std::string message) {
    std::lock_guard l(result_mu_);
    result_.warnings.push_back({path, std::move(message)});
  }
  RestoreProgress Progress() const {
    RestoreProgress p;
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
  void RunJob(const std::shared_ptr<FileWork>& w, size_t begin, size_t end);
  Status WriteBlob(FileWork& w, size_t k);
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
  void ApplyMetadata(const PlanEntry& e, int fd, int dirfd);
  // Whether ownership of `n` is what the snapshot has after ApplyMetadata's chown step.
  bool OwnerRestored(const Node& n, int fd, int dirfd, uid_t uid, gid_t gid);
  void FinishDirs();
  void VerifyAll(ThreadPool& pool);
  bool Cancelled() const { return IsCancelled(opt_.cancel); }
  // After an open failed for lack of descriptors: releases the walk's shallower directories and
  // waits for the files being written (their descriptors close). Main thread only.
  void FreeDescriptors() {
    if (chain_) chain_->ReleaseAllButDeepest();
    if (pool_) pool_->Wait();
    ReleaseLinkDirs();
  }
  // The directory `e` is created in (the walk's level e.depth - 1), reopened if it was released;
  // null when it was not restored or cannot be reopened (then an error names `e`).
  std::shared_ptr<FileDescriptor> ParentDir(const PlanEntry& e);

  Repository& repo_;
  const RestoreOptions& opt_;
  Plan plan_;
  const bool root_;
  std::vector<std::atomic<uint8_t>> states_;  // EntryState per plan entry
  BlobCache cache_;
  std::mutex zero_mu_;
  std::unordered_set<Id, IdHash> zero_blobs_;  // GUARDED_BY(zero_mu_)

  FileDescriptor root_fd_;
  size_t hole_block_ = 4096;  // zero blocks of this size are left as holes (HoleBlockSize)
  DescriptorBudget budget_{1, 1, 2};
  ThreadPool* pool_ = nullptr;
  DirChain* chain_ = nullptr;  // main thread: the directories the walk is in, by depth
  std::unordered_map<size_t, std::shared_ptr<FileWork>> link_targets_;  // main thread
  size_t link_dirs_held_ = 0;  // main thread: link_targets_ that may still hold their directory

  std::mutex result_mu_;
  RestoreResult result_;  // errors, warnings GUARDED_BY(result_mu_); counters below
  std::atomic<uint64_t> files_{0}, dirs_{0}, other_{0}, bytes_{0}, hardlinks_{0}, skipped_{0},
      verified_{0}, setid_dropped_{0};
  std::mutex setid_mu_;
  std::string first_setid_dropped_;  // GUARDED_BY(setid_mu_): named in the warning
  uint64_t files_total_ = 0, bytes_total_ = 0;
  std::atomic<uint64_t> files_done_{0}, bytes_done_{0}, error_count_{0};
};

RestoreResult Restorer::DryRun() {
  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    const PlanEntry& e = plan_.entries[i];
    switch (e.node.type) {
      case NodeType::kDir:
        dirs_++;
        break;
      case NodeType::kFile:
        if (e.primary >= 0) {
          hardlinks_++;
        } else {
          auto locs = LocateContent(repo_, e.node);
          if (!locs.ok()) {
            AddError(e.snap_path, locs.status().message());
          } else {
            files_++;
            for (const auto& l : *locs) bytes_ += l.raw_length;
          }
        }
        break;
      case NodeType::kSocket:
        AddWarning(e.snap_path, "socket: would be skipped (sockets cannot be restored)");
        break;
      case NodeType::kCharDevice:
      case NodeType::kBlockDevice:
        if (!root_) {
          AddError(e.snap_path, "device node: restoring it needs root");
          break;
        }
        other_++;
        break;
      default:
        other_++;
    }
  }
  result_.files = files_;
  result_.dirs = dirs_;
  result_.other = other_;
  result_.bytes = bytes_;
  result_.hardlinks = hardlinks_;
  return std::move(result_);
}

Result<RestoreResult> Restorer::Run() {
  LB_RETURN_IF_ERROR(CreateDirectories(opt_.target).WithContext("creating restore target"));
  root_fd_ = FileDescriptor(::open(opt_.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd_.valid()) return PosixError("open restore target " + opt_.target);
  hole_block_ = HoleBlockSize(root_fd_.get());
  budget_ = BudgetDescriptors(WorkerCount(opt_));

  std::function<void(bool)> report;
  if (opt_.progress) {
    report = [this](bool final) {
      RestoreProgress p = Progress();
      p.final = final;
      opt_.progress(p);
    };
  }
  ProgressReporter reporter(kProgressInterval, std::move(report));
  {
    ThreadPool pool(PoolOptions(budget_.workers, budget_.queue));
    pool_ = &pool;
    {
      DirChain chain(root_fd_.get(), budget_.dirs);
      chain_ = &chain;
      for (size_t i = 0; i < plan_.entries.size() && !Cancelled(); ++i) CreateEntry(i);
      chain_ = nullptr;
    }
    pool.Wait();  // every file finished (and its pending links made)
    link_targets_.clear();
    if (opt_.verify && !Cancelled() && pool.failure().ok()) VerifyAll(pool);
    pool_ = nullptr;
    // A job that threw (out of memory) stopped part-way through a file: the restore failed.
    if (!pool.failure().ok()) return pool.failure().WithContext("restore failed");
  }
  if (!Cancelled()) FinishDirs();
  reporter.Stop();
  if (Cancelled()) {
    std::lock_guard l(result_mu_);
    return Status::Cancelled(
        "restore interrupted: " + std::to_string(files_.load()) + " of " +
        std::to_string(files_total_) + " files restored, " +
        std::to_string(result_.errors.size()) +
        " error(s) before the interrupt; files that were being written were removed, "
        "directories keep temporary permissions (0700) and times; run the same restore again "
        "to complete it");
  }
  if (setid_dropped_ > 0) {
    std::string first;
    {
      std::lock_guard l(setid_mu_);
      first = first_setid_dropped_;
    }
    AddWarning(first,
               "setuid/setgid bits dropped from " + std::to_string(setid_dropped_.load()) +
                   " file(s) (this one and others) because their owner could not be restored; "
                   "restore as root to keep them");
  }

  result_.files = files_;
  result_.dirs = dirs_;
  result_.other = other_;
  result_.bytes = bytes_;
  result_.hardlinks = hardlinks_;
  result_.skipped = skipped_;
  result_.verified_files = verified_;
  result_.setid_dropped = setid_dropped_;
  return std::move(result_);
}

void Restorer::CreateEntry(size_t i) {
  const PlanEntry& e = plan_.entries[i];
  chain_->Truncate(e.depth);  // keeps the ancestors 0..depth-1
  std::shared_ptr<FileDescriptor> parent = ParentDir(e);
  if (!parent) {  // the parent was not restored; its error (or skip) covers this entry
    states_[i] = kFailed;
    if (e.node.type == NodeType::kFile && e.primary < 0) {
      files_done_++;
      bytes_done_ += e.node.size;
    }
    if (e.node.type == NodeType::kDir) chain_->Push(e.rel, nullptr);
    return;
  }
  switch (e.node.type) {
    case NodeType::kDir:
      CreateDir(i, parent->get());
      break;
    case NodeType::kFile:
      if (e.primary >= 0) {
        LinkEntry(i, parent);
      } else {
        StartFile(i, parent);
      }
      break;
    case NodeType::kSocket:
      AddWarning(e.snap_path, "socket not restored (sockets cannot be restored)");
      states_[i] = kSkipped;
      break;
    default:
      CreateSpecial(i, parent->get());
  }
}

std::shared_ptr<FileDescriptor> Restorer::ParentDir(const PlanEntry& e) {
  auto dir = chain_->At(e.depth - 1);
  if (!dir.ok()) {  // reopening a released directory: perhaps out of descriptors
    FreeDescriptors();
    dir = chain_->At(e.depth - 1);
  }
  if (dir.ok()) return *dir;
  AddError(e.snap_path, "not restored: cannot reopen its directory: " + dir.status().message());
  return nullptr;
}

Result<Restorer::Made> Restorer::CreateReplacing(int dirfd, const std::string& name,
                                                 const std::function<int()>& create) {
  if (create() == 0) return Made::kCreated;
  if (errno != EEXIST) return PosixError("create");
  if (!opt_.overwrite) return Made::kSkipped;
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return PosixError("stat existing entry");
  if (S_ISDIR(st.st_mode))
    return Status::FailedPrecondition("a directory exists at this path; it is not replaced");
  if (::unlinkat(dirfd, name.c_str(), 0) != 0) return PosixError("remove existing entry");
  if (create() == 0) return Made::kCreated;
  return PosixError("create");
}

void Restorer::CreateDir(size_t i, int dirfd) {
  const PlanEntry& e = plan_.entries[i];
  const char* name = e.node.name.c_str();
  auto fail = [&](const Status& st) {
    AddError(e.snap_path, "directory not restored (nor anything inside it): " + st.message());
    states_[i] = kFailed;
    chain_->Push(e.rel, nullptr);
  };
  // 0700 while we fill it; the real mode is set in FinishDirs.
  if (::mkdirat(dirfd, name, 0700) != 0) {
    if (errno != EEXIST) return fail(PosixError("mkdir"));
    struct stat st;
    if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return fail(PosixError("stat"));
    if (!S_ISDIR(st.st_mode)) {
      if (!opt_.overwrite) {
        skipped_++;
        states_[i] = kSkipped;
        chain_->Push(e.rel, nullptr);
        return;
      }
      // A file or symlink is in the way: remove it (a symlink is never followed).
      if (::unlinkat(dirfd, name, 0) != 0) return fail(PosixError("remove existing entry"));
      if (::mkdirat(dirfd, name, 0700) != 0) return fail(PosixError("mkdir"));
    }
  }
  auto open_dir = [&] {
    return ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  };
  int raw = open_dir();
  if (raw < 0 && OutOfDescriptors(errno)) {
    FreeDescriptors();
    raw = open_dir();
  }
  auto fd = std::make_shared<FileDescriptor>(raw);
  if (!fd->valid()) return fail(PosixError("open directory"));
  // A reused directory (an earlier restore) may be read-only; without root we need rwx to fill
  // it. FinishDirs sets the snapshot's mode afterwards.
  struct stat st;
  if (!root_ && ::fstat(fd->get(), &st) == 0 && (st.st_mode & 0700) != 0700 &&
      ::fchmod(fd->get(), (st.st_mode & 07777) | 0700) != 0)
    return fail(PosixError("make directory writable"));
  dirs_++;
  states_[i] = kDone;
  chain_->Push(e.rel, std::move(fd));
}

void Restorer::StartFile(size_t i, const std::shared_ptr<FileDescriptor>& dir) {
  const PlanEntry& e = plan_.entries[i];
  auto give_up = [&](const Status& st) {
    AddError(e.snap_path, st.message());
    states_[i] = kFailed;
    files_done_++;
    bytes_done_ += e.node.size;
  };
  auto locs = LocateContent(repo_, e.node);
  if (!locs.ok()) return give_up(locs.status());  // nothing created

  auto w = std::make_shared<FileWork>();
  w->entry = i;
  w->dir = dir;
  w->locs = std::move(*locs);
  w->offsets.reserve(w->locs.size());
  for (const auto& l : w->locs) {
    w->offsets.push_back(w->size);
    w->size += l.raw_length;
  }
  if (w->size != e.node.size)
    AddWarning(e.snap_path, "the snapshot records " + std::to_string(e.node.size) +
                                " bytes but the content has " + std::to_string(w->size) +
                                "; restoring the content");

  auto made = CreateReplacing(dir->get(), e.node.name, [&] {
    auto create = [&] {
      return ::openat(dir->get(), e.node.name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    };
    w->fd = FileDescriptor(create());
    if (!w->fd.valid() && OutOfDescriptors(errno)) {
      FreeDescriptors();
      w->fd = FileDescriptor(create());
    }
    return w->fd.valid() ? 0 : -1;
  });
  if (!made.ok()) return give_up(made.status());
  if (*made == Made::kSkipped) {
    skipped_++;
    states_[i] = kSkipped;
    files_done_++;
    bytes_done_ += e.node.size;
    return;
  }
  if (e.has_links) {
    link_targets_[i] = w;
    if (++link_dirs_held_ > budget_.dirs) ReleaseLinkDirs();
  }

  // Jobs of consecutive blobs covering about kJobBytes each.
  std::vector<std::pair<size_t, size_t>> jobs;
  for (size_t b = 0; b < w->locs.size();) {
    size_t end = b;
    uint64_t bytes = 0;
    while (end < w->locs.size() && (end == b || bytes < kJobBytes))
      bytes += w->locs[end++].raw_length;
    jobs.emplace_back(b, end);
    b = end;
  }
  if (jobs.empty()) return FinishFile(w);
  w->jobs_left = jobs.size();
  for (auto [b, end] : jobs) pool_->Submit([this, w, b = b, end = end] { RunJob(w, b, end); });
}

void Restorer::RunJob(const std::shared_ptr<FileWork>& w, size_t begin, size_t end) {
  Status st;
  for (size_t k = begin; k < end && st.ok() && !w->failed; ++k) {
    st = Cancelled() ? Status::Cancelled("interrupted") : WriteBlob(*w, k);
  }
  if (st.ok() && !w->failed && w->size >= kWriteThroughBytes) {
    const uint64_t from = w->offsets[begin];
    const uint64_t to = end < w->offsets.size() ? w->offsets[end] : w->size;
    st = WriteThrough(w->fd.get(), from, to - from);
  }
  if (!st.ok()) {
    std::lock_guard l(w->mu);
    if (w->error.ok()) w->error = st;
    w->failed = true;
  }
  uint64_t bytes = 0;
  for (size_t k = begin; k < end; ++k) bytes += w->locs[k].raw_length;
  bytes_done_ += bytes;
  if (--w->jobs_left == 0) FinishFile(w);
}

Status Restorer::WriteBlob(FileWork& w, size_t k) {
  const Id& id = plan_.entries[w.entry].node.content[k];
  {
    std::lock_guard l(zero_mu_);
    if (zero_blobs_.count(id)) return Status::Ok();  // a hole
  }
  std::shared_ptr<const Bytes> data = cache_.Get(id);
  if (!data) {
    auto loaded = repo_.LoadBlobAt(w.locs[k], id);
    if (!loaded.ok()) return loaded.status();
    if (IsAllZero(loaded->data(), loaded->size())) {
      std::lock_guard l(zero_mu_);
      zero_blobs_.insert(id);
      return Status::Ok();
    }
    data = std::make_shared<const Bytes>(std::move(*loaded));
    cache_.Put(id, data);
  }
  return WriteSkippingZeroBlocks(w.fd.get(), *data, w.offsets[k], hole_block_,
                                 "blob " + id.Hex() + " at offset " + std::to_string(w.offsets[k]));
}

void Restorer::FinishFile(const std::shared_ptr<FileWork>& w) {
  const PlanEntry& e = plan_.entries[w->entry];
  // Our own reference: once `done` is set, the main thread may drop w->dir (ReleaseLinkDirs).
  const std::shared_ptr<FileDescriptor> dir = w->dir;
  Status st;
  {
    std::lock_guard l(w->mu);
    st = w->error;
  }
  if (st.ok() && ::ftruncate(w->fd.get(), static_cast<off_t>(w->size)) != 0)
    st = PosixError("truncate to " + std::to_string(w->size) + " bytes");
  if (st.ok()) {
    ApplyMetadata(e, w->fd.get(), -1);
    st = w->fd.Close("restored file");
  }
  if (!st.ok()) {
    w->fd = FileDescriptor();  // close
    // Never leave an incomplete file that looks restored.
    if (::unlinkat(dir->get(), e.node.name.c_str(), 0) != 0 && errno != ENOENT)
      st = st.WithContext("could not remove the incomplete file (" +
                          std::string(std::strerror(errno)) + ")");
    // An interrupted file is not an error of its own: the restore reports the interrupt.
    if (st.code() != StatusCode::kCancelled)
      AddError(e.snap_path, "file not restored: " + st.message());
    states_[w->entry] = kFailed;
  } else {
    files_++;
    bytes_ += w->size;
    states_[w->entry] = kDone;
  }
  files_done_++;
  w->locs.clear();
  w->locs.shrink_to_fit();
  w->offsets.clear();
  w->offsets.shrink_to_fit();

  std::vector<PendingLink> links;
  {
    std::lock_guard l(w->mu);
    w->done = true;
    w->ok = st.ok();
    links.swap(w->links);
  }
  for (const auto& link : links) {
    if (st.ok()) {
      MakeLink(*w, dir->get(), link.entry, link.dir->get());
    } else {
      if (st.code() != StatusCode::kCancelled)
        AddError(plan_.entries[link.entry].snap_path,
                 "hardlink not restored: its file " + e.snap_path + " failed");
      states_[link.entry] = kFailed;
    }
  }
}

void Restorer::LinkEntry(size_t i, const std::shared_ptr<FileDescriptor>& dir) {
  const PlanEntry& e = plan_.entries[i];
  const size_t p = static_cast<size_t>(e.primary);
  auto it = link_targets_.find(p);
  if (it == link_targets_.end()) {
    if (states_[p] == kSkipped) {
      skipped_++;
      states_[i] = kSkipped;
    } else {
      AddError(e.snap_path, "hardlink not restored: its file " + plan_.entries[p].snap_path +
                                " was not restored");
      states_[i] = kFailed;
    }
    return;
  }
  FileWork& w = *it->second;
  bool ok;
  std::shared_ptr<FileDescriptor> from_dir;
  {
    std::lock_guard l(w.mu);
    if (!w.done) {
      w.links.push_back({i, dir});
      return;
    }
    ok = w.ok;
    from_dir = w.dir;
  }
  if (ok && !from_dir) {  // released: reopen the file's directory from the target
    const std::string from_rel = ParentRel(plan_.entries[p].rel);
    auto reopened = OpenDirBeneath(root_fd_.get(), from_rel);
    if (!reopened.ok()) {
      FreeDescriptors();
      reopened = OpenDirBeneath(root_fd_.get(), from_rel);
    }
    if (!reopened.ok()) {
      AddError(e.snap_path, "hardlink to " + plan_.entries[p].snap_path +
                                " not created: " + reopened.status().message());
      states_[i] = kFailed;
      return;
    }
    from_dir = std::make_shared<FileDescriptor>(std::move(*reopened));
  }
  if (ok) {
    MakeLink(w, from_dir->get(), i, dir->get());
  } else {
    AddError(e.snap_path,
             "hardlink not restored: its file " + plan_.entries[p].snap_path + " failed");
    states_[i] = kFailed;
  }
}

void Restorer::MakeLink(const FileWork& w, int from_dirfd, size_t i, int dirfd) {
  const PlanEntry& e = plan_.entries[i];
  const std::string& from = plan_.entries[w.entry].node.name;
  auto made = CreateReplacing(dirfd, e.node.name, [&] {
    return ::linkat(from_dirfd, from.c_str(), dirfd, e.node.name.c_str(), 0);
  });
  if (!made.ok()) {
    AddError(e.snap_path, "hardlink to " + plan_.entries[w.entry].snap_path +
                              " not created: " + made.status().message());
    states_[i] = kFailed;
  } else if (*made == Made::kSkipped) {
    skipped_++;
    states_[i] = kSkipped;
  } else {
    hardlinks_++;
    states_[i] = kDone;
  }
}

void Restorer::ReleaseLinkDirs() {
  link_dirs_held_ = 0;
  for (auto& [entry, w] : link_targets_) {
    std::lock_guard l(w->mu);
    if (w->done) {
      w->dir.reset();
    } else if (w->dir) {
      link_dirs_held_++;
    }
  }
}

void Restorer::CreateSpecial(size_t i, int dirfd) {
  const PlanEntry& e = plan_.entries[i];
  const Node& n = e.node;
  const char* name = n.name.c_str();
  std::function<int()> create;
  switch (n.type) {
    case NodeType::kSymlink:
      create = [&] { return ::symlinkat(n.link_target.c_str(), dirfd, name); };
      break;
    case NodeType::kFifo:
      create = [&] { return ::mkfifoat(dirfd, name, n.mode & 0777); };
      break;
    case NodeType::kCharDevice:
    case NodeType::kBlockDevice:
      if (!root_) {
        AddError(e.snap_path, "device node not restored: creating devices needs root");
        states_[i] = kFailed;
        return;
      }
      create = [&] {
        mode_t type = n.type == NodeType::kCharDevice ? S_IFCHR : S_IFBLK;
        return ::mknodat(dirfd, name, type | (n.mode & 0777), static_cast<dev_t>(n.rdev));
      };
      break;
    default:
      AddError(e.snap_path, "unknown node type " + std::to_string(static_cast<int>(n.type)));
      states_[i] = kFailed;
      return;
  }
  auto made = CreateReplacing(dirfd, n.name, create);
  if (!made.ok()) {
    AddError(e.snap_path,
             std::string(NodeTypeName(n.type)) + " not restored: " + made.status().message());
    states_[i] = kFailed;
    return;
  }
  if (*made == Made::kSkipped) {
    skipped_++;
    states_[i] = kSkipped;
    return;
  }
  ApplyMetadata(e, -1, dirfd);
  other_++;
  states_[i] = kDone;
}

void Restorer::ApplyMetadata(const PlanEntry& e, int fd, int dirfd) {
  const Node& n = e.node;
  const char* name = n.name.c_str();
  auto posix = [&](std::string what) { AddError(e.snap_path, PosixError(what).message()); };

  uid_t uid = n.uid;
  gid_t gid = n.gid;
  if (root_) {
    if (opt_.owner_by_name) {
      char buf[16384];
      if (!n.user.empty()) {
        struct passwd pw, *found = nullptr;
        if (::getpwnam_r(n.user.c_str(), &pw, buf, sizeof buf, &found) == 0 && found)
          uid = found->pw_uid;
      }
      if (!n.group.empty()) {
        struct group gr, *found = nullptr;
        if (::getgrnam_r(n.group.c_str(), &gr, buf, sizeof buf, &found) == 0 && found)
          gid = found->gr_gid;
      }
    }
    int rc =
        fd >= 0 ? ::fchown(fd, uid, gid) : ::fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) posix("chown to " + std::to_string(uid) + ":" + std::to_string(gid));
  }

  if (n.type != NodeType::kSymlink) {
    mode_t mode = n.mode & 07777;
    // A setuid/setgid file must not end up owned by someone else than in the snapshot (the user
    // restoring it, who could then run it with those rights): GNU tar drops the bits then too.
    // Directories keep setgid: it only makes new entries inherit the directory's group.
    if ((mode & (S_ISUID | S_ISGID)) != 0 && n.type != NodeType::kDir &&
        !OwnerRestored(n, fd, dirfd, uid, gid)) {
      mode &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
      if (setid_dropped_++ == 0) {
        std::lock_guard l(setid_mu_);
        first_setid_dropped_ = e.snap_path;
      }
    }
    int rc = fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(dirfd, name, mode, 0);
    if (rc != 0) posix("chmod");
  }

  if (!n.xattrs.empty()) {
    // Objects without an fd (symlinks, fifos, devices): the /proc path resolves the directory
    // descriptor, and lsetxattr does not follow the final name.
    std::string proc_path;
    if (fd < 0) proc_path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + n.name;
    for (const auto& [key, value] : n.xattrs) {
      int rc = fd >= 0 ? ::fsetxattr(fd, key.c_str(), value.data(), value.size(), 0)
                       : ::lsetxattr(proc_path.c_str(), key.c_str(), value.data(), value.size(), 0);
      if (rc == 0) continue;
      std::string msg = PosixError("set extended attribute " + key).message();
      const bool privileged = key.rfind("security.", 0) == 0 || key.rfind("trusted.", 0) == 0;
      if (privileged && !root_) {
        AddWarning(e.snap_path, msg + " (needs root)");
      } else {
        AddError(e.snap_path, msg);
      }
    }
  }

  timespec ts[2] = {ToTimespec(n.atime_ns), ToTimespec(n.mtime_ns)};
  int rc = fd >= 0 ? ::futimens(fd, ts) : ::utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) posix("set times");
}

bool Restorer::OwnerRestored(const Node& n, int fd, int dirfd, uid_t uid, gid_t gid) {
  if (!root_) {
    // Not root: the file is ours. It has the snapshot's owner if that is us and the group is one
    // of ours (chown to our own uid and a group we are in is allowed; anything else fails).
    if (uid != ::geteuid()) return false;
    int rc = fd >= 0 ? ::fchown(fd, uid, gid)
                     : ::fchownat(dirfd, n.name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return false;
  }
  struct stat st;
  int rc = fd >= 0 ? ::fstat(fd, &st) : ::fstatat(dirfd, n.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  return rc == 0 && st.st_uid == uid && st.st_gid == gid;
}

// Directory metadata, after all content and links, children before parents: the plan is walked
// in pre-order keeping the chain of directories the walk is in (DirChain), and a directory is
// finished once the walk has left it (post-order). Each directory is opened once, from its
// parent's descriptor, however deep it lies (opening each from the target root cost O(depth)
// apiece: 19 s for a chain of 4,100 directories), unless the descriptor budget made the chain
// release it; then it is reopened from the nearest open ancestor.
void Restorer::FinishDirs() {
  DirChain chain(root_fd_.get(), budget_.dirs);
  std::vector<size_t> entry_at(1, 0);  // plan entry of each level of the chain (0: the target)
  auto finish_from = [&](size_t depth) {  // finishes the directories at `depth` or deeper
    while (chain.depth() > depth) {
      const size_t level = chain.depth() - 1;
      auto fd = chain.At(level);
      if (!fd.ok()) {
        chain.ReleaseAllButDeepest();
        fd = chain.At(level);
      }
      const PlanEntry& e = plan_.entries[entry_at[level]];
      if (!fd.ok()) {
        AddError(e.snap_path, "setting directory metadata: " + fd.status().message());
      } else if (*fd) {
        ApplyMetadata(e, (*fd)->get(), -1);
      }
      chain.Truncate(level);
      entry_at.pop_back();
    }
  };
  for (size_t i = 0; i < plan_.entries.size() && !Cancelled(); ++i) {
    const PlanEntry& e = plan_.entries[i];
    if (e.node.type != NodeType::kDir) continue;
    finish_from(e.depth);  // now the chain ends with e's parent
    entry_at.push_back(i);
    std::shared_ptr<FileDescriptor> parent;
    if (states_[i] == kDone) {
      auto at = chain.At(e.depth - 1);
      if (at.ok()) parent = *at;
    }
    if (!parent) {  // not restored here (its error was reported), or its parent cannot be opened
      chain.Push(e.rel, nullptr);
      continue;
    }
    auto fd = OpenChildDir(parent->get(), e.node.name, e.rel);
    if (!fd.ok()) {  // perhaps out of descriptors: keep only the parent open and try again
      chain.ReleaseAllButDeepest();
      fd = OpenChildDir(parent->get(), e.node.name, e.rel);
    }
    if (!fd.ok()) {
      AddError(e.snap_path, "setting directory metadata: " + fd.status().message());
      chain.Push(e.rel, nullptr);
      continue;
    }
    chain.Push(e.rel, std::make_shared<FileDescriptor>(std::move(*fd)));
  }
  if (!Cancelled()) finish_from(1);
}

void Restorer::VerifyAll(ThreadPool& pool) {
  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    const PlanEntry& e = plan_.entries[i];
    if (e.node.type != NodeType::kFile || e.primary >= 0 || states_[i] != kDone) continue;
    if (Cancelled()) break;
    pool.Submit([this, &e] {
      Status st = VerifyFile(repo_, root_fd_.get(), e, opt_.cancel);
      if (st.ok()) {
        verified_++;
      } else if (st.code() != StatusCode::kCancelled) {
        AddError(e.snap_path, "verification failed: " + st.message());
      }
    });
  }
  pool.Wait();
}

}  // namespace

Result<RestoreResult> RestoreTree(Repository& repo, const Id& root, const RestoreOptions& options) {
  if (options.target.empty() && !options.dry_run)
    return Status::InvalidArgument("no restore target given");
  LB_ASSIGN_OR_RETURN(PathFilter filter, PathFilter::Make(options.includes, options.excludes));
  LB_ASSIGN_OR_RETURN(Plan plan, BuildPlan(repo, root, options, filter));
  GroupHardlinks(&plan);
  Restorer restorer(repo, options, std::move(plan));
  if (options.dry_run) return restorer.DryRun();
  return restorer.Run();
}

Result<RestoreResult> VerifyRestored(Repository& repo, const Id& root,
                                     const RestoreOptions& options) {
  LB_ASSIGN_OR_RETURN(PathFilter filter, PathFilter::Make(options.includes, options.excludes));
  LB_ASSIGN_OR_RETURN(Plan plan, BuildPlan(repo, root, options, filter));
  FileDescriptor root_fd(::open(options.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return PosixError("open restore target " + options.target);

  RestoreResult result;
  std::mutex mu;
  std::atomic<uint64_t> verified{0};
  for (auto& e : plan.errors) result.errors.push_back(e);
  {
    const int workers = WorkerCount(options);
    ThreadPoolOptions po = PoolOptions(workers, static_cast<size_t>(workers) * 4);
    po.cancel = options.cancel;  // a verification dropped when cancelled needs no clean-up
    ThreadPool pool(std::move(po));
    for (const PlanEntry& e : plan.entries) {
      if (IsCancelled(options.cancel)) break;
      if (e.node.type == NodeType::kSymlink) {
        result.other++;
        auto dir = OpenDirBeneath(root_fd.get(), ParentRel(e.rel));
        std::string target(4096, '\0');
        ssize_t n = -1;
        if (dir.ok())
          n = ::readlinkat(dir->get(), e.node.name.c_str(), target.data(), target.size());
        std::lock_guard l(mu);
        if (!dir.ok()) {
          result.errors.push_back({e.snap_path, dir.status().message()});
        } else if (n < 0) {
          result.errors.push_back({e.snap_path, PosixError("read symlink").message()});
        } else if (target.resize(static_cast<size_t>(n)); target != e.node.link_target) {
          result.errors.push_back({e.snap_path, "symlink points to \"" + target +
                                                    "\", the snapshot has \"" + e.node.link_target +
                                                    "\""});
        }
        continue;
      }
      if (e.node.type != NodeType::kFile) continue;
      result.files++;
      result.bytes += e.node.size;
      pool.Submit([&, fd = root_fd.get()] {
        Status st = VerifyFile(repo, fd, e, options.cancel);
        if (st.ok()) {
          verified++;
          return;
        }
        if (st.code() == StatusCode::kCancelled) return;
        std::lock_guard l(mu);
        result.errors.push_back({e.snap_path, st.message()});
      });
    }
    pool.Wait();
    if (!pool.failure().ok()) return pool.failure().WithContext("verification failed");
  }
  if (IsCancelled(options.cancel))
    return Status::Cancelled("verification interrupted after " + std::to_string(verified.load()) +
                             " of " + std::to_string(result.files) + " files");
  result.verified_files = verified;
  return result;
}

}  // namespace lifeboat
