#include "engine/open.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "repository/keys.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

using std::chrono::seconds;

class OpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetKdfParamsOverrideForTesting(KdfParams{1024, 8, 1});
    char tmpl[] = "/tmp/lb_open_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    location_ = dir_ + "/repo";
    auto backend = OpenBackend(location_, true);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    auto repo = Repository::Init(std::move(*backend), "secret", InitOptions{});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    SetKdfParamsOverrideForTesting(std::nullopt);
  }
  OpenOptions Options() const {
    OpenOptions o;
    o.location = location_;
    o.password = PasswordSource::Value("secret");
    return o;
  }
  std::string WriteFile(const std::string& name, const std::string& content) const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  std::string dir_, location_;
};

TEST_F(OpenTest, OpensLocksAndLoadsTheIndex) {
  auto opened = OpenRepository(Options());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_NE(opened->lock, nullptr);
  EXPECT_TRUE(opened->lock->Check().ok());
  // A second shared lock is fine; an exclusive one conflicts.
  OpenOptions exclusive = Options();
  exclusive.lock = LockKind::kExclusive;
  EXPECT_EQ(OpenRepository(exclusive).status().code(), StatusCode::kLocked);
  OpenOptions none = Options();
  none.lock = std::nullopt;
  auto unlocked = OpenRepository(none);
  ASSERT_TRUE(unlocked.ok());
  EXPECT_EQ(unlocked->lock, nullptr);
}

TEST_F(OpenTest, ErrorsSayWhatIsWrong) {
  OpenOptions o = Options();
  o.password = PasswordSource::Value("wrong");
  EXPECT_EQ(OpenRepository(o).status().code(), StatusCode::kUnauthenticated);
  o = Options();
  o.location = dir_ + "/nothing-here";
  EXPECT_EQ(OpenRepository(o).status().code(), StatusCode::kNoRepository);
  o = Options();
  o.password = {};
  Status st = OpenRepository(o).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("no password given"), std::string::npos);
}

TEST_F(OpenTest, EveryPasswordSource) {
  Context ctx;
  EXPECT_EQ(*ResolvePassword(PasswordSource::File(WriteFile("pw", "secret\r\nignored\n")), ctx),
            "secret");
  Status empty = ResolvePassword(PasswordSource::File(WriteFile("empty", "\nx\n")), ctx).status();
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty.message().find("empty password"), std::string::npos);
  EXPECT_EQ(ResolvePassword(PasswordSource::File(dir_ + "/missing"), ctx).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(*ResolvePassword(PasswordSource::Command("printf 'secret\\nmore'"), ctx), "secret");
  EXPECT_EQ(ResolvePassword(PasswordSource::Command("exit 3"), ctx).status().code(),
            StatusCode::kInvalidArgument);
  ::setenv("LB_OPEN_TEST_PW", "secret", 1);
  EXPECT_EQ(*ResolvePassword(PasswordSource::Environment("LB_OPEN_TEST_PW"), ctx), "secret");
  ::unsetenv("LB_OPEN_TEST_PW");
  Status unset = ResolvePassword(PasswordSource::Environment("LB_OPEN_TEST_PW"), ctx).status();
  EXPECT_EQ(unset.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unset.message().find("LB_OPEN_TEST_PW is not set"), std::string::npos);
  // The password never appears in a description.
  EXPECT_EQ(PasswordSource::Value("secret").Describe().find("secret"), std::string::npos);
}

TEST_F(OpenTest, APasswordCommandStopsWithItsContext) {
  std::atomic<bool> cancel{false};
  Context ctx = Context().WithCancel(&cancel);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  Status st = ResolvePassword(PasswordSource::Command("sleep 30"), ctx).status();
  canceller.join();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));

  // A deadline sooner than the command's own timeout bounds it too.
  Context bounded = Context().WithTimeout(std::chrono::milliseconds(200));
  st = ResolvePassword(PasswordSource::Command("sleep 30"), bounded).status();
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.ToString();
}

TEST_F(OpenTest, LockWaitOnAnInjectedClockTakesNoRealTime) {
  OpenOptions holder = Options();
  holder.lock = LockKind::kExclusive;
  auto held = OpenRepository(holder);
  ASSERT_TRUE(held.ok()) << held.status().ToString();

  ManualClock clock;
  OpenOptions waiter = Options();
  waiter.context = Context().WithClock(clock);
  waiter.lock_wait.wait = std::chrono::minutes(2);
  int told = 0;
  waiter.lock_wait.on_wait = [&](const Status& conflict) {
    ++told;
    EXPECT_EQ(conflict.code(), StatusCode::kLocked);
  };
  const auto start = std::chrono::steady_clock::now();
  Status st = OpenRepository(waiter).status();
  EXPECT_EQ(st.code(), StatusCode::kLocked) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(30));
  EXPECT_EQ(told, 1);
  // 2 minutes in polls of 5 s.
  EXPECT_EQ(clock.sleeps().size(), 24u);
  EXPECT_EQ(clock.MonotonicNs(), 120LL * 1'000'000'000);
}

TEST_F(OpenTest, TheLockIsTakenOnceTheHolderLetsGo) {
  OpenOptions holder = Options();
  holder.lock = LockKind::kExclusive;
  auto held = OpenRepository(holder);
  ASSERT_TRUE(held.ok());

  ManualClock clock;
  OpenOptions waiter = Options();
  waiter.context = Context().WithClock(clock);
  waiter.lock_wait.wait = std::chrono::minutes(2);
  waiter.lock_wait.on_wait = [&](const Status&) { held->lock.reset(); };
  auto opened = OpenRepository(waiter);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  // One poll interval waited; the new lock's refresher may have started waiting on the clock too.
  std::vector<int64_t> sleeps = clock.sleeps();
  ASSERT_GE(sleeps.size(), 1u);
  EXPECT_EQ(sleeps[0], 5LL * 1'000'000'000);
  EXPECT_EQ(clock.MonotonicNs(), 5LL * 1'000'000'000);
}

TEST_F(OpenTest, CancelWhileWaitingForTheLock) {
  OpenOptions holder = Options();
  holder.lock = LockKind::kExclusive;
  auto held = OpenRepository(holder);
  ASSERT_TRUE(held.ok());

  std::atomic<bool> cancel{false};
  OpenOptions waiter = Options();
  waiter.context = Context().WithCancel(&cancel);  // the real clock
  waiter.lock_wait.wait = std::chrono::hours(1);
  waiter.lock_wait.on_wait = [&](const Status&) { cancel = true; };
  const auto start = std::chrono::steady_clock::now();
  Status st = OpenRepository(waiter).status();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_NE(st.message().find("waiting for the lock"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
}

}  // namespace
}  // namespace lifeboat
