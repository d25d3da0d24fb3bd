#include "dr/bia.h"

#include <gtest/gtest.h>

#include "plan/validate.h"

namespace lifeboat::dr {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kHour = 3600 * kSec;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr int64_t kNow = 1'796'000'000 * kSec;  // 2026-11-29

// Five services with hand-computable numbers (doc/bia.md walks through the same arithmetic):
//   db    tier 0, rto 2h,   mtd 4h                  -> critical path 2h
//   app   tier 1, rto 1h30, mtd 3h, after db        -> 1h30 + 2h = 3h30 > 3h: MTD exceeded
//   cache tier 2, rto 4h,   mtd 1d                  -> 4h
//   web   tier 1, rto 30m,  mtd 5h, after app+cache -> 30m + max(3h30, 4h) = 4h30 (via cache)
//   cheap tier 3, rto 1h,   mtd 1d, tiny impact     -> over-protected once it stores anything
constexpr const char* kPlan = R"(version: 1
currency: EUR
sites:
  a:
    repository: /nonexistent/a
    password_file: /nonexistent/pass
    price_per_gib_month: 0.02
  b:
    repository: /nonexistent/b
    password_file: /nonexistent/pass
    role: offsite
    immutable: true
    price_per_gib_month: 0.10
services:
  db:
    owner: dba
    tier: 0
    rpo: 30m
    rto: 2h
    mtd: 4h
    impact: {downtime_cost_per_hour: 1000, data_loss_cost_per_hour: 4000}
    sources: [{paths: [/srv/db]}]
    sites: [a, b]
  app:
    tier: 1
    rpo: 1h
    rto: 1h30m
    mtd: 3h
    depends_on: [db]
    impact: {downtime_cost_per_hour: 600, data_loss_cost_per_hour: 100}
    sources: [{paths: [/srv/app]}, {name: conf, command: "cat /etc/app.conf"}]
    sites: [a, b]
  cache:
    tier: 2
    rpo: 1d
    rto: 4h
    mtd: 1d
    sources: [{paths: [/srv/cache]}]
    sites: [a]
  web:
    tier: 1
    rpo: 1h
    rto: 30m
    mtd: 5h
    depends_on: [app, cache]
    sources: [{paths: [/srv/web]}]
    sites: [a]
  cheap:
    tier: 3
    rpo: 1d
    rto: 1h
    mtd: 1d
    impact: {downtime_cost_per_hour: 0.01, data_loss_cost_per_hour: 0.01}
    sources: [{paths: [/srv/cheap]}]
    sites: [a, b]
)";

plan::Plan LoadTestPlan() {
  plan::LoadedPlan loaded = plan::CheckPlanText(kPlan, "bia.yaml");
  EXPECT_EQ(loaded.errors, 0u);
  for (const plan::Diagnostic& d : loaded.diagnostics)
    if (d.is_error()) ADD_FAILURE() << d.ToString();
  return loaded.plan;
}

GroupSize Stored(const std::string& service, uint64_t attributed) {
  GroupSize g;
  g.name = service;
  g.attributed = attributed;
  g.referenced = attributed + kGiB;  // also uses two GiB shared with one other service
  g.exclusive = attributed > kGiB ? attributed - kGiB : 0;
  return g;
}

ServiceSiteStatus SiteState(const std::string& site, RpoState state) {
  ServiceSiteStatus s;
  s.site = site;
  s.state = state;
  if (state != RpoState::kMissing) s.newest = SnapshotRef{std::string(64, 'a'), kNow - kHour, kHour};
  return s;
}

DrillRecord Drill(const std::string& service, DrillResult result, int64_t start_ns,
                  std::optional<int64_t> rto, std::optional<int64_t> rpo) {
  DrillRecord r;
  r.id = service + std::to_string(start_ns);
  r.drill_id = "d" + r.id;
  r.service = service;
  r.site = "a";
  r.start_ns = start_ns;
  r.end_ns = start_ns + rto.value_or(kHour);
  r.result = result;
  r.achieved_rto_ns = rto;
  r.achieved_rpo_ns = rpo;
  if (result != DrillResult::kPassed) r.error = "verify check failed";
  return r;
}

