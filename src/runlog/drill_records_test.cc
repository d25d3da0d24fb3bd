// Drill records (doc/repository-format.md §12.1): the codec field by field, trimming, the
// version-2 objects and how version-1 readers are kept whole, listing, identities, compaction,
// copy, prune, and the status cache beside them.
#include "runlog/drill_records.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "pruner/pruner.h"
#include "runlog/cache.h"
#include "small_repo_fixture.h"
#include "util/clock.h"
#include "util/trim_output.h"

namespace lifeboat {
namespace {

using testing::SharedBackend;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86400 * kSecond;

ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

DrillRecord MakeDrill(const std::string& drill_id, const std::string& service, int64_t start_ns,
                      DrillResult result = DrillResult::kPassed) {
  DrillRecord r;
  r.id = NewDrillRecordId();
  r.drill_id = drill_id;
  r.service = service;
  r.site = "offsite";
  r.start_ns = start_ns;
  r.end_ns = start_ns + 40 * kSecond;
  r.wave = 1;
  r.snapshots = {{"billing", "postgres", *Id::FromHex(std::string(64, 'a')),
                  start_ns - 300 * kSecond, ""}};
  r.achieved_rto_ns = 40 * kSecond;
  r.achieved_rpo_ns = 300 * kSecond;
  r.rto_target_ns = 3600 * kSecond;
  r.rpo_target_ns = 900 * kSecond;
  r.bytes_restored = 1 << 20;
  r.files_restored = 1;
  r.result = result;
  r.steps = {{"restore billing", DrillStepKind::kRestore, start_ns, start_ns + 10 * kSecond,
              DrillResult::kPassed, "", ""},
             {"postgres_restore", DrillStepKind::kRecover, start_ns + 10 * kSecond,
              start_ns + 35 * kSecond, DrillResult::kPassed, "pg_restore: done\n", ""},
             {"sql select count(*) > 0 from invoices", DrillStepKind::kVerify,
              start_ns + 35 * kSecond, start_ns + 40 * kSecond, result, "t\n", ""}};
  r.host = "dr1";
  r.program_version = "lifeboat test";
  r.tools = {{"pg_restore", "pg_restore (PostgreSQL) 15.6"}};
  return r;
}

RunRecord MakeRun(const std::string& service, int64_t start_ns) {
  RunRecord r;
  r.id = NewRunRecordId();
  r.run_id = NewRunId();
  r.service = service;
  r.site = "offsite";
  r.start_ns = start_ns;
  r.end_ns = start_ns + 5 * kSecond;
  r.host = "db1";
  r.program_version = "lifeboat test";
  return r;
}

template <typename T>
std::set<std::string> Ids(const std::vector<T>& records) {
  std::set<std::string> ids;
  for (const T& r : records) ids.insert(r.id);
  return ids;
}

TEST(DrillRecordCodec, RoundTripKeepsEveryFieldAndUnknownOnes) {
  DrillRecord r = MakeDrill(NewDrillId(), "billing-db", 1'700'000'000 * kSecond + 7,
                            DrillResult::kFailed);
  r.error = "verify step \"sql ...\" failed: expected t, got f";
  r.unknown_fields = R"({"future":[1,2]})";
  r.steps[1].unknown_fields = R"({"pid":4242})";
  r.snapshots[0].unknown_fields = R"({"paths":["/srv"]})";
  DrillRecord bare = MakeDrill(NewDrillId(), "shop", 5);
  bare.wave.reset();
  bare.achieved_rto_ns.reset();
  bare.rto_target_ns.reset();
  bare.tools.clear();
  bare.steps.clear();
  bare.snapshots.clear();
  bare.achieved_rpo_ns.reset();
  bare.result = DrillResult::kSkipped;
  bare.error = "dependency billing-db failed";

  // Encoded as an object of version 2 through the writer's path (a memory repository).
  MemoryBackend mem;
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  auto repo = Repository::Init(std::make_unique<SharedBackend>(&mem), "pw", io);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  auto object = WriteDrillRecords(**repo, {r, bare}, Context());
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  auto plain = (*repo)->LoadUnpacked(ObjectType::kRun, object->Hex());
  ASSERT_TRUE(plain.ok());
  const nlohmann::json j = nlohmann::json::parse(plain->begin(), plain->end());
  // The stored JSON is the documented one (doc/repository-format.md §12.1).
  EXPECT_EQ(j["version"], 2);
  EXPECT_EQ(j["records"], nlohmann::json::array());
  ASSERT_EQ(j["drills"].size(), 2u);
  const nlohmann::json& d0 = j["drills"][0];
  EXPECT_EQ(d0["id"], r.id);
  EXPECT_EQ(d0["drill_id"], r.drill_id);
  EXPECT_EQ(d0["service"], "billing-db");
  EXPECT_EQ(d0["site"], "offsite");
  EXPECT_EQ(d0["start"], "2023-11-14T22:13:20.000000007Z");
  EXPECT_EQ(d0["wave"], 1);
  EXPECT_EQ(d0["snapshots"][0]["source"], "billing");
  EXPECT_EQ(d0["snapshots"][0]["kind"], "postgres");
  EXPECT_EQ(d0["snapshots"][0]["snapshot"], std::string(64, 'a'));
  EXPECT_EQ(d0["snapshots"][0]["time"], "2023-11-14T22:08:20.000000007Z");
  EXPECT_EQ(d0["snapshots"][0]["paths"][0], "/srv");
  EXPECT_EQ(d0["achieved_rto_ns"], 40 * kSecond);
  EXPECT_EQ(d0["achieved_rpo_ns"], 300 * kSecond);
  EXPECT_EQ(d0["rto_target_ns"], 3600 * kSecond);
  EXPECT_EQ(d0["rpo_target_ns"], 900 * kSecond);
  EXPECT_EQ(d0["bytes_restored"], 1 << 20);
  EXPECT_EQ(d0["files_restored"], 1);
  EXPECT_EQ(d0["result"], "failed");
  EXPECT_EQ(d0["error"], r.error);
  EXPECT_EQ(d0["steps"][1]["name"], "postgres_restore");
  EXPECT_EQ(d0["steps"][1]["kind"], "recover");
  EXPECT_EQ(d0["steps"][1]["result"], "passed");
  EXPECT_EQ(d0["steps"][1]["output"], "pg_restore: done\n");
  EXPECT_EQ(d0["steps"][1]["pid"], 4242);
  EXPECT_FALSE(d0["steps"][0].contains("output"));  // empty output is left out
  EXPECT_EQ(d0["host"], "dr1");
  EXPECT_EQ(d0["program_version"], "lifeboat test");
  EXPECT_EQ(d0["tools"][0], (nlohmann::json{{"name", "pg_restore"},
                                            {"version", "pg_restore (PostgreSQL) 15.6"}}));
  EXPECT_EQ(d0["future"], (nlohmann::json{1, 2}));
  const nlohmann::json& d1 = j["drills"][1];
  for (const char* absent : {"wave", "achieved_rto_ns", "achieved_rpo_ns", "rto_target_ns", "tools"})
    EXPECT_FALSE(d1.contains(absent)) << absent;
  EXPECT_EQ(d1["steps"], nlohmann::json::array());
  EXPECT_EQ(d1["result"], "skipped");

  // And back.
  auto l = ListDrillRecords(**repo, {}, Context());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->records.size(), 2u);
  const DrillRecord& back = l->records[1].service == "billing-db" ? l->records[1] : l->records[0];
  EXPECT_EQ(back.id, r.id);
  EXPECT_EQ(back.drill_id, r.drill_id);
  EXPECT_EQ(back.start_ns, r.start_ns);
  EXPECT_EQ(back.end_ns, r.end_ns);
  EXPECT_EQ(back.wave, 1);
  ASSERT_EQ(back.snapshots.size(), 1u);
  EXPECT_EQ(back.snapshots[0].snapshot, r.snapshots[0].snapshot);
  EXPECT_EQ(back.snapshots[0].time_ns, r.snapshots[0].time_ns);
  EXPECT_EQ(back.snapshots[0].unknown_fields, R"({"paths":["/srv"]})");
  EXPECT_EQ(back.achieved_rto_ns, r.achieved_rto_ns);
  EXPECT_EQ(back.achieved_rpo_ns, r.achieved_rpo_ns);
  EXPECT_EQ(back.rto_target_ns, r.rto_target_ns);
  EXPECT_EQ(back.rpo_target_ns, r.rpo_target_ns);
  EXPECT_EQ(back.bytes_restored, r.bytes_restored);
  EXPECT_EQ(back.files_restored, 1u);
  EXPECT_EQ(back.result, DrillResult::kFailed);
  EXPECT_EQ(back.error, r.error);
  ASSERT_EQ(back.steps.size(), 3u);
  EXPECT_EQ(back.steps[2].kind, DrillStepKind::kVerify);
  EXPECT_EQ(back.steps[2].result, DrillResult::kFailed);
  EXPECT_EQ(back.steps[2].start_ns, r.steps[2].start_ns);
  EXPECT_EQ(back.steps[2].end_ns, r.steps[2].end_ns);
  EXPECT_EQ(back.steps[1].unknown_fields, R"({"pid":4242})");
  EXPECT_EQ(back.tools, r.tools);
  EXPECT_EQ(back.host, "dr1");
  EXPECT_EQ(back.unknown_fields, R"({"future":[1,2]})");
  EXPECT_EQ(back.SlowestStep()->name, "postgres_restore");
  const DrillRecord& skipped = l->records[1].service == "billing-db" ? l->records[0] : l->records[1];
  EXPECT_FALSE(skipped.wave.has_value());
  EXPECT_FALSE(skipped.achieved_rto_ns.has_value());
  EXPECT_EQ(skipped.SlowestStep(), nullptr);
  EXPECT_EQ(skipped.result, DrillResult::kSkipped);
}

// Outputs and errors are stored trimmed by the one trimmer (util/trim_output.h, tested there):
// its first 1 KiB and last 2 KiB.
TEST(DrillRecordCodec, OutputsAreStoredTrimmed) {
  DrillRecord r = MakeDrill(NewDrillId(), "db", 1000 * kSecond, DrillResult::kFailed);
  const std::string big = std::string(1024, 'h') + std::string(6928, 'm') + std::string(2048, 't');
  r.error = big;
  r.steps.at(0).output = big;
  const nlohmann::json j = nlohmann::json::parse(DrillRecordJson(r));
  const std::string trimmed = TrimOutput(big, kMaxDrillOutputBytes);
  EXPECT_LE(trimmed.size(), kMaxDrillOutputBytes);
  EXPECT_NE(trimmed.find("\n[... 6928 bytes left out ...]\n"), std::string::npos);
  EXPECT_EQ(j["error"], trimmed);
  EXPECT_EQ(j["steps"][0]["output"], trimmed);
}

TEST(DrillRecordCodec, MalformedDrillsAreCorruptionAndNewerVersionsAreNotGuessedAt) {
  MemoryBackend mem;
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  auto repo = Repository::Init(std::make_unique<SharedBackend>(&mem), "pw", io);
  ASSERT_TRUE(repo.ok());
  auto object = WriteDrillRecords(**repo, {MakeDrill(NewDrillId(), "db", kSecond)}, Context());
  ASSERT_TRUE(object.ok());
  auto plain = (*repo)->LoadUnpacked(ObjectType::kRun, object->Hex());
  ASSERT_TRUE(plain.ok());
  const nlohmann::json j = nlohmann::json::parse(plain->begin(), plain->end());
  auto decode = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json k = j;
    change(k);
    const std::string text = k.dump();
    return DecodeRunRecords(View(text)).status();
  };
  EXPECT_TRUE(decode([](auto&) {}).ok());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["result"] = "great"; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0].erase("drill_id"); }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0].erase("steps"); }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["achieved_rto_ns"] = -5; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["wave"] = "first"; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["steps"][0]["kind"] = "pray"; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["steps"][0]["name"] = ""; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["snapshots"][0]["snapshot"] = "ab"; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k["drills"][0]["tools"][0].erase("version"); }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k.erase("drills"); }).IsCorruption());
  const Status corrupt = decode([](auto& k) { k["drills"][0]["steps"][1]["start"] = "noon"; });
  EXPECT_NE(corrupt.message().find("drill record 0 is malformed: steps[1]: \"start\""),
            std::string::npos)
      << corrupt.ToString();
  // Version 1 has no room for drills: a "drills" member there is not read (and was never written).
  EXPECT_TRUE(decode([](auto& k) { k["version"] = 1; k["drills"] = 5; }).ok());
  const Status newer = decode([](auto& k) { k["version"] = 4; });
  EXPECT_EQ(newer.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.message().find("need a newer Lifeboat"), std::string::npos);
}

