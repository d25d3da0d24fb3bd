// Fuzzes the pack header (doc/repository-format.md §6): DecodePackHeader on plaintext, and
// ParsePack / ReadPackHeader on whole packs, raw or built around a header sealed with the test key.
//
// Modes (byte 0 % 3):
//   0 plain:  u32 blobs_end, then header plaintext -> DecodePackHeader
//   1 raw:    a whole pack (blobs, sealed header, u32 trailer) -> ParsePack and ReadPackHeader
//   2 sealed: u16 blobs region length, then header plaintext; the pack is that many filler bytes,
//             the plaintext sealed with the test key, and the trailer -> ParsePack/ReadPackHeader
// Invariants: an accepted header re-encodes to the same plaintext and tiles [0, blobs_end); the
// in-memory parser and the backend reader agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "backend/memory_backend.h"
#include "fuzz/fuzz_common.h"
#include "pack/pack.h"

namespace lifeboat {
namespace {

void CheckHeader(const std::vector<PackedBlob>& blobs, uint64_t blobs_end) {
  uint64_t offset = 0;
  for (const auto& b : blobs) {
    FUZZ_CHECK(b.offset == offset);
    FUZZ_CHECK(b.stored_length > crypto::kSealOverhead);
    FUZZ_CHECK(b.raw_length <= kMaxBlobSize);
    offset += b.stored_length;
  }
  FUZZ_CHECK(offset == blobs_end);
}

void FuzzPlain(ByteView payload) {
  uint64_t blobs_end = fuzz::TakeU32(&payload);
  auto blobs = DecodePackHeader(payload, blobs_end);
  if (!blobs.ok()) return;
  CheckHeader(*blobs, blobs_end);
  Bytes again = EncodePackHeader(*blobs);
  FUZZ_CHECK(ByteView(again).size() == payload.size() &&
             std::equal(again.begin(), again.end(), payload.begin()));
}

void FuzzPack(ByteView pack) {
  const std::string name = "fuzzpack";
  auto parsed = ParsePack(fuzz::FixedAead(), name, pack);
  MemoryBackend backend;
  ObjectHandle h{ObjectType::kPack, name};
  FUZZ_CHECK(backend.Save(h, pack).ok());
  auto read = ReadPackHeader(backend, fuzz::FixedAead(), name, pack.size());
  FUZZ_CHECK(parsed.ok() == read.ok());
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().IsCorruption());
    FUZZ_CHECK(read.status().IsCorruption());
    return;
  }
  FUZZ_CHECK(parsed->size() == read->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    const PackedBlob& a = (*parsed)[i];
    const PackedBlob& b = (*read)[i];
    FUZZ_CHECK(a.type == b.type && a.id == b.id && a.offset == b.offset &&
               a.stored_length == b.stored_length && a.raw_length == b.raw_length);
  }
  uint32_t header_len = LoadLE32(pack.data() + pack.size() - 4);
  CheckHeader(*parsed, pack.size() - 4 - header_len);
}

void FuzzSealed(ByteView p) {
  size_t filler = p.size() >= 2 ? (size_t{p[0]} | size_t{p[1]} << 8) : 0;
  p = p.subspan(std::min<size_t>(2, p.size()));
  Bytes pack(filler, 0xAB);
  FUZZ_CHECK(fuzz::FixedAead().SealAppend(p, &pack).ok());
  uint8_t trailer[4];
  StoreLE32(trailer, static_cast<uint32_t>(p.size() + crypto::kSealOverhead));
  pack.insert(pack.end(), trailer, trailer + 4);
  FuzzPack(pack);
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzPlain, FuzzPack, FuzzSealed});
}
