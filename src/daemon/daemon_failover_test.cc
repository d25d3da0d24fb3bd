// The daemon's incident work driven by hand with a ManualClock: the failover rule (the daemon of
// the recovery site fails over only when the active site's daemon is gone or reports the service
// failed too), failover.commit_after (a real dr::CommitFailover of an incident written to the
// state directory; a failed round restarts the wait), and the dashboard served by the daemon on
// a loopback port (GET /api/v1/status, POST /api/v1/failover/commit with and without the
// operate token).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "daemon/daemon.h"
#include "daemon/failover_rule.h"
#include "daemon/fake_fence.h"
#include "dr/incident_state.h"
#include "plan/validate.h"

namespace lifeboat::daemon {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
constexpr int64_t kSecond = 1'000'000'000;

json View(const std::string& service, const std::string& state) {
  return {{"sites", {"a"}}, {"services", {{{"service", service}, {"state", state}}}}};
}

TEST(FailoverRuleTest, ActiveSiteGoneFailedOrOurs) {
  std::vector<fence::Member> members = {{"a", "dA", "hostA", 0, View("shop", "healthy")}};
  FailoverDecision d = DecideFailover("shop", "a", {"b"}, members);
  EXPECT_FALSE(d.fail_over);
  EXPECT_EQ(d.why, "site a still sees it healthy (dA)");
  members[0].health = View("shop", "failing");
  EXPECT_FALSE(DecideFailover("shop", "a", {"b"}, members).fail_over);
  members[0].health = nullptr;  // nothing reported yet
  EXPECT_FALSE(DecideFailover("shop", "a", {"b"}, members).fail_over);
  members[0].health = View("shop", "failed");
  members[0].revision = 41;
  d = DecideFailover("shop", "a", {"b"}, members);
  EXPECT_TRUE(d.fail_over);
  EXPECT_NE(d.why.find("reports it failed too"), std::string::npos);
  // The move compares a's member key again: as read (revision 41).
  ASSERT_TRUE(d.guard.has_value());
  EXPECT_EQ(d.guard->site, "a");
  EXPECT_EQ(d.guard->revision, 41u);
  d = DecideFailover("shop", "a", {"b"}, std::vector<fence::Member>{});
  EXPECT_TRUE(d.fail_over);
  EXPECT_EQ(d.why, "site a has no daemon (its member key is gone)");
  ASSERT_TRUE(d.guard.has_value());  // still gone when the move lands
  EXPECT_EQ(d.guard->site, "a");
  EXPECT_EQ(d.guard->revision, 0u);
  // One daemon for both sites (the lock file): its own rounds are a's view; nothing to guard.
  members[0].health = View("shop", "healthy");
  d = DecideFailover("shop", "a", {"a", "b"}, members);
  EXPECT_TRUE(d.fail_over);
  EXPECT_FALSE(d.guard.has_value());
  // The fence cannot answer: no failover.
  EXPECT_FALSE(DecideFailover("shop", "a", {"b"}, Status::Unavailable("etcd down")).fail_over);
}

class DaemonFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lifeboat-daemon-failover-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "operate") << "operate-secret\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Yaml() const {
    std::string y = "version: 1\nsites:\n";
    for (const char* s : {"a", "b"}) {
      y += std::string("  ") + s + ":\n    repository: " + (dir_ / "sites" / s).string() +
           "\n    password_file: " + (dir_ / "pw").string() + "\n";
    }
    y += "services:\n  shop:\n    tier: 1\n    rpo: 1h\n    schedule: '0 3 * * *'\n"
         "    sites: [a, b]\n    sources:\n      - paths: [" +
         (dir_ / "data").string() + "]\n    verify:\n      - tcp: {port: 8080}\n";
    return y;
  }

  Result<plan::LoadedPlan> LoadPlanText(const std::string&) {
    plan::LoadedPlan loaded = plan::CheckPlanText(Yaml(), (dir_ / "lifeboat.yaml").string());
    for (const plan::Diagnostic& d : loaded.diagnostics) EXPECT_FALSE(d.is_error()) << d.ToString();
    plan::FailoverPolicy p;
    p.to = "b";
    p.interval = std::chrono::seconds(30);
    p.failures_before_failover = 3;
    loaded.plan.services[0].failover = p;
    if (commit_after_) loaded.plan.failover.commit_after = std::chrono::seconds(commit_after_);
    plan::SecretRef operate;
    operate.value = (dir_ / "operate").string();
    loaded.plan.daemon.operate_token = operate;
    return loaded;
  }

  DaemonOptions Options(std::vector<std::string> sites) {
    DaemonOptions o;
    o.plan_path = (dir_ / "lifeboat.yaml").string();
    o.state_dir = (dir_ / "state").string();
    o.sites = std::move(sites);
    o.context = Context().WithClock(clock_);
    o.fence = &fence_;
    o.load_plan = [this](const std::string& p) { return LoadPlanText(p); };
    o.probe = [this](const plan::Plan&, const plan::Service&, const plan::VerifyCheck&,
                     const Context&) -> Status {
      if (down_) return Status::Unavailable("connection refused");
      return Status::Ok();
    };
    o.run_plan = [](const plan::Plan&, const dr::RunOptions&) -> Result<dr::RunReport> {
      return dr::RunReport{};
    };
    o.failover = [this](const FailoverRequest& r, const Context&) {
      MutexLock l(&mu_);
      failovers_.push_back(r);
      return Status::Ok();
    };
    o.on_line = [this](const std::string& line) {
      MutexLock l(&mu_);
      log_ += line + "\n";
    };
    return o;
  }

  std::unique_ptr<Daemon> Make(DaemonOptions o) {
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(std::move(o));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (!d.ok()) return nullptr;
    Status started = (*d)->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
    return std::move(*d);
  }

  void Step(Daemon& d, int64_t seconds) {
    clock_.Advance(seconds * kSecond);
    d.Tick();
    d.WaitIdle();
  }

  // An open failover of shop to b whose recovery ended now.
  dr::IncidentState WriteIncident() {
    dr::IncidentState inc;
    inc.id = "0123456789abcdef0123456789abcdef";
    inc.declared_by = "daemon b";
    inc.reason = "daemon b: 3 failed health checks of shop";
    inc.to_site = "b";
    inc.token = 1;
    inc.start_ns = clock_.WallNs() - 60 * kSecond;
    inc.end_ns = clock_.WallNs();
    dr::IncidentService s;
    s.service = "shop";
    s.result = "recovered";
    s.from_site = "a";
    s.switched = true;
    s.token = 1;
    inc.services.push_back(s);
    inc.timeline.push_back({inc.start_ns, "failover started (daemon b)", "", "b"});
    EXPECT_TRUE(dr::SaveIncidentState((dir_ / "state").string(), inc).ok());
    fence_.SetActive("shop", "b");
    return inc;
  }

  std::string IncidentStateNow() {
    Result<std::optional<dr::IncidentState>> s = dr::LoadIncidentState((dir_ / "state").string());
    return s.ok() && *s ? (*s)->state : "";
  }

  size_t Failovers() {
    MutexLock l(&mu_);
    return failovers_.size();
  }
  std::string LogText() {
    MutexLock l(&mu_);
    return log_;
  }

  fs::path dir_;
  ManualClock clock_;
  FakeFence fence_;
  std::atomic<bool> down_{false};
  int commit_after_ = 0;
  Mutex mu_;
  std::vector<FailoverRequest> failovers_ GUARDED_BY(mu_);
  std::string log_ GUARDED_BY(mu_);
};