// Both sites read: a is a plain disk, b append-only; storage as below; status and drills as
// described per service in the test.
BiaInputs OnlineInputs() {
  BiaInputs in;
  in.offline = false;
  BiaSiteReading a, b;
  a.site = "a";
  a.read = true;
  a.services = {Stored("db", 10 * kGiB), Stored("app", 2 * kGiB), Stored("cache", 0),
                Stored("web", kGiB), Stored("cheap", 5 * kGiB)};
  a.other_bytes = kGiB;
  a.shared_bytes = 3 * kGiB;
  b.site = "b";
  b.read = true;
  b.append_only = true;
  b.services = {Stored("db", 10 * kGiB), Stored("app", 2 * kGiB), Stored("cheap", 5 * kGiB)};
  in.sites = {a, b};
  PlanStatus st;
  auto service = [&](const std::string& name, std::vector<ServiceSiteStatus> sites) {
    ServiceStatus s;
    s.name = name;
    s.sites = std::move(sites);
    st.services.push_back(std::move(s));
  };
  service("db", {SiteState("a", RpoState::kOk), SiteState("b", RpoState::kAtRisk)});
  service("app", {SiteState("a", RpoState::kOk), SiteState("b", RpoState::kViolated)});
  service("cache", {SiteState("a", RpoState::kOk)});
  service("web", {SiteState("a", RpoState::kOk)});
  service("cheap", {SiteState("a", RpoState::kOk), SiteState("b", RpoState::kOk)});
  in.status = st;
  in.drills = {Drill("db", DrillResult::kPassed, kNow - 48 * kHour, kHour, 10 * 60 * kSec),
               Drill("app", DrillResult::kFailed, kNow - 24 * kHour, std::nullopt, std::nullopt)};
  return in;
}

const BiaService& Find(const Bia& bia, const std::string& name) {
  for (const BiaService& s : bia.services)
    if (s.name == name) return s;
  ADD_FAILURE() << "no service " << name;
  return bia.services.front();
}

std::vector<std::string> GapKinds(const BiaService& s) {
  std::vector<std::string> out;
  for (const BiaGap& g : s.gaps) out.push_back(g.kind);
  return out;
}

TEST(BiaTest, CriticalPathsAreTheLongestChainOfRtos) {
  const plan::Plan plan = LoadTestPlan();
  auto bia = BuildBia(plan, OnlineInputs(), kNow);
  ASSERT_TRUE(bia.ok()) << bia.status().ToString();
  EXPECT_EQ(Find(*bia, "db").critical_path_rto_ns, 2 * kHour);
  EXPECT_EQ(Find(*bia, "app").critical_path_rto_ns, 3 * kHour + kHour / 2);
  EXPECT_EQ(Find(*bia, "app").critical_path, (std::vector<std::string>{"db", "app"}));
  EXPECT_EQ(Find(*bia, "app").meets_mtd, false);
  // web waits for the slower of its two dependencies: cache (4h), not app (3h30).
  EXPECT_EQ(Find(*bia, "web").critical_path_rto_ns, 4 * kHour + kHour / 2);
  EXPECT_EQ(Find(*bia, "web").critical_path, (std::vector<std::string>{"cache", "web"}));
  EXPECT_EQ(Find(*bia, "web").meets_mtd, true);
  EXPECT_EQ(Find(*bia, "web").all_dependencies,
            (std::vector<std::string>{"db", "cache", "app"}));  // recovery order
  EXPECT_EQ(Find(*bia, "db").needed_by, (std::vector<std::string>{"app"}));
}

