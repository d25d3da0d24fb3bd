#include "checker/checker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "backend/forwarding_backend.h"
#include "repository/blob_saver.h"
#include "repository/index_writer.h"
#include "runlog/run_records.h"
#include "small_repo_fixture.h"

namespace lifeboat {
namespace {

CheckOptions ReadData() {
  CheckOptions o;
  o.read_data = true;
  return o;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The layout is SmallRepoFixture's (tests/small_repo_fixture.h).
class CheckerTest : public lifeboat::testing::SmallRepoFixture {
 protected:
  std::string In2(const std::string& path) { return "snapshot " + snap2_.Short() + ": " + path; }
  // The bob tree is shared by both snapshots (deduplication): its files are named under both.
  bool InBoth(const std::vector<std::string>& affected, const std::string& path) {
    return Contains(affected, In1(path)) && Contains(affected, In2(path));
  }

  // The index file that names `pack`.
  std::string IndexFileOf(const Id& pack) {
    for (const auto& name : Names(ObjectType::kIndex)) {
      auto plain = writer_->LoadUnpacked(ObjectType::kIndex, name);
      if (!plain.ok()) continue;
      auto file = DecodeIndexFile(*plain);
      if (!file.ok()) continue;
      for (const auto& p : file->packs)
        if (p.name == pack) return name;
    }
    ADD_FAILURE() << "no index file names pack " << pack.Hex();
    return "";
  }

  // Opens the repository afresh and checks it.
  CheckResult Check(CheckOptions options = {}) {
    auto repo = Repository::Open(NewBackend(), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    if (!repo.ok()) return {};
    if (options.workers == 0) options.workers = 3;
    auto r = CheckRepository(**repo, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CheckResult{};
  }
};

TEST_F(CheckerTest, HealthyRepositoryHasNoProblems) {
  CheckResult r = Check();
  EXPECT_TRUE(r.healthy()) << Describe(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << Describe(r.warnings);
  EXPECT_EQ(r.snapshots, 2u);
  EXPECT_EQ(r.trees, 6u);  // root, home, alice, bob, root2, home2 (bob shared)
  EXPECT_EQ(r.data_blobs, 5u);
  EXPECT_EQ(r.packs, 4u);
  EXPECT_EQ(r.packs_read, 0u);

  CheckResult full = Check(ReadData());
  EXPECT_TRUE(full.healthy()) << Describe(full.errors);
  EXPECT_EQ(full.packs_read, 4u);
  uint64_t total = 0;
  for (const auto& name : Names(ObjectType::kPack))
    total += LoadObject(ObjectType::kPack, name).size();
  EXPECT_EQ(full.bytes_read, total);
}

TEST_F(CheckerTest, DeletedPackNamesPackAndAffectedFiles) {
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_a_.Hex()}).ok());
  CheckResult r = Check();
  ASSERT_FALSE(r.healthy());
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_a_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_NE(p->message.find("missing"), std::string::npos) << p->message;
  EXPECT_NE(p->message.find(a_[0].Short()), std::string::npos) << p->message;
  EXPECT_TRUE(Contains(p->affected, In1("/home/alice/a.txt"))) << Describe(r.errors);
  EXPECT_FALSE(Contains(p->affected, In1("/home/alice/b.txt")));
  EXPECT_EQ(r.errors.size(), 1u) << Describe(r.errors);
}

TEST_F(CheckerTest, BitFlipInBlobIsFoundByReadData) {
  auto loc = writer_->index().Find(BlobType::kData, a_[1]);
  ASSERT_TRUE(loc.has_value());
  Bytes pack = LoadObject(ObjectType::kPack, pack_a_.Hex());
  pack[loc->offset + 30] ^= 0x10;
  Replace(ObjectType::kPack, pack_a_.Hex(), pack);

  CheckResult structure = Check();
  EXPECT_TRUE(structure.healthy()) << Describe(structure.errors);

  CheckResult r = Check(ReadData());
  ASSERT_FALSE(r.healthy());
  const CheckProblem* blob = FindProblem(r.errors, "blob", a_[1].Hex());
  ASSERT_NE(blob, nullptr) << Describe(r.errors);
  EXPECT_NE(blob->message.find(pack_a_.Hex()), std::string::npos) << blob->message;
  EXPECT_TRUE(Contains(blob->affected, In1("/home/alice/a.txt"))) << Describe(r.errors);
  EXPECT_EQ(blob->affected.size(), 1u);
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_a_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_NE(p->message.find("does not match its name"), std::string::npos);
  EXPECT_EQ(FindProblem(r.errors, "blob", a_[0].Hex()), nullptr) << "the other blob is intact";
}

TEST_F(CheckerTest, ReadDataSubsetSelectsPacksByFirstByte) {
  auto loc = writer_->index().Find(BlobType::kData, a_[0]);
  Bytes pack = LoadObject(ObjectType::kPack, pack_a_.Hex());
  pack[loc->offset + 50] ^= 0x01;
  Replace(ObjectType::kPack, pack_a_.Hex(), pack);

  uint32_t bucket = pack_a_.bytes[0] % 2 + 1;  // the bucket holding the damaged pack
  uint32_t other = 3 - bucket;
  uint64_t in_other = 0;
  for (const Id& p : {pack_a_, pack_b_, pack_c_, pack_t_})
    in_other += (p.bytes[0] % 2 == other - 1);

  CheckOptions skip;
  skip.subset = std::make_pair(other, 2u);
  CheckResult r = Check(skip);
  EXPECT_TRUE(r.healthy()) << Describe(r.errors);
  EXPECT_EQ(r.packs_read, in_other);

  CheckOptions hit;
  hit.subset = std::make_pair(bucket, 2u);
  r = Check(hit);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.packs_read, 4 - in_other);
  EXPECT_NE(FindProblem(r.errors, "blob", a_[0].Hex()), nullptr) << Describe(r.errors);
}

TEST_F(CheckerTest, ReadDataPercentage) {
  CheckOptions all;
  ASSERT_TRUE(ParseReadDataSubset("100%", &all).ok());
  EXPECT_EQ(Check(all).packs_read, 4u);

  CheckOptions quarter;
  ASSERT_TRUE(ParseReadDataSubset("25%", &quarter).ok());
  EXPECT_EQ(Check(quarter).packs_read, 1u);

  CheckOptions tiny;
  ASSERT_TRUE(ParseReadDataSubset("0.1%", &tiny).ok());
  EXPECT_EQ(Check(tiny).packs_read, 1u) << "at least one pack is read";

  // A fixed seed selects the same packs each time; over seeds every pack gets picked.
  std::set<uint64_t> sizes;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    CheckOptions o;
    o.subset_percent = 25;
    o.subset_seed = seed;
    CheckResult a = Check(o), b = Check(o);
    EXPECT_EQ(a.bytes_read, b.bytes_read);
    sizes.insert(a.bytes_read);
  }
  EXPECT_GT(sizes.size(), 1u);
}

TEST_F(CheckerTest, ReadDataSubsetBySize) {
  std::vector<uint64_t> sizes;
  uint64_t total = 0;
  for (const Id& p : {pack_a_, pack_b_, pack_c_, pack_t_}) {
    sizes.push_back(LoadObject(ObjectType::kPack, p.Hex()).size());
    total += sizes.back();
  }
  uint64_t largest = *std::max_element(sizes.begin(), sizes.end());

  CheckOptions one;
  one.subset_bytes = 1;
  CheckResult r = Check(one);
  EXPECT_EQ(r.packs_read, 1u) << "at least one pack, and one is enough for a byte";
  EXPECT_TRUE(r.healthy());

  CheckOptions all;
  ASSERT_TRUE(ParseReadDataSubset("1G", &all).ok());
  EXPECT_EQ(Check(all).packs_read, 4u) << "more than the repository holds: every pack";

  // About half: at least the size, and at most one pack more than it.
  std::set<uint64_t> seen;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CheckOptions o;
    o.subset_bytes = total / 2;
    o.subset_seed = seed;
    CheckResult half = Check(o);
    EXPECT_GE(half.bytes_read, total / 2) << seed;
    EXPECT_LT(half.bytes_read, total / 2 + largest) << seed;
    seen.insert(half.bytes_read);
  }
  EXPECT_GT(seen.size(), 1u) << "the selection is random";
}

