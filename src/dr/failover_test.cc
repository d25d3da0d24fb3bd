// PerformFailover, CommitFailover and RollbackFailover over two local sites (a replica pair made
// by plan init and filled by run), with a real background process (python3's http.server), an
// in-memory fence (fence/memory_fence.h) and switch steps that write their environment to a file.
#include "dr/failover.h"

#include "dr/failback.h"
#include "dr/incident_history.h"
#include "dr/runbook.h"
#include "dr/switch_steps.h"
#include "fence/memory_fence.h"
#include "recover/checks.h"
#include "recover/recover_test_util.h"
#include "util/free_port_for_test.h"

namespace lifeboat::dr {
namespace {

using recover::testing::ReadFile;
using recover::testing::WriteFile;
namespace fs = std::filesystem;

using ::lifeboat::testing::FreeLoopbackPort;

class FailoverTest : public recover::testing::RecoverFixture {
 protected:
  void SetUp() override {
    RecoverFixture::SetUp();
    port_ = FreeLoopbackPort();
    WriteFile(dir_ / "data" / "shop" / "index.html", "hello from the shop\n");
    std::string big(300 * 1024, '\0');  // incompressible: its pack is the largest at site b
    uint64_t x = 88172645463325252ull;
    for (char& c : big) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      c = static_cast<char>(x);
    }
    WriteFile(dir_ / "data" / "shop" / "big.bin", big);
    plan_ = Load(Yaml(""));
  }

  // The plan; `a_root` not empty: site a's recovery root.
  std::string Yaml(const std::string& a_root) {
    return "version: 1\nsites:\n" + Site("a") +
           (a_root.empty() ? "" : "    recovery_root: " + a_root + "\n") + Site("b") +
           "    recovery_root: " + Root() +
           "\nservices:\n  shop:\n    tier: 2\n    rpo: 1h\n    sources:\n      - paths: [" +
           (dir_ / "data" / "shop").string() +
           "]\n    sites: [a, b]\n    recover:\n"
           "      - command: \"exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "
           "$LIFEBOAT_PORT_HTTP --directory $LIFEBOAT_RESTORE_DIR" +
           (dir_ / "data" / "shop").string() +
           "\"\n        background: true\n        ports: {http: " + std::to_string(port_) +
           "}\n        timeout: 30s\n    verify:\n"
           "      - http: {port: http, path: /index.html, expect_body: \"hello from the shop\"}\n"
           "      - files: {}\n    switch:\n"
           "      - command: \"echo to=$LIFEBOAT_SWITCH_TO from=$LIFEBOAT_SWITCH_FROM "
           "token=$LIFEBOAT_FENCING_TOKEN incident=$LIFEBOAT_INCIDENT port=$LIFEBOAT_PORT_HTTP "
           "service=$LIFEBOAT_SERVICE dir=$LIFEBOAT_RESTORE_DIR >> " +
           (dir_ / "switch.log").string() + "\"\n";
  }

  std::string Root() const { return (dir_ / "root-b").string(); }

  FailoverOptions Failover() {
    FailoverOptions o;
    o.recover.site = "b";
    o.recover.on_line = [this](const std::string& line) { output_ += line + "\n"; };
    o.fence = &fence_;
    o.state_dir = (dir_ / "state").string();
    o.host = "testhost";
    return o;
  }

  FailbackOptions Failback() {
    FailbackOptions o;
    o.to = "a";
    o.fence = &fence_;
    o.state_dir = (dir_ / "state").string();
    o.host = "testhost";
    o.stop_grace = std::chrono::milliseconds(2000);
    o.recover.on_line = [this](const std::string& line) { output_ += line + "\n"; };
    return o;
  }

  // The shop answers `path` with `body` on its production port.
  void ExpectServes(const std::string& path, const std::string& body) {
    recover::HttpCheckResult http =
        recover::CheckHttp("http://127.0.0.1:" + std::to_string(port_) + path, 200, body,
                           Context().WithTimeout(std::chrono::seconds(10)));
    EXPECT_TRUE(http.status.ok()) << path << ": " << http.status.ToString() << output_;
  }

  std::string ActiveSite(const std::string& service) {
    Result<std::unique_ptr<fence::FenceAction>> action = fence_.BeginAction(Context());
    if (!action.ok()) return "<" + action.status().ToString() + ">";
    Result<fence::ActiveSite> active = (*action)->Active(service);
    return active.ok() ? active->site : "<" + active.status().ToString() + ">";
  }

  IncidentActionOptions Action() {
    IncidentActionOptions o;
    o.fence = &fence_;
    o.state_dir = (dir_ / "state").string();
    o.stop_grace = std::chrono::milliseconds(2000);
    o.on_line = [this](const std::string& line) { output_ += line + "\n"; };
    return o;
  }