TEST_F(DaemonFailoverTest, ActiveSiteLiveAndHealthyHoldsTheFailoverUntilItReportsFailed) {
  fence_.SetMember("a", View("shop", "healthy"));  // a's daemon is alive and sees shop healthy
  std::unique_ptr<Daemon> d = Make(Options({"b"}));
  ASSERT_NE(d, nullptr);
  down_ = true;  // but b cannot reach it
  d->Tick();
  Step(*d, 30);
  Step(*d, 30);  // declared failed here
  EXPECT_EQ(Failovers(), 0u);
  EXPECT_NE(LogText().find("service shop: not failing over: site a still sees it healthy"),
            std::string::npos)
      << LogText();
  Step(*d, 30);
  EXPECT_EQ(Failovers(), 0u);
  // a's daemon declares it too: the next round fails it over.
  fence_.SetMember("a", View("shop", "failed"));
  Step(*d, 30);
  ASSERT_EQ(Failovers(), 1u);
  EXPECT_NE(LogText().find("failing over to b now: site a's daemon (other:a) reports it failed"),
            std::string::npos)
      << LogText();
  Step(*d, 30);
  EXPECT_EQ(Failovers(), 1u);  // once
}

TEST_F(DaemonFailoverTest, ActiveSiteMemberGoneFailsOver) {
  std::unique_ptr<Daemon> d = Make(Options({"b"}));  // no member for a
  ASSERT_NE(d, nullptr);
  down_ = true;
  d->Tick();
  Step(*d, 30);
  Step(*d, 30);
  ASSERT_EQ(Failovers(), 1u);
  EXPECT_NE(LogText().find("service shop: failing over to b: site a has no daemon (its member "
                           "key is gone)"),
            std::string::npos)
      << LogText();
}

TEST_F(DaemonFailoverTest, ActiveSiteMemberReportingFailedFailsOverAtOnce) {
  fence_.SetMember("a", View("shop", "failed"));
  std::unique_ptr<Daemon> d = Make(Options({"b"}));
  ASSERT_NE(d, nullptr);
  down_ = true;
  d->Tick();
  Step(*d, 30);
  Step(*d, 30);
  ASSERT_EQ(Failovers(), 1u);
}

