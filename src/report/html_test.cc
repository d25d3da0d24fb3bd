// The report toolkit: escaping everywhere (a `<script>` in a name stays text), a page without
// scripts or external resources, and the charts' elements where their data says.
#include "report/html.h"

#include <gtest/gtest.h>

#include <regex>

#include "report/svg_chart.h"

namespace lifeboat::report {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86400 * kSecond;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;  // 2026-11-30
const std::string kEvil = "<script>alert('x')</script> & \"quoted\"";
const std::string kEscaped =
    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;";

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

TEST(HtmlTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape(kEvil), kEscaped);
  EXPECT_EQ(HtmlEscape("plain-name_1.0"), "plain-name_1.0");
  EXPECT_EQ(HtmlEscape("é\xff"), "é\xff");  // bytes kept
}

TEST(HtmlTest, APageIsSelfContainedAndEscapesWhatItIsGiven) {
  HtmlPage page("Drill history " + kEvil);
  page.Heading(2, kEvil);
  page.Paragraph(kEvil, "muted");
  page.List({kEvil}, "findings");
  page.Add(Table({"service", kEvil}, {{Cell(kEvil, "bad"), Cell("ok", "good\"><script>")}}));
  const std::string html = page.Render();
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">", 0), 0u);
  EXPECT_EQ(Count(html, "<script"), 0u) << html;
  EXPECT_EQ(Count(html, kEscaped), 7u);  // title, h1, h2, p, li, th, td
  EXPECT_NE(html.find("<td class=\"good&quot;&gt;&lt;script&gt;\">ok</td>"), std::string::npos);
  // Nothing to fetch: no URL scheme, no src or href attribute, no @import.
  for (const char* banned : {"http:", "https:", "src=", "href=", "@import", "url("})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  EXPECT_NE(html.find("<style>"), std::string::npos);
  HtmlPage out("output");
  out.Preformatted("line 1\n" + kEvil + "\n");
  EXPECT_NE(out.Render().find("<pre><code>line 1\n" + kEscaped + "\n</code></pre>"), std::string::npos);
  EXPECT_EQ(html.substr(html.size() - 8), "</html>\n");
}

TEST(SvgChartTest, DurationChartDrawsPointsTargetAndFailures) {
  DurationChartSpec c;
  c.title = kEvil + ": achieved RTO";
  c.series_name = "achieved RTO";
  c.target_ns = 3600 * kSecond;
  c.target_name = "RTO target";
  for (int i = 0; i < 6; ++i)
    c.points.push_back({kT0 + i * kDay, (1200 + 100 * i) * kSecond, false, "drill " + kEvil});
  c.points.push_back({kT0 + 6 * kDay, 4000 * kSecond, false, "slow"});  // above the target
  c.points.push_back({kT0 + 7 * kDay, 0, true, "failed drill"});
  const std::string svg = DurationChart(c);
  EXPECT_EQ(svg.rfind("<svg role=\"img\" width=\"720\" height=\"260\"", 0), 0u);
  EXPECT_EQ(svg.find("http"), std::string::npos);
  EXPECT_EQ(Count(svg, "<script"), 0u);
  EXPECT_EQ(Count(svg, "<circle"), 7u + 1u);  // 7 points + the legend's
  EXPECT_EQ(Count(svg, "fill=\"#c62828\"><title>slow"), 1u);  // over the target: red
  EXPECT_EQ(Count(svg, "<title>failed drill</title>"), 1u);
  EXPECT_EQ(Count(svg, "stroke-dasharray"), 2u);  // target line + legend
  EXPECT_NE(svg.find(">RTO target 1h</text>"), std::string::npos);
  EXPECT_NE(svg.find(">2026-11-30</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>" + kEscaped + ": achieved RTO</title>"), std::string::npos);
  // The polyline joins the 7 measured points, left to right.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("points=\"([^\"]*)\"")));
  EXPECT_EQ(Count(m[1].str(), ","), 7u);
  // y axis up to at least the largest value and the target, in nice steps.
  EXPECT_NE(svg.find(">1h15m</text>"), std::string::npos) << svg;  // 4000 s + 1/8, in 15m steps
  // A target far above every drill (2 h over 2-minute drills) would flatten them onto the axis:
  // the scale follows the drills and the target is named above the chart.
  DurationChartSpec far;
  far.title = "far";
  far.target_ns = 7200 * kSecond;
  far.target_name = "RTO target";
  far.points = {{kT0, 110 * kSecond, false, "a"}, {kT0 + kDay, 140 * kSecond, false, "b"}};
  const std::string f = DurationChart(far);
  EXPECT_EQ(Count(f, "stroke-dasharray"), 0u);
  EXPECT_NE(f.find(">RTO target 2h (above the chart)</text>"), std::string::npos);
  EXPECT_NE(f.find(">2m30s</text>"), std::string::npos) << f;  // 140 s + 1/8, in 30 s steps
  EXPECT_EQ(f.find(">2h</text>"), std::string::npos);
  EXPECT_EQ(DurationChart(DurationChartSpec{.title = "empty"}),
            "<p class=\"muted\">empty: no drills yet.</p>\n");
}

