#include "archiver/dir_descriptors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace lifeboat {

DirLink::~DirLink() {
  if (DirDescriptors* cache = cache_.load()) cache->Close(*this);
}

DirDescriptors::Lease& DirDescriptors::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    reset();
    cache_ = o.cache_;
    dir_ = o.dir_;
    o.cache_ = nullptr;
  }
  return *this;
}

int DirDescriptors::Lease::fd() const { return cache_ ? dir_->fd_.get() : -1; }

void DirDescriptors::Lease::reset() {
  if (cache_) cache_->Release(dir_);
  cache_ = nullptr;
}

size_t DirDescriptors::DefaultCapacity() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1024;
  return std::clamp<size_t>(static_cast<size_t>(rl.rlim_cur) / 16, 1, 1024);
}

Result<FileDescriptor> DirDescriptors::OpenOne(int parent_fd, const DirLink& dir) {
  // O_NOATIME: reading a directory must not change its atime, or every backup would see a
  // changed node and store new trees all the way up. It needs ownership or CAP_FOWNER.
  const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  auto open = [&](int f) {
    return parent_fd >= 0 ? ::openat(parent_fd, dir.name.c_str(), f) : ::open(dir.path.c_str(), f);
  };
  int fd = -1;
  // Out of descriptors: close the idle ones (all but the parent, which is leased) and retry; if
  // other threads hold the rest for a moment (a file being read, a pack being written), wait.
  for (int attempt = 0;; ++attempt) {
    fd = open(flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = open(flags);
    if (fd >= 0 || !IsOutOfDescriptors(errno) || attempt == 50) break;
    CloseIdleLocked(0);
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (fd < 0) return PosixError("open directory");
  FileDescriptor guard(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("fstat directory");
  if (st.st_dev != dir.dev || st.st_ino != dir.ino)
    return Status::IOError(
        "changed during backup: the directory was replaced (device/inode differ from when it "
        "was listed)");
  return guard;
}

Result<DirDescriptors::Lease> DirDescriptors::Open(DirLink& dir) {
  MutexLock lock(&mu_);
  // The chain from the nearest ancestor that is open (or opened by path) down to `dir`.
  std::vector<DirLink*> chain;
  DirLink* base = &dir;
  while (!base->fd_.valid() && base->up) {
    chain.push_back(base);
    base = const_cast<DirLink*>(base->up);
  }
  if (!base->fd_.valid()) {
    LB_ASSIGN_OR_RETURN(base->fd_, OpenOne(-1, *base));
    base->cache_ = this;
    ++open_;
    base->leases_ = 1;
  } else if (base->leases_++ == 0) {  // pinned: no longer idle
    idle_.erase(base->idle_pos_);
  }
  // Down one name at a time: no path longer than a name, and every step checked.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    DirLink* child = *it;
    Result<FileDescriptor> fd = OpenOne(base->fd_.get(), *child);
    if (!fd.ok()) {
      ReleaseLocked(base);
      return fd.status();
    }
    child->fd_ = std::move(*fd);
    child->cache_ = this;
    ++open_;
    child->leases_ = 1;
    ReleaseLocked(base);
    CloseIdleLocked(capacity_);  // a long chain must not hold a descriptor per step
    base = child;
  }
  CloseIdleLocked(capacity_);
  return Lease(this, base);
}

void DirDescriptors::ReleaseLocked(DirLink* dir) {
  if (--dir->leases_ == 0) dir->idle_pos_ = idle_.insert(idle_.end(), dir);
}

void DirDescriptors::Release(DirLink* dir) {
  MutexLock lock(&mu_);
  ReleaseLocked(dir);
  CloseIdleLocked(capacity_);
}

void DirDescriptors::Close(DirLink& dir) {
  MutexLock lock(&mu_);
  if (!dir.fd_.valid()) return;
  if (dir.leases_ == 0) idle_.erase(dir.idle_pos_);
  dir.fd_ = FileDescriptor();
  dir.cache_ = nullptr;
  --open_;
}

void DirDescriptors::CloseIdleLocked(size_t keep) {
  while (open_ > keep && !idle_.empty()) {
    DirLink* d = idle_.front();
    idle_.pop_front();
    d->fd_ = FileDescriptor();
    d->cache_ = nullptr;
    --open_;
  }
}

size_t DirDescriptors::CloseIdle() {
  MutexLock lock(&mu_);
  const size_t before = open_;
  CloseIdleLocked(0);
  return before - open_;
}

bool DirDescriptors::MakeRoom(int attempt) {
  if (attempt >= 50) return false;
  if (CloseIdle() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return true;
}

size_t DirDescriptors::open_count() {
  MutexLock lock(&mu_);
  return open_;
}

}  // namespace lifeboat
