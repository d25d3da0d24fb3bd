// Reading a file: opened beneath its directory's descriptor, read in pieces into chunk buffers,
// cut by the chunker, and each chunk stored unless the repository has it. Runs on the reader
// threads (and for a stream, on the caller's).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "archiver/archiver_internal.h"
#include "archiver/fs_metadata.h"
#include "util/file_io.h"
#include "util/per_thread.h"

namespace lifeboat::backup {

int OpenEntry(int dirfd, const std::string& name, const std::string& path, int flags) {
  auto open = [&](int f) {
    return dirfd >= 0 ? ::openat(dirfd, name.c_str(), f) : ::open(path.c_str(), f);
  };
  int fd = open(flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(flags);
  return fd;
}

// True when every byte is zero (holes of sparse files, zeroed regions of disk images).
namespace {
bool IsAllZero(ByteView data) {
  if (data.empty() || data[0] != 0) return false;
  return std::memcmp(data.data(), data.data() + 1, data.size() - 1) == 0;
}
}  // namespace

Status Archiver::StoreChunk(Bytes chunk, std::deque<Id>* content, PendingIds* pending) {
  // Runs of zeros are frequent (sparse files, disk images) and always yield the same few chunks:
  // remember their ids instead of hashing the zeros again.
  struct ZeroIds {
    std::vector<std::pair<size_t, Id>> ids;
    Id repo;  // ids depend on the repository's key: one cache per repo
  };
  ZeroIds& zero_cache = PerThread<ZeroIds, struct ZeroIdsTag>();
  std::vector<std::pair<size_t, Id>>& zero_ids = zero_cache.ids;
  Id& zero_ids_repo = zero_cache.repo;
  if (zero_ids_repo != repo_.config().id) {
    zero_ids.clear();
    zero_ids_repo = repo_.config().id;
  }
  bool zero = IsAllZero(chunk);
  if (!zero && !options_.dry_run && chunk.size() > saver_->inline_max_bytes()) {
    // Hashed by a saver worker: the reading thread only reads and chunks, so one large file
    // keeps every core busy. (Zero runs are rarely new and their ids are cached below.)
    Id& slot = content->emplace_back();  // a deque: the reference stays valid as it grows
    return saver_->SaveUnhashed(BlobType::kData, std::move(chunk), &slot, pending);
  }
  Id id;
  bool known_zero = false;
  if (zero) {
    for (const auto& [len, zid] : zero_ids)
      if (len == chunk.size()) {
        id = zid;
        known_zero = true;
        break;
      }
  }
  if (!known_zero) {
    id = repo_.codec().ComputeId(chunk);
    if (zero && zero_ids.size() < 64) zero_ids.emplace_back(chunk.size(), id);
  }
  content->push_back(id);
  if (options_.dry_run) {
    if (!repo_.index().Has(BlobType::kData, id)) {
      dry_new_blobs_++;
      dry_new_bytes_ += chunk.size();
    }
    buffers_.Give(std::move(chunk));
    return Status::Ok();
  }
  if (saver_->Known(BlobType::kData, id)) {
    buffers_.Give(std::move(chunk));
    return Status::Ok();
  }
  auto added = saver_->Save(BlobType::kData, id, std::move(chunk));
  return added.status();
}

// Each chunk is assembled in its own buffer (reads of at most 256 KiB land at its end), which
// then goes to the saver as is; only the bytes of the last read that lie past a boundary are
// copied, into the next chunk's buffer. Memory: the chunk being formed (at most max_size) per
// reading thread. A file of known size gets exactly sized buffers, so a small file
// costs one allocation of its own size; bytes beyond the hint (a growing file) are still read.
Result<uint64_t> Archiver::ChunkStream(int fd, std::optional<uint64_t> size_hint,
                                       std::vector<Id>* content) {
  constexpr size_t kReadPiece = 256u << 10;
  const Chunker& chunker = repo_.chunker();
  const size_t max = chunker.params().max_size;
  uint64_t total = 0;  // bytes read from fd so far
  bool eof = false;
  // Ids of this stream's chunks, some filled in by saver workers (StoreChunk): the deque keeps
  // their addresses stable, and every exit waits for the workers before it goes away.
  std::deque<Id> ids;
  PendingIds pending;
  struct WaitForIds {
    PendingIds& pending;
    ~WaitForIds() { pending.Wait(); }
  } wait_for_ids{pending};
  auto new_chunk = [&](ByteView leftover) {
    uint64_t unread = size_hint && *size_hint > total ? *size_hint - total : 0;
    Bytes b = buffers_.Take(
        static_cast<size_t>(size_hint ? std::min<uint64_t>(max, leftover.size() + unread) : max));
    b.assign(leftover.begin(), leftover.end());
    return b;
  };
  Bytes chunk = new_chunk({});  // starts at a chunk boundary
  size_t scanned = 0;           // NextCut found no boundary within chunk[0, scanned)
  for (;;) {
    if (!eof && chunk.size() < max) {
      ssize_t n;
      if (size_hint && total >= *size_hint) {
        // Everything the size promised is read: probe for the end without growing the buffer.
        uint8_t probe[4096];
        do n = ::read(fd, probe, sizeof(probe));
        while (n < 0 && errno == EINTR);
        if (n > 0) chunk.insert(chunk.end(), probe, probe + n);  // the file grew
      } else {
        // Straight into the chunk's buffer (a pooled one, its pages mostly resident): growing it
        // by at most 256 KiB zero-fills bytes that stay in cache for the read that overwrites
        // them, which is cheaper than reading into a side buffer and copying (image first
        // backup: 0.25 s of memmove gone).
        size_t want = std::min(kReadPiece, max - chunk.size());
        if (size_hint) want = static_cast<size_t>(std::min<uint64_t>(want, *size_hint - total));
        const size_t old_size = chunk.size();
        chunk.resize(old_size + want);
        do n = ::read(fd, chunk.data() + old_size, want);
        while (n < 0 && errno == EINTR);
        chunk.resize(old_size + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      }
      if (n < 0) return PosixError("read");
      if (n == 0) eof = true;
      total += static_cast<uint64_t>(n);
      bytes_read_ += static_cast<uint64_t>(n);
      bytes_done_ += static_cast<uint64_t>(n);
      if (Cancelled()) return Status::Cancelled("interrupted");
    }
    if (chunk.empty() && eof) break;
    size_t cut = chunker.NextCut(chunk, eof, scanned);
    if (cut == 0) {  // no boundary yet and fewer than max bytes: read more
      scanned = chunk.size();
      continue;
    }
    // Bytes past the boundary: the start of the next chunk.
    Bytes& carry = PerThread<Bytes, struct CarryTag>();
    carry.assign(chunk.begin() + static_cast<ptrdiff_t>(cut), chunk.end());
    chunk.resize(cut);
    LB_RETURN_IF_ERROR(StoreChunk(std::move(chunk), &ids, &pending));
    chunk = new_chunk(carry);
    scanned = 0;
  }
  pending.Wait();
  // A saver that failed may have left ids unset; its error also fails the backup at Flush().
  if (saver_) LB_RETURN_IF_ERROR(saver_->status());
  content->insert(content->end(), ids.begin(), ids.end());
  return total;
}

int Archiver::OpenFile(DirState& dir, const std::string& name, const std::string& path) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  for (int attempt = 0;; ++attempt) {
    int fd;
    if (dir.is_virtual) {
      fd = OpenEntry(-1, name, path, flags);  // a path given to back up: by its path
    } else {
      auto lease = dirs_.Open(dir.link);
      if (!lease.ok()) {
        Issue(path, lease.status().message(), true);
        errno = 0;  // reported
        return -1;
      }
      fd = OpenEntry(lease->fd(), name, path, flags);
    }
    // Out of descriptors: the walk closes its idle ones, or other threads are given a moment
    // to finish with theirs, and the open is retried rather than the file left out.
    if (fd >= 0 || !IsOutOfDescriptors(errno)) return fd;
    const int err = errno;
    if (scan_dirs_.CloseIdle() == 0 && !dirs_.MakeRoom(attempt)) {
      errno = err;
      return -1;
    }
  }
}

void Archiver::ReadFileJob(const std::shared_ptr<DirState>& dir, size_t slot, std::string path,
                           Node node, bool had_old) {
  if (Cancelled() || !FatalStatus().ok()) {
    Release(dir);
    return;
  }
  {
    MutexLock lock(&mu_);
    current_path_ = path;
  }
  int fd = OpenFile(*dir, node.name, path);
  if (fd < 0) {
    if (errno != 0) {
      Status st = PosixError("open");
      Issue(path, errno == ENOENT ? "file vanished before it could be read" : st.message(), true);
    }
    Release(dir);
    return;
  }
  FileDescriptor guard(fd);
  struct stat before, after;
  if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode)) {
    Issue(path, "is no longer a regular file", true);
    Release(dir);
    return;
  }
  std::vector<Id> content;
  auto total = ChunkStream(fd, static_cast<uint64_t>(before.st_size), &content);
  if (!total.ok()) {
    if (total.status().code() == StatusCode::kCancelled) {
      Release(dir);
      return;
    }
    if (total.status().code() == StatusCode::kIOError ||
        total.status().code() == StatusCode::kPermissionDenied ||
        total.status().code() == StatusCode::kNotFound ||
        total.status().message().rfind("read", 0) == 0) {
      Issue(path, total.status().message(), true);
    } else {
      Fatal(total.status().WithContext(path));
    }
    Release(dir);
    return;
  }
  if (::fstat(fd, &after) == 0 &&
      (after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
       after.st_mtim.tv_nsec != before.st_mtim.tv_nsec ||
       after.st_ctim.tv_sec != before.st_ctim.tv_sec ||
       after.st_ctim.tv_nsec != before.st_ctim.tv_nsec ||
       static_cast<off_t>(*total) != after.st_size)) {
    Issue(path, "file changed while it was being read; the snapshot holds what was read", false);
  }
  // The node describes exactly what was stored.
  Node n = NodeFromStat(node.name, before);
  n.xattrs = std::move(node.xattrs);
  n.size = *total;
  n.content = std::move(content);
  dir->children[slot] = std::move(n);
  dir->valid[slot] = 1;
  // Counted once stored: a file that could not be read is an error, not a new or changed file.
  (had_old ? files_changed_ : files_new_)++;
  files_done_++;
  Release(dir);
}

}  // namespace lifeboat::backup
