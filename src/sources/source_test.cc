// BackupSource for the paths and command kinds, the service and source in the snapshot, the
// service filter, and `lifeboat snapshots|forget --service` on a repository holding plan
// snapshots.
#include "sources/source.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backend/local_backend.h"
#include "backend/memory_backend.h"
#include "copier/copier.h"
#include "repository/keys.h"
#include "restorer/restorer.h"
#include "util/subprocess.h"

namespace lifeboat {
namespace {

class SourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 2});
    char tmpl[] = "/tmp/lifeboat-source-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto backend = LocalBackend::Create(dir_ + "/repo");
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    auto repo = Repository::Init(std::move(*backend), "pw", InitOptions{});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<std::pair<Id, Snapshot>> Snapshots() {
    auto all = repo_->ListSnapshots();
    EXPECT_TRUE(all.ok());
    return all.ok() ? *all : std::vector<std::pair<Id, Snapshot>>{};
  }

  std::string ReadRestored(const Snapshot& s, const std::string& path) {
    std::string target = dir_ + "/restore-" + std::to_string(restores_++);
    RestoreOptions o;
    o.target = target;
    auto r = RestoreTree(*repo_, s.tree, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::ifstream in(target + path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  SourceOptions For(const std::string& service) {
    SourceOptions o;
    o.service = service;
    o.backup.host = "h1";
    return o;
  }

  std::unique_ptr<Repository> repo_;
  std::string dir_;
  int restores_ = 0;
};

TEST_F(SourceTest, CommandOutputBecomesOneFile) {
  CommandSource cmd;
  cmd.argv = ShellCommand("printf 'dump of app\\n'");
  auto r = BackupSource(*repo_, {.name = "appdump", .config = cmd}, For("app"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, "command");
  const Snapshot& s = r->backup.snapshot;
  EXPECT_EQ(s.paths, std::vector<std::string>{"/appdump.out"});
  EXPECT_EQ(s.service, "app");
  ASSERT_TRUE(s.source.has_value());
  EXPECT_EQ(s.source->kind, "command");
  EXPECT_EQ(s.source->restore.method, "file");
  EXPECT_EQ(s.source->restore.files, std::vector<std::string>{"/appdump.out"});
  EXPECT_EQ(ReadRestored(s, "/appdump.out"), "dump of app\n");
}

// A non-zero exit fails the source: no snapshot, and the error names the service, the source
// and the command with its exit status.
TEST_F(SourceTest, ACommandThatExitsNonZeroWritesNothing) {
  CommandSource cmd;
  cmd.argv = {"/bin/sh", "-c", "echo partial output; exit 3"};
  auto r = BackupSource(*repo_, {.name = "appdump", .config = cmd}, For("app"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  const std::string m = r.status().message();
  EXPECT_NE(m.find("service app, source appdump (command)"), std::string::npos) << m;
  EXPECT_NE(m.find("echo partial output; exit 3"), std::string::npos) << m;
  EXPECT_NE(m.find("exit status 3"), std::string::npos) << m;
  EXPECT_NE(m.find("no snapshot was written"), std::string::npos) << m;
  EXPECT_TRUE(Snapshots().empty());
}

// The command's timeout, and the context's deadline when it comes first, stop a command that
// hangs without output.
TEST_F(SourceTest, TheDeadlineStopsAHangingCommand) {
  CommandSource cmd;
  cmd.argv = {"sleep", "600"};
  SourceOptions o = For("app");
  o.backup.context = Context().WithTimeout(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  auto r = BackupSource(*repo_, {.name = "hang", .config = cmd}, o);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_LT(seconds, 10.0);
  EXPECT_TRUE(Snapshots().empty());
}

TEST_F(SourceTest, PathsWithExcludesAndExcludeFiles) {
  std::string data = dir_ + "/data";
  std::filesystem::create_directories(data + "/sub");
  std::ofstream(data + "/keep.txt") << "keep";
  std::ofstream(data + "/skip.tmp") << "tmp";
  std::ofstream(data + "/sub/skip.log") << "log";
  std::ofstream(dir_ + "/excludes") << "# logs\n*.log\n";
  PathsSource paths;
  paths.paths = {data};
  paths.exclude = {"*.tmp"};
  paths.exclude_files = {dir_ + "/excludes"};
  auto r = BackupSource(*repo_, {.name = "files", .config = paths}, For("app"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Snapshot& s = r->backup.snapshot;
  EXPECT_EQ(s.source->kind, "paths");
  EXPECT_EQ(s.source->restore.method, "restore");
  EXPECT_EQ(s.source->restore.files, std::vector<std::string>{data});
  EXPECT_EQ(s.excludes, (std::vector<std::string>{"*.tmp", "*.log"}));
  EXPECT_EQ(ReadRestored(s, data + "/keep.txt"), "keep");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/restore-0" + data + "/skip.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/restore-0" + data + "/sub/skip.log"));

  // A bad exclude file is an error before anything is read.
  paths.exclude_files = {dir_ + "/no-such-file"};
  r = BackupSource(*repo_, {.name = "files", .config = paths}, For("app"));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Snapshots().size(), 1u);
}

// The parent of a paths backup is the newest snapshot of the same host, paths and service.
TEST_F(SourceTest, TheParentIsOfTheSameService) {
  std::string data = dir_ + "/shared";
  std::filesystem::create_directories(data);
  std::ofstream(data + "/f") << "x";
  PathsSource paths;
  paths.paths = {data};
  auto a = BackupSource(*repo_, {.name = "files", .config = paths}, For("a"));
  ASSERT_TRUE(a.ok());
  auto b = BackupSource(*repo_, {.name = "files", .config = paths}, For("b"));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->backup.parent_id.has_value());
  auto a2 = BackupSource(*repo_, {.name = "files", .config = paths}, For("a"));
  ASSERT_TRUE(a2.ok());
  EXPECT_EQ(a2->backup.parent_id, a->backup.snapshot_id);
}

TEST_F(SourceTest, ASpecWithoutNameOrServiceIsRefused) {
  CommandSource cmd;
  cmd.argv = {"true"};
  EXPECT_EQ(BackupSource(*repo_, {.name = "", .config = cmd}, For("app")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BackupSource(*repo_, {.name = "x", .config = cmd}, For("")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BackupSource(*repo_, {.name = "x", .config = CommandSource{}}, For("app"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BackupSource(*repo_, {.name = "x", .config = PathsSource{}}, For("app"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(Snapshots().empty());
}

// A copy into an independent repository (re-encrypt mode: the snapshot is written anew) keeps
// the service and the source with its restore information; --service selects what is copied.
TEST_F(SourceTest, ACopyKeepsServiceAndSource) {
  for (const char* service : {"billing", "shop"}) {
    CommandSource cmd;
    cmd.argv = ShellCommand(std::string("echo ") + service);
    ASSERT_TRUE(BackupSource(*repo_, {.name = "dump", .config = cmd}, For(service)).ok());
  }
  auto target = Repository::Init(std::make_unique<MemoryBackend>(), "other", InitOptions{});
  ASSERT_TRUE(target.ok());
  CopyOptions o;
  o.filter.services = {"billing"};
  auto r = CopySnapshots(*repo_, **target, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->replica);
  auto copied = (*target)->ListSnapshots();
  ASSERT_TRUE(copied.ok());
  ASSERT_EQ(copied->size(), 1u);
  const Snapshot& s = copied->front().second;
  EXPECT_EQ(s.service, "billing");
  ASSERT_TRUE(s.source.has_value());
  EXPECT_EQ(s.source->name, "dump");
  EXPECT_EQ(s.source->restore.files, std::vector<std::string>{"/dump.out"});
  EXPECT_TRUE(s.original.has_value());
}

// Runs the lifeboat CLI on this test's repository; returns its output (stdout).
Result<std::string> Cli(const std::string& repo, std::vector<std::string> args) {
  SubprocessOptions o;
  o.argv = {LIFEBOAT_CLI, "-r", repo};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.environment = {{"LIFEBOAT_PASSWORD", "pw"}};
  o.pass_secrets = {"LIFEBOAT_PASSWORD"};
  o.timeout = std::chrono::seconds(60);
  return RunAndCapture(o);
}

// `snapshots --service` lists the service's snapshots only, with service and source in --json;
// `forget --service` applies its policy to that service only.
TEST_F(SourceTest, SnapshotsAndForgetSelectByService) {
  for (const char* service : {"billing", "shop", "billing"}) {
    CommandSource cmd;
    cmd.argv = ShellCommand(std::string("echo ") + service);
    auto r = BackupSource(*repo_, {.name = "dump", .config = cmd}, For(service));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::string dir = dir_ + "/plain";
  std::filesystem::create_directories(dir);
  BackupOptions plain;
  plain.paths = {dir};
  ASSERT_TRUE(RunBackup(*repo_, plain).ok());

  auto out = Cli(dir_ + "/repo", {"--json", "snapshots", "--service", "billing"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  nlohmann::json j = nlohmann::json::parse(*out);
  ASSERT_EQ(j.size(), 2u) << *out;
  for (const auto& s : j) {
    EXPECT_EQ(s["service"], "billing");
    EXPECT_EQ(s["source"]["name"], "dump");
    EXPECT_EQ(s["source"]["kind"], "command");
    EXPECT_EQ(s["source"]["restore"]["method"], "file");
    EXPECT_EQ(s["source"]["restore"]["files"][0], "/dump.out");
  }
  out = Cli(dir_ + "/repo", {"--json", "snapshots"});
  ASSERT_TRUE(out.ok());
  j = nlohmann::json::parse(*out);
  ASSERT_EQ(j.size(), 4u);
  int without = 0;
  for (const auto& s : j) without += !s.contains("service") && !s.contains("source");
  EXPECT_EQ(without, 1);  // the plain backup has neither member
  out = Cli(dir_ + "/repo", {"snapshots", "--service", "shop"});
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("shop/dump"), std::string::npos) << *out;
  EXPECT_NE(out->find("1 snapshots"), std::string::npos) << *out;
  EXPECT_EQ(out->find("billing"), std::string::npos) << *out;

  out = Cli(dir_ + "/repo", {"forget", "--service", "billing", "--keep-last", "1"});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::map<std::string, int> left;
  for (const auto& [id, s] : Snapshots()) left[s.service]++;
  EXPECT_EQ(left["billing"], 1);
  EXPECT_EQ(left["shop"], 1);
  EXPECT_EQ(left[""], 1);
}

// The postgres source's configuration is checked before anything connects or runs.
TEST(PostgresConfigTest, ConninfoQuotesAndNeverHoldsThePassword) {
  PostgresSource p;
  p.host = "db1";
  p.port = 5433;
  p.database = "it's";
  p.user = "a\\b";
  p.password = "pw-secret";
  EXPECT_EQ(PostgresConninfo(p), "host='db1' port='5433' dbname='it\\'s' user='a\\\\b'");
  p.database.clear();
  p.all_databases = true;
  EXPECT_EQ(PostgresConninfo(p), "host='db1' port='5433' dbname='postgres' user='a\\\\b'");
  EXPECT_EQ(ParsePgToolVersion("pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)\n"), "15.10");
  EXPECT_EQ(ParsePgToolVersion("pg_dumpall (PostgreSQL) 9.6.24\n"), "9.6.24");
  EXPECT_EQ(ParsePgToolVersion("nonsense"), "");
}

TEST(PostgresConfigTest, BadConfigurationsAreRefusedWithoutLeakingThePassword) {
  auto make = [](std::string dsn, std::string host, int port, std::string database) {
    PostgresSource p;
    p.dsn = std::move(dsn);
    p.host = std::move(host);
    p.port = port;
    p.database = std::move(database);
    return p;
  };
  struct Case {
    PostgresSource source;
    std::string says;
  };
  std::vector<Case> cases = {
      {make("postgresql://backup:pw-secret@db1/billing", "", 0, ""), "dsn holds a password"},
      {make("host=db1 dbname=x password=pw-secret", "", 0, ""), "dsn holds a password"},
      {make("host=db1 dbname=x", "db2", 0, ""), "both a dsn and host"},
      {make("", "db1", 0, ""), "names no database"},
      {make("", "db1", 70000, "x"), "is not a TCP port"},
      {make("host=db1 nonsense=pw-secret", "", 0, ""), "not a valid libpq connection string"},
  };
  for (const Case& c : cases) {
    PostgresSource p = c.source;
    p.password = "pw-secret";
    auto r = QueryPostgresServer(p, Context());
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("pw-secret"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace lifeboat
