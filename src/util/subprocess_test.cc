#include "util/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace lifeboat {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

SubprocessOptions Shell(const std::string& command) {
  SubprocessOptions o;
  o.argv = ShellCommand(command);
  o.description = "test command";
  return o;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// True once `pid` is gone or a zombie (killed, waiting for init to reap it); waits up to 2 s.
bool ProcessGone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z')
      return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

pid_t ReadPid(const std::string& path) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream f(path);
    long pid = 0;
    if (f >> pid && pid > 0) return static_cast<pid_t>(pid);
    std::this_thread::sleep_for(milliseconds(10));
  }
  return -1;
}

std::string TempPath(const char* name) {
  return std::string(::testing::TempDir()) + "/subprocess_test_" + std::to_string(::getpid()) +
         "_" + name;
}

TEST(SubprocessTest, CapturesStdout) {
  auto out = RunAndCapture(Shell("echo hello; echo world"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "hello\nworld\n");
}

TEST(SubprocessTest, RunsArgvWithoutAShell) {
  SubprocessOptions o;
  o.argv = {"printf", "%s|", "a b", "$HOME"};
  auto out = RunAndCapture(o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "a b|$HOME|");
}

TEST(SubprocessTest, DecodesExitStatusAndSignal) {
  Status failed = RunAndCapture(Shell("exit 3")).status();
  EXPECT_EQ(failed.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(failed.message(), "test command failed with exit status 3");
  Status killed = RunAndCapture(Shell("kill -9 $$")).status();
  EXPECT_EQ(killed.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(killed.message(), "test command was killed by signal 9 (SIGKILL)");
}

TEST(SubprocessTest, AProgramThatDoesNotExistFailsToStart) {
  SubprocessOptions o;
  o.argv = {"/nonexistent/lifeboat-no-such-program"};
  auto child = Subprocess::Start(o);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.status().code(), StatusCode::kNotFound) << child.status().ToString();
  EXPECT_NE(child.status().message().find("lifeboat-no-such-program"), std::string::npos);
}

TEST(SubprocessTest, TimeoutStopsTheWholeGroup) {
  std::string pidfile = TempPath("timeout.pid");
  ::unlink(pidfile.c_str());
  SubprocessOptions o = Shell("sleep 30 & echo $! >" + pidfile + "; wait");
  o.timeout = milliseconds(300);
  auto start = Clock::now();
  Status st = RunAndCapture(o).status();
  EXPECT_LT(SecondsSince(start), 5);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_EQ(st.message(), "test command did not finish within 300 ms and was stopped");
  pid_t grandchild = ReadPid(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(ProcessGone(grandchild)) << "the command's own child survived the timeout";
  ::unlink(pidfile.c_str());
}

TEST(SubprocessTest, SigkillFollowsWhenSigtermIsIgnored) {
  SubprocessOptions o = Shell("trap '' TERM; sleep 30");
  o.timeout = milliseconds(100);
  o.kill_grace = milliseconds(300);
  auto start = Clock::now();
  Status st = RunAndCapture(o).status();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_LT(SecondsSince(start), 5);
  EXPECT_GE(SecondsSince(start), 0.35);
}

TEST(SubprocessTest, CancelInterruptsTheWaitPromptly) {
  std::atomic<bool> cancel{false};
  SubprocessOptions o = Shell("sleep 30");
  o.cancel = &cancel;
  std::thread setter([&] {
    std::this_thread::sleep_for(milliseconds(150));
    cancel = true;
  });
  auto start = Clock::now();
  Status st = RunAndCapture(o).status();
  setter.join();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.ToString();
  EXPECT_EQ(st.message(), "test command was interrupted");
  EXPECT_LT(SecondsSince(start), 3);
}

TEST(SubprocessTest, DestroyingTheOwnerStopsTheChild) {
  std::string pidfile = TempPath("owner.pid");
  ::unlink(pidfile.c_str());
  pid_t leader;
  pid_t grandchild;
  {
    auto child = Subprocess::Start(Shell("sleep 30 & echo $! >" + pidfile + "; wait"));
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    leader = (*child)->pid();
    grandchild = ReadPid(pidfile);
  }
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(ProcessGone(leader));
  EXPECT_TRUE(ProcessGone(grandchild));
  ::unlink(pidfile.c_str());
}

TEST(SubprocessTest, AChildStoppedForTheTerminalIsStoppedNotWaitedFor) {
  SubprocessOptions o = Shell("kill -TTIN $$; echo not reached");
  auto start = Clock::now();
  Status st = RunAndCapture(o).status();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("tried to use the terminal"), std::string::npos) << st.ToString();
  EXPECT_LT(SecondsSince(start), 5);
}

TEST(SubprocessTest, RunsInItsOwnProcessGroup) {
  auto out = RunAndCapture(Shell("echo $$; cut -d' ' -f5 /proc/$$/stat"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::istringstream in(*out);
  long pid = 0, pgid = 0;
  in >> pid >> pgid;
  EXPECT_EQ(pid, pgid);
  EXPECT_NE(pgid, static_cast<long>(::getpgrp()));
}

TEST(SubprocessTest, LeftoverBackgroundChildrenDoNotHoldTheOutputOpen) {
  auto start = Clock::now();
  auto out = RunAndCapture(Shell("sleep 30 & echo done"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "done\n");
  EXPECT_LT(SecondsSince(start), 5);
}

TEST(SubprocessTest, OutputOverTheLimitStopsTheChild) {
  SubprocessOptions o = Shell("yes");
  o.max_output = 1000;
  Status st = RunAndCapture(o).status();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("printed more than 1000 bytes"), std::string::npos);
}

TEST(SubprocessTest, StdinIsEmptyAndNoSignalIsIgnoredOrBlocked) {
  ::signal(SIGPIPE, SIG_IGN);  // as the CLI does
  auto out = RunAndCapture(Shell("cat; echo end"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "end\n");
  SubprocessOptions o;
  o.argv = {"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};
  auto sig = RunAndCapture(o);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  // Signals 1-31 (32 and 33 are the C library's own and not ours to reset).
  unsigned long long blocked = 0, ignored = 0;
  ASSERT_EQ(std::sscanf(sig->c_str(), "SigBlk:\t%llx\nSigIgn:\t%llx", &blocked, &ignored), 2)
      << *sig;
  EXPECT_EQ(blocked & 0x7fffffffULL, 0u) << *sig;
  EXPECT_EQ(ignored & 0x7fffffffULL, 0u) << *sig;
}

TEST(SubprocessTest, StreamsThroughAPipe) {
  auto child = Subprocess::Start(Shell("seq 1 20000"));
  ASSERT_TRUE(child.ok()) << child.status().ToString();
  std::string got;
  char buf[512];
  ssize_t n;
  while ((n = ::read((*child)->stdout_fd(), buf, sizeof buf)) > 0) got.append(buf, n);
  EXPECT_TRUE((*child)->Wait().ok());
  EXPECT_EQ(got.substr(0, 4), "1\n2\n");
  EXPECT_EQ(got.substr(got.size() - 6), "20000\n");
}

TEST(SubprocessTest, SecretsStayOutOfTheEnvironment) {
  ::setenv("LIFEBOAT_PASSWORD", "s3cret-a", 1);
  ::setenv("LIFEBOAT_FROM_PASSWORD", "s3cret-b", 1);
  ::setenv("LIFEBOAT_SOME_PASSWORD_LATER", "s3cret-c", 1);
  ::setenv("LIFEBOAT_PASSWORD_COMMAND", "echo s3cret-d", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "s3cret-e", 1);
  ::setenv("LIFEBOAT_REPOSITORY", "/srv/repo", 1);
  SubprocessOptions o;
  o.argv = {"env"};
  auto out = RunAndCapture(o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->find("s3cret"), std::string::npos) << *out;
  EXPECT_NE(out->find("LIFEBOAT_REPOSITORY=/srv/repo\n"), std::string::npos);
  EXPECT_NE(out->find("PATH="), std::string::npos);
  o.pass_secrets = {"LIFEBOAT_PASSWORD"};  // on purpose
  out = RunAndCapture(o);
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->find("LIFEBOAT_PASSWORD=s3cret-a\n"), std::string::npos);
  EXPECT_EQ(out->find("s3cret-b"), std::string::npos);
  for (const char* name : {"LIFEBOAT_PASSWORD", "LIFEBOAT_FROM_PASSWORD",
                           "LIFEBOAT_SOME_PASSWORD_LATER", "LIFEBOAT_PASSWORD_COMMAND",
                           "AWS_SECRET_ACCESS_KEY", "LIFEBOAT_REPOSITORY"})
    ::unsetenv(name);
}

TEST(SubprocessTest, ChildEnvironmentFiltersByName) {
  const char* parent[] = {"A=1", "LIFEBOAT_PASSWORD=x", "LIFEBOAT_PASSWORD_FILE=/f",
                          "AWS_SESSION_TOKEN=t", "LIFEBOAT_REPOSITORY=/r", "NOEQUALS", nullptr};
  std::vector<std::string> want = {"A=1", "LIFEBOAT_REPOSITORY=/r", "NOEQUALS"};
  EXPECT_EQ(ChildEnvironment(parent, {}), want);
  EXPECT_TRUE(IsSecretEnvironmentVariable("LIFEBOAT_X_PASSWORD"));
  EXPECT_FALSE(IsSecretEnvironmentVariable("MY_PASSWORD"));
  EXPECT_FALSE(IsSecretEnvironmentVariable("LIFEBOAT_REPOSITORY"));
}

// SubprocessOptions::environment: set for the child on purpose, replacing an inherited value.
TEST(SubprocessTest, EnvironmentIsSetForTheChildOnly) {
  ::setenv("LIFEBOAT_TEST_REPLACED", "old", 1);
  SubprocessOptions o;
  o.argv = {"env"};
  o.environment = {{"PGPASSWORD", "pw-for-child"}, {"LIFEBOAT_TEST_REPLACED", "new"}};
  auto out = RunAndCapture(o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->find("\nPGPASSWORD=pw-for-child\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("LIFEBOAT_TEST_REPLACED=new\n"), std::string::npos);
  EXPECT_EQ(out->find("LIFEBOAT_TEST_REPLACED=old"), std::string::npos);
  EXPECT_EQ(::getenv("PGPASSWORD"), nullptr);  // not in Lifeboat's own environment
  ::unsetenv("LIFEBOAT_TEST_REPLACED");
}

TEST(SubprocessTest, StderrCanJoinTheCapturedOutput) {
  SubprocessOptions o = Shell("echo out; echo err >&2; exit 0");
  o.stderr_to_stdout = true;
  auto out = RunAndCapture(o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "out\nerr\n");
}

TEST(SubprocessTest, RunsInTheGivenWorkingDirectory) {
  const std::string dir = TempPath("cwd");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  SubprocessOptions o = Shell("pwd");
  o.working_directory = dir;
  auto out = RunAndCapture(o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  char real[PATH_MAX];
  ASSERT_NE(::realpath(dir.c_str(), real), nullptr);
  EXPECT_EQ(*out, std::string(real) + "\n");
  ::rmdir(dir.c_str());
  // A directory that does not exist: the child does not start, and the message names it.
  auto missing = Subprocess::Start(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find(dir), std::string::npos);
}

}  // namespace
}  // namespace lifeboat