TEST(SvgChartTest, GanttDrawsOneBarPerStepGroupedByWave) {
  GanttChartSpec g;
  g.title = "Recovery timeline";
  g.rows = {{"shop " + kEvil, 1}, {"billing-db", 0}, {"auth", 0}};
  const int64_t t = kT0;
  g.bars = {{1, t, t + 20 * kSecond, GanttKind::kRestore, false, "restore billing"},
            {1, t + 20 * kSecond, t + 80 * kSecond, GanttKind::kRecover, false, "postgres_restore"},
            {2, t, t + 10 * kSecond, GanttKind::kRestore, false, "restore auth"},
            {0, t, t + 80 * kSecond, GanttKind::kWait, false, "waiting for wave 0"},
            {0, t + 80 * kSecond, t + 95 * kSecond, GanttKind::kRecover, false, "shop"},
            {0, t + 95 * kSecond, t + 97 * kSecond, GanttKind::kVerify, true, "http /health " + kEvil}};
  const std::string svg = GanttChart(g);
  EXPECT_EQ(Count(svg, "<script"), 0u);
  EXPECT_EQ(Count(svg, "<rect"), 6u + 5u);  // 6 bars + 5 legend swatches
  EXPECT_EQ(Count(svg, "stroke=\"#7f0000\""), 1u);  // the failed check
  // Wave 0 is drawn first although its rows come later in the spec.
  EXPECT_LT(svg.find(">wave 0<"), svg.find(">wave 1<"));
  EXPECT_LT(svg.find(">billing-db<"), svg.find(">shop " + kEscaped + "<"));
  EXPECT_NE(svg.find("<title>http /health " + kEscaped + "</title>"), std::string::npos);
  EXPECT_NE(svg.find(">1m30s</text>"), std::string::npos);  // the axis in seconds from t = 0
  // A long label is cut (by characters, never inside one) and the label column stays bounded.
  GanttChartSpec wide = g;
  wide.rows[1].label = std::string(60, 'x') + "é";
  const std::string cut = GanttChart(wide);
  EXPECT_NE(cut.find(">" + std::string(41, 'x') + "...</text>"), std::string::npos);
  EXPECT_EQ(GanttChart({.title = "none"}), "<p class=\"muted\">none: no steps recorded.</p>\n");
}

TEST(SvgChartTest, BarChartDrawsOneBarPerKnownValue) {
  BarChartSpec c;
  c.title = "Cost " + kEvil;
  c.categories = {"db", "web " + kEvil, "wiki"};
  c.series = {"protection / year", "loss per incident"};
  c.values = {{14.4, 4000.0}, {std::nullopt, 2200.0}, {7.2, 0.25}};
  c.unit = "EUR";
  const std::string linear = BarChart(c);
  EXPECT_EQ(Count(linear, "<script"), 0u);
  EXPECT_EQ(Count(linear, "<rect"), 5u + 2u);  // five known values + two legend swatches
  EXPECT_EQ(Count(linear, ">protection / year: n/a</text>"), 1u);
  EXPECT_NE(linear.find(">web &lt;script&gt;alert("), std::string::npos);  // cut at 32 characters
  EXPECT_NE(linear.find("<title>web " + kEscaped + ", loss per incident: 2.2e+03 EUR</title>"),
            std::string::npos);
  EXPECT_NE(linear.find("<title>db, loss per incident: 4e+03 EUR</title>"), std::string::npos);
  EXPECT_NE(linear.find(">4e+03 EUR</text>"), std::string::npos);  // the axis ends at 4000
  // Log scale: powers of ten from below the smallest value to above the largest.
  c.log_scale = true;
  const std::string log = BarChart(c);
  EXPECT_NE(log.find(">0.1 EUR</text>"), std::string::npos);
  EXPECT_NE(log.find(">1e+04 EUR</text>"), std::string::npos);
  EXPECT_NE(log.find(">log scale</text>"), std::string::npos);
  // The bar of 0.25 is shorter than that of 7.2, which is shorter than that of 4000.
  auto width = [&](const std::string& svg, const std::string& title) {
    const size_t at = svg.rfind("width=\"", svg.find("<title>" + title));
    return std::stod(svg.substr(at + 7));
  };
  EXPECT_LT(width(log, "wiki, loss per incident"), width(log, "wiki, protection / year"));
  EXPECT_LT(width(log, "wiki, protection / year"), width(log, "db, loss per incident"));
  c.values = {{std::nullopt, std::nullopt}};
  EXPECT_EQ(BarChart(c), "<p class=\"muted\">Cost " + kEscaped + ": no values to show.</p>\n");
}