TEST_F(CheckerTest, DamagedPacksAreListedForRepair) {
  auto loc = writer_->index().Find(BlobType::kData, a_[1]);
  Bytes pack = LoadObject(ObjectType::kPack, pack_a_.Hex());
  pack[loc->offset + 30] ^= 0x10;
  Replace(ObjectType::kPack, pack_a_.Hex(), pack);
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_c_.Hex()}).ok());
  CheckResult r = Check(ReadData());
  std::vector<Id> want = {pack_a_, pack_c_};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(r.damaged_packs, want) << Describe(r.errors);
  EXPECT_TRUE(Check().damaged_packs == std::vector<Id>{pack_c_})
      << "without read-data only the missing pack is known";
}

TEST_F(CheckerTest, UnusedDataIsInformationNotAnError) {
  CheckResult clean = Check();
  ASSERT_TRUE(clean.unused.has_value());
  EXPECT_EQ(clean.unused->blobs, 0u);
  EXPECT_EQ(clean.unused->packs, 0u);
  EXPECT_EQ(clean.unused->unindexed_packs, 0u);

  // Two blobs no snapshot uses, alone in one pack; and one pack that no index names.
  BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
  Id x = SaveBlob(saver, RandomData(800, 50));
  Id y = SaveBlob(saver, RandomData(600, 51));
  ASSERT_TRUE(saver.Flush().ok());
  auto lx = writer_->index().Find(BlobType::kData, x);
  auto ly = writer_->index().Find(BlobType::kData, y);
  ASSERT_EQ(lx->pack, ly->pack);
  PackWriter w(writer_->aead());
  Bytes data = RandomData(700, 99);
  Id id = writer_->codec().ComputeId(data);
  Bytes stored;
  ASSERT_TRUE(writer_->codec().Encode(data, id, &stored).ok());
  w.Add(BlobType::kData, id, std::move(stored), static_cast<uint32_t>(data.size()));
  auto orphan = w.Finish();
  ASSERT_TRUE(orphan.ok());
  ASSERT_TRUE(mem_.Save({ObjectType::kPack, orphan->name.Hex()}, orphan->Joined()).ok());

  CheckResult r = Check(ReadData());
  EXPECT_TRUE(r.healthy()) << Describe(r.errors);
  ASSERT_TRUE(r.unused.has_value());
  EXPECT_EQ(r.unused->blobs, 2u);
  EXPECT_EQ(r.unused->blob_bytes, uint64_t{lx->stored_length} + ly->stored_length);
  EXPECT_EQ(r.unused->packs, 1u);
  EXPECT_EQ(r.unused->pack_bytes, LoadObject(ObjectType::kPack, lx->pack.Hex()).size());
  EXPECT_EQ(r.unused->unindexed_packs, 1u);
  EXPECT_EQ(r.unused->unindexed_pack_bytes, orphan->size);

  // A snapshot that cannot be read hides which blobs it uses: no unused count then.
  Bytes snap = LoadObject(ObjectType::kSnapshot, snap2_.Hex());
  snap[5] ^= 1;
  Replace(ObjectType::kSnapshot, snap2_.Hex(), snap);
  CheckResult damaged = Check();
  EXPECT_FALSE(damaged.healthy());
  EXPECT_FALSE(damaged.unused.has_value());
}

