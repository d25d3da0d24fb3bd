// Tests for the blob codec (§5) and packs (§6): round trips, corruption detection, shuffling and
// header parsing through a backend.

#include "pack/pack.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "backend/memory_backend.h"
#include "crypto/crypto.h"
#include "pack/blob.h"

namespace lifeboat {
namespace {

Bytes RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

Bytes TextData(size_t n) {
  const std::string_view line = "the quick brown fox jumps over the lazy dog 0123456789\n";
  Bytes out;
  while (out.size() < n) out.insert(out.end(), line.begin(), line.end());
  out.resize(n);
  return out;
}

class PackTest : public ::testing::Test {
 protected:
  PackTest()
      : aead_(crypto::SecretKey::Random()),
        mac_(crypto::SecretKey::Random()),
        codec_(aead_, mac_, 3) {}

  // Encodes `plain`; returns the stored form.
  Bytes Encode(ByteView plain) {
    Bytes stored;
    Status st = codec_.Encode(plain, codec_.ComputeId(plain), &stored);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return stored;
  }

  // Opens a stored blob and returns its frame (compression byte + payload).
  Bytes Frame(ByteView stored) {
    auto frame = aead_.Open(stored);
    EXPECT_TRUE(frame.ok()) << frame.status().ToString();
    return frame.ok() ? *frame : Bytes();
  }

  struct Plain {
    BlobType type;
    Id id;
    Bytes data;
  };

  // Encodes `blobs` into one finished pack.
  FinishedPack MakePack(const std::vector<Plain>& blobs) {
    PackWriter w(aead_);
    for (const auto& b : blobs) {
      Bytes stored;
      EXPECT_TRUE(codec_.Encode(b.data, b.id, &stored).ok());
      w.Add(b.type, b.id, std::move(stored), static_cast<uint32_t>(b.data.size()));
    }
    auto p = w.Finish();
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_TRUE(w.empty());
    EXPECT_EQ(w.bytes(), 0u);
    return std::move(*p);
  }

  std::vector<Plain> MakeBlobs(size_t n, size_t size, uint64_t seed) {
    std::vector<Plain> out;
    for (size_t i = 0; i < n; ++i) {
      Bytes data = RandomData(size == 0 ? 0 : 1 + (i * 7919) % size, seed + i);
      Id id = codec_.ComputeId(data);
      out.push_back({i % 3 == 0 ? BlobType::kTree : BlobType::kData, id, std::move(data)});
    }
    return out;
  }

  // Checks that `parsed` describes exactly `blobs` and that every blob decodes from `pack`.
  void ExpectPackContains(ByteView pack, const std::vector<PackedBlob>& parsed,
                          const std::vector<Plain>& blobs) {
    ASSERT_EQ(parsed.size(), blobs.size());
    std::map<std::pair<Id, BlobType>, const Plain*> want;
    for (const auto& b : blobs) want[{b.id, b.type}] = &b;
    uint64_t offset = 0;
    for (const auto& p : parsed) {
      auto it = want.find({p.id, p.type});
      ASSERT_NE(it, want.end()) << p.id.Hex();
      EXPECT_EQ(p.offset, offset);
      EXPECT_EQ(p.raw_length, it->second->data.size());
      Bytes out;
      Status st = codec_.Decode(pack.subspan(p.offset, p.stored_length), p.id, p.raw_length, &out);
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_EQ(out, it->second->data);
      offset += p.stored_length;
      want.erase(it);
    }
    EXPECT_TRUE(want.empty());
  }

