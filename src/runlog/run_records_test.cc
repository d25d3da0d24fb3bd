#include "runlog/run_records.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/append_only_backend.h"
#include "object_lock_backend.h"
#include "pruner/pruner.h"
#include "small_repo_fixture.h"
#include "util/clock.h"
#include "util/status_detail.h"

namespace lifeboat {
namespace {

using testing::SharedBackend;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86400 * kSecond;

RunRecord MakeRecord(const std::string& run_id, const std::string& service, int64_t start_ns,
                     RunResult result = RunResult::kOk) {
  RunRecord r;
  r.id = NewRunRecordId();
  r.run_id = run_id;
  r.service = service;
  r.site = "primary";
  r.source = RunSource{"db", "sqlite"};
  r.start_ns = start_ns;
  r.end_ns = start_ns + 5 * kSecond;
  r.bytes_added = 100;
  r.bytes_sent = 120;
  r.result = result;
  r.host = "db1";
  r.program_version = "lifeboat test";
  return r;
}

std::vector<std::string> NamesIn(MemoryBackend& mem) {
  std::vector<std::string> names;
  EXPECT_TRUE(mem.List(ObjectType::kRun, "", [&](const ObjectInfo& info) {
                   names.push_back(info.name);
                   return Status::Ok();
                 }).ok());
  return names;
}

std::set<std::string> Ids(const std::vector<RunRecord>& records) {
  std::set<std::string> ids;
  for (const RunRecord& r : records) ids.insert(r.id);
  return ids;
}

class RunRecordsTest : public testing::SmallRepoFixture {
 protected:
  std::vector<std::string> RunObjects() { return Names(ObjectType::kRun); }
  RunRecordListing List(const RunRecordFilter& filter = {}) {
    auto l = ListRunRecords(*writer_, filter, Context());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : RunRecordListing{};
  }
  // Writes `n` objects of `per` records each (services "s0".."s<per-1>"), one run each.
  std::vector<RunRecord> WriteRuns(int n, int per, int64_t start = 1000 * kSecond) {
    std::vector<RunRecord> all;
    for (int i = 0; i < n; ++i) {
      std::vector<RunRecord> run;
      const std::string run_id = NewRunId();
      for (int j = 0; j < per; ++j)
        run.push_back(MakeRecord(run_id, "s" + std::to_string(j), start + i * 60 * kSecond));
      auto id = WriteRunRecords(*writer_, run, Context());
      EXPECT_TRUE(id.ok()) << id.status().ToString();
      all.insert(all.end(), run.begin(), run.end());
    }
    return all;
  }
};

TEST(RunRecordCodec, RoundTripKeepsEveryFieldAndUnknownOnes) {
  RunRecord r = MakeRecord(NewRunId(), "orders", 1'700'000'000 * kSecond + 123,
                           RunResult::kIncomplete);
  r.snapshot = *Id::FromHex(std::string(64, '7'));
  r.error = "2 files could not be read";
  r.phases = {{"files", 1.5}, {"commit", 0.000000001}};
  r.unknown_fields = R"({"future":{"a":1}})";
  RunRecord bare = MakeRecord(NewRunId(), "web", 5);
  bare.source.reset();
  auto encoded = EncodeRunRecords({r, bare});
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  auto decoded = DecodeRunRecords(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 2u);
  const RunRecord& d = (*decoded)[0];
  EXPECT_EQ(d.id, r.id);
  EXPECT_EQ(d.run_id, r.run_id);
  EXPECT_EQ(d.service, "orders");
  EXPECT_EQ(d.site, "primary");
  ASSERT_TRUE(d.source.has_value());
  EXPECT_EQ(*d.source, (RunSource{"db", "sqlite"}));
  EXPECT_EQ(d.start_ns, r.start_ns);
  EXPECT_EQ(d.end_ns, r.end_ns);
  EXPECT_EQ(d.snapshot, *Id::FromHex(std::string(64, '7')));
  EXPECT_EQ(d.bytes_added, 100u);
  EXPECT_EQ(d.bytes_sent, 120u);
  EXPECT_EQ(d.result, RunResult::kIncomplete);
  EXPECT_EQ(d.error, r.error);
  EXPECT_EQ(d.host, "db1");
  EXPECT_EQ(d.program_version, "lifeboat test");
  ASSERT_EQ(d.phases.size(), 2u);
  EXPECT_EQ(d.phases[0].phase, "files");
  EXPECT_DOUBLE_EQ(d.phases[0].seconds, 1.5);
  EXPECT_DOUBLE_EQ(d.phases[1].seconds, 1e-9);
  EXPECT_EQ(d.unknown_fields, R"({"future":{"a":1}})");
  EXPECT_FALSE((*decoded)[1].source.has_value());
  EXPECT_FALSE((*decoded)[1].snapshot.has_value());
  // The stored JSON is the documented one (doc/repository-format.md §12).
  auto j = nlohmann::json::parse(encoded->begin(), encoded->end());
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["records"][0]["result"], "incomplete");
  EXPECT_EQ(j["records"][0]["phases"][0]["ns"], 1'500'000'000u);
  EXPECT_EQ(j["records"][0]["future"]["a"], 1);
  EXPECT_FALSE(j["records"][1].contains("source"));
  EXPECT_FALSE(j["records"][1].contains("error"));
}

TEST(RunRecordCodec, NewerVersionIsNotGuessedAt) {
  std::string text = R"({"version":4,"records":[]})";
  auto d = DecodeRunRecords(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(d.status().message().find("newer Lifeboat"), std::string::npos);
}

TEST(RunRecordCodec, MalformedRecordsAreCorruption) {
  RunRecord r = MakeRecord(NewRunId(), "orders", 1);
  auto encoded = EncodeRunRecords({r});
  ASSERT_TRUE(encoded.ok());
  auto j = nlohmann::json::parse(encoded->begin(), encoded->end());
  auto bad = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json k = j;
    change(k);
    std::string text = k.dump();
    return DecodeRunRecords(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()))
        .status();
  };
  EXPECT_TRUE(bad([](auto& k) { k["records"][0]["result"] = "great"; }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["records"][0].erase("service"); }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["records"][0]["bytes_sent"] = -1; }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["records"][0]["bytes_sent"] = 1.5; }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["records"][0]["id"] = "XYZ"; }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["records"][0]["start"] = "yesterday"; }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["records"][0]["snapshot"] = "abc"; }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k.erase("records"); }).IsCorruption());
  EXPECT_TRUE(bad([](auto& k) { k["version"] = 0; }).IsCorruption());
  EXPECT_TRUE(bad([](auto&) {}).ok());
}

