// Charts drawn by our own code as inline SVG, for the HTML reports (html.h): no script, no
// external resource, readable when printed. Three kinds:
//
//  - DurationChart: durations over time against a target line (a service's achieved RTO, or RPO,
//    per drill, with the plan's target dashed across; failed drills as red crosses on the axis);
//  - GanttChart: a recovery timeline, one row per service grouped by wave, one bar per step,
//    coloured by kind (restore, recover, verify), failed steps in red, and per row an optional
//    deadline (the service's RTO target) as a dashed tick, named in a column on the right;
//  - BarChart: horizontal grouped bars, one group per category (a service), one bar per series
//    (the BIA's cost of protection against the loss it protects against), linear or log scale.
//
//   DurationChartSpec c{.title = "billing-db: achieved RTO", .series_name = "RTO"};
//   c.points.push_back({drill_start_ns, rto_ns, false, "2026-12-06 passed"});
//   c.target_ns = 3600e9;
//   page.Add(DurationChart(c));
//
// Every text (titles, labels, tooltips) is escaped here. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lifeboat::report {

struct DurationPoint {
  int64_t time_ns = 0;   // x: when (wall clock, ns since the epoch)
  int64_t value_ns = 0;  // y: how long (ignored when `failed`)
  bool failed = false;   // no value: drawn as a cross on the time axis
  std::string label;     // tooltip
};

struct DurationChartSpec {
  std::string title;
  std::string series_name = "achieved";  // legend of the points
  std::vector<DurationPoint> points = {};            // any order
  std::optional<int64_t> target_ns = std::nullopt;  // the dashed target line
  std::string target_name = "target";
  int width = 720, height = 260;
};

// An <svg> element (with role="img" and a <title>), or a short <p> when there are no points.
std::string DurationChart(const DurationChartSpec& spec);

enum class GanttKind { kRestore, kRecover, kVerify, kWait };

// Each bar is a <rect class="bar bar-KIND"> (KIND: restore, recover, verify, wait), with
// " bar-failed" added for a failed one, so a page's bars can be counted and styled.
struct GanttBar {
  size_t row = 0;  // index into GanttChartSpec::rows
  int64_t start_ns = 0, end_ns = 0;
  GanttKind kind = GanttKind::kRestore;
  bool failed = false;
  std::string label;  // tooltip: step name, duration, result
};

struct GanttRow {
  std::string label;  // "billing-db"
  int group = 0;      // the wave; rows of one group are drawn together under "wave N"
  // A deadline on this row (a service's RTO target: the recovery's start + rto), wall clock.
  // Drawn as a dashed tick where it falls on the axis; `marker_text` ("RTO 1h") is written in a
  // column right of the plot, with " >" when the deadline lies beyond the axis (the axis takes
  // in deadlines up to 3 times the bars' span, so a 1 h target does not squash a 10 s drill).
  std::optional<int64_t> marker_ns = std::nullopt;
  std::string marker_text = {};
  bool marker_missed = false;  // the row ended after its deadline: the text in red
};

struct GanttChartSpec {
  std::string title;
  std::vector<GanttRow> rows = {};
  std::vector<GanttBar> bars = {};
  // t = 0 of the axis (a recovery's start); when unset, or after the earliest bar, that bar's
  // start.
  std::optional<int64_t> origin_ns = std::nullopt;
  int width = 900;
};

// An <svg> element, or a short <p> when there are no bars. The time axis starts at the origin
// (t = 0) and is labelled in seconds, minutes or hours.
std::string GanttChart(const GanttChartSpec& spec);

struct BarChartSpec {
  std::string title;
  std::vector<std::string> categories = {};  // one group of bars each, top to bottom
  std::vector<std::string> series = {};      // one bar per category each, in the legend
  // values[category][series]; unset (or <= 0 on a log scale): no bar, "n/a" written instead.
  std::vector<std::vector<std::optional<double>>> values = {};
  std::string unit;  // appended to the axis labels and tooltips ("EUR", "h")
  // Log scale (powers of ten): for values that differ by orders of magnitude (a few euros of
  // storage against thousands of euros of downtime).
  bool log_scale = false;
  int width = 900;
};

// An <svg> element, or a short <p> when no value is set.
std::string BarChart(const BarChartSpec& spec);

// Axis labels: "0", "0.5s", "1.2s", "30s", "1m30s", "2h" (whole seconds from a minute on), and
// "2026-12-06" (UTC day).
std::string AxisDuration(int64_t ns);
std::string AxisDate(int64_t time_ns);

}  // namespace lifeboat::report
