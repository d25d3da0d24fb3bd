// Verification: re-reading restored files and comparing their blob ids with the snapshot, after
// a restore (RestoreOptions::verify) or on its own (VerifyRestored).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "restorer/path_filter.h"
#include "restorer/restorer_internal.h"

namespace lifeboat {
namespace restore {

// Re-reads the restored file of `e` below `root_fd` and compares its blob ids with the snapshot.
// Cancelled / DeadlineExceeded when `ctx` is done (checked before each blob).
Status VerifyFile(Repository& repo, int root_fd, const LayoutEntry& e, const Context& ctx) {
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
    LB_RETURN_IF_ERROR(ctx.Check("verification"));
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

void Restorer::VerifyAll(ThreadPool& pool) {
  for (size_t i = 0; i < plan_.entries.size(); ++i) {
    const LayoutEntry& e = plan_.entries[i];
    if (e.node.type != NodeType::kFile || e.primary >= 0 || states_[i] != kDone) continue;
    if (Cancelled()) break;
    pool.Submit([this, &e] {
      Status st = VerifyFile(repo_, root_fd_.get(), e, opt_.context);
      if (st.ok()) {
        verified_++;
      } else if (st.code() != StatusCode::kCancelled) {
        AddError(e.snap_path, "verification failed: " + st.message());
      }
    });
  }
  pool.Wait();
}

}  // namespace restore

using restore::BuildRestoreLayout;
using restore::ParentRel;
using restore::RestoreLayout;
using restore::LayoutEntry;
using restore::PoolOptions;
using restore::VerifyFile;

Result<RestoreResult> VerifyRestored(Repository& repo, const Id& root,
                                     const RestoreOptions& options) {
  LB_ASSIGN_OR_RETURN(PathFilter filter, PathFilter::Make(options.includes, options.excludes));
  PhaseTimer phases(options.context.clock());
  phases.Start("layout");
  LB_ASSIGN_OR_RETURN(RestoreLayout plan, BuildRestoreLayout(repo, root, options, filter));
  phases.Start("verify");
  FileDescriptor root_fd(::open(options.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return PosixError("open restore target " + options.target);

  RestoreResult result;
  std::mutex mu;
  std::atomic<uint64_t> verified{0};
  for (auto& e : plan.errors) result.errors.push_back(e);
  {
    const int workers = WorkersFor(repo.backend(), options.workers);
    ThreadPoolOptions po = PoolOptions(workers, static_cast<size_t>(workers) * 4);
    po.cancel = options.context.cancel_flag();  // a verification dropped needs no clean-up
    ThreadPool pool(std::move(po));
    for (const LayoutEntry& e : plan.entries) {
      if (options.context.done()) break;
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
        Status st = VerifyFile(repo, fd, e, options.context);
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
  if (options.context.done()) {
    Status st = options.context.Check("verification");
    return Status(st.code(), st.message() + " after " + std::to_string(verified.load()) + " of " +
                                 std::to_string(result.files) + " files");
  }
  result.verified_files = verified;
  result.phases = phases.Finish();
  return result;
}

}  // namespace lifeboat
