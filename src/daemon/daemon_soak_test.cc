// The daemon over a real plan (a local site, a small paths source, a schedule every 5 minutes,
// health checks every 30 s against a local TCP/HTTP listener) with real RunPlan calls, driven
// through 25 hours of ManualClock time (1 hour to warm up, then 24 measured): exactly one
// snapshot per due time, no file descriptor more at the end than at the start, and the growth of
// the resident set reported (and bounded generously). Plus the run journal a killed daemon
// leaves: what it stored is not backed up again for the same due time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "daemon/daemon.h"
#include "daemon/fake_fence.h"
#include "daemon/test_listener.h"
#include "dr/plan_init.h"
#include "dr/sites.h"
#include "engine/open.h"
#include "repository/keys.h"

namespace lifeboat::daemon {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kSecond = 1'000'000'000;

size_t OpenFds() {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

// VmRSS of /proc/self/status, in KiB.
long RssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class DaemonSoakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KdfParams kdf;
    kdf.n = 1024;
    SetKdfParamsOverrideForTesting(kdf);
    dir_ = fs::temp_directory_path() /
           ("lifeboat-daemon-soak-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "pw") << "soak-password\n";
    std::ofstream(dir_ / "data" / "file.txt") << "hello\n";
    ASSERT_TRUE(server_.ok());
  }
  void TearDown() override {
    SetKdfParamsOverrideForTesting(std::nullopt);
    fs::remove_all(dir_);
  }

  std::string Yaml() const {
    const std::string port = std::to_string(server_.port());
    return "version: 1\nsites:\n  a:\n    repository: " + (dir_ / "sites" / "a").string() +
           "\n    password_file: " + (dir_ / "pw").string() +
           "\nservices:\n  web:\n    tier: 2\n    rpo: 1h\n    schedule: '*/5 * * * *'\n"
           "    sites: [a]\n    sources:\n      - paths: [" +
           (dir_ / "data").string() +
           "]\n"
           "    recover:\n      - command: 'true'\n        ports: {http: " +
           port +
           "}\n"
           "    verify:\n      - tcp: {port: http}\n"
           "      - http: {port: http, path: /, expect_body: ok}\n";
  }

  Result<plan::LoadedPlan> Load(const std::string&) {
    plan::LoadedPlan loaded = plan::CheckPlanText(Yaml(), (dir_ / "lifeboat.yaml").string());
    for (const plan::Diagnostic& d : loaded.diagnostics) EXPECT_FALSE(d.is_error()) << d.ToString();
    plan::FailoverPolicy p;  // as the plan's `failover` key would say (parsed elsewhere)
    p.interval = std::chrono::seconds(30);
    p.timeout = std::chrono::seconds(5);
    loaded.plan.services[0].failover = p;
    loaded.plan.daemon.loop_wait = loop_wait_;
    return loaded;
  }

  DaemonOptions Options() {
    DaemonOptions o;
    o.plan_path = (dir_ / "lifeboat.yaml").string();
    o.state_dir = (dir_ / "state").string();
    o.cache_path = (dir_ / "cache" / "status.sqlite3").string();
    o.context = Context().WithClock(clock_);
    o.fence = &fence_;
    o.host = "soakhost";
    o.load_plan = [this](const std::string& p) { return Load(p); };
    o.on_line = [this](const std::string& line) { log_ += line + "\n"; };
    return o;
  }

  void InitSite() {
    Result<plan::LoadedPlan> p = Load("");
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(dr::InitPlanSites(p->plan, {}).ok());
  }

  size_t Snapshots(const std::string& service) {
    OpenOptions o;
    o.location = (dir_ / "sites" / "a").string();
    o.password = PasswordSource::Value("soak-password");
    o.lock = std::nullopt;
    Result<OpenedRepository> r = OpenRepository(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    auto list = r->repo->ListSnapshots();
    EXPECT_TRUE(list.ok());
    size_t n = 0;
    for (const auto& [id, s] : *list) n += s.service == service ? 1 : 0;
    return n;
  }

  fs::path dir_;
  ManualClock clock_;  // 2026-01-01T00:00:00Z
  FakeFence fence_;
  TestListener server_;
  std::chrono::seconds loop_wait_{10};
  std::string log_;  // written by the loop and worker threads one at a time (Tick, WaitIdle)
};

TEST_F(DaemonSoakTest, TwentyFourHoursOfScheduleWithoutLeaks) {
  InitSite();
  Result<std::unique_ptr<Daemon>> made = Daemon::Create(Options());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Daemon& d = **made;
  ASSERT_TRUE(d.Start().ok());
  const int64_t loop_ns = loop_wait_.count() * kSecond;
  const auto real_start = std::chrono::steady_clock::now();
  int64_t ticks = 0;
  auto drive = [&](int64_t hours) {
    const int64_t n = hours * 3600 * kSecond / loop_ns;
    for (int64_t i = 0; i < n; ++i) {
      clock_.Advance(loop_ns);
      d.Tick();
      d.WaitIdle();
      ++ticks;
      // The data changes every half hour, so the backups have something new now and then.
      if (ticks % (1800 * kSecond / loop_ns) == 0) {
        std::ofstream(dir_ / "data" / "file.txt", std::ios::app) << "tick " << ticks << "\n";
      }
    }
  };
  drive(1);  // warm-up: caches, the status cache, the first snapshot
  const size_t fds_before = OpenFds();
  const long rss_before = RssKib();
  const uint64_t served_before = server_.served();
  drive(24);
  const size_t fds_after = OpenFds();
  const long rss_after = RssKib();
  const double real_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start).count();
  DaemonSnapshot s = d.Snapshot();
  d.Shutdown();

  // One snapshot per due time: the first at the first tick (never backed up), then one at every
  // 5-minute mark up to and including the last tick, 25 h after the start.
  const int64_t simulated = ticks * loop_ns / kSecond;
  const size_t expected = 1 + static_cast<size_t>(simulated / 300);
  EXPECT_EQ(Snapshots("web"), expected) << log_.substr(log_.size() > 4000 ? log_.size() - 4000 : 0);
  ASSERT_EQ(s.health.size(), 1u);
  EXPECT_EQ(s.health[0].state, HealthState::kHealthy) << s.health[0].last_error;
  EXPECT_EQ(s.health[0].rounds, static_cast<uint64_t>(simulated / 30));
  EXPECT_GE(server_.served() - served_before, 2u * 24 * 120);  // tcp + http every 30 s
  EXPECT_EQ(s.last_run_exit, 0);

  std::cout << "[ soak ] " << ticks << " ticks (" << simulated / 3600 << " h of ManualClock, loop "
            << loop_wait_.count() << " s), " << s.runs << " RunPlan calls, " << expected
            << " snapshots, " << s.health[0].rounds << " health rounds in " << real_seconds
            << " s real time\n"
            << "[ soak ] open fds after warm-up " << fds_before << ", after 24 h " << fds_after
            << "; VmRSS after warm-up " << rss_before << " KiB, after 24 h " << rss_after
            << " KiB (growth " << (rss_after - rss_before) << " KiB)\n";
  RecordProperty("fds_before", static_cast<int>(fds_before));
  RecordProperty("fds_after", static_cast<int>(fds_after));
  RecordProperty("rss_growth_kib", static_cast<int>(rss_after - rss_before));
  EXPECT_EQ(fds_after, fds_before);
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "the resident set grew by more than 64 MiB";
}

TEST_F(DaemonSoakTest, AJournalLeftByAKilledDaemonHoldsWhatItStored) {
  InitSite();
  // A first daemon backs web up at 00:00:10...
  {
    Result<std::unique_ptr<Daemon>> made = Daemon::Create(Options());
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ASSERT_TRUE((*made)->Start().ok());
    clock_.Advance(10 * kSecond);
    (*made)->Tick();
    (*made)->WaitIdle();
  }
  ASSERT_EQ(Snapshots("web"), 1u);
  // ... and a second one is killed at 00:05:00 after storing its snapshot but before its run
  // records: made here by a backup outside any record, and the journal it would have left.
  clock_.Advance(290 * kSecond);  // 00:05:00
  {
    RunJournal j;
    j.running = true;
    j.start_ns = clock_.WallNs();
    j.services = {"web"};
    Result<plan::LoadedPlan> p = Load("");
    ASSERT_TRUE(p.ok());
    dr::RunOptions ro;
    ro.state_dir = (dir_ / "other-state").string();  // its records are dropped below
    ro.context = Context().WithClock(clock_);
    ro.now = true;
    ASSERT_TRUE(dr::RunPlan(p->plan, ro).ok());
    ASSERT_EQ(Snapshots("web"), 2u);
    // This run wrote its record (a killed one would not have): what is checked below is that the
    // daemon, given the journal, does not even hand web to RunPlan before its next due time.
    ASSERT_TRUE(WriteRunJournal(
                    RunJournalPath((dir_ / "state").string(), (dir_ / "lifeboat.yaml").string()), j)
                    .ok());
  }
  clock_.Advance(20 * kSecond);
  Result<std::unique_ptr<Daemon>> made = Daemon::Create(Options());
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE((*made)->Start().ok());
  (*made)->Tick();
  (*made)->WaitIdle();
  DaemonSnapshot s = (*made)->Snapshot();
  ASSERT_EQ(s.schedules.size(), 1u);
  const int64_t t0 = 1'767'225'600'000'000'000;                 // the ManualClock's start, 00:00:00
  EXPECT_EQ(s.schedules[0].held_until_ns, t0 + 600 * kSecond);  // the next firing: 00:10:00
  EXPECT_EQ(s.runs, 0u);  // web held, nothing else to run: no RunPlan at all
  EXPECT_NE(log_.find("was stored by the interrupted run"), std::string::npos) << log_;
  EXPECT_EQ(Snapshots("web"), 2u);
  // At 00:10 the hold ends and the schedule goes on.
  for (int i = 0; i < 28; ++i) {
    clock_.Advance(10 * kSecond);
    (*made)->Tick();
    (*made)->WaitIdle();
  }
  EXPECT_EQ(Snapshots("web"), 3u) << log_;
}

}  // namespace
}  // namespace lifeboat::daemon
