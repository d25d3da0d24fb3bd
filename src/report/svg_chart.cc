#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include "report/html.h"

namespace lifeboat::report {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86400 * kSecond;

// Colours (Tableau 10, readable for the common colour-vision deficiencies together with the
// labels and shapes that carry the same meaning).
constexpr const char* kInk = "#1b1f24";
constexpr const char* kGrid = "#d1d9e0";
constexpr const char* kMuted = "#59636e";
constexpr const char* kPoint = "#4c78a8";
constexpr const char* kTarget = "#7d4e00";
constexpr const char* kBad = "#c62828";

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string Text(double x, double y, const std::string& text, const std::string& attrs = "") {
  return "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\"" + (attrs.empty() ? "" : " " + attrs) +
         ">" + HtmlEscape(text) + "</text>\n";
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& attrs) {
  return "<line x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) + "\" x2=\"" + Num(x2) + "\" y2=\"" +
         Num(y2) + "\" " + attrs + "/>\n";
}

std::string Open(int width, int height, const std::string& title) {
  // Inline in HTML5 an <svg> needs no xmlns: the page keeps its "no URL at all" rule.
  return "<svg role=\"img\" width=\"" +
         std::to_string(width) + "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " +
         std::to_string(width) + " " + std::to_string(height) + "\" font-size=\"12\">\n<title>" +
         HtmlEscape(title) + "</title>\n" + Text(0, 16, title, "font-weight=\"600\" font-size=\"14\"");
}

// A step for about `target_ticks` ticks over [0, span]: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15,
// 30 min, 1, 2, 3, 6, 12 h, 1, 2, 7 days, then whole weeks.
int64_t NiceStep(int64_t span, int target_ticks) {
  static constexpr int64_t kSteps[] = {
      kSecond / 10,     kSecond / 5,      kSecond / 2,      kSecond,          2 * kSecond,
      5 * kSecond,      10 * kSecond,     15 * kSecond,     30 * kSecond,     60 * kSecond,
      120 * kSecond,    300 * kSecond,    600 * kSecond,    900 * kSecond,    1800 * kSecond,
      3600 * kSecond,   7200 * kSecond,   10800 * kSecond,  21600 * kSecond,  43200 * kSecond,
      kDay,             2 * kDay,         7 * kDay};
  for (int64_t s : kSteps)
    if (span / s <= target_ticks) return s;
  const int64_t weeks = span / (7 * kDay) / target_ticks + 1;
  return weeks * 7 * kDay;
}

std::string TimeLabel(int64_t time_ns, int64_t span_ns) {
  const std::time_t t = static_cast<std::time_t>(time_ns / kSecond);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const char* format = span_ns >= 2 * kDay    ? "%Y-%m-%d"
                       : span_ns >= 600 * kSecond ? "%m-%d %H:%M"
                                                  : "%H:%M:%S";
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace

std::string AxisDuration(int64_t ns) {
  if (ns <= 0) return "0";
  // Below a minute, tenths when they are not zero (an axis in 0.2 s steps: "1.2s", not "1s").
  if (ns < 60 * kSecond && ns % kSecond != 0) return Num(static_cast<double>(ns) / 1e9) + "s";
  int64_t s = ns / kSecond;
  std::string out;
  if (s >= 86400) out += std::to_string(s / 86400) + "d", s %= 86400;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
  if (s > 0) out += std::to_string(s) + "s";
  return out;
}

std::string AxisDate(int64_t time_ns) { return TimeLabel(time_ns, 2 * kDay); }

std::string DurationChart(const DurationChartSpec& spec) {
  if (spec.points.empty()) return "<p class=\"muted\">" + HtmlEscape(spec.title) + ": no drills yet.</p>\n";
  const double left = 72, right = 24, top = 34, bottom = 52;
  const double w = spec.width - left - right, h = spec.height - top - bottom;
  std::vector<DurationPoint> points = spec.points;
  std::stable_sort(points.begin(), points.end(),
                   [](const DurationPoint& a, const DurationPoint& b) { return a.time_ns < b.time_ns; });
  int64_t t_min = points.front().time_ns, t_max = points.back().time_ns;
  if (t_max == t_min) t_min -= kDay / 2, t_max += kDay / 2;
  int64_t data_max = 0;
  for (const DurationPoint& p : points)
    if (!p.failed) data_max = std::max(data_max, p.value_ns);
  // The target shares the scale unless it is far above the data: a 2 h target over 2 min drills
  // would flatten every drill onto the axis and hide the changes the chart is for. Then the
  // scale follows the data and the target is named at the top, "above the chart".
  const bool target_on_scale =
      spec.target_ns && (data_max == 0 || *spec.target_ns <= 3 * data_max);
  int64_t y_max = std::max(data_max, target_on_scale ? *spec.target_ns : 0);
  y_max = std::max<int64_t>(y_max + y_max / 8, kSecond);
  const int64_t y_step = NiceStep(y_max, 5);
  y_max = (y_max + y_step - 1) / y_step * y_step;
  auto x_of = [&](int64_t t) {
    return left + w * static_cast<double>(t - t_min) / static_cast<double>(t_max - t_min);
  };
  auto y_of = [&](int64_t v) {
    return top + h - h * static_cast<double>(std::clamp<int64_t>(v, 0, y_max)) /
                         static_cast<double>(y_max);
  };

  std::string svg = Open(spec.width, spec.height, spec.title);
  // Grid and y labels.
  for (int64_t v = 0; v <= y_max; v += y_step) {
    svg += Line(left, y_of(v), left + w, y_of(v),
                std::string("stroke=\"") + kGrid + "\" stroke-width=\"1\"");
    svg += Text(left - 6, y_of(v) + 4, AxisDuration(v),
                std::string("text-anchor=\"end\" fill=\"") + kMuted + "\"");
  }
  // x labels: up to 5, evenly spread.
  const int64_t span = t_max - t_min;
  const int ticks = std::clamp<int>(static_cast<int>(points.size()), 2, 5);
  for (int i = 0; i < ticks; ++i) {
    const int64_t t = t_min + span * i / (ticks - 1);
    svg += Line(x_of(t), top + h, x_of(t), top + h + 4, std::string("stroke=\"") + kInk + "\"");
    const char* anchor = i == 0 ? "start" : i + 1 == ticks ? "end" : "middle";
    svg += Text(x_of(t), top + h + 17, TimeLabel(t, span),
                std::string("text-anchor=\"") + anchor + "\" fill=\"" + kMuted + "\"");
  }
  svg += Line(left, top + h, left + w, top + h, std::string("stroke=\"") + kInk + "\"");
  svg += Line(left, top, left, top + h, std::string("stroke=\"") + kInk + "\"");
  // Target.
  if (spec.target_ns && target_on_scale) {
    const double y = y_of(*spec.target_ns);
    svg += Line(left, y, left + w, y,
                std::string("stroke=\"") + kTarget + "\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"");
    svg += Text(left + w - 2, y - 5, spec.target_name + " " + AxisDuration(*spec.target_ns),
                std::string("text-anchor=\"end\" fill=\"") + kTarget + "\"");
  } else if (spec.target_ns) {
    svg += Text(left + w - 2, top - 4,
                spec.target_name + " " + AxisDuration(*spec.target_ns) + " (above the chart)",
                std::string("text-anchor=\"end\" fill=\"") + kTarget + "\"");
  }
  // The series: a line through the measured points, each a circle with its tooltip.
  std::string path;
  for (const DurationPoint& p : points) {
    if (p.failed) continue;
    path += (path.empty() ? "" : " ") + Num(x_of(p.time_ns)) + "," + Num(y_of(p.value_ns));
  }
  if (!path.empty())
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(kPoint) +
           "\" stroke-width=\"1.5\" points=\"" + path + "\"/>\n";
  for (const DurationPoint& p : points) {
    const double x = x_of(p.time_ns);
    if (p.failed) {
      const double y = top + h;
      svg += "<g stroke=\"" + std::string(kBad) + "\" stroke-width=\"2\"><title>" +
             HtmlEscape(p.label) + "</title>" + Line(x - 4, y - 4, x + 4, y + 4, "") +
             Line(x - 4, y + 4, x + 4, y - 4, "") + "</g>\n";
      continue;
    }
    const bool over = spec.target_ns && p.value_ns > *spec.target_ns;
    svg += "<circle cx=\"" + Num(x) + "\" cy=\"" + Num(y_of(p.value_ns)) + "\" r=\"3.5\" fill=\"" +
           (over ? kBad : kPoint) + "\"><title>" + HtmlEscape(p.label) + "</title></circle>\n";
  }
  // Legend.
  const double ly = spec.height - 12;
  svg += "<circle cx=\"" + Num(left + 5) + "\" cy=\"" + Num(ly - 4) + "\" r=\"3.5\" fill=\"" +
         kPoint + "\"/>\n" + Text(left + 14, ly, spec.series_name);
  double lx = left + 30 + 7.0 * static_cast<double>(spec.series_name.size());
  if (target_on_scale) {
    svg += Line(lx, ly - 4, lx + 22, ly - 4,
                std::string("stroke=\"") + kTarget + "\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"");
    svg += Text(lx + 28, ly, spec.target_name);
    lx += 44 + 7.0 * static_cast<double>(spec.target_name.size());
  }
  svg += "<g stroke=\"" + std::string(kBad) + "\" stroke-width=\"2\">" +
         Line(lx, ly - 8, lx + 8, ly, "") + Line(lx, ly, lx + 8, ly - 8, "") + "</g>\n" +
         Text(lx + 14, ly, "failed (no value)");
  return svg + "</svg>\n";
}

std::string GanttChart(const GanttChartSpec& spec) {
  if (spec.bars.empty() || spec.rows.empty())
    return "<p class=\"muted\">" + HtmlEscape(spec.title) + ": no steps recorded.</p>\n";
  // The label column fits the longest label (about 7 px per character at 12 px), within limits;
  // a longer label is cut with an ellipsis (its full text is in the bars' tooltips' row).
  size_t longest = 0, longest_marker = 0;
  bool markers = false;
  for (const GanttRow& r : spec.rows) {
    longest = std::max(longest, r.label.size());
    if (r.marker_ns) markers = true, longest_marker = std::max(longest_marker, r.marker_text.size());
  }
  const size_t max_chars = 44;
  const double left = std::clamp(24.0 + 7.0 * static_cast<double>(std::min(longest, max_chars)),
                                 140.0, 24.0 + 7.0 * max_chars);
  // With deadlines, a column on the right names each row's ("RTO 1h", " >" when off the axis).
  const double right =
      markers ? 24.0 + 7.0 * static_cast<double>(std::min<size_t>(longest_marker + 2, 24)) : 24.0;
  const double top = 34, row_h = 24, group_h = 20, bottom = 56;
  // Rows in wave order (stable within a wave), each wave under its heading.
  std::vector<size_t> order(spec.rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return spec.rows[a].group < spec.rows[b].group; });
  std::map<size_t, double> row_y;
  double y = top;
  std::string labels;
  int group = 0;
  bool first = true;
  for (size_t i : order) {
    if (first || spec.rows[i].group != group) {
      first = false;
      group = spec.rows[i].group;
      y += group_h;
      labels += Text(4, y - 6, "wave " + std::to_string(group),
                     std::string("font-weight=\"600\" fill=\"") + kMuted + "\"");
    }
    row_y[i] = y;
    std::string label = spec.rows[i].label;
    if (label.size() > max_chars) {
      size_t cut = max_chars - 3;  // never inside a UTF-8 character
      while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;
      label = label.substr(0, cut) + "...";
    }
    labels += Text(14, y + row_h / 2 + 4, label);
    y += row_h;
  }
  const double plot_bottom = y;
  const int height = static_cast<int>(plot_bottom + bottom);
  int64_t t0 = spec.bars.front().start_ns, t1 = spec.bars.front().end_ns;
  for (const GanttBar& b : spec.bars) t0 = std::min(t0, b.start_ns), t1 = std::max(t1, b.end_ns);
  if (spec.origin_ns && *spec.origin_ns < t0) t0 = *spec.origin_ns;
  // Deadlines within 3 times the bars' span widen the axis; farther ones are only named.
  const int64_t bars_span = std::max<int64_t>(t1 - t0, kSecond / 10);
  int64_t t_end = t0 + bars_span;
  for (const GanttRow& r : spec.rows)
    if (r.marker_ns && *r.marker_ns > t_end && *r.marker_ns - t0 <= 3 * bars_span)
      t_end = *r.marker_ns;
  const int64_t step = NiceStep(t_end - t0, 8);
  const int64_t span = std::max<int64_t>((t_end - t0 + step - 1) / step * step, step);
  const double w = spec.width - left - right;
  auto x_of = [&](int64_t t) {
    return left + w * static_cast<double>(t - t0) / static_cast<double>(span);
  };

  std::string svg = Open(spec.width, height, spec.title) + labels;
  for (int64_t t = 0; t <= span; t += step) {
    svg += Line(x_of(t0 + t), top, x_of(t0 + t), plot_bottom,
                std::string("stroke=\"") + kGrid + "\"");
    svg += Text(x_of(t0 + t), plot_bottom + 16, AxisDuration(t),
                std::string("text-anchor=\"middle\" fill=\"") + kMuted + "\"");
  }
  static constexpr const char* kFill[] = {"#4c78a8", "#f58518", "#54a24b", "#bab0ac"};
  static constexpr const char* kClass[] = {"restore", "recover", "verify", "wait"};
  for (const GanttBar& b : spec.bars) {
    auto it = row_y.find(b.row);
    if (it == row_y.end()) continue;
    const double x = x_of(b.start_ns);
    const double bw = std::max(2.0, x_of(b.end_ns) - x);
    const int k = static_cast<int>(b.kind);
    svg += "<rect class=\"bar bar-" + std::string(kClass[k]) + (b.failed ? " bar-failed" : "") +
           "\" x=\"" + Num(x) + "\" y=\"" + Num(it->second + 4) + "\" width=\"" + Num(bw) +
           "\" height=\"" + Num(row_h - 8) + "\" rx=\"2\" fill=\"" + (b.failed ? kBad : kFill[k]) +
           "\"" + (b.failed ? " stroke=\"#7f0000\" stroke-width=\"1.5\"" : "") + "><title>" +
           HtmlEscape(b.label) + "</title></rect>\n";
  }
  // Deadlines: a dashed tick on the row where it falls on the axis, its text on the right.
  for (const auto& [row, ry] : row_y) {
    const GanttRow& r = spec.rows[row];
    if (!r.marker_ns) continue;
    const bool on_axis = *r.marker_ns - t0 <= span;
    if (on_axis) {
      const double x = x_of(*r.marker_ns);
      svg += "<g class=\"marker\" stroke=\"" + std::string(kTarget) +
             "\" stroke-width=\"2\" stroke-dasharray=\"3 2\"><title>" + HtmlEscape(r.marker_text) +
             "</title>" + Line(x, ry + 1, x, ry + row_h - 1, "") + "</g>\n";
    }
    svg += Text(left + w + 8, ry + row_h / 2 + 4, r.marker_text + (on_axis ? "" : " >"),
                std::string("fill=\"") + (r.marker_missed ? kBad : kTarget) + "\"" +
                    (r.marker_missed ? " font-weight=\"600\"" : ""));
  }
  svg += Line(left, plot_bottom, left + w, plot_bottom, std::string("stroke=\"") + kInk + "\"");
  // Legend.
  const double ly = height - 14;
  double lx = left;
  const char* names[] = {"restore", "recover", "verify", "waiting"};
  for (int k = 0; k < 4; ++k) {
    svg += "<rect x=\"" + Num(lx) + "\" y=\"" + Num(ly - 10) + "\" width=\"14\" height=\"10\" fill=\"" +
           kFill[k] + "\"/>\n" + Text(lx + 18, ly, names[k]);
    lx += 80;
  }
  svg += "<rect x=\"" + Num(lx) + "\" y=\"" + Num(ly - 10) + "\" width=\"14\" height=\"10\" fill=\"" +
         kBad + "\"/>\n" + Text(lx + 18, ly, "failed");
  if (markers) {
    lx += 80;
    svg += Line(lx + 7, ly - 12, lx + 7, ly + 2,
                std::string("stroke=\"") + kTarget + "\" stroke-width=\"2\" stroke-dasharray=\"3 2\"");
    svg += Text(lx + 18, ly, "target");
  }
  return svg + "</svg>\n";
}

namespace {

// "1,200", "0.5", "3e+06" style labels short enough for an axis: up to 3 significant digits.
std::string BarValue(double v, const std::string& unit) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return unit.empty() ? std::string(buf) : std::string(buf) + " " + unit;
}

}  // namespace

std::string BarChart(const BarChartSpec& spec) {
  double max = 0, min_positive = 0;
  for (const auto& row : spec.values)
    for (const std::optional<double>& v : row) {
      if (!v || *v <= 0) continue;
      max = std::max(max, *v);
      min_positive = min_positive == 0 ? *v : std::min(min_positive, *v);
    }
  if (spec.categories.empty() || spec.series.empty() || max <= 0)
    return "<p class=\"muted\">" + HtmlEscape(spec.title) + ": no values to show.</p>\n";
  static constexpr const char* kFill[] = {"#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d"};
  size_t longest = 0;
  for (const std::string& c : spec.categories) longest = std::max(longest, c.size());
  const size_t max_chars = 32;
  const double left = std::clamp(24.0 + 7.0 * static_cast<double>(std::min(longest, max_chars)),
                                 110.0, 24.0 + 7.0 * max_chars);
  const double right = 90, top = 34, bar_h = 14, gap = 12, bottom = 52;
  const size_t n_series = spec.series.size();
  const double group_h = bar_h * static_cast<double>(n_series) + gap;
  const double plot_h = group_h * static_cast<double>(spec.categories.size());
  const int height = static_cast<int>(top + plot_h + bottom);
  const double w = spec.width - left - right;
  // The scale: [0, max] rounded up, or powers of ten around the values.
  double lo = 0, hi = max;
  if (spec.log_scale) {
    lo = std::pow(10.0, std::floor(std::log10(min_positive)));
    hi = std::pow(10.0, std::ceil(std::log10(max)));
    if (hi <= lo) hi = lo * 10;
  } else {
    const double mag = std::pow(10.0, std::floor(std::log10(max)));
    hi = std::ceil(max / mag) * mag;
  }
  auto x_of = [&](double v) {
    if (spec.log_scale)
      return left + w * (std::log10(std::max(v, lo)) - std::log10(lo)) /
                        (std::log10(hi) - std::log10(lo));
    return left + w * v / hi;
  };
  std::string svg = Open(spec.width, height, spec.title);
  // Grid: every power of ten (log) or five steps (linear).
  std::vector<double> ticks;
  if (spec.log_scale) {
    for (double t = lo; t <= hi * 1.0001; t *= 10) ticks.push_back(t);
  } else {
    for (int i = 0; i <= 5; ++i) ticks.push_back(hi * i / 5);
  }
  for (double t : ticks) {
    svg += Line(x_of(t), top, x_of(t), top + plot_h, std::string("stroke=\"") + kGrid + "\"");
    svg += Text(x_of(t), top + plot_h + 16, BarValue(t, spec.unit),
                std::string("text-anchor=\"middle\" fill=\"") + kMuted + "\"");
  }
  for (size_t c = 0; c < spec.categories.size(); ++c) {
    const double y0 = top + group_h * static_cast<double>(c) + gap / 2;
    std::string label = spec.categories[c];
    if (label.size() > max_chars) {
      size_t cut = max_chars - 3;  // never inside a UTF-8 character
      while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xC0) == 0x80) --cut;
      label = label.substr(0, cut) + "...";
    }
    svg += Text(4, y0 + bar_h * static_cast<double>(n_series) / 2 + 4, label);
    for (size_t s = 0; s < n_series; ++s) {
      const double y = y0 + bar_h * static_cast<double>(s);
      const std::optional<double> v =
          c < spec.values.size() && s < spec.values[c].size() ? spec.values[c][s] : std::nullopt;
      if (!v || (spec.log_scale && *v <= 0)) {
        svg += Text(left + 4, y + bar_h - 3, spec.series[s] + ": n/a",
                    std::string("font-size=\"10\" fill=\"") + kMuted + "\"");
        continue;
      }
      const double x1 = x_of(*v);
      const std::string tip = spec.categories[c] + ", " + spec.series[s] + ": " +
                              BarValue(*v, spec.unit);
      svg += "<rect x=\"" + Num(left) + "\" y=\"" + Num(y + 1) + "\" width=\"" +
             Num(std::max(1.0, x1 - left)) + "\" height=\"" + Num(bar_h - 2) + "\" fill=\"" +
             kFill[s % 5] + "\"><title>" + HtmlEscape(tip) + "</title></rect>\n";
      svg += Text(x1 + 4, y + bar_h - 3, BarValue(*v, spec.unit),
                  std::string("font-size=\"10\" fill=\"") + kInk + "\"");
    }
  }
  svg += Line(left, top, left, top + plot_h, std::string("stroke=\"") + kInk + "\"");
  const double ly = height - 12;
  double lx = left;
  for (size_t s = 0; s < n_series; ++s) {
    svg += "<rect x=\"" + Num(lx) + "\" y=\"" + Num(ly - 10) +
           "\" width=\"14\" height=\"10\" fill=\"" + kFill[s % 5] + "\"/>\n" +
           Text(lx + 18, ly, spec.series[s]);
    lx += 40 + 7.0 * static_cast<double>(spec.series[s].size());
  }
  if (spec.log_scale)
    svg += Text(spec.width - 4, ly, "log scale",
                std::string("text-anchor=\"end\" fill=\"") + kMuted + "\"");
  return svg + "</svg>\n";
}

}  // namespace lifeboat::report
