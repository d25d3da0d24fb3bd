// The daemon's loop driven by hand with a ManualClock (daemon.h): health-check counting, a
// declaration made once per series, the failover callback only for automatic policies whose
// target is one of the daemon's sites, nothing while the fence says not acting (and lease_lost
// logged once), a rejected reload keeping the old plan, a schedule's RunPlan started once per
// minute at most, services active elsewhere left alone, Stop cancelling the running job; and the
// production probe against a real local listener.
#include "daemon/daemon.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>

#include "daemon/fake_fence.h"
#include "daemon/test_listener.h"
#include "dr/incident_state.h"
#include "plan/validate.h"

namespace lifeboat::daemon {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kSecond = 1'000'000'000;

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lifeboat-daemon-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Three sites, services: shop (automatic, to b), manual (automatic: false, to b), far (to c),
  // plain (no failover). Each watched service has one tcp check.
  std::string Yaml() const {
    std::string y = "version: 1\nsites:\n";
    for (const char* s : {"a", "b", "c"}) {
      y += std::string("  ") + s + ":\n    repository: " + (dir_ / "sites" / s).string() +
           "\n    password_file: " + (dir_ / "pw").string() + "\n";
      if (std::string(s) == "c") y += "    recovery_root: " + (dir_ / "root-c").string() + "\n";
    }
    y += "services:\n";
    for (const char* s : {"shop", "manual", "far", "plain"}) {
      y += std::string("  ") + s +
           ":\n    tier: 2\n    rpo: 1h\n    schedule: '*/5 * * * *'\n    sites: [a, b, c]\n"
           "    sources:\n      - paths: [" +
           (dir_ / "data").string() + "]\n";
      if (std::string(s) != "plain") {
        y += "    verify:\n      - tcp: {port: 8080}\n";
      }
    }
    return y;
  }

  // The plan with failover policies set as the plan's `failover` key would (parsed elsewhere).
  Result<plan::LoadedPlan> LoadPlanText(const std::string&) {
    if (fail_loads_) return Status::InvalidArgument("lifeboat.yaml:3:1: error: broken on purpose");
    plan::LoadedPlan loaded = plan::CheckPlanText(Yaml(), (dir_ / "lifeboat.yaml").string());
    for (const plan::Diagnostic& d : loaded.diagnostics) EXPECT_FALSE(d.is_error()) << d.ToString();
    for (plan::Service& s : loaded.plan.services) {
      plan::FailoverPolicy p;
      p.interval = std::chrono::seconds(30);
      p.failures_before_failover = 3;
      if (s.name == "shop") p.to = "b";
      if (s.name == "manual") {
        p.to = "b";
        p.automatic = false;
      }
      if (s.name == "far") p.to = "c";
      if (s.name != "plain") s.failover = p;
    }
    if (extra_service_) {
      plan::Service extra = loaded.plan.services.front();  // shop's copy, watched
      extra.name = "extra";
      loaded.plan.services.push_back(extra);
    }
    return loaded;
  }

