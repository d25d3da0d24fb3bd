// The HTML drill report of a hand-made RecoveryReport: every service present, every string of
// the plan escaped (a service named `<script>...`), one Gantt bar per step that ran, RTO and RPO
// against target with their marks, the failing step's output, nothing to fetch.
#include "recover/report_html.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace lifeboat::recover {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;  // 2026-11-30
const std::string kEvil = "<script>alert('x')</script>";
const std::string kEscaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;";

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

StepRecord Step(std::string phase, std::string name, StepState state, int64_t from_s,
                int64_t to_s) {
  StepRecord s;
  s.phase = std::move(phase);
  s.kind = s.phase == "restore" ? "restore" : "command";
  s.name = std::move(name);
  s.state = state;
  if (state != StepState::kNotRun) {
    s.start_ns = kT0 + from_s * kSecond;
    s.end_ns = kT0 + to_s * kSecond;
    s.seconds = static_cast<double>(to_s - from_s);
  }
  return s;
}

// db (passed, wave 1, its name a script tag), shop (failed at its http check, wave 2, the check
// after it not run), reports (skipped: it depends on shop).
RecoveryReport MakeReport() {
  RecoveryReport r;
  r.plan_file = "/etc/lifeboat/" + kEvil + ".yaml";
  r.start_ns = kT0;
  r.end_ns = kT0 + 40 * kSecond;
  r.sandbox = "/var/tmp/lifeboat-drills/drill-1";
  r.parallel = 4;
  ServiceRecovery db;
  db.service = kEvil;
  db.tier = 0;
  db.wave = 1;
  db.site = "primary";
  db.state = ServiceState::kPassed;
  // As RecoverServices records it: the `files` check spans the restores, its seconds are their
  // verify phase's (the last second of the restore).
  db.steps = {Step("restore", "restore source orders (sqlite) " + kEvil, StepState::kOk, 1, 6),
              Step("verify", "files", StepState::kOk, 1, 6),
              Step("recover", "command 'start-db'", StepState::kOk, 6, 10)};
  db.steps[1].kind = "files";
  db.steps[1].seconds = 1;
  db.steps[1].output = "12 of 12 files verified";
  db.rto_seconds = 10;
  db.rto_target = std::chrono::seconds(3600);
  db.rpo_seconds = 300;
  db.rpo_target = std::chrono::seconds(900);
  db.files_restored = 12;
  db.bytes_restored = 3 * 1024 * 1024;
  db.start_ns = kT0 + kSecond;
  db.end_ns = kT0 + 10 * kSecond;
  RestoredSource src;
  src.name = "orders";
  src.kind = "sqlite";
  src.snapshot = std::string(64, 'a');
  src.snapshot_time_ns = kT0 - 300 * kSecond;
  src.files = 12;
  src.bytes = db.bytes_restored;
  db.sources = {src};
  ServiceRecovery shop;
  shop.service = "shop";
  shop.tier = 1;
  shop.wave = 2;
  shop.site = "primary";
  shop.depends_on = {kEvil};
  shop.state = ServiceState::kFailed;
  shop.start_ns = kT0 + 10 * kSecond;
  shop.steps = {Step("restore", "restore source files", StepState::kOk, 10, 20),
                Step("recover", "command 'serve'", StepState::kOk, 20, 22),
                Step("verify", "http GET /health", StepState::kFailed, 22, 30),
                Step("verify", "command 'selftest'", StepState::kNotRun, 0, 0)};
  shop.steps[2].error = "HTTP 500";
  shop.steps[3].error = "not run: an earlier check failed";
  shop.failure = "http GET /health: HTTP 500";
  shop.failure_output = "HTTP 500\n" + kEvil + "\ntraceback";
  shop.rto_target = std::chrono::seconds(20);
  shop.rpo_seconds = 7200;
  shop.rpo_target = std::chrono::seconds(3600);
  shop.files_restored = 100;
  shop.bytes_restored = 5000;
  ServiceRecovery reports;
  reports.service = "reports";
  reports.wave = 3;
  reports.depends_on = {"shop"};
  reports.state = ServiceState::kSkipped;
  reports.failure = "not recovered: it depends on shop, which failed";
  r.services = {db, shop, reports};
  r.warnings = {"warning " + kEvil};
  return r;
}

TEST(RecoveryReportHtmlTest, EscapesEveryStringOfThePlan) {
  const std::string html = RecoveryReportHtml(MakeReport());
  EXPECT_EQ(Count(html, "<script"), 0u) << html;
  EXPECT_EQ(html.find(kEvil), std::string::npos);
  // The service's name: summary row, Gantt row label and tooltips, heading, shop's "depends on".
  EXPECT_NE(html.find("<td class=\"nowrap\">" + kEscaped + "</td>"), std::string::npos);
  EXPECT_NE(html.find("<h2>" + kEscaped + " (tier 0, wave 1): passed</h2>"), std::string::npos);
  EXPECT_NE(html.find(">" + kEscaped + " (passed)</text>"), std::string::npos);
  EXPECT_NE(html.find("depends on " + kEscaped), std::string::npos);
  EXPECT_NE(html.find("<pre><code>HTTP 500\n" + kEscaped + "\ntraceback</code></pre>"), std::string::npos);
  EXPECT_NE(html.find("<li>warning " + kEscaped + "</li>"), std::string::npos);
  for (const char* banned : {"http:", "https:", "src=", "href=", "@import", "url("})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
}