  // Flips one byte in the middle of the largest pack at site b.
  void DamageSiteB() {
    fs::path pack;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "sites" / "b" / "data")) {
      if (e.is_regular_file() && (pack.empty() || e.file_size() > fs::file_size(pack))) {
        pack = e.path();
      }
    }
    ASSERT_FALSE(pack.empty());
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(fs::file_size(pack));
    f.seekg(size / 2);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(size / 2);
    f.write(&c, 1);
  }

  // The incident's records read back from both sites: the one that counts has `state` and
  // `sequence`, the service's RTO and data-loss window; the runbook's appendix C names it.
  void ExpectRecords(const std::string& id, const std::string& state, uint64_t sequence) {
    Result<IncidentHistory> h = ReadIncidentHistory(plan_, {});
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_TRUE(h->warnings.empty()) << h->warnings[0];
    const IncidentEntry* entry = nullptr;
    for (const IncidentEntry& e : h->incidents) {
      if (e.record.id == id) entry = &e;
    }
    ASSERT_NE(entry, nullptr) << IncidentHistoryText(*h);
    EXPECT_EQ(entry->sites, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(IncidentStateName(entry->record.state), state);
    EXPECT_EQ(entry->record.sequence, sequence);
    EXPECT_EQ(entry->record.to_site, "b");
    EXPECT_EQ(entry->record.from_site, "a");
    const lifeboat::IncidentService* shop = entry->record.FindService("shop");
    ASSERT_NE(shop, nullptr);
    EXPECT_EQ(shop->result, "recovered");
    EXPECT_TRUE(shop->rto_seconds.has_value());
    ASSERT_TRUE(shop->data_loss_seconds.has_value());
    EXPECT_GE(*shop->data_loss_seconds, 0);
    EXPECT_EQ(shop->rpo_target_seconds, 3600);
    EXPECT_FALSE(shop->steps.empty());
    Result<Runbook> book = ReadRunbook(plan_, {});
    ASSERT_TRUE(book.ok()) << book.status().ToString();
    const std::string md = RunbookMarkdown(*book);
    const size_t appendix = md.find("Appendix C. Incidents");
    ASSERT_NE(appendix, std::string::npos);
    // The appendix's table has no id column: the incident's row (start, kind, state, sites).
    EXPECT_NE(md.find("| " + state + " | a → b | operator", appendix), std::string::npos)
        << md.substr(appendix);
  }

  // db (tier 1): its data served by python3's http.server on db_port_ (`db_fails`: a recover step
  // fails first); web (tier 2, depends on db): its recover step fetches db's page through
  // LIFEBOAT_PORT_DB_HTTP into its own directory, which it then serves on port_.
  // `a_root` not empty: site a's recovery root.
  std::string DbWebYaml(bool db_fails, const std::string& a_root = "") {
    const fs::path data = dir_ / "data";
    WriteFile(data / "db" / "db.txt", "rows of the db\n");
    WriteFile(data / "web" / "index.html", "the web page\n");
    WriteFile(dir_ / "fetch.py",
              "import sys, urllib.request\n"
              "open(sys.argv[2], 'wb').write(urllib.request.urlopen(sys.argv[1], timeout=10)"
              ".read())\n");
    auto server = [&](const std::string& name, int port) {
      return "      - command: \"exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "
             "$LIFEBOAT_PORT_HTTP --directory $LIFEBOAT_RESTORE_DIR" +
             (data / name).string() +
             "\"\n        background: true\n        ports: {http: " + std::to_string(port) +
             "}\n        timeout: 30s\n";
    };
    return "version: 1\nsites:\n" + Site("a") +
           (a_root.empty() ? "" : "    recovery_root: " + a_root + "\n") + Site("b") +
           "    recovery_root: " + Root() +
           "\nservices:\n"
           "  db:\n    tier: 1\n    rpo: 1h\n    sources:\n      - paths: [" +
           (data / "db").string() + "]\n    sites: [a, b]\n    recover:\n" +
           (db_fails ? "      - command: \"echo the db is broken; exit 1\"\n" : "") +
           server("db", db_port_) +
           "    verify:\n      - http: {port: http, path: /db.txt, expect_body: \"rows\"}\n"
           "  web:\n    tier: 2\n    rpo: 1h\n    depends_on: [db]\n    sources:\n"
           "      - paths: [" +
           (data / "web").string() + "]\n    sites: [a, b]\n    recover:\n" +
           "      - command: \"/usr/bin/python3 " + (dir_ / "fetch.py").string() +
           " http://127.0.0.1:$LIFEBOAT_PORT_DB_HTTP/db.txt $LIFEBOAT_RESTORE_DIR" +
           (data / "web" / "from-db.txt").string() + "\"\n" + server("web", port_) +
           "    verify:\n"
           "      - http: {port: http, path: /from-db.txt, expect_body: \"rows of the db\"}\n";
  }

  FailoverOptions FailoverOf(const std::string& service) {
    FailoverOptions o = Failover();
    o.recover.services = {service};
    return o;
  }

  int port_ = 0;
  int db_port_ = FreeLoopbackPort();
  plan::Plan plan_;
  fence::MemoryFence fence_;
};

TEST(SwitchStepsTest, Environment) {
  plan::Service svc;
  svc.name = "shop";
  SwitchTarget t{"dr", "main", 7, "00ff", "/srv/dr", {{"http", 8080}, {"admin_api", 9090}}};
  const auto env = SwitchEnvironment(svc, t);
  auto get = [&](const std::string& name) {
    for (const auto& [k, v] : env) {
      if (k == name) return v;
    }
    return std::string("<unset>");
  };
  EXPECT_EQ(get("LIFEBOAT_SWITCH_TO"), "dr");
  EXPECT_EQ(get("LIFEBOAT_SWITCH_FROM"), "main");
  EXPECT_EQ(get("LIFEBOAT_FENCING_TOKEN"), "7");
  EXPECT_EQ(get("LIFEBOAT_INCIDENT"), "00ff");
  EXPECT_EQ(get("LIFEBOAT_SERVICE"), "shop");
  EXPECT_EQ(get("LIFEBOAT_RESTORE_DIR"), "/srv/dr");
  EXPECT_EQ(get("LIFEBOAT_PORT_HTTP"), "8080");
  EXPECT_EQ(get("LIFEBOAT_PORT_ADMIN_API"), "9090");
}

