// Fuzzes crypto::Aead (doc/repository-format.md §2.1), which every sealed object goes through.
//
// Modes (byte 0 % 2):
//   0 open:      arbitrary bytes -> Open with the test key. Success is possible only for objects
//                sealed with that key (the seed corpus has some); then the plaintext has the
//                right length, and any single flipped bit makes Open fail.
//   1 roundtrip: u32 bit position, then plaintext -> Seal -> Open gives it back; the sealed form
//                with that bit flipped, truncated by one byte or extended by one fails to open.
// On failure *out must be empty (no unauthenticated plaintext is handed out).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_common.h"

namespace lifeboat {
namespace {

bool OpensTo(ByteView sealed, Bytes* out) {
  Status st = fuzz::FixedAead().Open(sealed, out);
  if (!st.ok()) {
    FUZZ_CHECK(st.IsCorruption());
    FUZZ_CHECK(out->empty());
    return false;
  }
  FUZZ_CHECK(out->size() + crypto::kSealOverhead == sealed.size());
  return true;
}

void FuzzOpen(ByteView sealed) {
  Bytes out(7, 0xEE);  // stale content that Open must replace or clear
  if (!OpensTo(sealed, &out)) return;
  Bytes flipped(sealed.begin(), sealed.end());
  flipped[sealed.size() / 2] ^= 0x01;
  FUZZ_CHECK(!OpensTo(flipped, &out));
}

void FuzzRoundTrip(ByteView p) {
  uint32_t bit = fuzz::TakeU32(&p);
  Bytes sealed = fuzz::SealFixed(p);
  FUZZ_CHECK(sealed.size() == p.size() + crypto::kSealOverhead);
  Bytes out;
  FUZZ_CHECK(OpensTo(sealed, &out));
  FUZZ_CHECK(out.size() == p.size() && std::equal(out.begin(), out.end(), p.begin()));

  Bytes tampered = sealed;
  size_t at = bit % (tampered.size() * 8);
  tampered[at / 8] ^= static_cast<uint8_t>(1u << (at % 8));
  FUZZ_CHECK(!OpensTo(tampered, &out));
  FUZZ_CHECK(!OpensTo(ByteView(sealed).first(sealed.size() - 1), &out));
  Bytes longer = sealed;
  longer.push_back(static_cast<uint8_t>(bit));
  FUZZ_CHECK(!OpensTo(longer, &out));
}

}  // namespace
}  // namespace lifeboat

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lifeboat;
  return fuzz::Dispatch(data, size, {FuzzOpen, FuzzRoundTrip});
}