TEST(RecoveryReportHtmlTest, EveryServiceWithItsResultAndTargets) {
  const RecoveryReport r = MakeReport();
  const std::string html = RecoveryReportHtml(r);
  EXPECT_NE(html.find("<title>Drill report, 2026-11-30T"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"bad\">FAILED: 1 passed, 1 failed, 1 skipped.</p>"),
            std::string::npos);
  for (const char* row : {"<td class=\"nowrap\">shop</td><td class=\"num\">1</td><td class=\"num\">2</td>",
                          "<td class=\"nowrap\">reports</td><td class=\"num\">3</td><td class=\"num\">3</td>"})
    EXPECT_NE(html.find(row), std::string::npos) << row;
  for (const ServiceRecovery& s : r.services)
    EXPECT_NE(html.find(" (" + std::string(ServiceStateName(s.state)) + ")</text>"),
              std::string::npos);
  // Achieved against target, with its mark.
  EXPECT_NE(html.find("<td class=\"good\">10.0 s of 1h, \u2713 met</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"good\">5 m 00 s of 15m, \u2713 met</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"muted\">not recovered (target 20s)</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"bad\">2 h 00 m of 1h, \u2717 missed</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">12 files, 3.00 MiB</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"bad\">http GET /health: HTTP 500</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"bad\">not recovered: it depends on shop, which failed</td>"),
            std::string::npos);
  // Each step in its service's table: its offset from the start, its time, its result.
  EXPECT_NE(html.find("<td>http GET /health</td><td class=\"bad\">failed</td>"
                      "<td class=\"num\">+22.0 s</td><td class=\"num\">8.0 s</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"muted\">not_run</td><td class=\"num\">-</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>12 of 12 files verified</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>aaaaaaaa</td>"), std::string::npos);
}

TEST(RecoveryReportHtmlTest, OneGanttBarPerStepThatRan) {
  const RecoveryReport r = MakeReport();
  const std::string html = RecoveryReportHtml(r);
  size_t ran = 0, restore = 0, recover = 0, verify = 0, failed = 0;
  for (const ServiceRecovery& s : r.services) {
    for (const StepRecord& st : s.steps) {
      if (st.state == StepState::kNotRun) continue;
      ++ran;
      restore += st.phase == "restore";
      recover += st.phase == "recover";
      verify += st.phase == "verify" && st.state == StepState::kOk;
      failed += st.state == StepState::kFailed;
    }
  }
  ASSERT_EQ(ran, 6u);
  EXPECT_EQ(Count(html, "class=\"bar bar-restore\""), restore);
  EXPECT_EQ(Count(html, "class=\"bar bar-recover\""), recover);
  EXPECT_EQ(Count(html, "class=\"bar bar-verify\""), verify);
  EXPECT_EQ(Count(html, " bar-failed\""), failed);
  EXPECT_EQ(Count(html, "<rect class=\"bar bar-restore") + Count(html, "<rect class=\"bar bar-recover") +
                Count(html, "<rect class=\"bar bar-verify"),
            ran);
  // db waited 1 s for the session, shop 10 s for db; reports never started: no bar at all.
  EXPECT_EQ(Count(html, "class=\"bar bar-wait\""), 2u);
  EXPECT_NE(html.find("<title>before its first step: 1.0 s (setting up the session 1.0 s, "
                      "opening site primary and choosing the snapshots 0.0 s)</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<title>before its first step: 10.0 s (waiting for what it depends on "
                      "10.0 s, opening site primary and choosing the snapshots 0.0 s)</title>"),
            std::string::npos);
  // db's files check is drawn as the last fifth of its restore bar (1 s of the 5 s restore).
  std::smatch restore_bar, files_bar;
  const std::string number = "([0-9.]+)";
  ASSERT_TRUE(std::regex_search(html, restore_bar, std::regex("class=\"bar bar-restore\" x=\"" + number + "\" y=\"[0-9.]+\" width=\"" + number)));
  ASSERT_TRUE(std::regex_search(html, files_bar, std::regex("class=\"bar bar-verify\" x=\"" + number + "\" y=\"[0-9.]+\" width=\"" + number)));
  const double rx = std::stod(restore_bar[1]), rw = std::stod(restore_bar[2]);
  const double fx = std::stod(files_bar[1]), fw = std::stod(files_bar[2]);
  EXPECT_NEAR(fw, rw / 5, 0.2);
  EXPECT_NEAR(fx + fw, rx + rw, 0.2);
  // RTO targets: db's 1 h is far beyond the 40 s axis (named only), shop's 20 s is on it and
  // missed (it never recovered).
  EXPECT_EQ(Count(html, "<g class=\"marker\""), 1u);
  EXPECT_NE(html.find(">RTO 1h &gt;</text>"), std::string::npos);
  EXPECT_NE(html.find("font-weight=\"600\">RTO 20s</text>"), std::string::npos);
}

TEST(RecoveryReportHtmlTest, APassingDrillSaysSo) {
  RecoveryReport r = MakeReport();
  r.services.resize(1);
  const std::string html = RecoveryReportHtml(r);
  EXPECT_NE(html.find("<p class=\"good\">PASSED: 1 passed, 0 failed, 0 skipped.</p>"),
            std::string::npos);
  EXPECT_EQ(html.find("shop"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::recover
