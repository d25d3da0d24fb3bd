#include "chunker/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <vector>

namespace lifeboat {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// One step of xorshift64 (13, 7, 17): advances *state and returns the new value.
uint64_t Xorshift64(uint64_t* state) {
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return *state;
}

// xorshift64 (13, 7, 17), each state emitted as 8 little-endian bytes. The known-answer vectors
// below were produced by an independent Python implementation of the spec in chunker.h using
// the same generator.
Bytes XorshiftBytes(uint64_t seed, size_t n) {
  Bytes out(n);
  uint64_t s = seed;
  for (size_t i = 0; i < n; i += 8) {
    Xorshift64(&s);
    for (size_t b = 0; b < 8 && i + b < n; ++b) out[i + b] = static_cast<uint8_t>(s >> (8 * b));
  }
  return out;
}

Bytes Secret(uint8_t first) {
  Bytes s(GearTable::kSecretSize);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(first + i);
  return s;
}

// 128 MiB of pseudo-random data, generated once and shared by the large tests.
const Bytes& BigRandom() {
  static const Bytes* data = new Bytes(XorshiftBytes(0x0123456789abcdefULL, 128 * kMiB));
  return *data;
}
ByteView Random64MiB() { return ByteView(BigRandom()).first(64 * kMiB); }

// End offsets of all chunks of `data`, chunked as one buffer.
std::vector<size_t> CutAll(const Chunker& chunker, ByteView data) {
  std::vector<size_t> cuts;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t cut = chunker.NextCut(data.subspan(pos), /*eof=*/true);
    if (cut == 0 || cut > chunker.params().max_size) {
      ADD_FAILURE() << "bad cut " << cut << " at " << pos;
      break;
    }
    pos += cut;
    cuts.push_back(pos);
  }
  return cuts;
}

// Straightforward implementation of the spec in chunker.h: full-history gear hash from the
// chunk start, one length at a time, no warm-up shortcut and no unrolling.
size_t ReferenceCut(const uint64_t* gear, const ChunkerParams& p, uint64_t mask_strict,
                    uint64_t mask_loose, ByteView data, bool eof) {
  uint64_t h = 0;
  for (size_t len = 1; len <= data.size() && len <= p.max_size; ++len) {
    h = (h << 1) + gear[data[len - 1]];
    if (len == p.max_size) return len;
    if (len >= p.min_size && len < p.avg_size && (h & mask_strict) == 0) return len;
    if (len >= p.avg_size && (h & mask_loose) == 0) return len;
  }
  return eof ? data.size() : 0;
}

TEST(GearTableTest, KnownAnswer) {
  GearTable t = GearTable::FromSecret(Secret(0));  // bytes 00 01 .. 1f
  EXPECT_EQ(t.data()[0], 0x79c64c78534fcc9dULL);
  EXPECT_EQ(t.data()[1], 0x1aff16434309057dULL);
  EXPECT_EQ(t.data()[2], 0xad3f4f8b102d96e2ULL);
  EXPECT_EQ(t.data()[3], 0x640e8879db6a929fULL);
  EXPECT_EQ(t.data()[255], 0x08045d8721d78607ULL);
  Bytes zero(GearTable::kSecretSize, 0);
  EXPECT_EQ(GearTable::FromSecret(zero).data()[0], 0xce6f983d0653eb72ULL);
}

TEST(GearTableTest, OneSecretBitChangesEveryEntry) {
  GearTable a = GearTable::FromSecret(Secret(0));
  Bytes other = Secret(0);
  other[31] ^= 1;
  GearTable b = GearTable::FromSecret(other);
  size_t equal = 0;
  for (size_t i = 0; i < GearTable::kEntries; ++i) equal += a.data()[i] == b.data()[i];
  EXPECT_EQ(equal, 0u);
  GearTable c = GearTable::FromSecret(Secret(0));
  EXPECT_TRUE(std::equal(a.data(), a.data() + GearTable::kEntries, c.data()));
}

TEST(GearTableDeathTest, WrongSecretSizeAborts) {
  Bytes short_secret(31, 0);
  EXPECT_DEATH(GearTable::FromSecret(short_secret), "32 bytes");
}

