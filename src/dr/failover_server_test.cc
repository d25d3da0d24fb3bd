// A failover against a real PostgreSQL 15 (tests/servers/postgres.sh), through the release
// binary: two "sites" (local repositories a and b, b with a recovery root in the test's
// directory), a postgres source and an HTTP service (a /usr/bin/python3 script) that depends on
// it and answers with the database's row count. Backed up; the primary PostgreSQL killed;
// `lifeboat failover --all --to b --yes` brings the database up at the production port below b's
// recovery root, then the HTTP service, which answers with the rows that were backed up; the
// achieved RTO is recorded. Rows are written at the recovered database; `failover rollback`
// stops both (gone by pid and start time) and moves the files aside (nothing deleted). Then a
// second failover, rows written at the recovery site, and `lifeboat failback --to a`: the rows
// are in the database at a's recovery root, nothing runs at b any more. `failover rollback` of
// that failback: both services up at b again with those rows; more rows at b, a second failback:
// every row at a, nothing left running at b.
//
// Run through: tests/servers/run_with.sh postgres -- failover_server_test
#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include "recover/checks.h"
#include "recover/left_running.h"
#include "recover/recover_test_util.h"
#include "util/subprocess.h"

namespace lifeboat::dr {
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
         " user=" + Env("LIFEBOAT_TEST_PG_USER") + " password=" +
         Env("LIFEBOAT_TEST_PG_PASSWORD") + " dbname=" + database + " connect_timeout=10";
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
    if (recover::WaitForTcp("127.0.0.1", port,
                            Context().WithTimeout(std::chrono::milliseconds(50)), nullptr)
            .ok()) {
      continue;
    }
    return port;
  }
}

