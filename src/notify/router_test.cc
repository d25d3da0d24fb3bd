// The router's decisions: open, persist, escalate, restore, flapping, two services, failed
// deliveries retried later, run events.
#include "notify/router.h"

#include <gtest/gtest.h>

namespace lifeboat::notify {
namespace {

constexpr int64_t kT0 = 1'796'354'100'000'000'000;
constexpr int64_t kMinute = 60'000'000'000;

RouterConfig Config() {
  RouterConfig c;
  c.host = "backup1";
  Route critical;
  critical.id = "critical";
  critical.events = {EventType::kBackupFailed, EventType::kBackupRecovered,
                     EventType::kRpoViolated, EventType::kRpoRestored};
  critical.tiers = {0};
  critical.channels = {"pd", "slack"};
  critical.escalate_after = std::chrono::hours(1);
  critical.escalate_to = {"mail"};
  Route rest;
  rest.id = "rest";
  rest.tiers = {1, 2, 3};
  rest.channels = {"slack"};
  Route runs;
  runs.id = "runs";
  runs.events = {EventType::kRunSummary};
  runs.channels = {"hc"};
  Route drills;  // tier 0: failed and regressed drills page; passed ones are not asked for
  drills.id = "drills";
  drills.events = {EventType::kDrillFailed, EventType::kRtoRegressed};
  drills.tiers = {0};
  drills.channels = {"pd"};
  c.routes = {critical, rest, runs, drills};
  return c;
}

Observation Rpo(const std::string& service, int tier, Observed s) {
  Observation o;
  o.condition = Condition::kRpo;
  o.service = service;
  o.tier = tier;
  o.site = "offsite";
  o.state = s;
  o.message = service + " rpo";
  return o;
}

Observation Drill(const std::string& service, int tier, Observed s) {
  Observation o = Rpo(service, tier, s);
  o.condition = Condition::kDrill;
  o.message = service + " drill";
  return o;
}

Observation Backup(const std::string& service, int tier, Observed s) {
  Observation o = Rpo(service, tier, s);
  o.condition = Condition::kBackup;
  return o;
}

// "event>channel,channel[!]" per delivery ("!" when escalated), in order.
std::vector<std::string> Summary(const Router::Plan& plan) {
  std::vector<std::string> out;
  for (const Delivery& d : plan.deliveries) {
    std::string s = std::string(EventTypeName(d.event.type)) + ":" + d.event.service + ">";
    for (size_t i = 0; i < d.channels.size(); ++i) s += (i ? "," : "") + d.channels[i];
    if (d.event.escalated) s += "!";
    out.push_back(s);
  }
  return out;
}

std::vector<DeliveryOutcome> Outcomes(const Router::Plan& plan,
                                      const std::set<std::string>& failing = {}) {
  std::vector<DeliveryOutcome> out;
  for (const Delivery& d : plan.deliveries) {
    for (const std::string& c : d.channels) {
      DeliveryOutcome o;
      o.channel = c;
      o.event = d.event.type;
      o.dedup_key = d.event.dedup_key;
      o.resolved = d.event.resolved;
      o.escalated = d.event.escalated;
      o.result = failing.contains(c) ? OutcomeResult::kFailed : OutcomeResult::kDelivered;
      out.push_back(o);
    }
  }
  return out;
}

class RouterTest : public ::testing::Test {
 protected:
  // One run: process, deliver (all succeed unless in `failing`), record.
  std::vector<std::string> Run(std::vector<Observation> obs, int64_t now,
                               const std::set<std::string>& failing = {}) {
    Router::Plan plan = router_.Process(&state_, obs, {}, now);
    last_ = plan;
    router_.Record(&state_, Outcomes(plan, failing), now);
    return Summary(plan);
  }
  Router router_{Config()};
  NotifyState state_;
  Router::Plan last_;
};

using V = std::vector<std::string>;

TEST_F(RouterTest, ViolationNotifiesOnceThenResolvesOnce) {
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kOk)}, kT0), V{});  // nothing open: silence
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + kMinute),
            V{"rpo_violated:billing>pd,slack"});
  const Event opened = last_.deliveries[0].event;
  EXPECT_EQ(opened.dedup_key, "lifeboat:rpo:billing:offsite");
  EXPECT_EQ(opened.severity, Severity::kCritical);
  EXPECT_EQ(opened.host, "backup1");
  for (int i = 2; i < 30; ++i) {  // it lasts: nothing more (escalation is after an hour)
    EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + i * kMinute), V{}) << i;
  }
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kOk)}, kT0 + 30 * kMinute),
            V{"rpo_restored:billing>pd,slack"});
  const Event& resolved = last_.deliveries[0].event;
  EXPECT_TRUE(resolved.resolved);
  EXPECT_EQ(resolved.dedup_key, opened.dedup_key);  // PagerDuty resolves what it opened
  EXPECT_EQ(resolved.details["violated_since"], FormatRfc3339Utc(kT0 + kMinute));
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kOk)}, kT0 + 31 * kMinute), V{});
  EXPECT_TRUE(state_.problems.empty());
  EXPECT_TRUE(state_.resolving.empty());
}

