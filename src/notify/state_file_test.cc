// The state file: round trip, missing, damaged (rebuilt with a warning, never a crash and never
// a storm of duplicates), and the lock between two users.
#include "notify/state_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "util/clock.h"

namespace lifeboat::notify {
namespace {

constexpr int64_t kT0 = 1'796'354'100'000'000'000;

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/notify-state-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sub/notify-state.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) {
    std::filesystem::create_directories(dir_ + "/sub");
    std::ofstream(path_) << text;
  }
  std::string dir_, path_;
};

RouterConfig Config() {
  RouterConfig c;
  c.host = "h";
  Route r;
  r.id = "0";
  r.channels = {"slack"};
  r.escalate_after = std::chrono::minutes(30);
  r.escalate_to = {"mail"};
  c.routes = {r};
  return c;
}

Observation Failed(const std::string& service) {
  Observation o;
  o.condition = Condition::kRpo;
  o.service = service;
  o.tier = 0;
  o.site = "primary";
  o.state = Observed::kFailed;
  o.details = {{"rpo_seconds", 3600}};
  return o;
}

std::vector<DeliveryOutcome> AllDelivered(const Router::Plan& plan) {
  std::vector<DeliveryOutcome> out;
  for (const Delivery& d : plan.deliveries) {
    for (const std::string& c : d.channels) {
      DeliveryOutcome o;
      o.channel = c;
      o.event = d.event.type;
      o.dedup_key = d.event.dedup_key;
      o.resolved = d.event.resolved;
      o.result = OutcomeResult::kDelivered;
      out.push_back(o);
    }
  }
  return out;
}

TEST_F(StateFileTest, RoundTripPersistsDedupAcrossProcesses) {
  const Router router(Config());
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  {
    Result<NotifyStateFile> f = NotifyStateFile::Lock(path_, ctx);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    NotifyStateFile::Loaded l = f->Load();  // missing: empty, no warning
    EXPECT_TRUE(l.warnings.empty());
    Router::Plan plan = router.Process(&l.state, {Failed("a"), Failed("b")}, {}, kT0);
    EXPECT_EQ(plan.deliveries.size(), 2u);
    router.Record(&l.state, AllDelivered(plan), kT0);
    // A failing channel's retry state persists too.
    l.state.problems.begin()->second.failing["mail"] = {2, kT0 + 5};
    ASSERT_TRUE(f->Save(l.state).ok());
  }
  Result<NotifyStateFile> f = NotifyStateFile::Lock(path_, ctx);
  ASSERT_TRUE(f.ok());
  NotifyStateFile::Loaded l = f->Load();
  EXPECT_TRUE(l.warnings.empty());
  ASSERT_EQ(l.state.problems.size(), 2u);
  const Problem& a = l.state.problems.at("lifeboat:rpo:a:primary");
  EXPECT_EQ(a.event.type, EventType::kRpoViolated);
  EXPECT_EQ(a.event.time_ns, kT0);
  EXPECT_EQ(a.event.details["rpo_seconds"], 3600);
  EXPECT_EQ(a.told, std::set<std::string>{"slack"});
  EXPECT_EQ(a.failing.at("mail").failures, 2);
  EXPECT_EQ(NotifyStateToJson(l.state)["problems"].size(), 2u);
  // Next run: nothing new.
  EXPECT_TRUE(router.Process(&l.state, {Failed("a"), Failed("b")}, {}, kT0 + 60e9)
                  .deliveries.empty());
}

TEST_F(StateFileTest, DamagedFilesAreRebuiltWithAWarningAndNotifyOnceMore) {
  const Router router(Config());
  Context ctx;
  for (const std::string& damage :
       {std::string("{not json"), std::string("[]"), std::string(R"({"version": 7})"),
        std::string(R"({"version": 1, "problems": {"k": {"event": 3}}})"),
        std::string(R"({"version": 1, "problems": []})"), std::string("\0\0\0", 3),
        std::string("")}) {
    Write(damage);
    Result<NotifyStateFile> f = NotifyStateFile::Lock(path_, ctx);
    ASSERT_TRUE(f.ok());
    NotifyStateFile::Loaded l = f->Load();
    ASSERT_EQ(l.warnings.size(), 1u) << damage;
    EXPECT_NE(l.warnings[0].find("is damaged"), std::string::npos) << l.warnings[0];
    EXPECT_NE(l.warnings[0].find(path_), std::string::npos);
    EXPECT_TRUE(l.state.problems.empty());
    // Each open problem is notified once, then never again: no storm.
    Router::Plan first = router.Process(&l.state, {Failed("a"), Failed("b")}, {}, kT0);
    EXPECT_EQ(first.deliveries.size(), 2u);
    router.Record(&l.state, AllDelivered(first), kT0);
    ASSERT_TRUE(f->Save(l.state).ok());
    for (int i = 1; i < 5; ++i) {
      EXPECT_TRUE(router.Process(&l.state, {Failed("a"), Failed("b")}, {}, kT0 + i * 1e9)
                      .deliveries.empty());
    }
    // And what was saved reads back without a warning.
    EXPECT_TRUE(f->Load().warnings.empty());
  }
}

TEST_F(StateFileTest, TheLockMakesASecondUserWait) {
  Context ctx;
  Result<NotifyStateFile> first = NotifyStateFile::Lock(path_, ctx);
  ASSERT_TRUE(first.ok());
  // Held (flock locks per open file description, so this open conflicts): the second waits on
  // its context's clock until the deadline.
  ManualClock clock;
  Context bounded = Context().WithClock(clock).WithTimeout(std::chrono::seconds(2));
  Result<NotifyStateFile> second = NotifyStateFile::Lock(path_, bounded);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(clock.sleeps().size(), 2u);
  // Released: the next one gets it at once.
  first = Status::Cancelled("released");
  EXPECT_TRUE(NotifyStateFile::Lock(path_, ctx).ok());
}

}  // namespace
}  // namespace lifeboat::notify