  DaemonOptions Options() {
    DaemonOptions o;
    o.plan_path = (dir_ / "lifeboat.yaml").string();
    o.state_dir = (dir_ / "state").string();
    o.sites = {"a", "b"};
    o.context = Context().WithClock(clock_);
    o.fence = &fence_;
    o.load_plan = [this](const std::string& p) { return LoadPlanText(p); };
    o.probe = [this](const plan::Plan&, const plan::Service& s, const plan::VerifyCheck&,
                     const Context&) -> Status {
      ++probes_;
      if (down_.count(s.name)) return Status::Unavailable("connection refused");
      return Status::Ok();
    };
    o.run_plan = [this](const plan::Plan& p, const dr::RunOptions& ro) -> Result<dr::RunReport> {
      ++runs_;
      run_services_ = ro.services;
      run_read_roots_ = ro.read_roots;
      run_first_sites_.clear();
      for (const std::string& name : ro.services) {
        run_first_sites_[name] = p.FindService(name)->sites.front().name;
      }
      if (block_runs_) {
        while (!ro.context.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      dr::RunReport r;
      r.run_id = "0123456789abcdef0123456789abcdef";
      for (const std::string& name : ro.services) {
        dr::ServiceReport s;
        s.name = name;
        s.tier = p.FindService(name)->tier;
        if (report_ran_) {
          s.state = dr::ServiceState::kRan;  // ran now: its next due time is not reported
          s.start_ns = ro.context.clock().WallNs();
        } else {
          s.state = dr::ServiceState::kNotDue;
          s.next_due_ns = ro.context.clock().WallNs() + 5 * 60 * kSecond;
        }
        r.services.push_back(s);
      }
      return r;
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
    EXPECT_TRUE((*d)->Start().ok());
    return std::move(*d);
  }

  void Step(Daemon& d, int64_t seconds) {
    clock_.Advance(seconds * kSecond);
    d.Tick();
    d.WaitIdle();
  }

  static const ServiceHealth* Health(const DaemonSnapshot& s, const std::string& name) {
    for (const ServiceHealth& h : s.health) {
      if (h.service == name) return &h;
    }
    return nullptr;
  }

  std::vector<FailoverRequest> Failovers() {
    MutexLock l(&mu_);
    return failovers_;
  }
  std::string LogText() {
    MutexLock l(&mu_);
    return log_;
  }

  fs::path dir_;
  ManualClock clock_;
  FakeFence fence_;
  std::set<std::string> down_;
  bool fail_loads_ = false;
  bool extra_service_ = false;
  std::atomic<bool> block_runs_{false};
  std::atomic<bool> report_ran_{false};
  std::atomic<int> probes_{0};
  std::atomic<int> runs_{0};
  std::vector<std::string> run_services_;
  std::map<std::string, std::string> run_read_roots_;
  std::map<std::string, std::string> run_first_sites_;  // service -> first site RunPlan saw
  Mutex mu_;
  std::vector<FailoverRequest> failovers_ GUARDED_BY(mu_);
  std::string log_ GUARDED_BY(mu_);
};

TEST(RecordRoundTest, CountsDeclaresOnceAndResets) {
  ServiceHealth h;
  EXPECT_FALSE(RecordRound(&h, Status::Unavailable("x"), 10, 3));
  EXPECT_EQ(h.state, HealthState::kFailing);
  EXPECT_EQ(h.first_failure_ns, 10);
  EXPECT_FALSE(RecordRound(&h, Status::Unavailable("y"), 20, 3));
  EXPECT_TRUE(RecordRound(&h, Status::Unavailable("z"), 30, 3));
  EXPECT_EQ(h.state, HealthState::kFailed);
  EXPECT_EQ(h.consecutive_failures, 3);
  EXPECT_EQ(h.declared_ns, 30);
  EXPECT_EQ(h.first_failure_ns, 10);
  EXPECT_EQ(h.last_error, "z");
  EXPECT_FALSE(RecordRound(&h, Status::Unavailable("again"), 40, 3));  // once per series
  EXPECT_EQ(h.consecutive_failures, 4);
  EXPECT_FALSE(RecordRound(&h, Status::Ok(), 50, 3));
  EXPECT_EQ(h.state, HealthState::kHealthy);
  EXPECT_EQ(h.consecutive_failures, 0);
  EXPECT_EQ(h.first_failure_ns, 0);
  EXPECT_TRUE(RecordRound(&h, Status::Unavailable("a"), 60, 1));  // threshold 1: at once
  EXPECT_EQ(h.state, HealthState::kFailed);
}

TEST_F(DaemonTest, HealthRoundsCountDeclareOnceAndReset) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  down_ = {"shop"};
  const int64_t first = clock_.WallNs();
  d->Tick();
  d->WaitIdle();
  DaemonSnapshot s = d->Snapshot();
  ASSERT_NE(Health(s, "shop"), nullptr);
  EXPECT_EQ(Health(s, "plain"), nullptr);  // no failover policy: not watched
  EXPECT_EQ(Health(s, "shop")->state, HealthState::kFailing);
  EXPECT_EQ(Health(s, "shop")->consecutive_failures, 1);
  EXPECT_EQ(Health(s, "shop")->last_error, "tcp 127.0.0.1:8080: connection refused");
  EXPECT_EQ(Health(s, "shop")->last_check_ns, first);
  EXPECT_EQ(Health(s, "shop")->next_due_ns, first + 30 * kSecond);
  EXPECT_EQ(Health(s, "manual")->state, HealthState::kHealthy);
  // Less than the interval later: no round.
  const int probes = probes_;
  Step(*d, 10);
  EXPECT_EQ(probes_, probes);
  Step(*d, 20);  // 30 s: the second round
  EXPECT_EQ(Health(d->Snapshot(), "shop")->consecutive_failures, 2);
  EXPECT_TRUE(Failovers().empty());
  Step(*d, 30);  // the third failed round declares it
  s = d->Snapshot();
  EXPECT_EQ(Health(s, "shop")->state, HealthState::kFailed);
  ASSERT_EQ(Failovers().size(), 1u);
  EXPECT_EQ(Failovers()[0].service, "shop");
  EXPECT_EQ(Failovers()[0].to_site, "b");
  EXPECT_EQ(Failovers()[0].failure_ns, first);
  EXPECT_NE(Failovers()[0].reason.find("3 failed health checks of shop"), std::string::npos);
  Step(*d, 30);  // still failing: not declared again
  Step(*d, 30);
  EXPECT_EQ(Health(d->Snapshot(), "shop")->consecutive_failures, 5);
  EXPECT_EQ(Failovers().size(), 1u);
  // A passing round resets; three more failures declare it again.
  down_.clear();
  Step(*d, 30);
  EXPECT_EQ(Health(d->Snapshot(), "shop")->state, HealthState::kHealthy);
  EXPECT_EQ(Health(d->Snapshot(), "shop")->consecutive_failures, 0);
  down_ = {"shop"};
  Step(*d, 30);
  Step(*d, 30);
  EXPECT_EQ(Failovers().size(), 1u);
  Step(*d, 30);
  EXPECT_EQ(Failovers().size(), 2u);
  EXPECT_NE(LogText().find("service shop declared FAILED"), std::string::npos) << LogText();
  // The health view went to the fence.
  EXPECT_GT(fence_.reports(), 0);
  EXPECT_EQ(fence_.health()["services"].size(), 3u);
}

TEST_F(DaemonTest, FailoverOnlyForAutomaticPoliciesTargetingOurSites) {
  std::unique_ptr<Daemon> d = Make(Options());  // sites a, b
  ASSERT_NE(d, nullptr);
  down_ = {"shop", "manual", "far"};
  d->Tick();
  Step(*d, 30);
  Step(*d, 30);
  DaemonSnapshot s = d->Snapshot();
  for (const char* name : {"shop", "manual", "far"}) {
    EXPECT_EQ(Health(s, name)->state, HealthState::kFailed) << name;
  }
  ASSERT_EQ(Failovers().size(), 1u);
  EXPECT_EQ(Failovers()[0].service, "shop");
  const std::string log = LogText();
  EXPECT_NE(log.find("service manual: no automatic failover: its failover policy is not automatic"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("service far: no automatic failover: its failover site c is not one of this "
                     "daemon's sites"),
            std::string::npos)
      << log;
}

TEST_F(DaemonTest, NoFailoverWhenAlreadyActiveAtTheTarget) {
  fence_.SetActive("shop", "b");
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  down_ = {"shop"};
  d->Tick();
  Step(*d, 30);
  Step(*d, 30);
  EXPECT_TRUE(Failovers().empty());
  EXPECT_NE(LogText().find("it is active at b already"), std::string::npos) << LogText();
}

TEST_F(DaemonTest, NotActingDoesNothingAndSaysSoOnce) {
  fence_.SetActing(false, "lease not renewed for 21 s");
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  down_ = {"shop"};
  for (int i = 0; i < 10; ++i) Step(*d, 30);
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(probes_, 0);
  EXPECT_TRUE(Failovers().empty());
  DaemonSnapshot s = d->Snapshot();
  EXPECT_FALSE(s.acting);
  EXPECT_EQ(s.not_acting_reason, "lease not renewed for 21 s");
  const std::string log = LogText();
  const size_t at = log.find("stopped acting: lease not renewed for 21 s");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_EQ(log.find("stopped acting", at + 1), std::string::npos) << log;  // once
  // Acting again: it works.
  fence_.SetActing(true);
  Step(*d, 10);
  EXPECT_EQ(runs_, 1);
  EXPECT_GT(probes_, 0);
  EXPECT_TRUE(d->Snapshot().acting);
  EXPECT_NE(LogText().find("acting again"), std::string::npos);
}

TEST_F(DaemonTest, LosingTheLeaseCancelsTheRunningJob) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  block_runs_ = true;
  d->Tick();  // starts a RunPlan that blocks until cancelled
  while (d->Snapshot().current_job.empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  fence_.SetActing(false, "etcd unreachable");
  clock_.Advance(10 * kSecond);
  d->Tick();
  d->WaitIdle();  // returns: the job saw its context cancelled
  EXPECT_EQ(runs_, 1);
  EXPECT_TRUE(d->Snapshot().current_job.empty());
}

TEST_F(DaemonTest, InvalidReloadKeepsTheOldPlan) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  d->Tick();
  fail_loads_ = true;
  d->Reload();
  Step(*d, 10);
  DaemonSnapshot s = d->Snapshot();
  EXPECT_EQ(s.schedules.size(), 4u);  // the old plan
  EXPECT_NE(s.last_reload_error.find("broken on purpose"), std::string::npos);
  EXPECT_NE(LogText().find("reload rejected, the plan loaded before is kept: "
                           "lifeboat.yaml:3:1: error: broken on purpose"),
            std::string::npos)
      << LogText();
  // The old plan keeps working: rounds go on.
  const int probes = probes_;
  Step(*d, 30);
  EXPECT_GT(probes_, probes);
  // A valid reload takes effect, and the schedules are asked about at once.
  fail_loads_ = false;
  extra_service_ = true;
  d->Reload();
  const int runs = runs_;
  Step(*d, 1);
  s = d->Snapshot();
  EXPECT_EQ(s.schedules.size(), 5u);
  EXPECT_TRUE(s.last_reload_error.empty());
  EXPECT_EQ(Health(s, "extra")->state, HealthState::kHealthy);
  EXPECT_EQ(runs_, runs + 1);
}

TEST_F(DaemonTest, RunPlanAtMostOncePerMinuteAndAtTheNextDueTime) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  d->Tick();
  d->WaitIdle();
  EXPECT_EQ(runs_, 1);
  EXPECT_EQ(run_services_, (std::vector<std::string>{"shop", "manual", "far", "plain"}));
  // Every 10 s for the next 4 min 50 s: the fake says "next due in 5 minutes".
  for (int i = 0; i < 29; ++i) Step(*d, 10);
  EXPECT_EQ(runs_, 1);
  Step(*d, 10);  // 5 minutes after the first run
  EXPECT_EQ(runs_, 2);
  DaemonSnapshot s = d->Snapshot();
  EXPECT_EQ(s.schedules[0].next_due_ns, clock_.WallNs() + 5 * 60 * kSecond);
  EXPECT_EQ(s.runs, 2u);
}

TEST_F(DaemonTest, AfterARunTheNextRunPlanIsInTheNextMinute) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  report_ran_ = true;
  clock_.Advance(5 * kSecond);  // 00:00:05
  d->Tick();
  d->WaitIdle();
  EXPECT_EQ(runs_, 1);
  for (int i = 0; i < 5; ++i) Step(*d, 10);  // up to 00:00:55: the same minute
  EXPECT_EQ(runs_, 1);
  Step(*d, 10);  // 00:01:05
  EXPECT_EQ(runs_, 2);
  EXPECT_EQ(d->Snapshot().schedules[0].last_state, "ran");
}

