// The daemon against real components (issue 16): a real PostgreSQL 15 (tests/servers/postgres.sh)
// and a small HTTP service (a /usr/bin/python3 script) that depends on it and answers with the
// database's row count run at the primary (site a). A real daemon::Daemon for both sites (one
// machine, the lock-file fence), on its own thread with the real clock, health-checks both
// against production every few seconds and backs them up on a `* * * * *` schedule. Once it has
// made a backup, the test kills the primary's PostgreSQL and HTTP service and removes site a's
// repository (renamed). The daemon declares both failed and fails them over to b
// (DrFailoverCallback, as the CLI wires it): the incident shows the database's wave before the
// shop's (the shop's recovery started after the database was verified), the HTTP service answers
// at its production port from b's recovery root with the rows of the daemon's backup, each
// service's data-loss window is within its RPO and its achieved RTO is recorded (printed with
// the plan's) and within the plan's RTO. Then the daemon is stopped and the failover rolled back
// (nothing left running).
//
// Run through: tests/servers/run_with.sh postgres -- daemon_server_test
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "daemon/daemon.h"
#include "daemon/failover_job.h"
#include "dr/failover.h"
#include "fence/fence.h"
#include "recover/checks.h"
#include "recover/left_running.h"
#include "recover/recover_test_util.h"
#include "util/subprocess.h"

namespace lifeboat::daemon {
namespace {

using recover::testing::ReadFile;
using recover::testing::WriteFile;
namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = ::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: run this test through "
                  << "tests/servers/run_with.sh postgres -- <this binary>";
    return "";
  }
  return v;
}

// The first column of the first row of `sql`, or the error.
std::string Query(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string e = PQerrorMessage(conn);
    PQfinish(conn);
    return "connection failed: " + e;
  }
  PGresult* r = PQexec(conn, sql.c_str());
  std::string out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
    out = PQgetvalue(r, 0, 0);
  } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    out = std::string("error: ") + PQerrorMessage(conn);
  }
  PQclear(r);
  PQfinish(conn);
  return out;
}

std::string Primary(const std::string& database) {
  return "host=" + Env("LIFEBOAT_TEST_PG_HOST") + " port=" + Env("LIFEBOAT_TEST_PG_PORT") +
         " user=" + Env("LIFEBOAT_TEST_PG_USER") + " password=" + Env("LIFEBOAT_TEST_PG_PASSWORD") +
         " dbname=" + database + " connect_timeout=10";
}

constexpr char kShop[] = R"PY(import http.server, os, subprocess, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        env = dict(os.environ, PGHOST=os.environ["LIFEBOAT_PG_HOST_BILLING_DB"],
                   PGPORT=os.environ["LIFEBOAT_PG_PORT_BILLING_DB"],
                   PGUSER=os.environ["LIFEBOAT_PG_USER_BILLING_DB"], PGDATABASE="billing")
        r = subprocess.run([sys.argv[1], "--no-psqlrc", "-tA", "-c",
                            "select count(*) from invoices"], env=env, capture_output=True,
                           text=True)
        body = ("rows " + r.stdout.strip() if r.returncode == 0 else "error " + r.stderr).encode()
        self.send_response(200 if r.returncode == 0 else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["LIFEBOAT_PORT_HTTP"])),
                                Handler).serve_forever()
)PY";

