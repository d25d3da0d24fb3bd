// The incident history read from two real local sites (and one that is gone): merged by
// incident, the newest state counts, newest incident first, text and JSON.
#include "dr/incident_history.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dr/sites.h"
#include "engine/open.h"
#include "plan/validate.h"
#include "util/clock.h"

namespace lifeboat::dr {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;  // 2026-11-30 00:53:20 UTC

IncidentRecord Incident(const std::string& id, uint64_t sequence, IncidentState state,
                        int64_t start_ns) {
  IncidentRecord r;
  r.id = id;
  r.sequence = sequence;
  r.kind = IncidentKind::kFailover;
  r.state = state;
  r.declared_by = "operator root@dr1";
  r.reason = "main site lost";
  r.fencing_token = 7;
  r.from_site = "main";
  r.to_site = "dr-site";
  r.host = "dr1";
  r.version = "lifeboat test";
  r.start_ns = start_ns;
  r.failure_ns = start_ns - 30 * kSecond;
  IncidentService s;
  s.service = "shop";
  s.tier = 1;
  s.wave = 0;
  s.result = state == IncidentState::kOpen ? "running" : "recovered";
  s.snapshots = {{"files", std::string(64, 'e')}};
  if (state != IncidentState::kOpen) s.rto_seconds = 245;
  s.rto_target_seconds = 3600;
  s.data_loss_seconds = 450;
  s.rpo_target_seconds = 900;
  r.services = {s};
  r.timeline = {{start_ns, "failover_started", "", "dr-site", ""}};
  return r;
}

class IncidentHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("incident-history-" + NewIncidentId());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "pass") << "secret-pw\n";
    const std::string pass = (dir_ / "pass").string();
    const std::string text =
        "version: 1\nsites:\n"
        "  main:\n    repository: " +
        (dir_ / "main").string() + "\n    password_file: " + pass +
        "\n  dr-site:\n    repository: " + (dir_ / "dr").string() + "\n    password_file: " + pass +
        "\n    role: offsite\n"
        "  gone:\n    repository: " +
        (dir_ / "nothing-here").string() + "\n    password_file: " + pass +
        "\n"
        "services:\n"
        "  shop:\n    tier: 1\n    rpo: 15m\n    rto: 1h\n    sources:\n      - paths: "
        "[/srv/shop]\n"
        "    sites: [main, dr-site, gone]\n";
    plan::LoadedPlan loaded = plan::CheckPlanText(text, "p.yaml");
    ASSERT_EQ(loaded.errors, 0u);
    plan_ = loaded.plan;
    for (const char* name : {"main", "dr-site"}) {
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

  Repository& Main() { return *repos_[0]; }
  Repository& Dr() { return *repos_[1]; }

  fs::path dir_;
  plan::Plan plan_;
  std::vector<std::unique_ptr<Repository>> repos_;  // main, dr-site
};

