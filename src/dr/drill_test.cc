// A drill's evidence: the recovery report as drill records (pure), their objects per site, and
// PerformDrill end to end over local sites with real backups (dr::RunPlan), real child processes
// and a command notification channel.
#include "dr/drill.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "dr/drill_evidence.h"
#include "engine/open.h"
#include "recover/recover_test_util.h"
#include "runlog/drill_records.h"

namespace lifeboat::dr {
namespace {

namespace fs = std::filesystem;
using recover::testing::ReadFile;
using recover::testing::WriteFile;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'800'000'000 * kSecond;

recover::StepRecord Step(const std::string& phase, const std::string& kind,
                         const std::string& name, const std::string& label,
                         recover::StepState state, int64_t start, int64_t end,
                         const std::string& output = "") {
  recover::StepRecord s;
  s.phase = phase;
  s.kind = kind;
  s.name = name;
  s.label = label;
  s.state = state;
  s.start_ns = start;
  s.end_ns = end;
  s.output = output;
  return s;
}

// Two waves: db passed (a postgres source, tools), shop failed at its check, its dependent web
// skipped, and stats cancelled by Ctrl-C before it started.
recover::RecoveryReport Report() {
  using recover::StepState;
  recover::RecoveryReport r;
  r.start_ns = kT0;
  r.end_ns = kT0 + 60 * kSecond;

  recover::ServiceRecovery db;
  db.service = "db";
  db.site = "offsite";
  db.wave = 1;
  db.state = recover::ServiceState::kPassed;
  db.start_ns = kT0 + kSecond;
  db.end_ns = kT0 + 30 * kSecond;
  db.sources.push_back({"billing", "postgres", std::string(64, 'a'), kT0 - 300 * kSecond,
                        "pg_restore", 1, 5000, 0, {}});
  db.steps.push_back(Step("restore", "restore", "restore source billing (postgres) from snapshot "
                          "aaaaaaaa of ...", "restore source billing (postgres)", StepState::kOk,
                          kT0 + 2 * kSecond, kT0 + 3 * kSecond));
  db.steps.push_back(Step("recover", "postgres_restore", "postgres_restore billing",
                          "postgres_restore", StepState::kOk, kT0 + 3 * kSecond,
                          kT0 + 25 * kSecond, "pg_restore: connecting with s3cret-pw\n"));
  db.steps.push_back(Step("verify", "sql", "sql 'select 1' on database billing", "sql 'select 1'",
                          StepState::kOk, kT0 + 25 * kSecond, kT0 + 30 * kSecond, "1"));
  db.rto_seconds = 30.0;
  db.rpo_seconds = 300.0;
  db.rto_target = std::chrono::hours(1);
  db.rpo_target = std::chrono::minutes(15);
  db.files_restored = 1;
  db.bytes_restored = 5000;
  db.tools = {{"postgres", "/usr/lib/postgresql/15/bin/postgres", "postgres (PostgreSQL) 15.6"},
              {"pg_restore", "/usr/lib/postgresql/15/bin/pg_restore", ""}};
  r.services.push_back(db);

  recover::ServiceRecovery shop;
  shop.service = "shop";
  shop.site = "offsite";
  shop.wave = 2;
  shop.state = recover::ServiceState::kFailed;
  shop.start_ns = kT0 + 30 * kSecond;
  shop.end_ns = kT0 + 40 * kSecond;
  shop.steps.push_back(Step("restore", "restore", "restore source files (paths) from ...",
                            "restore source files (paths)", StepState::kOk, kT0 + 31 * kSecond,
                            kT0 + 32 * kSecond));
  shop.steps.push_back(Step("verify", "http", "http GET http://127.0.0.1:41234/health",
                            "http GET /health on 127.0.0.1 port http", StepState::kFailed,
                            kT0 + 32 * kSecond, kT0 + 40 * kSecond, "HTTP 500\nbroken"));
  shop.steps.push_back(Step("verify", "command", "command check", "command 'selftest'",
                            StepState::kNotRun, 0, 0));
  shop.failure = "http GET ...: HTTP 500, token s3cret-pw";
  shop.rto_target = std::chrono::hours(2);
  r.services.push_back(shop);

  recover::ServiceRecovery web;
  web.service = "web";
  web.site = "offsite";
  web.wave = 3;
  web.state = recover::ServiceState::kSkipped;
  web.failure = "not recovered: it depends on shop, which failed (...)";
  r.services.push_back(web);

  recover::ServiceRecovery stats;
  stats.service = "stats";
  stats.site = "local";
  stats.wave = 1;
  stats.state = recover::ServiceState::kCancelled;
  r.services.push_back(stats);
  return r;
}

TEST(DrillEvidenceTest, EveryServiceOfTheReportBecomesARecord) {
  DrillEvidenceOptions o;
  o.drill_id = NewDrillId();
  o.host = "dr1";
  o.program_version = "lifeboat 0.1.0";
  o.secrets = {"s3cret-pw"};
  const std::vector<DrillRecord> records = DrillRecordsFromReport(Report(), o);
  ASSERT_EQ(records.size(), 4u);
  for (const DrillRecord& r : records) {
    EXPECT_TRUE(ValidateDrillRecord(r).ok()) << r.service;
    EXPECT_EQ(r.drill_id, o.drill_id);
    EXPECT_EQ(r.start_ns, kT0);  // the invocation's start: RTO counts from there
    EXPECT_EQ(r.host, "dr1");
    EXPECT_EQ(r.program_version, "lifeboat 0.1.0");
  }
  EXPECT_NE(records[0].id, records[1].id);

  const DrillRecord& db = records[0];
  EXPECT_EQ(db.service, "db");
  EXPECT_EQ(db.site, "offsite");
  EXPECT_EQ(db.wave, 0);
  EXPECT_EQ(db.result, DrillResult::kPassed);
  EXPECT_EQ(db.error, "");
  EXPECT_EQ(db.end_ns, kT0 + 30 * kSecond);
  EXPECT_EQ(db.achieved_rto_ns, 30 * kSecond);
  EXPECT_EQ(db.achieved_rpo_ns, 300 * kSecond);
  EXPECT_EQ(db.rto_target_ns, 3600 * kSecond);
  EXPECT_EQ(db.rpo_target_ns, 900 * kSecond);
  EXPECT_EQ(db.files_restored, 1u);
  EXPECT_EQ(db.bytes_restored, 5000u);
  ASSERT_EQ(db.snapshots.size(), 1u);
  EXPECT_EQ(db.snapshots[0].source, "billing");
  EXPECT_EQ(db.snapshots[0].kind, "postgres");
  EXPECT_EQ(db.snapshots[0].snapshot.Hex(), std::string(64, 'a'));
  EXPECT_EQ(db.snapshots[0].time_ns, kT0 - 300 * kSecond);
  // Opening the site, then the steps under their labels (no snapshot id, no drill port).
  ASSERT_EQ(db.steps.size(), 4u);
  EXPECT_EQ(db.steps[0].name, "open site offsite");
  EXPECT_EQ(db.steps[0].kind, DrillStepKind::kRestore);
  EXPECT_EQ(db.steps[0].start_ns, kT0 + kSecond);
  EXPECT_EQ(db.steps[0].end_ns, kT0 + 2 * kSecond);
  EXPECT_EQ(db.steps[1].name, "restore source billing (postgres)");
  EXPECT_EQ(db.steps[2].name, "postgres_restore");
  EXPECT_EQ(db.steps[2].kind, DrillStepKind::kRecover);
  EXPECT_EQ(db.steps[2].output, "pg_restore: connecting with ***\n");  // redacted
  EXPECT_EQ(db.steps[3].kind, DrillStepKind::kVerify);
  EXPECT_EQ(db.steps[3].result, DrillResult::kPassed);
  EXPECT_EQ(db.tools, (std::vector<ToolVersion>{{"postgres", "postgres (PostgreSQL) 15.6"},
                                                {"pg_restore", "unknown"}}));

  const DrillRecord& shop = records[1];
  EXPECT_EQ(shop.wave, 1);
  EXPECT_EQ(shop.result, DrillResult::kFailed);
  EXPECT_EQ(shop.error, "http GET ...: HTTP 500, token ***");
  EXPECT_FALSE(shop.achieved_rto_ns.has_value());
  EXPECT_FALSE(shop.achieved_rpo_ns.has_value());  // nothing restored
  EXPECT_EQ(shop.rto_target_ns, 7200 * kSecond);
  EXPECT_FALSE(shop.rpo_target_ns.has_value());
  ASSERT_EQ(shop.steps.size(), 4u);
  EXPECT_EQ(shop.steps[2].name, "http GET /health on 127.0.0.1 port http");
  EXPECT_EQ(shop.steps[2].result, DrillResult::kFailed);
  EXPECT_EQ(shop.steps[2].output, "HTTP 500\nbroken");
  EXPECT_EQ(shop.steps[3].result, DrillResult::kSkipped);  // not run: after the failure
  EXPECT_EQ(shop.steps[3].start_ns, kT0 + 40 * kSecond);
  EXPECT_EQ(shop.steps[3].end_ns, kT0 + 40 * kSecond);

  const DrillRecord& web = records[2];
  EXPECT_EQ(web.result, DrillResult::kSkipped);
  EXPECT_EQ(web.error, "not recovered: it depends on shop, which failed (...)");
  EXPECT_TRUE(web.steps.empty());
  EXPECT_EQ(web.end_ns, kT0 + 60 * kSecond);  // never started: the report's end

  const DrillRecord& stats = records[3];
  EXPECT_EQ(stats.site, "local");
  EXPECT_EQ(stats.result, DrillResult::kSkipped);
  EXPECT_EQ(stats.error, "interrupted");
}

TEST(DrillEvidenceTest, BatchesArePerSiteAndAtMostAHundredRecords) {
  std::vector<DrillRecord> records;
  for (int i = 0; i < 250; ++i) {
    DrillRecord r;
    r.id = NewDrillRecordId();
    r.service = "s" + std::to_string(i);
    r.site = i == 3 ? "b" : "a";
    records.push_back(r);
  }
  const std::vector<DrillRecordBatch> b = DrillRecordBatches(records);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].site, "a");
  EXPECT_EQ(b[0].records.size(), kMaxDrillRecordsPerObject);
  EXPECT_EQ(b[1].site, "a");
  EXPECT_EQ(b[1].records.size(), kMaxDrillRecordsPerObject);
  EXPECT_EQ(b[2].site, "a");
  EXPECT_EQ(b[2].records.size(), 49u);
  EXPECT_EQ(b[3].site, "b");
  ASSERT_EQ(b[3].records.size(), 1u);
  EXPECT_EQ(b[3].records[0].service, "s3");
  EXPECT_EQ(b[0].records[3].service, "s4");  // order kept
}