TEST_F(FailoverTest, DryRunPreconditions) {
  Backup(plan_);
  FailoverOptions o = Failover();
  o.dry_run = true;
  Result<FailoverOutcome> ok = PerformFailover(plan_, o);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->result, FailoverOutcome::Result::kDryRun);
  EXPECT_TRUE(ok->preconditions.ok()) << ok->preconditions.Failures();
  EXPECT_EQ(ok->ExitCode(), 0);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "incident.json"));
  EXPECT_EQ(fence_.token(), 0u);

  // The production port in use, a target path not empty.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port_));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  WriteFile(fs::path(Root() + (dir_ / "data" / "shop").string()) / "stale.txt", "old\n");
  Result<FailoverOutcome> bad = PerformFailover(plan_, o);
  ::close(fd);
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  EXPECT_EQ(bad->ExitCode(), 2);
  const std::string failures = bad->preconditions.Failures();
  EXPECT_NE(failures.find("port http (" + std::to_string(port_) + ") on 127.0.0.1 is in use"),
            std::string::npos)
      << failures;
  EXPECT_NE(failures.find(Root() + (dir_ / "data" / "shop").string() + " exists and is not empty"),
            std::string::npos)
      << failures;
  // A real failover is refused for the same reasons, changing nothing.
  o.dry_run = false;
  WriteFile(fs::path(Root() + (dir_ / "data" / "shop").string()) / "stale.txt", "old\n");
  Result<FailoverOutcome> refused = PerformFailover(plan_, o);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->result, FailoverOutcome::Result::kRefused);
  EXPECT_EQ(fence_.token(), 0u);
  fs::remove_all(Root());

  // No snapshot at or before --at.
  o.dry_run = true;
  o.recover.at = "2001-01-01T00:00:00Z";
  Result<FailoverOutcome> early = PerformFailover(plan_, o);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_NE(early->preconditions.Failures().find(
                "no complete snapshot of source paths at site b taken at or before "
                "2001-01-01T00:00:00Z"),
            std::string::npos)
      << early->preconditions.Failures();
}

TEST_F(FailoverTest, ADamagedPackAtTheRecoverySiteIsReadFromTheOtherSiteThenCommit) {
  fs::permissions(dir_ / "data" / "shop", fs::perms(0750));
  Backup(plan_);
  DamageSiteB();
  // A directory above the source's path that exists below the recovery root already (as /home
  // or /srv do below `/`) is not the failover's: its mode stays what it is.
  const fs::path above = Root() + (dir_ / "data").string();
  fs::create_directories(above);
  fs::permissions(above, fs::perms(0711));
  Result<FailoverOutcome> f = PerformFailover(plan_, Failover());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(f->report.has_value());
  EXPECT_EQ(f->ExitCode(), 0) << FormatFailoverOutcome(*f) << output_;
  const recover::ServiceRecovery* shop = f->report->Find("shop");
  ASSERT_NE(shop, nullptr);
  ASSERT_FALSE(shop->fallback_reads.empty()) << output_;
  EXPECT_NE(shop->fallback_reads[0].find("damaged at site b"), std::string::npos)
      << shop->fallback_reads[0];
  EXPECT_NE(shop->fallback_reads[0].find("read from site a"), std::string::npos)
      << shop->fallback_reads[0];
  // Restored at its original path below the recovery root, bit for bit.
  const fs::path restored = Root() + (dir_ / "data" / "shop").string();
  EXPECT_EQ(ReadFile(restored / "big.bin"), ReadFile(dir_ / "data" / "shop" / "big.bin"));
  EXPECT_EQ(fs::status(above).permissions() & fs::perms::all, fs::perms(0711));
  EXPECT_EQ(fs::status(restored).permissions() & fs::perms::all, fs::perms(0750));  // its own
  // Serving on the production port after the command returned; switched with the token.
  recover::HttpCheckResult http = recover::CheckHttp(
      "http://127.0.0.1:" + std::to_string(port_) + "/index.html", 200,
      std::string("hello from the shop"), Context().WithTimeout(std::chrono::seconds(10)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString();
  const IncidentState& inc = f->incident;
  EXPECT_EQ(inc.id.size(), 32u);
  EXPECT_EQ(inc.state, "open");
  ASSERT_EQ(inc.services.size(), 1u);
  EXPECT_EQ(inc.services[0].result, "recovered");
  EXPECT_EQ(inc.services[0].from_site, "a");
  EXPECT_EQ(inc.services[0].token, 1u);
  EXPECT_TRUE(inc.services[0].switched);
  ASSERT_TRUE(inc.services[0].rto_seconds.has_value());
  ASSERT_TRUE(inc.services[0].data_loss_seconds.has_value());
  EXPECT_EQ(ReadFile(dir_ / "switch.log"), "to=b from=a token=1 incident=" + inc.id +
                                               " port=" + std::to_string(port_) +
                                               " service=shop dir=" + Root() + "\n");
  ASSERT_EQ(inc.left_running.size(), 1u);
  EXPECT_TRUE(recover::StillRunning(inc.left_running[0]));
  // The state on disk says the same; another failover is refused while it is open.
  Result<std::optional<IncidentState>> saved = FailoverStatus(Failover().state_dir);
  ASSERT_TRUE(saved.ok() && saved->has_value());
  EXPECT_EQ((*saved)->left_running.size(), 1u);
  // Another failover to b would join it, but shop runs there already: nothing to fail over.
  Result<FailoverOutcome> again = PerformFailover(plan_, Failover());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ExitCode(), 2);
  EXPECT_EQ(again->refusal, "service shop is active at site b already (incident " + inc.id +
                                "): nothing to fail over")
      << again->refusal;
  EXPECT_EQ(fence_.token(), 1u);

  Result<IncidentActionOutcome> commit = CommitFailover(plan_, Action());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(commit->incident.state, "committed");
  EXPECT_TRUE(commit->warnings.empty()) << commit->warnings[0];
  // Opened (1), recovered (2), committed (3).
  ExpectRecords(inc.id, "committed", 3);
  EXPECT_EQ(CommitFailover(plan_, Action()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(RollbackFailover(plan_, Action()).status().code(), StatusCode::kFailedPrecondition);
  // Committed: the service runs on at b (stopped here by the test).
  EXPECT_TRUE(recover::StillRunning(inc.left_running[0]));
  recover::StopLeftRunning(inc.left_running, std::chrono::milliseconds(2000));
}

TEST_F(FailoverTest, RollbackStopsWhatRunsSwitchesBackAndMovesTheFilesAside) {
  Backup(plan_);
  Result<FailoverOutcome> f = PerformFailover(plan_, Failover());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->ExitCode(), 0) << FormatFailoverOutcome(*f) << output_;
  const recover::LeftRunning server = f->incident.left_running.at(0);
  ASSERT_TRUE(recover::StillRunning(server));

  Result<IncidentActionOutcome> r = RollbackFailover(plan_, Action());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 0) << FormatIncidentAction(*r, "rollback");
  EXPECT_EQ(r->incident.state, "rolled_back");
  ExpectRecords(f->incident.id, "rolled_back", 3);
  EXPECT_FALSE(recover::StillRunning(server));
  EXPECT_TRUE(recover::ProcessGroupMembers(server.pgid).empty());
  // Switched back with a new, higher token.
  const std::string log = ReadFile(dir_ / "switch.log");
  EXPECT_NE(log.find("to=a from=b token=2 incident=" + f->incident.id), std::string::npos) << log;
  EXPECT_EQ(fence_.token(), 2u);
  // Nothing deleted: the files are below .lifeboat-rolled-back/INCIDENT/.
  const fs::path restored = Root() + (dir_ / "data" / "shop").string();
  EXPECT_FALSE(fs::exists(restored));
  const fs::path aside = fs::path(Root()) / ".lifeboat-rolled-back" / f->incident.id /
                         (dir_ / "data" / "shop").relative_path();
  EXPECT_EQ(ReadFile(aside / "index.html"), "hello from the shop\n");
  // A new failover may start now (the closed incident is archived).
  Result<FailoverOutcome> dry = [&] {
    FailoverOptions o = Failover();
    o.dry_run = true;
    return PerformFailover(plan_, o);
  }();
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->ExitCode(), 0) << FormatFailoverOutcome(*dry);
}

