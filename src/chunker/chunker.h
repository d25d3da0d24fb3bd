// Content-defined chunking: splits a byte stream into variable-size chunks whose boundaries depend
// only on the content, so an insertion or deletion moves at most a couple of boundaries.
//
//   Chunker chunker(GearTable::FromSecret(repo_chunker_secret), ChunkerParams{});
//   size_t len = chunker.NextCut(buffer, /*eof=*/true);  // first chunk is buffer[0, len)
//
// Algorithm (this text is the normative description; doc/ cites it):
//
// Gear hash. The table `gear` holds 256 uint64 values derived from a per-repository secret (see
// GearTable::FromSecret), so boundaries are not predictable without the secret. For a chunk that
// starts at byte 0, the hash after consuming bytes b[0..L) is
//     h(L) = sum_{j < L} gear[b[j]] << (L - 1 - j)      (mod 2^64)
// i.e. the recurrence h = (h << 1) + gear[byte] starting from h = 0 at the chunk start. A byte
// shifted left 64 or more times has left the word, so h(L) depends only on the last
// min(L, 64) bytes b[L-64..L). The implementation therefore does not hash the first
// min_size - 64 bytes of a chunk at all: it starts from h = 0 at byte min_size - 64 and the hash
// is "warm" (identical to the full recurrence) by the time it reaches length min_size.
//
// Cut rule (FastCDC normalized chunking, level 2). Let a = log2(avg_size). Two masks select the
// top bits of the 64-bit hash, which carry the longest history:
//     mask_strict = top (a + 2) bits set = ~uint64_t{0} << (64 - (a + 2))
//     mask_loose  = top (a - 2) bits set = ~uint64_t{0} << (64 - (a - 2))
// For the default avg_size = 1 MiB (a = 20): mask_strict = 0xFFFFFC0000000000 (22 bits),
// mask_loose = 0xFFFFC00000000000 (18 bits). The chunk length is the smallest L with
//     min_size <= L <  avg_size  and (h(L) & mask_strict) == 0, or
//     avg_size <= L <  max_size  and (h(L) & mask_loose)  == 0, or
//     L = max_size                                               (forced cut),
// and the last chunk of a stream is simply whatever remains (possibly shorter than min_size).
// With the default parameters the mean chunk size on random data is about 1.2 MiB.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

// Chunk size limits in bytes. Valid when 64 <= min_size < avg_size < max_size and avg_size is a
// power of two (see Chunker::ValidateParams). Part of the repository format: changing them
// changes every boundary and defeats deduplication against existing snapshots.
struct ChunkerParams {
  size_t min_size = 512 * 1024;
  size_t avg_size = 1024 * 1024;
  size_t max_size = 8 * 1024 * 1024;
};

// The 256-entry gear table. Holds secret-derived material: it is wiped on destruction.
// Immutable after construction; safe to share between threads.
class GearTable {
 public:
  static constexpr size_t kSecretSize = 32;
  static constexpr size_t kEntries = 256;

  // Derives the table from the 32-byte per-repository chunker secret:
  //     block[c] = SHA-256(secret || "lifeboat-gear-v1" || u32le(c))   for c = 0..63
  // ("lifeboat-gear-v1" is the 16 ASCII bytes without a terminator, u32le(c) the counter as 4
  // little-endian bytes), the 64 blocks concatenated in order of c (2048 bytes) and read as 256
  // little-endian uint64: gear[i] = LE64(bytes[8i .. 8i+8)).
  // REQUIRES: secret.size() == kSecretSize. A secret of another length is a programming error
  // (the key file decoder validates it) and aborts the process, as does an OpenSSL failure: a
  // silently different table would produce a different, incompatible chunking.
  // Thread-safe; does not block.
  static GearTable FromSecret(ByteView secret);

  GearTable(const GearTable& other) = default;
  GearTable& operator=(const GearTable& other) = default;
  ~GearTable();

  // The 256 entries, owned by this object and valid for its lifetime.
  const uint64_t* data() const { return table_.data(); }

 private:
  GearTable() = default;
  std::array<uint64_t, kEntries> table_{};
};

// Finds chunk boundaries. Stateless after construction: NextCut is const and may be called from
// any number of threads at once.
class Chunker {
 public:
  // Returns OK when `params` are usable: 64 <= min_size < avg_size < max_size, avg_size a power
  // of two. Otherwise InvalidArgument naming the offending value. Use this on any params that
  // come from outside the program before constructing a Chunker.
  static Status ValidateParams(const ChunkerParams& params);

  // Copies `table` (it need not outlive the Chunker).
  // REQUIRES: ValidateParams(params).ok(); otherwise the process aborts with a message.
  Chunker(const GearTable& table, ChunkerParams params);

  // `data` starts at a chunk boundary. Returns the length of the first chunk in `data`.
  // - A boundary found within `data`, or data.size() >= max_size: returns its length L
  //   (min_size <= L <= max_size). The result does not depend on bytes past L, so it is the same
  //   however much more data the buffer holds.
  // - No boundary within `data`, data.size() < max_size and !eof: returns 0. The caller must
  //   supply more data and call again with the same start; supplying at least max_size bytes (or
  //   everything left, with eof = true) guarantees a non-zero answer. To grow the buffer in small
  //   increments without rescanning it, pass as `scanned` the size of the data given to the last
  //   call that returned 0 for this start: lengths up to `scanned` are then not tested again
  //   (they cannot be boundaries), and the result is the same as with scanned = 0.
  // - eof = true: `data` is all that remains; returns min(data.size(), L), so 0 only for empty
  //   data, and a final chunk shorter than min_size is possible.
  // Never returns more than max_size. Thread-safe (const, no shared mutable state); no I/O.
  size_t NextCut(ByteView data, bool eof, size_t scanned = 0) const;

  const ChunkerParams& params() const { return params_; }
  uint64_t strict_mask() const { return mask_strict_; }
  uint64_t loose_mask() const { return mask_loose_; }

 private:
  GearTable table_;
  ChunkerParams params_;
  uint64_t mask_strict_;
  uint64_t mask_loose_;
};

}  // namespace lifeboat
