// Incident records (doc/repository-format.md §12.2): the codec field by field, validation, the
// version-3 objects beside versions 1 and 2, the record of the highest sequence per incident,
// compaction that keeps every incident record, and copy.
#include "runlog/incident_records.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "small_repo_fixture.h"

namespace lifeboat {
namespace {

using testing::SharedBackend;

constexpr int64_t kSecond = 1'000'000'000;

ByteView View(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

IncidentRecord MakeIncident(const std::string& id, uint64_t sequence, int64_t start_ns,
                            IncidentState state = IncidentState::kOpen) {
  IncidentRecord r;
  r.id = id;
  r.sequence = sequence;
  r.kind = IncidentKind::kFailover;
  r.state = state;
  r.declared_by = "operator root@dr1";
  r.reason = "main site lost";
  r.fencing_token = 17;
  r.from_site = "main";
  r.to_site = "dr-site";
  r.host = "dr1";
  r.version = "lifeboat test";
  r.start_ns = start_ns;
  r.failure_ns = start_ns - 150 * kSecond;
  if (state != IncidentState::kOpen) r.end_ns = start_ns + 3600 * kSecond;
  IncidentService s;
  s.service = "shop";
  s.tier = 1;
  s.wave = 2;
  s.result = "recovered";
  s.snapshots = {{"files", std::string(64, 'a')}, {"db", std::string(64, 'b')}};
  s.snapshot_time_ns = start_ns - 600 * kSecond;
  s.rto_seconds = 245.5;
  s.rto_target_seconds = 3600;
  s.data_loss_seconds = 450;
  s.rpo_target_seconds = 900;
  s.steps = {{"restore files", DrillStepKind::kRestore, start_ns + kSecond,
              start_ns + 120 * kSecond, DrillResult::kPassed, "", ""},
             {"vip move", DrillStepKind::kSwitch, start_ns + 240 * kSecond,
              start_ns + 245 * kSecond, DrillResult::kPassed, "moved\n", ""}};
  s.notes = {"pack 3f2a read from site main"};
  r.services = {s};
  r.timeline = {{start_ns, "failover_started", "", "dr-site", ""},
                {start_ns + 245 * kSecond, "service_recovered", "shop", "dr-site", ""}};
  return r;
}

std::unique_ptr<Repository> MemoryRepo(MemoryBackend* mem) {
  InitOptions io;
  io.kdf = KdfParams{1024, 8, 2};
  auto repo = Repository::Init(std::make_unique<SharedBackend>(mem), "pw", io);
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
  return repo.ok() ? std::move(*repo) : nullptr;
}

nlohmann::json StoredJson(Repository& repo, const Id& object) {
  auto plain = repo.LoadUnpacked(ObjectType::kRun, object.Hex());
  EXPECT_TRUE(plain.ok()) << plain.status().ToString();
  if (!plain.ok()) return nullptr;
  return nlohmann::json::parse(plain->begin(), plain->end());
}

TEST(IncidentRecordCodec, RoundTripKeepsEveryFieldAndUnknownOnes) {
  IncidentRecord r =
      MakeIncident(NewIncidentId(), 3, 1'700'000'000 * kSecond + 7, IncidentState::kCommitted);
  r.unknown_fields = R"({"future":[1,2]})";
  r.services[0].unknown_fields = R"({"cluster":"/var/lib/x"})";
  r.services[0].steps[1].unknown_fields = R"({"pid":4242})";
  r.timeline[0].unknown_fields = R"({"detail":"x"})";
  r.services[0].error = "";
  IncidentRecord back = MakeIncident(NewIncidentId(), 1, 5 * kSecond);
  back.kind = IncidentKind::kFailback;
  back.state = IncidentState::kRolledBack;
  back.ends_incident = r.id;
  back.failure_ns = 0;
  back.end_ns = 0;
  back.reason.clear();
  back.services[0].result = "failed";
  back.services[0].error = "switch step vip move failed: exit 3";
  back.services[0].rto_seconds.reset();
  back.services[0].rto_target_seconds.reset();
  back.services[0].data_loss_seconds.reset();
  back.services[0].rpo_target_seconds = 0;
  back.services[0].snapshot_time_ns = 0;
  back.services[0].notes.clear();
  back.services.push_back(
      {"db", 2, 1, "skipped", "dependency shop failed", {}, 0, {}, {}, {}, 0, {}, {}, ""});

  MemoryBackend mem;
  auto repo = MemoryRepo(&mem);
  ASSERT_NE(repo, nullptr);
  auto object = WriteIncidentRecord(*repo, r, Context());
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  ASSERT_TRUE(WriteIncidentRecord(*repo, back, Context()).ok());
  // The stored JSON is the documented one (§12.2).
  const nlohmann::json j = StoredJson(*repo, *object);
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["records"], nlohmann::json::array());
  EXPECT_EQ(j["drills"], nlohmann::json::array());
  ASSERT_EQ(j["incidents"].size(), 1u);
  const nlohmann::json& i = j["incidents"][0];
  EXPECT_EQ(i["id"], r.id);
  EXPECT_EQ(i["sequence"], 3);
  EXPECT_EQ(i["kind"], "failover");
  EXPECT_EQ(i["state"], "committed");
  EXPECT_FALSE(i.contains("ends_incident"));
  EXPECT_EQ(i["declared_by"], "operator root@dr1");
  EXPECT_EQ(i["fencing_token"], 17);
  EXPECT_EQ(i["program_version"], "lifeboat test");
  EXPECT_EQ(i["start"], "2023-11-14T22:13:20.000000007Z");
  EXPECT_EQ(i["failure"], "2023-11-14T22:10:50.000000007Z");
  EXPECT_EQ(i["future"][1], 2);
  const nlohmann::json& s = i["services"][0];
  EXPECT_EQ(s["tier"], 1);
  EXPECT_EQ(s["wave"], 2);
  EXPECT_EQ(s["snapshots"][1]["source"], "db");
  EXPECT_EQ(s["snapshots"][1]["snapshot"], std::string(64, 'b'));
  EXPECT_EQ(s["achieved_rto_ns"], 245'500'000'000);
  EXPECT_EQ(s["rto_target_ns"], 3600 * kSecond);
  EXPECT_EQ(s["data_loss_ns"], 450 * kSecond);
  EXPECT_EQ(s["rpo_target_ns"], 900 * kSecond);
  EXPECT_EQ(s["steps"][1]["kind"], "switch");
  EXPECT_EQ(s["steps"][1]["pid"], 4242);
  EXPECT_EQ(s["cluster"], "/var/lib/x");
  EXPECT_FALSE(s.contains("error"));
  EXPECT_EQ(i["timeline"][0]["what"], "failover_started");
  EXPECT_FALSE(i["timeline"][0].contains("service"));
  EXPECT_EQ(i["timeline"][0]["detail"], "x");

  auto listed = ListIncidents(*repo, Context());
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->incidents.size(), 2u);
  // By start: `back` (5 s) first.
  const IncidentRecord& b = listed->incidents[0];
  const IncidentRecord& a = listed->incidents[1];
  EXPECT_EQ(IncidentRecordEncoding(a), IncidentRecordEncoding(r));
  EXPECT_EQ(IncidentRecordEncoding(b), IncidentRecordEncoding(back));
  EXPECT_EQ(a.id, r.id);
  EXPECT_EQ(a.sequence, 3u);
  EXPECT_EQ(a.state, IncidentState::kCommitted);
  EXPECT_EQ(a.end_ns, r.end_ns);
  EXPECT_EQ(a.failure_ns, r.failure_ns);
  EXPECT_EQ(a.reason, r.reason);
  EXPECT_EQ(a.unknown_fields, r.unknown_fields);
  ASSERT_EQ(a.services.size(), 1u);
  EXPECT_EQ(a.services[0].snapshots, r.services[0].snapshots);
  EXPECT_EQ(a.services[0].rto_seconds, 245.5);
  EXPECT_EQ(a.services[0].rto_target_seconds, 3600.0);
  EXPECT_EQ(a.services[0].data_loss_seconds, 450.0);
  EXPECT_EQ(a.services[0].rpo_target_seconds, 900.0);
  EXPECT_EQ(a.services[0].snapshot_time_ns, r.services[0].snapshot_time_ns);
  EXPECT_EQ(a.services[0].steps[1].kind, DrillStepKind::kSwitch);
  EXPECT_EQ(a.services[0].steps[1].output, "moved\n");
  EXPECT_EQ(a.services[0].notes, r.services[0].notes);
  ASSERT_EQ(a.timeline.size(), 2u);
  EXPECT_EQ(a.timeline[1].service, "shop");
  EXPECT_EQ(a.timeline[1].time_ns, r.timeline[1].time_ns);
  EXPECT_EQ(b.kind, IncidentKind::kFailback);
  EXPECT_EQ(b.state, IncidentState::kRolledBack);
  EXPECT_EQ(b.ends_incident, r.id);
  EXPECT_EQ(b.end_ns, 0);
  EXPECT_EQ(b.failure_ns, 0);
  EXPECT_FALSE(b.services[0].rto_seconds.has_value());
  EXPECT_EQ(b.services[1].result, "skipped");
  EXPECT_EQ(b.services[1].error, "dependency shop failed");
  EXPECT_NE(a.FindService("shop"), nullptr);
  EXPECT_EQ(a.FindService("db"), nullptr);
}

TEST(IncidentRecordCodec, TextsAreStoredTrimmed) {
  IncidentRecord r = MakeIncident(NewIncidentId(), 1, kSecond);
  const std::string long_text = std::string(3000, 'a') + std::string(3000, 'z');
  r.reason = long_text;
  r.services[0].error = long_text;
  r.services[0].notes = {long_text};
  r.services[0].steps[0].output = long_text;
  const nlohmann::json j = nlohmann::json::parse(IncidentRecordEncoding(r));
  for (const nlohmann::json* v :
       {&j["reason"], &j["services"][0]["error"], &j["services"][0]["notes"][0],
        &j["services"][0]["steps"][0]["output"]}) {
    const std::string text = v->get<std::string>();
    EXPECT_LE(text.size(), kMaxDrillOutputBytes);
    EXPECT_NE(text.find("bytes left out"), std::string::npos);
  }
}

TEST(IncidentRecordCodec, WritersMustFillTheRequiredFields) {
  MemoryBackend mem;
  auto repo = MemoryRepo(&mem);
  ASSERT_NE(repo, nullptr);
  auto refused = [&](const std::function<void(IncidentRecord&)>& change) {
    IncidentRecord r = MakeIncident(NewIncidentId(), 1, kSecond);
    change(r);
    EXPECT_EQ(ValidateIncidentRecord(r).code(),
              WriteIncidentRecord(*repo, r, Context()).status().code());
    return ValidateIncidentRecord(r).code();
  };
  constexpr StatusCode kInvalid = StatusCode::kInvalidArgument;
  EXPECT_EQ(refused([](auto&) {}), StatusCode::kOk);
  EXPECT_EQ(refused([](auto& r) { r.id = "12"; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.id = std::string(32, 'A'); }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.ends_incident = "x"; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.declared_by = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.from_site = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.to_site = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].service = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].result = "fine"; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].tier = -1; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].snapshots[0].second = "ab"; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].snapshots[0].first = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].rto_seconds = -1; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].rpo_target_seconds = -1; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.services[0].steps[0].name = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.timeline[0].what = ""; }), kInvalid);
  EXPECT_EQ(refused([](auto& r) { r.unknown_fields = "[1]"; }), kInvalid);
  for (std::string_view result : kIncidentServiceResults)
    EXPECT_EQ(refused([&](auto& r) { r.services[0].result = std::string(result); }),
              StatusCode::kOk);
  EXPECT_EQ(NewIncidentId().size(), 32u);
  EXPECT_NE(NewIncidentId(), NewIncidentId());
  EXPECT_EQ(ParseIncidentState("rolled_back"), IncidentState::kRolledBack);
  EXPECT_EQ(ParseIncidentKind("failback"), IncidentKind::kFailback);
  EXPECT_FALSE(ParseIncidentState("done").has_value());
}