TEST_F(FailoverTest, FailbackBringsWhatWasWrittenAtTheRecoverySiteHome) {
  const std::string root_a = (dir_ / "root-a").string();
  plan_ = Load(Yaml(root_a));
  Backup(plan_);
  const fs::path data = dir_ / "data" / "shop";
  // Something already at a's recovery root is moved aside, not deleted.
  WriteFile(fs::path(root_a + data.string()) / "stale.txt", "old\n");
  Result<FailoverOutcome> f = PerformFailover(plan_, Failover());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->ExitCode(), 0) << FormatFailoverOutcome(*f) << output_;
  const recover::LeftRunning server = f->incident.left_running.at(0);
  // Written at the recovery site during the failover.
  WriteFile(fs::path(Root() + data.string()) / "new-at-b.txt", "written at b\n");

  FailbackOptions o = Failback();
  o.dry_run = true;
  Result<FailbackOutcome> dry = PerformFailback(plan_, o);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->ExitCode(), 0) << FormatFailbackOutcome(*dry);
  EXPECT_TRUE(recover::StillRunning(server));
  o.dry_run = false;
  Result<FailbackOutcome> fb = PerformFailback(plan_, o);
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  ASSERT_EQ(fb->ExitCode(), 0) << FormatFailbackOutcome(*fb) << output_;
  // Stopped at b after its final backup; serving from a's recovery root with the new file.
  EXPECT_FALSE(recover::StillRunning(server));
  const fs::path at_a = root_a + data.string();
  EXPECT_EQ(ReadFile(at_a / "new-at-b.txt"), "written at b\n");
  EXPECT_EQ(ReadFile(at_a / "index.html"), "hello from the shop\n");
  EXPECT_FALSE(fs::exists(at_a / "stale.txt"));
  const IncidentState& inc = fb->failback.incident;
  EXPECT_EQ(ReadFile(fs::path(root_a) / ".lifeboat-failback" / inc.id / data.relative_path() /
                     "stale.txt"),
            "old\n");
  recover::HttpCheckResult http = recover::CheckHttp(
      "http://127.0.0.1:" + std::to_string(port_) + "/new-at-b.txt", 200,
      std::string("written at b"), Context().WithTimeout(std::chrono::seconds(10)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString();
  // The failover is closed (it was open: committed and closed), the failback open, a active.
  ASSERT_TRUE(fb->ended.has_value());
  EXPECT_EQ(fb->ended->state, "closed");
  EXPECT_EQ(inc.kind, "failback");
  EXPECT_EQ(inc.ends_incident, f->incident.id);
  EXPECT_EQ(inc.state, "open");
  EXPECT_EQ(inc.services.at(0).result, "recovered");
  EXPECT_EQ(inc.services.at(0).token, 2u);
  EXPECT_NE(ReadFile(dir_ / "switch.log").find("to=a from=b token=2 incident=" + inc.id),
            std::string::npos);
  Result<std::unique_ptr<fence::FenceAction>> action = fence_.BeginAction(Context());
  ASSERT_TRUE(action.ok());
  Result<fence::ActiveSite> active = (*action)->Active("shop");
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(active->site, "a");
  action->reset();
  // The records at both sites: the failover closed, the failback open.
  Result<IncidentHistory> h = ReadIncidentHistory(plan_, {});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->incidents.size(), 2u) << IncidentHistoryText(*h);
  for (const IncidentEntry& e : h->incidents) {
    EXPECT_EQ(e.sites, (std::vector<std::string>{"a", "b"}));
    if (e.record.id == inc.id) {
      EXPECT_EQ(e.record.kind, IncidentKind::kFailback);
      EXPECT_EQ(e.record.state, lifeboat::IncidentState::kOpen);
      EXPECT_EQ(e.record.ends_incident, f->incident.id);
      EXPECT_EQ(e.record.from_site, "b");
      EXPECT_EQ(e.record.to_site, "a");
      EXPECT_EQ(e.record.sequence, 2u);
    } else {
      EXPECT_EQ(e.record.id, f->incident.id);
      EXPECT_EQ(e.record.state, lifeboat::IncidentState::kClosed);
      EXPECT_EQ(e.record.sequence, 3u);
    }
  }
  // Committed like a failover; a second failback finds nothing to end.
  Result<IncidentActionOutcome> commit = CommitFailover(plan_, Action());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(commit->incident.state, "committed");
  Result<FailbackOutcome> again = PerformFailback(plan_, o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ExitCode(), 2);
  recover::StopLeftRunning(inc.left_running, std::chrono::milliseconds(2000));
}

