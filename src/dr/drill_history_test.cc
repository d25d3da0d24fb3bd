// `drill history` as a library: records read from real local sites and merged by identity, the
// selection, each output format, and escaping of every plan and record string in the HTML.
#include "dr/drill_history.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dr/sites.h"
#include "engine/open.h"
#include "plan/validate.h"
#include "runlog/run_records.h"
#include "util/clock.h"

namespace lifeboat::dr {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86400 * kSecond;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;  // 2026-11-30 00:53:20 UTC

DrillRecord Drill(const std::string& service, const std::string& site, int64_t start,
                  double recover_s, DrillResult result = DrillResult::kPassed,
                  const std::string& drill_id = NewDrillId()) {
  DrillRecord r;
  r.id = NewDrillRecordId();
  r.drill_id = drill_id;
  r.service = service;
  r.site = site;
  r.start_ns = start;
  r.wave = service == "shop" ? 1 : 0;
  int64_t t = start + (service == "shop" ? 30 * kSecond : 0);
  const int64_t recover = static_cast<int64_t>(recover_s * 1e9);
  r.steps = {{"restore " + service, DrillStepKind::kRestore, t, t + 20 * kSecond,
              DrillResult::kPassed, "", ""},
             {"postgres_restore", DrillStepKind::kRecover, t + 20 * kSecond,
              t + 20 * kSecond + recover, DrillResult::kPassed, "", ""},
             {"sql select 1", DrillStepKind::kVerify, t + 20 * kSecond + recover,
              t + 25 * kSecond + recover, result, "", ""}};
  r.end_ns = r.steps.back().end_ns;
  r.result = result;
  if (result == DrillResult::kPassed) r.achieved_rto_ns = r.end_ns - start;
  r.achieved_rpo_ns = 240 * kSecond;
  r.rto_target_ns = 3600 * kSecond;
  r.rpo_target_ns = 900 * kSecond;
  r.host = "dr1";
  r.program_version = "lifeboat test";
  return r;
}

class DrillHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("drill-history-" + NewDrillId());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "pass") << "secret-pw\n";
    const std::string text =
        "version: 1\nsites:\n"
        "  local:\n    repository: " + (dir_ / "local").string() + "\n    password_file: " +
        (dir_ / "pass").string() + "\n"
        "  offsite:\n    repository: " + (dir_ / "offsite").string() + "\n    password_file: " +
        (dir_ / "pass").string() + "\n    role: offsite\n"
        "  gone:\n    repository: " + (dir_ / "nothing-here").string() + "\n    password_file: " +
        (dir_ / "pass").string() + "\n"
        "services:\n"
        "  billing-db:\n    owner: \"<b>finance</b>\"\n    tier: 0\n    rpo: 15m\n    rto: 1h\n"
        "    drill_every: 8d\n    sources:\n      - paths: [/srv/db]\n    sites: [local, offsite]\n"
        "  shop:\n    tier: 1\n    rpo: 1h\n    depends_on: [billing-db]\n    drill_every: 8d\n"
        "    sources:\n      - paths: [/srv/shop]\n    sites: [local, offsite, gone]\n"
        "  wiki:\n    tier: 3\n    rpo: 1d\n    sources:\n      - paths: [/srv/wiki]\n"
        "    sites: [local]\n";
    plan::LoadedPlan loaded = plan::CheckPlanText(text, "p.yaml");
    ASSERT_EQ(loaded.errors, 0u);
    plan_ = loaded.plan;
    for (const char* name : {"local", "offsite"}) {
      Result<OpenOptions> open = SiteOpenOptions(*plan_.FindSite(name), Context());
      ASSERT_TRUE(open.ok()) << open.status().ToString();
      InitOptions init;
      init.kdf = KdfParams{1024, 8, 2};
      auto repo = CreateRepository(*open, init);
      ASSERT_TRUE(repo.ok()) << repo.status().ToString();
      repos_.push_back(std::move(*repo));
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  plan::Plan plan_;
  std::vector<std::unique_ptr<Repository>> repos_;  // local, offsite
};