TEST(SvgChartTest, GanttMarksDeadlinesOnTheAxisOrBesideIt) {
  GanttChartSpec g;
  g.title = "drill";
  g.origin_ns = kT0 - 5 * kSecond;  // the recovery started 5 s before its first step
  // db: a 20 s deadline, on the axis (within 3x the bars' 15 s span) and met; web: missed by
  // far; files: a 1 h deadline, far beyond the axis, only named.
  g.rows = {{"db", 1, kT0 + 15 * kSecond, "RTO 20s " + kEvil, false},
            {"web", 2, kT0 + 2 * kSecond, "RTO 7s", true},
            {"files", 1, kT0 + 3600 * kSecond, "RTO 1h", false}};
  g.bars = {{0, kT0, kT0 + 4 * kSecond, GanttKind::kRestore, false, "restore"},
            {0, kT0 + 4 * kSecond, kT0 + 5 * kSecond, GanttKind::kVerify, false, "files"},
            {1, kT0 - 5 * kSecond, kT0 + 5 * kSecond, GanttKind::kWait, false, "waiting for db"},
            {1, kT0 + 5 * kSecond, kT0 + 10 * kSecond, GanttKind::kRecover, false, "command"},
            {1, kT0 + 10 * kSecond, kT0 + 10 * kSecond, GanttKind::kVerify, true, "http"},
            {2, kT0, kT0 + 3 * kSecond, GanttKind::kRestore, false, "restore"}};
  const std::string svg = GanttChart(g);
  EXPECT_EQ(Count(svg, "<script"), 0u);
  EXPECT_EQ(Count(svg, "<rect class=\"bar "), 6u);
  EXPECT_EQ(Count(svg, "class=\"bar bar-restore\""), 2u);
  EXPECT_EQ(Count(svg, "class=\"bar bar-recover\""), 1u);
  EXPECT_EQ(Count(svg, "class=\"bar bar-verify\""), 1u);
  EXPECT_EQ(Count(svg, "class=\"bar bar-verify bar-failed\""), 1u);
  EXPECT_EQ(Count(svg, "class=\"bar bar-wait\""), 1u);
  // Two ticks on the axis (db's, web's), files' named with " >"; a legend entry for targets.
  EXPECT_EQ(Count(svg, "<g class=\"marker\""), 2u);
  EXPECT_NE(svg.find(">RTO 1h &gt;</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">RTO 20s " + kEscaped + "</text>"), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#c62828\" font-weight=\"600\">RTO 7s</text>"), std::string::npos);
  EXPECT_NE(svg.find(">target</text>"), std::string::npos);
  // The axis starts at the origin and takes in db's deadline (20 s after it), not files' 1 h.
  EXPECT_NE(svg.find(">20s</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">1h</text>"), std::string::npos);
  // The wait bar starts at the origin: the left edge of the plot.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("class=\"bar bar-wait\" x=\"([0-9.]+)\"")));
  ASSERT_TRUE(std::regex_search(svg, std::regex("<line x1=\"" + m[1].str() + "\" y1=\"34.0\"")));
  // Without deadlines there is no right column and no legend entry.
  for (GanttRow& r : g.rows) r.marker_ns.reset();
  const std::string plain = GanttChart(g);
  EXPECT_EQ(Count(plain, "class=\"marker\""), 0u);
  EXPECT_EQ(plain.find(">target</text>"), std::string::npos);
}

TEST(SvgChartTest, AxisLabels) {
  EXPECT_EQ(AxisDuration(0), "0");
  EXPECT_EQ(AxisDuration(500'000'000), "0.5s");
  EXPECT_EQ(AxisDuration(1'200'000'000), "1.2s");
  EXPECT_EQ(AxisDuration(2 * kSecond), "2s");
  EXPECT_EQ(AxisDuration(61 * kSecond + 500'000'000), "1m1s");
  EXPECT_EQ(AxisDuration(90 * kSecond), "1m30s");
  EXPECT_EQ(AxisDuration(2 * 3600 * kSecond), "2h");
  EXPECT_EQ(AxisDuration(kDay + 3600 * kSecond), "1d1h");
  EXPECT_EQ(AxisDate(kT0), "2026-11-30");
}

}  // namespace
}  // namespace lifeboat::report