TEST_F(RouterTest, EscalatesOnceAfterEscalateAfterAndResolvesThereToo) {
  Run({Rpo("billing", 0, Observed::kFailed)}, kT0);
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + 59 * kMinute), V{});
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + 60 * kMinute),
            V{"rpo_violated:billing>mail!"});
  EXPECT_TRUE(last_.deliveries[0].event.escalated);
  // No repeat reminders.
  for (int h = 2; h < 10; ++h) {
    EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + h * 60 * kMinute), V{});
  }
  // The resolve reaches the escalation channel as well.
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kOk)}, kT0 + 600 * kMinute),
            V{"rpo_restored:billing>mail,pd,slack"});
}

TEST_F(RouterTest, AtRiskThenViolatedThenRestored) {
  // Tier 1: the "rest" route takes every event.
  EXPECT_EQ(Run({Rpo("wiki", 1, Observed::kAtRisk)}, kT0), V{"rpo_at_risk:wiki>slack"});
  EXPECT_EQ(last_.deliveries[0].event.severity, Severity::kWarning);
  EXPECT_EQ(Run({Rpo("wiki", 1, Observed::kAtRisk)}, kT0 + kMinute), V{});
  EXPECT_EQ(Run({Rpo("wiki", 1, Observed::kFailed)}, kT0 + 2 * kMinute),
            V{"rpo_violated:wiki>slack"});
  // Back to merely at risk: still open, nothing sent.
  EXPECT_EQ(Run({Rpo("wiki", 1, Observed::kAtRisk)}, kT0 + 3 * kMinute), V{});
  EXPECT_EQ(Run({Rpo("wiki", 1, Observed::kOk)}, kT0 + 4 * kMinute),
            V{"rpo_restored:wiki>slack"});
}

TEST_F(RouterTest, FlappingNotifiesEachChangeOnceAndNeverDuplicates) {
  V all;
  for (int i = 0; i < 6; ++i) {
    const Observed s = i % 2 == 0 ? Observed::kFailed : Observed::kOk;
    for (int repeat = 0; repeat < 3; ++repeat) {
      V got = Run({Backup("billing", 0, s)}, kT0 + (i * 3 + repeat) * kMinute);
      all.insert(all.end(), got.begin(), got.end());
    }
  }
  EXPECT_EQ(all, (V{"backup_failed:billing>pd,slack", "backup_recovered:billing>pd,slack",
                    "backup_failed:billing>pd,slack", "backup_recovered:billing>pd,slack",
                    "backup_failed:billing>pd,slack", "backup_recovered:billing>pd,slack"}));
}

