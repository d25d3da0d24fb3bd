#include "archiver/fs_metadata.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <unordered_map>

#include "util/mutex.h"

namespace lifeboat {
namespace {

Mutex names_mu;
std::unordered_map<uint32_t, std::string> user_names GUARDED_BY(names_mu);
std::unordered_map<uint32_t, std::string> group_names GUARDED_BY(names_mu);

std::string UserName(uint32_t uid) {
  MutexLock lock(&names_mu);
  auto it = user_names.find(uid);
  if (it != user_names.end()) return it->second;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  std::string name;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) name = pw.pw_name;
  user_names.emplace(uid, name);
  return name;
}

std::string GroupName(uint32_t gid) {
  MutexLock lock(&names_mu);
  auto it = group_names.find(gid);
  if (it != group_names.end()) return it->second;
  struct group gr, *res = nullptr;
  char buf[8192];
  std::string name;
  if (getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) name = gr.gr_name;
  group_names.emplace(gid, name);
  return name;
}

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

bool LooksSparse(const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_size > 0 &&
         static_cast<uint64_t>(st.st_blocks) * 512 < static_cast<uint64_t>(st.st_size);
}

Node NodeFromStat(const std::string& name, const struct stat& st) {
  Node n;
  n.name = name;
  if (S_ISREG(st.st_mode)) n.type = NodeType::kFile;
  else if (S_ISDIR(st.st_mode)) n.type = NodeType::kDir;
  else if (S_ISLNK(st.st_mode)) n.type = NodeType::kSymlink;
  else if (S_ISFIFO(st.st_mode)) n.type = NodeType::kFifo;
  else if (S_ISCHR(st.st_mode)) n.type = NodeType::kCharDevice;
  else if (S_ISBLK(st.st_mode)) n.type = NodeType::kBlockDevice;
  else n.type = NodeType::kSocket;
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.user = UserName(st.st_uid);
  n.group = GroupName(st.st_gid);
  n.mtime_ns = Ns(st.st_mtim);
  n.atime_ns = Ns(st.st_atim);
  n.ctime_ns = Ns(st.st_ctim);
  n.device = st.st_dev;
  n.inode = st.st_ino;
  n.links = st.st_nlink;
  n.size = n.type == NodeType::kFile ? static_cast<uint64_t>(st.st_size) : 0;
  if (n.type == NodeType::kCharDevice || n.type == NodeType::kBlockDevice) n.rdev = st.st_rdev;
  n.sparse = LooksSparse(st);
  return n;
}

// True when /proc/self/fd/N names the directory open as N (procfs is mounted), so that xattrs
// can be read relative to a directory descriptor. Checked once.
static bool ProcFdUsable() {
  static const bool usable = [] {
    int fd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat a, b;
    bool same = ::fstat(fd, &a) == 0 &&
                ::stat(("/proc/self/fd/" + std::to_string(fd)).c_str(), &b) == 0 &&
                a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    ::close(fd);
    return same;
  }();
  return usable;
}

Status ReadExtendedMetadata(int dirfd, const std::string& name, const std::string& path,
                            Node* node) {
  if (node->type == NodeType::kSymlink) {
    std::string target(4096, '\0');
    for (;;) {
      ssize_t len = dirfd >= 0 ? ::readlinkat(dirfd, name.c_str(), target.data(), target.size())
                               : ::readlink(path.c_str(), target.data(), target.size());
      if (len < 0) return PosixError("readlink " + path);
      if (static_cast<size_t>(len) < target.size()) {
        target.resize(static_cast<size_t>(len));
        break;
      }
      target.resize(target.size() * 2);
    }
    node->link_target = std::move(target);
  }
  // The l*xattr calls take a path and do not follow the final symlink. A path too long for the
  // kernel goes through /proc and the directory descriptor instead. Not always: resolving
  // /proc/self/fd costs more than a cached lookup of the whole path (backup of the unchanged
  // kernel tree: 0.15 s more system time).
  std::string proc_path;
  const char* at = path.c_str();
  if (dirfd >= 0 && path.size() >= PATH_MAX && ProcFdUsable()) {
    proc_path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
    at = proc_path.c_str();
  }
  std::string names;
  for (;;) {
    ssize_t len = ::llistxattr(at, nullptr, 0);
    if (len < 0) {
      if (errno == ENOTSUP || errno == ENODATA) return Status::Ok();
      return PosixError("listxattr " + path);
    }
    if (len == 0) return Status::Ok();
    names.resize(static_cast<size_t>(len));
    len = ::llistxattr(at, names.data(), names.size());
    if (len < 0 && errno == ERANGE) continue;  // grew meanwhile
    if (len < 0) return PosixError("listxattr " + path);
    names.resize(static_cast<size_t>(len));
    break;
  }
  for (size_t pos = 0; pos < names.size();) {
    std::string key(names.c_str() + pos);
    pos += key.size() + 1;
    if (key.empty()) continue;
    std::string value;
    for (;;) {
      ssize_t len = ::lgetxattr(at, key.c_str(), nullptr, 0);
      if (len < 0) {
        if (errno == ENODATA) break;  // removed meanwhile
        return PosixError("getxattr " + key + " of " + path);
      }
      value.resize(static_cast<size_t>(len));
      len = ::lgetxattr(at, key.c_str(), value.data(), value.size());
      if (len < 0 && errno == ERANGE) continue;
      if (len < 0) return PosixError("getxattr " + key + " of " + path);
      value.resize(static_cast<size_t>(len));
      node->xattrs.emplace_back(key, std::move(value));
      break;
    }
  }
  std::sort(node->xattrs.begin(), node->xattrs.end());
  return Status::Ok();
}

}  // namespace lifeboat
