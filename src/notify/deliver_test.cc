// Retries, backoff and the time budget, on a ManualClock (no real sleeping). The channel here is
// a scripted stand-in for the retry logic only; every real channel is tested against real
// receivers in notify_server_test.
#include "notify/deliver.h"

#include <gtest/gtest.h>

#include <deque>

#include "util/clock.h"

namespace lifeboat::notify {
namespace {

class ScriptedChannel : public Channel {
 public:
  ScriptedChannel(std::string name, std::deque<Status> script, std::string type = "webhook")
      : Channel(std::move(name)), script_(std::move(script)), type_(std::move(type)) {}
  std::string_view type() const override { return type_; }
  Status Send(const Event&, const Attempt& a) const override {
    timeouts_.push_back(a.timeout);
    if (script_.empty()) return Status::Ok();
    Status s = script_.front();
    script_.pop_front();
    return s;
  }
  std::vector<std::string> Secrets() const override { return {"hunter2-secret"}; }
  mutable std::vector<std::chrono::milliseconds> timeouts_;

 private:
  mutable std::deque<Status> script_;
  std::string type_;
};

Event AnEvent() {
  return MakeEvent(EventType::kBackupFailed, "billing", 0, "primary", "boom", 1'000'000'000);
}

double Half() { return 0.5; }

TEST(BackoffTest, FullJitterDoublesUpToTheCap) {
  RetryPolicy p;  // base 1 s, max 30 s
  using std::chrono::seconds;
  EXPECT_EQ(BackoffDelay(1, p, 1.0, std::nullopt), seconds(1));
  EXPECT_EQ(BackoffDelay(2, p, 1.0, std::nullopt), seconds(2));
  EXPECT_EQ(BackoffDelay(5, p, 1.0, std::nullopt), seconds(16));
  EXPECT_EQ(BackoffDelay(6, p, 1.0, std::nullopt), seconds(30));
  EXPECT_EQ(BackoffDelay(60, p, 1.0, std::nullopt), seconds(30));
  EXPECT_EQ(BackoffDelay(3, p, 0.5, std::nullopt), seconds(2));
  EXPECT_EQ(BackoffDelay(3, p, 0.0, std::nullopt), seconds(0));
  // Retry-After raises the wait, never above max_delay.
  EXPECT_EQ(BackoffDelay(1, p, 0.0, 7), seconds(7));
  EXPECT_EQ(BackoffDelay(1, p, 0.0, 3600), seconds(30));
}

TEST(ScrubTest, ReplacesEverySecret) {
  EXPECT_EQ(Scrub("key R0UT and R0UT", {"R0UT"}), "key *** and ***");
  EXPECT_EQ(Scrub("abc", {"", "ab"}), "abc");  // too short to scrub safely
}

TEST(DeliverTest, RetriesTransientFailuresWithBackoffOnTheContextClock) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  ScriptedChannel ch("hook", {Status::Unavailable("HTTP 503"), Status::Unavailable("HTTP 503")});
  RetryPolicy p;
  const DeliveryOutcome o = DeliverOne(AnEvent(), ch, p, ctx, clock.MonotonicNs() + 60e9, Half);
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  EXPECT_EQ(o.attempts, 3);
  EXPECT_EQ(o.error, "");
  // Full jitter with the draw 0.5: 0.5 s after the first failure, 1 s after the second.
  EXPECT_EQ(clock.sleeps(), (std::vector<int64_t>{500'000'000, 1'000'000'000}));
  EXPECT_EQ(o.duration_ns, 1'500'000'000);
}

TEST(DeliverTest, PermanentFailuresAreNotRetried) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  ScriptedChannel ch("pd", {Status::InvalidArgument("HTTP 400: bad key hunter2-secret")});
  const DeliveryOutcome o =
      DeliverOne(AnEvent(), ch, RetryPolicy{}, ctx, clock.MonotonicNs() + 60e9, Half);
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_TRUE(clock.sleeps().empty());
  EXPECT_EQ(o.error, "HTTP 400: bad key *** (not retried)");
}

TEST(DeliverTest, GivesUpAfterMaxAttempts) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  std::deque<Status> down(10, Status::Unavailable("connection refused"));
  ScriptedChannel ch("hook", down);
  RetryPolicy p;
  p.max_attempts = 4;
  const DeliveryOutcome o = DeliverOne(AnEvent(), ch, p, ctx, clock.MonotonicNs() + 600e9, Half);
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 4);
  EXPECT_EQ(o.error, "connection refused (gave up after 4 attempts)");
  EXPECT_EQ(clock.sleeps().size(), 3u);
}

TEST(DeliverTest, NeverPastTheBudget) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  std::deque<Status> down(100, Status::Unavailable("connection refused"));
  ScriptedChannel ch("hook", down);
  RetryPolicy p;
  p.max_attempts = 100;
  p.budget = std::chrono::seconds(10);
  const int64_t start = clock.MonotonicNs();
  const DeliveryOutcome o = DeliverOne(AnEvent(), ch, p, ctx, start + 10'000'000'000, [] { return 1.0; });
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_LT(clock.MonotonicNs() - start, 10'000'000'000);
  EXPECT_NE(o.error.find("the next retry would end past the time budget"), std::string::npos);
  // Waits 1, 2, 4 s (7 s in all); the next, 8 s, would end past 10 s.
  EXPECT_EQ(o.attempts, 4);
  // Each attempt's timeout is cut to what is left of the budget.
  ASSERT_EQ(ch.timeouts_.size(), 4u);
  EXPECT_EQ(ch.timeouts_[0], std::chrono::milliseconds(10'000));
  EXPECT_EQ(ch.timeouts_[3], std::chrono::milliseconds(3'000));
}

TEST(DeliverTest, CancelStopsAtOnce) {
  ManualClock clock;
  std::atomic<bool> cancel{true};
  Context ctx = Context().WithClock(clock).WithCancel(&cancel);
  ScriptedChannel ch("hook", {});
  const DeliveryOutcome o =
      DeliverOne(AnEvent(), ch, RetryPolicy{}, ctx, clock.MonotonicNs() + 60e9, Half);
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 0);
}

TEST(DeliverTest, DeliverFansOutAndReportsEachPair) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  ChannelMap channels;
  channels["ok"] = std::make_unique<ScriptedChannel>("ok", std::deque<Status>{});
  channels["pd"] = std::make_unique<ScriptedChannel>("pd", std::deque<Status>{}, "pagerduty");
  Event summary = MakeEvent(EventType::kRunSummary, "", std::nullopt, "", "done", 0);
  std::vector<Delivery> d = {{AnEvent(), {"ok", "missing"}}, {summary, {"pd", "ok"}}};
  RetryPolicy p;
  p.jitter_seed = 7;
  const std::vector<DeliveryOutcome> out = Deliver(d, channels, p, ctx);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].channel, "ok");
  EXPECT_EQ(out[0].result, OutcomeResult::kDelivered);
  EXPECT_EQ(out[0].dedup_key, "lifeboat:backup:billing:primary");
  EXPECT_EQ(out[1].result, OutcomeResult::kFailed);
  EXPECT_EQ(out[1].error, "no notification channel named 'missing'");
  EXPECT_EQ(out[2].result, OutcomeResult::kSkipped);  // PagerDuty takes no run events
  EXPECT_EQ(out[3].result, OutcomeResult::kDelivered);
  const nlohmann::json j = OutcomeJson(out[1]);
  EXPECT_EQ(j["result"], "failed");
  EXPECT_EQ(j["event"], "backup_failed");
}

}  // namespace
}  // namespace lifeboat::notify