TEST(ChunkerTest, ValidateParams) {
  EXPECT_TRUE(Chunker::ValidateParams(ChunkerParams{}).ok());
  EXPECT_TRUE(Chunker::ValidateParams({64, 128, 129}).ok());
  EXPECT_EQ(Chunker::ValidateParams({63, 128, 256}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({64, 1000, 4096}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({128, 128, 4096}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({64, 128, 128}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({64, 0, 128}).code(), StatusCode::kInvalidArgument);
}

TEST(ChunkerDeathTest, InvalidParamsAbort) {
  GearTable t = GearTable::FromSecret(Secret(0));
  EXPECT_DEATH(Chunker(t, ChunkerParams{64, 1000, 4096}), "power of two");
}

TEST(ChunkerTest, DocumentedMasks) {
  Chunker c(GearTable::FromSecret(Secret(0)), ChunkerParams{});
  EXPECT_EQ(c.strict_mask(), 0xFFFFFC0000000000ULL);  // 22 top bits
  EXPECT_EQ(c.loose_mask(), 0xFFFFC00000000000ULL);   // 18 top bits
  Chunker small(GearTable::FromSecret(Secret(0)), ChunkerParams{64, 128, 192});
  EXPECT_EQ(small.strict_mask(), 0xFF80000000000000ULL);  // 9 bits
  EXPECT_EQ(small.loose_mask(), 0xF800000000000000ULL);   // 5 bits
}

TEST(ChunkerTest, EmptyAndShortInput) {
  Chunker c(GearTable::FromSecret(Secret(0)), ChunkerParams{});
  EXPECT_EQ(c.NextCut({}, true), 0u);
  EXPECT_EQ(c.NextCut({}, false), 0u);
  Bytes small = XorshiftBytes(1, 1000);
  EXPECT_EQ(c.NextCut(small, true), 1000u);
  EXPECT_EQ(c.NextCut(small, false), 0u);
}

// Boundaries computed by the independent Python reference (see XorshiftBytes).
TEST(ChunkerTest, KnownAnswerBoundaries) {
  Bytes data = XorshiftBytes(0x9E3779B97F4A7C15ULL, 1 << 17);
  ASSERT_EQ(HexEncode(ByteView(data).first(8)), "ad4df30bae771bdc");
  GearTable table = GearTable::FromSecret(Secret(0));

  const std::vector<size_t> expected_1k = {
      345,    1490,   2573,   3230,   4396,   5926,   7340,   8710,   9755,   11203,  12668,
      14487,  15207,  16320,  16823,  18069,  19202,  20544,  21773,  23045,  24075,  24907,
      25937,  27243,  28819,  29747,  30968,  31306,  32440,  33640,  34678,  35875,  37095,
      38318,  39365,  40724,  42830,  44223,  46068,  46327,  47953,  49033,  50475,  51636,
      53039,  54081,  55229,  56343,  57460,  58612,  59511,  59930,  62044,  63328,  64754,
      65653,  65997,  67129,  67406,  68698,  69800,  70466,  71436,  73292,  74340,  75188,
      75603,  76786,  77894,  79093,  79894,  81043,  82269,  83350,  84414,  85854,  87337,
      88601,  89841,  90950,  92040,  92453,  93027,  93373,  94414,  95970,  97175,  98413,
      99469,  101073, 102314, 104347, 105391, 106520, 107902, 108922, 109725, 111148, 112224,
      113480, 114983, 115900, 116937, 118939, 120755, 121817, 122581, 123457, 124602, 125661,
      126822, 127915, 129663, 130739, 131072};
  EXPECT_EQ(CutAll(Chunker(table, {256, 1024, 4096}), data), expected_1k);

  const std::vector<size_t> expected_tiny = {
      175,  306,  438,  630,  799,  927,  1102, 1241, 1376, 1532, 1610, 1739, 1870, 2003,
      2195, 2341, 2533, 2680, 2839, 2998, 3083, 3217, 3397, 3576, 3752, 3886, 4078, 4232,
      4368, 4548, 4662, 4851, 4983, 5120, 5238, 5407, 5586, 5746, 5883, 6075, 6223, 6359,
      6500, 6681, 6810, 6940, 7076, 7225, 7363, 7519, 7672, 7817, 8009, 8166, 8192};
  EXPECT_EQ(CutAll(Chunker(table, {64, 128, 192}), ByteView(data).first(8192)), expected_tiny);

  // Default (format) parameters on 16 MiB from the same generator and seed.
  Bytes big = XorshiftBytes(0x9E3779B97F4A7C15ULL, 16 * kMiB);
  const std::vector<size_t> expected_default = {1747560,  3460582,  4551452,  5806337,
                                                7305376,  8436382,  9780599,  11339712,
                                                12498336, 13985959, 16137856, 16777216};
  EXPECT_EQ(CutAll(Chunker(table, ChunkerParams{}), big), expected_default);
}

// Compares NextCut with ReferenceCut at every chunk start, for buffer lengths around every
// interesting edge (min, avg, max, the cut itself) and both eof values.
TEST(ChunkerTest, MatchesReferenceImplementation) {
  GearTable table = GearTable::FromSecret(Secret(7));
  const ChunkerParams param_sets[] = {{64, 128, 192}, {100, 256, 300}, {1000, 2048, 2500}};
  Bytes data = XorshiftBytes(42, 3 * kMiB / 4);
  size_t at_min = 0, strict = 0, loose = 0, at_max = 0;  // reference outcomes, all param sets
  for (const ChunkerParams& p : param_sets) {
    SCOPED_TRACE(testing::Message()
                 << "params " << p.min_size << "/" << p.avg_size << "/" << p.max_size);
    Chunker chunker(table, p);
    size_t pos = 0;
    while (pos < data.size()) {
      ByteView rest = ByteView(data).subspan(pos);
      size_t full =
          ReferenceCut(table.data(), p, chunker.strict_mask(), chunker.loose_mask(), rest, true);
      std::vector<size_t> lengths = {0,
                                     1,
                                     p.min_size - 1,
                                     p.min_size,
                                     p.min_size + 1,
                                     p.avg_size - 1,
                                     p.avg_size,
                                     p.avg_size + 1,
                                     p.max_size - 1,
                                     p.max_size,
                                     p.max_size + 1,
                                     full - 1,
                                     full,
                                     full + 1,
                                     rest.size()};
      for (size_t n : lengths) {
        if (n > rest.size()) continue;
        for (bool eof : {false, true}) {
          ByteView buf = rest.first(n);
          size_t want =
              ReferenceCut(table.data(), p, chunker.strict_mask(), chunker.loose_mask(), buf, eof);
          ASSERT_EQ(chunker.NextCut(buf, eof), want)
              << "pos " << pos << " n " << n << " eof " << eof;
        }
      }
      if (full == p.min_size) ++at_min;
      if (full > p.min_size && full < p.avg_size) ++strict;
      if (full >= p.avg_size && full < p.max_size) ++loose;
      if (full == p.max_size) ++at_max;
      pos += full;
    }
  }
  // The data must actually exercise every kind of cut, or this test proves little.
  EXPECT_GT(at_min, 0u);
  EXPECT_GT(strict, 0u);
  EXPECT_GT(loose, 0u);
  EXPECT_GT(at_max, 0u);
  std::printf("reference cuts: %zu at min, %zu strict, %zu loose, %zu at max\n", at_min, strict,
              loose, at_max);
}

TEST(ChunkerTest, DeterministicAndKeyedBySecret) {
  ByteView data = Random64MiB();
  Chunker a(GearTable::FromSecret(Secret(1)), ChunkerParams{});
  Chunker a2(GearTable::FromSecret(Secret(1)), ChunkerParams{});
  Chunker b(GearTable::FromSecret(Secret(2)), ChunkerParams{});
  std::vector<size_t> cuts_a = CutAll(a, data);
  std::vector<size_t> cuts_b = CutAll(b, data);
  EXPECT_EQ(CutAll(a2, data), cuts_a);
  ASSERT_GT(cuts_a.size(), 30u);
  ASSERT_GT(cuts_b.size(), 30u);
  // Apart from the end of the data, the two chunkings share (almost) no boundary.
  std::vector<size_t> common;
  std::set_intersection(cuts_a.begin(), cuts_a.end() - 1, cuts_b.begin(), cuts_b.end() - 1,
                        std::back_inserter(common));
  EXPECT_LE(common.size(), 2u) << "secrets do not change the boundaries enough";
}

TEST(ChunkerTest, ChunkSizesInBoundsAndConcatenationIsInput) {
  ByteView data = Random64MiB();
  ChunkerParams p;
  Chunker c(GearTable::FromSecret(Secret(3)), p);
  std::vector<size_t> cuts = CutAll(c, data);
  ASSERT_FALSE(cuts.empty());
  EXPECT_EQ(cuts.back(), data.size());
  Bytes joined;
  joined.reserve(data.size());
  size_t start = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    size_t len = cuts[i] - start;
    if (i + 1 < cuts.size()) {
      EXPECT_GE(len, p.min_size) << "chunk " << i;
    }
    EXPECT_GE(len, 1u);
    EXPECT_LE(len, p.max_size) << "chunk " << i;
    ByteView chunk = data.subspan(start, len);
    joined.insert(joined.end(), chunk.begin(), chunk.end());
    start = cuts[i];
  }
  EXPECT_TRUE(std::equal(joined.begin(), joined.end(), data.begin(), data.end()));
}

// Checks that `b` (cuts of the edited data) equals `a` before the edit, and that after at most
// two changed chunks the boundaries of `a`, shifted by `delta`, come back. `edit_end` is the
// first byte of the original data after the edit (equal to `edit_at` for an insertion).
void ExpectResync(const std::vector<size_t>& a, const std::vector<size_t>& b, size_t edit_at,
                  size_t edit_end, ptrdiff_t delta) {
  size_t k = 0;  // cuts of `a` at or before the edit: they cannot move
  while (k < a.size() && a[k] <= edit_at) ++k;
  ASSERT_GE(b.size(), k);
  for (size_t i = 0; i < k; ++i) ASSERT_EQ(a[i], b[i]) << "cut " << i << " before the edit moved";
  // Common tail: cuts past the edit that, shifted by delta, appear at the end of `b`.
  size_t tail = 0;
  while (tail < a.size() - k && tail < b.size() - k) {
    size_t ai = a[a.size() - 1 - tail];
    size_t bi = b[b.size() - 1 - tail];
    if (ai < edit_end || static_cast<ptrdiff_t>(ai) + delta != static_cast<ptrdiff_t>(bi)) break;
    ++tail;
  }
  const size_t after = a.size() - k;
  std::printf("edit at %zu: %zu chunks before, %zu of %zu boundaries after it resynced\n", edit_at,
              k, tail, after);
  EXPECT_GE(tail + 2, after) << "boundaries did not resync within 2 chunks of the edit";
  size_t shared = k + (tail > 0 ? tail - 1 : 0);  // chunks with both ends unchanged
  double ratio = static_cast<double>(shared) / static_cast<double>(a.size());
  EXPECT_GE(ratio, 0.9) << shared << " of " << a.size() << " chunks shared";
}

TEST(ChunkerTest, StableUnderInsertionAndDeletion) {
  ByteView data = Random64MiB();
  Chunker c(GearTable::FromSecret(Secret(4)), ChunkerParams{});
  std::vector<size_t> original = CutAll(c, data);
  ASSERT_GT(original.size(), 30u);

  const size_t insert_at = 21 * kMiB + 12345;
  Bytes inserted(data.begin(), data.begin() + insert_at);
  Bytes extra = XorshiftBytes(99, 100);
  inserted.insert(inserted.end(), extra.begin(), extra.end());
  inserted.insert(inserted.end(), data.begin() + insert_at, data.end());
  {
    SCOPED_TRACE("insert 100 bytes");
    ExpectResync(original, CutAll(c, inserted), insert_at, insert_at, 100);
  }
  inserted = Bytes();

  const size_t delete_at = 40 * kMiB + 777;
  Bytes deleted(data.begin(), data.begin() + delete_at);
  deleted.insert(deleted.end(), data.begin() + delete_at + 100, data.end());
  {
    SCOPED_TRACE("delete 100 bytes");
    ExpectResync(original, CutAll(c, deleted), delete_at, delete_at + 100, -100);
  }
}

TEST(ChunkerTest, AllZeroDataGivesMaxSizeChunks) {
  ChunkerParams p;
  Chunker c(GearTable::FromSecret(Secret(5)), p);
  Bytes zeros(8 * p.max_size + 123, 0);
  std::vector<size_t> cuts = CutAll(c, zeros);
  ASSERT_EQ(cuts.size(), 9u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(cuts[i], (i + 1) * p.max_size);
  EXPECT_EQ(cuts[8], zeros.size());
}

TEST(ChunkerTest, MeanChunkSizeOnRandomData) {
  ByteView data = BigRandom();
  Chunker c(GearTable::FromSecret(Secret(6)), ChunkerParams{});
  std::vector<size_t> cuts = CutAll(c, data);
  ASSERT_GT(cuts.size(), 1u);
  // Exclude the final, truncated chunk.
  double mean = static_cast<double>(cuts[cuts.size() - 2]) / static_cast<double>(cuts.size() - 1);
  std::printf("mean chunk size over %zu chunks: %.3f MiB\n", cuts.size() - 1, mean / kMiB);
  EXPECT_GE(mean, 0.8 * kMiB);
  EXPECT_LE(mean, 1.6 * kMiB);
}

// Drives NextCut the way a file reader does: keeps a buffer that starts at a chunk boundary and,
// whenever NextCut returns 0, reads more (pieces of varying size from `next_read`). With
// `fill_to_max`, it keeps reading until the buffer holds max_size bytes or the input is done, as
// the header recommends; without, it retries after every single read. With `resume`, each retry
// passes the size it last scanned (NextCut's `scanned`), as the archiver does.
std::vector<size_t> CutStreaming(const Chunker& chunker, ByteView input,
                                 const std::function<size_t()>& next_read, bool fill_to_max,
                                 bool resume = false) {
  std::vector<size_t> cuts;
  Bytes buf;
  size_t buf_start = 0;  // chunk start within buf
  size_t read_pos = 0;   // bytes of input consumed
  size_t emitted = 0;
  size_t scanned = 0;  // of the chunk starting at buf_start
  const size_t max_size = chunker.params().max_size;
  for (;;) {
    const bool eof = read_pos == input.size();
    ByteView view(buf.data() + buf_start, buf.size() - buf_start);
    size_t cut = chunker.NextCut(view, eof, resume ? scanned : 0);
    if (cut == 0) {
      scanned = view.size();
      if (eof) {
        EXPECT_TRUE(view.empty());
        break;
      }
      EXPECT_LT(view.size(), max_size) << "0 returned although max_size bytes were supplied";
      // Compact, then read.
      buf.erase(buf.begin(), buf.begin() + buf_start);
      buf_start = 0;
      do {
        size_t n = std::min(next_read(), input.size() - read_pos);
        buf.insert(buf.end(), input.begin() + read_pos, input.begin() + read_pos + n);
        read_pos += n;
      } while (fill_to_max && buf.size() < max_size && read_pos < input.size());
      continue;
    }
    EXPECT_LE(cut, view.size());
    EXPECT_LE(cut, max_size);
    scanned = 0;
    buf_start += cut;
    emitted += cut;
    cuts.push_back(emitted);
  }
  return cuts;
}

TEST(ChunkerTest, StreamingMatchesOneBuffer) {
  ByteView data = Random64MiB();
  Chunker c(GearTable::FromSecret(Secret(8)), ChunkerParams{});
  std::vector<size_t> expected = CutAll(c, data);
  uint64_t rng = 12345;
  auto next_read = [&rng] {
    return static_cast<size_t>(1 + Xorshift64(&rng) % (3 * kMiB));  // 1 byte .. 3 MiB
  };
  EXPECT_EQ(CutStreaming(c, data, next_read, /*fill_to_max=*/true), expected);
}

TEST(ChunkerTest, StreamingWithSmallReadsMatchesOneBuffer) {
  Bytes data = XorshiftBytes(77, 256 * 1024);
  Chunker c(GearTable::FromSecret(Secret(9)), ChunkerParams{100, 256, 1000});
  std::vector<size_t> expected = CutAll(c, data);
  uint64_t rng = 6789;
  auto next_read = [&rng] { return static_cast<size_t>(1 + Xorshift64(&rng) % 97); };
  EXPECT_EQ(CutStreaming(c, data, next_read, /*fill_to_max=*/false), expected);
  EXPECT_EQ(CutStreaming(c, data, next_read, /*fill_to_max=*/true), expected);
  EXPECT_EQ(CutStreaming(c, data, next_read, /*fill_to_max=*/false, /*resume=*/true), expected);
}

TEST(ChunkerTest, ResumingAfterSmallReadsMatchesOneBuffer) {
  // The archiver's pattern: 256 KiB reads, NextCut after each one, resuming where it stopped.
  ByteView data = Random64MiB();
  Chunker c(GearTable::FromSecret(Secret(8)), ChunkerParams{});
  std::vector<size_t> expected = CutAll(c, data);
  uint64_t rng = 99;
  auto next_read = [&rng] {
    uint64_t r = Xorshift64(&rng);
    return r % 4 == 0 ? static_cast<size_t>(1 + r % 1000) : size_t{256} * 1024;
  };
  EXPECT_EQ(CutStreaming(c, data, next_read, /*fill_to_max=*/false, /*resume=*/true), expected);
  // Zeros reach max_size without a natural boundary: forced cuts, also when resuming.
  Bytes zeros(20 * kMiB + 12345, 0);
  EXPECT_EQ(CutStreaming(c, zeros, next_read, false, true), CutAll(c, zeros));
}

}  // namespace
}  // namespace lifeboat
