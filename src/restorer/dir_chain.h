// How restore reaches directories below the target without following symlinks, and without
// running out of file descriptors however deep the tree is.
//
//   DirChain chain(root_fd, /*max_open=*/64);       // level 0 is the target itself
//   chain.Truncate(e.depth);                        // leave the directories the walk is done with
//   LB_ASSIGN_OR_RETURN(auto parent, chain.At(e.depth - 1));  // reopened if it was released
//   chain.Push(e.rel, std::make_shared<FileDescriptor>(...));
//
// A pre-order walk keeps its ancestors open so that each entry is created relative to its
// parent's descriptor (openat/mkdirat with O_NOFOLLOW). That is one descriptor per level: a
// 150-level tree under `ulimit -n 64` used to fail deep down. DirChain keeps at most `max_open`
// levels open (the deepest ones, which the walk needs next) and releases the shallower ones; a
// released level is reopened, when the walk comes back to it, from the nearest open level above
// it (or the target), one component at a time and never through a symlink.
#pragma once

#include <cerrno>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "util/file_io.h"
#include "util/status.h"

namespace lifeboat {

// Opens the directory `name` in the directory open as `dirfd`, never following a symlink. `rel`
// (the path below the target that `name` ends) names it in errors: FailedPrecondition when it is
// not a directory (or a symlink), the errno's status otherwise.
Result<FileDescriptor> OpenChildDir(int dirfd, const std::string& name, const std::string& rel);

// Opens the directory `rel` below `root_fd` one component at a time, refusing symlinks. Holds at
// most two descriptors at any time.
Result<FileDescriptor> OpenDirBeneath(int root_fd, const std::string& rel);

// Opens the non-directory `rel` (a path below `root_fd` without "..") with `flags`, never
// following a symlink in any component: one openat2 call (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
// a few microseconds) or, where the kernel lacks openat2 or a seccomp filter refuses it, and for
// the message of a failed open, the parent by OpenDirBeneath and then the name with O_NOFOLLOW.
// Errors name `rel`.
Result<FileDescriptor> OpenFileBeneath(int root_fd, const std::string& rel, int flags);

// Whether errno `err` says that the process (EMFILE) or the system (ENFILE) has no descriptor
// left.
inline bool OutOfDescriptors(int err) { return err == EMFILE || err == ENFILE; }

// How many more descriptors this process may open: the soft RLIMIT_NOFILE minus the descriptors
// open now (counted in /proc/self/fd; 32 assumed when it cannot be read).
size_t SpareDescriptors();

// The chain of directories a pre-order walk is in. Not thread-safe: one thread walks. The
// descriptors it hands out are shared: a caller may keep one (a file being written keeps its
// directory) after the chain released or dropped it.
class DirChain {
 public:
  // `root_fd` (the target) stays owned by the caller and must outlive the chain; level 0 is a
  // duplicate of it. `max_open` (at least 1) bounds the levels holding a descriptor at once.
  DirChain(int root_fd, size_t max_open);

  size_t depth() const { return levels_.size(); }
  // Drops the levels at `depth` and deeper.
  void Truncate(size_t depth);
  // Appends a level: the directory `rel` (relative to the target) open as `fd`; a null `fd`
  // marks a directory that was not restored (At returns null for it).
  void Push(std::string rel, std::shared_ptr<FileDescriptor> fd);
  // The directory at `level` (< depth()): its descriptor, reopened from the nearest open level
  // above it when it was released; null when it was pushed as null. Errors of the reopening.
  Result<std::shared_ptr<FileDescriptor>> At(size_t level);
  // Releases every level's descriptor except the deepest one's (used when an open failed for
  // lack of descriptors). Returns how many were released.
  size_t ReleaseAllButDeepest();

 private:
  struct Level {
    std::string rel;
    std::shared_ptr<FileDescriptor> fd;  // null when released (or absent)
    bool absent = false;                 // pushed as null: not restored
  };
  // Releases the shallowest open levels, never `keep`, until at most max_open_ are open.
  void Limit(size_t keep);

  const int root_fd_;
  const size_t max_open_;
  std::vector<Level> levels_;
  size_t open_ = 0;  // levels holding a descriptor
};

}  // namespace lifeboat