TEST_F(CheckerTest, SupersededIndexFilesAreIgnoredWithAWarning) {
  // An interrupted replacement: the new index (without pack b) is written, the old files remain.
  auto repo = Repository::Open(NewBackend(), "pw");
  ASSERT_TRUE(repo.ok());
  ASSERT_TRUE((*repo)->LoadIndex().ok());
  std::vector<Id> old = (*repo)->index_files();
  ASSERT_FALSE(old.empty());
  auto written = WriteReplacementIndex(
      **repo, (*repo)->index(), [&](const Id& p) { return p != pack_b_; }, old);
  ASSERT_TRUE(written.ok()) << written.status().ToString();

  CheckResult r = Check();
  for (const Id& name : old)
    EXPECT_NE(FindProblem(r.warnings, "index", name.Hex()), nullptr) << Describe(r.warnings);
  // The old files still name pack b, but they are not in force: b's blob is missing.
  const CheckProblem* missing = FindProblem(r.errors, "blob", b_.Hex());
  ASSERT_NE(missing, nullptr) << Describe(r.errors);
  EXPECT_TRUE(Contains(missing->affected, In1("/home/alice/b.txt")));
  EXPECT_EQ(r.errors.size(), 1u) << Describe(r.errors);

  // A damaged superseded file is not an error either: it no longer counts.
  Bytes bad = LoadObject(ObjectType::kIndex, old[0].Hex());
  bad[3] ^= 1;
  Replace(ObjectType::kIndex, old[0].Hex(), bad);
  CheckResult r2 = Check();
  EXPECT_EQ(FindProblem(r2.errors, "index", old[0].Hex()), nullptr) << Describe(r2.errors);
  EXPECT_EQ(r2.errors.size(), 1u) << Describe(r2.errors);
}

TEST_F(CheckerTest, ParseReadDataSubset) {
  CheckOptions o;
  ASSERT_TRUE(ParseReadDataSubset("2/5", &o).ok());
  ASSERT_TRUE(o.subset.has_value());
  EXPECT_EQ(o.subset->first, 2u);
  EXPECT_EQ(o.subset->second, 5u);
  EXPECT_FALSE(o.subset_percent.has_value());
  ASSERT_TRUE(ParseReadDataSubset("12.5%", &o).ok());
  EXPECT_DOUBLE_EQ(*o.subset_percent, 12.5);
  EXPECT_FALSE(o.subset.has_value());
  ASSERT_TRUE(ParseReadDataSubset("500M", &o).ok());
  EXPECT_EQ(o.subset_bytes, uint64_t{500} << 20);
  EXPECT_FALSE(o.subset.has_value() || o.subset_percent.has_value());
  ASSERT_TRUE(ParseReadDataSubset("3/4", &o).ok());
  EXPECT_FALSE(o.subset_bytes.has_value()) << "each form clears the others";
  // A size is util/units.h's ParseSize, where a number without a unit is bytes (at least one).
  ASSERT_TRUE(ParseReadDataSubset("500", &o).ok());
  EXPECT_EQ(o.subset_bytes, 500u);
  for (const char* bad : {"", "0/3", "4/3", "1/0", "1/257", "a/b", "1/", "/2", "0", "0%", "101%",
                          "%", "-5%", "1e3%", "1/2/3", "1 /2", "nan%", "-1", "0M", "0.0001K", "1X",
                          "M", "1.2.3G", ".5G", "5.G", "-1G", "1 G", "99999999999P"}) {
    CheckOptions x;
    Status st = ParseReadDataSubset(bad, &x);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
    EXPECT_FALSE(x.subset.has_value() || x.subset_percent.has_value() ||
                 x.subset_bytes.has_value())
        << bad;
  }
}

