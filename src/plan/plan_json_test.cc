#include "plan/plan_json.h"

#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "plan/keys.h"
#include "plan/plan_test_util.h"

namespace lifeboat::plan {
namespace {

using namespace testing;  // NOLINT
using J = nlohmann::ordered_json;

TEST(PlanJsonTest, NormalisedPlanOfTheDocExample) {
  LoadedPlan p = CheckPlanText(DocExample(), "lifeboat.yaml", FixedNow());
  ASSERT_EQ(p.errors, 0u) << All(p);
  const J j = PlanToJson(p.plan);
  EXPECT_EQ(j["version"], 1);
  // Order of the file.
  std::vector<std::string> services;
  for (auto& [name, s] : j["services"].items()) services.push_back(name);
  EXPECT_EQ(services, (std::vector<std::string>{"billing-db", "shop", "shares"}));
  // Secrets as references only.
  EXPECT_EQ(j["sites"]["local"]["password"], (J{{"file", "/etc/lifeboat/local.pass"}}));
  EXPECT_EQ(j["sites"]["offsite"]["password"], (J{{"command", "pass show lifeboat/offsite"}}));
  EXPECT_EQ(j["sites"]["offsite"]["env"]["AWS_ACCESS_KEY_ID"], (J{{"file", "/etc/lifeboat/aws.id"}}));
  EXPECT_EQ(j["notifications"]["channels"]["phone-push"]["token"], (J{{"env", "NTFY_TOKEN"}}));
  EXPECT_EQ(j["notifications"]["channels"]["ops-webhook"]["headers"]["Authorization"],
            (J{{"file", "/etc/lifeboat/hook.auth"}}));
  // Durations in seconds, defaults filled, derived schedule.
  const J& shop = j["services"]["shop"];
  EXPECT_EQ(shop["rpo_seconds"], 3600);
  EXPECT_EQ(shop["mtd_seconds"], 8 * 3600);
  EXPECT_EQ(shop["schedule"]["derived"], true);
  EXPECT_EQ(shop["schedule"]["timezone"], "UTC");
  EXPECT_EQ(shop["sources"][0]["name"], "sqlite");
  EXPECT_EQ(shop["sources"][2]["timeout_seconds"], 300);
  EXPECT_EQ(shop["sources"][1]["exclude_file"], J::array());
  EXPECT_EQ(shop["hooks"]["before"][0], (J{{"argv", {"/bin/sh", "-c", "systemctl kill -s USR1 shop.service"}}, {"shell", true}}));
  EXPECT_EQ(shop["verify"][0], (J{{"tcp", {{"port", "http"}, {"host", "127.0.0.1"}}}, {"timeout_seconds", 60}}));
  const J& shares = j["services"]["shares"];
  EXPECT_EQ(shares["replication"], "async");
  EXPECT_EQ(shares["rto_seconds"], 86400);
  EXPECT_EQ(shares["hooks"]["timeout_seconds"], 900);
  EXPECT_EQ(shares["recover"], J::array());
  EXPECT_EQ(j["services"]["billing-db"]["retention"],
            J::parse(retention::PolicyToJson(*p.plan.services[0].retention).dump()));
  EXPECT_EQ(j["notifications"]["routes"][1]["tiers"], (J{0, 1, 2, 3}));
  EXPECT_EQ(j["notifications"]["routes"][0]["escalate_after_seconds"], 1800);
  EXPECT_EQ(j["notifications"]["channels"]["oncall-pager"]["url"],
            "https://events.pagerduty.com/v2/enqueue");
  // Drills, prices and currencies, the plan's currency filled in where none is given.
  EXPECT_EQ(j["currency"], "EUR");
  EXPECT_EQ(j["sites"]["local"]["price_per_gib_month"], 0.01);
  EXPECT_EQ(j["sites"]["local"]["currency"], "EUR");
  EXPECT_EQ(j["services"]["billing-db"]["drill_every_seconds"], 8 * 86400);
  EXPECT_EQ(j["services"]["billing-db"]["drill_schedule"],
            (J{{"cron", "0 3 * * sun"}, {"timezone", "Europe/Berlin"}}));
  EXPECT_EQ(shop["drill_schedule"], (J{{"cron", "30 4 * * mon"}, {"timezone", "UTC"}}));
  EXPECT_EQ(shop["impact"]["currency"], "EUR");
  EXPECT_TRUE(shares["drill_every_seconds"].is_null());
  EXPECT_TRUE(shares["drill_schedule"].is_null());
  EXPECT_EQ(j["notifications"]["routes"][5]["events"],
            (J{"drill_failed", "drill_passed", "rto_regressed"}));
}

// Every key of every table is in the schema, with its accepted spellings.
TEST(PlanJsonTest, SchemaHasEveryKeyOfTheTables) {
  const J schema = PlanSchema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema["additionalProperties"], false);
  int checked = 0;
  std::set<std::string_view> visited;
  std::function<void(const ObjectSpec&, const J&)> check = [&](const ObjectSpec& spec, const J& def) {
    if (!visited.insert(spec.id).second) return;
    if (spec.variant_by != ObjectSpec::VariantBy::kNone) {
      ASSERT_TRUE(def.contains("oneOf")) << spec.id;
      ASSERT_EQ(def["oneOf"].size(), spec.variants.size()) << spec.id;
      for (size_t i = 0; i < spec.variants.size(); ++i) {
        const ObjectSpec& v = *spec.variants[i].spec;
        for (const KeySpec& k : v.keys) {
          for (const std::string& name : AcceptedKeyNames(k)) {
            EXPECT_TRUE(def["oneOf"][i]["properties"].contains(name)) << spec.id << "." << name;
            ++checked;
          }
          if (k.object) check(*k.object, schema["$defs"][std::string(k.object->id)]);
        }
      }
      return;
    }
    const J& object = spec.shorthand_key.empty() ? def : def["oneOf"][1];
    for (const KeySpec& k : spec.keys) {
      for (const std::string& name : AcceptedKeyNames(k)) {
        EXPECT_TRUE(object["properties"].contains(name)) << spec.id << "." << name;
        ++checked;
      }
      if (k.object) {
        const std::string id(k.object->id);
        ASSERT_TRUE(schema["$defs"].contains(id)) << id;
        check(*k.object, schema["$defs"][id]);
      }
    }
  };
  check(TopLevelSpec(), schema);
  EXPECT_GT(checked, 100);
  EXPECT_EQ(schema["properties"]["version"]["const"], 1);
  EXPECT_EQ(schema["$defs"]["site"]["properties"]["role"]["enum"], (J{"primary", "secondary", "offsite"}));
  EXPECT_EQ(schema["$defs"]["service"]["properties"]["tier"]["maximum"], 3);
}

// The retention table lists exactly the keys of retention's JSON form (so the two modules agree).
TEST(PlanJsonTest, RetentionTableMatchesTheRetentionModule) {
  retention::RetentionPolicy full;
  full.keep_last = full.keep_hourly = full.keep_daily = full.keep_weekly = full.keep_monthly =
      full.keep_yearly = 1;
  full.keep_within.days = full.keep_within_hourly.days = full.keep_within_daily.days =
      full.keep_within_weekly.days = full.keep_within_monthly.days = full.keep_within_yearly.days = 1;
  full.keep_tags = {{"a"}};
  std::set<std::string> module_keys, table_keys;
  const nlohmann::json module_json = retention::PolicyToJson(full);
  for (auto it = module_json.begin(); it != module_json.end(); ++it) module_keys.insert(it.key());
  for (const KeySpec& k : RetentionSpec().keys) table_keys.insert(std::string(k.name));
  EXPECT_EQ(module_keys, table_keys);
}

}  // namespace
}  // namespace lifeboat::plan