  crypto::Aead aead_;
  crypto::HmacSha256 mac_;
  BlobCodec codec_;
};

// ---------------------------------------------------------------- BlobCodec

TEST_F(PackTest, CompressibleBlobRoundTripsAndIsCompressed) {
  Bytes plain = TextData(100000);
  Id id = codec_.ComputeId(plain);
  Bytes stored = Encode(plain);
  EXPECT_LT(stored.size(), plain.size() / 4);
  EXPECT_EQ(Frame(stored)[0], 0x01);  // zstd frame
  Bytes out;
  ASSERT_TRUE(codec_.Decode(stored, id, static_cast<uint32_t>(plain.size()), &out).ok());
  EXPECT_EQ(out, plain);
}

TEST_F(PackTest, IncompressibleBlobIsStoredRaw) {
  Bytes plain = RandomData(4096, 1);
  Id id = codec_.ComputeId(plain);
  Bytes stored = Encode(plain);
  ASSERT_EQ(stored.size(), plain.size() + 1 + crypto::kSealOverhead);
  Bytes frame = Frame(stored);
  ASSERT_EQ(frame.size(), plain.size() + 1);
  EXPECT_EQ(frame[0], 0x00);
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), frame.begin() + 1));
  Bytes out;
  ASSERT_TRUE(codec_.Decode(stored, id, 4096, &out).ok());
  EXPECT_EQ(out, plain);
}