class FailoverServerTest : public recover::testing::RecoverFixture {
 protected:
  // Runs the release binary; returns its exit status, stdout into *out.
  int Cli(const std::string& args, std::string* out) {
    const std::string file = (dir_ / "cli.out").string();
    const std::string cmd = std::string(LIFEBOAT_CLI) + " " + args + " --plan " +
                            (dir_ / "lifeboat.yaml").string() + " --state-dir " +
                            (dir_ / "state").string() + " > " + file + " 2>&1";
    const int rc = std::system(cmd.c_str());
    *out = ReadFile(file);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
};

TEST_F(FailoverServerTest, DatabaseAndHttpServiceAtTheRecoverySiteThenRollback) {
  Query(Primary("postgres"), "DROP DATABASE IF EXISTS billing");
  Query(Primary("postgres"), "CREATE DATABASE billing");
  Query(Primary("billing"),
        "CREATE TABLE invoices(id serial PRIMARY KEY, amount int NOT NULL);"
        "INSERT INTO invoices(amount) SELECT g * 3 FROM generate_series(1, 250) g");
  const fs::path shop = dir_ / "data" / "shop";
  WriteFile(shop / "serve.py", kShop);
  const int http_port = FreePort();
  const std::string root = (dir_ / "root-b").string();
  const std::string root_a = (dir_ / "root-a").string();
  const std::string yaml =
      "version: 1\nsites:\n" + Site("a") + "    recovery_root: " + root_a + "\n" + Site("b") +
      "    recovery_root: " + root +
      "\nservices:\n"
      "  billing-db:\n    tier: 0\n    rpo: 15m\n    rto: 10m\n    sources:\n"
      "      - name: billing\n        postgres: {host: 127.0.0.1, port: " +
      Env("LIFEBOAT_TEST_PG_PORT") + ", database: billing, user: " + Env("LIFEBOAT_TEST_PG_USER") +
      ", password_env: LIFEBOAT_TEST_PG_PASSWORD}\n"
      "    sites: [a, b]\n    recover:\n      - postgres_restore: {}\n        timeout: 2m\n"
      "    verify:\n      - sql: {query: \"select count(*) >= 250 from invoices\", expect: \"t\"}\n"
      "  shop:\n    tier: 1\n    rpo: 1h\n    rto: 10m\n    depends_on: [billing-db]\n"
      "    sources:\n      - paths: [" +
      shop.string() +
      "]\n    sites: [a, b]\n    recover:\n      - command: \"exec /usr/bin/python3 "
      "$LIFEBOAT_RESTORE_DIR" +
      (shop / "serve.py").string() + " " + Env("LIFEBOAT_TEST_PG_BINDIR") +
      "/psql\"\n        background: true\n        ports: {http: " + std::to_string(http_port) +
      "}\n        timeout: 30s\n    verify:\n"
      "      - http: {port: http, path: /, expect_body: \"rows 2\"}\n";
  WriteFile(dir_ / "lifeboat.yaml", yaml);
  plan::Plan plan = Load(yaml);
  Backup(plan);

  // The primary dies.
  const std::string data_dir =
      Query(Primary("postgres"), "SELECT setting FROM pg_settings WHERE name = 'data_directory'");
  ASSERT_EQ(data_dir.front(), '/') << data_dir;
  {
    SubprocessOptions o;
    std::vector<std::string> argv = {Env("LIFEBOAT_TEST_PG_BINDIR") + "/pg_ctl", "stop", "-D",
                                     data_dir, "-m", "immediate", "-w"};
    if (::geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    o.argv = argv;
    o.working_directory = "/";
    o.stderr_to_stdout = true;
    Result<std::string> out = RunAndCapture(o);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
  }
  ASSERT_NE(Query(Primary("postgres"), "select 1").find("connection failed"), std::string::npos);

  std::string out;
  ASSERT_EQ(Cli("failover --all --to b --yes --json", &out), 0) << out;
  const nlohmann::json j = nlohmann::json::parse(out.substr(out.find('{')));
  const nlohmann::json& inc = j["incident"];
  EXPECT_EQ(inc["state"], "open");
  ASSERT_EQ(inc["services"].size(), 2u);
  for (const auto& s : inc["services"]) {
    EXPECT_EQ(s["result"], "recovered") << s.dump();
    EXPECT_TRUE(s["rto_seconds"].is_number()) << s.dump();  // the achieved RTO is recorded
    EXPECT_TRUE(s["data_loss_seconds"].is_number()) << s.dump();
  }
  // The database at the production port, below b's recovery root, with what was backed up.
  const std::string cluster = root + "/var/lib/lifeboat/postgres/billing-db-billing/data";
  EXPECT_TRUE(fs::exists(cluster + "/PG_VERSION"));
  ::setenv("PGPASSFILE", (root + "/var/lib/lifeboat/pgpass").c_str(), 1);
  const std::string recovered = "host=127.0.0.1 port=" + Env("LIFEBOAT_TEST_PG_PORT") +
                                " user=lifeboat dbname=billing connect_timeout=10";
  EXPECT_EQ(Query(recovered, "select count(*) from invoices"), "250");
  // The HTTP service answers with the data, after the command returned.
  recover::HttpCheckResult http = recover::CheckHttp(
      "http://127.0.0.1:" + std::to_string(http_port) + "/", 200, std::string("rows 250"),
      Context().WithTimeout(std::chrono::seconds(20)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString() << " " << http.answer;
  std::vector<recover::LeftRunning> running;
  for (const auto& lr : inc["left_running"]) {
    Result<recover::LeftRunning> x = recover::LeftRunningFromJson(lr);
    ASSERT_TRUE(x.ok());
    EXPECT_TRUE(recover::StillRunning(*x)) << lr.dump();
    running.push_back(*x);
  }
  EXPECT_EQ(running.size(), 2u);

  // Written at the recovery site since the failover: kept aside by the rollback.
  EXPECT_EQ(Query(recovered, "insert into invoices(amount) values (1), (2); select count(*) from "
                             "invoices"),
            "252");
  ASSERT_EQ(Cli("failover rollback --yes --json", &out), 0) << out;
  for (const recover::LeftRunning& lr : running) {
    EXPECT_FALSE(recover::StillRunning(lr)) << lr.what;
    EXPECT_TRUE(recover::ProcessGroupMembers(lr.pgid).empty()) << lr.what;
  }
  EXPECT_FALSE(recover::WaitForTcp("127.0.0.1", http_port,
                                   Context().WithTimeout(std::chrono::milliseconds(200)), nullptr)
                   .ok());
  EXPECT_FALSE(fs::exists(cluster));
  const std::string id = inc["incident"];
  const fs::path aside = fs::path(root) / ".lifeboat-rolled-back" / id;
  EXPECT_TRUE(fs::exists(aside / "var/lib/lifeboat/postgres/billing-db-billing/data/PG_VERSION"));
  EXPECT_TRUE(fs::exists(aside / shop.relative_path() / "serve.py"));
  std::string status;
  EXPECT_EQ(Cli("failover status", &status), 0);
  EXPECT_NE(status.find(": rolled_back"), std::string::npos) << status;

  // Failover again; rows written at the recovery site; failback to a: they are there.
  ASSERT_EQ(Cli("failover --all --to b --yes --json", &out), 0) << out;
  const nlohmann::json again = nlohmann::json::parse(out.substr(out.find('{')))["incident"];
  EXPECT_EQ(Query(recovered, "insert into invoices(amount) values (7), (8), (9)"), "");
  const std::string at_b = Query(recovered, "select count(*) from invoices");
  EXPECT_EQ(at_b, "253");
  std::vector<recover::LeftRunning> at_b_running;
  for (const auto& lr : again["left_running"]) {
    Result<recover::LeftRunning> x = recover::LeftRunningFromJson(lr);
    ASSERT_TRUE(x.ok());
    at_b_running.push_back(*x);
  }
  ASSERT_EQ(at_b_running.size(), 2u);
  ASSERT_EQ(Cli("failback --to a --yes --json", &out), 0) << out;
  const nlohmann::json fb = nlohmann::json::parse(out.substr(out.find('{')));
  EXPECT_EQ(fb["incident"]["kind"], "failback");
  EXPECT_EQ(fb["ends_incident"]["state"], "closed");
  // Nothing left running at the recovery site.
  for (const recover::LeftRunning& lr : at_b_running) {
    EXPECT_FALSE(recover::StillRunning(lr)) << lr.what;
    EXPECT_TRUE(recover::ProcessGroupMembers(lr.pgid).empty()) << lr.what;
  }
  // The original site's database (below a's recovery root) has every row written at b.
  EXPECT_TRUE(fs::exists(root_a + "/var/lib/lifeboat/postgres/billing-db-billing/data/PG_VERSION"));
  ::setenv("PGPASSFILE", (root_a + "/var/lib/lifeboat/pgpass").c_str(), 1);
  EXPECT_EQ(Query(recovered, "select count(*) from invoices"), at_b);
  http = recover::CheckHttp("http://127.0.0.1:" + std::to_string(http_port) + "/", 200,
                            "rows " + at_b, Context().WithTimeout(std::chrono::seconds(20)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString() << " " << http.answer;
  std::vector<recover::LeftRunning> at_a;
  for (const auto& lr : fb["incident"]["left_running"]) {
    Result<recover::LeftRunning> x = recover::LeftRunningFromJson(lr);
    ASSERT_TRUE(x.ok());
    at_a.push_back(*x);
  }
  EXPECT_EQ(at_a.size(), 2u);

  // Rolled back: stopped at a; both up at b again (restored from their final backups, database
  // first), the rows written at b there, the HTTP service answering with them.
  ASSERT_EQ(Cli("failover rollback --yes --json", &out), 0) << out;
  const nlohmann::json rb = nlohmann::json::parse(out.substr(out.find('{')));
  ASSERT_EQ(rb["restarted"].size(), 2u) << rb.dump(2);
  EXPECT_EQ(rb["restarted"][0]["service"], "billing-db");
  for (const auto& r : rb["restarted"]) EXPECT_EQ(r["result"], "restarted") << r.dump();
  for (const recover::LeftRunning& lr : at_a) {
    EXPECT_FALSE(recover::StillRunning(lr)) << lr.what;
    EXPECT_TRUE(recover::ProcessGroupMembers(lr.pgid).empty()) << lr.what;
  }
  std::vector<recover::LeftRunning> again_at_b;
  for (const auto& lr : rb["incident"]["left_running"]) {
    Result<recover::LeftRunning> x = recover::LeftRunningFromJson(lr);
    ASSERT_TRUE(x.ok());
    EXPECT_TRUE(recover::StillRunning(*x)) << lr.dump();
    again_at_b.push_back(*x);
  }
  EXPECT_EQ(again_at_b.size(), 2u);
  EXPECT_TRUE(fs::exists(cluster + "/PG_VERSION"));
  ::setenv("PGPASSFILE", (root + "/var/lib/lifeboat/pgpass").c_str(), 1);
  EXPECT_EQ(Query(recovered, "select count(*) from invoices"), at_b);
  http = recover::CheckHttp("http://127.0.0.1:" + std::to_string(http_port) + "/", 200,
                            "rows " + at_b, Context().WithTimeout(std::chrono::seconds(20)));
  EXPECT_TRUE(http.status.ok()) << http.status.ToString() << " " << http.answer;
  ASSERT_EQ(Cli("failover status", &status), 0);
  EXPECT_NE(status.find(": rolled_back"), std::string::npos) << status;
  EXPECT_NE(status.find("rollback: restarted at b"), std::string::npos) << status;

  // More rows at b; failback again: every row at a, nothing left running at b.
  EXPECT_EQ(Query(recovered, "insert into invoices(amount) values (10), (11)"), "");
  const std::string at_b_again = Query(recovered, "select count(*) from invoices");
  EXPECT_EQ(at_b_again, "255");
  ASSERT_EQ(Cli("failback --to a --yes --json", &out), 0) << out;
  const nlohmann::json fb2 = nlohmann::json::parse(out.substr(out.find('{')));
  for (const recover::LeftRunning& lr : again_at_b) {
    EXPECT_FALSE(recover::StillRunning(lr)) << lr.what;
    EXPECT_TRUE(recover::ProcessGroupMembers(lr.pgid).empty()) << lr.what;
  }
  ::setenv("PGPASSFILE", (root_a + "/var/lib/lifeboat/pgpass").c_str(), 1);
  EXPECT_EQ(Query(recovered, "select count(*) from invoices"), at_b_again);
  ASSERT_EQ(Cli("failover commit --yes", &out), 0) << out;
  std::vector<recover::LeftRunning> at_a_again;
  for (const auto& lr : fb2["incident"]["left_running"]) {
    Result<recover::LeftRunning> x = recover::LeftRunningFromJson(lr);
    ASSERT_TRUE(x.ok());
    at_a_again.push_back(*x);
  }
  EXPECT_EQ(at_a_again.size(), 2u);
  recover::StopLeftRunning(at_a_again, std::chrono::seconds(10));
}

}  // namespace
}  // namespace lifeboat::dr
