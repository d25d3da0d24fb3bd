// Blob encoding: the stored form of one chunk or tree (doc/repository-format.md §5).
//
//   BlobCodec codec(keys.aead(), keys.id_mac(), /*zstd_level=*/3);
//   Id id = codec.ComputeId(chunk);
//   LB_RETURN_IF_ERROR(codec.Encode(chunk, id, &stored));   // compress, seal, verify
//   LB_RETURN_IF_ERROR(codec.Decode(stored, id, &plain));    // open, decompress, verify id
#pragma once

#include <cstdint>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/id.h"
#include "util/status.h"

namespace lifeboat {

enum class BlobType : uint8_t { kData = 0, kTree = 1 };
std::string_view BlobTypeName(BlobType t);

// Largest plaintext a blob may have (the chunker's max is 8 MiB; trees may be larger).
inline constexpr size_t kMaxBlobSize = 64u << 20;

// Thread-safe: all methods are const and use thread-local compression contexts.
// Holds references to the keys; they must outlive the codec.
class BlobCodec {
 public:
  BlobCodec(const crypto::Aead& aead, const crypto::HmacSha256& id_mac, int zstd_level)
      : aead_(aead), id_mac_(id_mac), level_(zstd_level) {}

  Id ComputeId(ByteView plaintext) const { return Id{id_mac_.Mac(plaintext)}; }

  // Appends the stored form of `plaintext` to *out: zstd if it shrinks, else raw; then sealed.
  // Before returning, opens the result again, decompresses it and recomputes the id; if that id
  // differs from `id` the output is discarded and Internal is returned (compressor or memory fault).
  Status Encode(ByteView plaintext, const Id& id, Bytes* out) const;

  // Opens, decompresses and verifies a stored blob. Corruption (naming the blob) when the tag,
  // the frame or the id does not match. `raw_length` is the expected plaintext size.
  Status Decode(ByteView stored, const Id& id, uint32_t raw_length, Bytes* out) const;

  // Checks a stored blob without keeping its plaintext: opens it, decompresses and re-hashes it in
  // pieces (memory: a few hundred KiB, not the blob's size). Corruption (not naming the blob) when
  // the tag, the frame, the length or the id does not match. Encode uses it on its own output.
  Status VerifyStored(ByteView stored, size_t raw_length, const Id& id) const;

 private:
  const crypto::Aead& aead_;
  const crypto::HmacSha256& id_mac_;
  int level_;
};

}  // namespace lifeboat