class PerformDrillTest : public recover::testing::RecoverFixture {
 protected:
  DrillOptions Drill(std::vector<std::string> services) {
    DrillOptions o;
    o.recover = Options();
    o.recover.services = std::move(services);
    o.notify_state_path = (dir_ / "state" / "notify-state.json").string();
    o.notify_retry.max_attempts = 1;
    o.host = "drillhost";
    return o;
  }

  std::vector<DrillRecord> Records(const std::string& site) {
    OpenOptions o;
    o.location = (dir_ / "sites" / site).string();
    o.password = PasswordSource::File((dir_ / "pw").string());
    Result<std::unique_ptr<Repository>> repo = OpenRepositoryUnlocked(o);
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    if (!repo.ok()) return {};
    Result<DrillRecordListing> l = ListDrillRecords(**repo, {}, Context());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->records : std::vector<DrillRecord>{};
  }

  // A plan: db (files, verify files) and app after it (a command step, a command check that
  // prints the site's password file's content: the secret must not reach a record); a command
  // channel appending each event to events.jsonl.
  std::string Yaml() {
    WriteFile(dir_ / "data" / "x.txt", "x\n");
    const std::string events = (dir_ / "events.jsonl").string();
    return "version: 1\nsites:\n" + Site("a") + "services:\n" +
           "  db:\n    tier: 0\n    rpo: 1h\n    rto: 1h\n    sites: [a]\n    sources:\n"
           "      - paths: [" + (dir_ / "data").string() + "]\n    verify:\n      - files: {}\n" +
           "  app:\n    tier: 1\n    rpo: 1h\n    rto: 1h\n    sites: [a]\n    depends_on: [db]\n"
           "    sources:\n      - paths: [" + (dir_ / "data").string() + "]\n"
           "    recover:\n      - command: \"sleep 0.05\"\n"
           "    verify:\n      - command: {run: \"echo pw=$(cat " + (dir_ / "pw").string() +
           ")\"}\n"
           "notifications:\n  channels:\n"
           "    log:\n      type: command\n      command: \"cat >> " + events + "; echo >> " +
           events + "\"\n"
           "  routes:\n    - events: [drill_failed, drill_passed, rto_regressed]\n"
           "      channels: [log]\n";
  }
};

