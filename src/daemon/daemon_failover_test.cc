// The daemon's incident work driven by hand with a ManualClock: the failover rule (the daemon of
// the recovery site fails over only when the active site's daemon is gone or reports the service
// failed too), failover.commit_after (a real dr::CommitFailover of an incident written to the
// state directory; a failed round restarts the wait), and the dashboard served by the daemon on
// a loopback port (GET /api/v1/status, POST /api/v1/failover/commit with and without the
// operate token); and real failovers (DrFailoverCallback) of a dependency declared failed a round
// before its dependent, which join one incident.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "daemon/daemon.h"
#include "daemon/failover_job.h"
#include "daemon/failover_rule.h"
#include "daemon/fake_fence.h"
#include "dr/incident_state.h"
#include "plan/validate.h"
#include "recover/recover_test_util.h"
#include "util/free_port_for_test.h"

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

// The daemon of site b with real failovers (DrFailoverCallback over local sites made by plan init
// and filled by run) of db and web, which depends on db; health rounds on a ManualClock, the
// recoveries on real time (their steps' timeouts, their checks' retries).
class DaemonJoinTest : public recover::testing::RecoverFixture {
 protected:
  void TearDown() override {
    Result<std::optional<dr::IncidentState>> s = dr::LoadIncidentState(StateDir());
    if (s.ok() && *s) recover::StopLeftRunning((*s)->left_running, std::chrono::seconds(2));
    RecoverFixture::TearDown();
  }

  std::string StateDir() const { return (dir_ / "state").string(); }
  std::string Root() const { return (dir_ / "root-b").string(); }

  // db serves its data with python3's http.server; web fetches db's page at db's production port
  // (LIFEBOAT_PORT_DB_HTTP) into its directory and serves that.
  std::string Yaml() {
    const fs::path data = dir_ / "data";
    recover::testing::WriteFile(data / "db" / "db.txt", "rows of the db\n");
    recover::testing::WriteFile(data / "web" / "index.html", "the web page\n");
    recover::testing::WriteFile(
        dir_ / "fetch.py",
        "import sys, urllib.request\n"
        "open(sys.argv[2], 'wb').write(urllib.request.urlopen(sys.argv[1], timeout=10).read())\n");
    auto server = [&](const std::string& name, int port) {
      return "      - command: \"exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "
             "$LIFEBOAT_PORT_HTTP --directory $LIFEBOAT_RESTORE_DIR" +
             (data / name).string() +
             "\"\n        background: true\n        ports: {http: " + std::to_string(port) +
             "}\n        timeout: 30s\n";
    };
    const std::string policy =
        "    failover: {to: b, interval: 30s, failures_before_failover: 3}\n";
    return "version: 1\nsites:\n" + Site("a") + Site("b") + "    recovery_root: " + Root() +
           "\nservices:\n"
           "  db:\n    tier: 1\n    rpo: 1h\n    sources:\n      - paths: [" +
           (data / "db").string() + "]\n    sites: [a, b]\n" + policy + "    recover:\n" +
           server("db", db_port_) +
           "    verify:\n      - http: {port: http, path: /db.txt, expect_body: \"rows\"}\n"
           "  web:\n    tier: 2\n    rpo: 1h\n    depends_on: [db]\n    sources:\n"
           "      - paths: [" +
           (data / "web").string() + "]\n    sites: [a, b]\n" + policy + "    recover:\n" +
           "      - command: \"/usr/bin/python3 " + (dir_ / "fetch.py").string() +
           " http://127.0.0.1:$LIFEBOAT_PORT_DB_HTTP/db.txt $LIFEBOAT_RESTORE_DIR" +
           (data / "web" / "from-db.txt").string() + "\"\n" + server("web", web_port_) +
           "    verify:\n"
           "      - http: {port: http, path: /from-db.txt, expect_body: \"rows of the db\"}\n";
  }