TEST_F(CheckerTest, CorruptSnapshotIsAnError) {
  std::string name = snap2_.Hex();
  Bytes s = LoadObject(ObjectType::kSnapshot, name);
  s[s.size() / 2] ^= 0x80;
  Replace(ObjectType::kSnapshot, name, s);
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "snapshot", name);
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_NE(p->message.find("damaged"), std::string::npos) << p->message;
  EXPECT_EQ(r.errors.size(), 1u) << Describe(r.errors);
  EXPECT_EQ(r.snapshots, 1u);
  EXPECT_EQ(r.trees, 4u);
}

TEST_F(CheckerTest, RunRecordsAreCheckedDamageIsAnErrorANewerVersionAWarning) {
  RunRecord rec;
  rec.id = NewRunRecordId();
  rec.run_id = NewRunId();
  rec.service = "orders";
  rec.site = "primary";
  rec.host = "h";
  rec.program_version = "lifeboat test";
  auto good = WriteRunRecords(*writer_, {rec}, Context());
  ASSERT_TRUE(good.ok());
  rec.id = NewRunRecordId();
  auto bad = WriteRunRecords(*writer_, {rec}, Context());
  ASSERT_TRUE(bad.ok());
  CheckResult healthy = Check();
  EXPECT_TRUE(healthy.healthy()) << Describe(healthy.errors);
  EXPECT_TRUE(healthy.warnings.empty()) << Describe(healthy.warnings);

  Bytes data = LoadObject(ObjectType::kRun, bad->Hex());
  data[data.size() / 2] ^= 0x04;
  Replace(ObjectType::kRun, bad->Hex(), data);
  std::string newer = R"({"version":4,"records":[]})";
  auto newer_id = writer_->SaveUnpacked(
      ObjectType::kRun, ByteView(reinterpret_cast<const uint8_t*>(newer.data()), newer.size()));
  ASSERT_TRUE(newer_id.ok());
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "run", bad->Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_NE(p->message.find("damaged"), std::string::npos) << p->message;
  EXPECT_EQ(r.errors.size(), 1u) << Describe(r.errors);
  const CheckProblem* w = FindProblem(r.warnings, "run", newer_id->Hex());
  ASSERT_NE(w, nullptr) << Describe(r.warnings);
  EXPECT_NE(w->message.find("newer Lifeboat"), std::string::npos) << w->message;
  EXPECT_EQ(r.snapshots, 2u);  // the snapshots are unaffected
  EXPECT_EQ(r.trees, 6u);
}

TEST_F(CheckerTest, CorruptIndexFileIsAnErrorAndItsBlobsMissing) {
  std::string index = IndexFileOf(pack_b_);
  Bytes data = LoadObject(ObjectType::kIndex, index);
  data[10] ^= 0x01;
  Replace(ObjectType::kIndex, index, data);
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "index", index);
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  const CheckProblem* missing = FindProblem(r.errors, "blob", b_.Hex());
  ASSERT_NE(missing, nullptr) << Describe(r.errors);
  EXPECT_TRUE(Contains(missing->affected, In1("/home/alice/b.txt")));
  // Its pack is still there, but now nothing names it.
  EXPECT_NE(FindProblem(r.warnings, "pack", pack_b_.Hex()), nullptr) << Describe(r.warnings);
  EXPECT_EQ(r.errors.size(), 2u) << Describe(r.errors);
}

TEST_F(CheckerTest, UnreferencedPackIsOnlyAWarning) {
  PackWriter w(writer_->aead());
  Bytes data = RandomData(700, 99);
  Id id = writer_->codec().ComputeId(data);
  Bytes stored;
  ASSERT_TRUE(writer_->codec().Encode(data, id, &stored).ok());
  w.Add(BlobType::kData, id, std::move(stored), static_cast<uint32_t>(data.size()));
  auto pack = w.Finish();
  ASSERT_TRUE(pack.ok());
  ASSERT_TRUE(mem_.Save({ObjectType::kPack, pack->name.Hex()}, pack->Joined()).ok());

  CheckResult r = Check(ReadData());
  EXPECT_TRUE(r.healthy()) << Describe(r.errors);
  const CheckProblem* p = FindProblem(r.warnings, "pack", pack->name.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.warnings);
  EXPECT_NE(p->message.find("unreferenced"), std::string::npos);
  EXPECT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.packs_read, 4u) << "unreferenced packs are not read";
}