// failover, data written at b, failback to a, rollback: the shop runs at b again (restored from
// its final backup, with that data), switched there with a new token, recorded where the next
// failback finds it; failback again: the data written at b since is at a, nothing runs at b.
TEST_F(FailoverTest, RollingBackAFailbackRestartsTheServicesAtTheRecoverySite) {
  const std::string root_a = (dir_ / "root-a").string();
  plan_ = Load(Yaml(root_a));
  Backup(plan_);
  const fs::path data = dir_ / "data" / "shop";
  const fs::path at_a = root_a + data.string(), at_b = Root() + data.string();
  Result<FailoverOutcome> f = PerformFailover(plan_, Failover());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->ExitCode(), 0) << FormatFailoverOutcome(*f) << output_;
  const recover::LeftRunning first_at_b = f->incident.left_running.at(0);
  WriteFile(at_b / "new-at-b.txt", "written at b\n");

  Result<FailbackOutcome> fb = PerformFailback(plan_, Failback());
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  ASSERT_EQ(fb->ExitCode(), 0) << FormatFailbackOutcome(*fb) << output_;
  const IncidentState& back = fb->failback.incident;
  EXPECT_TRUE(back.services.at(0).stopped);
  EXPECT_FALSE(recover::StillRunning(first_at_b));
  const recover::LeftRunning at_a_server = back.left_running.at(0);
  ExpectServes("/new-at-b.txt", "written at b");

  Result<IncidentActionOutcome> r = RollbackFailover(plan_, Action());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string text = FormatIncidentAction(*r, "rollback");
  EXPECT_EQ(r->ExitCode(), 0) << text << output_;
  // Stopped at a, its files there moved aside; up at b again, with what was written there.
  EXPECT_FALSE(recover::StillRunning(at_a_server));
  EXPECT_FALSE(fs::exists(at_a));
  EXPECT_EQ(ReadFile(fs::path(root_a) / ".lifeboat-rolled-back" / back.id / data.relative_path() /
                     "new-at-b.txt"),
            "written at b\n");
  ASSERT_EQ(r->restarted.size(), 1u) << text;
  EXPECT_EQ(r->restarted[0].service, "shop");
  EXPECT_EQ(r->restarted[0].result, "restarted") << r->restarted[0].error;
  EXPECT_EQ(r->restarted[0].site, "b");
  EXPECT_NE(text.find("shop: restarted at b"), std::string::npos) << text;
  ExpectServes("/new-at-b.txt", "written at b");
  ExpectServes("/index.html", "hello from the shop");
  // The files the stopped copy left at b were in the way: moved aside, not deleted.
  EXPECT_EQ(ReadFile(fs::path(Root()) / ".lifeboat-rolled-back" / back.id / data.relative_path() /
                     "new-at-b.txt"),
            "written at b\n");
  const nlohmann::ordered_json j = IncidentActionToJson(*r, "rollback");
  EXPECT_EQ(j["restarted"][0]["result"], "restarted");
  EXPECT_FALSE(j["restarted"][0]["steps"].empty());
  // Switched to b once verified, with the rollback's token; b active.
  EXPECT_NE(ReadFile(dir_ / "switch.log").find("to=b from=a token=3 incident=" + back.id),
            std::string::npos)
      << ReadFile(dir_ / "switch.log");
  EXPECT_EQ(ActiveSite("shop"), "b");
  // The state says what runs: the failback's (status) and the failover's it ended.
  const IncidentState& rolled = r->incident;
  EXPECT_EQ(rolled.state, "rolled_back");
  EXPECT_EQ(rolled.services.at(0).restart, "restarted");
  ASSERT_EQ(rolled.left_running.size(), 1u);
  const recover::LeftRunning again_at_b = rolled.left_running[0];
  EXPECT_TRUE(recover::StillRunning(again_at_b));
  Result<std::optional<IncidentState>> status = FailoverStatus(Failover().state_dir);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((*status)->left_running.size(), 1u);
  EXPECT_NE(FormatIncidentStatus(**status).find("(running)"), std::string::npos);
  Result<IncidentState> ended = LoadArchivedIncidentState(Failover().state_dir, f->incident.id);
  ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  ASSERT_EQ(ended->left_running.size(), 1u);
  EXPECT_EQ(ended->left_running[0].pid, again_at_b.pid);
  // The record: rolled back, the restart in the service's notes and the timeline.
  Result<IncidentHistory> h = ReadIncidentHistory(plan_, {});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  bool seen = false;
  for (const IncidentEntry& e : h->incidents) {
    if (e.record.id != back.id) continue;
    seen = true;
    EXPECT_EQ(e.record.state, lifeboat::IncidentState::kRolledBack);
    const lifeboat::IncidentService* shop = e.record.FindService("shop");
    ASSERT_NE(shop, nullptr);
    EXPECT_NE(std::find(shop->notes.begin(), shop->notes.end(), "rollback: restarted at b"),
              shop->notes.end());
    bool restarted = false;
    for (const lifeboat::IncidentEvent& ev : e.record.timeline) {
      restarted = restarted || (ev.service == "shop" && ev.what == "restarted at b");
    }
    EXPECT_TRUE(restarted);
  }
  EXPECT_TRUE(seen) << IncidentHistoryText(*h);

  // Failback again: what was written at b since comes home; nothing runs at b any more.
  WriteFile(at_b / "second-at-b.txt", "written at b after the rollback\n");
  Result<FailbackOutcome> fb2 = PerformFailback(plan_, Failback());
  ASSERT_TRUE(fb2.ok()) << fb2.status().ToString();
  ASSERT_EQ(fb2->ExitCode(), 0) << FormatFailbackOutcome(*fb2) << output_;
  EXPECT_EQ(fb2->failback.incident.ends_incident, f->incident.id);
  EXPECT_FALSE(recover::StillRunning(again_at_b));
  EXPECT_TRUE(recover::ProcessGroupMembers(again_at_b.pgid).empty());
  EXPECT_EQ(ReadFile(at_a / "second-at-b.txt"), "written at b after the rollback\n");
  ExpectServes("/second-at-b.txt", "written at b after the rollback");
  EXPECT_EQ(ActiveSite("shop"), "a");
  Result<IncidentActionOutcome> commit = CommitFailover(plan_, Action());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  const std::vector<recover::LeftRunning> at_a_now = fb2->failback.incident.left_running;
  ASSERT_EQ(at_a_now.size(), 1u);
  recover::StopLeftRunning(at_a_now, std::chrono::milliseconds(2000));
  for (const recover::LeftRunning& lr : {first_at_b, at_a_server, again_at_b, at_a_now[0]}) {
    EXPECT_FALSE(recover::StillRunning(lr)) << lr.what;
  }
}

