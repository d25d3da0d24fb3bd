// OpenIncidentSites (dr/failover_internal.h): the sites a failover's records go to are opened at
// once, the recovery site waited for, and a site lost in the disaster given up after the limit
// instead of holding the failover back for its whole retry budget.
#include "dr/failover_internal.h"
#include "dr/plan_init.h"
#include "recover/recover_test_util.h"
#include "util/free_port_for_test.h"

namespace lifeboat::dr {
namespace {

class FailoverSitesTest : public recover::testing::RecoverFixture {
 protected:
  std::string Services(const std::string& sites) const {
    return "services:\n  shop:\n    tier: 1\n    rpo: 1h\n    sources:\n      - paths: [" +
           (dir_ / "data").string() + "]\n    sites: [" + sites + "]\n";
  }
};

TEST_F(FailoverSitesTest, ALostSiteIsGivenUpAfterTheLimitAndTheOthersOpen) {
  recover::testing::WriteFile(dir_ / "data" / "f", "x\n");
  const plan::Plan healthy =
      Load("version: 1\nsites:\n" + Site("b") + Site("c") + Services("b, c"));
  Result<PlanInitReport> init = InitPlanSites(healthy, {});
  ASSERT_TRUE(init.ok()) << init.status().ToString();
  ASSERT_TRUE(init->ok());
  const plan::Plan plan =
      Load("version: 1\nsites:\n" + Site("b") + Site("c") +
           "  gone:\n    repository: rest:http://127.0.0.1:" +
           std::to_string(lifeboat::testing::FreeLoopbackPort()) +
           "/repo\n    password_file: " + (dir_ / "pw").string() + "\n" + Services("gone, c, b"));

  IncidentState inc;
  inc.to_site = "b";
  inc.services.push_back(IncidentService{});
  inc.services.back().service = "shop";
  internal::IncidentSites sites;
  sites.other_site_limit = std::chrono::seconds(5);
  internal::OpenIncidentSites(plan, inc, Context(), &sites);

  ASSERT_EQ(sites.opened.size(), 3u);
  EXPECT_NE(sites.Find("b"), nullptr);
  EXPECT_NE(sites.Find("c"), nullptr);  // opened beside the lost one, not after it
  EXPECT_EQ(sites.Find("gone"), nullptr);
  const std::map<std::string, std::string> gone = sites.Unavailable();
  ASSERT_EQ(gone.size(), 1u);
  ASSERT_EQ(gone.count("gone"), 1u);
  EXPECT_NE(gone.at("gone").find("did not open within 5 s"), std::string::npos) << gone.at("gone");

  // A second call opens nothing again: the lost site stays given up, the others are reused.
  const Repository* b = sites.Find("b");
  internal::OpenIncidentSites(plan, inc, Context(), &sites);
  EXPECT_EQ(sites.opened.size(), 3u);
  EXPECT_EQ(sites.Find("b"), b);
}

}  // namespace
}  // namespace lifeboat::dr
