// RecoveryReportHtml (report_html.h): the page is built from src/report's pieces only, which
// escape every text they are given.
#include "recover/report_html.h"

#include <string>
#include <vector>

#include "notify/event.h"
#include "plan/duration.h"
#include "report/html.h"
#include "report/svg_chart.h"
#include "util/units.h"

namespace lifeboat::recover {
namespace {

using report::Cell;

constexpr const char* kMet = "\u2713 met";         // check mark
constexpr const char* kMissed = "\u2717 missed";   // ballot x

std::string Utc(int64_t ns) { return ns == 0 ? "-" : notify::FormatRfc3339Utc(ns); }

std::string ServiceResultClass(ServiceState s) {
  return s == ServiceState::kPassed ? "good" : s == ServiceState::kFailed ? "bad" : "warn";
}

std::string StepResultClass(StepState s) {
  return s == StepState::kOk ? "good" : s == StepState::kFailed ? "bad" : "muted";
}

// "1.3 s of 1h, ✓ met": achieved against target with a mark, or why there is no value.
Cell AgainstTarget(const std::optional<double>& achieved, const std::string& target,
                   const std::optional<bool>& met, const std::string& missing) {
  if (!achieved) return Cell(missing + (target.empty() ? "" : " (target " + target + ")"), "muted");
  std::string text = FormatSeconds(*achieved);
  if (target.empty()) return Cell(text + " (no target)", "num");
  text += " of " + target;
  if (!met) return Cell(text, "num");
  return Cell(text + ", " + (*met ? kMet : kMissed), *met ? "good" : "bad");
}

std::string RtoTarget(const ServiceRecovery& s) {
  return s.rto_target ? plan::FormatPlanDuration(*s.rto_target) : "";
}

std::string RpoTarget(const ServiceRecovery& s) {
  return s.rpo_target.count() > 0 ? plan::FormatPlanDuration(s.rpo_target) : "";
}

std::string Restored(const ServiceRecovery& s) {
  if (s.files_restored == 0 && s.bytes_restored == 0) return "-";
  return std::to_string(s.files_restored) + (s.files_restored == 1 ? " file, " : " files, ") +
         FormatBytes(s.bytes_restored);
}

std::string StateName(ServiceState s) { return std::string(ServiceStateName(s)); }

// "2 passed, 1 failed, 0 skipped"
std::string Counts(const RecoveryReport& r) {
  size_t count[4] = {0, 0, 0, 0};
  for (const ServiceRecovery& s : r.services) ++count[static_cast<int>(s.state)];
  std::string out = std::to_string(count[static_cast<int>(ServiceState::kPassed)]) + " passed, " +
                    std::to_string(count[static_cast<int>(ServiceState::kFailed)]) + " failed, " +
                    std::to_string(count[static_cast<int>(ServiceState::kSkipped)]) + " skipped";
  if (const size_t c = count[static_cast<int>(ServiceState::kCancelled)]; c > 0)
    out += ", " + std::to_string(c) + " cancelled";
  return out;
}

std::string Seconds(int64_t from_ns, int64_t to_ns) {
  return FormatSeconds(static_cast<double>(to_ns - from_ns) / 1e9);
}

report::GanttKind KindOf(const StepRecord& st) {
  if (st.phase == "recover") return report::GanttKind::kRecover;
  if (st.phase == "verify") return report::GanttKind::kVerify;
  return report::GanttKind::kRestore;
}

std::string Timeline(const RecoveryReport& r) {
  report::GanttChartSpec g;
  g.title = "Recovery timeline, from the start of the " + std::string(RecoveryModeName(r.mode));
  if (r.start_ns != 0) g.origin_ns = r.start_ns;  // 0: the session never started
  g.width = 1080;  // the page's width; the SVG scales down on narrower screens
  for (const ServiceRecovery& s : r.services) {
    const size_t row = g.rows.size();
    report::GanttRow gr{s.service + " (" + StateName(s.state) + ")", s.wave};
    if (s.rto_target && r.start_ns != 0) {
      gr.marker_ns = r.start_ns + std::chrono::nanoseconds(*s.rto_target).count();
      gr.marker_text = "RTO " + RtoTarget(s);
      gr.marker_missed = !s.passed() || s.rto_met() == false;
    }
    g.rows.push_back(std::move(gr));
    int64_t first_start = 0;
    for (const StepRecord& st : s.steps)
      if (st.state != StepState::kNotRun && st.start_ns != 0) {
        first_start = st.start_ns;
        break;
      }
    if (first_start > r.start_ns && r.start_ns != 0) {
      // Before its first step: the session's set-up or the wait for what it depends on (until
      // the service started), then opening the site and choosing the snapshots.
      std::string why = "before its first step: " + Seconds(r.start_ns, first_start);
      if (s.start_ns >= r.start_ns && s.start_ns <= first_start) {
        why += " (" + std::string(s.depends_on.empty() ? "setting up the session"
                                                       : "waiting for what it depends on") +
               " " + Seconds(r.start_ns, s.start_ns) + ", opening site " + s.site +
               " and choosing the snapshots " + Seconds(s.start_ns, first_start) + ")";
      }
      g.bars.push_back({row, r.start_ns, first_start, report::GanttKind::kWait, false, why});
    }
    for (const StepRecord& st : s.steps) {
      if (st.state == StepState::kNotRun || st.start_ns == 0) continue;
      int64_t start = st.start_ns;
      const int64_t end = std::max(st.end_ns, st.start_ns);
      // The `files` check is the restores' verify phase: its record spans the restores, its
      // seconds are the phase's. Drawn at their end, over the restore bar's tail.
      if (st.kind == "files")
        start = std::max(start, end - static_cast<int64_t>(st.seconds * 1e9));
      g.bars.push_back({row, start, end, KindOf(st), st.state == StepState::kFailed,
                        s.service + ": " + st.phase + ": " + st.name + ": " +
                            FormatSeconds(st.seconds) + ", " +
                            std::string(StepStateName(st.state)) +
                            (st.error.empty() ? "" : " (" + st.error + ")")});
    }
  }
  return "<h2>Recovery timeline</h2>\n<figure>\n" + report::GanttChart(g) + "<figcaption>" +
         report::HtmlEscape(
             "One row per service, in its wave; one bar per step that ran (hover for its name "
             "and time). The dashed tick on a row is the service's RTO target, counted from the "
             "start of the " + std::string(RecoveryModeName(r.mode)) +
             "; a target beyond the axis is only named on the right.") +
         "</figcaption>\n</figure>\n";
}

void Summary(const RecoveryReport& r, report::HtmlPage* page) {
  std::vector<std::vector<Cell>> rows;
  for (const ServiceRecovery& s : r.services) {
    std::string why = s.failure;
    rows.push_back(
        {Cell(s.service + (s.selected ? "" : " (as a dependency)"), "nowrap"),
         Cell(std::to_string(s.tier), "num"), Cell(std::to_string(s.wave), "num"), Cell(s.site),
         Cell(StateName(s.state), ServiceResultClass(s.state)),
         AgainstTarget(s.rto_seconds, RtoTarget(s), s.rto_met(),
                       s.passed() ? "not measured" : "not recovered"),
         AgainstTarget(s.rpo_seconds, RpoTarget(s), s.rpo_met(), "no snapshot restored"),
         Cell(Restored(s), "num"), Cell(why, why.empty() ? "" : "bad")});
  }
  page->Add(report::Table({"service", "tier", "wave", "site", "result", "achieved RTO",
                           "achieved RPO", "restored", "failing step"},
                          rows));
}

void ServiceDetails(const RecoveryReport& r, const ServiceRecovery& s, report::HtmlPage* page) {
  page->Heading(2, s.service + " (tier " + std::to_string(s.tier) + ", wave " +
                       std::to_string(s.wave) + "): " + StateName(s.state));
  std::string facts = "From site " + (s.site.empty() ? std::string("-") : s.site);
  if (!s.depends_on.empty()) {
    facts += "; depends on ";
    for (size_t i = 0; i < s.depends_on.size(); ++i)
      facts += (i ? ", " : "") + s.depends_on[i];
  }
  if (!s.selected) facts += "; drilled as a dependency of a service asked for";
  if (s.start_ns != 0) facts += "; started " + Utc(s.start_ns) + ", ended " + Utc(s.end_ns);
  if (!s.ports.empty()) {
    facts += "; ports";
    for (const auto& p : s.ports) facts += " " + p.first + "=" + std::to_string(p.second);
  }
  page->Paragraph(facts + ".");
  if (!s.restore_dir.empty()) page->Paragraph("Restore directory: " + s.restore_dir, "muted");
  if (!s.steps.empty()) {
    std::vector<std::vector<Cell>> rows;
    for (const StepRecord& st : s.steps) {
      const bool ran = st.state != StepState::kNotRun && st.start_ns != 0;
      std::string what = st.error;
      if (!st.output.empty() && st.state == StepState::kOk) {
        // Short outputs ("HTTP 200 ok", "1000 of 1000 files verified") belong in the row; a
        // failing step's output is shown whole below the table.
        what = st.output.size() <= 200 ? st.output : st.output.substr(0, 200) + "...";
      }
      rows.push_back({Cell(st.phase), Cell(st.name),
                      Cell(std::string(StepStateName(st.state)), StepResultClass(st.state)),
                      Cell(ran && r.start_ns != 0 ? "+" + Seconds(r.start_ns, st.start_ns) : "-",
                           "num"),
                      Cell(ran ? FormatSeconds(st.seconds) : "-", "num"),
                      Cell(st.position.line > 0 ? std::to_string(st.position.line) + ":" +
                                                      std::to_string(st.position.column)
                                                : "",
                           "num"),
                      Cell(what, st.state == StepState::kFailed ? "bad" : "")});
    }
    page->Add(report::Table(
        {"phase", "step", "result", "started", "took", "plan line", "error or output"}, rows));
  }
  if (!s.sources.empty()) {
    std::vector<std::vector<Cell>> rows;
    for (const RestoredSource& src : s.sources) {
      rows.push_back({Cell(src.name), Cell(src.kind), Cell(src.snapshot.substr(0, 8)),
                      Cell(Utc(src.snapshot_time_ns), "nowrap"), Cell(src.method),
                      Cell(std::to_string(src.files), "num"), Cell(FormatBytes(src.bytes), "num"),
                      Cell(std::to_string(src.verified_files), "num")});
    }
    page->Add(report::Table({"source", "kind", "snapshot", "taken (UTC)", "restored with",
                             "files", "bytes", "files verified"},
                            rows));
  }
  if (!s.failure.empty()) page->Paragraph(s.failure, "bad");
  if (!s.failure_output.empty()) page->Preformatted(s.failure_output);
  if (!s.notes.empty()) page->List(s.notes, "findings");
}

}  // namespace

std::string RecoveryReportHtml(const RecoveryReport& r) {
  const std::string mode(RecoveryModeName(r.mode));
  report::HtmlPage page(std::string(r.mode == RecoveryMode::kDrill ? "Drill" : "Failover") +
                        " report, " + Utc(r.start_ns));
  std::string facts = "Plan " + r.plan_file + "; started " + Utc(r.start_ns) + ", took " +
                      Seconds(r.start_ns, r.end_ns) + "; from " +
                      (r.site.empty() ? std::string("each service's first site")
                                      : "site " + r.site) +
                      "; " + (r.at.empty() ? std::string("the newest snapshots")
                                           : "snapshots as of " + r.at) +
                      "; at most " + std::to_string(r.parallel) + " services at once; sandbox " +
                      r.sandbox + (r.kept ? " (kept)" : " (removed)") + ".";
  page.Paragraph(facts, "muted");
  const std::string verdict =
      (r.passed() ? "PASSED: " : r.cancelled ? "INTERRUPTED: " : "FAILED: ") + Counts(r) + ".";
  page.Paragraph(verdict, r.passed() ? "good" : "bad");
  if (!r.warnings.empty()) page.List(r.warnings, "findings");
  Summary(r, &page);
  page.Add(Timeline(r));
  for (const ServiceRecovery& s : r.services) ServiceDetails(r, s, &page);
  if (!r.stale_sandboxes.empty()) {
    page.Heading(2, "Sandboxes of killed " + mode + "s, removed first");
    page.List(r.stale_sandboxes);
  }
  return page.Render();
}

}  // namespace lifeboat::recover