TEST_F(PackTest, EmptyBlobRoundTrips) {
  Bytes plain;
  Id id = codec_.ComputeId(plain);
  Bytes stored = Encode(plain);
  EXPECT_EQ(stored.size(), 1 + crypto::kSealOverhead);
  Bytes out = {1, 2, 3};
  ASSERT_TRUE(codec_.Decode(stored, id, 0, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(PackTest, EncodeAppendsToExistingOutput) {
  Bytes a = TextData(1000), b = RandomData(500, 2);
  Bytes stored;
  ASSERT_TRUE(codec_.Encode(a, codec_.ComputeId(a), &stored).ok());
  size_t first = stored.size();
  ASSERT_TRUE(codec_.Encode(b, codec_.ComputeId(b), &stored).ok());
  Bytes out;
  ASSERT_TRUE(
      codec_.Decode(ByteView(stored).subspan(0, first), codec_.ComputeId(a), 1000, &out).ok());
  EXPECT_EQ(out, a);
  ASSERT_TRUE(codec_.Decode(ByteView(stored).subspan(first), codec_.ComputeId(b), 500, &out).ok());
  EXPECT_EQ(out, b);
}

TEST_F(PackTest, EncodeWithWrongIdFailsAndWritesNothing) {
  Bytes plain = TextData(1000);
  Id wrong = codec_.ComputeId(AsBytes("something else"));
  Bytes stored = {9, 9};
  Status st = codec_.Encode(plain, wrong, &stored);
  EXPECT_EQ(st.code(), StatusCode::kInternal) << st.ToString();
  EXPECT_EQ(stored, (Bytes{9, 9}));
}

TEST_F(PackTest, DecodeWithWrongIdOrLengthFails) {
  Bytes plain = TextData(1000);
  Bytes stored = Encode(plain);
  Id wrong = codec_.ComputeId(AsBytes("other"));
  Bytes out;
  Status st = codec_.Decode(stored, wrong, 1000, &out);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(wrong.Hex()), std::string::npos) << st.message();
  // Wrong expected raw length: zstd content size does not match.
  EXPECT_EQ(codec_.Decode(stored, codec_.ComputeId(plain), 999, &out).code(),
            StatusCode::kCorruption);
  Bytes raw = RandomData(100, 3);
  Bytes raw_stored = Encode(raw);
  EXPECT_EQ(codec_.Decode(raw_stored, codec_.ComputeId(raw), 101, &out).code(),
            StatusCode::kCorruption);
}

TEST_F(PackTest, DecodeWithOtherKeysFails) {
  Bytes plain = TextData(1000);
  Bytes stored = Encode(plain);
  crypto::Aead other_aead(crypto::SecretKey::Random());
  BlobCodec other(other_aead, mac_, 3);
  Bytes out;
  EXPECT_EQ(other.Decode(stored, codec_.ComputeId(plain), 1000, &out).code(),
            StatusCode::kCorruption);
}

TEST_F(PackTest, EveryBitFlipInAStoredBlobIsRejected) {
  for (Bytes plain : {TextData(200), RandomData(24, 4), Bytes{}}) {
    Id id = codec_.ComputeId(plain);
    Bytes stored = Encode(plain);
    for (size_t bit = 0; bit < stored.size() * 8; ++bit) {
      Bytes bad = stored;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      Bytes out;
      Status st = codec_.Decode(bad, id, static_cast<uint32_t>(plain.size()), &out);
      ASSERT_EQ(st.code(), StatusCode::kCorruption) << "bit " << bit << " of " << plain.size();
    }
    // Truncation and extension too.
    for (size_t n = 0; n < stored.size(); ++n) {
      Bytes out;
      ASSERT_EQ(
          codec_
              .Decode(ByteView(stored).subspan(0, n), id, static_cast<uint32_t>(plain.size()), &out)
              .code(),
          StatusCode::kCorruption);
    }
    Bytes longer = stored;
    longer.push_back(0);
    Bytes out;
    EXPECT_EQ(codec_.Decode(longer, id, static_cast<uint32_t>(plain.size()), &out).code(),
              StatusCode::kCorruption);
  }
}

TEST_F(PackTest, VerifyStoredAcceptsEncodedBlobsOfEverySize) {
  // Compressible and raw frames, empty, and larger than one decryption piece and one zstd
  // output window, so the piecewise paths are all taken.
  for (Bytes plain : {TextData(3 << 20), RandomData(300000, 5), TextData(10), Bytes{}}) {
    Id id = codec_.ComputeId(plain);
    Bytes stored = Encode(plain);
    Status st = codec_.VerifyStored(stored, plain.size(), id);
    EXPECT_TRUE(st.ok()) << plain.size() << ": " << st.ToString();
    // Wrong id, or a length off by one either way.
    EXPECT_EQ(codec_.VerifyStored(stored, plain.size(), codec_.ComputeId(AsBytes("x"))).code(),
              StatusCode::kCorruption);
    EXPECT_EQ(codec_.VerifyStored(stored, plain.size() + 1, id).code(), StatusCode::kCorruption);
    if (!plain.empty()) {
      EXPECT_EQ(codec_.VerifyStored(stored, plain.size() - 1, id).code(),
                StatusCode::kCorruption);
    }
  }
}

TEST_F(PackTest, VerifyStoredRejectsDamageAndMalformedFrames) {
  for (Bytes plain : {TextData(200), RandomData(24, 4), Bytes{}}) {
    Id id = codec_.ComputeId(plain);
    Bytes stored = Encode(plain);
    for (size_t bit = 0; bit < stored.size() * 8; ++bit) {
      Bytes bad = stored;
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      ASSERT_EQ(codec_.VerifyStored(bad, plain.size(), id).code(), StatusCode::kCorruption)
          << "bit " << bit << " of " << plain.size();
    }
    for (size_t n = 0; n < stored.size(); ++n)
      ASSERT_EQ(codec_.VerifyStored(ByteView(stored).first(n), plain.size(), id).code(),
                StatusCode::kCorruption);
  }
  // Frames sealed with the right key but malformed inside: an unknown compression byte, bytes
  // after a complete zstd frame, a truncated zstd frame, an empty frame.
  Bytes text = TextData(5000);
  Id id = codec_.ComputeId(text);
  Bytes frame = Frame(Encode(text));
  ASSERT_EQ(frame[0], 0x01);
  auto sealed = [&](Bytes f) { return *aead_.Seal(f); };
  Bytes unknown = frame;
  unknown[0] = 0x02;
  Bytes trailing = frame;
  trailing.push_back(0);
  Bytes truncated(frame.begin(), frame.end() - 3);
  for (const Bytes& f : {unknown, trailing, truncated, Bytes{}}) {
    Status st = codec_.VerifyStored(sealed(f), text.size(), id);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << f.size() << " " << st.ToString();
  }
  EXPECT_TRUE(codec_.VerifyStored(sealed(frame), text.size(), id).ok());
}

TEST_F(PackTest, EncodeRejectsOversizedBlob) {
  Bytes big(kMaxBlobSize + 1);
  Bytes stored;
  EXPECT_EQ(codec_.Encode(big, Id{}, &stored).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(stored.empty());
}

// ---------------------------------------------------------------- packs

TEST_F(PackTest, PackRoundTripInMemory) {
  auto blobs = MakeBlobs(100, 3000, 10);
  FinishedPack pack = MakePack(blobs);
  EXPECT_EQ(pack.size, pack.Joined().size());
  EXPECT_EQ(pack.parts.size(), blobs.size() + 1);  // each blob's own buffer, then the header
  EXPECT_EQ(pack.name, Id{crypto::Sha256(pack.Joined())});
  auto parsed = ParsePack(aead_, pack.name.Hex(), pack.Joined());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectPackContains(pack.Joined(), *parsed, blobs);
  // The writer's own list agrees with the header.
  ASSERT_EQ(pack.blobs.size(), parsed->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    EXPECT_EQ(pack.blobs[i].id, (*parsed)[i].id);
    EXPECT_EQ(pack.blobs[i].type, (*parsed)[i].type);
    EXPECT_EQ(pack.blobs[i].offset, (*parsed)[i].offset);
    EXPECT_EQ(pack.blobs[i].stored_length, (*parsed)[i].stored_length);
    EXPECT_EQ(pack.blobs[i].raw_length, (*parsed)[i].raw_length);
  }
}

TEST_F(PackTest, BlobOrderIsShuffled) {
  auto blobs = MakeBlobs(100, 64, 20);
  std::vector<Id> insertion;
  for (const auto& b : blobs) insertion.push_back(b.id);
  std::set<std::vector<Id>> orders;
  for (int round = 0; round < 3; ++round) {
    FinishedPack pack = MakePack(blobs);
    std::vector<Id> order;
    for (const auto& b : pack.blobs) order.push_back(b.id);
    // 100 blobs come back in insertion order with probability 1/100!.
    EXPECT_NE(order, insertion);
    std::vector<Id> sorted_order = order, sorted_insertion = insertion;
    std::sort(sorted_order.begin(), sorted_order.end());
    std::sort(sorted_insertion.begin(), sorted_insertion.end());
    EXPECT_EQ(sorted_order, sorted_insertion);
    orders.insert(order);
  }
  EXPECT_EQ(orders.size(), 3u);  // each pack gets its own order
}

TEST_F(PackTest, ShuffleMovesEveryPositionAcrossManyPacks) {
  // Weak uniformity check: over 200 packs of 4 blobs, every blob lands in every position.
  auto blobs = MakeBlobs(4, 16, 30);
  std::map<std::pair<Id, size_t>, int> seen;
  for (int round = 0; round < 200; ++round) {
    FinishedPack pack = MakePack(blobs);
    for (size_t i = 0; i < pack.blobs.size(); ++i) seen[{pack.blobs[i].id, i}]++;
  }
  EXPECT_EQ(seen.size(), 16u);
  for (const auto& [k, n] : seen) EXPECT_GT(n, 15) << "position " << k.second;
}

TEST_F(PackTest, SingleBlobPack) {
  auto blobs = MakeBlobs(1, 100, 40);
  FinishedPack pack = MakePack(blobs);
  auto parsed = ParsePack(aead_, pack.name.Hex(), pack.Joined());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectPackContains(pack.Joined(), *parsed, blobs);
}

// Counts range loads, to check ReadPackHeader's "two loads at most".
class CountingBackend : public MemoryBackend {
 public:
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    loads++;
    return MemoryBackend::Load(h, offset, length);
  }
  std::atomic<int> loads{0};
};

TEST_F(PackTest, PackRoundTripThroughBackend) {
  for (size_t n : {1, 5, 100}) {
    auto blobs = MakeBlobs(n, 20000, 50 + n);
    FinishedPack pack = MakePack(blobs);
    CountingBackend be;
    ASSERT_TRUE(be.SaveParts({ObjectType::kPack, pack.name.Hex()}, pack.Views()).ok());
    auto parsed = ReadPackHeader(be, aead_, pack.name.Hex(), pack.size);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(be.loads.load(), 1);  // header fits in the last 64 KiB
    ExpectPackContains(pack.Joined(), *parsed, blobs);
  }
}

TEST_F(PackTest, LargeHeaderNeedsSecondLoad) {
  // 3000 empty blobs: 42 stored bytes each, header 3000 * 41 + 46 bytes > 64 KiB.
  std::vector<Plain> blobs;
  Bytes empty;
  Id id0 = codec_.ComputeId(empty);
  for (size_t i = 0; i < 3000; ++i) {
    // The pack format does not require distinct ids; every entry is the (real) empty blob.
    blobs.push_back({i % 2 ? BlobType::kTree : BlobType::kData, id0, empty});
  }
  PackWriter w(aead_);
  for (const auto& b : blobs) {
    Bytes stored;
    ASSERT_TRUE(codec_.Encode(b.data, b.id, &stored).ok());
    w.Add(b.type, b.id, std::move(stored), 0);
  }
  auto pack = w.Finish();
  ASSERT_TRUE(pack.ok());
  const Bytes whole = pack->Joined();
  uint32_t header_len = LoadLE32(whole.data() + whole.size() - 4);
  ASSERT_GT(header_len, 64u * 1024);
  CountingBackend be;
  ASSERT_TRUE(be.SaveParts({ObjectType::kPack, pack->name.Hex()}, pack->Views()).ok());
  auto parsed = ReadPackHeader(be, aead_, pack->name.Hex(), pack->size);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(be.loads.load(), 2);
  ASSERT_EQ(parsed->size(), 3000u);
  size_t trees = 0;
  uint64_t offset = 0;
  for (const auto& p : *parsed) {
    EXPECT_EQ(p.offset, offset);
    offset += p.stored_length;
    trees += p.type == BlobType::kTree;
    Bytes out;
    ASSERT_TRUE(
        codec_.Decode(ByteView(whole).subspan(p.offset, p.stored_length), p.id, 0, &out).ok());
  }
  EXPECT_EQ(trees, 1500u);
  auto parsed2 = ParsePack(aead_, pack->name.Hex(), whole);
  ASSERT_TRUE(parsed2.ok());
  EXPECT_EQ(parsed2->size(), 3000u);
}

TEST_F(PackTest, HeaderAroundThe64KiBReadBoundary) {
  // Packs whose header plus trailer is just below, at and just above the first read's size.
  Bytes empty;
  Id id0 = codec_.ComputeId(empty);
  Bytes stored;
  ASSERT_TRUE(codec_.Encode(empty, id0, &stored).ok());
  // header_len + 4 = 5 + 41 n + 41 + 4: 65531 bytes for n = 1597 (fits in the first 64 KiB
  // read), 65572 for n = 1598 (needs a second read).
  for (size_t n : {1596, 1597, 1598, 1599}) {
    PackWriter w(aead_);
    for (size_t i = 0; i < n; ++i) w.Add(BlobType::kData, id0, stored, 0);
    auto pack = w.Finish();
    ASSERT_TRUE(pack.ok());
    CountingBackend be;
    ASSERT_TRUE(be.Save({ObjectType::kPack, pack->name.Hex()}, pack->Joined()).ok());
    auto parsed = ReadPackHeader(be, aead_, pack->name.Hex(), pack->size);
    ASSERT_TRUE(parsed.ok()) << n << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->size(), n);
    EXPECT_EQ(be.loads.load(), n <= 1597 ? 1 : 2) << n;
  }
}

TEST_F(PackTest, SmallPackShorterThanTheFirstRead) {
  auto blobs = MakeBlobs(2, 10, 60);
  FinishedPack pack = MakePack(blobs);
  ASSERT_LT(pack.size, 1000u);
  MemoryBackend be;
  ASSERT_TRUE(be.Save({ObjectType::kPack, pack.name.Hex()}, pack.Joined()).ok());
  auto parsed = ReadPackHeader(be, aead_, pack.name.Hex(), pack.size);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ExpectPackContains(pack.Joined(), *parsed, blobs);
}

TEST_F(PackTest, WrongSizeOrMissingPackIsAnError) {
  auto blobs = MakeBlobs(3, 100, 70);
  FinishedPack pack = MakePack(blobs);
  MemoryBackend be;
  ASSERT_TRUE(be.Save({ObjectType::kPack, pack.name.Hex()}, pack.Joined()).ok());
  EXPECT_FALSE(ReadPackHeader(be, aead_, pack.name.Hex(), pack.size + 1).ok());
  EXPECT_EQ(ReadPackHeader(be, aead_, pack.name.Hex(), pack.size - 1).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(ReadPackHeader(be, aead_, pack.name.Hex(), 10).status().code(),
            StatusCode::kCorruption);
  EXPECT_TRUE(ReadPackHeader(be, aead_, std::string(64, 'a'), 1000).status().IsNotFound());
  crypto::Aead other(crypto::SecretKey::Random());
  auto st = ReadPackHeader(be, other, pack.name.Hex(), pack.size).status();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(pack.name.Hex()), std::string::npos) << st.message();
}

TEST_F(PackTest, EveryBitFlipInHeaderOrTrailerIsRejected) {
  auto blobs = MakeBlobs(3, 50, 80);
  FinishedPack pack = MakePack(blobs);
  const Bytes whole = pack.Joined();
  uint32_t header_len = LoadLE32(whole.data() + whole.size() - 4);
  size_t header_start = whole.size() - 4 - header_len;
  std::string name = pack.name.Hex();
  MemoryBackend be;
  for (size_t bit = header_start * 8; bit < pack.size * 8; ++bit) {
    Bytes bad = whole;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto parsed = ParsePack(aead_, name, bad);
    ASSERT_EQ(parsed.status().code(), StatusCode::kCorruption) << "bit " << bit;
    ASSERT_TRUE(be.ReplaceForTesting({ObjectType::kPack, name}, bad).ok());
    auto read = ReadPackHeader(be, aead_, name, bad.size());
    ASSERT_EQ(read.status().code(), StatusCode::kCorruption) << "bit " << bit;
  }
  // Truncating the pack anywhere is rejected too.
  for (size_t n = 0; n < whole.size(); ++n) {
    ASSERT_EQ(ParsePack(aead_, name, ByteView(whole).subspan(0, n)).status().code(),
              StatusCode::kCorruption)
        << n;
  }
}

TEST_F(PackTest, BitFlipInABlobIsCaughtWhenTheBlobIsRead) {
  auto blobs = MakeBlobs(3, 50, 90);
  FinishedPack pack = MakePack(blobs);
  const Bytes whole = pack.Joined();
  const PackedBlob& victim = pack.blobs[1];
  for (size_t bit = victim.offset * 8; bit < (victim.offset + victim.stored_length) * 8; ++bit) {
    Bytes bad = whole;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto parsed = ParsePack(aead_, pack.name.Hex(), bad);
    ASSERT_TRUE(parsed.ok());  // the header does not cover blob contents
    Bytes out;
    ASSERT_EQ(codec_
                  .Decode(ByteView(bad).subspan(victim.offset, victim.stored_length), victim.id,
                          victim.raw_length, &out)
                  .code(),
              StatusCode::kCorruption);
  }
}

// ---------------------------------------------------------------- header codec

std::vector<PackedBlob> SampleEntries(size_t n) {
  std::vector<PackedBlob> out;
  uint32_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    PackedBlob b;
    b.type = i % 2 ? BlobType::kTree : BlobType::kData;
    b.id.bytes[0] = static_cast<uint8_t>(i);
    b.id.bytes[31] = 0xee;
    b.offset = offset;
    b.stored_length = static_cast<uint32_t>(100 + i);
    b.raw_length = static_cast<uint32_t>(1000 * i);
    offset += b.stored_length;
    out.push_back(b);
  }
  return out;
}

