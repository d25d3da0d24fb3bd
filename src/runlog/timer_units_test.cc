#include "runlog/timer_units.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/subprocess.h"

namespace lifeboat {
namespace {

TimerUnitOptions Options() {
  TimerUnitOptions o;
  o.lifeboat_binary = "/usr/local/bin/lifeboat";
  o.plan_path = "/etc/lifeboat/lifeboat.yaml";
  return o;
}

TEST(TimerUnits, ServiceAndTimerSayWhatTheyShould) {
  auto u = MakeSystemdUnits(Options());
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->service_name, "lifeboat-run.service");
  EXPECT_EQ(u->timer_name, "lifeboat-run.timer");
  const std::string& s = u->service_text;
  EXPECT_NE(s.find("\nType=oneshot\n"), std::string::npos);
  EXPECT_NE(s.find("\nExecStart=\"/usr/local/bin/lifeboat\" run --plan "
                   "\"/etc/lifeboat/lifeboat.yaml\"\n"),
            std::string::npos);
  EXPECT_NE(s.find("\nNice=10\n"), std::string::npos);
  EXPECT_NE(s.find("\nIOSchedulingClass=best-effort\n"), std::string::npos);
  EXPECT_NE(s.find("\nTimeoutStopSec=120s\n"), std::string::npos);
  EXPECT_NE(s.find("\nNoNewPrivileges=yes\n"), std::string::npos);
  EXPECT_NE(s.find("\nStateDirectory=lifeboat\n"), std::string::npos);
  EXPECT_EQ(s.find("User="), std::string::npos);
  EXPECT_EQ(s.find("PASSWORD"), std::string::npos);  // no secret, no secret variable
  const std::string& t = u->timer_text;
  EXPECT_NE(t.find("\nOnCalendar=minutely\n"), std::string::npos);
  EXPECT_NE(t.find("\nPersistent=true\n"), std::string::npos);
  EXPECT_NE(t.find("\nUnit=lifeboat-run.service\n"), std::string::npos);
  EXPECT_NE(t.find("\nWantedBy=timers.target\n"), std::string::npos);
}

TEST(TimerUnits, DaemonServiceRunsTheDaemonAndReloadsOnHup) {
  TimerUnitOptions o = Options();
  o.unit_name = "lifeboat-daemon";
  auto u = MakeDaemonUnit(o);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->service_name, "lifeboat-daemon.service");
  const std::string& s = u->service_text;
  EXPECT_NE(s.find("\nType=simple\n"), std::string::npos);
  EXPECT_NE(s.find("\nExecStart=\"/usr/local/bin/lifeboat\" daemon --plan "
                   "\"/etc/lifeboat/lifeboat.yaml\"\n"),
            std::string::npos);
  EXPECT_NE(s.find("\nExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos);
  EXPECT_NE(s.find("\nRestart=on-failure\n"), std::string::npos);
  EXPECT_NE(s.find("\nKillSignal=SIGTERM\n"), std::string::npos);
  EXPECT_NE(s.find("\nTimeoutStopSec=120s\n"), std::string::npos);
  EXPECT_NE(s.find("\nStateDirectory=lifeboat\n"), std::string::npos);
  EXPECT_NE(s.find("\nWantedBy=multi-user.target\n"), std::string::npos);
  EXPECT_EQ(s.find("Type=oneshot"), std::string::npos);
  EXPECT_EQ(s.find("PASSWORD"), std::string::npos);  // no secret, no secret variable
  o.system = false;
  u = MakeDaemonUnit(o);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->service_text.find("StateDirectory"), std::string::npos);
  EXPECT_NE(u->service_text.find("\nWantedBy=default.target\n"), std::string::npos);
  o.plan_path = "relative.yaml";
  EXPECT_EQ(MakeDaemonUnit(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(TimerUnits, UserUnitsLeaveOutSystemDirectories) {
  TimerUnitOptions o = Options();
  o.system = false;
  o.user = "backup";  // ignored for user units
  auto u = MakeSystemdUnits(o);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->service_text.find("StateDirectory"), std::string::npos);
  EXPECT_EQ(u->service_text.find("User="), std::string::npos);
  o.system = true;
  u = MakeSystemdUnits(o);
  ASSERT_TRUE(u.ok());
  EXPECT_NE(u->service_text.find("\nUser=backup\n"), std::string::npos);
}

TEST(TimerUnits, PathsAreQuotedForSystemdAndCron) {
  EXPECT_EQ(SystemdQuote("/a b/\"x\"\\%$"), "\"/a b/\\\"x\\\"\\\\%%$$\"");
  EXPECT_EQ(ShellQuote("/it's"), "'/it'\\''s'");
  TimerUnitOptions o = Options();
  o.plan_path = "/srv/plans/100% it's.yaml";
  auto line = MakeCrontabLine(o);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line,
            "* * * * * '/usr/local/bin/lifeboat' run --plan '/srv/plans/100\\% it'\\''s.yaml'\n");
  o.user = "backup";
  line = MakeCrontabLine(o);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->rfind("* * * * * backup '/usr/local/bin/lifeboat'", 0), 0u);
}

TEST(TimerUnits, BadInputIsRefusedWithTheField) {
  TimerUnitOptions o = Options();
  o.plan_path = "lifeboat.yaml";
  auto u = MakeSystemdUnits(o);
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(u.status().message().find("the plan file must be an absolute path"), std::string::npos);
  o = Options();
  o.lifeboat_binary = "/usr/bin/life\nboat";
  EXPECT_EQ(MakeCrontabLine(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.unit_name = "../evil";
  EXPECT_EQ(MakeSystemdUnits(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.user = "root; rm -rf /";
  EXPECT_EQ(MakeCrontabLine(o).status().code(), StatusCode::kInvalidArgument);
}

// systemd's own parser on the generated units, when the machine has it.
TEST(TimerUnits, SystemdAnalyzeVerifyAcceptsThem) {
  if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed: the units were checked by text only";
  }
  char tmpl[] = "/tmp/lifeboat-units-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  TimerUnitOptions o = Options();
  o.lifeboat_binary = "/bin/true";  // verify checks that the binary exists
  o.plan_path = "/etc/lifeboat/it's 100%.yaml";
  auto u = MakeSystemdUnits(o);
  ASSERT_TRUE(u.ok());
  std::ofstream(dir + "/" + u->service_name) << u->service_text;
  std::ofstream(dir + "/" + u->timer_name) << u->timer_text;
  SubprocessOptions so;
  so.argv = {"/usr/bin/systemd-analyze", "verify", "--man=no",
             dir + "/" + u->service_name, dir + "/" + u->timer_name};
  so.timeout = std::chrono::seconds(60);
  // stderr carries systemd's complaints; wrap to capture it with stdout.
  so.argv = {"/bin/sh", "-c",
             "/usr/bin/systemd-analyze verify --man=no \"$0\" \"$1\" 2>&1; echo \"exit=$?\"",
             dir + "/" + u->service_name, dir + "/" + u->timer_name};
  auto out = RunAndCapture(so);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::filesystem::remove_all(dir);
  // Lines about the unit files themselves (not about the machine: no systemd running in a
  // container is fine) would name our files.
  EXPECT_NE(out->find("exit=0"), std::string::npos) << *out;
  EXPECT_EQ(out->find("lifeboat-run.service:"), std::string::npos) << *out;
  EXPECT_EQ(out->find("lifeboat-run.timer:"), std::string::npos) << *out;
}

}  // namespace
}  // namespace lifeboat
