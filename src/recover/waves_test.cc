// RecoveryWaves: dependencies before dependents, tier priority within a wave, dependencies of the
// selected services pulled in, unknown names and cycles refused.
#include "recover/waves.h"

#include <gtest/gtest.h>

#include "plan/plan_test_util.h"

namespace lifeboat::recover {
namespace {

struct Spec {
  std::string name;
  int tier;
  std::vector<std::string> deps;
};

plan::Plan MakePlan(const std::vector<Spec>& specs) {
  plan::Plan p;
  p.file = "lifeboat.yaml";
  for (const Spec& s : specs) {
    plan::Service svc;
    svc.name = s.name;
    svc.tier = s.tier;
    for (const std::string& d : s.deps) svc.depends_on.push_back({d, {}});
    p.services.push_back(svc);
  }
  return p;
}

// "1: a b | 2: c" : wave numbers and names in order.
std::string Show(const std::vector<Wave>& waves) {
  std::string out;
  for (const Wave& w : waves) {
    if (!out.empty()) out += " | ";
    out += std::to_string(w.number) + ":";
    for (const WaveService& s : w.services) out += " " + s.name;
  }
  return out;
}

const WaveService* Find(const std::vector<Wave>& waves, const std::string& name) {
  for (const Wave& w : waves) {
    for (const WaveService& s : w.services) {
      if (s.name == name) return &s;
    }
  }
  return nullptr;
}

TEST(RecoveryWavesTest, IndependentServicesShareOneWaveInTierOrder) {
  plan::Plan p = MakePlan({{"files", 3, {}}, {"db", 0, {}}, {"mail", 1, {}}, {"wiki", 1, {}}});
  auto w = RecoveryWaves(p, {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Show(*w), "1: db mail wiki files");  // ties (mail, wiki) in plan order
}

TEST(RecoveryWavesTest, AServiceComesInTheWaveAfterItsLatestDependency) {
  // shop -> (db, cache), cache -> db, report -> shop; search alone.
  plan::Plan p = MakePlan({{"report", 2, {"shop"}},
                           {"shop", 1, {"db", "cache"}},
                           {"cache", 1, {"db"}},
                           {"search", 2, {}},
                           {"db", 0, {}}});
  auto w = RecoveryWaves(p, {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Show(*w), "1: db search | 2: cache | 3: shop | 4: report");
  const WaveService* db = Find(*w, "db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->needed_by, (std::vector<std::string>{"shop", "cache"}));
  const WaveService* shop = Find(*w, "shop");
  EXPECT_EQ(shop->depends_on, (std::vector<std::string>{"db", "cache"}));
}

TEST(RecoveryWavesTest, ADependencyTakesThePriorityOfWhatNeedsIt) {
  // A tier-3 service that a tier-0 one needs comes before a tier-1 service of its wave.
  plan::Plan p =
      MakePlan({{"crm", 1, {}}, {"ldap", 3, {}}, {"billing", 0, {"ldap"}}, {"wiki", 2, {}}});
  auto w = RecoveryWaves(p, {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Show(*w), "1: ldap crm wiki | 2: billing");
  EXPECT_EQ(Find(*w, "ldap")->priority_tier, 0);
  EXPECT_EQ(Find(*w, "ldap")->tier, 3);
  EXPECT_EQ(Find(*w, "crm")->priority_tier, 1);
}

TEST(RecoveryWavesTest, PriorityPassesThroughAChainOfDependencies) {
  plan::Plan p = MakePlan({{"a", 0, {"b"}}, {"b", 2, {"c"}}, {"c", 3, {}}, {"d", 1, {}}});
  auto w = RecoveryWaves(p, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Show(*w), "1: c d | 2: b | 3: a");
  EXPECT_EQ(Find(*w, "c")->priority_tier, 0);
  EXPECT_EQ(Find(*w, "b")->priority_tier, 0);
}

TEST(RecoveryWavesTest, SelectedServicesPullInTheirDependenciesOnly) {
  plan::Plan p = MakePlan({{"db", 0, {}},
                           {"cache", 1, {"db"}},
                           {"shop", 1, {"cache"}},
                           {"files", 3, {}},
                           {"report", 2, {"shop"}}});
  auto w = RecoveryWaves(p, {"shop"});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(Show(*w), "1: db | 2: cache | 3: shop");
  EXPECT_TRUE(Find(*w, "shop")->selected);
  EXPECT_FALSE(Find(*w, "db")->selected);
  EXPECT_FALSE(Find(*w, "cache")->selected);
  // needed_by names only services in the set: report is not drilled.
  EXPECT_EQ(Find(*w, "shop")->needed_by, std::vector<std::string>{});
  // Priority comes only from services in the set.
  auto w2 = RecoveryWaves(p, {"files", "db"});
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(Show(*w2), "1: db files");
  EXPECT_EQ(Find(*w2, "db")->needed_by, std::vector<std::string>{});
}

TEST(RecoveryWavesTest, UnknownOrRepeatedNamesAreRefused) {
  plan::Plan p = MakePlan({{"db", 0, {}}, {"shop", 1, {"db"}}});
  auto unknown = RecoveryWaves(p, {"shpo"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("\"shpo\""), std::string::npos);
  EXPECT_NE(unknown.status().message().find("db, shop"), std::string::npos);
  auto twice = RecoveryWaves(p, {"db", "db"});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
}

TEST(RecoveryWavesTest, ACycleIsNamed) {
  plan::Plan p = MakePlan({{"x", 0, {}}, {"a", 1, {"b"}}, {"b", 1, {"c"}}, {"c", 1, {"a"}}});
  auto w = RecoveryWaves(p, {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(w.status().message().find("a -> b -> c -> a"), std::string::npos)
      << w.status().message();
  // Outside the selection, a cycle does not matter.
  auto x = RecoveryWaves(p, {"x"});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(Show(*x), "1: x");
}

TEST(RecoveryWavesTest, TheDocExamplePlan) {
  plan::LoadedPlan loaded =
      plan::CheckPlanText(plan::testing::DocExample(), "lifeboat.yaml", plan::testing::FixedNow());
  ASSERT_EQ(loaded.errors, 0u) << plan::testing::Errors(loaded);
  auto w = RecoveryWaves(loaded.plan, {});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Show(*w), "1: billing-db shares | 2: shop");
}

}  // namespace
}  // namespace lifeboat::recover

namespace lifeboat::recover {
namespace {

TEST(EnvironmentNameTest, UpperCasesAndReplacesEveryOtherCharacter) {
  EXPECT_EQ(EnvironmentName("billing-db"), "BILLING_DB");
  EXPECT_EQ(EnvironmentName("shop.v2_x"), "SHOP_V2_X");
  EXPECT_EQ(EnvironmentName("http"), "HTTP");
}

}  // namespace
}  // namespace lifeboat::recover