uint64_t End(const std::vector<PackedBlob>& v) {
  return v.empty() ? 0 : v.back().offset + v.back().stored_length;
}

TEST(PackHeaderTest, RoundTrip) {
  auto entries = SampleEntries(5);
  Bytes enc = EncodePackHeader(entries);
  EXPECT_EQ(enc.size(), 5 + 5 * kPackHeaderEntrySize);
  auto dec = DecodePackHeader(enc, End(entries));
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  ASSERT_EQ(dec->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*dec)[i].type, entries[i].type);
    EXPECT_EQ((*dec)[i].id, entries[i].id);
    EXPECT_EQ((*dec)[i].offset, entries[i].offset);
    EXPECT_EQ((*dec)[i].stored_length, entries[i].stored_length);
    EXPECT_EQ((*dec)[i].raw_length, entries[i].raw_length);
  }
}

TEST(PackHeaderTest, RejectsLengthsThatDoNotTileThePack) {
  auto entries = SampleEntries(5);
  Bytes enc = EncodePackHeader(entries);
  uint64_t end = End(entries);
  EXPECT_EQ(DecodePackHeader(enc, end + 1).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodePackHeader(enc, end - 1).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodePackHeader(enc, 0).status().code(), StatusCode::kCorruption);
  // Entry count larger or smaller than the entries present.
  Bytes more = enc;
  StoreLE32(more.data() + 1, 6);
  EXPECT_EQ(DecodePackHeader(more, end).status().code(), StatusCode::kCorruption);
  Bytes fewer = enc;
  StoreLE32(fewer.data() + 1, 4);
  EXPECT_EQ(DecodePackHeader(fewer, end).status().code(), StatusCode::kCorruption);
  Bytes huge = enc;
  StoreLE32(huge.data() + 1, 0xffffffffu);
  EXPECT_EQ(DecodePackHeader(huge, end).status().code(), StatusCode::kCorruption);
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_EQ(DecodePackHeader(trailing, end).status().code(), StatusCode::kCorruption);
  // A stored length too small to hold a sealed frame.
  auto tiny = entries;
  tiny[2].stored_length = static_cast<uint32_t>(crypto::kSealOverhead);
  EXPECT_EQ(DecodePackHeader(EncodePackHeader(tiny),
                             End(tiny) - entries[2].stored_length + crypto::kSealOverhead)
                .status()
                .code(),
            StatusCode::kCorruption);
  // A raw length beyond the blob limit.
  auto big = entries;
  big[0].raw_length = static_cast<uint32_t>(kMaxBlobSize + 1);
  EXPECT_EQ(DecodePackHeader(EncodePackHeader(big), end).status().code(), StatusCode::kCorruption);
  // A stored length pointing far past the pack.
  auto wrap = entries;
  wrap[0].stored_length = 0xffffff00u;
  EXPECT_EQ(DecodePackHeader(EncodePackHeader(wrap), end).status().code(), StatusCode::kCorruption);
}