TEST_F(DaemonFailoverTest, MemberGoneWhileHeldFailsOverAtTheNextRound) {
  fence_.SetMember("a", View("shop", "healthy"));
  std::unique_ptr<Daemon> d = Make(Options({"b"}));
  ASSERT_NE(d, nullptr);
  down_ = true;
  d->Tick();
  Step(*d, 30);
  Step(*d, 30);
  EXPECT_EQ(Failovers(), 0u);
  fence_.RemoveMember("a");  // a's daemon died (its lease expired)
  Step(*d, 30);
  EXPECT_EQ(Failovers(), 1u);
}

TEST_F(DaemonFailoverTest, CommitAfterHealthyRoundsAndAFailedRoundRestartsTheWait) {
  commit_after_ = 90;
  WriteIncident();
  std::unique_ptr<Daemon> d = Make(Options({"a", "b"}));
  ASSERT_NE(d, nullptr);
  d->Tick();  // t=0: healthy round; the wait starts
  d->WaitIdle();
  EXPECT_NE(d->Snapshot().commit_wait_since_ns, 0);
  Step(*d, 30);
  Step(*d, 30);  // t=60
  EXPECT_EQ(IncidentStateNow(), "open");
  down_ = true;
  Step(*d, 30);  // t=90: a failed round: the wait starts again
  EXPECT_EQ(IncidentStateNow(), "open");
  EXPECT_EQ(d->Snapshot().commit_wait_since_ns, 0);
  EXPECT_NE(LogText().find("failed a health check (tcp 127.0.0.1:8080: connection refused): the "
                           "wait of commit_after starts again"),
            std::string::npos)
      << LogText();
  down_ = false;
  Step(*d, 30);  // t=120: healthy again, the wait starts
  Step(*d, 30);
  Step(*d, 30);  // t=180
  EXPECT_EQ(IncidentStateNow(), "open");
  Step(*d, 30);  // t=210: 90 s healthy
  EXPECT_EQ(IncidentStateNow(), "committed");
  EXPECT_EQ(d->Snapshot().commits, 1u);
  EXPECT_NE(LogText().find("committed (failover.commit_after)"), std::string::npos) << LogText();
  Step(*d, 30);
  EXPECT_EQ(d->Snapshot().commits, 1u);
}

TEST_F(DaemonFailoverTest, NoCommitWithoutCommitAfter) {
  WriteIncident();
  std::unique_ptr<Daemon> d = Make(Options({"a", "b"}));
  ASSERT_NE(d, nullptr);
  d->Tick();
  for (int i = 0; i < 20; ++i) Step(*d, 30);
  EXPECT_EQ(IncidentStateNow(), "open");
}

TEST_F(DaemonFailoverTest, DashboardServedByTheDaemon) {
  WriteIncident();
  DaemonOptions o = Options({"a", "b"});
  o.serve_dashboard = true;
  o.listen = "127.0.0.1:0";
  std::unique_ptr<Daemon> d = Make(std::move(o));
  ASSERT_NE(d, nullptr);
  d->Tick();
  d->WaitIdle();
  const std::string url = d->Snapshot().dashboard_url;
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  httplib::Client c("127.0.0.1", port);
  httplib::Result r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  ASSERT_EQ(j["daemon"]["health"].size(), 1u) << r->body;
  EXPECT_EQ(j["daemon"]["health"][0]["service"], "shop");
  EXPECT_EQ(j["daemon"]["health"][0]["state"], "healthy");
  EXPECT_EQ(j["daemon"]["sites"], json({"a", "b"}));
  EXPECT_EQ(j["incident"]["id"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(j["incident"]["state"], "open");
  EXPECT_EQ(j["incident"]["to"], "b");
  EXPECT_EQ(j["incident"]["declared_by"], "daemon b: 3 failed health checks of shop");
  // Operations: without a token refused, with the operate token done on the worker.
  httplib::Result refused = c.Post("/api/v1/failover/commit", "{}", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401) << refused->body;
  EXPECT_EQ(IncidentStateNow(), "open");
  httplib::Result wrong =
      c.Post("/api/v1/failover/commit", {{"Authorization", "Bearer not-the-token"}}, "{}",
             "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  httplib::Result done =
      c.Post("/api/v1/failover/commit", {{"Authorization", "Bearer operate-secret"}}, "{}",
             "application/json");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200) << done->body;
  EXPECT_EQ(json::parse(done->body)["incident"]["state"], "committed") << done->body;
  EXPECT_EQ(IncidentStateNow(), "committed");
  r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["incident"]["state"], "committed");
  // Shutdown stops serving.
  d->Shutdown();
  EXPECT_FALSE(httplib::Client("127.0.0.1", port).Get("/api/v1/status"));
}

}  // namespace
}  // namespace lifeboat::daemon
