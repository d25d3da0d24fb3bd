// The placement of a run's services after a failover (dr/active_sites.h), with real RunPlan
// calls over local sites: a service active at the recovery site is backed up from below its
// recovery root (not the stale copy at its original path) and to that site first; one whose
// recovery failed in the open incident is skipped; with the fence unreadable (etcd on a closed
// loopback port) the services that may have moved are skipped, the others run.
#include "dr/active_sites.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dr/plan_init.h"
#include "dr/run.h"
#include "engine/open.h"
#include "fence/lock_file_fence.h"
#include "plan/validate.h"
#include "repository/keys.h"
#include "restorer/restorer.h"

namespace lifeboat::dr {
namespace {

namespace fs = std::filesystem;

constexpr char kPassword[] = "pw-active-sites";

// A loopback TCP port that nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 1;
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class ActiveSitesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KdfParams kdf;
    kdf.n = 1024;
    SetKdfParamsOverrideForTesting(kdf);
    dir_ = fs::temp_directory_path() /
           ("lifeboat-active-sites-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    fs::create_directories(dir_ / "other");
    Write(dir_ / "pw", std::string(kPassword) + "\n");
    // The primary's disk came back with old data: the stale copy at the original path.
    Write(dir_ / "data" / "file.txt", "stale, from before the failover\n");
    Write(dir_ / "other" / "o.txt", "never moved\n");
    // The service as it runs at the recovery site since the failover.
    root_ = dir_ / "dr-root";
    fs::create_directories(root_ / (dir_ / "data").relative_path());
    Write(root_ / (dir_ / "data").relative_path() / "file.txt", "current, written at dr\n");
    state_ = (dir_ / "state").string();
  }
  void TearDown() override {
    SetKdfParamsOverrideForTesting(std::nullopt);
    fs::remove_all(dir_);
  }

  static void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Sites a (first) and dr (recovery root root_); shop (async, a failover policy) and other
  // (never moved). `daemon`: the plan's daemon section.
  std::shared_ptr<const plan::Plan> Load(const std::string& daemon = "") {
    auto site = [&](const std::string& name, const std::string& extra) {
      return "  " + name + ":\n    repository: " + (dir_ / "sites" / name).string() +
             "\n    password_file: " + (dir_ / "pw").string() + "\n" + extra;
    };
    const std::string yaml =
        "version: 1\nsites:\n" + site("a", "") +
        site("dr", "    recovery_root: " + root_.string() + "\n") +
        "services:\n"
        "  shop:\n    tier: 1\n    rpo: 2d\n    sites: [a, dr]\n    replication: async\n"
        "    sources:\n      - paths: [" +
        (dir_ / "data").string() +
        "]\n"
        "    verify:\n      - command: {run: [\"true\"]}\n"
        "    failover:\n      to: dr\n"
        "  other:\n    tier: 2\n    rpo: 2d\n    sites: [a, dr]\n    replication: async\n"
        "    sources:\n      - paths: [" +
        (dir_ / "other").string() + "]\n" + daemon;
    plan::LoadedPlan loaded = plan::CheckPlanText(yaml, (dir_ / "lifeboat.yaml").string());
    for (const plan::Diagnostic& d : loaded.diagnostics) EXPECT_FALSE(d.is_error()) << d.ToString();
    return std::make_shared<const plan::Plan>(loaded.plan);
  }

  // Moves shop to dr under the lock-file fence, as `lifeboat failover` does.
  void MoveShopToDr() {
    fence::LockFileFence f(state_, "test-actor", {});
    Result<std::unique_ptr<fence::FenceAction>> act = f.BeginAction(Context());
    ASSERT_TRUE(act.ok()) << act.status().ToString();
    Result<fence::ActiveSite> now = (*act)->Active("shop");
    ASSERT_TRUE(now.ok());
    ASSERT_TRUE((*act)->MoveActive("shop", *now, "dr", "inc-1").ok());
  }

  void WriteIncident(const std::string& state, const std::string& result) {
    IncidentState s;
    s.id = "0123456789abcdef0123456789abcdef";
    s.state = state;
    s.to_site = "dr";
    s.recovery_root = root_.string();
    IncidentService svc;
    svc.service = "shop";
    svc.result = result;
    svc.from_site = "a";
    s.services.push_back(svc);
    ASSERT_TRUE(SaveIncidentState(state_, s).ok());
  }