TEST_F(PerformDrillTest, RecordsAtTheSiteJudgesAndNotifies) {
  const plan::Plan plan = Load(Yaml());
  Backup(plan);
  Result<DrillOutcome> d = PerformDrill(plan, Drill({"app"}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->ExitCode(), 0) << FormatDrillOutcome(*d);
  EXPECT_TRUE(d->recorded());
  ASSERT_EQ(d->drills.size(), 2u);  // app and, as its dependency, db
  ASSERT_EQ(d->writes.size(), 1u);
  EXPECT_EQ(d->writes[0].site, "a");
  EXPECT_TRUE(d->writes[0].object.has_value());
  EXPECT_EQ(d->writes[0].services, (std::vector<std::string>{"db", "app"}));

  const std::vector<DrillRecord> stored = Records("a");
  ASSERT_EQ(stored.size(), 2u);
  for (const DrillRecord& r : stored) {
    EXPECT_EQ(r.drill_id, d->drill_id);
    EXPECT_EQ(r.result, DrillResult::kPassed);
    EXPECT_EQ(r.host, "drillhost");
    ASSERT_EQ(r.snapshots.size(), 1u);
    EXPECT_TRUE(r.achieved_rto_ns.has_value());
    EXPECT_EQ(r.rto_target_ns, 3600 * kSecond);
    for (const DrillStep& s : r.steps) {
      EXPECT_EQ(s.output.find("site-pw-31c9e7"), std::string::npos) << s.name << ": " << s.output;
    }
  }
  const DrillRecord& app = stored[0].service == "app" ? stored[0] : stored[1];
  EXPECT_EQ(app.wave, 1);
  bool check_output = false;
  for (const DrillStep& s : app.steps) {
    if (s.kind == DrillStepKind::kVerify) check_output = s.output == "pw=***\n";
  }
  EXPECT_TRUE(check_output) << "the check's output is stored, redacted";
  // Compared with the (no) earlier drills; a drill_passed per service to the route.
  EXPECT_TRUE(d->drills[0].history_read);
  EXPECT_EQ(d->drills[0].earlier_drills, 0u);
  EXPECT_TRUE(d->Findings().empty());
  ASSERT_EQ(d->notifications.size(), 2u);
  for (const notify::DeliveryOutcome& n : d->notifications) {
    EXPECT_EQ(n.event, notify::EventType::kDrillPassed);
    EXPECT_EQ(n.result, notify::OutcomeResult::kDelivered) << n.error;
  }
  const std::string events = ReadFile(dir_ / "events.jsonl");
  EXPECT_NE(events.find("\"event\":\"drill_passed\""), std::string::npos) << events;
  EXPECT_EQ(events.find("site-pw-31c9e7"), std::string::npos);
  // The report and its JSON carry the evidence, redacted too.
  const std::string text = FormatDrillOutcome(*d);
  EXPECT_NE(text.find("recorded at site a (drill " + d->drill_id.substr(0, 8)), std::string::npos)
      << text;
  EXPECT_EQ(text.find("site-pw-31c9e7"), std::string::npos) << text;
  const nlohmann::ordered_json j = DrillOutcomeToJson(*d);
  EXPECT_EQ(j["drill_id"], d->drill_id);
  EXPECT_EQ(j["exit_status"], 0);
  EXPECT_EQ(j["services"][0]["record_id"], d->drills[0].record.id);
  EXPECT_EQ(j["services"][0]["recorded"], true);
  EXPECT_EQ(j["records"][0]["site"], "a");

  // A second drill reads the first as history.
  Result<DrillOutcome> again = PerformDrill(plan, Drill({"db"}));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->drills.size(), 1u);
  EXPECT_EQ(again->drills[0].earlier_drills, 1u);
  EXPECT_EQ(Records("a").size(), 3u);
}