TEST(RunRecordCodec, WritersMustFillTheRequiredFields) {
  RunRecord r = MakeRecord(NewRunId(), "orders", 1);
  r.id = "1234";
  EXPECT_EQ(EncodeRunRecords({r}).status().code(), StatusCode::kInvalidArgument);
  r = MakeRecord(NewRunId(), "", 1);
  EXPECT_EQ(EncodeRunRecords({r}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewRunRecordId().size(), 32u);
  EXPECT_NE(NewRunRecordId(), NewRunRecordId());
}

TEST_F(RunRecordsTest, OneObjectPerRunListedAndFiltered) {
  const std::string run1 = NewRunId();
  std::vector<RunRecord> first = {MakeRecord(run1, "orders", 100 * kSecond),
                                  MakeRecord(run1, "web", 110 * kSecond, RunResult::kFailed)};
  first[1].error = "source command exited with status 2";
  ASSERT_TRUE(WriteRunRecords(*writer_, first, Context()).ok());
  ASSERT_TRUE(
      WriteRunRecords(*writer_, {MakeRecord(NewRunId(), "orders", 200 * kSecond)}, Context()).ok());
  EXPECT_EQ(RunObjects().size(), 2u);  // one object per run, not per record

  RunRecordListing all = List();
  ASSERT_EQ(all.records.size(), 3u);
  EXPECT_EQ(all.records[0].service, "orders");  // by start time
  EXPECT_EQ(all.records[1].error, "source command exited with status 2");
  EXPECT_EQ(all.objects.size(), 2u);
  EXPECT_TRUE(all.unreadable.empty());

  EXPECT_EQ(List({.services = {"orders"}}).records.size(), 2u);
  EXPECT_EQ(List({.sites = {"elsewhere"}}).records.size(), 0u);
  // since: records that ended at or after it (the first ended at 105 s, the second at 115 s).
  EXPECT_EQ(List({.since_ns = 115 * kSecond}).records.size(), 2u);
  EXPECT_EQ(WriteRunRecords(*writer_, {}, Context()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RunRecordsTest, TheSameRecordInTwoObjectsCountsOnce) {
  RunRecord r = MakeRecord(NewRunId(), "orders", kSecond);
  ASSERT_TRUE(WriteRunRecords(*writer_, {r}, Context()).ok());
  ASSERT_TRUE(WriteRunRecords(*writer_, {r}, Context()).ok());  // sealed anew: another name
  ASSERT_EQ(RunObjects().size(), 2u);
  RunRecordListing l = List();
  EXPECT_EQ(l.records.size(), 1u);
  EXPECT_EQ(l.duplicates, 1u);
}

TEST_F(RunRecordsTest, DamagedObjectIsReportedAndTheOthersStillRead) {
  WriteRuns(2, 1);
  std::vector<std::string> names = RunObjects();
  Bytes bytes = LoadObject(ObjectType::kRun, names[0]);
  bytes[bytes.size() / 2] ^= 1;
  Replace(ObjectType::kRun, names[0], bytes);
  RunRecordListing l = List();
  EXPECT_EQ(l.records.size(), 1u);
  ASSERT_EQ(l.unreadable.size(), 1u);
  EXPECT_EQ(l.unreadable[0].name, names[0]);
  EXPECT_TRUE(l.unreadable[0].status.IsCorruption());
  ASSERT_NE(l.unreadable[0].status.damage(), nullptr);
  EXPECT_EQ(l.unreadable[0].status.damage()->object_type, "run");
  EXPECT_FALSE(l.unreadable[0].newer_version);
}

TEST_F(RunRecordsTest, CompactionMergesIntoOneObjectAndKeepsEveryRecord) {
  std::vector<RunRecord> written = WriteRuns(20, 3);
  ASSERT_EQ(RunObjects().size(), 20u);
  auto r = CompactRunRecords(*writer_, Context(), {.min_objects = 16});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->compacted);
  EXPECT_EQ(r->objects_read, 20u);
  EXPECT_EQ(r->objects_removed, 20u);
  EXPECT_EQ(r->records_kept, 60u);
  ASSERT_EQ(r->written.size(), 1u);
  EXPECT_EQ(RunObjects(), std::vector<std::string>{r->written[0].Hex()});
  EXPECT_EQ(Ids(List().records), Ids(written));

  // Below the threshold nothing is done.
  WriteRuns(2, 1);
  auto again = CompactRunRecords(*writer_, Context(), {.min_objects = 16});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->compacted);
  EXPECT_EQ(RunObjects().size(), 3u);
}

TEST_F(RunRecordsTest, CompactionSplitsIntoObjectsOfBoundedSize) {
  std::vector<RunRecord> written = WriteRuns(4, 5);
  auto r = CompactRunRecords(*writer_, Context(), {.min_objects = 2, .max_records_per_object = 8});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->written.size(), 3u);  // 20 records, 8 per object
  EXPECT_EQ(RunObjects().size(), 3u);
  EXPECT_EQ(Ids(List().records), Ids(written));
}