int FreePort() {
  for (int port = 20000 + ::getpid() % 20000;; ++port) {
    if (recover::WaitForTcp("127.0.0.1", port, Context().WithTimeout(std::chrono::milliseconds(50)),
                            nullptr)
            .ok()) {
      continue;
    }
    return port;
  }
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

class DaemonServerTest : public recover::testing::RecoverFixture {
 protected:
  void TearDown() override {
    if (daemon_ != nullptr) daemon_->Stop();
    if (loop_.joinable()) loop_.join();
    daemon_.reset();
    shop_.reset();  // the primary's HTTP service, when the test ended before killing it
    // Whatever a failover left running (an assertion failed before the rollback).
    Result<std::optional<dr::IncidentState>> inc = dr::FailoverStatus((dir_ / "state").string());
    if (inc.ok() && *inc && (*inc)->open()) {
      recover::StopLeftRunning((*inc)->left_running, std::chrono::seconds(10));
    }
    fence_.reset();
    RecoverFixture::TearDown();
  }

  // Stops the primary cluster at once (-m immediate): the primary's database dies.
  void KillPrimaryCluster() {
    const std::string data_dir =
        Query(Primary("postgres"), "SELECT setting FROM pg_settings WHERE name = 'data_directory'");
    ASSERT_EQ(data_dir.front(), '/') << data_dir;
    SubprocessOptions o;
    std::vector<std::string> argv = {Env("LIFEBOAT_TEST_PG_BINDIR") + "/pg_ctl",
                                     "stop",
                                     "-D",
                                     data_dir,
                                     "-m",
                                     "immediate",
                                     "-w"};
    if (::geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    o.argv = argv;
    o.working_directory = "/";
    o.stderr_to_stdout = true;
    Result<std::string> out = RunAndCapture(o);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_NE(Query(Primary("postgres"), "select 1").find("connection failed"), std::string::npos);
  }

  std::string Log() {
    MutexLock l(&mu_);
    return log_;
  }

  std::unique_ptr<Subprocess> shop_;
  std::unique_ptr<fence::Fence> fence_;
  std::unique_ptr<Daemon> daemon_;
  std::thread loop_;
  Mutex mu_;
  std::string log_ GUARDED_BY(mu_);
};

TEST_F(DaemonServerTest, DaemonBacksUpDetectsTheFailureAndFailsOverInWaves) {
  const auto test_start = std::chrono::steady_clock::now();
  Query(Primary("postgres"), "DROP DATABASE IF EXISTS billing");
  Query(Primary("postgres"), "CREATE DATABASE billing");
  Query(Primary("billing"),
        "CREATE TABLE invoices(id serial PRIMARY KEY, amount int NOT NULL);"
        "INSERT INTO invoices(amount) SELECT g * 3 FROM generate_series(1, 250) g");
  const fs::path shop = dir_ / "data" / "shop";
  WriteFile(shop / "serve.py", kShop);
  const int http_port = FreePort();
  const std::string root = (dir_ / "root-b").string();
  const std::string policy =
      "    failover: {to: b, automatic: true, interval: 3s, timeout: 2s, "
      "failures_before_failover: 2}\n";
  const std::string yaml =
      "version: 1\nsites:\n" + Site("a") + "    recovery_root: " + (dir_ / "root-a").string() +
      "\n" + Site("b") + "    recovery_root: " + root +
      "\ndaemon:\n  loop_wait: 1s\n"
      "services:\n"
      "  billing-db:\n    tier: 0\n    rpo: 15m\n    rto: 10m\n    schedule: '* * * * *'\n"
      "    sources:\n"
      "      - name: billing\n        postgres: {host: 127.0.0.1, port: " +
      Env("LIFEBOAT_TEST_PG_PORT") + ", database: billing, user: " + Env("LIFEBOAT_TEST_PG_USER") +
      ", password_env: LIFEBOAT_TEST_PG_PASSWORD}\n"
      "    sites: [a, b]\n    recover:\n      - postgres_restore: {}\n        timeout: 2m\n"
      "    verify:\n      - sql: {query: \"select count(*) >= 250 from invoices\", expect: "
      "\"t\"}\n" +
      policy +
      "  shop:\n    tier: 1\n    rpo: 1h\n    rto: 10m\n    schedule: '* * * * *'\n"
      "    depends_on: [billing-db]\n"
      "    sources:\n      - paths: [" +
      shop.string() +
      "]\n    sites: [a, b]\n    recover:\n      - command: \"exec /usr/bin/python3 "
      "$LIFEBOAT_RESTORE_DIR" +
      (shop / "serve.py").string() + " " + Env("LIFEBOAT_TEST_PG_BINDIR") +
      "/psql\"\n        background: true\n        ports: {http: " + std::to_string(http_port) +
      "}\n        timeout: 30s\n    verify:\n"
      "      - http: {port: http, path: /, expect_body: \"rows 2\"}\n" +
      policy;
  WriteFile(dir_ / "lifeboat.yaml", yaml);
  const plan::Plan plan = Load(yaml);
  ASSERT_EQ(plan.services.size(), 2u);
  ASSERT_TRUE(plan.services[0].failover.has_value());
  ASSERT_TRUE(plan.services[1].failover.has_value());
  Result<dr::PlanInitReport> init = dr::InitPlanSites(plan, {});
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  ASSERT_TRUE(init->ok());

  // The shop at the primary, as production runs it (the database at the primary cluster).
  {
    SubprocessOptions o;
    o.argv = {"/usr/bin/python3", (shop / "serve.py").string(),
              Env("LIFEBOAT_TEST_PG_BINDIR") + "/psql"};
    o.environment = {{"LIFEBOAT_PG_HOST_BILLING_DB", "127.0.0.1"},
                     {"LIFEBOAT_PG_PORT_BILLING_DB", Env("LIFEBOAT_TEST_PG_PORT")},
                     {"LIFEBOAT_PG_USER_BILLING_DB", Env("LIFEBOAT_TEST_PG_USER")},
                     {"PGPASSWORD", Env("LIFEBOAT_TEST_PG_PASSWORD")},
                     {"LIFEBOAT_PORT_HTTP", std::to_string(http_port)}};
    o.pass_secrets = {"PGPASSWORD"};
    o.working_directory = "/";
    Result<std::unique_ptr<Subprocess>> s = Subprocess::Start(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    shop_ = std::move(*s);
  }
  const std::string shop_url = "http://127.0.0.1:" + std::to_string(http_port) + "/";
  recover::HttpCheckResult http = recover::CheckHttp(
      shop_url, 200, std::string("rows 250"), Context().WithTimeout(std::chrono::seconds(20)));
  ASSERT_TRUE(http.status.ok()) << http.status.ToString() << " " << http.answer;

  // The daemon for both sites (one machine: the lock-file fence), on its own thread.
  const std::string state = (dir_ / "state").string();
  Result<std::unique_ptr<fence::Fence>> fence =
      fence::OpenFence(plan.daemon, state, fence::ActorIdentity(), Context());
  ASSERT_TRUE(fence.ok()) << fence.status().ToString();
  fence_ = std::move(*fence);
  DaemonOptions o;
  o.plan_path = (dir_ / "lifeboat.yaml").string();
  o.state_dir = state;
  o.host = "testhost";
  o.fence = fence_.get();
  o.actor = fence::ActorIdentity();
  IncidentJobOptions jobs;
  jobs.fence = fence_.get();
  jobs.state_dir = state;
  jobs.host = "testhost";
  auto log = [this](const std::string& line) {
    MutexLock l(&mu_);
    log_ += line + "\n";
  };
  jobs.on_line = log;
  o.failover = DrFailoverCallback(jobs);
  o.on_line = log;
  Result<std::unique_ptr<Daemon>> d = Daemon::Create(std::move(o));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  daemon_ = std::move(*d);
  loop_ = std::thread([this] {
    Status st = daemon_->Run();
    EXPECT_TRUE(st.ok()) << st.ToString();
  });

  // The daemon's own backup, and both services seen healthy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  auto ready = [&] {
    const DaemonSnapshot s = daemon_->Snapshot();
    if (s.runs < 1 || !s.current_job.empty()) return false;
    for (const ServiceHealth& h : s.health) {
      if (h.state != HealthState::kHealthy) return false;
    }
    return s.health.size() == 2;
  };
  while (!ready() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(ready()) << Log();
  ASSERT_EQ(daemon_->Snapshot().last_run_exit, 0) << Log();
  std::printf("daemon backed up both services after %.1f s\n", Seconds(test_start));
  EXPECT_FALSE(dr::FailoverStatus(state)->has_value()) << Log();

  // The disaster: the primary's database and HTTP service die, and site a's repository is gone.
  const auto disaster = std::chrono::steady_clock::now();
  shop_.reset();
  KillPrimaryCluster();
  fs::rename(dir_ / "sites" / "a", dir_ / "sites" / "a.gone");

  // The daemon fails both over to b.
  std::optional<dr::IncidentState> inc;
  auto done = [&] {
    Result<std::optional<dr::IncidentState>> r = dr::FailoverStatus(state);
    if (!r.ok() || !*r) return false;
    inc = **r;
    if (inc->services.size() != 2) return false;
    for (const dr::IncidentService& s : inc->services) {
      if (s.result != "recovered") return false;
    }
    return daemon_->Snapshot().current_job.empty();
  };
  const auto failover_deadline = disaster + std::chrono::seconds(90);
  while (!done() && std::chrono::steady_clock::now() < failover_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_TRUE(done()) << Log();
  std::printf("failed over by the daemon %.1f s after the disaster\n", Seconds(disaster));
  EXPECT_EQ(inc->to_site, "b");
  EXPECT_EQ(inc->declared_by, "daemon b");
  EXPECT_EQ(inc->state, "open");
  const dr::IncidentService* db = inc->Find("billing-db");
  const dr::IncidentService* web = inc->Find("shop");
  ASSERT_NE(db, nullptr);
  ASSERT_NE(web, nullptr);
  // In order: the database's wave, then the shop's, whose recovery started after the database
  // was verified.
  EXPECT_LT(db->wave, web->wave);
  ASSERT_FALSE(db->steps.empty());
  ASSERT_FALSE(web->steps.empty());
  int64_t db_verified = 0;
  for (const dr::IncidentStep& st : db->steps) {
    if (st.phase == "verify") {
      EXPECT_EQ(st.state, "ok") << st.name << ": " << st.output;
      db_verified = std::max(db_verified, st.end_ns);
    }
  }
  ASSERT_GT(db_verified, 0) << "no verify step of billing-db";
  EXPECT_GE(web->steps.front().start_ns, db_verified);
  // The RPO met, the RTO recorded and within the plan's.
  for (const dr::IncidentService* s : {db, web}) {
    ASSERT_TRUE(s->data_loss_seconds.has_value()) << s->service;
    ASSERT_TRUE(s->rto_seconds.has_value()) << s->service;
    ASSERT_TRUE(s->rto_target_seconds.has_value()) << s->service;
    std::printf("%s: wave %d, achieved RTO %.1f s (plan %.0f s), data loss %.1f s (RPO %.0f s)\n",
                s->service.c_str(), s->wave, *s->rto_seconds, *s->rto_target_seconds,
                *s->data_loss_seconds, s->rpo_target_seconds);
    EXPECT_LE(*s->data_loss_seconds, s->rpo_target_seconds) << s->service;
    EXPECT_LE(*s->rto_seconds, *s->rto_target_seconds) << s->service;
  }

  // The shop answers at its production port from b's recovery root with the backed-up rows.
  EXPECT_TRUE(fs::exists(root + "/var/lib/lifeboat/postgres/billing-db-billing/data/PG_VERSION"));
  http = recover::CheckHttp(shop_url, 200, std::string("rows 250"),
                            Context().WithTimeout(std::chrono::seconds(20)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString() << " " << http.answer;
  ASSERT_EQ(inc->left_running.size(), 2u);
  for (const recover::LeftRunning& lr : inc->left_running) {
    EXPECT_TRUE(recover::StillRunning(lr)) << lr.what;
  }

  // The daemon stopped; the failover rolled back: nothing left running.
  daemon_->Stop();
  loop_.join();
  daemon_.reset();
  // As `lifeboat failover rollback` does: a fence of its own (the daemon's left with it).
  fence = fence::OpenFence(plan.daemon, state, fence::ActorIdentity(), Context());
  ASSERT_TRUE(fence.ok()) << fence.status().ToString();
  fence_ = std::move(*fence);
  dr::IncidentActionOptions ro;
  ro.fence = fence_.get();
  ro.state_dir = state;
  Result<dr::IncidentActionOutcome> rolled = dr::RollbackFailover(plan, ro);
  ASSERT_TRUE(rolled.ok()) << rolled.status().ToString();
  EXPECT_EQ(rolled->ExitCode(), 0) << dr::FormatIncidentAction(*rolled, "rollback");
  for (const recover::LeftRunning& lr : inc->left_running) {
    EXPECT_FALSE(recover::StillRunning(lr)) << lr.what;
    EXPECT_TRUE(recover::ProcessGroupMembers(lr.pgid).empty()) << lr.what;
  }
  EXPECT_FALSE(recover::WaitForTcp("127.0.0.1", http_port,
                                   Context().WithTimeout(std::chrono::milliseconds(200)), nullptr)
                   .ok());
  std::printf("test took %.1f s\n", Seconds(test_start));
}

}  // namespace
}  // namespace lifeboat::daemon