TEST_F(CheckerTest, TruncatedPackIsAnError) {
  Bytes pack = LoadObject(ObjectType::kPack, pack_b_.Hex());
  pack.resize(pack.size() / 2);
  Replace(ObjectType::kPack, pack_b_.Hex(), pack);
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_b_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_TRUE(Contains(p->affected, In1("/home/alice/b.txt"))) << Describe(r.errors);
  EXPECT_EQ(r.errors.size(), 1u) << Describe(r.errors);

  CheckResult full = Check(ReadData());
  p = FindProblem(full.errors, "pack", pack_b_.Hex());
  ASSERT_NE(p, nullptr) << Describe(full.errors);
  EXPECT_TRUE(Contains(p->affected, In1("/home/alice/b.txt")));
}

TEST_F(CheckerTest, MissingTreePackNamesDirectories) {
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_t_.Hex()}).ok());
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_t_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_TRUE(Contains(p->affected, In1("/"))) << Describe(r.errors);
  EXPECT_TRUE(Contains(p->affected, In2("/"))) << Describe(r.errors);
  Id root = writer_->LoadSnapshot(snap1_)->tree;
  EXPECT_NE(FindProblem(r.errors, "tree", root.Hex()), nullptr) << Describe(r.errors);
  EXPECT_EQ(r.trees, 0u);
}

TEST_F(CheckerTest, IndexDisagreeingWithPackHeaderIsAnError) {
  // Replace the index file of pack_c_ by one that puts blob c at a wrong offset.
  std::string old_index = IndexFileOf(pack_c_);
  auto plain = writer_->LoadUnpacked(ObjectType::kIndex, old_index);
  ASSERT_TRUE(plain.ok());
  auto file = DecodeIndexFile(*plain);
  ASSERT_TRUE(file.ok());
  bool changed = false;
  for (auto& p : file->packs)
    for (auto& b : p.blobs)
      if (b.id == c_) {
        b.offset += 1;
        changed = true;
      }
  ASSERT_TRUE(changed);
  ASSERT_TRUE(writer_->SaveUnpacked(ObjectType::kIndex, EncodeIndexFile(*file)).ok());
  ASSERT_TRUE(mem_.Remove({ObjectType::kIndex, old_index}).ok());

  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_c_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_NE(p->message.find("disagree about 1 blob"), std::string::npos) << p->message;
  EXPECT_NE(p->message.find(c_.Short()), std::string::npos) << p->message;
  EXPECT_TRUE(InBoth(p->affected, "/home/bob/c.txt")) << Describe(r.errors);
  EXPECT_FALSE(Contains(p->affected, In2("/home/d.txt"))) << "blob d is indexed correctly";
}

TEST_F(CheckerTest, DamagedConfigAndKeyAreErrors) {
  std::string key = Names(ObjectType::kKey).at(0);
  Bytes k = LoadObject(ObjectType::kKey, key);
  k.push_back(' ');  // still parses as JSON, no longer matches its name
  Replace(ObjectType::kKey, key, k);
  // Opening uses the key and config before the damage below is done.
  auto repo = Repository::Open(NewBackend(), "pw");
  ASSERT_TRUE(repo.ok());
  Bytes config = LoadObject(ObjectType::kConfig, "");
  config.back() ^= 1;
  Replace(ObjectType::kConfig, "", config);
  auto r = CheckRepository(**repo, {});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(FindProblem(r->errors, "key", key), nullptr) << Describe(r->errors);
  EXPECT_NE(FindProblem(r->errors, "config", "config"), nullptr) << Describe(r->errors);
  EXPECT_EQ(r->errors.size(), 2u) << Describe(r->errors);
}

TEST_F(CheckerTest, GarbageNeverCrashesAndIsAlwaysReported) {
  // Every pack, index file and snapshot replaced by garbage of awkward sizes.
  std::vector<size_t> sizes = {0, 1, 3, 4, 40, 45, 100, 5000};
  size_t i = 0;
  for (ObjectType type : {ObjectType::kPack, ObjectType::kIndex, ObjectType::kSnapshot})
    for (const auto& name : Names(type)) {
      Bytes garbage = RandomData(sizes[i % sizes.size()], static_cast<uint32_t>(i));
      ++i;
      Replace(type, name, garbage);
    }
  CheckResult r = Check(ReadData());
  EXPECT_FALSE(r.healthy());
  EXPECT_GE(r.errors.size(), Names(ObjectType::kIndex).size() + 2) << Describe(r.errors);
  EXPECT_EQ(r.snapshots, 0u);
}