TEST(IncidentRecordCodec, MalformedIncidentsAreCorruptionAndNewerVersionsAreNotGuessedAt) {
  const nlohmann::json record =
      nlohmann::json::parse(IncidentRecordEncoding(MakeIncident(NewIncidentId(), 2, kSecond)));
  const nlohmann::json j = {{"version", 3},
                            {"records", nlohmann::json::array()},
                            {"drills", nlohmann::json::array()},
                            {"incidents", {record}}};
  auto decode = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json k = j;
    change(k);
    return DecodeRunRecords(View(k.dump())).status();
  };
  EXPECT_TRUE(decode([](auto&) {}).ok());
  auto in = [](nlohmann::json& k) -> nlohmann::json& { return k["incidents"][0]; };
  EXPECT_TRUE(decode([&](auto& k) { in(k)["state"] = "closing"; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["kind"] = "drill"; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k).erase("sequence"); }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["sequence"] = -1; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k).erase("declared_by"); }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k).erase("timeline"); }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["end"] = "later"; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["ends_incident"] = "abc"; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["services"][0]["result"] = "ok"; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["services"][0].erase("rpo_target_ns"); }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["services"][0]["data_loss_ns"] = -3; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) {
                in(k)["services"][0]["snapshots"][0]["snapshot"] = "x";
              }).IsCorruption());
  EXPECT_TRUE(
      decode([&](auto& k) { in(k)["services"][0]["steps"][0]["kind"] = "pray"; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["services"][0]["notes"] = {1}; }).IsCorruption());
  EXPECT_TRUE(decode([&](auto& k) { in(k)["timeline"][0]["what"] = ""; }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k.erase("incidents"); }).IsCorruption());
  EXPECT_TRUE(decode([](auto& k) { k.erase("drills"); }).IsCorruption());
  const Status named = decode([&](auto& k) { in(k)["services"][0]["steps"][1]["start"] = "noon"; });
  EXPECT_NE(
      named.message().find("incident record 0 is malformed: services[0]: steps[1]: \"start\""),
      std::string::npos)
      << named.ToString();
  // Version 2 has no room for incidents: an "incidents" member there is not read.
  EXPECT_TRUE(decode([](auto& k) {
                k["version"] = 2;
                k["incidents"] = 5;
              }).ok());
  const Status newer = decode([](auto& k) { k["version"] = 4; });
  EXPECT_EQ(newer.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.message().find("need a newer Lifeboat"), std::string::npos);
}

