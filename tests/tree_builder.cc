#include "tree_builder.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

#include "util/file_io.h"

namespace lifeboat::testing {

std::string MakeTempDir(const std::string& tag) {
  std::string tmpl = "/tmp/lifeboat-test-" + tag + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

// Removes everything below the directory open as `dirfd`, at any depth (names only, never a
// path longer than one name).
static void RemoveBelow(int dirfd) {
  std::vector<std::string> names;
  ListNames(dirfd, &names).IgnoreError();  // best effort: what remains is left behind
  for (const auto& name : names) {
    if (::unlinkat(dirfd, name.c_str(), 0) == 0) continue;
    int sub = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) continue;
    RemoveBelow(sub);
    ::close(sub);
    ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR);
  }
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (!ec) return;
  // Paths longer than PATH_MAX defeat remove_all: descend by descriptors instead.
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  RemoveBelow(fd);
  ::close(fd);
  ::rmdir(path.c_str());
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return out;
}

static void SetTimes(const std::string& path, int64_t sec, long nsec) {
  struct timespec ts[2] = {{sec - 1000, nsec / 2}, {sec, nsec}};
  utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

TreeFeatures BuildEveryKindTree(const std::string& root) {
  TreeFeatures f;
  f.ownership = geteuid() == 0;
  f.devices = geteuid() == 0;
  auto p = [&](const std::string& rel) { return root + "/" + rel; };
  mkdir(p("dir").c_str(), 0755);
  mkdir(p("dir/sub").c_str(), 0700);
  mkdir(p("dir/sub/deeper").c_str(), 0755);
  mkdir(p("empty").c_str(), 0755);
  mkdir(p("sticky").c_str(), 0755);
  chmod(p("sticky").c_str(), 01777);
  WriteFile(p("empty.txt"), "");
  WriteFile(p("one.txt"), "x");
  WriteFile(p("dir/small.txt"), "hello, lifeboat\n");
  WriteFile(p("dir/sub/text.log"), std::string(100000, 'a') + RandomBytes(1000, 1));
  WriteFile(p("dir/sub/random.bin"), RandomBytes(3 << 20, 2));
  // Larger than the chunker's max: several blobs, mixed compressible and random content.
  std::string big;
  for (int i = 0; i < 12; ++i) big += i % 2 ? RandomBytes(1 << 20, 10 + i) : std::string(1 << 20, char('a' + i));
  WriteFile(p("dir/sub/deeper/big.dat"), big);
  WriteFile(p("name with spaces & ünïcödé.txt"), "odd name\n");
  WriteFile(p("setuid-tool"), "#!/bin/sh\n");
  chmod(p("setuid-tool").c_str(), 04755);
  WriteFile(p("private.key"), "secret\n");
  chmod(p("private.key").c_str(), 0600);
  // Hardlinks.
  WriteFile(p("dir/linked-a"), "shared inode content\n");
  link(p("dir/linked-a").c_str(), p("dir/sub/linked-b").c_str());
  // Symlinks.
  symlink("small.txt", p("dir/rel-link").c_str());
  symlink("/etc/hostname", p("abs-link").c_str());
  symlink("does/not/exist", p("dangling-link").c_str());
  // Sparse: 20 MiB with 1 MiB of data in the middle.
  {
    int fd = open(p("sparse.img").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    std::string data = RandomBytes(1 << 20, 3);
    if (pwrite(fd, data.data(), data.size(), 8 << 20) != static_cast<ssize_t>(data.size()))
      throw std::runtime_error("pwrite");
    if (ftruncate(fd, 20 << 20) != 0) throw std::runtime_error("ftruncate");
    close(fd);
  }
  mkfifo(p("pipe").c_str(), 0640);
  if (f.devices) {
    f.devices = mknod(p("null-dev").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0 &&
                mknod(p("blk-dev").c_str(), S_IFBLK | 0660, makedev(7, 42)) == 0;
  }
  // Extended attributes and ACLs.
  f.xattrs = setxattr(p("dir/small.txt").c_str(), "user.lifeboat.test", "value\0with nul", 15, 0) == 0 &&
             setxattr(p("dir").c_str(), "user.dir-attr", "d", 1, 0) == 0;
  {
    // POSIX ACL xattr (version 2): USER_OBJ rw-, USER 1234 r--, GROUP_OBJ r--, MASK r--, OTHER r--.
    struct Entry {
      uint16_t tag, perm;
      uint32_t id;
    };
    Entry entries[] = {{0x01, 6, 0xffffffff}, {0x02, 4, 1234}, {0x04, 4, 0xffffffff},
                       {0x10, 4, 0xffffffff}, {0x20, 4, 0xffffffff}};
    std::string acl(4, '\0');
    uint32_t version = 2;
    std::memcpy(acl.data(), &version, 4);
    for (const auto& e : entries) acl.append(reinterpret_cast<const char*>(&e), sizeof e);
    f.acls = setxattr(p("one.txt").c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0) == 0;
  }
  if (f.ownership) {
    lchown(p("dir/small.txt").c_str(), 1234, 5678);
    lchown(p("dir/rel-link").c_str(), 4321, 8765);
    lchown(p("dir/sub").c_str(), 99, 99);
  }
  // Nanosecond timestamps, set last (children before parents).
  int64_t t = 1700000000;
  for (const char* rel : {"empty.txt", "one.txt", "dir/small.txt", "dir/sub/text.log",
                          "dir/sub/random.bin", "dir/sub/deeper/big.dat", "sparse.img",
                          "dir/rel-link", "abs-link", "pipe", "private.key"})
    SetTimes(p(rel), t += 12345, 123456789);
  for (const char* rel : {"dir/sub/deeper", "dir/sub", "dir", "empty", "sticky"})
    SetTimes(p(rel), t += 777, 987654321);
  return f;
}

namespace {

struct Entry {
  struct stat st;
  std::string link_target;
  std::map<std::string, std::string> xattrs;
};

std::map<std::string, std::string> ReadXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  char names[65536];
  ssize_t n = llistxattr(path.c_str(), names, sizeof names);
  for (ssize_t i = 0; i < n;) {
    std::string name(names + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    char value[65536];
    ssize_t v = lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    if (v >= 0) out[name] = std::string(value, static_cast<size_t>(v));
  }
  return out;
}

void Walk(const std::string& root, const std::string& rel, std::map<std::string, Entry>* out) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  DIR* d = opendir(path.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  closedir(d);
  for (const auto& name : names) {
    std::string r = rel.empty() ? name : rel + "/" + name;
    std::string full = root + "/" + r;
    Entry e;
    if (lstat(full.c_str(), &e.st) != 0) continue;
    if (S_ISLNK(e.st.st_mode)) {
      char buf[4096];
      ssize_t n = readlink(full.c_str(), buf, sizeof buf);
      if (n > 0) e.link_target.assign(buf, static_cast<size_t>(n));
    }
    e.xattrs = ReadXattrs(full);
    (*out)[r] = e;
    if (S_ISDIR(e.st.st_mode)) Walk(root, r, out);
  }
}

int64_t Ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

}  // namespace

std::vector<std::string> CompareTrees(const std::string& a, const std::string& b,
                                      const CompareOptions& options) {
  std::map<std::string, Entry> ea, eb;
  Walk(a, "", &ea);
  Walk(b, "", &eb);
  std::vector<std::string> diffs;
  for (const auto& [rel, x] : ea)
    if (!eb.count(rel)) diffs.push_back("missing in restore: " + rel);
  for (const auto& [rel, y] : eb)
    if (!ea.count(rel)) diffs.push_back("unexpected in restore: " + rel);
  std::map<ino_t, std::string> a_inodes, b_inodes;
  for (const auto& [rel, x] : ea) {
    auto it = eb.find(rel);
    if (it == eb.end()) continue;
    const Entry& y = it->second;
    // clang 14 cannot capture a structured binding in a lambda: capture a plain reference.
    const std::string& path = rel;
    auto diff = [&](const std::string& what) { diffs.push_back(path + ": " + what + " differs"); };
    if ((x.st.st_mode & S_IFMT) != (y.st.st_mode & S_IFMT)) {
      diff("type");
      continue;
    }
    if (!S_ISLNK(x.st.st_mode) && (x.st.st_mode & 07777) != (y.st.st_mode & 07777)) diff("mode");
    if (options.check_ownership && (x.st.st_uid != y.st.st_uid || x.st.st_gid != y.st.st_gid))
      diff("owner");
    if (!S_ISDIR(x.st.st_mode) && x.st.st_size != y.st.st_size) diff("size");
    if (Ns(x.st.st_mtim) != Ns(y.st.st_mtim)) diff("mtime");
    if (options.check_atime && Ns(x.st.st_atim) != Ns(y.st.st_atim)) diff("atime");
    if (x.link_target != y.link_target) diff("symlink target");
    if (x.xattrs != y.xattrs) diff("xattrs");
    if ((S_ISCHR(x.st.st_mode) || S_ISBLK(x.st.st_mode)) && x.st.st_rdev != y.st.st_rdev)
      diff("device number");
    if (S_ISREG(x.st.st_mode)) {
      if (ReadFileOrDie(a + "/" + rel) != ReadFileOrDie(b + "/" + rel)) diff("content");
      if (options.check_sparse && x.st.st_blocks * 512 < x.st.st_size / 2 &&
          y.st.st_blocks * 512 >= y.st.st_size / 2)
        diff("sparseness");
      if (x.st.st_nlink > 1) {
        // Names sharing an inode in the source must share one in the restore, and vice versa.
        auto [ia, new_a] = a_inodes.emplace(x.st.st_ino, rel);
        auto [ib, new_b] = b_inodes.emplace(y.st.st_ino, rel);
        if (new_a != new_b || ia->second != ib->second) diff("hardlink structure");
      }
    }
  }
  return diffs;
}

}  // namespace lifeboat::testing