TEST(BiaTest, EveryChainAgainstEveryMembersMtd) {
  const plan::Plan plan = LoadTestPlan();
  auto bia = BuildBia(plan, OnlineInputs(), kNow);
  ASSERT_TRUE(bia.ok());
  // Chains from a service that needs nothing to one nothing needs, the longest first:
  //   cache -> web 4h30; db -> app -> web 2h + 1h30 + 30m = 4h; cheap 1h.
  ASSERT_EQ(bia->chains.size(), 3u);
  const BiaChain& first = bia->chains[0];
  EXPECT_EQ(first.critical_path_rto_ns, 4 * kHour + kHour / 2);
  EXPECT_TRUE(first.meets_mtd);
  const BiaChain& second = bia->chains[1];
  ASSERT_EQ(second.members.size(), 3u);
  EXPECT_EQ(second.members[0].service, "db");
  EXPECT_EQ(second.members[1].finish_ns, 3 * kHour + kHour / 2);
  EXPECT_TRUE(second.members[1].exceeds_mtd);   // app: 3h30 > 3h
  EXPECT_FALSE(second.members[2].exceeds_mtd);  // web: 4h <= 5h along this chain
  EXPECT_EQ(second.critical_path_rto_ns, 4 * kHour);
  EXPECT_FALSE(second.meets_mtd);
  EXPECT_EQ(bia->chains[2].members[0].service, "cheap");
  EXPECT_EQ(bia->chains[2].critical_path_rto_ns, kHour);
}

TEST(BiaTest, CostsOfOneRtoOneRpoAndOneIncident) {
  const plan::Plan plan = LoadTestPlan();
  auto bia = BuildBia(plan, OnlineInputs(), kNow);
  ASSERT_TRUE(bia.ok());
  const BiaService& db = Find(*bia, "db");
  EXPECT_DOUBLE_EQ(*db.downtime_cost_at_rto, 2000);           // 2h x 1000
  EXPECT_DOUBLE_EQ(*db.downtime_cost_at_critical_path, 2000);
  EXPECT_DOUBLE_EQ(*db.downtime_cost_at_mtd, 4000);           // 4h x 1000
  EXPECT_DOUBLE_EQ(*db.data_loss_cost_at_rpo, 2000);          // 0.5h x 4000
  EXPECT_DOUBLE_EQ(*db.loss_per_incident, 4000);
  EXPECT_EQ(db.currency, "EUR");
  const BiaService& app = Find(*bia, "app");
  EXPECT_DOUBLE_EQ(*app.downtime_cost_at_rto, 900);            // 1.5h x 600
  EXPECT_DOUBLE_EQ(*app.downtime_cost_at_critical_path, 2100);  // 3.5h x 600
  EXPECT_DOUBLE_EQ(*app.data_loss_cost_at_rpo, 100);           // 1h x 100
  EXPECT_DOUBLE_EQ(*app.loss_per_incident, 2200);
  EXPECT_FALSE(Find(*bia, "web").loss_per_incident.has_value());  // no impact in the plan
  // Protection: attributed GiB x price at each site. db: 10 x 0.02 + 10 x 0.10.
  EXPECT_NEAR(*db.monthly_protection_cost, 1.2, 1e-9);
  EXPECT_NEAR(*db.annual_protection_cost, 14.4, 1e-9);
  EXPECT_TRUE(db.protection_cost_complete);
  ASSERT_EQ(db.sites.size(), 2u);
  EXPECT_EQ(*db.sites[0].stored_bytes, 10 * kGiB);
  EXPECT_EQ(*db.sites[0].referenced_bytes, 11 * kGiB);
  EXPECT_NEAR(*db.sites[1].monthly_cost, 1.0, 1e-9);
  EXPECT_NEAR(*Find(*bia, "cheap").monthly_protection_cost, 0.6, 1e-9);  // 5 x 0.02 + 5 x 0.10
  // Site a: every service's share plus the other snapshots', at 0.02.
  ASSERT_EQ(bia->sites.size(), 2u);
  EXPECT_EQ(*bia->sites[0].services_bytes, 18 * kGiB);
  EXPECT_NEAR(*bia->sites[0].monthly_cost, 19 * 0.02, 1e-9);
}

