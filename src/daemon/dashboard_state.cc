#include "daemon/dashboard_state.h"

#include <algorithm>
#include <cmath>

namespace lifeboat::daemon {

namespace {

std::optional<int64_t> Ns(const std::optional<double>& seconds) {
  if (!seconds) return std::nullopt;
  return static_cast<int64_t>(std::llround(*seconds * 1e9));
}

dashboard::HealthState DashboardHealth(HealthState s) {
  switch (s) {
    case HealthState::kUnchecked:
      return dashboard::HealthState::kUnknown;
    case HealthState::kHealthy:
      return dashboard::HealthState::kHealthy;
    case HealthState::kFailing:
      return dashboard::HealthState::kFailing;
    case HealthState::kFailed:
      return dashboard::HealthState::kFailed;
  }
  return dashboard::HealthState::kUnknown;
}

}  // namespace

dashboard::Incident DashboardIncident(const dr::IncidentState& inc) {
  dashboard::Incident out;
  out.id = inc.id;
  out.kind = inc.kind;
  out.state = inc.state;
  out.to_site = inc.to_site;
  for (const dr::IncidentService& s : inc.services) {
    if (!s.from_site.empty()) {
      out.from_site = s.from_site;
      break;
    }
  }
  out.start_ns = inc.start_ns;
  // "daemon dr-site: 3 failed health checks of shop: ..." (the daemon's reason names it already),
  // else "operator root@host: REASON".
  out.declared_by = inc.declared_by;
  if (!inc.reason.empty()) {
    out.declared_by = inc.reason.rfind(inc.declared_by, 0) == 0
                          ? inc.reason
                          : inc.declared_by + ": " + inc.reason;
  }
  out.token = inc.token;
  for (const dr::IncidentService& s : inc.services) {
    dashboard::IncidentService d;
    d.service = s.service;
    d.state = s.switched ? "switched" : s.result;
    d.wave = s.wave;
    d.achieved_rto_ns = Ns(s.rto_seconds);
    d.rto_target_ns = Ns(s.rto_target_seconds);
    d.data_loss_ns = Ns(s.data_loss_seconds);
    if (s.rpo_target_seconds > 0) d.rpo_ns = Ns(s.rpo_target_seconds);
    d.error = s.error;
    out.services.push_back(std::move(d));
  }
  for (const dr::IncidentEvent& e : inc.timeline) {
    std::string what = e.what;
    if (!e.service.empty()) what = e.service + ": " + what;
    out.timeline.push_back({e.time_ns, std::move(what)});
  }
  std::stable_sort(out.timeline.begin(), out.timeline.end(),
                   [](const dashboard::TimelineEntry& a, const dashboard::TimelineEntry& b) {
                     return a.time_ns < b.time_ns;
                   });
  return out;
}

dashboard::DashboardState MakeDashboardState(const DashboardInputs& in) {
  const DaemonSnapshot& snap = in.snapshot;
  dashboard::DashboardState s;
  s.plan_file = snap.plan_file;
  s.now_ns = in.now_ns;
  s.status = in.status;
  s.status_note = in.status_note;
  s.drills = in.drills;
  dashboard::DaemonInfo& d = s.daemon;
  d.actor = snap.actor;
  d.sites = snap.sites;
  d.started_ns = snap.started_ns;
  d.acting = snap.acting;
  d.acting_note = snap.not_acting_reason;
  d.fence_kind = snap.fence_kind;
  for (const fence::Member& m : in.members) {
    d.members.push_back({m.site, m.actor, m.host, m.since_ns});
  }
  for (const ServiceHealth& h : snap.health) {
    dashboard::ServiceHealth out;
    out.service = h.service;
    out.state = DashboardHealth(h.state);
    out.consecutive_failures = h.consecutive_failures;
    out.failures_before_failover = h.failures_before_failover;
    out.last_error = h.state == HealthState::kHealthy ? "" : h.last_error;
    if (h.last_check_ns != 0) out.last_check_ns = h.last_check_ns;
    d.health.push_back(std::move(out));
  }
  for (const ScheduleView& v : snap.schedules) {
    d.active_sites.push_back({v.service, v.active_site, v.token});
    if (!v.ours) continue;  // another site's daemon runs it
    const int64_t backup = std::max(v.next_due_ns, v.held_until_ns);
    if (backup > 0) d.next_runs.push_back({v.service, "backup", v.active_site, backup});
    if (v.drill_next_due_ns > 0) {
      d.next_runs.push_back({v.service, "drill", "", v.drill_next_due_ns});
    }
  }
  std::stable_sort(d.next_runs.begin(), d.next_runs.end(),
                   [](const dashboard::ScheduledRun& a, const dashboard::ScheduledRun& b) {
                     return a.at_ns < b.at_ns;
                   });
  if (!snap.last_reload_error.empty()) {
    d.warnings.push_back("the last reload was rejected (the plan loaded before runs on): " +
                         snap.last_reload_error);
  }
  for (const std::string& w : in.warnings) d.warnings.push_back(w);
  if (in.incident) s.incident = DashboardIncident(*in.incident);
  return s;
}

}  // namespace lifeboat::daemon