TEST_F(RunRecordsTest, CrashBeforeTheRemovalsLeavesDuplicatesThatReadersCollapse) {
  std::vector<RunRecord> written = WriteRuns(5, 2);
  int removals = 0;
  // "Crash" after the merged object is stored and two old ones are removed.
  on_remove_ = [&](const ObjectHandle&) {
    return ++removals > 2 ? Status::Unavailable("crashed") : Status::Ok();
  };
  auto repo = OpenWithIndex();
  auto r = CompactRunRecords(*repo, Context(), {.min_objects = 2});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->objects_removed, 2u);
  EXPECT_NE(r->removal_stopped.find("crashed"), std::string::npos);
  EXPECT_EQ(RunObjects().size(), 4u);  // 3 old + 1 merged
  RunRecordListing l = List();
  EXPECT_EQ(Ids(l.records), Ids(written));
  EXPECT_EQ(l.records.size(), written.size());
  EXPECT_EQ(l.duplicates, 6u);
  // The next compaction cleans up.
  on_remove_ = nullptr;
  auto next = CompactRunRecords(*writer_, Context(), {.min_objects = 2});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->duplicates, 6u);
  EXPECT_EQ(RunObjects().size(), 1u);
  EXPECT_EQ(Ids(List().records), Ids(written));
}