TEST_F(DrillHistoryTest, ReadsEverySiteAndMergesRecordsByIdentity) {
  // Five weekly drills of both services from the offsite site; the records are then copied to
  // the local site (as `copy` does), so every record is there twice.
  std::vector<DrillRecord> written;
  for (int i = 0; i < 5; ++i) {
    const std::string id = NewDrillId();
    std::vector<DrillRecord> one = {Drill("billing-db", "offsite", kT0 + i * 7 * kDay, 60, DrillResult::kPassed, id),
                                    Drill("shop", "offsite", kT0 + i * 7 * kDay, 10, DrillResult::kPassed, id)};
    ASSERT_TRUE(WriteDrillRecords(*repos_[1], one, Context()).ok());
    written.insert(written.end(), one.begin(), one.end());
  }
  // The last billing-db drill, from the local site, failed.
  DrillRecord failed = Drill("billing-db", "local", kT0 + 35 * kDay, 5, DrillResult::kFailed);
  failed.error = "sql check: expected t, got f";
  ASSERT_TRUE(WriteDrillRecords(*repos_[0], {failed}, Context()).ok());
  auto copied = CopyRunRecords(*repos_[1], *repos_[0], Context());
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->drill_records_copied, 10u);

  ManualClock clock(kT0 + 36 * kDay);
  DrillHistoryOptions o;
  o.context = Context().WithClock(clock);
  auto h = ReadDrillHistory(plan_, o);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->sites_read, (std::vector<std::string>{"local", "offsite"}));
  EXPECT_EQ(h->duplicates, 10u);
  ASSERT_EQ(h->warnings.size(), 1u);
  EXPECT_NE(h->warnings[0].find("site gone cannot be opened"), std::string::npos) << h->warnings[0];
  ASSERT_EQ(h->services.size(), 3u);
  const ServiceDrills& db = h->services[0];
  EXPECT_EQ(db.service, "billing-db");
  ASSERT_EQ(db.drills.size(), 6u);
  EXPECT_EQ(db.drills.back().site, "local");
  EXPECT_EQ(db.assessment.newest->id, failed.id);
  // The failed local drill is flagged; the service is not overdue: the newest passed drill is
  // 36 - 28 = 8 days old, exactly drill_every, not older.
  ASSERT_EQ(db.assessment.findings.size(), 1u);
  EXPECT_EQ(db.assessment.findings[0].kind, FindingKind::kFailed);
  EXPECT_EQ(h->services[1].drills.size(), 5u);
  EXPECT_TRUE(h->services[1].assessment.findings.empty());
  EXPECT_EQ(h->services[2].service, "wiki");
  EXPECT_EQ(h->services[2].assessment.findings[0].kind, FindingKind::kNeverDrilled);

  // Selections.
  o.services = {"shop"};
  o.sites = {"local"};
  auto only = ReadDrillHistory(plan_, o);
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->sites_read, (std::vector<std::string>{"local"}));
  ASSERT_EQ(only->services.size(), 1u);
  EXPECT_TRUE(only->services[0].drills.empty());  // shop was drilled from offsite
  o.sites = {};
  o.services = {"shpo"};
  auto bad = ReadDrillHistory(plan_, o);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("it has billing-db, shop, wiki"), std::string::npos);
  o.services = {};
  o.sites = {"elsewhere"};
  EXPECT_EQ(ReadDrillHistory(plan_, o).status().code(), StatusCode::kInvalidArgument);
  // A cancelled read stops.
  std::atomic<bool> cancel{true};
  o.sites = {};
  o.context = Context().WithCancel(&cancel);
  EXPECT_EQ(ReadDrillHistory(plan_, o).status().code(), StatusCode::kCancelled);
}