TEST(BiaTest, GapsAndVerdicts) {
  const plan::Plan plan = LoadTestPlan();
  auto bia = BuildBia(plan, OnlineInputs(), kNow);
  ASSERT_TRUE(bia.ok());
  // db: three copies, offsite, append-only b, a passed drill within target; 14.40 a year
  // against 4000 per incident.
  const BiaService& db = Find(*bia, "db");
  EXPECT_EQ(db.copies, 3);
  EXPECT_TRUE(db.immutable_copy);
  EXPECT_EQ(db.sites[1].immutability, "append-only");
  ASSERT_TRUE(db.last_drill.has_value());
  EXPECT_EQ(*db.last_drill->achieved_rto_ns, kHour);
  EXPECT_TRUE(db.gaps.empty()) << GapKinds(db).front();
  EXPECT_EQ(db.verdict, "balanced");
  // app: its chain misses its MTD, site b violates the RPO (two copies), its last drill failed.
  const BiaService& app = Find(*bia, "app");
  EXPECT_EQ(app.copies, 2);
  EXPECT_EQ(GapKinds(app), (std::vector<std::string>{"mtd_exceeded", "fewer_than_3_copies",
                                                      "rpo_not_held", "failed"}));
  EXPECT_EQ(app.verdict, "under_protected");
  // web: one site, not offsite, not immutable, never drilled.
  EXPECT_EQ(GapKinds(Find(*bia, "web")),
            (std::vector<std::string>{"fewer_than_3_copies", "no_offsite", "no_immutable_copy",
                                      "never_drilled"}));
  EXPECT_EQ(Find(*bia, "web").verdict, "under_protected");
  // cheap: 7.20 a year protects 0.25 of loss per incident (1h down x 0.01 + 24h of data x 0.01).
  const BiaService& cheap = Find(*bia, "cheap");
  EXPECT_DOUBLE_EQ(*cheap.loss_per_incident, 0.25);
  EXPECT_EQ(cheap.verdict, "over_protected");
  EXPECT_NE(cheap.verdict_reason.find("7.20 EUR"), std::string::npos) << cheap.verdict_reason;
}

TEST(BiaTest, AnUnreadableSiteIsNamedNeverSkipped) {
  const plan::Plan plan = LoadTestPlan();
  BiaInputs in = OnlineInputs();
  in.sites[1] = BiaSiteReading{};
  in.sites[1].site = "b";
  in.sites[1].error = "NoRepository: no repository at /nonexistent/b";
  for (ServiceStatus& s : in.status->services)
    for (ServiceSiteStatus& ss : s.sites)
      if (ss.site == "b") ss.state = RpoState::kUnreachable;
  auto bia = BuildBia(plan, in, kNow);
  ASSERT_TRUE(bia.ok());
  EXPECT_FALSE(bia->sites[1].read);
  EXPECT_EQ(bia->sites[1].error, in.sites[1].error);
  const BiaService& db = Find(*bia, "db");
  EXPECT_EQ(db.sites[1].state, "unreachable");
  EXPECT_EQ(db.sites[1].immutability, "unknown");
  EXPECT_FALSE(db.protection_cost_complete);
  EXPECT_NEAR(*db.monthly_protection_cost, 0.2, 1e-9);  // site a alone
  EXPECT_EQ(GapKinds(db), (std::vector<std::string>{"fewer_than_3_copies", "no_immutable_copy",
                                                     "site_unreadable"}));
  const std::string md = BiaMarkdown(*bia);
  EXPECT_NE(md.find("no: NoRepository: no repository at /nonexistent/b"), std::string::npos);
}