// A site that takes no record object (here runs/ is a file; a restic rest-server answers 404):
// the drill passed, but it left no evidence: exit 3 and a warning naming the site.
TEST_F(PerformDrillTest, ADrillThatCannotBeRecordedIsNotSilent) {
  const plan::Plan plan = Load(Yaml());
  Backup(plan);
  const fs::path runs = dir_ / "sites" / "a" / "runs";
  fs::remove_all(runs);
  WriteFile(runs, "not a directory\n");
  Result<DrillOutcome> d = PerformDrill(plan, Drill({"db"}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->report.passed());
  EXPECT_FALSE(d->recorded());
  EXPECT_EQ(d->ExitCode(), 3);
  ASSERT_EQ(d->writes.size(), 1u);
  EXPECT_FALSE(d->writes[0].object.has_value());
  EXPECT_FALSE(d->writes[0].error.empty());
  bool warned = false;
  for (const std::string& w : d->warnings) {
    warned = warned || w.find("could not be stored at site a") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  EXPECT_NE(FormatDrillOutcome(*d).find("NOT RECORDED at site a: db: "), std::string::npos);
  EXPECT_EQ(DrillOutcomeToJson(*d)["services"][0]["recorded"], false);
}

}  // namespace
}  // namespace lifeboat::dr
