// DrillHistoryHtml (drill_history.h): the page is built from src/report's pieces only, which
// escape every text they are given.
#include <algorithm>

#include "dr/drill_history.h"
#include "dr/drill_history_internal.h"
#include "report/html.h"
#include "report/svg_chart.h"

namespace lifeboat::dr {
namespace {

using internal::AchievedAgainstTarget;
using internal::DrillTimeUtc;
using internal::SlowestStepText;
using report::Cell;

std::string ResultClass(DrillResult r) {
  return r == DrillResult::kPassed ? "good" : r == DrillResult::kFailed ? "bad" : "warn";
}

std::string PointLabel(const DrillRecord& r, const std::string& what,
                       const std::optional<int64_t>& value) {
  return DrillTimeUtc(r.start_ns) + " from " + r.site + ": " + std::string(DrillResultName(r.result)) +
         (value ? ", " + what + " " + FormatDrillDuration(*value) : "");
}

report::DurationChartSpec Chart(const ServiceDrills& s, bool rto) {
  report::DurationChartSpec c;
  c.title = s.service + (rto ? ": achieved RTO per drill" : ": achieved RPO per drill");
  c.series_name = rto ? "achieved RTO" : "achieved RPO";
  c.target_name = rto ? "RTO target" : "RPO target";
  c.target_ns = rto ? s.rto_ns : s.rpo_ns;
  for (const DrillRecord& r : s.drills) {
    const std::optional<int64_t>& v = rto ? r.achieved_rto_ns : r.achieved_rpo_ns;
    if (!c.target_ns) c.target_ns = rto ? r.rto_target_ns : r.rpo_target_ns;
    c.points.push_back({r.start_ns, v.value_or(0), !v.has_value(),
                        PointLabel(r, rto ? "RTO" : "RPO", v)});
  }
  return c;
}

report::GanttKind KindOf(DrillStepKind k) {
  switch (k) {
    case DrillStepKind::kRestore: return report::GanttKind::kRestore;
    case DrillStepKind::kRecover: return report::GanttKind::kRecover;
    case DrillStepKind::kVerify: return report::GanttKind::kVerify;
    case DrillStepKind::kSwitch:
      return report::GanttKind::kRecover;  // never in a drill
  }
  return report::GanttKind::kRestore;
}

// The newest drill invocation among the shown records, as a Gantt of waves and steps.
std::string Timeline(const DrillHistory& history) {
  const DrillRecord* newest = nullptr;
  for (const ServiceDrills& s : history.services)
    for (const DrillRecord& r : s.drills)
      if (!newest || r.start_ns > newest->start_ns) newest = &r;
  if (!newest) return "";
  report::GanttChartSpec g;
  g.title = "Recovery timeline of the drill of " + DrillTimeUtc(newest->start_ns) + " UTC";
  for (const ServiceDrills& s : history.services) {
    for (const DrillRecord& r : s.drills) {
      if (r.drill_id != newest->drill_id) continue;
      const size_t row = g.rows.size();
      g.rows.push_back({r.service + " from " + r.site + " (" +
                            std::string(DrillResultName(r.result)) + ")",
                        r.wave.value_or(0)});
      if (!r.steps.empty() && r.steps.front().start_ns > r.start_ns) {
        g.bars.push_back({row, r.start_ns, r.steps.front().start_ns, report::GanttKind::kWait,
                          false,
                          "waiting for earlier waves: " +
                              FormatDrillDuration(r.steps.front().start_ns - r.start_ns)});
      }
      for (const DrillStep& st : r.steps) {
        g.bars.push_back({row, st.start_ns, st.end_ns, KindOf(st.kind),
                          st.result == DrillResult::kFailed,
                          st.name + ": " + FormatDrillDuration(st.end_ns - st.start_ns) + ", " +
                              std::string(DrillResultName(st.result))});
      }
    }
  }
  return "<h2>Recovery timeline</h2>\n<figure>\n" + report::GanttChart(g) +
         "<figcaption>" + report::HtmlEscape("Each service of the newest drill (" +
                                             newest->drill_id + ") in its wave; one bar per step.") +
         "</figcaption>\n</figure>\n";
}

}  // namespace

std::string DrillHistoryHtml(const DrillHistory& history) {
  report::HtmlPage page("Drill history");
  std::string sites;
  for (const std::string& s : history.sites_read) sites += (sites.empty() ? "" : ", ") + s;
  page.Paragraph("As of " + DrillTimeUtc(history.now_ns) + " UTC" +
                     (sites.empty() ? "" : ", from the sites " + sites) + ".",
                 "muted");
  if (!history.warnings.empty()) page.List(history.warnings, "findings");
  for (const ServiceDrills& s : history.services) {
    page.Heading(2, s.service + " (tier " + std::to_string(s.tier) + ")");
    std::string facts = s.owner.empty() ? "" : "Owner: " + s.owner + ". ";
    facts += std::to_string(s.drills.size()) + (s.drills.size() == 1 ? " drill" : " drills");
    if (s.rto_ns) facts += "; RTO target " + FormatDrillDuration(*s.rto_ns);
    if (s.rpo_ns) facts += "; RPO target " + FormatDrillDuration(*s.rpo_ns);
    if (s.drill_every_ns) facts += "; drill_every " + FormatDrillDuration(*s.drill_every_ns);
    page.Paragraph(facts + ".");
    std::vector<std::string> findings;
    for (const DrillFinding& f : s.assessment.findings) findings.push_back(f.message);
    if (findings.empty()) page.List({"nothing to flag"}, "findings ok");
    else page.List(findings, "findings");
    if (s.drills.empty()) continue;
    page.Add("<figure>\n" + report::DurationChart(Chart(s, true)) + "</figure>\n");
    page.Add("<figure>\n" + report::DurationChart(Chart(s, false)) + "</figure>\n");
    std::vector<std::vector<Cell>> rows;
    for (size_t i = 0; i < s.drills.size(); ++i) {
      const DrillRecord& r = s.drills[i];
      std::string flags;
      for (const DrillFinding& f : s.findings[i]) {
        if (f.kind == FindingKind::kFailed) continue;
        flags += (flags.empty() ? "" : "; ") + f.message;
      }
      rows.push_back({Cell(DrillTimeUtc(r.start_ns), "nowrap"), Cell(r.site),
                      Cell(std::string(DrillResultName(r.result)), ResultClass(r.result)),
                      Cell(AchievedAgainstTarget(r.achieved_rto_ns, r.rto_target_ns), "num"),
                      Cell(AchievedAgainstTarget(r.achieved_rpo_ns, r.rpo_target_ns), "num"),
                      Cell(SlowestStepText(r)),
                      Cell(r.error.empty() ? flags : r.error + (flags.empty() ? "" : "; " + flags),
                           flags.empty() && r.error.empty() ? "" : "warn")});
    }
    std::reverse(rows.begin(), rows.end());  // newest first
    page.Add(report::Table({"date (UTC)", "site", "result", "RTO / target", "RPO / target",
                            "slowest step", "error and flags"},
                           rows));
  }
  page.Add(Timeline(history));
  return page.Render();
}

}  // namespace lifeboat::dr
