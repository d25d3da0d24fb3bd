// Sparse writing for restore: content is written block by block, and a file-system block whose
// bytes are all zero is never written, so it stays a hole in a freshly created file.
//
//   LB_RETURN_IF_ERROR(WriteSkippingZeroBlocks(fd, blob, offset, 4096, "blob 1f2e at 0"));
//   ... ftruncate(fd, size) afterwards, so that a trailing hole stays a hole.
//
// Why blocks and not blobs: a chunk of ~1 MiB of a VM image or a database file is rarely zero as
// a whole, but most of its 4 KiB blocks may be; skipping only all-zero chunks restored a 1 GiB
// file with 50 MiB of data as 1016 MiB on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

// Whether all `n` bytes at `p` are zero. Cheap on data that is not: it compares against a static
// zero page with memcmp (vectorised by the C library), which stops at the first non-zero byte.
bool IsAllZero(const uint8_t* p, size_t n);

// Writes `data` at file offset `offset` of `fd`, leaving out every part of it that falls in an
// all-zero block: blocks are `block_size` bytes (a power of two, the file system's st_blksize)
// aligned to the file, not to `data`, so the two pieces of a block split between two calls are
// judged each on its own and the block becomes a hole when both are zero. Non-zero blocks that
// follow each other are written with one pwrite. The regions left out must read as zero: the
// caller writes into a new file (or one it truncated), never over old content. Thread-safe for
// distinct ranges of one file. `what` names the data in errors.
Status WriteSkippingZeroBlocks(int fd, ByteView data, uint64_t offset, size_t block_size,
                               std::string_view what);

// The block size to judge holes by for files created in the directory open as `dirfd`: its file
// system's st_blksize, clamped to [512, 1 MiB] and rounded down to a power of two; 4096 when it
// cannot be read. A smaller size than the real block is never wrong (a zero block is zero in
// every part), only slower.
size_t HoleBlockSize(int dirfd);

}  // namespace lifeboat