TEST_F(RouterTest, TwoServicesAreIndependent) {
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed), Rpo("wiki", 2, Observed::kFailed)}, kT0),
            (V{"rpo_violated:billing>pd,slack", "rpo_violated:wiki>slack"}));
  EXPECT_EQ(state_.problems.size(), 2u);
  // Only wiki observed (run --service wiki): billing stays open.
  EXPECT_EQ(Run({Rpo("wiki", 2, Observed::kOk)}, kT0 + kMinute), V{"rpo_restored:wiki>slack"});
  EXPECT_EQ(state_.problems.size(), 1u);
  EXPECT_EQ(state_.problems.begin()->first, "lifeboat:rpo:billing:offsite");
  // Backup and RPO problems of one service are two problems.
  EXPECT_EQ(Run({Backup("billing", 0, Observed::kFailed)}, kT0 + 2 * kMinute),
            V{"backup_failed:billing>pd,slack"});
  EXPECT_EQ(state_.problems.size(), 2u);
}

TEST_F(RouterTest, AFailedDeliveryIsRetriedByLaterRunsWithBackoff) {
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0, {"pd"}),
            V{"rpo_violated:billing>pd,slack"});
  // Before the retry time (1 minute): nothing; slack is not told twice.
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + 30'000'000'000), V{});
  // Due: only pd again; it fails again -> next retry 2 minutes later.
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + kMinute, {"pd"}),
            V{"rpo_violated:billing>pd"});
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + 2 * kMinute), V{});
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + 3 * kMinute),
            V{"rpo_violated:billing>pd"});
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kFailed)}, kT0 + 4 * kMinute), V{});
  // A resolve that fails is retried too, and given up after 24 hours.
  EXPECT_EQ(Run({Rpo("billing", 0, Observed::kOk)}, kT0 + 5 * kMinute, {"slack"}),
            V{"rpo_restored:billing>pd,slack"});
  EXPECT_EQ(Run({}, kT0 + 7 * kMinute, {"slack"}), V{"rpo_restored:billing>slack"});
  Router::Plan late = router_.Process(&state_, {}, {}, kT0 + 25 * 60 * kMinute);
  EXPECT_TRUE(late.deliveries.empty());
  ASSERT_EQ(late.warnings.size(), 1u);
  EXPECT_NE(late.warnings[0].find("gave up delivering rpo_restored"), std::string::npos);
}

TEST_F(RouterTest, AReopenedProblemDropsItsPendingResolve) {
  Run({Backup("billing", 0, Observed::kFailed)}, kT0);
  Run({Backup("billing", 0, Observed::kOk)}, kT0 + kMinute, {"pd"});  // pd's resolve pending
  ASSERT_EQ(state_.resolving.size(), 1u);
  EXPECT_EQ(Run({Backup("billing", 0, Observed::kFailed)}, kT0 + 5 * kMinute),
            V{"backup_failed:billing>pd,slack"});
  EXPECT_TRUE(state_.resolving.empty());
}

TEST_F(RouterTest, SitesAndRunEvents) {
  Observation site;
  site.condition = Condition::kSite;
  site.site = "offsite";
  site.tier = 0;
  site.state = Observed::kFailed;
  // The critical route does not list site events; nothing else matches tier 0.
  EXPECT_EQ(Run({site}, kT0), V{});
  site.tier = 2;
  site.site = "other";
  EXPECT_EQ(Run({site}, kT0), V{"site_unreachable:>slack"});
  EXPECT_EQ(last_.deliveries[0].event.dedup_key, "lifeboat:site::other");
  site.state = Observed::kOk;
  EXPECT_EQ(Run({site}, kT0 + kMinute), V{"site_recovered:>slack"});

  Event summary = MakeEvent(EventType::kRunSummary, "", std::nullopt, "", "ok", kT0);
  Router::Plan plan = router_.Process(&state_, {}, {summary, summary}, kT0);
  EXPECT_EQ(Summary(plan), (V{"run_summary:>hc,slack", "run_summary:>hc,slack"}));
}

TEST_F(RouterTest, DrillFailedThenRegressedThenPassed) {
  // Tier 0: no route asks for drill_passed, and nothing is open: silence.
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kOk)}, kT0), V{});
  EXPECT_TRUE(state_.resolving.empty());
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kFailed)}, kT0 + kMinute),
            V{"drill_failed:billing>pd"});
  const Event failed = last_.deliveries[0].event;
  EXPECT_EQ(failed.dedup_key, "lifeboat:drill:billing:offsite");
  EXPECT_EQ(failed.severity, Severity::kError);
  EXPECT_FALSE(failed.resolved);
  // The same outcome again: nothing.
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kFailed)}, kT0 + 2 * kMinute), V{});
  // The next drill passes, slowly: news either way, under the same key (PagerDuty adds it to
  // the open incident).
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kAtRisk)}, kT0 + 3 * kMinute),
            V{"rto_regressed:billing>pd"});
  EXPECT_EQ(last_.deliveries[0].event.severity, Severity::kWarning);
  EXPECT_EQ(last_.deliveries[0].event.dedup_key, failed.dedup_key);
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kAtRisk)}, kT0 + 4 * kMinute), V{});
  // And fails again: raised again.
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kFailed)}, kT0 + 5 * kMinute),
            V{"drill_failed:billing>pd"});
  // A clean pass resolves with the same key, to everyone who was told.
  EXPECT_EQ(Run({Drill("billing", 0, Observed::kOk)}, kT0 + 6 * kMinute),
            V{"drill_passed:billing>pd"});
  const Event& passed = last_.deliveries[0].event;
  EXPECT_TRUE(passed.resolved);
  EXPECT_EQ(passed.dedup_key, failed.dedup_key);
  EXPECT_EQ(passed.severity, Severity::kInfo);
  EXPECT_EQ(passed.details["failing_since"], FormatRfc3339Utc(kT0 + kMinute));
  EXPECT_TRUE(state_.problems.empty());
  EXPECT_TRUE(state_.resolving.empty());
}

TEST_F(RouterTest, EveryPassedDrillIsToldToRoutesThatAskForIt) {
  // Tier 1: the "rest" route takes every event, drill_passed included, each time.
  EXPECT_EQ(Run({Drill("wiki", 1, Observed::kOk)}, kT0), V{"drill_passed:wiki>slack"});
  EXPECT_TRUE(last_.deliveries[0].event.resolved);
  EXPECT_EQ(Run({Drill("wiki", 1, Observed::kOk)}, kT0 + kMinute), V{"drill_passed:wiki>slack"});
  // A failed delivery of it is retried by a later run, like a resolve.
  EXPECT_EQ(Run({Drill("wiki", 1, Observed::kOk)}, kT0 + 2 * kMinute, {"slack"}),
            V{"drill_passed:wiki>slack"});
  EXPECT_EQ(Run({}, kT0 + 3 * kMinute), V{"drill_passed:wiki>slack"});
  EXPECT_EQ(Run({}, kT0 + 4 * kMinute), V{});
  // A failed drill opens a problem that drops a pending announcement.
  Run({Drill("wiki", 1, Observed::kOk)}, kT0 + 5 * kMinute, {"slack"});
  EXPECT_EQ(Run({Drill("wiki", 1, Observed::kFailed)}, kT0 + 6 * kMinute),
            V{"drill_failed:wiki>slack"});
  EXPECT_TRUE(state_.resolving.empty());
  // Drill and backup problems of one service are two problems.
  Run({Backup("wiki", 1, Observed::kFailed)}, kT0 + 7 * kMinute);
  EXPECT_EQ(state_.problems.size(), 2u);
}

TEST(RouterMatchTest, RoutedChannelsByEventAndTier) {
  Router r(Config());
  EXPECT_EQ(r.RoutedChannels(EventType::kRpoViolated, 0), (std::set<std::string>{"pd", "slack"}));
  EXPECT_EQ(r.RoutedChannels(EventType::kRpoAtRisk, 0), std::set<std::string>{});
  EXPECT_EQ(r.RoutedChannels(EventType::kRpoAtRisk, 3), std::set<std::string>{"slack"});
  EXPECT_EQ(r.RoutedChannels(EventType::kRunSummary, std::nullopt),
            (std::set<std::string>{"hc", "slack"}));
}

}  // namespace
}  // namespace lifeboat::notify