TEST_F(IncidentHistoryTest, MergesTheSitesAndTheNewestStateCounts) {
  // A failover opened at both sites, committed at dr-site only (main was lost meanwhile); later
  // a failback recorded at main only.
  const std::string failover = NewIncidentId(), failback = NewIncidentId();
  IncidentRecord open = Incident(failover, 1, IncidentState::kOpen, kT0);
  ASSERT_TRUE(WriteIncidentRecord(Main(), open, Context()).ok());
  ASSERT_TRUE(WriteIncidentRecord(Dr(), open, Context()).ok());
  IncidentRecord committed = Incident(failover, 2, IncidentState::kCommitted, kT0);
  committed.end_ns = kT0 + 3600 * kSecond;
  ASSERT_TRUE(WriteIncidentRecord(Dr(), committed, Context()).ok());
  IncidentRecord back = Incident(failback, 1, IncidentState::kCommitted, kT0 + 86400 * kSecond);
  back.kind = IncidentKind::kFailback;
  back.from_site = "dr-site";
  back.to_site = "main";
  back.ends_incident = failover;
  ASSERT_TRUE(WriteIncidentRecord(Main(), back, Context()).ok());

  ManualClock clock(kT0 + 2 * 86400 * kSecond);
  IncidentHistoryOptions o;
  o.context = Context().WithClock(clock);
  auto h = ReadIncidentHistory(plan_, o);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->now_ns, kT0 + 2 * 86400 * kSecond);
  EXPECT_EQ(h->sites_read, (std::vector<std::string>{"main", "dr-site"}));
  ASSERT_EQ(h->warnings.size(), 1u);
  EXPECT_NE(h->warnings[0].find("site gone cannot be opened"), std::string::npos) << h->warnings[0];
  EXPECT_EQ(h->warnings[0].find("secret-pw"), std::string::npos);
  ASSERT_EQ(h->incidents.size(), 2u);
  // Newest first: the failback, then the failover in its committed state (from dr-site).
  EXPECT_EQ(h->incidents[0].record.id, failback);
  EXPECT_EQ(h->incidents[0].sites, (std::vector<std::string>{"main"}));
  EXPECT_EQ(h->incidents[1].record.id, failover);
  EXPECT_EQ(h->incidents[1].record.sequence, 2u);
  EXPECT_EQ(h->incidents[1].record.state, IncidentState::kCommitted);
  EXPECT_EQ(h->incidents[1].sites, (std::vector<std::string>{"main", "dr-site"}));
  EXPECT_EQ(h->superseded, 1u);  // main's open state

  const std::string text = IncidentHistoryText(*h);
  EXPECT_NE(text.find("2026-11-30 00:53:20 UTC  failover  committed  main -> dr-site  declared "
                      "by operator root@dr1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("failback  committed  dr-site -> main"), std::string::npos) << text;
  EXPECT_NE(text.find("ends incident " + failover), std::string::npos) << text;
  EXPECT_NE(text.find("shop  tier 1, wave 0  recovered  RTO 4m5s / 1h  data loss 7m30s / 15m"),
            std::string::npos)
      << text;
  EXPECT_LT(text.find("failback"), text.find("failover  committed"));
  EXPECT_NE(text.find("warning: site gone"), std::string::npos);

  const nlohmann::ordered_json j = IncidentHistoryJson(*h);
  EXPECT_EQ(j["sites_read"], nlohmann::ordered_json({"main", "dr-site"}));
  ASSERT_EQ(j["incidents"].size(), 2u);
  EXPECT_EQ(j["incidents"][1]["record"]["state"], "committed");
  EXPECT_EQ(j["incidents"][1]["record"]["sequence"], 2);
  EXPECT_EQ(j["incidents"][1]["record"]["services"][0]["achieved_rto_ns"], 245 * kSecond);
  EXPECT_EQ(j["incidents"][1]["sites"], nlohmann::ordered_json({"main", "dr-site"}));
  EXPECT_EQ(j["incidents"][0]["record"]["ends_incident"], failover);
  EXPECT_EQ(j["superseded"], 1);
}

TEST_F(IncidentHistoryTest, SelectedSitesOnlyAndUnknownSitesRefused) {
  const std::string id = NewIncidentId();
  ASSERT_TRUE(
      WriteIncidentRecord(Dr(), Incident(id, 1, IncidentState::kOpen, kT0), Context()).ok());
  IncidentHistoryOptions o;
  o.sites = {"main"};
  auto main_only = ReadIncidentHistory(plan_, o);
  ASSERT_TRUE(main_only.ok()) << main_only.status().ToString();
  EXPECT_TRUE(main_only->incidents.empty());
  EXPECT_TRUE(main_only->warnings.empty());
  EXPECT_NE(IncidentHistoryText(*main_only).find("No incident recorded at the sites main"),
            std::string::npos);
  o.sites = {"dr-site"};
  auto dr_only = ReadIncidentHistory(plan_, o);
  ASSERT_TRUE(dr_only.ok());
  ASSERT_EQ(dr_only->incidents.size(), 1u);
  EXPECT_EQ(dr_only->incidents[0].record.state, IncidentState::kOpen);
  // An open incident: no RTO yet, shown as "-".
  EXPECT_NE(IncidentHistoryText(*dr_only).find("running  RTO - / 1h"), std::string::npos)
      << IncidentHistoryText(*dr_only);
  o.sites = {"nowhere"};
  EXPECT_EQ(ReadIncidentHistory(plan_, o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lifeboat::dr
