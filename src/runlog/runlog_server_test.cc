// Run records on the real remote sites (format §12, "Where the type can be stored"): written,
// listed, compacted, copied between sites and checked on REST (rclone serve restic, also with
// --append-only), S3 (Ceph RADOS Gateway) and SFTP (OpenSSH sshd), beside a local control. Run
// beside the servers (ctest does):
//
//   bash tests/servers/run_with.sh rest rest-append-only rgw sshd -- build/release/src/runlog/runlog_server_test
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "engine/open.h"
#include "repository/keys.h"
#include "runlog/run_records.h"

namespace lifeboat {
namespace {

constexpr const char* kServerVariables[] = {
    "LIFEBOAT_TEST_REST_URL",       "LIFEBOAT_TEST_REST_APPEND_ONLY_URL",
    "LIFEBOAT_TEST_S3_ENDPOINT",    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",        "LIFEBOAT_TEST_SFTP_HOST",
    "LIFEBOAT_TEST_SFTP_PORT",      "LIFEBOAT_TEST_SFTP_USER",
    "LIFEBOAT_TEST_SFTP_IDENTITY",  "LIFEBOAT_TEST_SFTP_KNOWN_HOSTS",
    "LIFEBOAT_TEST_SFTP_ROOT"};

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

class Servers : public ::testing::Environment {
 public:
  void SetUp() override {
    for (const char* v : kServerVariables)
      ASSERT_FALSE(Env(v).empty())
          << v << " is not set: run this test beside the servers with `bash "
          << "tests/servers/run_with.sh rest rest-append-only rgw sshd -- <this binary>` (ctest "
             "does)";
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 1});
  }
  void TearDown() override { SetKdfParamsOverrideForTesting(std::nullopt); }
};
::testing::Environment* const kServers = ::testing::AddGlobalTestEnvironment(new Servers);

struct Site {
  std::string kind;
  OpenOptions open;
};

std::string Unique(const std::string& tag) {
  static int counter = 0;
  return tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

Site MakeSite(const std::string& kind, const std::string& local_root) {
  Site s{kind, {}};
  s.open.password = PasswordSource::Value("pw-" + kind);
  s.open.lock = std::nullopt;
  s.open.backend = DefaultOpenBackendOptions();
  const std::string name = Unique("runlog");
  if (kind == "local") {
    s.open.location = local_root + "/" + name;
  } else if (kind == "rest") {
    s.open.location = "rest:" + Env("LIFEBOAT_TEST_REST_URL") + "/" + name;
  } else if (kind == "rest-append-only") {
    s.open.location = "rest:" + Env("LIFEBOAT_TEST_REST_APPEND_ONLY_URL") + "/" + name;
  } else if (kind == "s3") {
    s.open.location = "s3:" + Env("LIFEBOAT_TEST_S3_ENDPOINT") + "/lb-runlog-" +
                      std::to_string(::getpid()) + "/" + name;
  } else if (kind == "sftp") {
    s.open.location = "sftp://" + Env("LIFEBOAT_TEST_SFTP_USER") + "@" +
                      Env("LIFEBOAT_TEST_SFTP_HOST") + ":" + Env("LIFEBOAT_TEST_SFTP_PORT") + "/" +
                      Env("LIFEBOAT_TEST_SFTP_ROOT") + "/" + name;
    s.open.backend.options.Set("sftp.identity", Env("LIFEBOAT_TEST_SFTP_IDENTITY"));
    s.open.backend.options.Set("sftp.known-hosts", Env("LIFEBOAT_TEST_SFTP_KNOWN_HOSTS"));
  }
  return s;
}

RunRecord Record(const std::string& service, int64_t start_ns) {
  RunRecord r;
  r.id = NewRunRecordId();
  r.run_id = NewRunId();
  r.service = service;
  r.site = "site";
  r.source = RunSource{"db", "sqlite"};
  r.start_ns = start_ns;
  r.end_ns = start_ns + 1'000'000'000;
  r.host = "h";
  r.program_version = "lifeboat test";
  return r;
}

std::set<std::string> Ids(const std::vector<RunRecord>& records) {
  std::set<std::string> ids;
  for (const RunRecord& r : records) ids.insert(r.id);
  return ids;
}

class RunlogServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-runlog-server-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    local_root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(local_root_); }

  std::unique_ptr<Repository> Create(const Site& site) {
    auto repo = CreateRepository(site.open, InitOptions{});
    EXPECT_TRUE(repo.ok()) << site.open.location << ": " << repo.status().ToString();
    return repo.ok() ? std::move(*repo) : nullptr;
  }
  std::string local_root_;
};

TEST_P(RunlogServerTest, WriteListCompactCopyCheck) {
  const Site site = MakeSite(GetParam(), local_root_);
  auto repo = Create(site);
  ASSERT_NE(repo, nullptr);
  std::vector<RunRecord> written;
  for (int i = 0; i < 3; ++i) {
    std::vector<RunRecord> run = {Record("orders", (i + 1) * 60'000'000'000LL),
                                  Record("web", (i + 1) * 60'000'000'000LL + 1)};
    auto id = WriteRunRecords(*repo, run, Context());
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    written.insert(written.end(), run.begin(), run.end());
  }
  auto listed = ListRunRecords(*repo, {}, Context());
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->objects.size(), 3u);
  EXPECT_EQ(Ids(listed->records), Ids(written));
  EXPECT_TRUE(listed->unreadable.empty());

  auto compacted = CompactRunRecords(*repo, Context(), {.min_objects = 2});
  ASSERT_TRUE(compacted.ok()) << compacted.status().ToString();
  EXPECT_TRUE(compacted->compacted);
  auto after = ListRunRecords(*repo, {}, Context());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Ids(after->records), Ids(written));
  EXPECT_EQ(after->records.size(), written.size());
  if (GetParam() == "rest-append-only") {
    // The server refuses every removal: the merged object is stored, the old ones stay, and
    // nothing is lost (duplicates collapse).
    EXPECT_EQ(compacted->objects_removed, 0u);
    EXPECT_FALSE(compacted->removal_stopped.empty());
    EXPECT_EQ(after->objects.size(), 4u);
  } else {
    EXPECT_EQ(compacted->objects_removed, 3u);
    EXPECT_TRUE(compacted->removal_stopped.empty()) << compacted->removal_stopped;
    EXPECT_EQ(after->objects.size(), 1u);
  }

  // check reads them; copy brings them to a local site once.
  CheckOptions co;
  auto check = CheckRepository(*repo, co);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(check->healthy());
  for (const CheckProblem& p : check->warnings) EXPECT_NE(p.kind, "run") << p.message;
  const Site local = MakeSite("local", local_root_);
  auto target = Create(local);
  ASSERT_NE(target, nullptr);
  auto copied = CopyRunRecords(*repo, *target, Context());
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(copied->records_copied, written.size());
  auto again = CopyRunRecords(*repo, *target, Context());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->records_copied, 0u);
  // And back into the remote site: nothing is missing there.
  auto back = CopyRunRecords(*target, *repo, Context());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->records_copied, 0u);
  EXPECT_EQ(back->records_present, written.size());
}

INSTANTIATE_TEST_SUITE_P(Sites, RunlogServerTest,
                         ::testing::Values("local", "rest", "rest-append-only", "s3", "sftp"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace lifeboat
