// Test helpers of src/recover: a work directory with local sites, a plan written there, its
// backups made by the real `run` (dr::RunPlan), and drills into a sandbox base of the test's own.
// Test-only.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dr/plan_init.h"
#include "dr/run.h"
#include "plan/validate.h"
#include "recover/recover.h"
#include "recover/sandbox.h"
#include "repository/keys.h"

namespace lifeboat::recover::testing {

namespace fs = std::filesystem;

inline void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RecoverFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    KdfParams kdf;
    kdf.n = 1024;
    SetKdfParamsOverrideForTesting(kdf);
    const char* tmp = ::getenv("TMPDIR");
    dir_ = fs::path(tmp != nullptr && *tmp ? tmp : "/tmp") /
           ("lifeboat-recover-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // A root drill runs scratch clusters as `postgres`, which must be able to pass through.
    ::chmod(dir_.c_str(), 0711);
    WriteFile(dir_ / "pw", "site-pw-31c9e7\n");
  }
  void TearDown() override {
    SetKdfParamsOverrideForTesting(std::nullopt);
    RemoveTree(dir_.string()).IgnoreError();
  }

  // A site entry of the plan: a local repository under the work directory.
  std::string Site(const std::string& name) const {
    return "  " + name + ":\n    repository: " + (dir_ / "sites" / name).string() +
           "\n    password_file: " + (dir_ / "pw").string() + "\n";
  }

  plan::Plan Load(const std::string& yaml) {
    plan::LoadedPlan loaded = plan::CheckPlanText(yaml, (dir_ / "lifeboat.yaml").string());
    for (const plan::Diagnostic& d : loaded.diagnostics) {
      EXPECT_FALSE(d.is_error()) << d.ToString();
    }
    return loaded.plan;
  }

  // plan init, then one run of every service: the backups the drills restore.
  void Backup(const plan::Plan& plan) {
    Result<dr::PlanInitReport> init = dr::InitPlanSites(plan, {});
    ASSERT_TRUE(init.ok()) << init.status().ToString();
    ASSERT_TRUE(init->ok());
    dr::RunOptions o;
    o.now = true;
    o.state_dir = (dir_ / "state").string();
    o.host = "testhost";
    Result<dr::RunReport> run = dr::RunPlan(plan, o);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    ASSERT_EQ(run->ExitCode(), 0);
  }

  RecoverOptions Options() {
    RecoverOptions o;
    o.sandbox_base = (dir_ / "drills").string();
    o.on_line = [this](const std::string& line) { output_ += line + "\n"; };
    return o;
  }

  // The service's entry of the report; fails the test when it is missing.
  static const ServiceRecovery& Service(const RecoveryReport& r, const std::string& name) {
    const ServiceRecovery* s = r.Find(name);
    EXPECT_NE(s, nullptr) << name;
    static const ServiceRecovery kNone;
    return s != nullptr ? *s : kNone;
  }

  // The first step of `kind` in the service's timeline (null when none).
  static const StepRecord* Step(const ServiceRecovery& s, const std::string& kind) {
    for (const StepRecord& st : s.steps) {
      if (st.kind == kind) return &st;
    }
    return nullptr;
  }

  // No process works in the (removed) sandbox any more.
  static void ExpectNothingRunsIn(const std::string& sandbox) {
    EXPECT_EQ(StopProcessesIn(sandbox, std::chrono::milliseconds(0)), 0u)
        << "a process of the session survived it";
  }

  fs::path dir_;
  std::string output_;
};

}  // namespace lifeboat::recover::testing
