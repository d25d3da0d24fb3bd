#include "dashboard/api_json.h"

#include "notify/event.h"

namespace lifeboat::dashboard {
namespace {

using json = nlohmann::ordered_json;

json Time(int64_t ns) { return notify::FormatRfc3339Utc(ns); }
json OptTime(const std::optional<int64_t>& ns) { return ns ? Time(*ns) : json(nullptr); }
json OptSeconds(const std::optional<int64_t>& ns) {
  return ns ? json(static_cast<double>(*ns) / 1e9) : json(nullptr);
}
json OptText(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json DaemonJson(const DaemonInfo& d) {
  json members = json::array();
  for (const LeaseMember& m : d.members)
    members.push_back(
        {{"site", m.site}, {"actor", m.actor}, {"host", m.host}, {"since", Time(m.since_ns)}});
  json health = json::array();
  for (const ServiceHealth& h : d.health)
    health.push_back({{"service", h.service},
                      {"state", std::string(HealthStateName(h.state))},
                      {"consecutive_failures", h.consecutive_failures},
                      {"failures_before_failover", h.failures_before_failover},
                      {"last_error", OptText(h.last_error)},
                      {"last_check", OptTime(h.last_check_ns)}});
  json active = json::array();
  for (const ActiveSite& a : d.active_sites)
    active.push_back({{"service", a.service}, {"site", a.site}, {"token", a.token}});
  json runs = json::array();
  for (const ScheduledRun& r : d.next_runs)
    runs.push_back({{"service", r.service},
                    {"kind", r.kind},
                    {"site", OptText(r.site)},
                    {"time", Time(r.at_ns)}});
  return json{{"actor", d.actor},
              {"sites", d.sites},
              {"started", d.started_ns ? Time(d.started_ns) : json(nullptr)},
              {"acting", d.acting},
              {"acting_note", OptText(d.acting_note)},
              {"fence", d.fence_kind},
              {"members", members},
              {"health", health},
              {"active_sites", active},
              {"next_runs", runs},
              {"warnings", d.warnings}};
}

json DrillsJson(const std::vector<DrillSummary>& drills) {
  json out = json::array();
  for (const DrillSummary& r : drills)
    out.push_back({{"service", r.service},
                   {"site", r.site},
                   {"start", Time(r.start_ns)},
                   {"result", std::string(DrillResultName(r.result))},
                   {"achieved_rto_seconds", OptSeconds(r.achieved_rto_ns)},
                   {"rto_target_seconds", OptSeconds(r.rto_target_ns)},
                   {"achieved_rpo_seconds", OptSeconds(r.achieved_rpo_ns)},
                   {"rpo_target_seconds", OptSeconds(r.rpo_target_ns)},
                   {"error", OptText(r.error)}});
  return out;
}

json IncidentJson(const std::optional<Incident>& incident) {
  if (!incident) return nullptr;
  const Incident& i = *incident;
  json services = json::array();
  for (const IncidentService& s : i.services)
    services.push_back({{"service", s.service},
                        {"state", s.state},
                        {"wave", s.wave ? json(*s.wave) : json(nullptr)},
                        {"achieved_rto_seconds", OptSeconds(s.achieved_rto_ns)},
                        {"rto_target_seconds", OptSeconds(s.rto_target_ns)},
                        {"data_loss_seconds", OptSeconds(s.data_loss_ns)},
                        {"rpo_seconds", OptSeconds(s.rpo_ns)},
                        {"error", OptText(s.error)}});
  json timeline = json::array();
  for (const TimelineEntry& e : i.timeline)
    timeline.push_back({{"time", Time(e.time_ns)}, {"what", e.what}});
  return json{{"id", i.id},
              {"kind", i.kind},
              {"state", i.state},
              {"from", i.from_site},
              {"to", i.to_site},
              {"start", Time(i.start_ns)},
              {"declared_by", i.declared_by},
              {"token", i.token},
              {"services", services},
              {"timeline", timeline}};
}

}  // namespace

json DashboardJson(const DashboardState& state) {
  json out;
  if (state.status) {
    out = dr::StatusJson(*state.status, state.plan_file);
  } else {
    // The same members, empty: the first status is not computed yet (or failed).
    out = json{{"message_type", "status"}, {"version", 1},
               {"plan", state.plan_file},  {"time", nullptr},
               {"holds", nullptr},         {"duration_seconds", nullptr},
               {"sites", json::array()},   {"services", json::array()},
               {"warnings", json::array()}};
  }
  out["status_note"] = OptText(state.status_note);
  out["daemon"] = DaemonJson(state.daemon);
  out["drills"] = DrillsJson(state.drills);
  out["incident"] = IncidentJson(state.incident);
  return out;
}

}  // namespace lifeboat::dashboard