TEST_F(RunRecordsTest, CrashBeforeTheMergedObjectIsStoredRemovesNothing) {
  WriteRuns(3, 1);
  const std::vector<std::string> before = RunObjects();
  // A store that fails: the merged object is not there, so no old object may go.
  class FailingRunSaves : public ForwardingBackend {
   public:
    using ForwardingBackend::ForwardingBackend;
    Status SaveParts(const ObjectHandle& h, ByteParts parts) override {
      if (h.type == ObjectType::kRun) return Status::Unavailable("disk full");
      return ForwardingBackend::SaveParts(h, parts);
    }
    Status Save(const ObjectHandle& h, ByteView data) override {
      if (h.type == ObjectType::kRun) return Status::Unavailable("disk full");
      return ForwardingBackend::Save(h, data);
    }
  };
  auto repo = Repository::Open(std::make_unique<FailingRunSaves>(&mem_), "pw");
  ASSERT_TRUE(repo.ok());
  auto r = CompactRunRecords(**repo, Context(), {.min_objects = 2});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(RunObjects(), before);
}

TEST_F(RunRecordsTest, AConcurrentWritersObjectSurvivesCompaction) {
  std::vector<RunRecord> written = WriteRuns(4, 1);
  RunRecord late = MakeRecord(NewRunId(), "late", 9999 * kSecond);
  bool wrote = false;
  // While the compaction removes, another run stores its object.
  on_remove_ = [&](const ObjectHandle&) {
    if (!wrote) {
      wrote = true;
      EXPECT_TRUE(WriteRunRecords(*writer_, {late}, Context()).ok());
    }
    return Status::Ok();
  };
  auto repo = OpenWithIndex();
  auto r = CompactRunRecords(*repo, Context(), {.min_objects = 2});
  ASSERT_TRUE(r.ok());
  written.push_back(late);
  EXPECT_EQ(RunObjects().size(), 2u);  // merged + the late one
  EXPECT_EQ(Ids(List().records), Ids(written));
}

TEST_F(RunRecordsTest, TwoCompactionsAtOnceLoseNothing) {
  std::vector<RunRecord> written = WriteRuns(6, 2);
  auto second = OpenWithIndex();
  bool ran = false;
  // The first compaction is about to remove: a second one runs to its end meanwhile (it reads
  // the old objects and the first's merged object, stores its own, removes all of them; its
  // removals come through here too, and pass).
  on_remove_ = [&](const ObjectHandle&) {
    if (!ran) {
      ran = true;
      auto r2 = CompactRunRecords(*second, Context(), {.min_objects = 2});
      EXPECT_TRUE(r2.ok());
      EXPECT_TRUE(r2.ok() && r2->compacted);
    }
    return Status::Ok();
  };
  auto first = OpenWithIndex();
  auto r1 = CompactRunRecords(*first, Context(), {.min_objects = 2});
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_TRUE(ran);
  on_remove_ = nullptr;
  EXPECT_EQ(Ids(List().records), Ids(written));
}