TEST_F(DrillHistoryTest, TheTextTableAndTheOtherFormats) {
  const std::string id = NewDrillId();
  DrillRecord a = Drill("billing-db", "offsite", kT0, 60, DrillResult::kPassed, id);
  DrillRecord b = Drill("shop", "offsite", kT0, 3700, DrillResult::kPassed, id);
  b.rto_target_ns = 3600 * kSecond;
  DrillRecord c = Drill("billing-db", "local", kT0 + kDay, 5, DrillResult::kFailed);
  c.error = "sql check: expected t, got f";
  c.achieved_rpo_ns.reset();
  DrillHistoryOptions o;
  o.services = {"billing-db", "shop"};
  DrillHistory h = BuildDrillHistory(plan_, o, {a, b, c, a}, kT0 + 2 * kDay);
  EXPECT_EQ(h.duplicates, 1u);
  EXPECT_EQ(DrillHistoryText(h),
            "billing-db (tier 0, owner <b>finance</b>): 2 drills; RTO target 1h, RPO target 15m, "
            "drill_every 1w1d\n"
            "  date (UTC)           site     result  RTO / target  RPO / target  slowest step                flags\n"
            "  2026-11-30 00:53:20  offsite  passed  1m25s / 1h    4m / 15m      postgres_restore (1m)\n"
            "  2026-12-01 00:53:20  local    failed  - / 1h        - / 15m       restore billing-db (20.0s)\n"
            "  ! the drill of billing-db from local failed: sql check: expected t, got f\n"
            "shop (tier 1): 1 drill; RPO target 1h, drill_every 1w1d\n"
            "  date (UTC)           site     result  RTO / target  RPO / target  slowest step                flags\n"
            "  2026-11-30 00:53:20  offsite  passed  1h2m35s / 1h  4m / 15m      postgres_restore (1h1m40s)  RTO missed\n"
            "  ! the RTO target of shop was missed: recovery from offsite took 1h2m35s, the target is 1h\n");
  const std::string md = DrillHistoryMarkdown(h);
  EXPECT_NE(md.find("## billing-db (tier 0, owner <b>finance</b>): 2 drills"), std::string::npos);
  EXPECT_NE(md.find("| date (UTC) | site | result | RTO / target | RPO / target | slowest step | flags |\n"
                    "|---|---|---|---|---|---|---|\n"
                    "| 2026-11-30 00:53:20 | offsite | passed | 1m25s / 1h | 4m / 15m | postgres_restore (1m) |  |\n"),
            std::string::npos)
      << md;
  const nlohmann::ordered_json j = DrillHistoryJson(h);
  EXPECT_EQ(j["message_type"], "drill_history");
  EXPECT_EQ(j["duplicates"], 1);
  ASSERT_EQ(j["services"].size(), 2u);
  EXPECT_EQ(j["services"][0]["rto_seconds"], 3600);
  EXPECT_EQ(j["services"][0]["drill_every_seconds"], 8 * 86400);
  EXPECT_EQ(j["services"][0]["newest_drill"], c.id);
  EXPECT_EQ(j["services"][0]["newest_passed_drill"], a.id);
  EXPECT_EQ(j["services"][0]["drills"][1]["result"], "failed");
  EXPECT_EQ(j["services"][0]["drills"][1]["findings"][0]["kind"], "failed");
  EXPECT_EQ(j["services"][1]["findings"][0]["kind"], "rto_missed");
  EXPECT_EQ(j["services"][1]["findings"][0]["value_ns"], (3700 + 25 + 30) * kSecond);
  EXPECT_EQ(j["services"][1]["drills"][0]["achieved_rto_ns"], (3700 + 25 + 30) * kSecond);
}

// Every string of the plan and of the records reaches the page as text: a service named with a
// script tag (the parser would refuse the name; a Plan made in code, or a record, can hold it),
// step names, errors, owners, sites.
TEST(DrillHistoryHtmlTest, EveryStringIsEscaped) {
  const std::string evil = "<script>console.error('injected')</script>";
  plan::Plan plan;
  plan::Service s;
  s.name = evil;
  s.owner = "<img src=x onerror=alert(1)>";
  s.tier = 0;
  s.rpo = std::chrono::minutes(15);
  s.rto = std::chrono::hours(1);
  plan.services.push_back(s);
  DrillRecord r = Drill(evil, "<i>site</i>", kT0, 60, DrillResult::kFailed);
  r.error = "</td></tr><script>alert(2)</script>";
  r.steps[1].name = "<svg onload=alert(3)>";
  DrillHistory h = BuildDrillHistory(plan, {}, {r, Drill(evil, "<i>site</i>", kT0 - kDay, 60)}, kT0 + kDay);
  const std::string html = DrillHistoryHtml(h);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;console.error(&#39;injected&#39;)&lt;/script&gt; (tier 0)"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(2)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;svg onload=alert(3)&gt;"), std::string::npos);
  // The charts and the timeline are there: two duration charts and a Gantt.
  size_t svgs = 0;
  for (size_t at = html.find("<svg role=\"img\""); at != std::string::npos;
       at = html.find("<svg role=\"img\"", at + 1))
    ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_NE(html.find("<h2>Recovery timeline</h2>"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::dr