TEST_F(DaemonTest, ServicesActiveElsewhereAreNotRunHere) {
  fence_.SetActive("shop", "c");  // failed over to c: c's daemon backs it up
  DaemonOptions o = Options();
  std::unique_ptr<Daemon> d = Make(std::move(o));
  ASSERT_NE(d, nullptr);
  d->Tick();
  d->WaitIdle();
  EXPECT_EQ(run_services_, (std::vector<std::string>{"manual", "far", "plain"}));
  EXPECT_TRUE(run_read_roots_.empty());  // each active at its first site
  EXPECT_EQ(run_first_sites_["manual"], "a");
  DaemonSnapshot s = d->Snapshot();
  EXPECT_EQ(s.schedules[0].active_site, "c");
  EXPECT_FALSE(s.schedules[0].ours);
  // Daemon of site c only: it runs shop alone.
  d.reset();
  DaemonOptions oc = Options();
  oc.sites = {"c"};
  d = Make(std::move(oc));
  ASSERT_NE(d, nullptr);
  d->Tick();
  d->WaitIdle();
  EXPECT_EQ(run_services_, (std::vector<std::string>{"shop"}));
  // Backed up as it runs at c: from below c's recovery root, to c first (its first site a may be
  // the one that was lost).
  EXPECT_EQ(run_read_roots_,
            (std::map<std::string, std::string>{{"shop", (dir_ / "root-c").string()}}));
  EXPECT_EQ(run_first_sites_, (std::map<std::string, std::string>{{"shop", "c"}}));
}

