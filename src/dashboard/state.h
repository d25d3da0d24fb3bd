// What the daemon's dashboard and API show (doc/daemon.md, "Dashboard and API"): one snapshot of
// the plan's status, the recent drills, the daemon's own state and the open incident, taken by
// the daemon's data provider for each request and turned into Prometheus text (metrics.h), the
// /api/v1/status JSON (api_json.h) and the HTML page (page.h). Plain data: the server knows
// nothing of how it was gathered.
//
//   DashboardState s;
//   s.plan_file = loaded.plan.file;
//   s.now_ns = NowNs();
//   s.status = latest_status;                      // dr::ComputePlanStatus's, from the loop
//   s.drills = RecentDrills(drill_history, 3);     // the 3 newest of each service
//   s.daemon.acting = fence->Acting();
//
// Thread safety: plain values; the functions are pure and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dr/drill_history.h"
#include "dr/status.h"
#include "runlog/drill_records.h"

namespace lifeboat::dashboard {

// One drill of one service from one site, as drill history read it.
struct DrillSummary {
  std::string service;
  std::string site;  // where it was restored from
  int64_t start_ns = 0;
  DrillResult result = DrillResult::kPassed;
  std::optional<int64_t> achieved_rto_ns, rto_target_ns;  // unset: not recovered / no target
  std::optional<int64_t> achieved_rpo_ns, rpo_target_ns;
  std::string error;  // why it failed or was skipped; "" when it passed
};

// The `per_service` newest drills of each service of `history` (newest first, services in plan
// order): what the dashboard lists and what lifeboat_last_drill_* is taken from.
std::vector<DrillSummary> RecentDrills(const dr::DrillHistory& history, size_t per_service);

// The health of one watched service (a service with a `failover` policy), as the daemon's
// health checks see it (doc/daemon.md, "Health checks").
enum class HealthState {
  kUnknown,  // not checked yet
  kHealthy,  // the last round passed
  kFailing,  // the last round failed, fewer than failures_before_failover in a row
  kFailed,   // declared failed (service_down sent)
};
std::string_view HealthStateName(HealthState state);  // "unknown", "healthy", "failing", "failed"

struct ServiceHealth {
  std::string service;
  HealthState state = HealthState::kUnknown;
  int consecutive_failures = 0;
  int failures_before_failover = 3;      // the policy's threshold
  std::string last_error;                // the failing check's error; "" after a passing round
  std::optional<int64_t> last_check_ns;  // when the last round ended
};

// Where a service is active now (fence/fence.h's ActiveSite, resolved: a service never moved is
// active at its first site).
struct ActiveSite {
  std::string service;
  std::string site;
  uint64_t token = 0;  // the fencing token of the move that put it there; 0: never moved
};

// A daemon that has joined the fence (fence::Member): the holder of a lease for a site.
struct LeaseMember {
  std::string site;
  std::string actor;  // "HOST:PID:8 hex"
  std::string host;
  int64_t since_ns = 0;
};

// A job the daemon will start at `at_ns`.
struct ScheduledRun {
  std::string service;
  std::string kind;  // "backup" (a run of the service: backup, replication, retention), "drill"
  std::string site;  // where it runs (its active site, or the drill's site); "" when every site
  int64_t at_ns = 0;
};

// The daemon itself.
struct DaemonInfo {
  std::string actor;               // this daemon's identity; "" when not a daemon (a test)
  std::vector<std::string> sites;  // the sites it acts for (--site)
  int64_t started_ns = 0;
  bool acting = true;
  std::string acting_note;  // why not acting ("lease not renewed for 21 s: ..."); "" when acting
  std::string fence_kind;   // "lock-file" or "etcd"
  std::vector<LeaseMember> members;
  std::vector<ServiceHealth> health;     // the watched services, in plan order
  std::vector<ActiveSite> active_sites;  // every service, in plan order
  std::vector<ScheduledRun> next_runs;   // soonest first
  std::vector<std::string> warnings;     // for people: a rejected plan reload, ...
};

// One service of an incident (doc/failover.md, "Incident records").
struct IncidentService {
  std::string service;
  std::string state;  // the incident record's per-service state ("recovering", "switched", ...)
  std::optional<int> wave;
  std::optional<int64_t> achieved_rto_ns, rto_target_ns;
  std::optional<int64_t> data_loss_ns, rpo_ns;  // the data-loss window and the RPO
  std::string error;
};

struct TimelineEntry {
  int64_t time_ns = 0;
  std::string what;
};

// The open incident (a failover or failback not yet committed or rolled back).
struct Incident {
  std::string id;
  std::string kind;   // "failover", "failback"
  std::string state;  // "open", "committed", "rolled_back", "failed", "closed"
  std::string from_site, to_site;
  int64_t start_ns = 0;
  // "operator root@host", "daemon dr-site: 3 failed health checks of shop", "API client ...".
  std::string declared_by;
  uint64_t token = 0;  // its fencing token
  std::vector<IncidentService> services;
  std::vector<TimelineEntry> timeline;  // oldest first
};

// The incident states lifeboat_failover_state has a sample for, "none" first.
inline constexpr std::string_view kIncidentStates[] = {"none",        "open",   "committed",
                                                       "rolled_back", "failed", "closed"};

struct DashboardState {
  std::string plan_file;
  int64_t now_ns = 0;  // when the provider took this state (ages and "in 5m" are against it)
  // The newest plan status; unset until the daemon computed the first one (status_note says
  // why: "computing the first status", or the error of the last attempt).
  std::optional<dr::PlanStatus> status;
  std::string status_note;
  std::vector<DrillSummary> drills;  // RecentDrills
  DaemonInfo daemon;
  std::optional<Incident> incident;
};

}  // namespace lifeboat::dashboard