// A backend that, the first time a given run object is loaded, lets a compaction run to its end
// first (so the object the reader listed is gone when it loads it).
class CompactBeforeFirstLoad : public ForwardingBackend {
 public:
  CompactBeforeFirstLoad(Backend* inner, std::function<void()> compact)
      : ForwardingBackend(inner), compact_(std::move(compact)) {}
  Status LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) override {
    if (h.type == ObjectType::kRun && !done_.exchange(true)) compact_();
    return ForwardingBackend::LoadInto(h, offset, length, out);
  }
  Result<Bytes> Load(const ObjectHandle& h, uint64_t offset, uint64_t length) override {
    if (h.type == ObjectType::kRun && !done_.exchange(true)) compact_();
    return ForwardingBackend::Load(h, offset, length);
  }

 private:
  std::function<void()> compact_;
  std::atomic<bool> done_{false};
};

TEST_F(RunRecordsTest, AReaderRacingACompactionListsAgain) {
  std::vector<RunRecord> written = WriteRuns(5, 2);
  auto reader = Repository::Open(std::make_unique<CompactBeforeFirstLoad>(&mem_, [&] {
                                   auto r = CompactRunRecords(*writer_, Context(),
                                                              {.min_objects = 2});
                                   EXPECT_TRUE(r.ok());
                                 }),
                                 "pw");
  ASSERT_TRUE(reader.ok());
  auto l = ListRunRecords(**reader, {}, Context());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(Ids(l->records), Ids(written));
  EXPECT_EQ(RunObjects().size(), 1u);
}

TEST_F(RunRecordsTest, AgeLimitDropsOldRecordsOnly) {
  ManualClock clock(100 * kDay);
  // Old runs ended ~90 days ago, new ones today.
  std::vector<RunRecord> old = WriteRuns(2, 2, 10 * kDay);
  std::vector<RunRecord> fresh = WriteRuns(1, 2, 100 * kDay - 3600 * kSecond);
  Context ctx = Context().WithClock(clock);
  // Default: keep forever.
  auto keep = CompactRunRecords(*writer_, ctx, {.min_objects = 2});
  ASSERT_TRUE(keep.ok());
  EXPECT_EQ(keep->records_dropped, 0u);
  EXPECT_EQ(List().records.size(), 6u);
  // 30 days: the old ones go, also when there are too few objects to compact otherwise.
  auto r = CompactRunRecords(*writer_, ctx, {.min_objects = 16, .max_age_ns = 30 * kDay});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->compacted);
  EXPECT_EQ(r->records_dropped, 4u);
  EXPECT_EQ(Ids(List().records), Ids(fresh));
}