TEST(IncidentRecordCodec, ASwitchStepIsStillNoDrillStep) {
  // Drill records keep rejecting the kind only incident records use (§12.1, §12.2).
  DrillRecord d;
  d.id = NewDrillRecordId();
  d.drill_id = NewDrillId();
  d.service = "shop";
  d.site = "dr";
  d.steps = {{"vip move", DrillStepKind::kSwitch, 1, 2, DrillResult::kPassed, "", ""}};
  EXPECT_EQ(ValidateDrillRecord(d).code(), StatusCode::kInvalidArgument);
  d.steps[0].kind = DrillStepKind::kVerify;
  ASSERT_TRUE(ValidateDrillRecord(d).ok());
  nlohmann::json j = {{"version", 2},
                      {"records", nlohmann::json::array()},
                      {"drills", {nlohmann::json::parse(DrillRecordJson(d))}}};
  EXPECT_TRUE(DecodeRunRecords(View(j.dump())).ok());
  j["drills"][0]["steps"][0]["kind"] = "switch";
  EXPECT_TRUE(DecodeRunRecords(View(j.dump())).status().IsCorruption());
  EXPECT_EQ(DrillStepKindName(DrillStepKind::kSwitch), "switch");
}

TEST(IncidentRecordCodec, TheHighestSequenceCountsAndTiesAreDeterministic) {
  const std::string id = NewIncidentId();
  IncidentRecord open = MakeIncident(id, 1, 10 * kSecond);
  IncidentRecord committed = MakeIncident(id, 2, 10 * kSecond, IncidentState::kCommitted);
  IncidentRecord rival = MakeIncident(id, 2, 10 * kSecond, IncidentState::kRolledBack);
  IncidentRecord other = MakeIncident(NewIncidentId(), 1, 5 * kSecond);
  uint64_t superseded = 0;
  std::vector<IncidentRecord> latest = LatestIncidents({committed, open, other, open}, &superseded);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].id, other.id);  // earlier start first
  EXPECT_EQ(latest[1].sequence, 2u);
  EXPECT_EQ(latest[1].state, IncidentState::kCommitted);
  EXPECT_EQ(superseded, 1u);  // the second copy of `open` is the same record, not superseded
  // Same sequence: the larger encoding wins, in whatever order the records come.
  const bool committed_larger = IncidentRecordEncoding(committed) > IncidentRecordEncoding(rival);
  const IncidentState winner =
      committed_larger ? IncidentState::kCommitted : IncidentState::kRolledBack;
  EXPECT_EQ(LatestIncidents({committed, rival})[0].state, winner);
  EXPECT_EQ(LatestIncidents({rival, committed})[0].state, winner);
  EXPECT_TRUE(IncidentSupersedes(committed, open));
  EXPECT_FALSE(IncidentSupersedes(open, committed));
  EXPECT_FALSE(IncidentSupersedes(open, open));
}

