#include "restorer/restorer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "restorer/path_filter.h"
#include "restorer/restorer_internal.h"
#include "restorer/sparse_write.h"
#include "util/progress_reporter.h"

namespace lifeboat {
namespace restore {

// The pool for content and verification jobs.
ThreadPoolOptions PoolOptions(int workers, size_t queue) {
  ThreadPoolOptions o;
  o.threads = workers;
  o.max_queued = queue;
  o.job_name = "a restore job";
  return o;
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

DescriptorBudget BudgetDescriptors(int workers) {
  const size_t spare = SpareDescriptors();
  workers = std::clamp(workers, 1, static_cast<int>(std::clamp<size_t>(spare / 8, 1, 4096)));
  const size_t w = static_cast<size_t>(workers);
  const size_t reserve = 4 + 2 * w;  // pack reads, a reopening, the lock's refresh
  const size_t avail = spare > reserve ? spare - reserve : 0;
  const size_t queue = std::clamp<size_t>(avail / 3, 1, 4 * w);
  const size_t jobs = queue + w + 1;  // queued and running large-file jobs, and one being made
  const size_t rest = avail > 2 * (jobs + w) ? avail - 2 * (jobs + w) : 0;
  const size_t window_fds = std::min(rest / 4, 2 * kLocalWindowFiles);
  // Each of them, each worker's reopened window file and the window files kept open, each with
  // its directory.
  const size_t files = jobs + w + window_fds;
  const size_t dirs = avail > 2 * files + 2 ? avail - 2 * files : 2;
  return {workers, queue, dirs, window_fds};
}

RestoreResult Restorer::DryRun() {
  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    const LayoutEntry& e = plan_.entries[i];
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
  MutexLock l(&result_mu_);
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
  budget_ = BudgetDescriptors(WorkersFor(repo_.backend(), opt_.workers));
  local_reads_ = repo_.backend().Hints().local_reads;

  std::function<void(bool)> report;
  if (opt_.progress) report = [this](bool final) { opt_.progress(Progress(final)); };
  phases_.Start("write");
  ProgressReporter reporter(std::chrono::milliseconds(opt_.progress_interval_ms), std::move(report),
                            opt_.context.clock());
  {
    ThreadPool pool(PoolOptions(budget_.workers, budget_.queue));
    pool_ = &pool;
    {
      DirChain chain(root_fd_.get(), budget_.dirs);
      chain_ = &chain;
      for (size_t i = 0; i < plan_.entries.size() && !Cancelled(); ++i) CreateEntry(i);
      FlushWindow();  // also when interrupted: its jobs remove the files they created
      chain_ = nullptr;
    }
    pool.Wait();  // every file finished (and its pending links made)
    link_targets_.clear();
    if (opt_.verify && !Cancelled() && pool.failure().ok()) {
      phases_.Start("verify");
      VerifyAll(pool);
    }
    pool_ = nullptr;
    // A job that threw (out of memory) stopped part-way through a file: the restore failed.
    if (!pool.failure().ok()) {
      reporter.Stop(ProgressReporter::FinalReport::kNo);
      return pool.failure().WithContext("restore failed");
    }
  }
  if (!Cancelled()) {
    phases_.Start("metadata");
    FinishDirs();
  }
  phases_.Stop();
  // The final report says the restore completed: none when it was stopped.
  reporter.Stop(Cancelled() ? ProgressReporter::FinalReport::kNo
                            : ProgressReporter::FinalReport::kYes);
  if (Cancelled()) {
    MutexLock l(&result_mu_);
    Status stop = opt_.context.Check("restore");
    return Status(
        stop.code(),
        stop.message() + ": " + std::to_string(files_.load()) + " of " +
        std::to_string(files_total_) + " files restored, " +
        std::to_string(result_.errors.size()) +
        " error(s) before the interrupt; files that were being written were removed, "
        "directories keep temporary permissions (0700) and times; run the same restore again "
        "to complete it");
  }
  if (setid_dropped_ > 0) {
    std::string first;
    {
      MutexLock l(&setid_mu_);
      first = first_setid_dropped_;
    }
    AddWarning(first,
               "setuid/setgid bits dropped from " + std::to_string(setid_dropped_.load()) +
                   " file(s) (this one and others) because their owner could not be restored; "
                   "restore as root to keep them");
  }

  MutexLock l(&result_mu_);
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
  const LayoutEntry& e = plan_.entries[i];
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

std::shared_ptr<FileDescriptor> Restorer::ParentDir(const LayoutEntry& e) {
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
  const LayoutEntry& e = plan_.entries[i];
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

void Restorer::CreateSpecial(size_t i, int dirfd) {
  const LayoutEntry& e = plan_.entries[i];
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

}  // namespace restore

using restore::BuildRestoreLayout;
using restore::GroupHardlinks;
using restore::RestoreLayout;
using restore::Restorer;

Result<RestoreResult> RestoreTree(Repository& repo, const Id& root, const RestoreOptions& options) {
  if (options.target.empty() && !options.dry_run)
    return Status::InvalidArgument("no restore target given");
  LB_ASSIGN_OR_RETURN(PathFilter filter, PathFilter::Make(options.includes, options.excludes));
  PhaseTimer phases(options.context.clock());
  phases.Start("layout");
  LB_ASSIGN_OR_RETURN(RestoreLayout plan, BuildRestoreLayout(repo, root, options, filter));
  GroupHardlinks(&plan);
  Restorer restorer(repo, options, phases, std::move(plan));
  Result<RestoreResult> result = options.dry_run ? restorer.DryRun() : restorer.Run();
  if (result.ok()) result->phases = phases.Finish();
  return result;
}

}  // namespace lifeboat
