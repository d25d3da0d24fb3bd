// Tests for the in-memory MasterIndex and the index file codec (§7).

#include "index/index.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "backend/memory_backend.h"
#include "repository/repository.h"

namespace lifeboat {
namespace {

// Keep Repository::Init fast (scrypt N=1024) for the tests that need a sealed index file.
[[maybe_unused]] const bool kFastKdf = [] {
  lifeboat::SetKdfParamsOverrideForTesting(lifeboat::KdfParams{1024, 8, 2});
  return true;
}();

// Fast, deterministic pseudo-random ids (not the CSPRNG: tests create millions).
class IdGen {
 public:
  explicit IdGen(uint64_t seed) : rng_(seed) {}
  Id Next() {
    Id id;
    for (size_t i = 0; i < 32; i += 8) {
      uint64_t v = rng_();
      std::memcpy(id.bytes.data() + i, &v, 8);
    }
    return id;
  }

 private:
  std::mt19937_64 rng_;
};

std::vector<PackedBlob> MakeBlobs(IdGen& gen, size_t n, BlobType type = BlobType::kData) {
  std::vector<PackedBlob> out;
  uint32_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    PackedBlob b;
    b.type = type;
    b.id = gen.Next();
    b.offset = offset;
    b.stored_length = static_cast<uint32_t>(100 + i);
    b.raw_length = static_cast<uint32_t>(1000 + i);
    offset += b.stored_length;
    out.push_back(b);
  }
  return out;
}

void ExpectAt(const MasterIndex& index, const PackedBlob& b, const Id& pack) {
  auto loc = index.Find(b.type, b.id);
  ASSERT_TRUE(loc.has_value()) << b.id.Hex();
  EXPECT_EQ(loc->type, b.type);
  EXPECT_EQ(loc->pack, pack);
  EXPECT_EQ(loc->offset, b.offset);
  EXPECT_EQ(loc->stored_length, b.stored_length);
  EXPECT_EQ(loc->raw_length, b.raw_length);
}

TEST(MasterIndexTest, AddPackAndFind) {
  IdGen gen(1);
  MasterIndex index;
  Id pack1 = gen.Next(), pack2 = gen.Next();
  auto blobs1 = MakeBlobs(gen, 100);
  auto blobs2 = MakeBlobs(gen, 50, BlobType::kTree);
  index.AddPack(pack1, blobs1);
  index.AddPack(pack2, blobs2);
  EXPECT_EQ(index.blob_count(), 150u);
  EXPECT_EQ(index.pack_count(), 2u);
  for (const auto& b : blobs1) ExpectAt(index, b, pack1);
  for (const auto& b : blobs2) ExpectAt(index, b, pack2);
  EXPECT_FALSE(index.Find(BlobType::kData, gen.Next()).has_value());
  // The type is part of the key.
  EXPECT_FALSE(index.Has(BlobType::kTree, blobs1[0].id));
  EXPECT_FALSE(index.Has(BlobType::kData, blobs2[0].id));
  // Compact keeps everything findable.
  index.Compact();
  EXPECT_EQ(index.blob_count(), 150u);
  for (const auto& b : blobs1) ExpectAt(index, b, pack1);
  for (const auto& b : blobs2) ExpectAt(index, b, pack2);
  EXPECT_FALSE(index.Has(BlobType::kTree, blobs1[0].id));
  auto packs = index.Packs();
  ASSERT_EQ(packs.size(), 2u);
  EXPECT_EQ(packs[0], pack1);
  EXPECT_EQ(packs[1], pack2);
}

TEST(MasterIndexTest, EmptyIndex) {
  MasterIndex index;
  IdGen gen(2);
  EXPECT_FALSE(index.Has(BlobType::kData, gen.Next()));
  EXPECT_FALSE(index.Has(BlobType::kData, Id{}));
  index.Compact();
  EXPECT_EQ(index.blob_count(), 0u);
  EXPECT_FALSE(index.Has(BlobType::kData, Id{}));
  index.AddPack(gen.Next(), {});
  EXPECT_EQ(index.pack_count(), 1u);
}

TEST(MasterIndexTest, BulkAddBecomesFindableAfterCompact) {
  IdGen gen(3);
  MasterIndex index;
  std::vector<std::pair<Id, std::vector<PackedBlob>>> packs;
  for (int p = 0; p < 30; ++p) {
    Id name = gen.Next();
    auto blobs = MakeBlobs(gen, 5000, p % 2 ? BlobType::kTree : BlobType::kData);
    index.BulkAdd(name, blobs);
    packs.emplace_back(name, std::move(blobs));
  }
  EXPECT_EQ(index.blob_count(), 150000u);
  EXPECT_EQ(index.pack_count(), 30u);
  index.Compact();
  EXPECT_EQ(index.blob_count(), 150000u);
  for (const auto& [name, blobs] : packs)
    for (const auto& b : blobs) ExpectAt(index, b, name);
  // A second round of bulk adds merges with the sorted array.
  Id more_pack = gen.Next();
  auto more = MakeBlobs(gen, 1000);
  index.BulkAdd(more_pack, more);
  index.Compact();
  EXPECT_EQ(index.blob_count(), 151000u);
  for (const auto& b : more) ExpectAt(index, b, more_pack);
  ExpectAt(index, packs[0].second[0], packs[0].first);
}

TEST(MasterIndexTest, OverlayAndBulkMerge) {
  IdGen gen(4);
  MasterIndex index;
  Id a = gen.Next(), b = gen.Next(), c = gen.Next();
  auto ba = MakeBlobs(gen, 100), bb = MakeBlobs(gen, 100), bc = MakeBlobs(gen, 100);
  index.BulkAdd(a, ba);
  index.Compact();
  index.AddPack(b, bb);  // overlay
  index.BulkAdd(c, bc);  // bulk, not yet findable
  for (const auto& x : bb) ExpectAt(index, x, b);
  index.Compact();
  EXPECT_EQ(index.blob_count(), 300u);
  for (const auto& x : ba) ExpectAt(index, x, a);
  for (const auto& x : bb) ExpectAt(index, x, b);
  for (const auto& x : bc) ExpectAt(index, x, c);
}

TEST(MasterIndexTest, DuplicatesAcrossPacksKeepOneLocation) {
  IdGen gen(5);
  MasterIndex index;
  Id first = gen.Next(), second = gen.Next(), third = gen.Next();
  auto blobs = MakeBlobs(gen, 20);
  auto copy = blobs;
  for (auto& b : copy) b.offset += 7;  // same ids, different place
  index.AddPack(first, blobs);
  index.AddPack(second, copy);
  EXPECT_EQ(index.blob_count(), 20u);
  for (const auto& b : blobs) ExpectAt(index, b, first);  // first location wins
  index.Compact();
  EXPECT_EQ(index.blob_count(), 20u);
  for (const auto& b : blobs) ExpectAt(index, b, first);
  // Adding a known blob again after Compact changes nothing.
  index.AddPack(third, copy);
  EXPECT_EQ(index.blob_count(), 20u);
  for (const auto& b : blobs) ExpectAt(index, b, first);

  // Duplicates through BulkAdd (index files listing the same blob) are dropped by Compact; the
  // copy in the pack the index learned of first survives.
  MasterIndex bulk;
  bulk.BulkAdd(first, blobs);
  bulk.BulkAdd(second, copy);
  bulk.BulkAdd(first, blobs);
  EXPECT_EQ(bulk.blob_count(), 60u);
  EXPECT_EQ(bulk.pack_count(), 2u);
  bulk.Compact();
  EXPECT_EQ(bulk.blob_count(), 20u);
  for (const auto& b : blobs) ExpectAt(bulk, b, first);
  MasterIndex reversed;
  reversed.BulkAdd(second, copy);
  reversed.BulkAdd(first, blobs);
  reversed.Compact();
  for (const auto& b : copy) ExpectAt(reversed, b, second);
  size_t entries = 0;
  bulk.ForEach([&](const Id&, const PackedBlob&) { ++entries; });
  EXPECT_EQ(entries, 20u);
}

TEST(MasterIndexTest, TreeAndDataWithSameIdAreDistinct) {
  IdGen gen(6);
  Id pack1 = gen.Next(), pack2 = gen.Next();
  PackedBlob data{BlobType::kData, gen.Next(), 0, 100, 1000};
  PackedBlob tree = data;
  tree.type = BlobType::kTree;
  tree.offset = 100;
  tree.stored_length = 200;
  tree.raw_length = 0x7fffffffu;  // the largest raw length the type bit leaves room for
  for (bool bulk : {false, true}) {
    MasterIndex index;
    if (bulk) {
      index.BulkAdd(pack1, {data});
      index.BulkAdd(pack2, {tree});
    } else {
      index.AddPack(pack1, {data});
      index.AddPack(pack2, {tree});
    }
    index.Compact();
    EXPECT_EQ(index.blob_count(), 2u);
    ExpectAt(index, data, pack1);
    ExpectAt(index, tree, pack2);
  }
  // Mixed: one in the sorted array, the other in the overlay.
  MasterIndex index;
  index.AddPack(pack1, {data});
  index.Compact();
  index.AddPack(pack2, {tree});
  ExpectAt(index, data, pack1);
  ExpectAt(index, tree, pack2);
}

TEST(MasterIndexTest, IdsSharingThePrefixDirectoryBucket) {
  // Many ids with the same first two bytes, and ids at the ends of the directory.
  IdGen gen(7);
  MasterIndex index;
  std::vector<PackedBlob> blobs = MakeBlobs(gen, 300);
  for (size_t i = 0; i < blobs.size(); ++i) {
    blobs[i].id.bytes[0] = i < 100 ? 0x00 : (i < 200 ? 0xab : 0xff);
    blobs[i].id.bytes[1] = i < 100 ? 0x00 : (i < 200 ? 0xcd : 0xff);
  }
  Id pack = gen.Next();
  index.BulkAdd(pack, blobs);
  index.Compact();
  for (const auto& b : blobs) ExpectAt(index, b, pack);
  Id miss = blobs[150].id;
  miss.bytes[31] ^= 1;
  EXPECT_FALSE(index.Has(BlobType::kData, miss));
  Id all_ff;
  all_ff.bytes.fill(0xff);
  EXPECT_FALSE(index.Has(BlobType::kData, all_ff));
  EXPECT_FALSE(index.Has(BlobType::kData, Id{}));
}

TEST(MasterIndexTest, MemoryUsageAfterCompactIsAtMost64BytesPerBlob) {
  IdGen gen(8);
  MasterIndex index;
  constexpr size_t kPacks = 1000, kPerPack = 1000;
  std::vector<PackedBlob> blobs(kPerPack);
  for (size_t p = 0; p < kPacks; ++p) {
    for (size_t i = 0; i < kPerPack; ++i) {
      blobs[i].id = gen.Next();
      blobs[i].offset = static_cast<uint32_t>(i * 100);
      blobs[i].stored_length = 100;
      blobs[i].raw_length = 90;
    }
    index.BulkAdd(gen.Next(), blobs);
  }
  index.Compact();
  ASSERT_EQ(index.blob_count(), kPacks * kPerPack);
  double per_blob = static_cast<double>(index.MemoryUsage()) / (kPacks * kPerPack);
  EXPECT_LE(per_blob, 64.0);
  EXPECT_GE(per_blob, 48.0);  // the estimate must at least count the entries
  EXPECT_TRUE(index.Has(BlobType::kData, blobs[17].id));
}

TEST(MasterIndexTest, ConcurrentAddFindCompact) {
  MasterIndex index;
  constexpr int kWriters = 4, kPacksPerWriter = 50, kBlobsPerPack = 200;
  std::vector<std::vector<std::pair<Id, std::vector<PackedBlob>>>> written(kWriters);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> lookups{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      IdGen gen(100 + w);
      for (int p = 0; p < kPacksPerWriter; ++p) {
        Id name = gen.Next();
        auto blobs = MakeBlobs(gen, kBlobsPerPack, p % 2 ? BlobType::kTree : BlobType::kData);
        if (p % 3 == 0) {
          index.BulkAdd(name, blobs);
        } else {
          index.AddPack(name, blobs);
          // What was added through AddPack is findable at once, concurrent Compacts or not.
          for (const auto& b : blobs) {
            auto loc = index.Find(b.type, b.id);
            if (!loc || loc->pack != name) ADD_FAILURE() << "lost " << b.id.Hex();
          }
        }
        written[w].emplace_back(name, std::move(blobs));
      }
    });
  }
  std::thread compactor([&] {
    while (!done) {
      index.Compact();
      std::this_thread::yield();
    }
  });
  std::thread reader([&] {
    IdGen gen(999);
    while (!done) {
      (void)index.Has(BlobType::kData, gen.Next());
      (void)index.blob_count();
      (void)index.MemoryUsage();
      lookups++;
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  compactor.join();
  reader.join();
  index.Compact();
  EXPECT_GT(lookups.load(), 0u);
  EXPECT_EQ(index.blob_count(), size_t{kWriters} * kPacksPerWriter * kBlobsPerPack);
  EXPECT_EQ(index.pack_count(), size_t{kWriters} * kPacksPerWriter);
  for (const auto& per_writer : written)
    for (const auto& [name, blobs] : per_writer)
      for (const auto& b : blobs) ExpectAt(index, b, name);
}

// ---------------------------------------------------------------- index files

IndexFile SampleIndexFile(IdGen& gen) {
  IndexFile f;
  f.supersedes = {gen.Next(), gen.Next()};
  for (int p = 0; p < 3; ++p) {
    IndexFile::Pack pack;
    pack.name = gen.Next();
    pack.blobs =
        MakeBlobs(gen, static_cast<size_t>(p * 2), p == 1 ? BlobType::kTree : BlobType::kData);
    f.packs.push_back(std::move(pack));
  }
  return f;
}

void ExpectSameIndexFile(const IndexFile& a, const IndexFile& b) {
  EXPECT_EQ(a.supersedes, b.supersedes);
  ASSERT_EQ(a.packs.size(), b.packs.size());
  for (size_t p = 0; p < a.packs.size(); ++p) {
    EXPECT_EQ(a.packs[p].name, b.packs[p].name);
    ASSERT_EQ(a.packs[p].blobs.size(), b.packs[p].blobs.size());
    for (size_t i = 0; i < a.packs[p].blobs.size(); ++i) {
      const PackedBlob &x = a.packs[p].blobs[i], &y = b.packs[p].blobs[i];
      EXPECT_EQ(x.type, y.type);
      EXPECT_EQ(x.id, y.id);
      EXPECT_EQ(x.offset, y.offset);
      EXPECT_EQ(x.stored_length, y.stored_length);
      EXPECT_EQ(x.raw_length, y.raw_length);
    }
  }
}

TEST(IndexFileTest, RoundTrip) {
  IdGen gen(10);
  IndexFile f = SampleIndexFile(gen);
  Bytes enc = EncodeIndexFile(f);
  // 1 + 4 + 2*32 + 4 + 3 packs * 36 + (0 + 2 + 4) blobs * 45.
  EXPECT_EQ(enc.size(), 1 + 4 + 64 + 4 + 3 * 36 + 6 * 45u);
  auto dec = DecodeIndexFile(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  ExpectSameIndexFile(f, *dec);

  IndexFile empty;
  auto dec_empty = DecodeIndexFile(EncodeIndexFile(empty));
  ASSERT_TRUE(dec_empty.ok());
  EXPECT_TRUE(dec_empty->packs.empty());
  EXPECT_TRUE(dec_empty->supersedes.empty());
}

TEST(IndexFileTest, TruncationAtEveryLengthIsCorruption) {
  IdGen gen(11);
  Bytes enc = EncodeIndexFile(SampleIndexFile(gen));
  for (size_t n = 0; n < enc.size(); ++n) {
    Bytes cut(enc.begin(), enc.begin() + n);  // own allocation, so ASan sees overreads
    auto dec = DecodeIndexFile(cut);
    ASSERT_EQ(dec.status().code(), StatusCode::kCorruption) << n;
  }
}

TEST(IndexFileTest, RejectsMalformedInput) {
  IdGen gen(12);
  IndexFile f = SampleIndexFile(gen);
  Bytes enc = EncodeIndexFile(f);
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_EQ(DecodeIndexFile(trailing).status().code(), StatusCode::kCorruption);
  Bytes version = enc;
  version[0] = 2;
  EXPECT_EQ(DecodeIndexFile(version).status().code(), StatusCode::kCorruption);
  // Counts far larger than the input must not allocate or read past the end.
  Bytes huge_supersedes = enc;
  StoreLE32(huge_supersedes.data() + 1, 0xffffffffu);
  EXPECT_EQ(DecodeIndexFile(huge_supersedes).status().code(), StatusCode::kCorruption);
  Bytes huge_packs = enc;
  StoreLE32(huge_packs.data() + 1 + 4 + 64, 0xffffffffu);
  EXPECT_EQ(DecodeIndexFile(huge_packs).status().code(), StatusCode::kCorruption);
  Bytes huge_blobs = enc;
  StoreLE32(huge_blobs.data() + 1 + 4 + 64 + 4 + 32, 0x10000000u);
  EXPECT_EQ(DecodeIndexFile(huge_blobs).status().code(), StatusCode::kCorruption);
  // Unknown blob type, raw length out of range (first blob of the second pack).
  size_t first_blob = 1 + 4 + 64 + 4 + 36 + 36;
  Bytes type = enc;
  type[first_blob] = 2;
  EXPECT_EQ(DecodeIndexFile(type).status().code(), StatusCode::kCorruption);
  Bytes raw = enc;
  StoreLE32(raw.data() + first_blob + 1 + 32 + 8, static_cast<uint32_t>(kMaxBlobSize + 1));
  EXPECT_EQ(DecodeIndexFile(raw).status().code(), StatusCode::kCorruption);
}

TEST(IndexFileTest, EveryBitFlipInASealedIndexFileIsRejected) {
  auto backend = std::make_unique<MemoryBackend>();
  MemoryBackend* be = backend.get();
  InitOptions opts;
  opts.kdf = KdfParams{1024, 8, 1};
  auto repo = Repository::Init(std::move(backend), "pw", opts);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  IdGen gen(13);
  IndexFile f = SampleIndexFile(gen);
  auto id = (*repo)->SaveUnpacked(ObjectType::kIndex, EncodeIndexFile(f));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  std::string name = id->Hex();
  ObjectHandle h{ObjectType::kIndex, name};
  auto stored = be->Load(h, 0, 0);
  ASSERT_TRUE(stored.ok());
  {
    auto plain = (*repo)->LoadUnpacked(ObjectType::kIndex, name);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    auto dec = DecodeIndexFile(*plain);
    ASSERT_TRUE(dec.ok());
    ExpectSameIndexFile(f, *dec);
  }
  for (size_t bit = 0; bit < stored->size() * 8; ++bit) {
    Bytes bad = *stored;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    // Bit rot in place: the content no longer matches its name.
    ASSERT_TRUE(be->ReplaceForTesting(h, bad).ok());
    auto plain = (*repo)->LoadUnpacked(ObjectType::kIndex, name);
    ASSERT_EQ(plain.status().code(), StatusCode::kCorruption) << "bit " << bit;
    ASSERT_NE(plain.status().message().find(name), std::string::npos);
    // Tampering that also renames the object: authentication must still catch it.
    std::string renamed = HexEncode(crypto::Sha256(bad));
    ASSERT_TRUE(be->Save({ObjectType::kIndex, renamed}, bad).ok());
    auto plain2 = (*repo)->LoadUnpacked(ObjectType::kIndex, renamed);
    ASSERT_EQ(plain2.status().code(), StatusCode::kCorruption) << "bit " << bit;
    ASSERT_TRUE(be->Remove({ObjectType::kIndex, renamed}).ok());
  }
  // LoadIndex refuses a damaged index file and names it.
  Bytes bad = *stored;
  bad[bad.size() / 2] ^= 0x10;
  ASSERT_TRUE(be->ReplaceForTesting(h, bad).ok());
  Status st = (*repo)->LoadIndex();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
  // Restored, it loads.
  ASSERT_TRUE(be->ReplaceForTesting(h, *stored).ok());
  ASSERT_TRUE((*repo)->LoadIndex().ok());
  for (const auto& p : f.packs)
    for (const auto& b : p.blobs) ExpectAt((*repo)->index(), b, p.name);
}

}  // namespace
}  // namespace lifeboat

namespace lifeboat {
namespace {

TEST(MasterIndexTest, ForEachPackGroupsByPackInOffsetOrderAndPositionsAreStable) {
  IdGen gen(77);
  MasterIndex index;
  Id pack1 = gen.Next(), pack2 = gen.Next();
  auto blobs1 = MakeBlobs(gen, 50);
  auto blobs2 = MakeBlobs(gen, 30, BlobType::kTree);
  index.BulkAdd(pack1, blobs1);
  index.BulkAdd(pack2, blobs2);
  index.Compact();
  Id pack3 = gen.Next();
  auto blobs3 = MakeBlobs(gen, 5);
  index.AddPack(pack3, blobs3);  // overlay entries are included too

  std::map<Id, std::vector<PackedBlob>> seen;
  ASSERT_TRUE(index
                  .ForEachPack([&](const Id& pack, const std::vector<PackedBlob>& blobs) {
                    EXPECT_FALSE(seen.count(pack)) << "pack reported twice";
                    seen[pack] = blobs;
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(seen.size(), 3u);
  for (auto [pack, want] : {std::pair{pack1, blobs1}, {pack2, blobs2}, {pack3, blobs3}}) {
    const auto& got = seen[pack];
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].id, want[i].id);
      EXPECT_EQ(got[i].offset, want[i].offset);
      EXPECT_EQ(got[i].type, want[i].type);
      EXPECT_EQ(got[i].raw_length, want[i].raw_length);
    }
  }
  // An error from fn stops the walk and is returned.
  int calls = 0;
  Status st = index.ForEachPack([&](const Id&, const std::vector<PackedBlob>&) {
    ++calls;
    return Status::Corruption("stop");
  });
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(calls, 1);

  // Positions: distinct, in range, and AtPosition returns the same location as Find.
  index.Compact();
  std::set<size_t> positions;
  for (const auto& b : blobs1) {
    auto pos = index.Position(b.type, b.id);
    ASSERT_TRUE(pos.has_value());
    EXPECT_LT(*pos, index.blob_count());
    positions.insert(*pos);
    EXPECT_EQ(index.AtPosition(*pos).offset, index.Find(b.type, b.id)->offset);
  }
  EXPECT_EQ(positions.size(), blobs1.size());
  EXPECT_FALSE(index.Position(BlobType::kTree, blobs1[0].id).has_value());  // wrong type

  index.Clear();
  EXPECT_EQ(index.blob_count(), 0u);
  EXPECT_EQ(index.pack_count(), 0u);
  EXPECT_FALSE(index.Find(blobs1[0].type, blobs1[0].id).has_value());
  index.AddPack(pack1, blobs1);
  ExpectAt(index, blobs1[7], pack1);
}

}  // namespace
}  // namespace lifeboat