class IncidentRecordsTest : public testing::SmallRepoFixture {
 protected:
  std::vector<std::string> RunObjects() { return Names(ObjectType::kRun); }
  IncidentListing Incidents(Repository& repo) {
    auto l = ListIncidents(repo, Context());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : IncidentListing{};
  }
  // The `version` of every record object.
  std::multiset<int> Versions(Repository& repo, MemoryBackend& mem) {
    std::multiset<int> out;
    for (const std::string& name : NamesIn(mem)) {
      auto plain = repo.LoadUnpacked(ObjectType::kRun, name);
      EXPECT_TRUE(plain.ok());
      if (plain.ok())
        out.insert(nlohmann::json::parse(plain->begin(), plain->end())["version"].get<int>());
    }
    return out;
  }
  std::vector<std::string> NamesIn(MemoryBackend& mem) {
    std::vector<std::string> names;
    EXPECT_TRUE(mem.List(ObjectType::kRun, "",
                         [&](const ObjectInfo& i) {
                           names.push_back(i.name);
                           return Status::Ok();
                         })
                    .ok());
    return names;
  }
  RunRecord MakeRun(int64_t start_ns) {
    RunRecord r;
    r.id = NewRunRecordId();
    r.run_id = NewRunId();
    r.service = "shop";
    r.site = "main";
    r.start_ns = start_ns;
    r.end_ns = start_ns + kSecond;
    r.host = "h";
    r.program_version = "lifeboat test";
    return r;
  }
  DrillRecord MakeDrill(int64_t start_ns) {
    DrillRecord d;
    d.id = NewDrillRecordId();
    d.drill_id = NewDrillId();
    d.service = "shop";
    d.site = "dr-site";
    d.start_ns = start_ns;
    d.end_ns = start_ns + kSecond;
    d.host = "h";
    d.program_version = "lifeboat test";
    return d;
  }
  // Three incidents: the first with three states, the second with two, the third open; a run
  // record and a drill record beside them.
  std::vector<IncidentRecord> WriteHistory(Repository& repo) {
    const std::string a = NewIncidentId(), b = NewIncidentId(), c = NewIncidentId();
    std::vector<IncidentRecord> all = {
        MakeIncident(a, 1, 100 * kSecond),
        MakeIncident(a, 2, 100 * kSecond, IncidentState::kCommitted),
        MakeIncident(a, 3, 100 * kSecond, IncidentState::kClosed),
        MakeIncident(b, 1, 200 * kSecond),
        MakeIncident(b, 2, 200 * kSecond, IncidentState::kRolledBack),
        MakeIncident(c, 1, 300 * kSecond)};
    for (const IncidentRecord& r : all) EXPECT_TRUE(WriteIncidentRecord(repo, r, Context()).ok());
    EXPECT_TRUE(WriteRunRecords(repo, {MakeRun(50 * kSecond)}, Context()).ok());
    EXPECT_TRUE(WriteDrillRecords(repo, {MakeDrill(60 * kSecond)}, Context()).ok());
    return all;
  }
};

