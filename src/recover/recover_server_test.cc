// Drills against a real PostgreSQL 15 (tests/servers/postgres.sh): a postgres service backed up by
// `run`, then drilled into a scratch cluster on a free loopback port where the plan's sql check
// runs, and the cluster torn down afterwards; an HTTP service (a /usr/bin/python3 script restored
// with it) recovered after the database it depends on and checked by http steps; a sql check that
// fails, which skips the dependent service (naming why) while an independent one still passes.
//
// Run through: tests/servers/run_with.sh postgres -- recover_server_test
#include <libpq-fe.h>

#include "recover/checks.h"
#include "recover/recover.h"
#include "recover/recover_test_util.h"

namespace lifeboat::recover {
namespace {

using testing::RecoverFixture;
using testing::WriteFile;
namespace fs = std::filesystem;

constexpr char kShop[] = R"PY(import functools, http.server, os, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = ("ok database on port " + os.environ["LIFEBOAT_PG_PORT_BILLING_DB"]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["LIFEBOAT_PORT_HTTP"])),
                                functools.partial(Handler, directory=sys.argv[1])).serve_forever()
)PY";

std::string Env(const char* name) {
  const char* v = ::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: run this test through "
                  << "tests/servers/run_with.sh postgres -- <this binary>";
    return "";
  }
  return v;
}

// Runs `sql` in `database` of the test's server.
void Exec(const std::string& database, const std::string& sql) {
  const std::string conninfo =
      "host=" + Env("LIFEBOAT_TEST_PG_HOST") + " port=" + Env("LIFEBOAT_TEST_PG_PORT") +
      " user=" + Env("LIFEBOAT_TEST_PG_USER") + " password=" + Env("LIFEBOAT_TEST_PG_PASSWORD") +
      " dbname=" + database + " connect_timeout=10";
  PGconn* conn = PQconnectdb(conninfo.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql.c_str());
  EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
      << sql << ": " << PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
}

class RecoverServerTest : public RecoverFixture {
 protected:
  // billing-db (tier 0): the test server's database `billing`, restored into a scratch cluster;
  // shop (tier 1, depends on billing-db): its pages and server script; docs (tier 3): files.
  std::string Plan(const std::string& sql_expect) {
    const fs::path shop = dir_ / "data" / "shop";
    return "version: 1\nsites:\n" + Site("a") +
           "services:\n"
           "  billing-db:\n    tier: 0\n    rpo: 15m\n    rto: 10m\n    sources:\n"
           "      - name: billing\n        postgres: {host: 127.0.0.1, port: " +
           Env("LIFEBOAT_TEST_PG_PORT") +
           ", database: billing, user: " + Env("LIFEBOAT_TEST_PG_USER") +
           ", password_env: LIFEBOAT_TEST_PG_PASSWORD}\n"
           "    sites: [a]\n    recover:\n      - postgres_restore: {}\n        timeout: 2m\n"
           "    verify:\n"
           "      - sql: {query: \"select count(*) || ':' || sum(amount) from invoices\", expect: "
           "\"" +
           sql_expect +
           "\"}\n"
           "      - command: {run: \"psql --no-psqlrc -tA -c 'select max(id) from invoices'\", "
           "expect_output: \"250\"}\n"
           "  shop:\n    tier: 1\n    rpo: 1h\n    rto: 10m\n    depends_on: [billing-db]\n"
           "    sources:\n      - paths: [" +
           shop.string() +
           "]\n    sites: [a]\n"
           "    recover:\n      - command: \"exec /usr/bin/python3 $LIFEBOAT_RESTORE_DIR" +
           (shop / "serve.py").string() + " $LIFEBOAT_RESTORE_DIR" + (shop / "www").string() +
           "\"\n        background: true\n        ports: {http: 8080}\n        timeout: 30s\n"
           "    verify:\n"
           "      - http: {port: http, path: /health, expect_body: \"ok database on port\"}\n"
           "      - http: {port: http, path: /index.html, expect_body: \"invoice archive\"}\n"
           "  docs:\n    tier: 3\n    rpo: 1d\n    sources:\n      - paths: [" +
           (dir_ / "data" / "docs").string() +
           "]\n    sites: [a]\n    verify:\n"
           "      - files: {}\n";
  }

  void SetUp() override {
    RecoverFixture::SetUp();
    Exec("postgres", "DROP DATABASE IF EXISTS billing");
    Exec("postgres", "CREATE DATABASE billing");
    Exec("billing",
         "CREATE TABLE invoices(id serial PRIMARY KEY, amount int NOT NULL);"
         "INSERT INTO invoices(amount) SELECT g * 3 FROM generate_series(1, 250) g");
    WriteFile(dir_ / "data" / "shop" / "serve.py", kShop);
    WriteFile(dir_ / "data" / "shop" / "www" / "index.html", "<h1>invoice archive</h1>\n");
    WriteFile(dir_ / "data" / "docs" / "readme.txt", "docs\n");
  }
};

