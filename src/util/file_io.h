// File helpers: an RAII descriptor whose Close() can fail, and the one durable-write routine that
// every writer of persistent state uses (temp file, fsync, rename, fsync directory).
//
//   LB_RETURN_IF_ERROR(WriteFileDurably("/repo/config", bytes, /*overwrite=*/false));
#pragma once

#include <span>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

// Owns a POSIX file descriptor. Destruction closes it and ignores errors; call Close() where a
// failed close matters (anything written).
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileDescriptor& operator=(FileDescriptor&& o) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  Status Close(std::string_view what);

 private:
  int fd_ = -1;
};

// Writes all of `data` at the current position, retrying on EINTR and short writes.
Status WriteAll(int fd, ByteView data, std::string_view what);
// Writes all of `data` at `offset`.
Status PWriteAll(int fd, ByteView data, uint64_t offset, std::string_view what);
// Reads exactly `length` bytes at `offset`; a short file is reported as Corruption
// ("unexpected end of file").
Status PReadExact(int fd, uint8_t* buf, size_t length, uint64_t offset, std::string_view what);

// Stores `data` at `path` so that after return the content survives a crash and a reader never
// sees a partial file: writes "<path>.tmp-<random>" in the same directory, fsyncs it, renames it
// into place and fsyncs the directory. With overwrite=false an existing `path` is left untouched
// and AlreadyExists is returned. Creates missing parent directories (and syncs them).
// Files of kDropFromCacheSize bytes or more (packs) leave the page cache once they are on disk:
// a backup does not push the machine's working set out of memory, and the kernel recycles those
// pages for the next write instead of taking fresh ones (which costs several times more,
// especially in virtual machines).
inline constexpr size_t kDropFromCacheSize = size_t{1} << 20;
Status WriteFileDurably(const std::string& path, ByteView data, bool overwrite);
// The same for the concatenation of `parts`, written with writev (no joined copy in memory).
Status WriteFileDurably(const std::string& path, std::span<const ByteView> parts, bool overwrite);

// fsyncs a directory so that entries created or renamed in it are durable.
Status SyncDirectory(const std::string& dir);
// mkdir -p with a directory sync after each creation.
Status CreateDirectories(const std::string& dir);

// Reads a whole file.
Result<Bytes> ReadWholeFile(const std::string& path);

// Appends the names in the directory open as `dirfd` (not "." or "..") to *names, in directory
// order. Reads the descriptor itself (getdents64), opening no other: it rewinds it first, so the
// listing starts from the beginning whatever its position, and leaves it at the end; other
// threads may use the descriptor meanwhile for *at() calls, but not to list it. When reading
// fails, the names read before the error are kept and the error is returned.
Status ListNames(int dirfd, std::vector<std::string>* names);

}  // namespace lifeboat
