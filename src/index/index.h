// The blob index: which pack holds each blob (doc/repository-format.md §7).
//
//   MasterIndex index;
//   index.AddPack(pack_name, blobs);            // from a pack header or an index file
//   if (auto loc = index.Find(BlobType::kData, id)) Load(loc->pack, loc->offset, ...);
//
// Memory: a sorted array of 48-byte entries plus a 64 Ki directory on the first two id bytes, and
// a hash-map overlay for entries added since the last Compact(). Compact() folds the overlay in.
// Thread safety: all methods may be called concurrently (internal shared mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pack/pack.h"
#include "util/id.h"
#include "util/mutex.h"
#include "util/status.h"
#include "util/thread_annotations.h"

namespace lifeboat {

struct BlobLocation {
  BlobType type = BlobType::kData;
  Id pack;
  uint32_t offset = 0;
  uint32_t stored_length = 0;
  uint32_t raw_length = 0;
};

class MasterIndex {
 public:
  MasterIndex();

  // Records every blob of one pack. Blobs already known (in another pack) keep their first
  // location. Thread-safe.
  void AddPack(const Id& pack, const std::vector<PackedBlob>& blobs);

  // Location of a blob, or nullopt. Thread-safe.
  std::optional<BlobLocation> Find(BlobType type, const Id& id) const;
  bool Has(BlobType type, const Id& id) const { return Find(type, id).has_value(); }

  // Appends every blob of one pack without making it findable yet: for loading index files,
  // where 48 bytes per blob is all the memory it may take. Call Compact() afterwards. Thread-safe.
  void BulkAdd(const Id& pack, const std::vector<PackedBlob>& blobs);

  // Folds bulk-added entries and the overlay into the sorted array, dropping duplicates.
  // Peak extra memory: one block of bulk entries. Thread-safe.
  void Compact();

  size_t blob_count() const;
  size_t pack_count() const;
  // Bytes of heap memory held (entries, directory, overlay estimate, pack table).
  size_t MemoryUsage() const;

  // Drops every entry and pack. Thread-safe.
  void Clear();

  // Position of a blob in the sorted array, in [0, blob_count()), or nullopt when the blob is not
  // there (unknown, or only in the overlay / bulk entries: call Compact() first). Positions are
  // stable until the next Add/BulkAdd/Compact/Clear, so a caller can keep one bit per blob in a
  // vector indexed by position (prune's "used" set). Thread-safe.
  std::optional<size_t> Position(BlobType type, const Id& id) const;

  // Calls fn(pack, blobs) once per pack that has entries, blobs sorted by offset. Requires a
  // compacted index (overlay and bulk entries are included too, but cost a copy). Extra memory:
  // 4 bytes per blob for the ordering plus one pack's blob list. The index must not change during
  // the call; fn must not call back into it. Stops at and returns the first error fn returns.
  Status ForEachPack(
      const std::function<Status(const Id& pack, const std::vector<PackedBlob>& blobs)>& fn) const;
  // The location / blob id stored at `position` (from Position(), or any value below
  // blob_count() of a compacted index). REQUIRES: position < sorted size. Thread-safe.
  BlobLocation AtPosition(size_t position) const;
  Id IdAtPosition(size_t position) const;

  // Calls fn(pack, blob) for every entry, grouped by nothing in particular.
  void ForEach(const std::function<void(const Id& pack, const PackedBlob& blob)>& fn) const;
  std::vector<Id> Packs() const;

 private:
  // 48 bytes: the on-heap form of one blob location.
  struct Entry {
    Id id;
    uint32_t pack;      // number into packs_
    uint32_t offset;
    uint32_t stored_length;
    uint32_t raw_and_type;  // raw length; top bit set for tree blobs
  };
  static_assert(sizeof(Entry) == 48);
  struct Key {
    Id id;
    BlobType type;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return IdHash()(k.id) ^ static_cast<size_t>(k.type); }
  };

  static BlobType TypeOf(const Entry& e) {
    return (e.raw_and_type >> 31) ? BlobType::kTree : BlobType::kData;
  }
  const Entry* FindSorted(BlobType type, const Id& id) const REQUIRES_SHARED(mu_);
  BlobLocation ToLocation(const Entry& e) const REQUIRES_SHARED(mu_);
  uint32_t PackNumber(const Id& pack) REQUIRES(mu_);
  void RebuildDirectory() REQUIRES(mu_);

  mutable SharedMutex mu_;
  std::vector<Entry> sorted_ GUARDED_BY(mu_);
  std::vector<uint32_t> directory_ GUARDED_BY(mu_);  // 65537 offsets into sorted_
  std::unordered_map<Key, Entry, KeyHash> overlay_ GUARDED_BY(mu_);
  std::vector<std::vector<Entry>> bulk_ GUARDED_BY(mu_);  // blocks of kBulkBlock entries
  static constexpr size_t kBulkBlock = 1 << 16;
  std::vector<Id> packs_ GUARDED_BY(mu_);
  std::unordered_map<Id, uint32_t, IdHash> pack_numbers_ GUARDED_BY(mu_);
};

// One index file's content.
struct IndexFile {
  std::vector<Id> supersedes;
  struct Pack {
    Id name;
    std::vector<PackedBlob> blobs;
  };
  std::vector<Pack> packs;
};

inline constexpr uint8_t kIndexVersion = 1;
Bytes EncodeIndexFile(const IndexFile& index);
// Validates lengths and counts against the input size (never over-allocates on bad input).
Result<IndexFile> DecodeIndexFile(ByteView plaintext);

}  // namespace lifeboat