TEST_F(RecoverServerTest, APostgresServiceAndTheHttpServiceThatNeedsIt) {
  plan::Plan plan = Load(Plan("250:94125"));
  Backup(plan);
  RecoverOptions o = Options();
  o.services = {"shop"};
  Result<RecoveryReport> r = RecoverServices(plan, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->passed()) << FormatRecoveryReport(*r) << output_;
  ASSERT_EQ(r->services.size(), 2u);
  const ServiceRecovery& db = Service(*r, "billing-db");
  const ServiceRecovery& shop = Service(*r, "shop");
  EXPECT_EQ(db.wave, 1);
  EXPECT_EQ(shop.wave, 2);
  EXPECT_GE(shop.start_ns, db.end_ns);

  // The dump was restored into a scratch cluster on a free port of 127.0.0.1.
  const StepRecord* restore = Step(db, "postgres_restore");
  ASSERT_NE(restore, nullptr);
  EXPECT_EQ(restore->state, StepState::kOk) << restore->error << "\n" << restore->output;
  EXPECT_NE(restore->output.find("scratch cluster: "), std::string::npos) << restore->output;
  const size_t at = restore->output.find("127.0.0.1:");
  ASSERT_NE(at, std::string::npos);
  const int port = std::atoi(restore->output.c_str() + at + 10);
  EXPECT_GT(port, 0);
  EXPECT_NE(std::to_string(port), Env("LIFEBOAT_TEST_PG_PORT"));
  const StepRecord* sql = Step(db, "sql");
  ASSERT_NE(sql, nullptr);
  EXPECT_EQ(sql->state, StepState::kOk) << sql->error;
  EXPECT_EQ(sql->output, "250:94125");
  EXPECT_NE(sql->name.find("on database billing"), std::string::npos);
  // psql in a check reaches the scratch cluster through PGHOST/PGPORT/PGPASSFILE.
  EXPECT_EQ(Step(db, "command")->state, StepState::kOk) << Step(db, "command")->output;
  ASSERT_TRUE(db.rto_seconds.has_value());
  EXPECT_EQ(db.rpo_met(), std::optional<bool>(true));
  EXPECT_EQ(db.sources.at(0).method, "pg_restore");
  // The programs it ran, with their versions (for the drill record), asked after the recovery.
  ASSERT_EQ(db.tools.size(), 2u);
  EXPECT_EQ(db.tools[0].name, "postgres");
  EXPECT_EQ(db.tools[1].name, "pg_restore");
  for (const ToolUsed& t : db.tools) {
    EXPECT_NE(t.version.find("(PostgreSQL) "), std::string::npos) << t.path << ": " << t.version;
  }
  EXPECT_TRUE(shop.tools.empty());
  // Step labels are the plan's, the same in every drill: no port chosen for this one.
  EXPECT_EQ(restore->label, "postgres_restore");
  EXPECT_EQ(sql->label.find("on database"), std::string::npos) << sql->label;

  // The shop was told where the database is.
  const StepRecord* health = Step(shop, "http");
  ASSERT_NE(health, nullptr);
  EXPECT_NE(health->output.find("ok database on port " + std::to_string(port)), std::string::npos)
      << health->output;
  EXPECT_EQ(health->label, "http GET /health on 127.0.0.1 port http");

  // Torn down: nothing runs in the sandbox, nothing answers on the cluster's port.
  EXPECT_FALSE(fs::exists(r->sandbox));
  ExpectNothingRunsIn(r->sandbox);
  Status gone =
      WaitForTcp("127.0.0.1", port, Context().WithTimeout(std::chrono::milliseconds(200)), nullptr);
  EXPECT_FALSE(gone.ok()) << "the scratch cluster still listens on " << port;
}

TEST_F(RecoverServerTest, AFailingSqlCheckSkipsItsDependentsAndNotTheOthers) {
  Backup(Load(Plan("250:94125")));
  plan::Plan wrong = Load(Plan("251:0"));  // the same services and sources, a check that fails
  Result<RecoveryReport> r = RecoverServices(wrong, Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ExitCode(), 3);
  const ServiceRecovery& db = Service(*r, "billing-db");
  EXPECT_EQ(db.state, ServiceState::kFailed);
  EXPECT_NE(db.failure.find("the query answered \"250:94125\", expected \"251:0\""),
            std::string::npos)
      << db.failure;
  const ServiceRecovery& shop = Service(*r, "shop");
  EXPECT_EQ(shop.state, ServiceState::kSkipped);
  EXPECT_NE(shop.failure.find("it depends on billing-db, which failed (sql "), std::string::npos)
      << shop.failure;
  EXPECT_EQ(Service(*r, "docs").state, ServiceState::kPassed);
  EXPECT_FALSE(fs::exists(r->sandbox));
  ExpectNothingRunsIn(r->sandbox);
}

}  // namespace
}  // namespace lifeboat::recover
