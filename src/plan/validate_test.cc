#include "plan/validate.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "plan/plan_test_util.h"

namespace lifeboat::plan {
namespace {

using namespace testing;  // NOLINT

// Two sites that satisfy 3-2-1 (disk + object storage, one offsite, immutable) and a service
// with verify checks: no warning. Tests change one thing each.
const char kGood[] = R"(version: 1
sites:
  a:
    repository: /srv/a
    password_file: /etc/lifeboat/a.pass
  b:
    repository: s3:https://s3.example.com/bucket/repo
    password_env: B_PASSWORD
    role: offsite
    immutable: true
services:
  db:
    tier: 1
    rpo: 1h
    rto: 2h
    mtd: 4h
    sources:
      - paths: [/srv/db]
    sites: [a, b]
    verify:
      - files: {}
    drill_every: 8d
)";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string Check(const std::string& text) { return All(CheckPlanText(text, "p.yaml", FixedNow())); }

TEST(PlanValidateTest, TheBaseIsClean) { EXPECT_EQ(Check(kGood), ""); }

TEST(PlanValidateTest, ScheduleThatCannotMeetTheRpo) {
  EXPECT_EQ(Check(Replace(kGood, "    sites: [a, b]\n", "    sites: [a, b]\n    schedule: \"0 */2 * * *\"\n")),
            "p.yaml:20:15: warning: the schedule of service \"db\" leaves up to 2h between "
            "backups, longer than its RPO of 1h\n  hint: schedule backups at least every 1h, or "
            "leave schedule out to derive one from the RPO\n");
  // Daily at 02:30 in Berlin: 25 h across the fall-back night, against an RPO of 24 h.
  EXPECT_EQ(Check(Replace(Replace(kGood, "rpo: 1h", "rpo: 24h"), "    sites: [a, b]\n",
                          "    sites: [a, b]\n    schedule: {cron: \"30 2 * * *\", timezone: Europe/Berlin}\n")),
            "p.yaml:20:15: warning: the schedule of service \"db\" leaves up to 1d1h between "
            "backups, longer than its RPO of 1d\n  hint: schedule backups at least every 1d, or "
            "leave schedule out to derive one from the RPO\n");
  // The same in UTC holds.
  EXPECT_EQ(Check(Replace(Replace(kGood, "rpo: 1h", "rpo: 24h"), "    sites: [a, b]\n",
                          "    sites: [a, b]\n    schedule: \"30 2 * * *\"\n")),
            "");
  // An RPO under a minute cannot be met by any schedule (derived: every minute).
  EXPECT_EQ(Check(Replace(kGood, "rpo: 1h", "rpo: 30s")),
            "p.yaml:14:5: warning: the schedule of service \"db\" leaves up to 1m between "
            "backups, longer than its RPO of 30s\n  hint: no schedule runs more often than every "
            "minute: raise the RPO\n");
}

TEST(PlanValidateTest, RtoAboveMtd) {
  EXPECT_EQ(Check(Replace(kGood, "rto: 2h", "rto: 6h")),
            "p.yaml:15:10: warning: the RTO of service \"db\" (6h) is longer than its maximum "
            "tolerable downtime (4h)\n  hint: a recovery that takes the whole RTO would exceed "
            "the MTD: lower rto or raise mtd\n");
}

TEST(PlanValidateTest, DependencyOnALessCriticalService) {
  const std::string text = Replace(kGood, "    verify:\n      - files: {}\n    drill_every: 8d\n",
                                   "    depends_on: [auth]\n    verify:\n      - files: {}\n"
                                   "    drill_every: 8d\n  auth:\n    tier: 3\n    rpo: 1d\n    sources:\n"
                                   "      - paths: [/srv/auth]\n    sites: [a, b]\n");
  EXPECT_EQ(Check(text),
            "p.yaml:20:18: warning: tier-1 service \"db\" depends on the less critical tier-3 "
            "service \"auth\"\n  hint: it cannot come back before \"auth\" does: give \"auth\" "
            "tier 1 or lower, or drop the dependency\n");
}

TEST(PlanValidateTest, ThreeTwoOneImmutableAndVerify) {
  // One site: too few copies, one kind of media, no offsite copy, no immutable site.
  EXPECT_EQ(Check(Replace(kGood, "sites: [a, b]", "sites: [a]")),
            "p.yaml:19:5: warning: service \"db\" has 2 copies (the live data and 1 site), fewer "
            "than the 3 of the 3-2-1 rule\n  hint: list at least two sites in sites\n"
            "p.yaml:19:5: warning: all sites of service \"db\" are on one kind of media (disk), "
            "fewer than the 2 of the 3-2-1 rule\n  hint: add a site of another kind (e.g. s3: or "
            "sftp:), or say what differs with media: (doc/plan.md, \"Sites\")\n"
            "p.yaml:19:5: warning: service \"db\" has no offsite copy (no site with role: "
            "offsite), as the 3-2-1 rule asks\n  hint: add a site at another location with role: "
            "offsite\n"
            "p.yaml:19:5: warning: tier-1 service \"db\" has no immutable site\n  hint: "
            "ransomware deletes what it can reach: add a site with immutable: true (append-only "
            "or S3 Object Lock)\n");
  // An explicit media kind counts: two local disks, one of them a USB disk kept offsite.
  std::string usb = Replace(kGood, "    repository: s3:https://s3.example.com/bucket/repo\n",
                            "    repository: /mnt/usb/repo\n    media: usb-disk\n");
  EXPECT_EQ(Check(usb), "");
  // A tier-3 service needs neither an immutable site nor verify checks.
  EXPECT_EQ(Check(Replace(Replace(kGood, "tier: 1", "tier: 3"), "    verify:\n      - files: {}\n", "")),
            "");
  EXPECT_EQ(Check(Replace(kGood, "    verify:\n      - files: {}\n", "")),
            "p.yaml:12:3: warning: tier-1 service \"db\" has no verify checks\n  hint: nobody "
            "would know whether a restore works: add verify checks (doc/plan.md, \"Recover and "
            "verify\")\n");
}

TEST(PlanValidateTest, Drills) {
  // A tier-0 or tier-1 service that nobody drills; a tier-2 one may go without.
  EXPECT_EQ(Check(Replace(kGood, "    drill_every: 8d\n", "")),
            "p.yaml:12:3: warning: tier-1 service \"db\" has neither drill_every nor "
            "drill_schedule\n  hint: a backup nobody has restored is a hope, not a plan: add "
            "drill_every (how old the newest passed drill may be) and drill_schedule (when "
            "lifeboat run drills it) (doc/plan.md, \"Drills\")\n");
  EXPECT_EQ(Check(Replace(Replace(kGood, "    drill_every: 8d\n", ""), "tier: 1", "tier: 2")), "");
  // A schedule alone is enough.
  EXPECT_EQ(Check(Replace(kGood, "    drill_every: 8d\n", "    drill_schedule: \"@weekly\"\n")), "");
  // A schedule that leaves longer gaps than drill_every: weekly in Berlin has a gap of 1w1h
  // each autumn, against a drill_every of exactly one week.
  EXPECT_EQ(Check(Replace(kGood, "    drill_every: 8d\n",
                          "    drill_every: 1w\n    drill_schedule: {cron: \"0 3 * * sun\", "
                          "timezone: Europe/Berlin}\n")),
            "p.yaml:23:21: warning: the drill_schedule of service \"db\" leaves up to 1w1h "
            "between drills, longer than its drill_every of 1w\n  hint: the drill would be "
            "overdue before the next scheduled one: schedule drills at least every 1w, or raise "
            "drill_every\n");
  EXPECT_EQ(Check(Replace(kGood, "    drill_every: 8d\n",
                          "    drill_every: 1w\n    drill_schedule: \"0 3 * * sun\"\n")),
            "");
  // The model.
  LoadedPlan p = CheckPlanText(Replace(kGood, "    drill_every: 8d\n",
                                       "    drill_every: 8d\n    drill_schedule: {cron: "
                                       "\"0 3 * * sun\", timezone: Europe/Berlin}\n"),
                               "p.yaml", FixedNow());
  ASSERT_EQ(p.errors, 0u) << All(p);
  const Service& db = p.plan.services[0];
  EXPECT_EQ(db.drill_every, std::chrono::seconds(8 * 86400));
  EXPECT_EQ(db.drill_every_position, (Position{"p.yaml", 22, 18}));
  ASSERT_TRUE(db.drill_schedule.has_value());
  EXPECT_EQ(db.drill_schedule->cron, "0 3 * * sun");
  EXPECT_EQ(db.drill_schedule->timezone, "Europe/Berlin");
  EXPECT_FALSE(db.drill_schedule->derived);
  EXPECT_EQ(db.drill_schedule->position, (Position{"p.yaml", 23, 21}));
  EXPECT_FALSE(CheckPlanText(kGood, "p.yaml", FixedNow()).plan.services[0].drill_schedule);
  // Errors are those of every schedule and duration, at the value.
  EXPECT_EQ(Errors(CheckPlanText(Replace(kGood, "drill_every: 8d", "drill_every: 0d"), "p.yaml",
                                 FixedNow())),
            "p.yaml:22:18: error: drill_every in service \"db\": invalid duration \"0d\": it must "
            "be longer than zero (e.g. 90s, 15m, 4h, 1h30m, 2d, 1w)\n  hint: durations are whole numbers each followed by a unit: s, m "
            "(minutes), h, d, w; e.g. 90s, 15m, 4h, 1h30m, 2d, 1w\n");
  EXPECT_EQ(Errors(CheckPlanText(Replace(kGood, "    drill_every: 8d\n",
                                         "    drill_schedule: {cron: \"0 3 * *\"}\n"),
                                 "p.yaml", FixedNow())),
            "p.yaml:22:28: error: drill_schedule of service \"db\": invalid cron expression \"0 3 "
            "* *\": it has 4 fields; a cron expression has five: minute hour day-of-month month "
            "day-of-week (e.g. \"30 2 * * *\"), or is a macro such as @daily\n  hint: five "
            "fields: minute hour day-of-month month day-of-week, e.g. \"30 2 * * *\", or @hourly, "
            "@daily, @weekly, @monthly, @yearly (doc/plan.md, \"Schedules\")\n");
}

TEST(PlanValidateTest, PricesAndCurrencies) {
  const std::string priced =
      Replace(Replace(kGood, "    role: offsite\n",
                      "    role: offsite\n    price_per_gib_month: 0.023\n    currency: USD\n"),
              "    rto: 2h\n", "    rto: 2h\n    impact: {downtime_cost_per_hour: 500, currency: EUR}\n");
  EXPECT_EQ(Check(priced),
            "p.yaml:10:26: warning: site \"b\" prices storage in USD, but the impact of service "
            "\"db\" is in EUR\n  hint: the business impact analysis cannot set the cost of "
            "protecting the service against the cost of losing it: give both the same currency "
            "(the plan's top-level currency is the default of both)\n");
  // The plan's currency is the default of both: one currency, no warning.
  const std::string one = Replace(Replace(Replace(priced, "    currency: USD\n", ""),
                                          ", currency: EUR}", "}"),
                                  "version: 1\n", "version: 1\ncurrency: CHF\n");
  LoadedPlan p = CheckPlanText(one, "p.yaml", FixedNow());
  EXPECT_EQ(All(p), "");
  EXPECT_EQ(p.plan.currency, "CHF");
  EXPECT_EQ(p.plan.sites[1].currency, "CHF");
  EXPECT_EQ(p.plan.sites[0].currency, "CHF");
  EXPECT_EQ(p.plan.services[0].impact.currency, "CHF");
  EXPECT_EQ(p.plan.sites[1].price_per_gib_month, 0.023);
  EXPECT_FALSE(p.plan.sites[0].price_per_gib_month.has_value());
  // A site's own currency wins over the plan's.
  EXPECT_EQ(CheckPlanText(Replace(one, "price_per_gib_month: 0.023\n",
                                  "price_per_gib_month: 0.023\n    currency: CHF\n"),
                          "p.yaml", FixedNow())
                .plan.sites[1]
                .currency,
            "CHF");
  // Prices are plain numbers of at least zero.
  EXPECT_EQ(Errors(CheckPlanText(Replace(priced, "0.023", "-1"), "p.yaml", FixedNow())),
            "p.yaml:10:26: error: price_per_gib_month in site \"b\" must be a number of at least "
            "0, not \"-1\"\n  hint: write a number without quotes, e.g. 1500 or 12.5\n");
  EXPECT_EQ(Errors(CheckPlanText(Replace(priced, "0.023", "\"0.023\""), "p.yaml", FixedNow())),
            "p.yaml:10:26: error: price_per_gib_month in site \"b\" must be a number of at least "
            "0, not the string \"0.023\"\n  hint: write a number without quotes, e.g. 1500 or "
            "12.5\n");
}

TEST(PlanValidateTest, CyclesArePrintedOnce) {
  const std::string text = Replace(kGood, "    verify:\n      - files: {}\n",
                                   "    depends_on: [web]\n    verify:\n      - files: {}\n"
                                   "  web:\n    tier: 1\n    rpo: 1h\n    depends_on: [db]\n"
                                   "    sources:\n      - paths: [/srv/web]\n    sites: [a, b]\n"
                                   "    verify:\n      - files: {}\n"
                                   "  self:\n    tier: 1\n    rpo: 1h\n    depends_on: [self]\n"
                                   "    sources:\n      - paths: [/srv/self]\n    sites: [a, b]\n"
                                   "    verify:\n      - files: {}\n");
  EXPECT_EQ(Errors(CheckPlanText(text, "p.yaml", FixedNow())),
            "p.yaml:26:18: error: dependency cycle: db -> web -> db\n  hint: a service cannot be "
            "recovered before itself: remove one of these depends_on entries\n"
            "p.yaml:35:18: error: dependency cycle: self -> self\n  hint: a service cannot be "
            "recovered before itself: remove one of these depends_on entries\n");
}

TEST(PlanValidateTest, LoadPlanRefusesAPlanWithErrorsAndKeepsWarnings) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "lifeboat-plan-test";
  std::filesystem::create_directories(dir);
  const std::string bad = (dir / "bad.yaml").string(), good = (dir / "good.yaml").string();
  std::ofstream(bad) << Replace(kGood, "rpo: 1h", "rpo: 1 hour");
  std::ofstream(good) << Replace(kGood, "sites: [a, b]", "sites: [a, b, a]");
  Result<LoadedPlan> refused = LoadPlan(bad, FixedNow());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find(bad + ":14:10: error: rpo in service \"db\": invalid "
                                            "duration \"1 hour\""),
            std::string::npos)
      << refused.status().message();
  // A name listed twice is an error too.
  Result<LoadedPlan> twice = LoadPlan(good, FixedNow());
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("site \"a\" listed twice in service \"db\""), std::string::npos);
  std::ofstream(good) << Replace(kGood, "rto: 2h", "rto: 5h");
  Result<LoadedPlan> loaded = LoadPlan(good, FixedNow());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->warnings, 1u);
  EXPECT_EQ(LoadPlan((dir / "missing.yaml").string()).status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(PlanValidateTest, FindPlanFileOrder) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "lifeboat-find-plan";
  std::filesystem::create_directories(dir);
  const std::filesystem::path old_cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  ::unsetenv("LIFEBOAT_PLAN");
  EXPECT_EQ(*FindPlanFile("/x/flag.yaml"), "/x/flag.yaml");
  if (!std::filesystem::exists("/etc/lifeboat/lifeboat.yaml")) {
    EXPECT_EQ(FindPlanFile("").status().code(), StatusCode::kNotFound);
  }
  std::ofstream("lifeboat.yaml") << "version: 1\n";
  EXPECT_EQ(*FindPlanFile(""), "lifeboat.yaml");
  ::setenv("LIFEBOAT_PLAN", "/y/env.yaml", 1);
  EXPECT_EQ(*FindPlanFile(""), "/y/env.yaml");
  EXPECT_EQ(*FindPlanFile("/x/flag.yaml"), "/x/flag.yaml");
  ::unsetenv("LIFEBOAT_PLAN");
  std::filesystem::current_path(old_cwd);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::plan

namespace lifeboat::plan {
namespace {

using namespace testing;  // NOLINT

// Failover keys (doc/plan.md, "Failover"): parsed with their defaults, and every error at its
// position.
TEST(PlanFailoverTest, KeysAndDefaults) {
  const std::string text = Replace(
      Replace(kGood, "    immutable: true\n", "    immutable: true\n    recovery_root: /srv/dr/\n"),
      "    drill_every: 8d\n",
      "    drill_every: 8d\n"
      "    switch:\n"
      "      - command: [\"/usr/local/bin/vip\", \"move\", \"$LIFEBOAT_SWITCH_TO\"]\n"
      "        timeout: 1m\n"
      "      - command: \"nsupdate /etc/dr/$LIFEBOAT_SWITCH_TO\"\n"
      "    failover: {interval: 1m}\n"
      "failover:\n  commit_after: 1h\n");
  LoadedPlan p = CheckPlanText(text, "p.yaml", FixedNow());
  EXPECT_EQ(Errors(p), "");
  ASSERT_EQ(p.plan.sites.size(), 2u);
  EXPECT_EQ(p.plan.sites[0].recovery_root, "/");
  EXPECT_EQ(p.plan.sites[1].recovery_root, "/srv/dr");
  const Service& db = p.plan.services[0];
  ASSERT_EQ(db.switch_steps.size(), 2u);
  EXPECT_EQ(db.switch_steps[0].command.argv.size(), 3u);
  EXPECT_FALSE(db.switch_steps[0].command.shell);
  EXPECT_EQ(db.switch_steps[0].timeout, std::chrono::seconds(60));
  EXPECT_TRUE(db.switch_steps[1].command.shell);
  EXPECT_EQ(db.switch_steps[1].timeout, std::chrono::seconds(120));
  EXPECT_EQ(db.switch_steps[1].position.line, 27);
  ASSERT_TRUE(db.failover.has_value());
  EXPECT_EQ(db.failover->to, "b");  // the second site
  EXPECT_TRUE(db.failover->automatic);
  EXPECT_EQ(db.failover->interval, std::chrono::seconds(60));
  EXPECT_EQ(db.failover->timeout, std::chrono::seconds(10));
  EXPECT_EQ(db.failover->failures_before_failover, 3);
  ASSERT_TRUE(p.plan.failover.commit_after.has_value());
  EXPECT_EQ(*p.plan.failover.commit_after, std::chrono::seconds(3600));
  // A tier-1 service watched by the daemon with only a files check: warned.
  EXPECT_NE(All(p).find("p.yaml:28:5: warning: tier-1 service \"db\" has a failover policy but "
                        "no verify check that reaches the running service"),
            std::string::npos)
      << All(p);
}

TEST(PlanFailoverTest, Errors) {
  auto with = [](const std::string& service_keys, const std::string& site_keys = "") {
    return Errors(CheckPlanText(
        Replace(Replace(kGood, "    immutable: true\n", "    immutable: true\n" + site_keys),
                "    drill_every: 8d\n", "    drill_every: 8d\n" + service_keys),
        "p.yaml", FixedNow()));
  };
  EXPECT_EQ(with("", "    recovery_root: srv/dr\n"),
            "p.yaml:11:20: error: recovery_root of site \"b\" is a relative path: \"srv/dr\"\n"
            "  hint: write an absolute path, e.g. recovery_root: /srv/dr (or leave it out for /: "
            "sources come back at their own paths)\n");
  EXPECT_EQ(with("    failover: {to: c}\n"),
            "p.yaml:23:20: error: failover of service \"db\" goes to site \"c\", which the "
            "service does not list\n  hint: did you mean \"a\"? the recovery site must hold the "
            "service's backups: "
            "its sites are a, b\n");
  EXPECT_EQ(with("    failover: {to: a}\n"),
            "p.yaml:23:20: error: failover of service \"db\" goes to site \"a\", the service's "
            "first site\n  hint: the first site is where the service runs and is backed up; fail "
            "over to another of its sites (b)\n");
  EXPECT_EQ(with("    failover: {interval: 10s, timeout: 10s}\n"),
            "p.yaml:23:40: error: the health-check timeout of failover of service \"db\" (10s) "
            "is not shorter than its interval (10s)\n  hint: a round of checks must end before "
            "the next begins: make timeout shorter than interval\n");
  EXPECT_NE(with("    failover: {failures_before_failover: 0}\n").find("p.yaml:23:"),
            std::string::npos);
  EXPECT_NE(with("    switch:\n      - timeout: 1m\n")
                .find("p.yaml:24:9: error: switch step 1 of service \"db\" has no command"),
            std::string::npos)
      << with("    switch:\n      - timeout: 1m\n");
  EXPECT_NE(with("    switch:\n      - command: x\n        timeot: 1m\n").find("did you mean"),
            std::string::npos);
  // One site and a failover policy.
  EXPECT_EQ(Errors(CheckPlanText(
                Replace(Replace(kGood, "sites: [a, b]", "sites: [a]"), "    drill_every: 8d\n",
                        "    drill_every: 8d\n    failover: {}\n"),
                "p.yaml", FixedNow())),
            "p.yaml:23:5: error: failover of service \"db\": the service has only one site to "
            "fail over from and to\n  hint: list a second site in its sites (a failover restores "
            "from the backups at the recovery site), or remove failover\n");
}

}  // namespace
}  // namespace lifeboat::plan