TEST_F(CheckerTest, PackTrailerPointingEverywhereIsReported) {
  // Headers that claim absurd lengths must be rejected, not followed. The blobs themselves are
  // intact and the index knows where they are: the data is reachable, no file is affected.
  Bytes pack = LoadObject(ObjectType::kPack, pack_c_.Hex());
  for (uint32_t len : {0u, 1u, 0xffffffffu, static_cast<uint32_t>(pack.size())}) {
    Bytes bad = pack;
    StoreLE32(bad.data() + bad.size() - 4, len);
    Replace(ObjectType::kPack, pack_c_.Hex(), bad);
    CheckResult r = Check(ReadData());
    const CheckProblem* p = FindProblem(r.errors, "pack", pack_c_.Hex());
    ASSERT_NE(p, nullptr) << len << "\n" << Describe(r.errors);
    EXPECT_NE(p->message.find("header is damaged"), std::string::npos) << p->message;
    EXPECT_NE(p->message.find("all 2 blob(s)"), std::string::npos) << p->message;
    EXPECT_TRUE(p->affected.empty()) << Describe(r.errors);
    EXPECT_TRUE(r.affected_snapshots.empty());
    EXPECT_EQ(r.damaged_packs, std::vector<Id>{pack_c_}) << "repair packs rewrites it";
  }
}

// Issue 11 item 14: a damaged pack header used to make every blob of the pack "unreadable" and
// every file using them affected, although the index reaches each blob and each one verifies.
TEST_F(CheckerTest, DamagedPackHeaderWithReachableBlobsIsReportedPrecisely) {
  Bytes pack = LoadObject(ObjectType::kPack, pack_c_.Hex());
  pack[pack.size() - 10] ^= 0x01;  // inside the sealed header: it no longer authenticates
  Replace(ObjectType::kPack, pack_c_.Hex(), pack);
  for (const CheckOptions& options : {CheckOptions{}, ReadData()}) {
    CheckResult r = Check(options);
    EXPECT_FALSE(r.healthy()) << "a damaged header is damage (exit 4)";
    const CheckProblem* p = FindProblem(r.errors, "pack", pack_c_.Hex());
    ASSERT_NE(p, nullptr) << Describe(r.errors);
    EXPECT_NE(p->message.find("pack header is damaged"), std::string::npos) << p->message;
    EXPECT_NE(p->message.find("reachable"), std::string::npos) << p->message;
    EXPECT_NE(p->message.find("repair packs"), std::string::npos) << p->message;
    EXPECT_EQ(p->message.find("cannot be read"), std::string::npos) << p->message;
    EXPECT_TRUE(p->affected.empty()) << Describe(r.errors);
    EXPECT_EQ(FindProblem(r.errors, "blob", c_.Hex()), nullptr) << Describe(r.errors);
    EXPECT_EQ(FindProblem(r.errors, "blob", d_.Hex()), nullptr) << Describe(r.errors);
    EXPECT_TRUE(r.affected_snapshots.empty());
    EXPECT_EQ(r.damaged_packs, std::vector<Id>{pack_c_});
  }
}

TEST_F(CheckerTest, DamagedPackHeaderAndOneDamagedBlobNamesOnlyThatBlobsFiles) {
  auto loc = writer_->index().Find(BlobType::kData, d_);
  ASSERT_TRUE(loc.has_value());
  Bytes pack = LoadObject(ObjectType::kPack, pack_c_.Hex());
  pack[pack.size() - 10] ^= 0x01;
  pack[loc->offset + 20] ^= 0x01;
  Replace(ObjectType::kPack, pack_c_.Hex(), pack);
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_c_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_NE(p->message.find("1 of the 2 blob(s)"), std::string::npos) << p->message;
  const CheckProblem* blob = FindProblem(r.errors, "blob", d_.Hex());
  ASSERT_NE(blob, nullptr) << Describe(r.errors);
  EXPECT_EQ(blob->affected, std::vector<std::string>{In2("/home/d.txt")});
  EXPECT_EQ(FindProblem(r.errors, "blob", c_.Hex()), nullptr) << Describe(r.errors);
}

// Issue 11 item 13: damage in a blob that deduplication shares names every snapshot and every
// file that uses it, not only the first snapshot whose walk reached the shared tree.
TEST_F(CheckerTest, DamageNamesEverySnapshotAndFileThatSharesTheBlob) {
  // Snapshot 3 (newest): blob c in a new file /other/copy.txt, and the shared bob tree again.
  Id snap3;
  {
    BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
    Id other = SaveTree(saver, {File("copy.txt", {c_}), File("clean.txt", {b_})});
    Id root = SaveTree(saver, {Dir("bob", bob_), Dir("other", other)});
    ASSERT_TRUE(saver.Flush().ok());
    Snapshot s;
    s.time_ns = 3000;
    s.paths = {"/"};
    s.tree = root;
    auto id = writer_->SaveSnapshot(s);
    ASSERT_TRUE(id.ok());
    snap3 = *id;
  }
  auto loc = writer_->index().Find(BlobType::kData, c_);
  Bytes pack = LoadObject(ObjectType::kPack, pack_c_.Hex());
  pack[loc->offset + 30] ^= 0x10;
  Replace(ObjectType::kPack, pack_c_.Hex(), pack);

  CheckResult r = Check(ReadData());
  const CheckProblem* blob = FindProblem(r.errors, "blob", c_.Hex());
  ASSERT_NE(blob, nullptr) << Describe(r.errors);
  std::string in3 = "snapshot " + snap3.Short() + ": ";
  EXPECT_EQ(blob->affected,
            (std::vector<std::string>{In1("/home/bob/c.txt"), In2("/home/bob/c.txt"),
                                      in3 + "/bob/c.txt", in3 + "/other/copy.txt"}))
      << Describe(r.errors);
  ASSERT_EQ(r.affected_snapshots.size(), 3u);
  EXPECT_EQ(r.affected_snapshots[0].id, snap1_);
  EXPECT_EQ(r.affected_snapshots[0].paths, std::vector<std::string>{"/home/bob/c.txt"});
  EXPECT_EQ(r.affected_snapshots[1].id, snap2_);
  EXPECT_EQ(r.affected_snapshots[1].paths, std::vector<std::string>{"/home/bob/c.txt"});
  EXPECT_EQ(r.affected_snapshots[2].id, snap3);
  EXPECT_EQ(r.affected_snapshots[2].count, 2u);
  EXPECT_EQ(r.affected_snapshots[2].paths,
            (std::vector<std::string>{"/bob/c.txt", "/other/copy.txt"}));
}

