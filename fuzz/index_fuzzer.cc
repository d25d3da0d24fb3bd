// Fuzzes index files (doc/repository-format.md §7): DecodeIndexFile, then loads the result into
// a MasterIndex the way Repository::LoadIndex does (BulkAdd + Compact) and the way a backup adds
// packs (AddPack), and looks every blob up.
//
// Modes (byte 0 % 2):
//   0 plain: index plaintext -> DecodeIndexFile
//   1 raw:   a stored (sealed) index object -> Aead::Open with the test key -> DecodeIndexFile
// Invariants: an accepted file re-encodes to the same bytes; every listed blob is found, in the
// first pack (in file order) that lists it; blob_count is the number of distinct (type, id).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>

#include "fuzz/fuzz_common.h"
#include "index/index.h"

namespace lifeboat {
namespace {

bool SameLocation(const BlobLocation& loc, const Id& pack, const PackedBlob& b) {
  return loc.type == b.type && loc.pack == pack && loc.offset == b.offset &&
         loc.stored_length == b.stored_length && loc.raw_length == b.raw_length;
}

// Checks every lookup against the file: the location must be one the file gives for the blob,
// and when every pack is listed once, one from the first pack (in file order) that has the blob.
// (A pack may list one blob twice; either entry is acceptable.)
void CheckLookups(const MasterIndex& index, const IndexFile& file) {
  using Key = std::pair<uint8_t, Id>;
  std::map<Key, Id> first_pack;
  std::map<Id, int> pack_listed;
  bool packs_unique = true;
  for (const auto& p : file.packs) {
    if (++pack_listed[p.name] > 1) packs_unique = false;
    for (const auto& b : p.blobs) first_pack.try_emplace(Key{uint8_t(b.type), b.id}, p.name);
  }
  FUZZ_CHECK(index.blob_count() == first_pack.size());
  FUZZ_CHECK(index.pack_count() == pack_listed.size());
  for (const auto& [key, pack] : first_pack) {
    auto loc = index.Find(static_cast<BlobType>(key.first), key.second);
    FUZZ_CHECK(loc.has_value());
    if (packs_unique) FUZZ_CHECK(loc->pack == pack);
    bool listed = false;
    for (const auto& p : file.packs) {
      for (const auto& b : p.blobs)
        if (uint8_t(b.type) == key.first && b.id == key.second && SameLocation(*loc, p.name, b))
          listed = true;
    }
    FUZZ_CHECK(listed);
    // The other type of the same id is found only if the file lists it.
    Key other{static_cast<uint8_t>(key.first ^ 1), key.second};
    FUZZ_CHECK(index.Has(static_cast<BlobType>(other.first), other.second) ==
               (first_pack.count(other) == 1));
    // A neighbouring id that the file does not list is not found.
    Id near = key.second;
    near.bytes[31] ^= 1;
    if (!first_pack.count(Key{key.first, near}))
      FUZZ_CHECK(!index.Has(static_cast<BlobType>(key.first), near));
  }
}

void FuzzPlain(ByteView plain) {
  auto file = DecodeIndexFile(plain);
  if (!file.ok()) {
    FUZZ_CHECK(file.status().IsCorruption());
    return;
  }
  Bytes again = EncodeIndexFile(*file);
  FUZZ_CHECK(again.size() == plain.size() && std::equal(again.begin(), again.end(), plain.begin()));

  MasterIndex bulk;
  for (const auto& p : file->packs) bulk.BulkAdd(p.name, p.blobs);
  bulk.Compact();
  CheckLookups(bulk, *file);

  MasterIndex overlay;
  for (const auto& p : file->packs) overlay.AddPack(p.name, p.blobs);
  CheckLookups(overlay, *file);
  overlay.Compact();
  CheckLookups(overlay, *file);
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzPlain, fuzz::OpenFixedThen<FuzzPlain>});
}
