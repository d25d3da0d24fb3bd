#include "dashboard/metrics.h"

#include <cinttypes>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <sstream>
#include <utility>

namespace lifeboat::dashboard {
namespace {

// Unix seconds with millisecond precision, no exponent.
std::string Seconds(int64_t ns) {
  char buf[48];
  snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string Labels(std::initializer_list<std::pair<const char*, std::string>> labels) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    s += (first ? "" : ",") + std::string(k) + "=\"" + dr::EscapePrometheusLabel(v) + "\"";
    first = false;
  }
  return s + "}";
}

void Header(std::ostringstream& out, const char* name, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
}

}  // namespace

std::string DashboardMetrics(const DashboardState& state) {
  std::ostringstream out;
  if (state.status) out << dr::PrometheusText(*state.status);

  const DaemonInfo& d = state.daemon;
  Header(out, "lifeboat_daemon_acting",
         "1 while the daemon may act (its fence lease is renewed), 0 when it stopped acting.");
  out << "lifeboat_daemon_acting " << (d.acting ? 1 : 0) << "\n";
  Header(out, "lifeboat_lease_holder",
         "1 for each daemon that holds a lease (a member key) for a site of the plan.");
  for (const LeaseMember& m : d.members)
    out << "lifeboat_lease_holder" << Labels({{"site", m.site}, {"actor", m.actor}}) << " 1\n";
  Header(out, "lifeboat_service_active_site", "1 for the site each service is active at.");
  for (const ActiveSite& a : d.active_sites)
    out << "lifeboat_service_active_site" << Labels({{"service", a.service}, {"site", a.site}})
        << " 1\n";
  Header(out, "lifeboat_service_healthy",
         "1 when the last round of a watched service's health checks passed, else 0.");
  for (const ServiceHealth& h : d.health)
    out << "lifeboat_service_healthy" << Labels({{"service", h.service}}) << " "
        << (h.state == HealthState::kHealthy ? 1 : 0) << "\n";
  Header(out, "lifeboat_service_health_failures",
         "Failed rounds of health checks in a row of a watched service (0 after a passing one).");
  for (const ServiceHealth& h : d.health)
    out << "lifeboat_service_health_failures" << Labels({{"service", h.service}}) << " "
        << h.consecutive_failures << "\n";
  Header(out, "lifeboat_service_last_health_check_timestamp_seconds",
         "When the last round of a watched service's health checks ended.");
  for (const ServiceHealth& h : d.health)
    if (h.last_check_ns)
      out << "lifeboat_service_last_health_check_timestamp_seconds"
          << Labels({{"service", h.service}}) << " " << Seconds(*h.last_check_ns) << "\n";

  Header(out, "lifeboat_failover_state",
         "1 for the state of the open incident (none, open, committed, rolled_back, failed, "
         "closed), 0 for the others.");
  const std::string current = state.incident ? state.incident->state : "none";
  bool known = false;
  for (std::string_view s : kIncidentStates) {
    known |= s == current;
    out << "lifeboat_failover_state" << Labels({{"state", std::string(s)}}) << " "
        << (s == current ? 1 : 0) << "\n";
  }
  if (!known) out << "lifeboat_failover_state" << Labels({{"state", current}}) << " 1\n";

  // The newest drill of each service at each site.
  std::map<std::pair<std::string, std::string>, const DrillSummary*> last;
  std::vector<std::pair<std::string, std::string>> order;
  for (const DrillSummary& r : state.drills) {
    auto key = std::make_pair(r.service, r.site);
    auto [it, inserted] = last.emplace(key, &r);
    if (inserted)
      order.push_back(key);
    else if (r.start_ns > it->second->start_ns)
      it->second = &r;
  }
  auto per_drill = [&](const char* name, const char* help, auto value) {
    Header(out, name, help);
    for (const auto& key : order) {
      const DrillSummary& r = *last[key];
      if (std::optional<std::string> v = value(r))
        out << name << Labels({{"service", r.service}, {"site", r.site}}) << " " << *v << "\n";
    }
  };
  per_drill(
      "lifeboat_last_drill_timestamp_seconds",
      "Start of the newest drill of the service from the site.",
      [](const DrillSummary& r) -> std::optional<std::string> { return Seconds(r.start_ns); });
  per_drill("lifeboat_last_drill_passed", "1 when the newest drill passed, else 0.",
            [](const DrillSummary& r) -> std::optional<std::string> {
              return r.result == DrillResult::kPassed ? "1" : "0";
            });
  per_drill("lifeboat_last_drill_rto_seconds",
            "The RTO the newest drill achieved (absent when it did not recover the service).",
            [](const DrillSummary& r) -> std::optional<std::string> {
              if (!r.achieved_rto_ns) return std::nullopt;
              return Seconds(*r.achieved_rto_ns);
            });
  per_drill("lifeboat_last_drill_rpo_seconds",
            "The RPO the newest drill achieved: the age of the oldest snapshot it restored.",
            [](const DrillSummary& r) -> std::optional<std::string> {
              if (!r.achieved_rpo_ns) return std::nullopt;
              return Seconds(*r.achieved_rpo_ns);
            });

  Header(out, "lifeboat_daemon_next_run_timestamp_seconds",
         "When the daemon starts the next scheduled job (kind backup or drill) of the service.");
  for (const ScheduledRun& r : d.next_runs)
    out << "lifeboat_daemon_next_run_timestamp_seconds"
        << Labels({{"service", r.service}, {"kind", r.kind}, {"site", r.site}}) << " "
        << Seconds(r.at_ns) << "\n";
  return out.str();
}

}  // namespace lifeboat::dashboard
