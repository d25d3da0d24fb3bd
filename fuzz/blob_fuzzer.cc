// Fuzzes blob decoding (doc/repository-format.md §5): BlobCodec::Decode with the fixed test keys.
//
// Modes (byte 0 % 3):
//   0 raw:       u32 raw_length, 32-byte id, then the stored blob -> Decode
//   1 sealed:    u32 raw_length, 32-byte id, then a frame (compression byte + payload) that is
//                sealed with the test key -> Decode. The id rarely matches, but the frame decoder
//                (zstd, lengths) runs before the id check.
//   2 roundtrip: u8 level selector, then plaintext -> Encode -> Decode must give it back.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"
#include "pack/blob.h"

namespace lifeboat {
namespace {

const BlobCodec& Codec(int level) {
  static const BlobCodec* codecs[4] = {
      new BlobCodec(fuzz::FixedAead(), fuzz::FixedIdMac(), -1),
      new BlobCodec(fuzz::FixedAead(), fuzz::FixedIdMac(), 1),
      new BlobCodec(fuzz::FixedAead(), fuzz::FixedIdMac(), 3),
      new BlobCodec(fuzz::FixedAead(), fuzz::FixedIdMac(), 9),
  };
  return *codecs[level & 3];
}

void FuzzDecode(ByteView p, bool seal) {
  uint32_t raw_length = fuzz::TakeU32(&p);
  Id id;
  size_t n = std::min(p.size(), id.bytes.size());
  std::copy(p.begin(), p.begin() + n, id.bytes.begin());
  p = p.subspan(n);
  Bytes stored = seal ? fuzz::SealFixed(p) : Bytes(p.begin(), p.end());
  Bytes out;
  Status st = Codec(3).Decode(stored, id, raw_length, &out);
  if (!st.ok()) {
    FUZZ_CHECK(st.IsCorruption());
    return;
  }
  FUZZ_CHECK(out.size() == raw_length);
  FUZZ_CHECK(Codec(3).ComputeId(out) == id);
}

void FuzzRaw(ByteView p) { FuzzDecode(p, /*seal=*/false); }
void FuzzSealed(ByteView p) { FuzzDecode(p, /*seal=*/true); }

void FuzzRoundTrip(ByteView p) {
  if (p.empty()) return;
  const BlobCodec& codec = Codec(p[0]);
  ByteView plain = p.subspan(1);
  Id id = codec.ComputeId(plain);
  Bytes stored;
  FUZZ_CHECK(codec.Encode(plain, id, &stored).ok());
  FUZZ_CHECK(stored.size() <= plain.size() + 1 + crypto::kSealOverhead);
  Bytes out;
  FUZZ_CHECK(codec.Decode(stored, id, static_cast<uint32_t>(plain.size()), &out).ok());
  FUZZ_CHECK(out.size() == plain.size() && std::equal(out.begin(), out.end(), plain.begin()));
  // A wrong expected length must be refused, never padded or truncated.
  FUZZ_CHECK(!codec.Decode(stored, id, static_cast<uint32_t>(plain.size() + 1), &out).ok());
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzRaw, FuzzSealed, FuzzRoundTrip});
}
