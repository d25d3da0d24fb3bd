#include "plan/parse.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "plan/plan_test_util.h"
#include "plan/schedule.h"
#include "plan/validate.h"

namespace lifeboat::plan {
namespace {

using namespace testing;  // NOLINT
using std::chrono::seconds;

TEST(PlanParseTest, TheDocExampleIsValidWithoutWarnings) {
  const std::string text = DocExample();
  ASSERT_FALSE(text.empty()) << "doc/plan.md lost its plan-example markers";
  LoadedPlan p = CheckPlanText(text, "lifeboat.yaml", FixedNow());
  EXPECT_EQ(All(p), "");
  EXPECT_EQ(p.errors, 0u);
  EXPECT_EQ(p.warnings, 0u);
}

TEST(PlanParseTest, TheDocExampleModel) {
  LoadedPlan p = CheckPlanText(DocExample(), "lifeboat.yaml", FixedNow());
  const Plan& plan = p.plan;
  ASSERT_EQ(plan.sites.size(), 2u);
  EXPECT_EQ(plan.sites[0].name, "local");
  EXPECT_EQ(plan.sites[0].position, (Position{"lifeboat.yaml", 5, 3}));
  EXPECT_EQ(plan.sites[0].password, (SecretRef{SecretRef::Kind::kFile, "/etc/lifeboat/local.pass", {}}));
  EXPECT_EQ(plan.sites[0].media, "disk");
  EXPECT_EQ(plan.sites[0].role, SiteRole::kPrimary);
  const Site& off = plan.sites[1];
  EXPECT_EQ(off.password.kind, SecretRef::Kind::kCommand);
  EXPECT_EQ(off.password.value, "pass show lifeboat/offsite");
  ASSERT_EQ(off.env.size(), 2u);
  EXPECT_EQ(off.env[1].name, "AWS_SECRET_ACCESS_KEY");
  EXPECT_EQ(off.env[1].secret.value, "/etc/lifeboat/aws.secret");
  ASSERT_EQ(off.options.size(), 2u);
  EXPECT_EQ(off.options[1].key, "s3.object-lock-days");
  EXPECT_EQ(off.options[1].value, "30");
  EXPECT_TRUE(off.immutable);
  EXPECT_EQ(off.role, SiteRole::kOffsite);

  ASSERT_EQ(plan.services.size(), 3u);
  const Service& db = plan.services[0];
  EXPECT_EQ(db.name, "billing-db");
  EXPECT_EQ(db.tier, 0);
  EXPECT_EQ(db.rpo, seconds(900));
  EXPECT_EQ(db.rto, seconds(3600));
  EXPECT_EQ(db.mtd, seconds(4 * 3600));
  EXPECT_EQ(db.impact.downtime_cost_per_hour, 12000);
  EXPECT_EQ(db.schedule.cron, "*/5 * * * *");
  EXPECT_EQ(db.schedule.timezone, "Europe/Berlin");
  EXPECT_FALSE(db.schedule.derived);
  ASSERT_EQ(db.sources.size(), 1u);
  EXPECT_EQ(db.sources[0].kind, SourceKind::kPostgres);
  EXPECT_EQ(db.sources[0].postgres.database, "billing");
  ASSERT_TRUE(db.sources[0].postgres.password.has_value());
  EXPECT_EQ(db.sources[0].postgres.password->value, "/etc/lifeboat/pg.pass");
  ASSERT_TRUE(db.retention.has_value());
  EXPECT_EQ(db.retention->keep_last, 48);
  EXPECT_EQ(db.retention->keep_within.days, 2);
  ASSERT_EQ(db.recover.size(), 1u);
  EXPECT_EQ(db.recover[0].kind, RecoverStep::Kind::kPostgresRestore);
  ASSERT_EQ(db.verify.size(), 1u);
  EXPECT_EQ(db.verify[0].timeout, seconds(30));

  const Service& shop = plan.services[1];
  EXPECT_TRUE(shop.schedule.derived);
  EXPECT_EQ(shop.schedule.timezone, "UTC");
  EXPECT_EQ(shop.schedule.cron, DeriveCronFromRpo(seconds(3600), "shop"));
  EXPECT_EQ(shop.replication, Replication::kSync);
  ASSERT_EQ(shop.sources.size(), 3u);
  EXPECT_EQ(shop.sources[0].name, "sqlite");
  EXPECT_TRUE(shop.sources[0].name_derived);
  EXPECT_EQ(shop.sources[1].paths.exclude, (std::vector<std::string>{"*.tmp", "/srv/shop/uploads/cache"}));
  EXPECT_TRUE(shop.sources[1].paths.one_file_system);
  EXPECT_EQ(shop.sources[2].command.command.argv,
            (std::vector<std::string>{"/usr/local/bin/shopctl", "export-config"}));
  EXPECT_FALSE(shop.sources[2].command.command.shell);
  EXPECT_EQ(shop.sources[2].command.filename, "shop-config.json");
  EXPECT_EQ(shop.sources[2].command.timeout, seconds(300));
  EXPECT_EQ(shop.hooks.before[0].argv,
            (std::vector<std::string>{"/bin/sh", "-c", "systemctl kill -s USR1 shop.service"}));
  EXPECT_EQ(shop.hooks.on_error[0].argv[1], "shop backup failed");
  EXPECT_EQ(shop.hooks.timeout, seconds(120));
  ASSERT_EQ(shop.recover.size(), 1u);
  EXPECT_TRUE(shop.recover[0].background);
  EXPECT_EQ(shop.recover[0].ports, (std::vector<std::pair<std::string, int>>{{"http", 8080}}));
  ASSERT_EQ(shop.verify.size(), 4u);
  EXPECT_EQ(shop.verify[0].port.name, "http");
  EXPECT_EQ(shop.verify[1].expect_body, "ok");
  EXPECT_EQ(shop.verify[3].kind, VerifyCheck::Kind::kFiles);

  const Service& shares = plan.services[2];
  EXPECT_EQ(shares.replication, Replication::kAsync);
  EXPECT_EQ(shares.sources[0].name, "paths");
  EXPECT_EQ(shares.retention->keep_yearly, -1);

  ASSERT_EQ(plan.contacts.size(), 2u);
  EXPECT_EQ(plan.contacts[0].phone, "+49 30 1234567");
  ASSERT_EQ(plan.channels.size(), 7u);
  EXPECT_EQ(plan.channels[1].type, ChannelType::kSlack);
  EXPECT_EQ(plan.channels[3].url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(plan.channels[5].to.size(), 2u);
  EXPECT_TRUE(plan.channels[5].starttls);
  ASSERT_EQ(plan.routes.size(), 6u);
  EXPECT_EQ(plan.routes[0].escalate_after, seconds(1800));
  EXPECT_EQ(plan.routes[1].tiers, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(plan.routes[3].events, (std::vector<Event>{Event::kRunSummary}));
  EXPECT_EQ(plan.routes[5].events,
            (std::vector<Event>{Event::kDrillFailed, Event::kDrillPassed, Event::kRtoRegressed}));
  // Drills, prices and currencies.
  EXPECT_EQ(plan.currency, "EUR");
  EXPECT_EQ(plan.sites[0].price_per_gib_month, 0.01);
  EXPECT_EQ(plan.sites[0].currency, "EUR");  // the plan's
  EXPECT_EQ(plan.sites[1].price_per_gib_month, 0.0245);
  EXPECT_EQ(shop.impact.currency, "EUR");  // the plan's
  EXPECT_EQ(db.drill_every, seconds(8 * 86400));
  EXPECT_EQ(db.drill_schedule->timezone, "Europe/Berlin");
  EXPECT_EQ(shop.drill_schedule->cron, "30 4 * * mon");
  EXPECT_EQ(shop.drill_schedule->timezone, "UTC");
  EXPECT_FALSE(shares.drill_every.has_value());
  EXPECT_FALSE(shares.drill_schedule.has_value());
}

// Every file in tests/plans/broken/ has exactly the errors of its .expected file.
TEST(PlanParseTest, BrokenPlansHaveTheirExactMessages) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(LIFEBOAT_SOURCE_DIR) / "tests/plans/broken";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  EXPECT_GE(files.size(), 30u);
  for (const fs::path& f : files) {
    SCOPED_TRACE(f.filename().string());
    const std::string text = ReadSourceFile("tests/plans/broken/" + f.filename().string());
    fs::path expected_path = f;
    expected_path.replace_extension(".expected");
    ASSERT_TRUE(fs::exists(expected_path)) << expected_path;
    const std::string expected =
        ReadSourceFile("tests/plans/broken/" + expected_path.filename().string());
    LoadedPlan p = CheckPlanText(text, f.filename().string(), FixedNow());
    EXPECT_GT(p.errors, 0u);
    EXPECT_EQ(Errors(p), expected);
  }
}

TEST(PlanParseTest, EmptyAndNonMappingFiles) {
  EXPECT_EQ(Errors(CheckPlanText("", "p.yaml")),
            "p.yaml:1:1: error: the plan is empty\n  hint: start with \"version: 1\", then sites "
            "and services (doc/plan.md has a complete example)\n");
  EXPECT_EQ(Errors(CheckPlanText("- a\n- b\n", "p.yaml")),
            "p.yaml:1:1: error: the plan must be a mapping, not a list\n  hint: write its keys "
            "indented below it, or {key: value, ...} (doc/plan.md, \"Top level\")\n");
}

}  // namespace
}  // namespace lifeboat::plan
