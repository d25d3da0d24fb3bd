// DirDescriptors: the directory descriptors of a walk, kept for a bounded window of directories
// and reopened on demand, so that a tree deeper than the open-file limit is walked completely.
//
//   DirDescriptors dirs(DirDescriptors::DefaultCapacity());
//   DirLink top{.path = "/srv/data", .dev = st.st_dev, .ino = st.st_ino};   // by path
//   DirLink sub{.up = &top, .name = "sub", .dev = ..., .ino = ...};          // below top
//   LB_ASSIGN_OR_RETURN(DirDescriptors::Lease lease, dirs.Open(sub));
//   fstatat(lease.fd(), "file", &st, AT_SYMLINK_NOFOLLOW);
//
// Every directory is reached from its parent's descriptor (openat with O_NOFOLLOW | O_DIRECTORY),
// never by a path longer than one name, except the top directories of a walk (`up` null), which
// are opened by their path: the leading components of a path given to back up may be symlinks.
// Descriptors not leased stay open, least recently used first out, until more than `capacity`
// are open; a directory whose descriptor was closed is reopened from its nearest open ancestor,
// one name at a time, and must be the same directory (device and inode) as when it was first
// seen, or Open fails with "changed during backup". When the process runs out of descriptors
// (EMFILE, ENFILE) every idle one is closed and the open is retried.
//
// Thread-safety: Open, leases and CloseIdle may be used from any thread. A DirLink must outlive
// its descendants' use of the cache and must not be leased when it is destroyed; its destructor
// closes its descriptor. Leases must end before the cache does.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <list>
#include <string>

#include "util/file_io.h"
#include "util/mutex.h"
#include "util/status.h"
#include "util/thread_annotations.h"

namespace lifeboat {

class DirDescriptors;

// One directory of a walk: how to reach it and what it must be.
struct DirLink {
  const DirLink* up = nullptr;  // the directory it is an entry of; null: opened by `path`
  std::string name;             // its name in `up`
  std::string path;             // for a top directory (up == null): the path that opens it
  dev_t dev = 0;                // device and inode when the walk first saw it
  ino_t ino = 0;

  DirLink() = default;
  DirLink(const DirLink&) = delete;
  DirLink& operator=(const DirLink&) = delete;
  ~DirLink();

 private:
  friend class DirDescriptors;
  // All guarded by cache_->mu_ (not annotated: the analysis cannot name another object's
  // mutex through a pointer that changes).
  // The cache while fd_ is open, else null. Atomic: ~DirLink reads it without the cache's lock.
  std::atomic<DirDescriptors*> cache_{nullptr};
  FileDescriptor fd_;
  int leases_ = 0;
  std::list<DirLink*>::iterator idle_pos_;  // valid while open and not leased
};

class DirDescriptors {
 public:
  // An open descriptor of one directory, valid until the lease is destroyed or reset.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : cache_(o.cache_), dir_(o.dir_) { o.cache_ = nullptr; }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { reset(); }
    int fd() const;
    bool valid() const { return cache_ != nullptr; }
    void reset();

   private:
    friend class DirDescriptors;
    Lease(DirDescriptors* cache, DirLink* dir) : cache_(cache), dir_(dir) {}
    DirDescriptors* cache_ = nullptr;
    DirLink* dir_ = nullptr;
  };

  // `capacity`: idle descriptors are closed while more than this many are open (at least 1).
  explicit DirDescriptors(size_t capacity) : capacity_(capacity ? capacity : 1) {}
  // Closes every descriptor; no lease may be left. Links may outlive the cache.
  ~DirDescriptors() { CloseIdle(); }
  DirDescriptors(const DirDescriptors&) = delete;
  DirDescriptors& operator=(const DirDescriptors&) = delete;
  // A window that leaves most of the open-file limit (RLIMIT_NOFILE) to the rest of the process
  // (files being read, packs and index files being written, the lock, descriptors inherited):
  // a sixteenth of the soft limit, between 1 and 1024. At `ulimit -n 16` that is 1.
  static size_t DefaultCapacity();

  // Opens `dir` (or reuses its open descriptor). Errors: the open's own (e.g. EACCES, ENOENT),
  // "not the same directory" (changed during backup), EMFILE when even a closed cache does not
  // free a descriptor. May block on the filesystem.
  Result<Lease> Open(DirLink& dir);
  // Closes the descriptor of `dir` now (the walk is done with it; it must not be leased).
  void Close(DirLink& dir);
  // Closes every descriptor that is not leased; returns how many.
  size_t CloseIdle();
  // For a caller whose open of something else (a file to read, a listing) failed for lack of
  // descriptors, before its next attempt (0, 1, ...): closes the idle descriptors or, with none
  // to close, waits 10 ms for other threads to close theirs. False once the caller should give
  // up (after about half a second of waiting).
  bool MakeRoom(int attempt);
  // Descriptors open now (leased or idle). For tests.
  size_t open_count();

 private:
  friend struct DirLink;
  void Release(DirLink* dir) EXCLUDES(mu_);
  void ReleaseLocked(DirLink* dir) REQUIRES(mu_);
  // Opens `dir` below `parent_fd` (or by path) and checks that it is the directory expected.
  Result<FileDescriptor> OpenOne(int parent_fd, const DirLink& dir) REQUIRES(mu_);
  void CloseIdleLocked(size_t keep) REQUIRES(mu_);

  const size_t capacity_;
  Mutex mu_;
  size_t open_ GUARDED_BY(mu_) = 0;
  std::list<DirLink*> idle_ GUARDED_BY(mu_);  // open, not leased; least recently used first
};

// True for errors that mean the process or the system ran out of descriptors.
inline bool IsOutOfDescriptors(int err) { return err == EMFILE || err == ENFILE; }

}  // namespace lifeboat