TEST(DrillRecordCodec, WritersMustFillTheRequiredFields) {
  MemoryBackend mem;
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  auto repo = Repository::Init(std::make_unique<SharedBackend>(&mem), "pw", io);
  ASSERT_TRUE(repo.ok());
  auto refused = [&](const std::function<void(DrillRecord&)>& change) {
    DrillRecord r = MakeDrill(NewDrillId(), "db", kSecond);
    change(r);
    return WriteDrillRecords(**repo, {r}, Context()).status();
  };
  EXPECT_EQ(refused([](auto& r) { r.id = "12"; }).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& r) { r.drill_id = ""; }).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& r) { r.service = ""; }).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& r) { r.site = ""; }).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& r) { r.steps[0].name = ""; }).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& r) { r.achieved_rpo_ns = -1; }).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused([](auto& r) { r.unknown_fields = "[1]"; }).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(refused([](auto& r) { r.steps[0].output = std::string(100000, 'x'); }).ok());
  EXPECT_EQ(WriteDrillRecords(**repo, {}, Context()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewDrillRecordId().size(), 32u);
  EXPECT_NE(NewDrillId(), NewDrillId());
  // Nothing was written by a refused call; the accepted one wrote one object.
  size_t objects = 0;
  ASSERT_TRUE(mem.List(ObjectType::kRun, "", [&](const ObjectInfo&) {
                   ++objects;
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(objects, 1u);
}

class DrillRecordsTest : public testing::SmallRepoFixture {
 protected:
  std::vector<std::string> RunObjects() { return Names(ObjectType::kRun); }
  DrillRecordListing Drills(const DrillRecordFilter& filter = {}) {
    auto l = ListDrillRecords(*writer_, filter, Context());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : DrillRecordListing{};
  }
  RunRecordListing Runs() {
    auto l = ListRunRecords(*writer_, {}, Context());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : RunRecordListing{};
  }
  // `n` drill invocations of two services each, a day apart; and as many runs.
  std::pair<std::vector<DrillRecord>, std::vector<RunRecord>> WriteBoth(int n, int64_t start = kDay) {
    std::vector<DrillRecord> drills;
    std::vector<RunRecord> runs;
    for (int i = 0; i < n; ++i) {
      const std::string drill_id = NewDrillId();
      std::vector<DrillRecord> one = {MakeDrill(drill_id, "billing-db", start + i * kDay),
                                      MakeDrill(drill_id, "shop", start + i * kDay)};
      EXPECT_TRUE(WriteDrillRecords(*writer_, one, Context()).ok());
      drills.insert(drills.end(), one.begin(), one.end());
      RunRecord run = MakeRun("billing-db", start + i * kDay + 3600 * kSecond);
      EXPECT_TRUE(WriteRunRecords(*writer_, {run}, Context()).ok());
      runs.push_back(run);
    }
    return {drills, runs};
  }
  // The `version` of every record object, by name.
  std::map<std::string, int> Versions() {
    std::map<std::string, int> out;
    for (const std::string& name : RunObjects()) {
      auto plain = writer_->LoadUnpacked(ObjectType::kRun, name);
      EXPECT_TRUE(plain.ok());
      if (plain.ok()) out[name] = nlohmann::json::parse(plain->begin(), plain->end())["version"];
    }
    return out;
  }
};

TEST_F(DrillRecordsTest, OneObjectPerInvocationListedFilteredAndMergedByIdentity) {
  auto [drills, runs] = WriteBoth(3);
  EXPECT_EQ(RunObjects().size(), 6u);  // 3 drill objects + 3 run objects
  DrillRecordListing all = Drills();
  ASSERT_EQ(all.records.size(), 6u);
  EXPECT_EQ(all.objects.size(), 6u);
  EXPECT_TRUE(all.unreadable.empty());
  // By start, then service.
  EXPECT_EQ(all.records[0].service, "billing-db");
  EXPECT_EQ(all.records[1].service, "shop");
  EXPECT_EQ(all.records[1].drill_id, all.records[0].drill_id);
  EXPECT_LT(all.records[1].start_ns, all.records[2].start_ns);
  EXPECT_EQ(Drills({.services = {"shop"}}).records.size(), 3u);
  EXPECT_EQ(Drills({.sites = {"local"}}).records.size(), 0u);
  EXPECT_EQ(Drills({.since_ns = 2 * kDay}).records.size(), 4u);
  // Run records are read as before, and drill objects are not "unreadable" to them.
  RunRecordListing r = Runs();
  EXPECT_EQ(Ids(r.records), Ids(runs));
  EXPECT_TRUE(r.unreadable.empty());
  EXPECT_EQ(r.objects.size(), 6u);
  // The same record written again (a retry, a second site's copy) counts once.
  ASSERT_TRUE(WriteDrillRecords(*writer_, {drills[0]}, Context()).ok());
  DrillRecordListing again = Drills();
  EXPECT_EQ(again.records.size(), 6u);
  EXPECT_EQ(again.duplicates, 1u);
}

// A Lifeboat that reads version 1 only (every release before drills): what it does with the
// objects this one writes, emulated by its rule "version above 1: FailedPrecondition, left
// alone". Run records must all stay in version-1 objects, also after compaction and copy.
TEST_F(DrillRecordsTest, RunRecordsNeverMoveIntoVersionTwoObjects) {
  auto [drills, runs] = WriteBoth(5);
  for (const auto& [name, version] : Versions()) {
    auto plain = writer_->LoadUnpacked(ObjectType::kRun, name);
    const nlohmann::json j = nlohmann::json::parse(plain->begin(), plain->end());
    if (version == 2) {
      EXPECT_TRUE(j["records"].empty()) << name;
    } else {
      EXPECT_EQ(version, 1);
      EXPECT_FALSE(j.contains("drills")) << name;
    }
  }
  auto c = CompactRunRecords(*writer_, Context(), {.min_objects = 2});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->compacted);
  EXPECT_EQ(c->records_kept, 5u);
  EXPECT_EQ(c->drill_records_kept, 10u);
  ASSERT_EQ(c->written.size(), 2u);  // one version-1 object, one version-2 object
  std::map<std::string, int> versions = Versions();
  ASSERT_EQ(versions.size(), 2u);
  std::set<int> seen;
  for (const auto& [name, version] : versions) seen.insert(version);
  EXPECT_EQ(seen, (std::set<int>{1, 2}));
  // What a version-1 reader sees: exactly the run records, from the version-1 object.
  size_t v1_runs = 0;
  for (const auto& [name, version] : versions) {
    if (version != 1) continue;
    auto plain = writer_->LoadUnpacked(ObjectType::kRun, name);
    v1_runs += nlohmann::json::parse(plain->begin(), plain->end())["records"].size();
  }
  EXPECT_EQ(v1_runs, runs.size());
  EXPECT_EQ(Ids(Drills().records), Ids(drills));
  EXPECT_EQ(Ids(Runs().records), Ids(runs));
}

TEST_F(DrillRecordsTest, CompactionKeepsDrillsPastTheAgeLimitAndSplitsLargeSets) {
  ManualClock clock(400 * kDay);
  auto [drills, runs] = WriteBoth(3, kDay);  // all ~400 days old
  auto c = CompactRunRecords(*writer_, Context().WithClock(clock),
                             {.min_objects = 2, .max_age_ns = 30 * kDay});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->records_dropped, 3u);  // the run records went
  EXPECT_EQ(c->drill_records_kept, 6u);
  EXPECT_TRUE(Runs().records.empty());
  EXPECT_EQ(Ids(Drills().records), Ids(drills));
  // More drills than one object holds: split.
  std::vector<DrillRecord> many;
  const std::string drill_id = NewDrillId();
  for (size_t i = 0; i < kMaxDrillRecordsPerObject; ++i)
    many.push_back(MakeDrill(drill_id, "s" + std::to_string(i), 500 * kDay));
  ASSERT_TRUE(WriteDrillRecords(*writer_, many, Context()).ok());
  many.push_back(MakeDrill(drill_id, "one-more", 500 * kDay));
  EXPECT_EQ(WriteDrillRecords(*writer_, many, Context()).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteDrillRecords(*writer_, {many.back()}, Context()).ok());
  auto split = CompactRunRecords(*writer_, Context(), {.min_objects = 2});
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->drill_records_kept, kMaxDrillRecordsPerObject + 7);
  EXPECT_EQ(split->written.size(), 2u);
  EXPECT_EQ(Drills().records.size(), kMaxDrillRecordsPerObject + 7);
  // A crash before the removals leaves duplicates that count once; the next compaction merges.
  int removals = 0;
  on_remove_ = [&](const ObjectHandle&) {
    return ++removals > 1 ? Status::Unavailable("crashed") : Status::Ok();
  };
  auto repo = OpenWithIndex();
  ASSERT_TRUE(WriteDrillRecords(*writer_, {MakeDrill(NewDrillId(), "late", 600 * kDay)}, Context()).ok());
  auto crashed = CompactRunRecords(*repo, Context(), {.min_objects = 2});
  ASSERT_TRUE(crashed.ok());
  EXPECT_FALSE(crashed->removal_stopped.empty());
  on_remove_ = nullptr;
  DrillRecordListing after = Drills();
  EXPECT_EQ(after.records.size(), kMaxDrillRecordsPerObject + 8);
  EXPECT_GT(after.duplicates, 0u);
}