  std::unique_ptr<Daemon> Make() {
    DaemonOptions o;
    o.plan_path = (dir_ / "lifeboat.yaml").string();
    o.state_dir = StateDir();
    o.sites = {"b"};
    o.host = "testhost";
    o.context = Context().WithClock(clock_);
    o.fence = &fence_;
    o.load_plan = [this](const std::string&) -> Result<plan::LoadedPlan> {
      plan::LoadedPlan loaded = plan::CheckPlanText(yaml_, (dir_ / "lifeboat.yaml").string());
      for (const plan::Diagnostic& d : loaded.diagnostics) {
        EXPECT_FALSE(d.is_error()) << d.ToString();
      }
      return loaded;
    };
    o.probe = [this](const plan::Plan&, const plan::Service& svc, const plan::VerifyCheck&,
                     const Context&) -> Status {
      MutexLock l(&mu_);
      if (down_.count(svc.name)) return Status::Unavailable("connection refused");
      return Status::Ok();
    };
    o.run_plan = [](const plan::Plan&, const dr::RunOptions&) -> Result<dr::RunReport> {
      return dr::RunReport{};
    };
    IncidentJobOptions jobs;
    jobs.fence = &fence_;
    jobs.state_dir = StateDir();
    jobs.host = "testhost";
    jobs.on_line = [this](const std::string& line) {
      MutexLock l(&mu_);
      log_ += line + "\n";
    };
    FailoverCallback real = DrFailoverCallback(jobs);
    o.failover = [real](const FailoverRequest& r, const Context&) { return real(r, Context()); };
    o.on_line = jobs.on_line;
    Result<std::unique_ptr<Daemon>> d = Daemon::Create(std::move(o));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (!d.ok()) return nullptr;
    Status started = (*d)->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
    return std::move(*d);
  }

  void Down(const std::string& service) {
    MutexLock l(&mu_);
    down_.insert(service);
  }
  void Step(Daemon& d) {
    clock_.Advance(30 * kSecond);
    d.Tick();
    d.WaitIdle();
  }
  std::string LogText() {
    MutexLock l(&mu_);
    return log_;
  }

  int db_port_ = lifeboat::testing::FreeLoopbackPort(),
      web_port_ = lifeboat::testing::FreeLoopbackPort();
  std::string yaml_;
  ManualClock clock_;
  FakeFence fence_;
  Mutex mu_;
  std::set<std::string> down_ GUARDED_BY(mu_);
  std::string log_ GUARDED_BY(mu_);
};

// db's health checks fail a round before web's: db is declared (and failed over) alone, web a
// round later; web's failover joins db's open incident instead of being refused, so both end up
// active at b in one incident.
TEST_F(DaemonJoinTest, ADependencyDeclaredARoundBeforeItsDependentEndsInOneIncidentWithIt) {
  yaml_ = Yaml();
  plan::Plan plan = Load(yaml_);
  Backup(plan);
  std::unique_ptr<Daemon> d = Make();
  ASSERT_NE(d, nullptr);
  Down("db");
  d->Tick();  // t=0: db fails (1)
  d->WaitIdle();
  Down("web");
  Step(*d);  // t=30: db (2), web (1)
  Step(*d);  // t=60: db (3): declared, failed over alone
  Result<std::optional<dr::IncidentState>> first = dr::LoadIncidentState(StateDir());
  ASSERT_TRUE(first.ok() && *first) << LogText();
  ASSERT_EQ((*first)->services.size(), 1u) << LogText();
  EXPECT_EQ((*first)->services[0].service, "db");
  EXPECT_EQ((*first)->services[0].result, "recovered") << LogText();
  Step(*d);  // t=90: web (3): declared; its failover joins db's incident
  Result<std::optional<dr::IncidentState>> inc = dr::LoadIncidentState(StateDir());
  ASSERT_TRUE(inc.ok() && *inc);
  EXPECT_EQ((*inc)->id, (*first)->id);
  EXPECT_EQ((*inc)->state, "open");
  ASSERT_EQ((*inc)->services.size(), 2u) << LogText();
  for (const dr::IncidentService& s : (*inc)->services) {
    EXPECT_EQ(s.result, "recovered") << s.service << ": " << s.error << "\n" << LogText();
  }
  EXPECT_EQ((*inc)->services[1].service, "web");
  EXPECT_EQ(recover::testing::ReadFile(Root() + (dir_ / "data" / "web" / "from-db.txt").string()),
            "rows of the db\n");
  Result<std::unique_ptr<fence::FenceAction>> action = fence_.BeginAction(Context());
  ASSERT_TRUE(action.ok());
  for (const char* name : {"db", "web"}) {
    Result<fence::ActiveSite> a = (*action)->Active(name);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->site, "b") << name;
    EXPECT_EQ(a->incident, (*first)->id) << name;
  }
  action->reset();
  EXPECT_NE(LogText().find("failover of web to b joined incident " + (*first)->id),
            std::string::npos)
      << LogText();
  EXPECT_EQ(LogText().find("is still open"), std::string::npos) << LogText();
}

}  // namespace
}  // namespace lifeboat::daemon
