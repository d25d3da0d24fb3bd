#include "dashboard/page.h"

#include <cstdlib>
#include <ctime>
#include <map>

#include "dr/drill_findings.h"
#include "plan/duration.h"
#include "report/html.h"

namespace lifeboat::dashboard {
namespace {

using report::Cell;
using report::Table;

constexpr int64_t kNsPerSecond = 1'000'000'000;

// "2026-12-06 02:00:00 UTC".
std::string Utc(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / kNsPerSecond);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// "4m", "21h", "3d2h": rounded down to the two largest units.
std::string Short(int64_t ns) {
  const int64_t s = std::max<int64_t>(ns, 0) / kNsPerSecond;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) {
    const int64_t m = s / 60 % 60;
    return std::to_string(s / 3600) + "h" + (m != 0 ? std::to_string(m) + "m" : "");
  }
  const int64_t h = s / 3600 % 24;
  return std::to_string(s / 86400) + "d" + (h != 0 ? std::to_string(h) + "h" : "");
}

// "2026-12-06 02:00:00 UTC (4m ago)" / "(in 12m)".
std::string When(int64_t ns, int64_t now_ns) {
  const int64_t d = ns - now_ns;
  return Utc(ns) + (d >= 0 ? " (in " + Short(d) + ")" : " (" + Short(-d) + " ago)");
}

std::string Dur(const std::optional<int64_t>& ns) {
  return ns ? dr::FormatDrillDuration(*ns) : "-";
}

// "24m10s of 1h, met" and its class; "not recovered (target 1h)".
Cell AgainstTarget(const std::optional<int64_t>& achieved, const std::optional<int64_t>& target) {
  if (!achieved) return Cell(target ? "- (target " + Dur(target) + ")" : "-", "muted");
  if (!target) return Cell(Dur(achieved) + " (no target)", "num");
  const bool met = *achieved <= *target;
  return Cell(Dur(achieved) + " of " + Dur(target) + (met ? ", met" : ", MISSED"),
              met ? "good" : "bad");
}

std::string RpoClass(dr::RpoState s) {
  switch (s) {
    case dr::RpoState::kOk:
      return "good";
    case dr::RpoState::kAtRisk:
      return "warn";
    default:
      return "bad";
  }
}

std::string HealthClass(HealthState s) {
  switch (s) {
    case HealthState::kHealthy:
      return "good";
    case HealthState::kFailing:
      return "warn";
    case HealthState::kFailed:
      return "bad";
    case HealthState::kUnknown:
      return "muted";
  }
  return "muted";
}

std::string DrillClass(DrillResult r) {
  return r == DrillResult::kPassed ? "good" : r == DrillResult::kFailed ? "bad" : "warn";
}

void Summary(report::HtmlPage& page, const DashboardState& st) {
  page.Paragraph("Plan " + st.plan_file + ", as of " + Utc(st.now_ns) + ".", "muted");
  if (!st.status) {
    page.Paragraph(
        "No plan status yet" + (st.status_note.empty() ? std::string(".") : ": " + st.status_note),
        "bad");
  } else {
    size_t pairs = 0, failing = 0;
    for (const dr::ServiceStatus& s : st.status->services)
      for (const dr::ServiceSiteStatus& ss : s.sites) {
        ++pairs;
        failing += dr::RpoHolds(ss.state) ? 0 : 1;
      }
    if (failing == 0)
      page.Paragraph("Every RPO holds: " + std::to_string(st.status->services.size()) +
                         " services, " + std::to_string(pairs) + " service-sites (status of " +
                         Utc(st.status->now_ns) + ").",
                     "good");
    else
      page.Paragraph(std::to_string(failing) + " of " + std::to_string(pairs) +
                         " service-sites do not hold their RPO (status of " +
                         Utc(st.status->now_ns) + ").",
                     "bad");
    if (!st.status_note.empty()) page.Paragraph(st.status_note, "muted");
  }
  const DaemonInfo& d = st.daemon;
  std::string daemon = "Daemon";
  if (!d.actor.empty()) daemon += " " + d.actor;
  if (!d.sites.empty()) {
    daemon += " for ";
    for (size_t i = 0; i < d.sites.size(); ++i) daemon += (i ? ", " : "") + d.sites[i];
  }
  if (!d.fence_kind.empty()) daemon += "; fence: " + d.fence_kind;
  if (d.started_ns) daemon += "; up since " + Utc(d.started_ns);
  if (d.acting) {
    page.Paragraph(daemon + ": acting.", "good");
  } else {
    page.Paragraph(daemon + ": NOT ACTING (no backup, failover or switch starts)" +
                       (d.acting_note.empty() ? std::string(".") : ": " + d.acting_note),
                   "bad");
  }
  std::vector<std::string> warnings = d.warnings;
  if (st.status) {
    for (const dr::SiteStatus& site : st.status->sites)
      if (!site.reachable)
        warnings.push_back("site " + site.name + " is unreachable: " + site.error);
    warnings.insert(warnings.end(), st.status->warnings.begin(), st.status->warnings.end());
  }
  if (!warnings.empty()) page.List(warnings, "findings");
}

void IncidentSection(report::HtmlPage& page, const DashboardState& st) {
  page.Heading(2, "Incident");
  if (!st.incident) {
    page.Paragraph("No open incident.", "good");
    return;
  }
  const Incident& i = *st.incident;
  page.Paragraph(i.kind + " " + i.id + " from " + i.from_site + " to " + i.to_site + ": " +
                     i.state + ", started " + When(i.start_ns, st.now_ns) + ", declared by " +
                     i.declared_by + (i.token ? ", fencing token " + std::to_string(i.token) : "") +
                     ".",
                 i.state == "failed" ? "bad" : "");
  std::vector<std::vector<Cell>> rows;
  for (const IncidentService& s : i.services) {
    const bool bad = s.state == "failed";
    rows.push_back({Cell(s.service), Cell(s.state, bad ? "bad" : ""),
                    Cell(s.wave ? std::to_string(*s.wave) : "-", "num"),
                    AgainstTarget(s.achieved_rto_ns, s.rto_target_ns),
                    AgainstTarget(s.data_loss_ns, s.rpo_ns), Cell(s.error, bad ? "bad" : "")});
  }
  page.Add(Table({"service", "state", "wave", "achieved RTO", "data-loss window", "error"}, rows));
  page.Heading(3, "Timeline");
  std::vector<std::vector<Cell>> lines;
  for (const TimelineEntry& e : i.timeline)
    lines.push_back(
        {Cell(Utc(e.time_ns), "nowrap"),
         Cell((e.time_ns < i.start_ns ? "-" : "+") + Short(std::abs(e.time_ns - i.start_ns)),
              "num"),
         Cell(e.what)});
  page.Add(Table({"time", "since start", "what"}, lines));
}

void RpoMatrix(report::HtmlPage& page, const DashboardState& st) {
  page.Heading(2, "RPO compliance");
  if (!st.status) {
    page.Paragraph("Not computed yet.", "muted");
    return;
  }
  std::map<std::string, std::string> active;
  for (const ActiveSite& a : st.daemon.active_sites) active[a.service] = a.site;
  std::vector<std::string> headers = {"service", "tier", "RPO"};
  for (const dr::SiteStatus& site : st.status->sites)
    headers.push_back(site.name + (site.reachable ? "" : " (unreachable)"));
  headers.push_back("active site");
  headers.push_back("next run");
  std::vector<std::vector<Cell>> rows;
  for (const dr::ServiceStatus& s : st.status->services) {
    std::vector<Cell> row = {Cell(s.name), Cell(std::to_string(s.tier), "num"),
                             Cell(plan::FormatPlanDuration(s.rpo), "num")};
    for (const dr::SiteStatus& site : st.status->sites) {
      const dr::ServiceSiteStatus* found = nullptr;
      for (const dr::ServiceSiteStatus& ss : s.sites)
        if (ss.site == site.name) found = &ss;
      if (!found) {
        row.push_back(Cell("not used", "muted"));
        continue;
      }
      std::string text(dr::RpoStateName(found->state));
      if (found->newest)
        text += ", " + Short(found->newest->age_ns) + " of " + plan::FormatPlanDuration(s.rpo);
      row.push_back(Cell(text, RpoClass(found->state)));
    }
    auto a = active.find(s.name);
    row.push_back(Cell(a != active.end() ? a->second : "-"));
    row.push_back(Cell(
        s.next_run_ns ? (s.due ? "due, " : "") + When(*s.next_run_ns, st.now_ns) : "-", "nowrap"));
    rows.push_back(std::move(row));
  }
  page.Add(Table(headers, rows));
}

void HealthSection(report::HtmlPage& page, const DashboardState& st) {
  page.Heading(2, "Service health");
  if (st.daemon.health.empty()) {
    page.Paragraph("No service is watched (none has a failover policy).", "muted");
    return;
  }
  std::vector<std::vector<Cell>> rows;
  for (const ServiceHealth& h : st.daemon.health)
    rows.push_back(
        {Cell(h.service), Cell(std::string(HealthStateName(h.state)), HealthClass(h.state)),
         Cell(std::to_string(h.consecutive_failures) + " of " +
                  std::to_string(h.failures_before_failover),
              "num"),
         Cell(h.last_check_ns ? When(*h.last_check_ns, st.now_ns) : "-", "nowrap"),
         Cell(h.last_error.empty() ? "-" : h.last_error, h.last_error.empty() ? "muted" : "bad")});
  page.Add(
      Table({"service", "health", "failed rounds in a row", "last check", "last error"}, rows));
}

void DrillSection(report::HtmlPage& page, const DashboardState& st) {
  page.Heading(2, "Last drills");
  if (st.drills.empty()) {
    page.Paragraph("No drill recorded.", "muted");
    return;
  }
  std::vector<std::vector<Cell>> rows;
  for (const DrillSummary& r : st.drills)
    rows.push_back({Cell(r.service), Cell(r.site), Cell(When(r.start_ns, st.now_ns), "nowrap"),
                    Cell(std::string(DrillResultName(r.result)), DrillClass(r.result)),
                    AgainstTarget(r.achieved_rto_ns, r.rto_target_ns),
                    AgainstTarget(r.achieved_rpo_ns, r.rpo_target_ns),
                    Cell(r.error.empty() ? "" : r.error, "muted")});
  page.Add(
      Table({"service", "from site", "started", "result", "achieved RTO", "achieved RPO", "error"},
            rows));
}

void NextRuns(report::HtmlPage& page, const DashboardState& st) {
  page.Heading(2, "Next scheduled runs");
  if (st.daemon.next_runs.empty()) {
    page.Paragraph("Nothing scheduled.", "muted");
    return;
  }
  std::vector<std::vector<Cell>> rows;
  for (const ScheduledRun& r : st.daemon.next_runs)
    rows.push_back({Cell(When(r.at_ns, st.now_ns), "nowrap"), Cell(r.service), Cell(r.kind),
                    Cell(r.site.empty() ? "every site" : r.site)});
  page.Add(Table({"when", "service", "what", "site"}, rows));
}

void Members(report::HtmlPage& page, const DashboardState& st) {
  if (st.daemon.members.empty()) return;
  page.Heading(2, "Daemons");
  std::vector<std::vector<Cell>> rows;
  for (const LeaseMember& m : st.daemon.members)
    rows.push_back({Cell(m.site), Cell(m.actor), Cell(m.host), Cell(Utc(m.since_ns), "nowrap")});
  page.Add(Table({"site", "actor", "host", "joined"}, rows));
}

}  // namespace

std::string DashboardHtml(const DashboardState& state, int refresh_seconds) {
  report::HtmlPage page("Lifeboat");
  page.SetAutoRefresh(refresh_seconds);
  Summary(page, state);
  IncidentSection(page, state);
  RpoMatrix(page, state);
  HealthSection(page, state);
  DrillSection(page, state);
  NextRuns(page, state);
  Members(page, state);
  if (refresh_seconds > 0)
    page.Paragraph("This page reloads every " + std::to_string(refresh_seconds) +
                       " s. The same data: /api/v1/status (JSON), /metrics (Prometheus).",
                   "muted");
  return page.Render();
}

}  // namespace lifeboat::dashboard