// The incident that moved shop to c is open and shop's recovery there failed: what lies below
// c's recovery root is not shop's data, so the daemon of c does not back it up (dr/active_sites.h,
// the rule `lifeboat run` follows too), says so once, and backs it up once the incident ended.
TEST_F(DaemonTest, AServiceWhoseRecoveryFailedIsNotBackedUpAtItsActiveSite) {
  fence_.SetActive("shop", "c");
  dr::IncidentState inc;
  inc.id = "0123456789abcdef0123456789abcdef";
  inc.to_site = "c";
  dr::IncidentService failed;
  failed.service = "shop";
  failed.result = "failed";
  failed.from_site = "a";
  inc.services.push_back(failed);
  ASSERT_TRUE(dr::SaveIncidentState((dir_ / "state").string(), inc).ok());
  DaemonOptions oc = Options();
  oc.sites = {"c"};
  std::unique_ptr<Daemon> d = Make(std::move(oc));
  ASSERT_NE(d, nullptr);
  d->Tick();
  d->WaitIdle();
  EXPECT_EQ(runs_, 0);
  d->Tick();
  d->WaitIdle();
  const std::string log = LogText();
  const std::string said = "service shop: not backed up: active at c since incident";
  ASSERT_NE(log.find(said), std::string::npos) << log;
  EXPECT_EQ(log.find(said), log.rfind(said)) << "said once: " << log;
  inc.state = std::string(dr::kIncidentRolledBack);  // the incident ended
  ASSERT_TRUE(dr::SaveIncidentState((dir_ / "state").string(), inc).ok());
  d->Tick();
  d->WaitIdle();
  EXPECT_EQ(run_services_, (std::vector<std::string>{"shop"}));
}