TEST_F(DrillRecordsTest, CopyCarriesDrillsOnceByIdentity) {
  auto [drills, runs] = WriteBoth(3);
  MemoryBackend target_mem;
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  auto target = Repository::Init(std::make_unique<SharedBackend>(&target_mem), "other", io);
  ASSERT_TRUE(target.ok());
  ASSERT_TRUE(WriteDrillRecords(**target, {drills[0]}, Context()).ok());
  auto c = CopyRunRecords(*writer_, **target, Context());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->records_copied, 3u);
  EXPECT_EQ(c->drill_records_copied, 5u);
  EXPECT_EQ(c->drill_records_present, 1u);
  EXPECT_EQ(c->written.size(), 2u);
  auto at_target = ListDrillRecords(**target, {}, Context());
  ASSERT_TRUE(at_target.ok());
  EXPECT_EQ(Ids(at_target->records), Ids(drills));
  EXPECT_EQ(at_target->duplicates, 0u);
  auto again = CopyRunRecords(*writer_, **target, Context());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->drill_records_copied, 0u);
  EXPECT_EQ(again->drill_records_present, 6u);
  EXPECT_TRUE(again->written.empty());
}

TEST_F(DrillRecordsTest, PruneAndCheckLeaveDrillsAlone) {
  auto [drills, runs] = WriteBoth(2);
  const std::vector<std::string> before = RunObjects();
  ASSERT_TRUE(mem_.Remove({ObjectType::kSnapshot, snap1_.Hex()}).ok());
  auto repo = OpenWithIndex();
  auto stats = Prune(*repo, PruneOptions{});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(RunObjects(), before);
  EXPECT_EQ(Ids(Drills().records), Ids(drills));
  // check reads drill objects as record objects: no damage, no warning.
  auto checked = CheckRepository(*OpenWithIndex(), CheckOptions{});
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_TRUE(checked->errors.empty()) << Describe(checked->errors);
  for (const CheckProblem& w : checked->warnings) EXPECT_NE(w.kind, "run") << w.message;
  // A damaged drill object is damage naming itself.
  Bytes bytes = LoadObject(ObjectType::kRun, before[0]);
  bytes[bytes.size() / 2] ^= 1;
  Replace(ObjectType::kRun, before[0], bytes);
  DrillRecordListing l = Drills();
  ASSERT_EQ(l.unreadable.size(), 1u);
  EXPECT_EQ(l.unreadable[0].name, before[0]);
  EXPECT_TRUE(l.unreadable[0].status.IsCorruption());
}

TEST_F(DrillRecordsTest, TheStatusCacheReadsRunRecordsBesideDrillObjects) {
  auto [drills, runs] = WriteBoth(2);
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("drill-cache-" + NewDrillId());
  auto cache = StatusCache::Open((dir / "status.sqlite3").string());
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  for (int pass = 0; pass < 2; ++pass) {  // filling the cache, then from it
    auto l = ListRunRecordsCached(*writer_, **cache, {}, Context());
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    EXPECT_EQ(Ids(l->records), Ids(runs));
    EXPECT_TRUE(l->unreadable.empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat
