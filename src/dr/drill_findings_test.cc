// Continuous improvement (doc/drill-history.md, "What is flagged"): regressions against the median
// of the last 5 drills, missed targets, services never drilled or overdue, and the notification
// observation of a drill.
#include "dr/drill_findings.h"

#include <gtest/gtest.h>

namespace lifeboat::dr {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kDay = 86400 * kSecond;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;

// A passed drill of `service` from `site` at `start`: restore 20 s, postgres_restore `recover_s`
// seconds, a 5 s check; RTO their sum.
DrillRecord Drill(const std::string& service, const std::string& site, int64_t start,
                  double recover_s, DrillResult result = DrillResult::kPassed) {
  DrillRecord r;
  r.id = NewDrillRecordId();
  r.drill_id = NewDrillId();
  r.service = service;
  r.site = site;
  r.start_ns = start;
  const int64_t recover = static_cast<int64_t>(recover_s * 1e9);
  int64_t t = start;
  r.steps.push_back({"restore " + service, DrillStepKind::kRestore, t, t + 20 * kSecond,
                     DrillResult::kPassed, "", ""});
  t += 20 * kSecond;
  r.steps.push_back({"postgres_restore", DrillStepKind::kRecover, t, t + recover,
                     DrillResult::kPassed, "", ""});
  t += recover;
  r.steps.push_back({"sql select 1", DrillStepKind::kVerify, t, t + 5 * kSecond, result, "", ""});
  t += 5 * kSecond;
  r.end_ns = t;
  r.result = result;
  if (result == DrillResult::kPassed) r.achieved_rto_ns = t - start;
  r.achieved_rpo_ns = 240 * kSecond;
  r.rto_target_ns = 3600 * kSecond;
  r.rpo_target_ns = 900 * kSecond;
  return r;
}

plan::Service Service(const std::string& name) {
  plan::Service s;
  s.name = name;
  s.tier = 0;
  s.rpo = std::chrono::minutes(15);
  s.rto = std::chrono::hours(1);
  return s;
}

bool Has(const std::vector<DrillFinding>& f, FindingKind kind) {
  return std::any_of(f.begin(), f.end(), [&](const DrillFinding& x) { return x.kind == kind; });
}

// The proof: thirty drills in a row keep their history, and a step made 50% slower is
// flagged by the very drill it slowed, against the last 5 drills (not the whole history: the
// first twenty drills were slow, before an improvement that the median must not hide behind).
TEST(DrillFindingsTest, ThirtyDrillsInARowFlagAnInjectedSlowerStepAtOnce) {
  std::vector<DrillRecord> history;
  const double jitter[] = {0.0, 1.5, -2.0, 2.5, -1.0, 0.5, -2.5, 1.0, 2.0, -1.5};
  for (int i = 0; i < 30; ++i) {
    const double recover = (i < 20 ? 150.0 : 60.0) + jitter[i % 10];
    DrillRecord d = Drill("billing-db", "offsite", kT0 + i * kDay, recover);
    const std::vector<DrillFinding> f = AssessDrill(d, history, nullptr);
    EXPECT_TRUE(f.empty()) << "drill " << i << ": " << f.front().message;
    history.push_back(d);
  }
  // Drill 31: postgres_restore 50% slower (60 s -> 90 s): the RTO goes from ~85 s to ~115 s.
  DrillRecord slow = Drill("billing-db", "offsite", kT0 + 30 * kDay, 90.0);
  const std::vector<DrillFinding> f = AssessDrill(slow, history, nullptr);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::kRtoRegressed);
  EXPECT_EQ(f[0].record_id, slow.id);
  EXPECT_EQ(f[0].step, "postgres_restore");
  EXPECT_EQ(f[0].value_ns, 115 * kSecond);
  // The median of the five drills before it (recover 60.5, 57.5, 61, 62, 58.5 s; + 25 s).
  EXPECT_EQ(f[0].reference_ns, 85 * kSecond + 500'000'000);
  EXPECT_EQ(f[0].message,
            "the RTO of billing-db from offsite regressed: 1m55s is 35% above the median of the "
            "last 5 drills (1m26s); step postgres_restore took 49% longer than its median");
  // The median of the whole history (twenty slow drills among thirty, ~175 s) would not have
  // seen it.
  std::vector<int64_t> all;
  for (const DrillRecord& d : history) all.push_back(*d.achieved_rto_ns);
  std::sort(all.begin(), all.end());
  EXPECT_GT(all[15], 170 * kSecond);
  EXPECT_LT(static_cast<double>(*slow.achieved_rto_ns), 1.2 * static_cast<double>(all[15]));
  // It goes through the routes as rto_regressed.
  const notify::Observation o = DrillObservation(slow, 0, f);
  EXPECT_EQ(o.condition, notify::Condition::kDrill);
  EXPECT_EQ(o.state, notify::Observed::kAtRisk);
  EXPECT_EQ(o.details["median_rto_seconds"], 86);
  EXPECT_EQ(o.details["achieved_rto_seconds"], 115);
  EXPECT_EQ(o.details["regression_percent"], 35);
  EXPECT_EQ(o.details["grown_step"], "postgres_restore");
  EXPECT_EQ(o.details["slowest_step"], "postgres_restore");
  EXPECT_EQ(o.message, f[0].message);
  history.push_back(slow);
  // The next drill is back to normal: not flagged (the slow one is one of five in the median).
  DrillRecord normal = Drill("billing-db", "offsite", kT0 + 31 * kDay, 60.0);
  EXPECT_TRUE(AssessDrill(normal, history, nullptr).empty());
  history.push_back(normal);
  EXPECT_EQ(history.size(), 32u);
  // Just over and just under the threshold: 20% is not "more than 20%".
  const int64_t median = *MedianRto(history, "billing-db", "offsite", kT0 + 40 * kDay);
  DrillRecord edge = Drill("billing-db", "offsite", kT0 + 40 * kDay, 0);
  edge.achieved_rto_ns = median + median / 5;
  EXPECT_FALSE(Has(AssessDrill(edge, history, nullptr), FindingKind::kRtoRegressed));
  edge.achieved_rto_ns = median + median / 5 + kSecond;
  EXPECT_TRUE(Has(AssessDrill(edge, history, nullptr), FindingKind::kRtoRegressed));
}

// A service of a later wave whose dependency got slower: its RTO counts from the drill's start,
// so it regresses too, and the finding says its own steps did not grow, its wait did.
TEST(DrillFindingsTest, ALongerWaitForEarlierWavesIsNamed) {
  auto shop = [](int64_t start, double wait_s) {
    DrillRecord r = Drill("shop", "offsite", start, 15);
    const int64_t wait = static_cast<int64_t>(wait_s * 1e9);
    for (DrillStep& s : r.steps) s.start_ns += wait, s.end_ns += wait;
    r.end_ns += wait;
    r.achieved_rto_ns = r.end_ns - start;
    return r;
  };
  std::vector<DrillRecord> history;
  for (int i = 0; i < 5; ++i) history.push_back(shop(kT0 + i * kDay, 85));
  const std::vector<DrillFinding> f = AssessDrill(shop(kT0 + 5 * kDay, 115), history, nullptr);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].step, "waiting for earlier waves");
  EXPECT_EQ(f[0].message,
            "the RTO of shop from offsite regressed: 2m35s is 24% above the median of the last 5 "
            "drills (2m5s); the wait for earlier waves took 35% longer than its median");
}

// The step named is the one that added most time, not the one that grew most in proportion: a
// wait of a few milliseconds that took ten times as long explains nothing of a drill that took
// 300 ms longer.
TEST(DrillFindingsTest, TheStepNamedIsTheOneThatAddedMostTime) {
  const int64_t kMs = 1'000'000;
  auto drill = [&](int64_t start, int64_t wait, int64_t step) {
    DrillRecord r;
    r.id = NewDrillRecordId();
    r.drill_id = NewDrillId();
    r.service = "app";
    r.site = "local";
    r.start_ns = start;
    r.steps.push_back({"command 'sleep'", DrillStepKind::kRecover, start + wait,
                       start + wait + step, DrillResult::kPassed, "", ""});
    r.end_ns = start + wait + step;
    r.achieved_rto_ns = wait + step;
    return r;
  };
  std::vector<DrillRecord> history;
  for (int i = 0; i < 5; ++i) history.push_back(drill(kT0 + i * kDay, 1 * kMs, 400 * kMs));
  const std::vector<DrillFinding> f =
      AssessDrill(drill(kT0 + 5 * kDay, 10 * kMs, 700 * kMs), history, nullptr);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::kRtoRegressed);
  EXPECT_EQ(f[0].step, "command 'sleep'");
  EXPECT_NE(f[0].message.find("step command 'sleep' took 75% longer than its median"),
            std::string::npos)
      << f[0].message;
}

TEST(DrillFindingsTest, TheBaselineIsPerSiteOnlyPassedDrillsAndNeedsThree) {
  std::vector<DrillRecord> history;
  for (int i = 0; i < 5; ++i) history.push_back(Drill("db", "local", kT0 + i * kDay, 60));
  for (int i = 0; i < 5; ++i) history.push_back(Drill("db", "offsite", kT0 + i * kDay, 300));
  // Another site's slower drills do not make a local drill look fast, nor the reverse.
  EXPECT_TRUE(AssessDrill(Drill("db", "offsite", kT0 + 9 * kDay, 310), history, nullptr).empty());
  EXPECT_TRUE(Has(AssessDrill(Drill("db", "local", kT0 + 9 * kDay, 120), history, nullptr),
                  FindingKind::kRtoRegressed));
  // Failed drills are not part of the baseline; two passed drills are too few.
  std::vector<DrillRecord> few = {Drill("db", "local", kT0, 60), Drill("db", "local", kT0 + kDay, 60),
                                  Drill("db", "local", kT0 + 2 * kDay, 5, DrillResult::kFailed),
                                  Drill("db", "local", kT0 + 3 * kDay, 5, DrillResult::kFailed)};
  EXPECT_FALSE(MedianRto(few, "db", "local", kT0 + 9 * kDay).has_value());
  EXPECT_TRUE(AssessDrill(Drill("db", "local", kT0 + 9 * kDay, 600), few, nullptr).empty());
  few.push_back(Drill("db", "local", kT0 + 4 * kDay, 62));
  EXPECT_EQ(MedianRto(few, "db", "local", kT0 + 9 * kDay), 85 * kSecond);
  // Only drills that started before the judged one count.
  EXPECT_FALSE(MedianRto(few, "db", "local", kT0 + 4 * kDay).has_value());
  // Other services are ignored.
  EXPECT_FALSE(MedianRto(few, "web", "local", kT0 + 9 * kDay).has_value());
}

TEST(DrillFindingsTest, TargetsMissedAndFailures) {
  DrillRecord slow = Drill("db", "local", kT0, 3700);  // RTO 3725 s, target 3600 s
  slow.achieved_rpo_ns = 1000 * kSecond;               // target 900 s
  std::vector<DrillFinding> f = AssessDrill(slow, {}, nullptr);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].kind, FindingKind::kRtoMissed);
  EXPECT_EQ(f[0].message,
            "the RTO target of db was missed: recovery from local took 1h2m5s, the target is 1h");
  EXPECT_EQ(f[0].value_ns, 3725 * kSecond);
  EXPECT_EQ(f[0].reference_ns, 3600 * kSecond);
  EXPECT_EQ(f[1].kind, FindingKind::kRpoMissed);
  EXPECT_EQ(f[1].message,
            "the RPO target of db was missed: the data restored from local was 16m40s old, the "
            "target is 15m");
  // The record's targets are those of its day; without them, the plan's current ones.
  slow.rto_target_ns.reset();
  slow.rpo_target_ns.reset();
  EXPECT_TRUE(AssessDrill(slow, {}, nullptr).empty());
  plan::Service svc = Service("db");
  svc.rto = std::chrono::hours(2);
  EXPECT_EQ(AssessDrill(slow, {}, &svc).size(), 1u);  // RPO 15m missed, RTO 2h met
  // A failed drill is flagged with its error's first line; it has no RTO to judge.
  DrillRecord failed = Drill("db", "local", kT0, 10, DrillResult::kFailed);
  failed.error = "sql check: expected t, got f\nmore detail";
  f = AssessDrill(failed, {}, nullptr);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].kind, FindingKind::kFailed);
  EXPECT_EQ(f[0].message, "the drill of db from local failed: sql check: expected t, got f");
}

