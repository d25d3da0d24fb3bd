#include "archiver/walk_rules.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace lifeboat {

namespace {

constexpr char kCacheDirTagSignature[] = "Signature: 8a477f597d28d172789f06886806bc55";

// Depth of a clean absolute path below "/": "/" is 0, "/a/b" is 2.
int PathDepth(const std::string& path) {
  return path == "/" ? 0 : static_cast<int>(std::count(path.begin(), path.end(), '/'));
}

}  // namespace

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

WalkRules::WalkRules(const BackupOptions& options, ExcludeMatcher excludes)
    : excludes_(std::move(excludes)),
      read_root_(options.read_root == "/" ? std::string() : options.read_root),
      exclude_caches_(options.exclude_caches),
      one_file_system_(options.one_file_system),
      exclude_larger_than_(options.exclude_larger_than) {}

bool WalkRules::IsCacheDir(DirDescriptors& dirs, int dirfd) const {
  int fd;
  for (int attempt = 0;; ++attempt) {
    fd = ::openat(dirfd, "CACHEDIR.TAG", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || !IsOutOfDescriptors(errno) || !dirs.MakeRoom(attempt)) break;
  }
  if (fd < 0) return false;
  char buf[sizeof kCacheDirTagSignature - 1];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n == static_cast<ssize_t>(sizeof buf) && std::memcmp(buf, kCacheDirTagSignature, n) == 0;
}

std::string WalkRules::Recorded(const std::string& read_path) const {
  if (read_root_.empty() || read_path.compare(0, read_root_.size(), read_root_) != 0)
    return read_path;
  std::string rest = read_path.substr(read_root_.size());
  return rest.empty() ? "/" : rest;
}

bool WalkRules::IncludesFile(const struct stat& st) const {
  return !(S_ISREG(st.st_mode) && exclude_larger_than_ &&
           static_cast<uint64_t>(st.st_size) > exclude_larger_than_);
}

void WalkRules::List(DirDescriptors& dirs, int dirfd, const std::string& path,
                     std::vector<WalkEntry>* entries, const OnError& on_error) const {
  std::vector<std::string> names;
  Status listed = ListNames(dirfd, &names);  // opens no descriptor
  if (!listed.ok())
    on_error(path, listed.message() + (names.empty() ? " (saved without contents)" : ""));
  std::sort(names.begin(), names.end());
  const bool cache_dir = exclude_caches_ && IsCacheDir(dirs, dirfd);
  for (std::string& name : names) {
    if (cache_dir && name != "CACHEDIR.TAG") continue;
    if (!excludes_.empty() && excludes_.Excluded(Recorded(JoinPath(path, name)), name)) continue;
    WalkEntry e;
    if (::fstatat(dirfd, name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) on_error(JoinPath(path, name), "vanished before it could be read");
      else on_error(JoinPath(path, name), PosixError("lstat").message());
      continue;
    }
    if (!IncludesFile(e.st)) continue;
    e.name = std::move(name);
    entries->push_back(std::move(e));
  }
}

WalkRules::Descend WalkRules::IntoDirectory(const struct stat& st, dev_t parent_dev,
                                            int depth) const {
  if (one_file_system_ && st.st_dev != parent_dev) return Descend::kOtherFilesystem;
  if (depth > kMaxDirDepth) return Descend::kTooDeep;
  return Descend::kYes;
}

namespace {

struct Scanner {
  const WalkRules& rules;
  DirDescriptors& dirs;
  std::atomic<uint64_t>& files;
  std::atomic<uint64_t>& bytes;
  const std::atomic<bool>& stop;

  void Count(const struct stat& st) {
    if (!S_ISREG(st.st_mode)) return;
    files++;
    bytes += static_cast<uint64_t>(st.st_size);
  }

  void Dir(DirLink& dir, const std::string& path, int depth) {
    if (stop) return;
    std::vector<WalkEntry> entries;
    {
      auto lease = dirs.Open(dir);
      if (!lease.ok()) return;
      rules.List(dirs, lease->fd(), path, &entries, [](const std::string&, const std::string&) {});
    }  // the lease ends here: descriptors are held for a window of levels, not for all of them
    for (const WalkEntry& e : entries) {
      if (!S_ISDIR(e.st.st_mode)) {
        Count(e.st);
        continue;
      }
      if (rules.IntoDirectory(e.st, dir.dev, depth + 1) != WalkRules::Descend::kYes) continue;
      DirLink child;
      child.up = &dir;
      child.name = e.name;
      child.dev = e.st.st_dev;
      child.ino = e.st.st_ino;
      Dir(child, JoinPath(path, e.name), depth + 1);
      if (stop) return;
    }
  }
};

}  // namespace

void ScanTree(const std::vector<std::string>& paths, const std::string& read_root,
              const WalkRules& rules, DirDescriptors& dirs, std::atomic<uint64_t>& files,
              std::atomic<uint64_t>& bytes, const std::atomic<bool>& stop) {
  Scanner scanner{rules, dirs, files, bytes, stop};
  std::vector<std::string> done;
  for (const std::string& p : paths) {
    // A path below one already scanned is part of it (the backup stores it once).
    bool covered = std::any_of(done.begin(), done.end(), [&](const std::string& d) {
      return d == "/" || p.compare(0, d.size() + 1, d + "/") == 0;
    });
    if (covered) continue;
    done.push_back(p);
    // As the backup: the leading components may be symlinks, the path itself is not followed.
    const std::string read = read_root.empty() || read_root == "/" ? p
                             : p == "/"                            ? read_root
                                                                   : read_root + p;
    struct stat st;
    if (::lstat(read.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) {
      if (rules.IncludesFile(st)) scanner.Count(st);
      continue;
    }
    DirLink top;
    top.path = read;
    top.dev = st.st_dev;
    top.ino = st.st_ino;
    scanner.Dir(top, read, PathDepth(p));
    if (stop) return;
  }
}

}  // namespace lifeboat
