// The postgres source against a real PostgreSQL 15 (tests/servers/postgres.sh): dumps taken
// while a writer inserts rows, restored with the command the snapshot records into a fresh
// cluster, compared with what the dump's transaction snapshot saw; pg_dumpall; a wrong
// password, a server that does not answer, an old pg_dump; the password in no message.
//
// Run through: tests/servers/run_with.sh postgres postgres-restore -- postgres_source_test
#include "sources/postgres_source.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backend/memory_backend.h"
#include "repository/keys.h"
#include "restorer/restorer.h"
#include "sources/source.h"
#include "util/subprocess.h"

namespace lifeboat {
namespace {

struct Server {
  std::string host, port, user, password, bindir;
};

// The server a prefix of variables names; fails the test (never skips) when they are missing.
Server ServerFromEnv(const std::string& prefix) {
  Server s;
  for (auto [suffix, field] : {std::pair{"_HOST", &s.host}, std::pair{"_PORT", &s.port},
                               std::pair{"_USER", &s.user}, std::pair{"_PASSWORD", &s.password},
                               std::pair{"_BINDIR", &s.bindir}}) {
    const char* v = ::getenv((prefix + suffix).c_str());
    if (v == nullptr || *v == '\0') {
      ADD_FAILURE() << prefix << suffix << " is not set: run this test through "
                    << "tests/servers/run_with.sh postgres postgres-restore -- <this binary>";
      return {};
    }
    *field = v;
  }
  return s;
}

// A libpq connection for the test's own queries.
class Pg {
 public:
  Pg(const Server& s, const std::string& db) {
    std::string conninfo = "host=" + s.host + " port=" + s.port + " user=" + s.user +
                           " dbname=" + db + " password=" + s.password + " connect_timeout=10";
    conn_ = PQconnectdb(conninfo.c_str());
    EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  ~Pg() { PQfinish(conn_); }
  bool Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    EXPECT_TRUE(ok) << sql << ": " << PQerrorMessage(conn_);
    PQclear(r);
    return ok;
  }
  // The first column of the first row.
  std::string Query(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    else ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
    PQclear(r);
    return out;
  }

