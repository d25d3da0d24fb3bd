// Deliver: sends events to channels with retries, exponential backoff with full jitter, and a
// bounded total time, and says per channel what happened (doc/notifications.md, "Delivery").
// A channel that is down never blocks the caller beyond the budget and never fails it: the
// outcome says `failed` with an error text (never a secret) for the caller's run record.
//
//   std::vector<DeliveryOutcome> out = Deliver(deliveries, channels, RetryPolicy{}, context);
//   for (const DeliveryOutcome& o : out) record["notifications"].push_back(OutcomeJson(o));
//
// Waits happen on the context's clock (tests: a ManualClock, no real sleeping). The context's
// cancel flag stops everything at once; its deadline, when earlier than the budget, bounds it.
// Thread safety: Deliver may be called from any thread; it runs up to max_parallel threads of
// its own and joins them before returning.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/channel.h"
#include "notify/event.h"
#include "util/context.h"

namespace lifeboat::notify {

struct RetryPolicy {
  int max_attempts = 5;
  // The wait before attempt n+1 is uniform in [0, min(max_delay, base_delay * 2^(n-1))].
  std::chrono::milliseconds base_delay{1'000};
  std::chrono::milliseconds max_delay{30'000};
  // One attempt (an HTTP request, an SMTP session).
  std::chrono::milliseconds request_timeout{10'000};
  // The most a delivery may take from the start of Deliver, attempts and waits together.
  std::chrono::milliseconds budget{60'000};
  // Deliveries in flight at once.
  int max_parallel = 8;
  // Seeds the jitter (tests); 0: from std::random_device.
  uint64_t jitter_seed = 0;
};

// One event for some channels (Router::Process makes these).
struct Delivery {
  Event event;
  std::vector<std::string> channels;
};

enum class OutcomeResult { kDelivered, kFailed, kSkipped };
std::string_view OutcomeResultName(OutcomeResult r);  // "delivered", "failed", "skipped"

struct DeliveryOutcome {
  std::string channel;
  std::string channel_type;  // empty when no channel has that name
  EventType event = EventType::kRunSummary;
  std::string dedup_key;
  bool resolved = false;
  bool escalated = false;
  OutcomeResult result = OutcomeResult::kFailed;
  int attempts = 0;
  int64_t duration_ns = 0;  // on the context's clock
  std::string error;        // empty when delivered; never a secret
};

// {"channel", "type", "event", "dedup_key", "result", "attempts", "duration_seconds", "error"}.
nlohmann::json OutcomeJson(const DeliveryOutcome& o);

using ChannelMap = std::map<std::string, std::unique_ptr<Channel>, std::less<>>;

// Delivers every (event, channel) pair of `deliveries`; returns one outcome per pair, in the
// order of `deliveries` and of their channels. A channel name not in `channels` is a failed
// outcome ("no channel named ..."); an event the channel does not take is `skipped`.
std::vector<DeliveryOutcome> Deliver(const std::vector<Delivery>& deliveries,
                                     const ChannelMap& channels, const RetryPolicy& policy,
                                     const Context& context);

// One pair, until delivered, a permanent failure, max_attempts, or `deadline_ns` (on the
// context's monotonic clock). `uniform01` draws the jitter in [0, 1).
DeliveryOutcome DeliverOne(const Event& event, const Channel& channel, const RetryPolicy& policy,
                           const Context& context, int64_t deadline_ns,
                           const std::function<double()>& uniform01);

// The wait after failed attempt `attempt` (1-based): full jitter, `uniform01` in [0, 1); at
// least `retry_after` (seconds, when the receiver sent one), never more than max_delay.
std::chrono::nanoseconds BackoffDelay(int attempt, const RetryPolicy& policy, double uniform01,
                                      std::optional<int64_t> retry_after_seconds);

// `text` with every secret (of 4 characters or more) replaced by "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace lifeboat::notify