  RunOptions Options() {
    RunOptions o;
    o.now = true;
    o.state_dir = state_;
    o.host = "testhost";
    o.on_line = [this](const std::string& line) { output_ += line + "\n"; };
    return o;
  }

  std::vector<std::pair<Id, Snapshot>> Snapshots(const std::string& site,
                                                 const std::string& service) {
    OpenOptions o;
    o.location = (dir_ / "sites" / site).string();
    o.password = PasswordSource::Value(kPassword);
    o.lock = std::nullopt;
    Result<OpenedRepository> r = OpenRepository(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::pair<Id, Snapshot>> out;
    if (!r.ok()) return out;
    auto list = r->repo->ListSnapshots();
    EXPECT_TRUE(list.ok());
    for (auto& [id, s] : *list) {
      if (s.service == service) out.emplace_back(id, s);
    }
    return out;
  }

  // The content of data/file.txt in shop's only snapshot at `site`.
  std::string RestoredFile(const std::string& site) {
    auto snaps = Snapshots(site, "shop");
    EXPECT_EQ(snaps.size(), 1u);
    if (snaps.size() != 1) return "";
    OpenOptions o;
    o.location = (dir_ / "sites" / site).string();
    o.password = PasswordSource::Value(kPassword);
    o.lock = std::nullopt;
    o.load_index = true;
    Result<OpenedRepository> r = OpenRepository(o);
    EXPECT_TRUE(r.ok());
    RestoreOptions ro;
    ro.target = (dir_ / ("restored-" + site)).string();
    EXPECT_TRUE(RestoreTree(*r->repo, snaps[0].second.tree, ro).ok());
    EXPECT_EQ(snaps[0].second.paths, std::vector<std::string>{(dir_ / "data").string()});
    return Read(ro.target + (dir_ / "data" / "file.txt").string());
  }

  fs::path dir_, root_;
  std::string state_;
  std::string output_;
};

TEST_F(ActiveSitesTest, AServiceNeverMovedIsPlacedAsThePlanSays) {
  auto p = Load();
  RunPlacement r = ReadRunPlacement(p, state_, Context());
  EXPECT_EQ(r.plan, p);
  EXPECT_TRUE(r.read_roots.empty());
  EXPECT_TRUE(r.skip.empty());
  EXPECT_TRUE(r.moved.empty());
  EXPECT_TRUE(r.warnings.empty());
  EXPECT_FALSE(fs::exists(state_)) << "reading the lock-file fence wrote nothing";
}

// The defect this fixes: after a failover `lifeboat run` backed up the stale copy at the
// original path as the newest snapshot. Now the current data below dr's recovery root is
// backed up, recorded at its original path, to dr first and copied to a.
TEST_F(ActiveSitesTest, AServiceActiveAtTheRecoverySiteIsReadThereAndBackedUpThereFirst) {
  auto p = Load();
  ASSERT_TRUE(InitPlanSites(*p, {}).ok());
  MoveShopToDr();
  RunPlacement placement = ReadRunPlacement(p, state_, Context());
  EXPECT_EQ(placement.moved, (std::map<std::string, std::string>{{"shop", "dr"}}));
  EXPECT_EQ(placement.read_roots, (std::map<std::string, std::string>{{"shop", root_.string()}}));
  EXPECT_TRUE(placement.skip.empty());
  ASSERT_EQ(placement.plan->FindService("shop")->sites.front().name, "dr");
  EXPECT_EQ(placement.plan->FindService("other")->sites.front().name, "a");
  EXPECT_EQ(p->FindService("shop")->sites.front().name, "a") << "the input plan is unchanged";

  RunOptions o = Options();
  placement.ApplyTo(&o);
  Result<RunReport> r = RunPlan(*placement.plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 0) << output_;
  const ServiceReport& shop = r->services[0];
  ASSERT_EQ(shop.name, "shop");
  EXPECT_EQ(shop.read_root, root_.string());
  EXPECT_EQ(shop.read_from, "below " + root_.string() + " (active at dr since the failover)");
  ASSERT_FALSE(shop.outcomes.empty());
  EXPECT_EQ(shop.outcomes[0].site, "dr");
  EXPECT_EQ(shop.outcomes[0].what, "backup");
  EXPECT_EQ(RestoredFile("dr"), "current, written at dr\n");
  EXPECT_EQ(RestoredFile("a"), "current, written at dr\n");
  EXPECT_NE(output_.find("read below " + root_.string() + " (active at dr since the failover)"),
            std::string::npos)
      << output_;

  // The dry run says where it would read.
  output_.clear();
  o.dry_run = true;
  ASSERT_TRUE(RunPlan(*placement.plan, o).ok());
  EXPECT_NE(output_.find("would read its sources below " + root_.string()), std::string::npos)
      << output_;
}

// While the incident that moved it is open and its recovery at dr failed, what is below the
// recovery root is not its data: it is skipped (exit 3), the others run. Once the incident
// ended (committed), it is backed up from there.
TEST_F(ActiveSitesTest, AFailedRecoveryInTheOpenIncidentIsNotBackedUp) {
  auto p = Load();
  ASSERT_TRUE(InitPlanSites(*p, {}).ok());
  MoveShopToDr();
  WriteIncident("open", "failed");
  RunPlacement placement = ReadRunPlacement(p, state_, Context());
  ASSERT_EQ(placement.skip.count("shop"), 1u);
  EXPECT_NE(placement.skip["shop"].find("but it was not recovered there (failed)"),
            std::string::npos)
      << placement.skip["shop"];
  EXPECT_NE(placement.skip["shop"].find("lifeboat failover rollback"), std::string::npos);
  RunOptions o = Options();
  placement.ApplyTo(&o);
  Result<RunReport> r = RunPlan(*placement.plan, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 3);
  EXPECT_EQ(r->services[0].state, ServiceState::kSkipped);
  EXPECT_EQ(r->services[1].state, ServiceState::kRan);
  EXPECT_TRUE(Snapshots("dr", "shop").empty());
  EXPECT_TRUE(Snapshots("a", "shop").empty());
  EXPECT_EQ(Snapshots("a", "other").size(), 1u);

  WriteIncident("committed", "failed");
  EXPECT_TRUE(ReadRunPlacement(p, state_, Context()).skip.empty());
  WriteIncident("open", "recovered");
  EXPECT_TRUE(ReadRunPlacement(p, state_, Context()).skip.empty());
}

// An incident state that cannot be read: whether the moved service was recovered is unknown.
TEST_F(ActiveSitesTest, AnUnreadableIncidentStateSkipsTheMovedServices) {
  auto p = Load();
  MoveShopToDr();
  Write(IncidentStatePath(state_), "{not json");
  RunPlacement placement = ReadRunPlacement(p, state_, Context());
  EXPECT_EQ(placement.skip.count("shop"), 1u);
  EXPECT_EQ(placement.skip.count("other"), 0u);
  EXPECT_FALSE(placement.warnings.empty());
}

// etcd on a closed loopback port: nobody can say where shop (a failover policy) runs, so it is
// not backed up from a guess (its original path holds the stale copy); other runs as always.
TEST_F(ActiveSitesTest, AnUnreadableFenceSkipsTheServicesThatMayHaveMoved) {
  auto p = Load("daemon:\n  fencing:\n    etcd:\n      endpoints: [http://127.0.0.1:" +
                std::to_string(ClosedPort()) + "]\n      retry_timeout: 1s\n");
  ASSERT_TRUE(p->daemon.etcd.has_value());
  ASSERT_TRUE(InitPlanSites(*p, {}).ok());
  RunPlacement placement = ReadRunPlacement(p, state_, Context());
  ASSERT_EQ(placement.skip.count("shop"), 1u);
  EXPECT_EQ(placement.skip.count("other"), 0u);
  EXPECT_NE(placement.skip["shop"].find("where it runs is unknown: the etcd fence cannot be read"),
            std::string::npos)
      << placement.skip["shop"];
  EXPECT_NE(placement.skip["shop"].find("lifeboat run --service shop --now"), std::string::npos);
  ASSERT_EQ(placement.warnings.size(), 1u);

  RunOptions o = Options();
  placement.ApplyTo(&o);
  Result<RunReport> r = RunPlan(*placement.plan, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ExitCode(), 3) << output_;
  EXPECT_EQ(r->services[0].state, ServiceState::kSkipped);
  EXPECT_EQ(r->services[1].state, ServiceState::kRan);
  EXPECT_TRUE(Snapshots("a", "shop").empty()) << "the stale copy was backed up";
  EXPECT_EQ(Snapshots("a", "other").size(), 1u);
  EXPECT_NE(output_.find("service shop: SKIPPED: where it runs is unknown"), std::string::npos)
      << output_;
}

}  // namespace
}  // namespace lifeboat::dr