TEST(PackHeaderTest, RejectsBadVersionAndType) {
  auto entries = SampleEntries(2);
  Bytes enc = EncodePackHeader(entries);
  Bytes v2 = enc;
  v2[0] = 2;
  EXPECT_EQ(DecodePackHeader(v2, End(entries)).status().code(), StatusCode::kCorruption);
  Bytes type = enc;
  type[5] = 2;  // first entry's type
  EXPECT_EQ(DecodePackHeader(type, End(entries)).status().code(), StatusCode::kCorruption);
}

TEST(PackHeaderTest, TruncationAtEveryLengthIsRejected) {
  auto entries = SampleEntries(3);
  Bytes enc = EncodePackHeader(entries);
  for (size_t n = 0; n < enc.size(); ++n) {
    Bytes cut(enc.begin(), enc.begin() + n);  // own allocation, so ASan sees overreads
    ASSERT_EQ(DecodePackHeader(cut, End(entries)).status().code(), StatusCode::kCorruption) << n;
  }
}

TEST(PackHeaderTest, PacksBeyond4GiBAreRejected) {
  // Offsets are 32-bit: a blob starting at or beyond 4 GiB cannot be represented, and must not
  // silently wrap around to offset 0.
  std::vector<PackedBlob> entries(3);
  for (auto& e : entries) e.stored_length = 0x80000000u;
  Bytes enc = EncodePackHeader(entries);
  EXPECT_EQ(DecodePackHeader(enc, uint64_t{3} * 0x80000000u).status().code(),
            StatusCode::kCorruption);
  // Two such blobs end exactly at 4 GiB: the last offset still fits.
  entries.pop_back();
  auto two = DecodePackHeader(EncodePackHeader(entries), uint64_t{2} * 0x80000000u);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ((*two)[1].offset, 0x80000000u);
}

}  // namespace
}  // namespace lifeboat