// A failback rolled back when the shop cannot start at b again: said plainly (exit 3, the
// service's restart "failed", its note), never a success; its files are kept aside.
TEST_F(FailoverTest, ARollbackThatCannotRestartAServiceSaysSo) {
  const std::string root_a = (dir_ / "root-a").string();
  plan_ = Load(Yaml(root_a));
  Backup(plan_);
  Result<FailoverOutcome> f = PerformFailover(plan_, Failover());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->ExitCode(), 0) << FormatFailoverOutcome(*f) << output_;
  Result<FailbackOutcome> fb = PerformFailback(plan_, Failback());
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  ASSERT_EQ(fb->ExitCode(), 0) << FormatFailbackOutcome(*fb) << output_;
  // The shop's production port taken at b by something else once a's copy is stopped: the
  // rollback's check refuses the restart.
  const recover::LeftRunning at_a = fb->failback.incident.left_running.at(0);
  IncidentActionOptions o = Action();
  int fd = -1;
  o.on_line = [&](const std::string& line) {
    output_ += line + "\n";
    if (fd >= 0 || line.find("moved ") != 0) return;
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0) {
      ADD_FAILURE() << "port " << port_ << " could not be taken";
    }
  };
  Result<IncidentActionOutcome> r = RollbackFailover(plan_, o);
  if (fd >= 0) ::close(fd);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string text = FormatIncidentAction(*r, "rollback");
  EXPECT_EQ(r->ExitCode(), 3) << text << output_;
  EXPECT_FALSE(recover::StillRunning(at_a));
  ASSERT_EQ(r->restarted.size(), 1u) << text;
  EXPECT_EQ(r->restarted[0].result, "failed");
  EXPECT_NE(r->restarted[0].error.find("is in use"), std::string::npos) << r->restarted[0].error;
  EXPECT_NE(text.find("shop: NOT RUNNING anywhere"), std::string::npos) << text;
  EXPECT_EQ(r->incident.state, "rolled_back");
  EXPECT_EQ(r->incident.services.at(0).restart, "failed");
  EXPECT_TRUE(r->incident.left_running.empty());
  EXPECT_EQ(ActiveSite("shop"), "b");
  Result<std::optional<IncidentState>> status = FailoverStatus(Failover().state_dir);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_NE(FormatIncidentStatus(**status).find("rollback: NOT running anywhere"),
            std::string::npos)
      << FormatIncidentStatus(**status);
  // Its files at b are aside: a failback (whose final backup would find nothing) is refused.
  Result<FailbackOutcome> again = PerformFailback(plan_, Failback());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->ExitCode(), 2);
  EXPECT_NE(again->failback.refusal.find("lifeboat failover shop --to a"), std::string::npos)
      << again->failback.refusal;
}

// A failback whose final backup failed stopped nothing: its rollback leaves the shop running at
// b as it is (left_running), recorded for the next failback, and says so.
TEST_F(FailoverTest, ARollbackLeavesAServiceTheFailbackNeverStoppedAlone) {
  const std::string root_a = (dir_ / "root-a").string();
  plan_ = Load(Yaml(root_a));
  Backup(plan_);
  Result<FailoverOutcome> f = PerformFailover(plan_, Failover());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->ExitCode(), 0) << FormatFailoverOutcome(*f) << output_;
  const recover::LeftRunning server = f->incident.left_running.at(0);
  // The shop's files at b gone: its final backup fails, the failback stops before its stop.
  const fs::path at_b = Root() + (dir_ / "data" / "shop").string();
  fs::rename(at_b, Root() + "/elsewhere");
  Result<FailbackOutcome> fb = PerformFailback(plan_, Failback());
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  ASSERT_EQ(fb->ExitCode(), 3) << FormatFailbackOutcome(*fb) << output_;
  EXPECT_FALSE(fb->failback.incident.services.at(0).stopped);
  EXPECT_TRUE(recover::StillRunning(server));
  fs::rename(Root() + "/elsewhere", at_b);

  Result<IncidentActionOutcome> r = RollbackFailover(plan_, Action());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string text = FormatIncidentAction(*r, "rollback");
  EXPECT_EQ(r->ExitCode(), 0) << text << output_;
  ASSERT_EQ(r->restarted.size(), 1u) << text;
  EXPECT_EQ(r->restarted[0].result, "left_running");
  EXPECT_NE(text.find("the failback never stopped it at b"), std::string::npos) << text;
  EXPECT_TRUE(recover::StillRunning(server));
  EXPECT_TRUE(fs::exists(at_b / "index.html"));
  ExpectServes("/index.html", "hello from the shop");
  EXPECT_EQ(ActiveSite("shop"), "b");
  EXPECT_EQ(r->incident.services.at(0).restart, "left_running");
  ASSERT_EQ(r->incident.left_running.size(), 1u);  // what status shows
  EXPECT_EQ(r->incident.left_running[0].pid, server.pid);
  Result<IncidentState> ended = LoadArchivedIncidentState(Failover().state_dir, f->incident.id);
  ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  ASSERT_EQ(ended->left_running.size(), 1u);
  EXPECT_EQ(ended->left_running[0].pid, server.pid);
  recover::StopLeftRunning({server}, std::chrono::milliseconds(2000));
}

