#include "dashboard/sample_state.h"

namespace lifeboat::dashboard {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 60 * kMin;

dr::SnapshotRef Snap(char fill, int64_t age_ns) {
  return {std::string(64, fill), kSampleNowNs - age_ns, age_ns};
}

dr::ServiceSiteStatus Down(const std::string& site, const std::string& error) {
  dr::ServiceSiteStatus ss;
  ss.site = site;
  ss.state = dr::RpoState::kUnreachable;
  ss.error = error;
  return ss;
}

dr::ServiceSiteStatus Up(const std::string& site, char fill, int64_t age_ns,
                         std::chrono::seconds rpo) {
  dr::ServiceSiteStatus ss;
  ss.site = site;
  ss.newest = Snap(fill, age_ns);
  ss.state = dr::RpoStateForAge(age_ns, rpo);
  dr::LastRun run;
  run.run_id = std::string(32, fill);
  run.start_ns = kSampleNowNs - age_ns;
  run.end_ns = run.start_ns + 40 * kS;
  run.records = 1;
  ss.last_run = run;
  return ss;
}

dr::ServiceStatus Service(const std::string& name, int tier, std::chrono::seconds rpo,
                          std::vector<dr::ServiceSiteStatus> sites, int64_t next_in_ns) {
  dr::ServiceStatus s;
  s.name = name;
  s.tier = tier;
  s.rpo = rpo;
  s.sites = std::move(sites);
  s.next_run_ns = kSampleNowNs + next_in_ns;
  s.holds = true;
  for (const dr::ServiceSiteStatus& ss : s.sites) s.holds &= dr::RpoHolds(ss.state);
  return s;
}

DrillSummary Drill(const std::string& service, const std::string& site, int64_t ago_ns,
                   DrillResult result, std::optional<int64_t> rto, int64_t rto_target,
                   std::optional<int64_t> rpo, int64_t rpo_target, std::string error = "") {
  DrillSummary d;
  d.service = service;
  d.site = site;
  d.start_ns = kSampleNowNs - ago_ns;
  d.result = result;
  d.achieved_rto_ns = rto;
  d.rto_target_ns = rto_target;
  d.achieved_rpo_ns = rpo;
  d.rpo_target_ns = rpo_target;
  d.error = std::move(error);
  return d;
}

}  // namespace

