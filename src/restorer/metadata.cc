// Metadata of restored entries: ownership, mode, extended attributes and times, applied to files
// when their content is complete, to special files when created, and to directories last,
// children before parents (FinishDirs).
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <ctime>
#include <string>
#include <vector>

#include "restorer/restorer_internal.h"

namespace lifeboat::restore {
namespace {

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

}  // namespace

void Restorer::ApplyMetadata(const LayoutEntry& e, int fd, int dirfd) {
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
        MutexLock l(&setid_mu_);
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
      const LayoutEntry& e = plan_.entries[entry_at[level]];
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
    const LayoutEntry& e = plan_.entries[i];
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

}  // namespace lifeboat::restore
