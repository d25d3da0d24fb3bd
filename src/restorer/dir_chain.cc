#include "restorer/dir_chain.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "restorer/path_filter.h"

namespace lifeboat {

Result<FileDescriptor> OpenChildDir(int dirfd, const std::string& name, const std::string& rel) {
  FileDescriptor fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) return fd;
  int err = errno;
  if (err == ELOOP || err == ENOTDIR)
    return Status::FailedPrecondition("\"" + rel + "\": \"" + name +
                                      "\" is not a directory (a symlink is never followed)");
  return PosixError("open directory \"" + rel + "\"", err);
}

namespace {
// Opens `rel` below the directory `from_fd`, which is the directory `from_rel` (a prefix of rel).
Result<FileDescriptor> OpenBelow(int from_fd, const std::string& from_rel, const std::string& rel) {
  FileDescriptor cur(::fcntl(from_fd, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return PosixError("duplicate the descriptor of \"" + from_rel + "\"");
  for (std::string_view comp : SplitPath(std::string_view(rel).substr(from_rel.size()))) {
    LB_ASSIGN_OR_RETURN(cur, OpenChildDir(cur.get(), std::string(comp), rel));
  }
  return cur;
}
}  // namespace

Result<FileDescriptor> OpenDirBeneath(int root_fd, const std::string& rel) {
  return OpenBelow(root_fd, "", rel);
}

Result<FileDescriptor> OpenFileBeneath(int root_fd, const std::string& rel, int flags) {
  flags |= O_NOFOLLOW | O_CLOEXEC;
  // Set once openat2 turned out to be missing (ENOSYS) or filtered (EPERM): the fallback then.
  static std::atomic<bool> no_openat2{false};
  if (!no_openat2.load(std::memory_order_relaxed)) {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how));
    if (fd >= 0) return FileDescriptor(static_cast<int>(fd));
    if (errno == ENOSYS || errno == EPERM) no_openat2.store(true, std::memory_order_relaxed);
  }
  const size_t slash = rel.rfind('/');
  const std::string parent = slash == std::string::npos ? std::string() : rel.substr(0, slash);
  const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  LB_ASSIGN_OR_RETURN(FileDescriptor dir, OpenBelow(root_fd, "", parent));
  FileDescriptor fd(::openat(dir.get(), name.c_str(), flags));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err == ELOOP)
    return Status::FailedPrecondition("\"" + rel + "\" is a symlink (a symlink is never followed)");
  return PosixError("open \"" + rel + "\"", err);
}

size_t SpareDescriptors() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
  size_t open = 32;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    open = 0;
    while (const dirent* ent = ::readdir(d))
      if (ent->d_name[0] != '.') open++;
    ::closedir(d);
    if (open > 0) open--;  // the descriptor of the listing itself
  }
  return rl.rlim_cur > open ? static_cast<size_t>(rl.rlim_cur) - open : 0;
}

DirChain::DirChain(int root_fd, size_t max_open)
    : root_fd_(root_fd), max_open_(max_open < 1 ? 1 : max_open) {
  levels_.push_back(Level{});  // the target: reopened (duplicated) on first use
}

void DirChain::Truncate(size_t depth) {
  while (levels_.size() > depth) {
    if (levels_.back().fd) open_--;
    levels_.pop_back();
  }
}

void DirChain::Push(std::string rel, std::shared_ptr<FileDescriptor> fd) {
  Level level;
  level.rel = std::move(rel);
  level.absent = !fd;
  level.fd = std::move(fd);
  if (level.fd) open_++;
  levels_.push_back(std::move(level));
  Limit(levels_.size() - 1);
}

Result<std::shared_ptr<FileDescriptor>> DirChain::At(size_t level) {
  Level& want = levels_[level];
  if (want.absent) return std::shared_ptr<FileDescriptor>();
  if (want.fd) return want.fd;
  // Reopen from the nearest open level above (every level above a present one is present).
  size_t from = level;
  while (from > 0 && !levels_[from - 1].fd) from--;
  int from_fd = root_fd_;
  std::string from_rel;
  if (from > 0) {
    from_fd = levels_[from - 1].fd->get();
    from_rel = levels_[from - 1].rel;
  }
  LB_ASSIGN_OR_RETURN(FileDescriptor fd, OpenBelow(from_fd, from_rel, want.rel));
  want.fd = std::make_shared<FileDescriptor>(std::move(fd));
  open_++;
  Limit(level);
  return want.fd;
}

size_t DirChain::ReleaseAllButDeepest() {
  size_t released = 0;
  for (size_t i = 0; i + 1 < levels_.size(); ++i) {
    if (!levels_[i].fd) continue;
    levels_[i].fd.reset();
    open_--;
    released++;
  }
  return released;
}

void DirChain::Limit(size_t keep) {
  for (size_t i = 0; i < levels_.size() && open_ > max_open_; ++i) {
    if (i == keep || !levels_[i].fd) continue;
    levels_[i].fd.reset();
    open_--;
  }
}

}  // namespace lifeboat