DashboardState SampleDashboardState(bool hostile_text) {
  using std::chrono::hours;
  using std::chrono::minutes;
  const std::string down =
      "DeadlineExceeded: sftp://backup@main.example.com/lifeboat: no answer "
      "within 20s";
  DashboardState st;
  st.plan_file = "/etc/lifeboat/lifeboat.yaml";
  st.now_ns = kSampleNowNs;

  dr::PlanStatus p;
  p.now_ns = kSampleNowNs - 40 * kS;
  p.duration_ns = 20 * kS;
  dr::SiteStatus main;
  main.name = "main-site";
  main.role = "primary";
  main.media = "disk";
  main.reachable = false;
  main.error = down;
  main.most_critical_tier = 0;
  dr::SiteStatus drs;
  drs.name = "dr-site";
  drs.role = "offsite";
  drs.media = "object-storage";
  drs.reachable = true;
  drs.snapshots = 4212;
  drs.run_records = 310;
  drs.most_critical_tier = 0;
  p.sites = {main, drs};
  p.services.push_back(Service("billing-db", 0, minutes(15),
                               {Down("main-site", down), Up("dr-site", 'a', 6 * kMin, minutes(15))},
                               4 * kMin));
  p.services.push_back(Service("shop", 1, hours(1),
                               {Down("main-site", down), Up("dr-site", 'b', 52 * kMin, hours(1))},
                               8 * kMin));
  p.services.push_back(Service("wiki", 2, hours(24),
                               {Down("main-site", down), Up("dr-site", 'c', 3 * kHour, hours(24))},
                               21 * kHour));
  p.services.push_back(Service("mail", 3, hours(24), {Down("main-site", down)}, 5 * kHour));
  p.holds = false;
  p.warnings = {"mail: 1 copy (the live data only), fewer than the 3 of the 3-2-1 rule"};
  st.status = p;

  st.drills = {
      Drill("billing-db", "dr-site", 2 * 24 * kHour, DrillResult::kPassed, 9 * kMin + 12 * kS,
            kHour, 7 * kMin, 15 * kMin),
      Drill("shop", "dr-site", 2 * 24 * kHour, DrillResult::kPassed, 21 * kMin + 40 * kS, 2 * kHour,
            38 * kMin, kHour),
      Drill("wiki", "dr-site", 6 * 24 * kHour, DrillResult::kFailed, std::nullopt, 4 * kHour,
            5 * kHour, 24 * kHour,
            hostile_text ? "verify check failed: <script>console.error(\"injected from a "
                           "drill\")</script>"
                         : "verify check http /health: status 502"),
      Drill("mail", "main-site", 12 * 24 * kHour, DrillResult::kPassed, 48 * kMin, 8 * kHour,
            9 * kHour, 24 * kHour),
  };

  DaemonInfo& d = st.daemon;
  d.actor = "dr1.example.com:4242:8f3a9c1e";
  d.sites = {"dr-site"};
  d.started_ns = kSampleNowNs - 6 * 24 * kHour;
  d.acting = true;
  d.fence_kind = "etcd";
  d.members = {{"dr-site", d.actor, "dr1.example.com", d.started_ns}};
  ServiceHealth billing{"billing-db",
                        HealthState::kFailed,
                        3,
                        3,
                        "tcp main-db.example.com:5432: connection refused",
                        kSampleNowNs - 25 * kS};
  ServiceHealth shop{"shop",
                     HealthState::kFailed,
                     3,
                     3,
                     hostile_text ? kSampleHostileError
                                  : "http https://shop.example.com/health: timed out after 10s",
                     kSampleNowNs - 22 * kS};
  ServiceHealth wiki{"wiki", HealthState::kHealthy, 0, 5, "", kSampleNowNs - 12 * kS};
  d.health = {billing, shop, wiki};
  d.active_sites = {{"billing-db", "dr-site", 7},
                    {"shop", "main-site", 0},
                    {"wiki", "main-site", 0},
                    {"mail", "main-site", 0}};
  d.next_runs = {{"billing-db", "backup", "dr-site", kSampleNowNs + 4 * kMin},
                 {"shop", "backup", "main-site", kSampleNowNs + 8 * kMin},
                 {"mail", "backup", "main-site", kSampleNowNs + 5 * kHour},
                 {"wiki", "backup", "main-site", kSampleNowNs + 21 * kHour},
                 {"billing-db", "drill", "dr-site", kSampleNowNs + 5 * 24 * kHour}};

  Incident inc;
  inc.id = "20261205T0912Z-5c1e";
  inc.kind = "failover";
  inc.state = "open";
  inc.from_site = "main-site";
  inc.to_site = "dr-site";
  inc.start_ns = kSampleNowNs - 18 * kMin;
  inc.declared_by = "daemon dr-site: 3 failed health checks of billing-db";
  inc.token = 7;
  IncidentService ib;
  ib.service = "billing-db";
  ib.state = "switched";
  ib.wave = 0;
  ib.achieved_rto_ns = 9 * kMin + 48 * kS;
  ib.rto_target_ns = kHour;
  ib.data_loss_ns = 7 * kMin + 3 * kS;
  ib.rpo_ns = 15 * kMin;
  IncidentService is;
  is.service = "shop";
  is.state = "recovering";
  is.wave = 1;
  is.rto_target_ns = 2 * kHour;
  is.data_loss_ns = 53 * kMin;
  is.rpo_ns = kHour;
  inc.services = {ib, is};
  const int64_t t0 = inc.start_ns;
  inc.timeline = {
      {t0 - 90 * kS,
       "health: billing-db failed 3 rounds in a row (tcp main-db.example.com:5432: "
       "connection refused); service_down sent"},
      {t0, "failover started by daemon dr-site (fencing token 7): billing-db, shop to dr-site"},
      {t0 + 20 * kS, "wave 0: restoring billing-db from snapshot aaaaaaaa (6m old)"},
      {t0 + 7 * kMin, "billing-db: postgres_restore done (6m40s)"},
      {t0 + 9 * kMin + 30 * kS, "billing-db: verify passed (sql, tcp)"},
      {t0 + 9 * kMin + 48 * kS, "billing-db: switched to dr-site (vip move 10.0.0.80)"},
      {t0 + 10 * kMin, "wave 1: restoring shop from snapshot bbbbbbbb (52m old)"},
  };
  st.incident = inc;
  return st;
}

}  // namespace lifeboat::dashboard
