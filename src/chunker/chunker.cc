#include "chunker/chunker.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lifeboat {
namespace {

constexpr char kGearLabel[] = "lifeboat-gear-v1";  // 16 bytes, no terminator hashed
constexpr size_t kGearLabelSize = sizeof(kGearLabel) - 1;
constexpr size_t kShaSize = 32;
constexpr size_t kBlocks = GearTable::kEntries * sizeof(uint64_t) / kShaSize;  // 64
// Bytes of history the 64-bit gear hash depends on.
constexpr size_t kWindow = 64;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "lifeboat chunker: fatal: %s\n", what);
  std::abort();
}

// Hashes p[begin, end) into *h, one byte at a time, and returns the chunk length L = i + 1 for
// the first byte index i at which (h & mask) == 0, or 0 when there is none (then *h holds the
// hash after p[end - 1]). Unrolled by 8; the only per-byte branch is the (rarely taken) cut test.
inline size_t Scan(const uint8_t* p, size_t begin, size_t end, uint64_t mask, const uint64_t* gear,
                   uint64_t* h) {
  uint64_t hv = *h;
  size_t i = begin;
#define LB_GEAR_STEP(k)                \
  hv = (hv << 1) + gear[p[i + (k)]];   \
  if ((hv & mask) == 0) [[unlikely]] { \
    return i + (k) + 1;                \
  }
  while (end - i >= 8) {
    LB_GEAR_STEP(0)
    LB_GEAR_STEP(1)
    LB_GEAR_STEP(2)
    LB_GEAR_STEP(3)
    LB_GEAR_STEP(4)
    LB_GEAR_STEP(5)
    LB_GEAR_STEP(6)
    LB_GEAR_STEP(7)
    i += 8;
  }
  for (; i < end; ++i) {
    LB_GEAR_STEP(0)
  }
#undef LB_GEAR_STEP
  *h = hv;
  return 0;
}

}  // namespace

GearTable GearTable::FromSecret(ByteView secret) {
  if (secret.size() != kSecretSize) Die("gear table secret must be exactly 32 bytes");
  // secret || label || u32le counter
  uint8_t input[kSecretSize + kGearLabelSize + 4];
  std::copy(secret.begin(), secret.end(), input);
  std::copy(kGearLabel, kGearLabel + kGearLabelSize, input + kSecretSize);
  uint8_t bytes[kBlocks * kShaSize];
  for (uint32_t c = 0; c < kBlocks; ++c) {
    StoreLE32(input + kSecretSize + kGearLabelSize, c);
    unsigned int out_len = 0;
    if (EVP_Digest(input, sizeof(input), bytes + c * kShaSize, &out_len, EVP_sha256(), nullptr) !=
            1 ||
        out_len != kShaSize) {
      Die("SHA-256 failed while deriving the gear table");
    }
  }
  GearTable table;
  for (size_t i = 0; i < kEntries; ++i) {
    uint64_t v = 0;
    for (size_t b = 0; b < 8; ++b) v |= uint64_t{bytes[8 * i + b]} << (8 * b);
    table.table_[i] = v;
  }
  OPENSSL_cleanse(input, sizeof(input));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return table;
}

GearTable::~GearTable() { OPENSSL_cleanse(table_.data(), sizeof(table_)); }

Status Chunker::ValidateParams(const ChunkerParams& params) {
  if (params.min_size < kWindow) {
    return Status::InvalidArgument("chunker min_size " + std::to_string(params.min_size) +
                                   " is below 64 bytes");
  }
  if (!std::has_single_bit(params.avg_size) || params.avg_size > (size_t{1} << 62)) {
    return Status::InvalidArgument("chunker avg_size " + std::to_string(params.avg_size) +
                                   " is not a power of two (at most 2^62)");
  }
  if (params.min_size >= params.avg_size || params.avg_size >= params.max_size) {
    return Status::InvalidArgument(
        "chunker sizes must satisfy min_size < avg_size < max_size, got " +
        std::to_string(params.min_size) + " / " + std::to_string(params.avg_size) + " / " +
        std::to_string(params.max_size));
  }
  return Status::Ok();
}

Chunker::Chunker(const GearTable& table, ChunkerParams params)
    : table_(table), params_(params), mask_strict_(0), mask_loose_(0) {
  Status s = ValidateParams(params);
  if (!s.ok()) Die(s.ToString().c_str());
  // avg_size > min_size >= 64, so 7 <= bits <= 62 and both shifts below are in range.
  const int bits = std::countr_zero(params.avg_size);
  mask_strict_ = ~uint64_t{0} << (64 - (bits + 2));
  mask_loose_ = ~uint64_t{0} << (64 - (bits - 2));
}

size_t Chunker::NextCut(ByteView data, bool eof, size_t scanned) const {
  const size_t n = data.size();
  const size_t min_size = params_.min_size;
  const size_t avg_size = params_.avg_size;
  const size_t max_size = params_.max_size;
  if (n < min_size) return eof ? n : 0;

  const uint8_t* p = data.data();
  const uint64_t* gear = table_.data();
  const size_t limit = std::min(n, max_size);  // lengths L <= limit are decidable
  // The first length to test: min_size, or the first one an earlier call did not test.
  const size_t first = std::max(min_size, std::min(scanned, limit) + 1);

  if (first <= limit) {
    // Warm-up: h(first) depends only on bytes [first - 64, first), so start from h = 0 there.
    // Bytes up to index first - 2 are hashed without a test; from index first - 1 on (length
    // L = index + 1 >= first) every step tests the mask.
    uint64_t h = 0;
    for (size_t i = first - kWindow; i < first - 1; ++i) h = (h << 1) + gear[p[i]];
    // Lengths [min_size, avg_size): strict mask. Byte index i gives length i + 1.
    const size_t strict_end = std::min(limit, avg_size - 1);
    size_t i = first - 1;
    if (i < strict_end) {
      if (size_t cut = Scan(p, i, strict_end, mask_strict_, gear, &h); cut != 0) return cut;
      i = strict_end;
    }
    // Lengths [avg_size, max_size): loose mask.
    const size_t loose_end = std::min(limit, max_size - 1);
    if (i < loose_end) {
      if (size_t cut = Scan(p, i, loose_end, mask_loose_, gear, &h); cut != 0) return cut;
    }
  }
  if (n >= max_size) return max_size;  // forced cut
  return eof ? n : 0;
}

}  // namespace lifeboat