TEST_F(IncidentRecordsTest, OneRecordPerStateAndVersionsStayAsLowAsTheyCan) {
  std::vector<IncidentRecord> all = WriteHistory(*writer_);
  // Six incident objects of version 3; the run record stays in version 1, the drill in 2.
  EXPECT_EQ(Versions(*writer_, mem_), (std::multiset<int>{1, 2, 3, 3, 3, 3, 3, 3}));
  IncidentListing l = Incidents(*writer_);
  ASSERT_EQ(l.incidents.size(), 3u);
  EXPECT_TRUE(l.unreadable.empty());
  EXPECT_EQ(l.superseded, 3u);
  EXPECT_EQ(l.incidents[0].state, IncidentState::kClosed);
  EXPECT_EQ(l.incidents[0].sequence, 3u);
  EXPECT_EQ(l.incidents[1].state, IncidentState::kRolledBack);
  EXPECT_EQ(l.incidents[2].state, IncidentState::kOpen);
  // Run and drill records are read as before beside version-3 objects.
  auto runs = ListRunRecords(*writer_, {}, Context());
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 1u);
  EXPECT_TRUE(runs->unreadable.empty());
  auto drills = ListDrillRecords(*writer_, {}, Context());
  ASSERT_TRUE(drills.ok());
  EXPECT_EQ(drills->records.size(), 1u);
  // A record object of version 4 "needs a newer Lifeboat" and is reported, not guessed at.
  const std::string newer = R"({"version":4,"records":[],"drills":[],"incidents":[],"x":[]})";
  auto newer_id = writer_->SaveUnpacked(ObjectType::kRun, View(newer));
  ASSERT_TRUE(newer_id.ok());
  IncidentListing with_newer = Incidents(*writer_);
  EXPECT_EQ(with_newer.incidents.size(), 3u);
  ASSERT_EQ(with_newer.unreadable.size(), 1u);
  EXPECT_TRUE(with_newer.unreadable[0].newer_version);
  EXPECT_NE(with_newer.unreadable[0].status.message().find("need a newer Lifeboat"),
            std::string::npos);
}