TEST(BiaTest, OfflineFromThePlanAlone) {
  const plan::Plan plan = LoadTestPlan();
  BiaOptions o;
  o.offline = true;
  auto bia = ComputeBia(plan, o);
  ASSERT_TRUE(bia.ok()) << bia.status().ToString();
  EXPECT_TRUE(bia->offline);
  const BiaService& db = Find(*bia, "db");
  EXPECT_EQ(db.copies, 3);  // the plan's two sites and the live data
  EXPECT_TRUE(db.immutable_copy);
  EXPECT_EQ(db.sites[1].immutability, "planned");
  EXPECT_FALSE(db.monthly_protection_cost.has_value());
  EXPECT_FALSE(db.drills_read);
  EXPECT_EQ(db.verdict, "balanced");
  EXPECT_EQ(GapKinds(Find(*bia, "app")), (std::vector<std::string>{"mtd_exceeded"}));
  EXPECT_EQ(bia->sites[0].error, "not read (offline)");
  EXPECT_EQ(bia->waves.size(), 3u);  // db, cache, cheap | app | web
  EXPECT_EQ(Find(*bia, "web").wave, 3);
}

// Online reads of sites that do not exist: each is named with its error; nothing fails.
TEST(BiaTest, ReadingMissingSitesNamesThem) {
  const plan::Plan plan = LoadTestPlan();
  auto bia = ComputeBia(plan, {});
  ASSERT_TRUE(bia.ok()) << bia.status().ToString();
  ASSERT_EQ(bia->sites.size(), 2u);
  for (const BiaSiteSummary& s : bia->sites) {
    EXPECT_FALSE(s.read);
    EXPECT_FALSE(s.error.empty()) << s.site;
  }
  ASSERT_GE(bia->warnings.size(), 2u);
  EXPECT_NE(bia->warnings[0].find("site a cannot be read"), std::string::npos) << bia->warnings[0];
}

TEST(BiaTest, JsonKeysAndHtmlEscaping) {
  plan::Plan plan = LoadTestPlan();
  // Names are restricted by the parser; a plan struct can hold anything: prove the escaping.
  plan.services[4].name = "<script>alert(1)</script>";
  plan.services[0].owner = "<img src=x onerror=alert(2)>";
  BiaInputs in = OnlineInputs();
  in.sites[0].services[4].name = plan.services[4].name;
  in.sites[1].services[2].name = plan.services[4].name;
  in.status->services[4].name = plan.services[4].name;
  auto bia = BuildBia(plan, in, kNow);
  ASSERT_TRUE(bia.ok());
  const std::string html = BiaHtml(*bia);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  const std::string md = BiaMarkdown(*bia);
  EXPECT_EQ(md.find("<script"), std::string::npos);
  EXPECT_EQ(md.find("<img"), std::string::npos);

  const nlohmann::ordered_json j = BiaJson(*bia);
  EXPECT_EQ(j["message_type"], "plan_bia");
  EXPECT_EQ(j["version"], 1);
  const auto& db = j["services"][0];
  EXPECT_EQ(db["service"], "db");
  EXPECT_EQ(db["rto_seconds"], 7200);
  EXPECT_EQ(db["critical_path"]["rto_seconds"], 7200);
  EXPECT_EQ(db["outage_impacts"]["loss_per_incident"], 4000.0);
  EXPECT_EQ(db["protection"]["monthly_cost"], 1.2);
  EXPECT_EQ(db["exposure"]["sites"][1]["immutability"], "append-only");
  EXPECT_EQ(db["exposure"]["last_drill"]["achieved_rto_seconds"], 3600);
  EXPECT_EQ(db["verdict"], "balanced");
  EXPECT_EQ(j["services"][1]["critical_path"]["meets_mtd"], false);
  EXPECT_EQ(j["chains"][1]["members"][1]["exceeds_mtd"], true);
  EXPECT_EQ(j["waves"][0]["services"][0]["service"], "db");
  EXPECT_EQ(j["sites"][1]["read"], true);
}

TEST(BiaTest, FormatMoney) {
  EXPECT_EQ(FormatMoney(1234567.891, "EUR"), "1,234,567.89 EUR");
  EXPECT_EQ(FormatMoney(0.004, ""), "0.00");
  EXPECT_EQ(FormatMoney(999.999, "USD"), "1,000.00 USD");
  EXPECT_EQ(FormatMoney(-12.5, ""), "-12.50");
}

}  // namespace
}  // namespace lifeboat::dr
