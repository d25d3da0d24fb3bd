#include "runlog/run_lock.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace lifeboat {
namespace {

class RunLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-runlock-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = std::string(tmpl) + "/state";
  }
  void TearDown() override { std::filesystem::remove_all(std::filesystem::path(dir_).parent_path()); }
  std::string dir_;
};

// In a forked child: 0 when it took the lock, 1 when it was Locked, 2 otherwise.
int TryInChild(const std::string& dir, const std::string& plan, const std::string& service) {
  pid_t pid = fork();
  if (pid == 0) {
    auto lock = RunLock::TryAcquire(dir, plan, service);
    _exit(lock.ok() ? 0 : lock.status().code() == StatusCode::kLocked ? 1 : 2);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

TEST_F(RunLockTest, OneHolderPerPlanAndService) {
  auto held = RunLock::TryAcquire(dir_, "/etc/lifeboat/a.yaml", "orders");
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  // Another process: refused for the same service, free for others and other plans.
  EXPECT_EQ(TryInChild(dir_, "/etc/lifeboat/a.yaml", "orders"), 1);
  EXPECT_EQ(TryInChild(dir_, "/etc/lifeboat/a.yaml", "web"), 0);
  EXPECT_EQ(TryInChild(dir_, "/etc/lifeboat/b.yaml", "orders"), 0);
  // In this process too (flock belongs to the open file).
  auto again = RunLock::TryAcquire(dir_, "/etc/lifeboat/a.yaml", "orders");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kLocked);
  EXPECT_NE(again.status().message().find("service orders is being run"), std::string::npos);
  EXPECT_NE(again.status().message().find("pid " + std::to_string(getpid())), std::string::npos);
  // Released on destruction.
  { RunLock moved = std::move(*held); }
  EXPECT_EQ(TryInChild(dir_, "/etc/lifeboat/a.yaml", "orders"), 0);
}

TEST_F(RunLockTest, AKilledHolderNeverBlocksTheNextRun) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    auto lock = RunLock::TryAcquire(dir_, "/p.yaml", "orders");
    char c = lock.ok() ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1) _exit(2);
    pause();  // holds the lock until killed
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  ASSERT_EQ(c, 'y');
  auto blocked = RunLock::TryAcquire(dir_, "/p.yaml", "orders");
  EXPECT_EQ(blocked.status().code(), StatusCode::kLocked);
  EXPECT_NE(blocked.status().message().find("pid " + std::to_string(pid)), std::string::npos);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  auto next = RunLock::TryAcquire(dir_, "/p.yaml", "orders");
  EXPECT_TRUE(next.ok()) << next.status().ToString();
}

TEST_F(RunLockTest, ChildProgramsDoNotInheritTheLock) {
  auto held = RunLock::TryAcquire(dir_, "/p.yaml", "orders");
  ASSERT_TRUE(held.ok());
  // A child that execs keeps running after we release; it must not keep the lock.
  // The child's copy of the pipe's write end closes at exec (O_CLOEXEC, like the lock's
  // descriptor): end of file on the read end means the child has exec'd.
  int execed[2];
  ASSERT_EQ(pipe2(execed, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(execed[1]);
  char c;
  EXPECT_EQ(read(execed[0], &c, 1), 0);
  close(execed[0]);
  { RunLock released = std::move(*held); }
  auto next = RunLock::TryAcquire(dir_, "/p.yaml", "orders");
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST_F(RunLockTest, StateDirectoryIsCreatedPrivate) {
  auto held = RunLock::TryAcquire(dir_, "/p.yaml", "orders");
  ASSERT_TRUE(held.ok());
  auto perms = std::filesystem::status(dir_ + "/run-locks").permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  std::ifstream f(held->path());
  std::stringstream text;
  text << f.rdbuf();
  EXPECT_NE(text.str().find("service orders plan /p.yaml"), std::string::npos);
  EXPECT_EQ(RunLock::TryAcquire(dir_, "/p.yaml", "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RunStateDirectory, RootUsesVarLibElseXdgStateHome) {
  const char* old = getenv("XDG_STATE_HOME");
  std::string saved = old ? old : "";
  setenv("XDG_STATE_HOME", "/x/state", 1);
  auto dir = DefaultRunStateDirectory();
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, geteuid() == 0 ? "/var/lib/lifeboat" : "/x/state/lifeboat");
  if (old) setenv("XDG_STATE_HOME", saved.c_str(), 1);
  else unsetenv("XDG_STATE_HOME");
}

}  // namespace
}  // namespace lifeboat
