#include "restorer/sparse_write.h"

#include <sys/stat.h>

#include <cstring>

#include "util/file_io.h"

namespace lifeboat {
namespace {
constexpr size_t kZeroPageSize = 4096;
alignas(64) const uint8_t kZeroPage[kZeroPageSize] = {};
}  // namespace

bool IsAllZero(const uint8_t* p, size_t n) {
  while (n > 0) {
    const size_t len = n < kZeroPageSize ? n : kZeroPageSize;
    if (std::memcmp(p, kZeroPage, len) != 0) return false;
    p += len;
    n -= len;
  }
  return true;
}

Status WriteSkippingZeroBlocks(int fd, ByteView data, uint64_t offset, size_t block_size,
                               std::string_view what) {
  const uint64_t mask = block_size - 1;
  size_t pos = 0, run = 0;  // [run, pos) is a run of non-zero blocks not written yet
  bool in_run = false;
  while (pos < data.size()) {
    // The part of data inside the block that holds file offset `offset + pos`.
    size_t len = static_cast<size_t>(block_size - ((offset + pos) & mask));
    if (len > data.size() - pos) len = data.size() - pos;
    const bool zero = IsAllZero(data.data() + pos, len);
    if (!zero && !in_run) {
      run = pos;
      in_run = true;
    } else if (zero && in_run) {
      LB_RETURN_IF_ERROR(PWriteAll(fd, data.subspan(run, pos - run), offset + run, what));
      in_run = false;
    }
    pos += len;
  }
  if (in_run) return PWriteAll(fd, data.subspan(run), offset + run, what);
  return Status::Ok();
}

size_t HoleBlockSize(int dirfd) {
  struct stat st;
  if (::fstat(dirfd, &st) != 0 || st.st_blksize <= 0) return 4096;
  size_t want = static_cast<size_t>(st.st_blksize);
  if (want > (1u << 20)) want = 1u << 20;
  size_t size = 512;
  while (size * 2 <= want) size *= 2;
  return size;
}

}  // namespace lifeboat
