// `lifeboat status` through the command line (cli::Main in this process): exit codes, --json,
// --prometheus, --textfile atomicity, and that no secret of the plan reaches any output.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "engine/open.h"
#include "repository/keys.h"

namespace lifeboat {
namespace {

constexpr int64_t kSec = 1'000'000'000;
const char* kPassword = "pw-Zq8-s3cr3t";
const char* kEnvSecret = "env-Xy7-s3cr3t";
const char* kRestSecret = "rest-Wv6-s3cr3t";

int64_t WallNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class StatusCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KdfParams kdf;
    kdf.n = 1024;
    SetKdfParamsOverrideForTesting(kdf);
    char tmpl[] = "/tmp/lifeboat-status-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/pw") << kPassword << "\n";
    setenv("XDG_CACHE_HOME", (dir_ + "/cache").c_str(), 1);
    setenv("XDG_STATE_HOME", (dir_ + "/state").c_str(), 1);
    setenv("STATUS_TEST_SECRET", kEnvSecret, 1);
    setenv("STATUS_TEST_REST_PASSWORD", kRestSecret, 1);
    for (const char* site : {"a", "b"}) {
      OpenOptions o;
      o.location = dir_ + "/" + site;
      o.password = PasswordSource::File(dir_ + "/pw");
      InitOptions init;
      init.kdf = kdf;
      auto repo = CreateRepository(o, init);
      ASSERT_TRUE(repo.ok()) << repo.status().ToString();
      repos_.push_back(std::move(*repo));
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A snapshot of service db (source files) at site `i`, `age_s` seconds old.
  void Snap(size_t i, int64_t age_s) {
    Snapshot s;
    s.time_ns = WallNow() - age_s * kSec;
    s.hostname = "h";
    s.paths = {"/srv"};
    s.tree = *Id::FromHex(std::string(64, '2'));
    s.service = "db";
    s.source = SnapshotSource();
    s.source->name = "files";
    s.source->kind = "paths";
    s.source->restore.method = "restore";
    ASSERT_TRUE(repos_[i]->SaveSnapshot(s).ok());
  }

  // The plan: db (rpo 1h) on a and b; `extra` adds sites and entries to db's sites.
  std::string WritePlan(const std::string& extra_sites = "", const std::string& extra = "") {
    const std::string path = dir_ + "/lifeboat.yaml";
    std::ofstream(path) << "version: 1\n"
                           "sites:\n"
                           "  a:\n"
                           "    repository: " << dir_ << "/a\n"
                           "    password_file: " << dir_ << "/pw\n"
                           "    env: {SOME_TOKEN_env: STATUS_TEST_SECRET}\n"
                           "  b: {repository: " << dir_ << "/b, password_file: " << dir_
                        << "/pw, role: offsite, media: usb}\n"
                        << extra_sites
                        << "services:\n"
                           "  db:\n"
                           "    tier: 1\n"
                           "    rpo: 1h\n"
                           "    sources: [{name: files, paths: [/srv]}]\n"
                           "    sites: [a, b" << extra << "]\n";
    return path;
  }

  struct Run {
    int code;
    std::string out, err;
  };
  Run Status(std::vector<std::string> args) {
    args.insert(args.begin(), {"lifeboat", "status"});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int code = cli::Main(static_cast<int>(argv.size()), argv.data());
    std::string out = ::testing::internal::GetCapturedStdout();
    std::string err = ::testing::internal::GetCapturedStderr();
    return {code, out, err};
  }

  std::string dir_;
  std::vector<std::unique_ptr<Repository>> repos_;
};

TEST_F(StatusCliTest, ExitCodeSaysWhetherEveryRpoHolds) {
  const std::string plan = WritePlan();
  Snap(0, 60);
  // b holds nothing: missing -> exit 1.
  Run r = Status({"--plan", plan});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("db at b: missing"), std::string::npos) << r.out;
  // 3-2-1: the live data and a only.
  EXPECT_NE(r.out.find("warning: db: 2 copies"), std::string::npos) << r.out;
  // Both fresh: 0 (3 copies, 2 media, b offsite: no warning).
  Snap(1, 60);
  r = Status({"--plan", plan});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("every RPO holds"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("warning:"), std::string::npos) << r.out;
  // A 3-2-1 shortfall alone is a warning, not a failure: db on a only (2 copies, one medium,
  // no offsite copy) still exits 0.
  {
    std::string text = Slurp(plan);
    text.replace(text.find("sites: [a, b]"), 13, "sites: [a]");
    std::ofstream(dir_ + "/one-site.yaml") << text;
  }
  r = Status({"--plan", dir_ + "/one-site.yaml"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("warning: db: 2 copies"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("warning: db: no offsite site"), std::string::npos) << r.out;
  r = Status({"--plan", plan, "--json"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["message_type"], "status");
  EXPECT_EQ(j["holds"], true);
  EXPECT_EQ(j["services"][0]["sites"][0]["state"], "ok");
  EXPECT_EQ(j["services"][0]["copies"]["copies"], 3);
  // --json and --prometheus together: a usage error.
  r = Status({"--plan", plan, "--json", "--prometheus"});
  EXPECT_EQ(r.code, 2);
  // An unknown service: a usage error.
  r = Status({"--plan", plan, "--service", "nope"});
  EXPECT_EQ(r.code, 2) << r.err;
}

TEST_F(StatusCliTest, ViolatedAndUnreachableDoNotHold) {
  Snap(0, 2 * 3600);  // violated at a
  Snap(1, 60);
  Run r = Status({"--plan", WritePlan()});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("db at a: violated"), std::string::npos) << r.out;
  Snap(0, 60);
  // A third site on a closed port: unreachable within --site-timeout.
  const std::string sites =
      "  c:\n"
      "    repository: \"rest:http://127.0.0.1:9/repo\"\n"
      "    password_file: " + dir_ + "/pw\n"
      "    env: {LIFEBOAT_REST_PASSWORD_env: STATUS_TEST_REST_PASSWORD}\n";
  const auto start = std::chrono::steady_clock::now();
  r = Status({"--plan", WritePlan(sites, ", c"), "--site-timeout", "1s"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("site c: unreachable: "), std::string::npos) << r.out;
}

TEST_F(StatusCliTest, SecretsNeverInAnyOutput) {
  Snap(0, 60);
  const std::string sites =
      "  c:\n"
      "    repository: \"rest:http://127.0.0.1:9/repo\"\n"
      "    password_file: " + dir_ + "/pw\n"
      "    env: {LIFEBOAT_REST_PASSWORD_env: STATUS_TEST_REST_PASSWORD, "
      "LIFEBOAT_REST_USER_env: STATUS_TEST_SECRET}\n";
  const std::string plan = WritePlan(sites, ", c");
  const std::string textfile = dir_ + "/metrics/lifeboat.prom";
  for (std::vector<std::string> flags :
       {std::vector<std::string>{}, {"--json"}, {"--prometheus"}, {"--textfile", textfile},
        {"-v"}}) {  // not --notify: as root its state file is /var/lib/lifeboat's
    flags.insert(flags.end(), {"--plan", plan, "--site-timeout", "1s"});
    Run r = Status(flags);
    EXPECT_EQ(r.code, 1);
    for (const char* secret : {kPassword, kEnvSecret, kRestSecret}) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << flags[0] << ": " << r.out;
      EXPECT_EQ(r.err.find(secret), std::string::npos) << flags[0] << ": " << r.err;
    }
  }
  const std::string metrics = Slurp(textfile);
  EXPECT_NE(metrics.find("lifeboat_site_up{site=\"c\"} 0"), std::string::npos) << metrics;
  for (const char* secret : {kPassword, kEnvSecret, kRestSecret})
    EXPECT_EQ(metrics.find(secret), std::string::npos);
  // The status cache holds no secret either.
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/cache")) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = Slurp(e.path());
    for (const char* secret : {kPassword, kEnvSecret, kRestSecret})
      EXPECT_EQ(bytes.find(secret), std::string::npos) << e.path();
  }
}

// The textfile is replaced by rename: a reader sees the old file or the new one, whole. A writer
// that truncated and rewrote the file in place would show a reader an empty or cut file.
TEST_F(StatusCliTest, TextfileIsReplacedAtomically) {
  Snap(0, 60);
  Snap(1, 60);
  const std::string plan = WritePlan();
  const std::string textfile = dir_ + "/metrics/lifeboat.prom";
  ASSERT_EQ(Status({"--plan", plan, "--textfile", textfile}).code, 0);
  const std::string last_line = "lifeboat_status_rpo_holds 1\n";
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, partial{0};
  std::thread reader([&] {
    while (!stop) {
      const std::string text = Slurp(textfile);
      ++reads;
      if (text.size() < last_line.size() ||
          text.compare(text.size() - last_line.size(), last_line.size(), last_line) != 0 ||
          text.rfind("# HELP lifeboat_rpo_seconds", 0) != 0) {
        ++partial;
      }
    }
  });
  for (int i = 0; i < 15; ++i) {
    Run r = Status({"--plan", plan, "--textfile", textfile, "--quiet"});
    EXPECT_EQ(r.code, 0) << r.err;
  }
  stop = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(partial.load(), 0);
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/metrics")) {
    ++files;
    EXPECT_EQ(e.path().filename(), "lifeboat.prom");
  }
  EXPECT_EQ(files, 1);
  // --textfile with --prometheus: stdout and the file hold the same samples.
  Run r = Status({"--plan", plan, "--textfile", textfile, "--prometheus"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.substr(0, r.out.find("lifeboat_site_check_duration_seconds{")),
            Slurp(textfile).substr(0, Slurp(textfile).find("lifeboat_site_check_duration_seconds{")));
}

}  // namespace
}  // namespace lifeboat