TEST_F(CheckerTest, LostTreePackNamesTheRootOfEverySnapshot) {
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_t_.Hex()}).ok());
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_t_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  ASSERT_EQ(r.affected_snapshots.size(), 2u) << Describe(r.errors);
  EXPECT_EQ(r.affected_snapshots[0].paths, std::vector<std::string>{"/"});
  EXPECT_EQ(r.affected_snapshots[1].paths, std::vector<std::string>{"/"});
}

TEST_F(CheckerTest, AffectedPathsAreInPathOrder) {
  // pack_c_ holds c (/home/bob/c.txt) and d (/home/d.txt): in snapshot 2 the file below bob/
  // comes before d.txt, its sibling, as a path-order listing (ls) shows them.
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_c_.Hex()}).ok());
  CheckResult r = Check();
  ASSERT_EQ(r.affected_snapshots.size(), 2u) << Describe(r.errors);
  EXPECT_EQ(r.affected_snapshots[0].paths, std::vector<std::string>{"/home/bob/c.txt"});
  EXPECT_EQ(r.affected_snapshots[1].paths,
            (std::vector<std::string>{"/home/bob/c.txt", "/home/d.txt"}));
}

// A backend over the fixture's MemoryBackend that calls `before` ahead of every load and listing
// (on the check's threads, concurrently).
class HookedBackend : public ForwardingBackend {
 public:
  HookedBackend(Backend* inner, std::function<void(const ObjectHandle&)> before)
      : ForwardingBackend(inner), before_(std::move(before)) {}
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    before_(h);
    return ForwardingBackend::Load(h, offset, length);
  }
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    return LoadIntoThroughLoad(h, offset, length, out);
  }
  Status List(ObjectType type, std::string_view prefix,
              const std::function<Status(const ObjectInfo&)>& fn) override {
    before_({type, ""});
    return ForwardingBackend::List(type, prefix, fn);
  }

 private:
  const std::function<void(const ObjectHandle&)> before_;
};

std::vector<std::string> PhaseNames(const std::vector<PhaseTime>& phases) {
  std::vector<std::string> names;
  for (const PhaseTime& p : phases) names.push_back(p.phase);
  return names;
}

// The progress contract (util/phase_timer.h): one reporter thread, not the caller's; one call at a
// time; exactly one final report, the last; every phase reported is one of the result's.
TEST_F(CheckerTest, ProgressComesFromOneReporterThreadAndEndsWithOneFinalReport) {
  std::atomic<int> reports_seen{0};
  // The first pack read waits (at most 10 s) until a periodic report came, so the check is
  // surely reported on while it runs.
  auto repo = Repository::Open(
      std::make_unique<HookedBackend>(&mem_,
                                      [&](const ObjectHandle& h) {
                                        if (h.type != ObjectType::kPack || h.name.empty()) return;
                                        for (int i = 0; i < 10000 && reports_seen == 0; ++i)
                                          std::this_thread::sleep_for(std::chrono::milliseconds(1));
                                      }),
      "pw");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();

  std::mutex mu;
  std::vector<CheckProgress> reports;
  std::set<std::thread::id> threads;
  std::atomic<int> in_call{0};
  bool overlapped = false;
  CheckOptions o;
  o.read_data = true;
  o.workers = 3;
  o.progress_interval_ms = 1;
  o.progress = [&](const CheckProgress& p) {
    if (in_call.fetch_add(1) != 0) overlapped = true;
    {
      std::lock_guard lock(mu);
      reports.push_back(p);
      threads.insert(std::this_thread::get_id());
    }
    ++reports_seen;
    in_call.fetch_sub(1);
  };
  auto r = CheckRepository(**repo, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->healthy()) << Describe(r->errors);

  EXPECT_FALSE(overlapped);
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_NE(*threads.begin(), std::this_thread::get_id());
  ASSERT_GE(reports.size(), 2u);
  std::vector<std::string> phases = PhaseNames(r->phases);
  int finals = 0;
  double elapsed = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    const CheckProgress& p = reports[i];
    finals += p.final;
    EXPECT_GE(p.elapsed_seconds, elapsed);
    elapsed = p.elapsed_seconds;
    if (p.total) {
      EXPECT_LE(p.done, p.total) << p.phase;
    }
    EXPECT_EQ(p.errors, 0u);
    if (!p.final) {
      EXPECT_NE(std::find(phases.begin(), phases.end(), p.phase), phases.end()) << p.phase;
    }
  }
  EXPECT_EQ(finals, 1);
  EXPECT_TRUE(reports.back().final);
  EXPECT_EQ(reports.back().phase, "");  // after the last phase
}