TEST_F(RunRecordsTest, CompactionLeavesDamagedAndNewerObjectsAlone) {
  WriteRuns(3, 1);
  std::vector<std::string> names = RunObjects();
  Bytes bytes = LoadObject(ObjectType::kRun, names[0]);
  bytes.back() ^= 1;
  Replace(ObjectType::kRun, names[0], bytes);
  std::string newer = R"({"version":4,"records":[{"something":"else"}]})";
  auto newer_id = writer_->SaveUnpacked(
      ObjectType::kRun, ByteView(reinterpret_cast<const uint8_t*>(newer.data()), newer.size()));
  ASSERT_TRUE(newer_id.ok());
  auto r = CompactRunRecords(*writer_, Context(), {.min_objects = 2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->objects_read, 2u);
  ASSERT_EQ(r->left_alone.size(), 2u);
  std::vector<std::string> after = RunObjects();
  EXPECT_NE(std::find(after.begin(), after.end(), names[0]), after.end());
  EXPECT_NE(std::find(after.begin(), after.end(), newer_id->Hex()), after.end());
  RunRecordListing l = List();
  ASSERT_EQ(l.unreadable.size(), 2u);
  const bool first_newer = l.unreadable[0].name == newer_id->Hex();
  EXPECT_TRUE(l.unreadable[first_newer ? 0 : 1].newer_version);
  EXPECT_FALSE(l.unreadable[first_newer ? 1 : 0].newer_version);
}

TEST_F(RunRecordsTest, CompactionIsRefusedOnAppendOnlyAndObjectLockedSites) {
  WriteRuns(3, 1);
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  io.append_only = true;
  MemoryBackend ao_mem;
  auto ao_repo = Repository::Init(std::make_unique<SharedBackend>(&ao_mem), "pw", io);
  ASSERT_TRUE(ao_repo.ok()) << ao_repo.status().ToString();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(
        WriteRunRecords(**ao_repo, {MakeRecord(NewRunId(), "x", i * kSecond)}, Context()).ok());
  auto refused = CompactRunRecords(**ao_repo, Context(), {.min_objects = 2});
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("append-only"), std::string::npos);
  EXPECT_EQ(NamesIn(ao_mem).size(), 3u);

  testing::ObjectLockTable table;
  ManualClock clock;
  auto locked = Repository::Open(
      std::make_unique<testing::ObjectLockBackend>(std::make_unique<SharedBackend>(&mem_), &table,
                                                   kDay, &clock),
      "pw");
  ASSERT_TRUE(locked.ok());
  const std::vector<std::string> before = RunObjects();
  auto r = CompactRunRecords(**locked, Context(), {.min_objects = 2});
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("locks every object"), std::string::npos);
  EXPECT_EQ(RunObjects(), before);
}

TEST_F(RunRecordsTest, PruneLeavesRunRecordsAlone) {
  std::vector<RunRecord> written = WriteRuns(3, 2);
  const std::vector<std::string> before = RunObjects();
  // Forget snapshot 1 so that prune has something to delete and rewrite.
  ASSERT_TRUE(mem_.Remove({ObjectType::kSnapshot, snap1_.Hex()}).ok());
  auto repo = OpenWithIndex();
  PruneOptions po;
  auto stats = Prune(*repo, po);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->delete_packs + stats->repack_packs + stats->index_files_written, 0u);
  EXPECT_EQ(RunObjects(), before);
  EXPECT_EQ(Ids(List().records), Ids(written));
}

TEST_F(RunRecordsTest, CopyBringsMissingRecordsOnceByIdentity) {
  std::vector<RunRecord> written = WriteRuns(3, 2);
  MemoryBackend target_mem;
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  auto target = Repository::Init(std::make_unique<SharedBackend>(&target_mem), "other", io);
  ASSERT_TRUE(target.ok());
  // One record is already there (written to both sites by the run).
  ASSERT_TRUE(WriteRunRecords(**target, {written[0]}, Context()).ok());

  auto c = CopyRunRecords(*writer_, **target, Context());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->records_copied, 5u);
  EXPECT_EQ(c->records_present, 1u);
  EXPECT_EQ(c->written.size(), 1u);
  auto at_target = ListRunRecords(**target, {}, Context());
  ASSERT_TRUE(at_target.ok());
  EXPECT_EQ(Ids(at_target->records), Ids(written));
  EXPECT_EQ(at_target->duplicates, 0u);

  // A second copy copies nothing, also after both sides were compacted.
  ASSERT_TRUE(CompactRunRecords(*writer_, Context(), {.min_objects = 2}).ok());
  ASSERT_TRUE(CompactRunRecords(**target, Context(), {.min_objects = 2}).ok());
  auto again = CopyRunRecords(*writer_, **target, Context());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->records_copied, 0u);
  EXPECT_EQ(again->records_present, 6u);
  EXPECT_TRUE(again->written.empty());
}

TEST_F(RunRecordsTest, CancelledContextWritesNothing) {
  std::atomic<bool> cancel{true};
  auto r = WriteRunRecords(*writer_, {MakeRecord(NewRunId(), "x", 1)},
                           Context().WithCancel(&cancel));
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_TRUE(RunObjects().empty());
}

}  // namespace
}  // namespace lifeboat