// The defect this guards against: db declared failed a round before web (which depends on it)
// got its own incident, and web's failover a round later was refused because that incident was
// open. Now web's failover joins it: db is not recovered again, web reaches it at its production
// port, and the one incident holds both until its rollback undoes both.
TEST_F(FailoverTest, ADependentsFailoverJoinsTheOpenIncidentOfItsDependency) {
  plan_ = Load(DbWebYaml(/*db_fails=*/false));
  Backup(plan_);
  Result<FailoverOutcome> first = PerformFailover(plan_, FailoverOf("db"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->ExitCode(), 0) << FormatFailoverOutcome(*first) << output_;
  EXPECT_TRUE(first->joined.empty());
  const IncidentState& opened = first->incident;
  ASSERT_EQ(opened.services.size(), 1u);
  ASSERT_EQ(opened.left_running.size(), 1u);
  const recover::LeftRunning db_server = opened.left_running[0];

  // A dry run says it would join, and db's port in use (by db) fails nothing.
  FailoverOptions dry = FailoverOf("web");
  dry.dry_run = true;
  Result<FailoverOutcome> d = PerformFailover(plan_, dry);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->result, FailoverOutcome::Result::kDryRun);
  EXPECT_EQ(d->ExitCode(), 0) << FormatFailoverOutcome(*d);
  EXPECT_EQ(d->joined, opened.id);
  EXPECT_NE(FormatFailoverOutcome(*d).find("it would join the open incident " + opened.id),
            std::string::npos)
      << FormatFailoverOutcome(*d);
  EXPECT_EQ(fence_.token(), 1u);

  FailoverOptions o = FailoverOf("web");
  o.declared_by = "daemon b";
  o.failure_ns = opened.start_ns + 1;
  Result<FailoverOutcome> second = PerformFailover(plan_, o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->ExitCode(), 0) << FormatFailoverOutcome(*second) << output_;
  EXPECT_EQ(second->joined, opened.id);
  EXPECT_NE(FormatFailoverOutcome(*second).find("joined incident " + opened.id), std::string::npos);
  EXPECT_EQ(FailoverOutcomeToJson(*second)["joined"], opened.id);
  // Only web was recovered; it reached db at db's production port.
  ASSERT_TRUE(second->report.has_value());
  EXPECT_EQ(second->report->Find("db"), nullptr);
  ASSERT_NE(second->report->Find("web"), nullptr);
  const fs::path web_dir = Root() + (dir_ / "data" / "web").string();
  EXPECT_EQ(ReadFile(web_dir / "from-db.txt"), "rows of the db\n");
  recover::HttpCheckResult http = recover::CheckHttp(
      "http://127.0.0.1:" + std::to_string(port_) + "/from-db.txt", 200,
      std::string("rows of the db"), Context().WithTimeout(std::chrono::seconds(10)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString();
  EXPECT_TRUE(recover::StillRunning(db_server));
  // One incident: db as it was, web appended with its own token, join time and wave.
  const IncidentState& inc = second->incident;
  EXPECT_EQ(inc.id, opened.id);
  EXPECT_EQ(inc.state, "open");
  EXPECT_EQ(inc.declared_by, opened.declared_by);
  EXPECT_EQ(inc.start_ns, opened.start_ns);
  ASSERT_EQ(inc.services.size(), 2u);
  EXPECT_EQ(inc.services[0].service, "db");
  EXPECT_EQ(inc.services[0].rto_seconds, opened.services[0].rto_seconds);
  EXPECT_EQ(inc.services[0].data_loss_seconds, opened.services[0].data_loss_seconds);
  EXPECT_EQ(inc.services[0].joined_ns, 0);
  const IncidentService& web = inc.services[1];
  EXPECT_EQ(web.service, "web");
  EXPECT_EQ(web.result, "recovered");
  EXPECT_EQ(web.wave, 2);
  EXPECT_EQ(web.token, 2u);
  EXPECT_TRUE(web.switched);
  EXPECT_GT(web.joined_ns, 0);
  EXPECT_EQ(web.failure_ns, opened.start_ns + 1);
  ASSERT_TRUE(web.rto_seconds.has_value());
  EXPECT_EQ(inc.token, 2u);
  EXPECT_EQ(inc.left_running.size(), 2u);
  bool joined_entry = false;
  for (const IncidentEvent& e : inc.timeline) {
    joined_entry = joined_entry || e.what == "failover of web joined (daemon b)";
  }
  EXPECT_TRUE(joined_entry) << FormatIncidentStatus(inc);
  // The records read back hold both: opened (1), recovered (2), joined (3), recovered (4).
  Result<IncidentHistory> h = ReadIncidentHistory(plan_, {});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->incidents.size(), 1u) << IncidentHistoryText(*h);
  const lifeboat::IncidentRecord& rec = h->incidents[0].record;
  EXPECT_EQ(rec.id, opened.id);
  EXPECT_EQ(rec.sequence, 4u);
  ASSERT_NE(rec.FindService("db"), nullptr);
  ASSERT_NE(rec.FindService("web"), nullptr);
  EXPECT_EQ(rec.FindService("web")->result, "recovered");
  Result<std::optional<IncidentState>> status = FailoverStatus(Failover().state_dir);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((*status)->services.size(), 2u);
  EXPECT_EQ((*status)->services[1].joined_ns, web.joined_ns);

  // Nothing left: both run at b already.
  Result<FailoverOutcome> again = PerformFailover(plan_, FailoverOf("web"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->result, FailoverOutcome::Result::kRefused);
  EXPECT_NE(again->refusal.find("service db is active at site b already (incident " + opened.id +
                                "); service web is active at site b already"),
            std::string::npos)
      << again->refusal;

  // Rollback undoes both parts: both moved back, both servers stopped, both files aside.
  Result<IncidentActionOutcome> r = RollbackFailover(plan_, Action());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 0) << FormatIncidentAction(*r, "rollback");
  EXPECT_EQ(r->incident.state, "rolled_back");
  EXPECT_EQ(r->stopped.size(), 2u);
  for (const recover::LeftRunning& lr : inc.left_running) EXPECT_FALSE(recover::StillRunning(lr));
  EXPECT_EQ(fence_.token(), 4u);
  const fs::path aside = fs::path(Root()) / ".lifeboat-rolled-back" / opened.id;
  EXPECT_EQ(ReadFile(aside / (dir_ / "data" / "db" / "db.txt").relative_path()),
            "rows of the db\n");
  EXPECT_EQ(ReadFile(aside / (dir_ / "data" / "web" / "from-db.txt").relative_path()),
            "rows of the db\n");
  EXPECT_FALSE(fs::exists(web_dir));
}

TEST_F(FailoverTest, AnOpenIncidentToAnotherSiteOrWithAFailedDependencyIsNotJoined) {
  plan_ = Load(DbWebYaml(/*db_fails=*/true));
  Backup(plan_);
  Result<FailoverOutcome> first = PerformFailover(plan_, FailoverOf("db"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->ExitCode(), 3) << FormatFailoverOutcome(*first) << output_;
  const std::string id = first->incident.id;
  EXPECT_EQ(first->incident.services.at(0).result, "failed");

  // web to b needs db, which failed in the open incident: refused, nothing moved.
  Result<FailoverOutcome> web = PerformFailover(plan_, FailoverOf("web"));
  ASSERT_TRUE(web.ok()) << web.status().ToString();
  EXPECT_EQ(web->result, FailoverOutcome::Result::kRefused);
  EXPECT_EQ(web->ExitCode(), 2);
  EXPECT_NE(
      web->refusal.find("service db was not recovered in the open incident " + id + " (failed: "),
      std::string::npos)
      << web->refusal;
  EXPECT_NE(web->refusal.find("roll it back (lifeboat failover rollback)"), std::string::npos);
  EXPECT_EQ(fence_.token(), 1u);

  // To another site: refused as before.
  FailoverOptions to_a = FailoverOf("web");
  to_a.recover.site = "a";
  Result<FailoverOutcome> other = PerformFailover(plan_, to_a);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(other->result, FailoverOutcome::Result::kRefused);
  EXPECT_EQ(other->refusal, "incident " + id +
                                " (a failover to b) is still open: commit it (lifeboat failover "
                                "commit) or roll it back (lifeboat failover rollback) first");
  Result<std::optional<IncidentState>> status = FailoverStatus(Failover().state_dir);
  ASSERT_TRUE(status.ok() && status->has_value());
  EXPECT_EQ((*status)->services.size(), 1u);
  EXPECT_EQ(fence_.token(), 1u);
}

// Failback iterates the incident's services: both parts of a joined incident come home in it.
TEST_F(FailoverTest, AJoinedIncidentFailsBackAsOne) {
  const std::string root_a = (dir_ / "root-a").string();
  plan_ = Load(DbWebYaml(/*db_fails=*/false, root_a));
  Backup(plan_);
  Result<FailoverOutcome> first = PerformFailover(plan_, FailoverOf("db"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->ExitCode(), 0) << FormatFailoverOutcome(*first) << output_;
  Result<FailoverOutcome> second = PerformFailover(plan_, FailoverOf("web"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->ExitCode(), 0) << FormatFailoverOutcome(*second) << output_;
  ASSERT_EQ(second->joined, first->incident.id);
  const std::vector<recover::LeftRunning> at_b = second->incident.left_running;
  ASSERT_EQ(at_b.size(), 2u);

  FailbackOptions o = Failback();
  Result<FailbackOutcome> fb = PerformFailback(plan_, o);
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  ASSERT_EQ(fb->ExitCode(), 0) << FormatFailbackOutcome(*fb) << output_;
  ASSERT_TRUE(fb->ended.has_value());
  EXPECT_EQ(fb->ended->id, first->incident.id);
  EXPECT_EQ(fb->ended->state, "closed");
  const IncidentState& inc = fb->failback.incident;
  ASSERT_EQ(inc.services.size(), 2u);
  for (const IncidentService& s : inc.services) EXPECT_EQ(s.result, "recovered") << s.service;
  for (const recover::LeftRunning& lr : at_b) EXPECT_FALSE(recover::StillRunning(lr));
  // web at a fetched db at a again.
  EXPECT_EQ(ReadFile(fs::path(root_a + (dir_ / "data" / "web").string()) / "from-db.txt"),
            "rows of the db\n");
  recover::StopLeftRunning(inc.left_running, std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace lifeboat::dr