TEST(DrillFindingsTest, NeverDrilledAndOverdue) {
  plan::Service svc = Service("db");
  ServiceAssessment none = AssessService(svc, {Drill("other", "local", kT0, 60)}, kT0);
  ASSERT_EQ(none.findings.size(), 1u);
  EXPECT_EQ(none.findings[0].kind, FindingKind::kNeverDrilled);
  EXPECT_EQ(none.findings[0].message,
            "service db was never drilled: nobody knows whether it can be recovered");
  EXPECT_EQ(none.drills, 0u);
  EXPECT_FALSE(none.newest.has_value());

  svc.drill_every = std::chrono::hours(24 * 8);
  std::vector<DrillRecord> h = {Drill("db", "local", kT0, 60),
                                Drill("db", "offsite", kT0 + kDay, 60, DrillResult::kFailed)};
  // Within drill_every of the newest passed drill (the failed one does not count): fine, but the
  // newest drill failed.
  ServiceAssessment a = AssessService(svc, h, kT0 + 7 * kDay);
  EXPECT_EQ(a.drills, 2u);
  EXPECT_EQ(a.newest->site, "offsite");
  EXPECT_EQ(a.newest_passed->site, "local");
  ASSERT_EQ(a.findings.size(), 1u);
  EXPECT_EQ(a.findings[0].kind, FindingKind::kFailed);
  // Nine days later: overdue, measured from the newest passed drill.
  a = AssessService(svc, h, kT0 + 9 * kDay);
  ASSERT_EQ(a.findings.size(), 2u);
  EXPECT_EQ(a.findings[0].kind, FindingKind::kOverdue);
  EXPECT_EQ(a.findings[0].message,
            "service db is overdue for a drill: the newest passed drill is 1w2d old, drill_every "
            "is 1w1d");
  EXPECT_EQ(a.findings[0].value_ns, 9 * kDay);
  // Only failed drills: overdue at once.
  ServiceAssessment never_passed = AssessService(svc, {h[1]}, kT0 + kDay);
  EXPECT_EQ(never_passed.findings[0].kind, FindingKind::kOverdue);
  EXPECT_EQ(never_passed.findings[0].message,
            "service db has no passed drill; drill_every is 1w1d");
  // Without drill_every nothing is overdue.
  svc.drill_every.reset();
  EXPECT_EQ(AssessService(svc, h, kT0 + 900 * kDay).findings.size(), 1u);
}

TEST(DrillFindingsTest, ObservationsOfFailedAndPassedDrills) {
  DrillRecord failed = Drill("db", "offsite", kT0, 10, DrillResult::kFailed);
  failed.error = "expected t, got f";
  notify::Observation o = DrillObservation(failed, 1, AssessDrill(failed, {}, nullptr));
  EXPECT_EQ(o.state, notify::Observed::kFailed);
  EXPECT_EQ(o.service, "db");
  EXPECT_EQ(o.site, "offsite");
  EXPECT_EQ(o.tier, 1);
  EXPECT_EQ(o.message, "drill of db from offsite failed at step sql select 1: expected t, got f");
  EXPECT_EQ(o.details["failed_step"], "sql select 1");
  EXPECT_EQ(o.details["error"], "expected t, got f");
  EXPECT_EQ(o.details["drill_id"], failed.drill_id);
  EXPECT_EQ(o.details["started"], notify::FormatRfc3339Utc(kT0));
  EXPECT_EQ(o.details["rto_seconds"], 3600);
  DrillRecord passed = Drill("db", "offsite", kT0, 60);
  o = DrillObservation(passed, 1, AssessDrill(passed, {}, nullptr));
  EXPECT_EQ(o.state, notify::Observed::kOk);
  EXPECT_EQ(o.message, "drill of db from offsite passed: RTO 1m25s of 1h, RPO 4m of 15m");
  EXPECT_EQ(o.details["achieved_rto_seconds"], 85);
  EXPECT_EQ(o.details["achieved_rpo_seconds"], 240);
  EXPECT_EQ(o.details["rpo_seconds"], 900);
  EXPECT_FALSE(o.details.contains("median_rto_seconds"));
}

TEST(DrillFindingsTest, Durations) {
  EXPECT_EQ(FormatDrillDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatDrillDuration(59 * kSecond), "59.0s");
  EXPECT_EQ(FormatDrillDuration(85 * kSecond + 499'000'000), "1m25s");
  EXPECT_EQ(FormatDrillDuration(3600 * kSecond), "1h");
  EXPECT_EQ(FormatDrillDuration(-5), "0.0s");
}

}  // namespace
}  // namespace lifeboat::dr