 private:
  PGconn* conn_ = nullptr;
};

// Row count and a checksum of a table, in the connection's current transaction.
std::string Fingerprint(Pg& pg, const std::string& table) {
  return pg.Query("SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || v, ',' ORDER "
                  "BY id)), '-') FROM " + table);
}

// Inserts rows one transaction each until stopped; counts what it committed.
class Writer {
 public:
  Writer(const Server& s, const std::string& db, const std::string& table)
      : thread_([this, s, db, table] {
          Pg pg(s, db);
          while (!stop_.load()) {
            if (!pg.Exec("INSERT INTO " + table + "(v) VALUES (md5(random()::text))")) break;
            committed_++;
          }
        }) {}
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t committed() const { return committed_.load(); }
  void WaitFor(int64_t n) const {
    while (committed_.load() < n) std::this_thread::yield();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> committed_{0};
  std::thread thread_;
};

class PostgresSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = ServerFromEnv("LIFEBOAT_TEST_PG");
    dst_ = ServerFromEnv("LIFEBOAT_TEST_PGRESTORE");
    ASSERT_FALSE(src_.host.empty() || dst_.host.empty());
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
    auto repo = Repository::Init(std::make_unique<MemoryBackend>(), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
    char tmpl[] = "/tmp/lifeboat-pg-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    suffix_ = std::to_string(::getpid());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A database on the source server with `rows` rows in table items(id, v).
  std::string MakeDatabase(const std::string& name, int rows) {
    std::string db = name + "_" + suffix_;
    Pg admin(src_, "postgres");
    admin.Exec("DROP DATABASE IF EXISTS " + db);
    admin.Exec("CREATE DATABASE " + db);
    Pg pg(src_, db);
    pg.Exec("CREATE TABLE items(id bigserial PRIMARY KEY, v text NOT NULL)");
    pg.Exec("INSERT INTO items(v) SELECT md5(i::text) FROM generate_series(1, " +
            std::to_string(rows) + ") i");
    return db;
  }

  PostgresSource Source(const std::string& db) {
    PostgresSource p;
    p.host = src_.host;
    p.port = std::stoi(src_.port);
    p.database = db;
    p.user = src_.user;
    p.password = src_.password;
    p.bin_dir = src_.bindir;
    return p;
  }

  Result<SourceResult> Backup(const PostgresSource& p, const std::string& name = "db") {
    SourceOptions o;
    o.service = "shop";
    o.backup.host = "h";
    return BackupSource(*repo_, {.name = name, .config = p}, o);
  }

  // Restores the snapshot's dump file and runs the restore command the snapshot records
  // against the fresh cluster, connection given through PG* variables as a drill does.
  void RestoreIntoFreshCluster(const Snapshot& s) {
    ASSERT_TRUE(s.source.has_value());
    const SourceRestore& info = s.source->restore;
    ASSERT_EQ(info.files.size(), 1u);
    std::string target = dir_ + "/restore-" + std::to_string(restores_++);
    RestoreOptions o;
    o.target = target;
    auto r = RestoreTree(*repo_, s.tree, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::string file = target + info.files[0];
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    SubprocessOptions run;
    ASSERT_FALSE(info.command.empty());
    for (std::string arg : info.command) {
      for (size_t at; (at = arg.find("{file}")) != std::string::npos;) arg.replace(at, 6, file);
      run.argv.push_back(arg);
    }
    run.argv[0] = dst_.bindir + "/" + run.argv[0];
    run.environment = {{"PGHOST", dst_.host}, {"PGPORT", dst_.port}, {"PGUSER", dst_.user},
                       {"PGPASSWORD", dst_.password}};
    run.timeout = std::chrono::minutes(5);
    auto out = RunAndCapture(run);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    restored_file_ = file;
  }

  void DropUserDatabases(const Server& s) {
    Pg admin(s, "postgres");
    std::string list = admin.Query(
        "SELECT coalesce(string_agg(datname, ' '), '') FROM pg_database WHERE NOT datistemplate "
        "AND datname <> 'postgres'");
    std::istringstream names(list);
    for (std::string db; names >> db;) admin.Exec("DROP DATABASE \"" + db + "\"");
  }

  size_t SnapshotCount() {
    auto all = repo_->ListSnapshots();
    return all.ok() ? all->size() : 0;
  }

  // The password is in no message and nowhere in the snapshots' JSON.
  void ExpectNoPassword(const std::string& text) {
    EXPECT_EQ(text.find(src_.password), std::string::npos) << "the password leaked: " << text;
  }

  Server src_, dst_;
  std::unique_ptr<Repository> repo_;
  std::string dir_, suffix_, restored_file_;
  int restores_ = 0;
};

// pg_dump with --snapshot= of a transaction the test holds open: the restored tables must match
// exactly what that transaction saw, while a writer went on inserting during the dump.
TEST_F(PostgresSourceTest, TheRestoredDumpMatchesTheExportedSnapshotExactly) {
  std::string db = MakeDatabase("snapshot", 20000);
  Writer writer(src_, db, "items");
  writer.WaitFor(20);
  Pg exporter(src_, db);
  exporter.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  std::string snapshot = exporter.Query("SELECT pg_export_snapshot()");
  std::string expected = Fingerprint(exporter, "items");
  const int64_t at_export = writer.committed();
  writer.WaitFor(at_export + 50);  // the live table has moved on before the dump starts

  PostgresSource p = Source(db);
  p.dump_options = {"--snapshot=" + snapshot};
  auto r = Backup(p);
  const int64_t at_end = writer.committed();
  writer.Stop();
  exporter.Exec("COMMIT");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(at_end, at_export + 50);

  const Snapshot& s = r->backup.snapshot;
  EXPECT_EQ(s.service, "shop");
  EXPECT_EQ(s.paths, std::vector<std::string>{"/" + db + ".pgdump"});
  const SourceRestore& info = s.source->restore;
  EXPECT_EQ(s.source->kind, "postgres");
  EXPECT_EQ(info.method, "pg_restore");
  EXPECT_EQ(info.format, "custom");
  EXPECT_EQ(info.tool, "pg_dump");
  EXPECT_EQ(info.tool_version.substr(0, 3), "15.");
  Pg admin(src_, "postgres");
  EXPECT_EQ(std::to_string(info.server_version_num), admin.Query("SHOW server_version_num"));
  EXPECT_EQ(info.server_version, admin.Query("SHOW server_version"));
  EXPECT_EQ(info.databases, std::vector<std::string>{db});
  Bytes encoded = EncodeSnapshot(s);
  ExpectNoPassword(std::string(encoded.begin(), encoded.end()));

  RestoreIntoFreshCluster(s);
  Pg restored(dst_, db);
  std::string got = Fingerprint(restored, "items");
  EXPECT_EQ(got, expected);
  // And it is not what the live table holds now (the writer went on): the snapshot mattered.
  Pg live(src_, db);
  EXPECT_NE(Fingerprint(live, "items"), expected);
  std::cerr << "exported snapshot: " << expected << "; restored: " << got << "\n";
}

// Without --snapshot, pg_dump's own transaction decides: the restored table is one consistent
// state: ids 1..N without a gap, N past what was there when the dump began, and the writer went
// on past N while the backup ran. The connection is given as a dsn here.
TEST_F(PostgresSourceTest, ADumpDuringWritesRestoresToOneConsistentState) {
  std::string db = MakeDatabase("live", 20000);
  Writer writer(src_, db, "items");
  writer.WaitFor(20);
  const int64_t at_start = 20000 + writer.committed();
  PostgresSource p;
  p.dsn = "host=" + src_.host + " port=" + src_.port + " dbname=" + db + " user=" + src_.user;
  p.password = src_.password;
  p.bin_dir = src_.bindir;
  auto r = Backup(p);
  const int64_t at_end = 20000 + writer.committed();
  writer.WaitFor(at_end - 20000 + 5);
  writer.Stop();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  RestoreIntoFreshCluster(r->backup.snapshot);
  Pg restored(dst_, db);
  int64_t n = std::stoll(restored.Query("SELECT max(id) FROM items"));
  EXPECT_EQ(restored.Query("SELECT count(*) FROM items"), std::to_string(n)) << "a gap";
  EXPECT_GE(n, at_start);
  EXPECT_GT(at_end, n) << "the writer did not go on while the backup ran";
  std::cerr << "writer at " << at_start << " rows when the backup began, dump holds 1.." << n
            << ", " << at_end << " when it ended\n";
}

// `database: all`: pg_dumpall's SQL, restored with psql into the fresh cluster, holds every
// database (two compared by fingerprint); the dump does not hold the password.
TEST_F(PostgresSourceTest, AllDatabasesWithPgDumpall) {
  std::string a = MakeDatabase("all_a", 3000);
  std::string b = MakeDatabase("all_b", 500);
  PostgresSource p = Source("");
  p.all_databases = true;
  auto r = Backup(p, "cluster");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Snapshot& s = r->backup.snapshot;
  const SourceRestore& info = s.source->restore;
  EXPECT_EQ(s.paths, std::vector<std::string>{"/all-databases.sql"});
  EXPECT_EQ(info.method, "psql");
  EXPECT_EQ(info.format, "plain");
  EXPECT_EQ(info.tool, "pg_dumpall");
  EXPECT_NE(std::find(info.databases.begin(), info.databases.end(), a), info.databases.end());
  EXPECT_NE(std::find(info.databases.begin(), info.databases.end(), b), info.databases.end());
  EXPECT_NE(std::find(info.databases.begin(), info.databases.end(), "postgres"),
            info.databases.end());

  DropUserDatabases(dst_);  // fresh: nothing restored by the other tests
  RestoreIntoFreshCluster(s);
  std::ifstream in(restored_file_);
  std::stringstream sql;
  sql << in.rdbuf();
  EXPECT_NE(sql.str().find("CREATE DATABASE " + a), std::string::npos);
  ExpectNoPassword(sql.str());
  for (const std::string& db : {a, b}) {
    Pg from(src_, db), to(dst_, db);
    EXPECT_EQ(Fingerprint(to, "items"), Fingerprint(from, "items")) << db;
  }
}

TEST_F(PostgresSourceTest, AWrongPasswordFailsClearlyAndWritesNothing) {
  std::string db = MakeDatabase("auth", 10);
  PostgresSource p = Source(db);
  p.password = "wrong-" + src_.password;  // contains the real one: neither may leak
  auto r = Backup(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << r.status().ToString();
  const std::string m = r.status().message();
  EXPECT_NE(m.find("password authentication failed"), std::string::npos) << m;
  EXPECT_NE(m.find("service shop, source db (postgres)"), std::string::npos) << m;
  EXPECT_NE(m.find(src_.host + ":" + src_.port), std::string::npos) << m;
  ExpectNoPassword(m);
  EXPECT_EQ(SnapshotCount(), 0u);
}

// Nothing listens: refused at once. A socket that accepts but never answers: the connect
// timeout ends it. Both in bounded time, naming where, writing nothing.
TEST_F(PostgresSourceTest, AServerThatIsDownOrSilentFailsInBoundedTime) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  PostgresSource p = Source("postgres");
  p.port = port;  // bound, not listening: connection refused
  auto start = std::chrono::steady_clock::now();
  auto r = Backup(p);
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.status().message();
  EXPECT_LT(seconds(), 5.0);
  ExpectNoPassword(r.status().message());

  ASSERT_EQ(::listen(fd, 8), 0);  // accepts (the kernel does), never answers
  p.connect_timeout = std::chrono::seconds(2);
  start = std::chrono::steady_clock::now();
  r = Backup(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_GE(seconds(), 1.5);
  EXPECT_LT(seconds(), 10.0);
  ::close(fd);
  EXPECT_EQ(SnapshotCount(), 0u);
}

// A pg_dump older than the server is refused before it runs, saying what to install.
TEST_F(PostgresSourceTest, AnOlderPgDumpIsRefused) {
  std::string bin = dir_ + "/oldbin";
  std::filesystem::create_directories(bin);
  {
    std::ofstream f(bin + "/pg_dump");
    f << "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 14.9'; exit 0; fi\n"
         "echo should-not-run; exit 0\n";
  }
  std::filesystem::permissions(bin + "/pg_dump", std::filesystem::perms::owner_all);
  PostgresSource p = Source("postgres");
  p.bin_dir = bin;
  auto r = Backup(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("pg_dump 14.9"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("postgresql-client-15"), std::string::npos);
  EXPECT_EQ(SnapshotCount(), 0u);
}

// The dump command failing (an unknown option here) writes nothing and says so.
TEST_F(PostgresSourceTest, AFailingDumpWritesNothing) {
  PostgresSource p = Source("postgres");
  p.dump_options = {"--no-such-option"};
  auto r = Backup(p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no snapshot was written"), std::string::npos)
      << r.status().message();
  ExpectNoPassword(r.status().message());
  EXPECT_EQ(SnapshotCount(), 0u);
}

// The password reaches pg_dump as PGPASSWORD in its environment, never on its command line: a
// stand-in pg_dump records both (the real one would not show them).
TEST_F(PostgresSourceTest, ThePasswordIsInTheDumpsEnvironmentNotItsCommandLine) {
  std::string bin = dir_ + "/spybin";
  std::filesystem::create_directories(bin);
  {
    std::ofstream f(bin + "/pg_dump");
    f << "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 15.99'; exit 0; fi\n"
         "printf '%s\\n' \"$@\" > " << dir_ << "/argv\n"
         "printf '%s' \"$PGPASSWORD\" > " << dir_ << "/pgpassword\n"
         "echo dump-bytes\n";
  }
  std::filesystem::permissions(bin + "/pg_dump", std::filesystem::perms::owner_all);
  PostgresSource p = Source("postgres");
  p.bin_dir = bin;
  auto r = Backup(p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  std::string argv = slurp(dir_ + "/argv");
  EXPECT_NE(argv.find("--format=custom"), std::string::npos) << argv;
  EXPECT_NE(argv.find("--no-password"), std::string::npos) << argv;
  EXPECT_NE(argv.find("dbname='postgres'"), std::string::npos) << argv;
  ExpectNoPassword(argv);
  EXPECT_EQ(slurp(dir_ + "/pgpassword"), src_.password);
  EXPECT_EQ(r->backup.snapshot.source->restore.tool_version, "15.99");
  EXPECT_EQ(::getenv("PGPASSWORD"), nullptr);  // not put into Lifeboat's own environment
}

}  // namespace
}  // namespace lifeboat