TEST_F(DaemonTest, StopCancelsTheRunningJobAndLeavesTheFence) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(fence_.joins(), 1);
  block_runs_ = true;
  d->Tick();
  while (d->Snapshot().current_job.empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  d->Stop();
  d->Shutdown();  // returns: the run was cancelled
  EXPECT_EQ(fence_.leaves(), 1);
  const int runs = runs_;
  d->Tick();  // stopped: nothing
  EXPECT_EQ(runs_, runs);
}

TEST_F(DaemonTest, RunReturnsOnStopFromAnotherThread) {
  DaemonOptions o = Options();
  ManualClock real_time_like(1'767'225'600'000'000'000, /*auto_advance=*/false);
  o.context = Context().WithClock(real_time_like);
  Result<std::unique_ptr<Daemon>> d = Daemon::Create(std::move(o));
  ASSERT_TRUE(d.ok());
  std::thread stopper([&] {
    while ((*d)->Snapshot().ticks == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    (*d)->Reload();
    (*d)->Stop();
  });
  EXPECT_TRUE((*d)->Run().ok());  // waits on the clock until Stop wakes it
  stopper.join();
  EXPECT_TRUE((*d)->Snapshot().stopping);
}

TEST_F(DaemonTest, ASecondDaemonOnTheSamePlanAndStateIsRefused) {
  std::unique_ptr<Daemon> d = Make(Options());
  ASSERT_NE(d, nullptr);
  Result<std::unique_ptr<Daemon>> second = Daemon::Create(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kLocked);
  EXPECT_NE(second.status().message().find("another lifeboat daemon"), std::string::npos);
}

TEST_F(DaemonTest, UnknownSiteIsRefused) {
  DaemonOptions o = Options();
  o.sites = {"nowhere"};
  Result<std::unique_ptr<Daemon>> d = Daemon::Create(std::move(o));
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("--site nowhere"), std::string::npos);
}

TEST(ProbeTest, ProductionEndpointsOfARealListener) {
  TestListener server;
  ASSERT_TRUE(server.ok());
  plan::Plan p;
  plan::Service svc;
  svc.name = "web";
  plan::RecoverStep step;
  step.ports = {{"http", server.port()}};
  svc.recover.push_back(step);
  plan::VerifyCheck tcp;
  tcp.kind = plan::VerifyCheck::Kind::kTcp;
  tcp.port.number = server.port();
  plan::VerifyCheck http;
  http.kind = plan::VerifyCheck::Kind::kHttp;
  http.port.name = "http";  // the recover step's declared number
  http.expect_body = "ok";
  plan::VerifyCheck cmd;
  cmd.kind = plan::VerifyCheck::Kind::kCommand;
  cmd.run.argv = {"/bin/sh", "-c", "echo all good"};
  cmd.run.shell = true;
  cmd.expect_output = "good";
  plan::VerifyCheck files;  // skipped
  svc.verify = {tcp, http, cmd, files};
  const Context ctx;
  EXPECT_TRUE(RunHealthRound(p, svc, std::chrono::seconds(5), ProbeProductionCheck, ctx).ok());
  EXPECT_GE(server.served(), 2u);
  // A name no step declares.
  plan::Service bad = svc;
  bad.verify[1].port.name = "nope";
  Status st = RunHealthRound(p, bad, std::chrono::seconds(5), ProbeProductionCheck, ctx);
  EXPECT_NE(st.message().find("declares the port \"nope\""), std::string::npos) << st.ToString();
  // Closed: the round fails within its timeout, naming the endpoint.
  const int port = server.port();
  server.Close();
  st = RunHealthRound(p, svc, std::chrono::milliseconds(300), ProbeProductionCheck, ctx);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("tcp 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << st.ToString();
}

}  // namespace
}  // namespace lifeboat::daemon