// A Lifeboat that reads versions up to 2 (before incident records), emulated by its rule
// "version above 2: FailedPrecondition, left alone": after compaction and copy every run and
// drill record is still in an object it reads.
TEST_F(IncidentRecordsTest, CompactionKeepsEveryIncidentRecordApartFromRunsAndDrills) {
  std::vector<IncidentRecord> all = WriteHistory(*writer_);
  // The same record twice (a retry, a copy): merged away; every other one kept.
  ASSERT_TRUE(WriteIncidentRecord(*writer_, all[0], Context()).ok());
  auto r = CompactRunRecords(*writer_, Context(), {.min_objects = 2, .max_age_ns = 1});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->compacted);
  EXPECT_EQ(r->incident_records_kept, all.size());  // every sequence, never dropped by age
  EXPECT_EQ(r->incident_duplicates, 1u);
  EXPECT_EQ(r->records_dropped, 1u);  // the run record is past the age limit
  EXPECT_EQ(Versions(*writer_, mem_), (std::multiset<int>{2, 3}));
  auto plain_v3 = [&] {
    for (const std::string& name : RunObjects()) {
      auto plain = writer_->LoadUnpacked(ObjectType::kRun, name);
      nlohmann::json j = nlohmann::json::parse(plain->begin(), plain->end());
      if (j["version"] == 3) return j;
    }
    return nlohmann::json();
  }();
  EXPECT_EQ(plain_v3["incidents"].size(), all.size());
  EXPECT_TRUE(plain_v3["drills"].empty());
  EXPECT_TRUE(plain_v3["records"].empty());
  IncidentListing l = Incidents(*writer_);
  ASSERT_EQ(l.incidents.size(), 3u);
  EXPECT_EQ(l.incidents[0].sequence, 3u);
  EXPECT_EQ(l.superseded, 3u);
  auto drills = ListDrillRecords(*writer_, {}, Context());
  ASSERT_TRUE(drills.ok());
  EXPECT_EQ(drills->records.size(), 1u);
  // Compacting again changes nothing in what is read.
  auto again = CompactRunRecords(*writer_, Context(), {.min_objects = 2});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->incident_records_kept, all.size());
}

TEST_F(IncidentRecordsTest, CopyCarriesEverySequenceOnce) {
  std::vector<IncidentRecord> all = WriteHistory(*writer_);
  MemoryBackend target_mem;
  auto target = MemoryRepo(&target_mem);
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(WriteIncidentRecord(*target, all[0], Context()).ok());
  auto c = CopyRunRecords(*writer_, *target, Context());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->incident_records_copied, all.size() - 1);
  EXPECT_EQ(c->incident_records_present, 1u);
  EXPECT_EQ(c->records_copied, 1u);
  EXPECT_EQ(c->drill_records_copied, 1u);
  EXPECT_EQ(Versions(*target, target_mem), (std::multiset<int>{1, 2, 3, 3}));
  IncidentListing at_target = Incidents(*target);
  IncidentListing at_source = Incidents(*writer_);
  ASSERT_EQ(at_target.incidents.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(IncidentRecordEncoding(at_target.incidents[i]),
              IncidentRecordEncoding(at_source.incidents[i]));
  EXPECT_EQ(at_target.superseded, 3u);
  auto again = CopyRunRecords(*writer_, *target, Context());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->incident_records_copied, 0u);
  EXPECT_EQ(again->incident_records_present, all.size());
  EXPECT_TRUE(again->written.empty());
  // A new state at the source travels on the next copy.
  IncidentRecord next = all[5];
  next.sequence = 2;
  next.state = IncidentState::kFailed;
  ASSERT_TRUE(WriteIncidentRecord(*writer_, next, Context()).ok());
  auto third = CopyRunRecords(*writer_, *target, Context());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->incident_records_copied, 1u);
  EXPECT_EQ(Incidents(*target).incidents[2].state, IncidentState::kFailed);
}

}  // namespace
}  // namespace lifeboat