TEST_F(CheckerTest, AFailedCheckMakesNoFinalReport) {
  auto repo = Repository::Open(NewBackend(), "pw");
  ASSERT_TRUE(repo.ok());
  std::atomic<bool> cancel{true};
  std::atomic<int> finals{0};
  CheckOptions c;
  c.context = Context().WithCancel(&cancel);
  c.progress_interval_ms = 1;
  c.progress = [&](const CheckProgress& p) { finals += p.final; };
  auto cancelled = CheckRepository(**repo, c);
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(finals, 0);

  // A deadline (on an injected clock) that has passed stops it the same way, with its own kind.
  ManualClock clock;
  CheckOptions timed;
  timed.context = Context().WithClock(clock).WithTimeout(std::chrono::seconds(1));
  clock.Advance(2'000'000'000);
  auto expired = CheckRepository(**repo, timed);
  EXPECT_EQ(expired.status().code(), StatusCode::kDeadlineExceeded) << expired.status().ToString();
}

// The phases are timed on the context's clock: here every load and listing takes a millisecond
// of a ManualClock, so each phase has its own time, and they come in the order they ran.
TEST_F(CheckerTest, PhasesAreTimedOnTheContextsClockInOrder) {
  ManualClock clock;
  auto tick = [&](const ObjectHandle&) { clock.Advance(1'000'000); };
  auto open = [&] {
    auto repo = Repository::Open(std::make_unique<HookedBackend>(&mem_, tick), "pw");
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(*repo) : nullptr;
  };
  auto repo = open();
  ASSERT_TRUE(repo);
  CheckOptions o;
  o.context = Context().WithClock(clock);
  o.workers = 2;
  auto r = CheckRepository(*repo, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(PhaseNames(r->phases),
            (std::vector<std::string>{"index", "packs", "snapshots", "trees"}));
  for (const PhaseTime& p : r->phases) EXPECT_GT(p.seconds, 0) << p.phase;

  // Reading data, and damage to name: two more phases, in their places.
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_b_.Hex()}).ok());
  repo = open();
  ASSERT_TRUE(repo);
  o.read_data = true;
  int64_t start = clock.MonotonicNs();
  r = CheckRepository(*repo, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->healthy());
  EXPECT_EQ(PhaseNames(r->phases), (std::vector<std::string>{"index", "packs", "snapshots",
                                                             "read-data", "trees", "affected"}));
  for (const PhaseTime& p : r->phases) EXPECT_GT(p.seconds, 0) << p.phase;
  // Nothing but the phases moved the clock.
  EXPECT_DOUBLE_EQ(TotalSeconds(r->phases), double(clock.MonotonicNs() - start) / 1e9);
}

TEST_F(CheckerTest, AffectedListIsCapped) {
  // 30 snapshots, each a distinct root naming the same damaged blob b.
  for (int i = 0; i < 30; ++i) {
    BlobSaver saver(*writer_, BlobSaverOptions::WithWorkers(1));
    Tree t;
    t.nodes.push_back(File("f" + std::to_string(i), {b_}));
    Bytes enc = EncodeTree(t);
    Id id = writer_->codec().ComputeId(enc);
    ASSERT_TRUE(saver.Save(BlobType::kTree, id, std::move(enc)).ok());
    ASSERT_TRUE(saver.Flush().ok());
    Snapshot s;
    s.time_ns = 5000 + i;
    s.tree = id;
    ASSERT_TRUE(writer_->SaveSnapshot(s).ok());
  }
  ASSERT_TRUE(mem_.Remove({ObjectType::kPack, pack_b_.Hex()}).ok());
  CheckResult r = Check();
  const CheckProblem* p = FindProblem(r.errors, "pack", pack_b_.Hex());
  ASSERT_NE(p, nullptr) << Describe(r.errors);
  EXPECT_EQ(p->affected.size(), kMaxAffectedPerProblem);
  EXPECT_EQ(p->affected_omitted, 31 - kMaxAffectedPerProblem);
}

}  // namespace
}  // namespace lifeboat
