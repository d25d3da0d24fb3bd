#include "util/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

namespace lifeboat {

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileDescriptor::Close(std::string_view what) {
  if (fd_ < 0) return Status::Ok();
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR) return PosixError(std::string("close ") += what);
  return Status::Ok();
}

Status WriteAll(int fd, ByteView data, std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(std::string("write ") += what);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Writes all of `parts` in order, as few writev calls as the iovec limit allows, resuming after
// short writes.
static Status WriteAllParts(int fd, std::span<const ByteView> parts, std::string_view what) {
  std::vector<struct iovec> iov;
  iov.reserve(parts.size());
  for (ByteView part : parts) {
    if (!part.empty()) iov.push_back({const_cast<uint8_t*>(part.data()), part.size()});
  }
  size_t next = 0;  // first iovec not completely written
  while (next < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - next, IOV_MAX));
    ssize_t n = ::writev(fd, iov.data() + next, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(std::string("write ") += what);
    }
    size_t left = static_cast<size_t>(n);
    while (left > 0 && left >= iov[next].iov_len) left -= iov[next++].iov_len;
    if (left > 0) {  // a short write ended inside this iovec
      iov[next].iov_base = static_cast<uint8_t*>(iov[next].iov_base) + left;
      iov[next].iov_len -= left;
    }
  }
  return Status::Ok();
}

Status PWriteAll(int fd, ByteView data, uint64_t offset, std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(std::string("write ") += what);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status PReadExact(int fd, uint8_t* buf, size_t length, uint64_t offset, std::string_view what) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buf + done, length - done, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(std::string("read ") += what);
    }
    if (n == 0) return Status::Corruption(std::string("unexpected end of file in ") += what);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("open directory " + dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return PosixError("fsync directory " + dir);
  return fd.Close(dir);
}

static std::string ParentOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status CreateDirectories(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return Status::Ok();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::FailedPrecondition(dir + " exists and is not a directory");
  }
  std::string parent = ParentOf(dir);
  LB_RETURN_IF_ERROR(CreateDirectories(parent));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return PosixError("mkdir " + dir);
  return SyncDirectory(parent);
}

static std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   static_cast<uint64_t>(::getpid()) << 32);
  uint64_t v = rng() ^ counter.fetch_add(1);
  char buf[32];
  snprintf(buf, sizeof buf, ".tmp-%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Status WriteFileDurably(const std::string& path, ByteView data, bool overwrite) {
  return WriteFileDurably(path, std::span<const ByteView>(&data, 1), overwrite);
}

Status WriteFileDurably(const std::string& path, std::span<const ByteView> parts, bool overwrite) {
  size_t size = 0;
  for (ByteView part : parts) size += part.size();
  std::string dir = ParentOf(path);
  std::string tmp = path + TempSuffix();
  FileDescriptor fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid() && errno == ENOENT) {
    LB_RETURN_IF_ERROR(CreateDirectories(dir));
    fd = FileDescriptor(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  }
  if (!fd.valid()) return PosixError("create " + tmp);
  Status st = WriteAllParts(fd.get(), parts, tmp);
  if (st.ok() && ::fsync(fd.get()) != 0) st = PosixError("fsync " + tmp);
  if (st.ok() && size >= kDropFromCacheSize) {
    // Only a hint (the data is already on disk), so its result does not matter.
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  if (st.ok()) st = fd.Close(tmp);
  if (st.ok()) {
    if (overwrite) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) st = PosixError("rename to " + path);
    } else {
      // link() fails with EEXIST instead of replacing, on every POSIX filesystem.
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        st = errno == EEXIST ? Status::AlreadyExists(path + " already exists")
                             : PosixError("link to " + path);
      }
    }
  }
  if (!overwrite || !st.ok()) ::unlink(tmp.c_str());
  LB_RETURN_IF_ERROR(st);
  return SyncDirectory(dir);
}

Result<Bytes> ReadWholeFile(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return PosixError("open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return PosixError("stat " + path);
  Bytes out(static_cast<size_t>(st.st_size));
  LB_RETURN_IF_ERROR(PReadExact(fd.get(), out.data(), out.size(), 0, path));
  return out;
}

Status ListNames(int dirfd, std::vector<std::string>* names) {
  // getdents64 on the descriptor itself: no second descriptor (a walk under a low open-file
  // limit needs every one), and the position is reset first so a second listing sees it all.
  if (::lseek(dirfd, 0, SEEK_SET) < 0) return PosixError("readdir");
  alignas(8) char buf[32 << 10];
  for (;;) {
    ssize_t n = ::getdents64(dirfd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError("readdir");
    if (n == 0) return Status::Ok();
    for (ssize_t pos = 0; pos < n;) {
      const auto* e = reinterpret_cast<const struct dirent64*>(buf + pos);
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names->emplace_back(e->d_name);
      pos += e->d_reclen;
    }
  }
}

}  // namespace lifeboat
