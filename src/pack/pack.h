// Packs: many stored blobs in one object, in random order, followed by a sealed header
// (doc/repository-format.md §6).
//
//   PackWriter w(aead);
//   w.Add(BlobType::kData, id, std::move(stored), raw_len);
//   LB_ASSIGN_OR_RETURN(FinishedPack p, w.Finish());    // p.name = SHA-256 of the pack
//   LB_RETURN_IF_ERROR(backend.SaveParts({ObjectType::kPack, p.name.Hex()}, p.Views()));
//   LB_ASSIGN_OR_RETURN(auto blobs, ReadPackHeader(backend, aead, p.name.Hex(), p.size));
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "pack/blob.h"
#include "util/id.h"
#include "util/status.h"

namespace lifeboat {

inline constexpr size_t kPackHeaderEntrySize = 41;
inline constexpr uint8_t kPackHeaderVersion = 1;

struct PackedBlob {
  BlobType type = BlobType::kData;
  Id id;
  uint32_t offset = 0;         // within the pack
  uint32_t stored_length = 0;  // bytes in the pack (sealed frame)
  uint32_t raw_length = 0;     // plaintext bytes
};

// A finished pack, kept as its pieces: the pack object is the concatenation of `parts` (each
// blob's stored bytes in pack order, then the sealed header with its length trailer), so it is
// written without being copied into one buffer (Backend::SaveParts).
struct FinishedPack {
  Id name;                        // SHA-256 of the pack object
  std::vector<Bytes> parts;       // the pack object, in pieces
  std::vector<PackedBlob> blobs;  // in pack order, with offsets
  uint64_t size = 0;              // bytes in the pack object

  std::vector<ByteView> Views() const { return {parts.begin(), parts.end()}; }
  // The whole pack object in one buffer (tests, tools).
  Bytes Joined() const;
};

// Collects stored blobs for one pack. Not thread-safe: one writer per thread.
class PackWriter {
 public:
  explicit PackWriter(const crypto::Aead& aead) : aead_(aead) {}

  // Takes ownership of an already encoded blob (BlobCodec::Encode output).
  void Add(BlobType type, const Id& id, Bytes stored, uint32_t raw_length);
  size_t bytes() const { return bytes_; }
  size_t count() const { return pending_.size(); }
  bool empty() const { return pending_.empty(); }

  // Shuffles the blobs, lays them out, appends the sealed header and trailer, and resets the
  // writer. Fails only when the CSPRNG or sealing fails.
  Result<FinishedPack> Finish();

 private:
  struct Pending {
    BlobType type;
    Id id;
    Bytes stored;
    uint32_t raw_length;
  };
  const crypto::Aead& aead_;
  std::vector<Pending> pending_;
  size_t bytes_ = 0;
};

// Encodes/decodes the header plaintext.
Bytes EncodePackHeader(const std::vector<PackedBlob>& blobs);
// Checks that entries tile [0, blobs_end) exactly; Corruption otherwise.
Result<std::vector<PackedBlob>> DecodePackHeader(ByteView plaintext, uint64_t blobs_end);

// Reads and verifies the header of pack `name` of total size `size` (two range loads at most).
// Corruption names the pack.
Result<std::vector<PackedBlob>> ReadPackHeader(Backend& backend, const crypto::Aead& aead,
                                               const std::string& name, uint64_t size);
// Same, from the bytes of a whole pack already in memory.
Result<std::vector<PackedBlob>> ParsePack(const crypto::Aead& aead, const std::string& name,
                                          ByteView pack);

}  // namespace lifeboat
