// Router: turns what the caller observed (a backup failed, an RPO is violated, a site is down,
// or all is well again) into notifications, deduplicated against a persistent state, with
// escalation and resolution (doc/notifications.md, "Routes, deduplication and escalation").
//
//   Router router(config);
//   Router::Plan plan = router.Process(&state, observations, run_events, clock.WallNs());
//   std::vector<DeliveryOutcome> out = Deliver(plan.deliveries, channels, policy, context);
//   router.Record(&state, out, clock.WallNs());     // only delivered channels count as told
//
// Pure logic: no I/O, no clock of its own (the caller passes wall-clock time in ns, which is what
// the state records). NotifyState is a plain value; state_file.h stores it. A Router is
// immutable after construction: any thread may use it, one thread at a time per state.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/deliver.h"
#include "notify/event.h"

namespace lifeboat::notify {

struct Route {
  std::string id;                 // stable name for its escalations (the plan's index or name)
  std::vector<EventType> events;  // empty: every event
  std::vector<int> tiers;         // empty: every tier; an event without a tier matches any
  std::vector<std::string> channels;
  std::chrono::seconds escalate_after{0};  // 0: no escalation
  std::vector<std::string> escalate_to;
};

struct RouterConfig {
  std::vector<Route> routes;
  std::string host = HostName();  // put in every event
  // A channel whose delivery failed is tried again by a later Process no earlier than this after
  // the first failure, doubling per failure up to max_channel_retry.
  std::chrono::seconds first_channel_retry{60};
  std::chrono::seconds max_channel_retry{3600};
  // A resolve that could not be delivered for this long is given up (with a warning).
  std::chrono::seconds give_up_resolve_after{24 * 3600};
};

// kDrill: the outcome of a drill of a service from a site (doc/notifications.md, "Drills").
enum class Condition { kBackup, kRpo, kSite, kDrill };
// kAtRisk: for kRpo the RPO is at risk; for kDrill the drill passed but its RTO regressed.
// Elsewhere it is taken as kFailed.
enum class Observed { kOk, kAtRisk, kFailed };

struct Observation {
  Condition condition = Condition::kBackup;
  std::string service;  // empty for kSite
  std::optional<int> tier;  // kSite: the most critical tier among the site's services
  std::string site;
  Observed state = Observed::kOk;
  std::string message;  // for the event that this observation sends, if any
  nlohmann::json details = nlohmann::json::object();
  std::optional<Severity> severity;  // default: DefaultSeverity of the event
};

struct ChannelRetry {
  int failures = 0;
  int64_t retry_ns = 0;  // wall clock; not before
};

// An open problem: the event that opened (or raised) it, and who has heard of it.
struct Problem {
  Event event;
  int64_t opened_ns = 0;  // when the problem opened
  int64_t since_ns = 0;   // when `event` (its current level) began: escalation counts from here
  std::set<std::string> told;      // channels that received `event` (or skipped it)
  std::set<std::string> informed;  // every channel that received an event of this problem
  std::set<std::string> escalated_routes;
  std::map<std::string, ChannelRetry> failing;
};

// A resolving event still to be delivered to some channels.
struct Resolving {
  Event event;
  int64_t since_ns = 0;
  std::set<std::string> pending;
  std::map<std::string, ChannelRetry> failing;
};

struct NotifyState {
  std::map<std::string, Problem> problems;    // by dedup key
  std::map<std::string, Resolving> resolving;  // by dedup key
};

class Router {
 public:
  explicit Router(RouterConfig config) : config_(std::move(config)) {}

  struct Plan {
    std::vector<Delivery> deliveries;
    std::vector<std::string> warnings;  // for the caller's log (a resolve given up, ...)
  };

  // Applies `observations` (in order) to *state and returns what to send now: events of
  // problems that opened, rose or were resolved; escalations that became due; earlier failed
  // deliveries whose retry time came; and `run_events` (run_started, run_summary), routed
  // without state. Keys not observed are left alone.
  Plan Process(NotifyState* state, const std::vector<Observation>& observations,
               const std::vector<Event>& run_events, int64_t now_ns) const;

  // Marks channels as told (delivered or skipped) or failing (failed, with the next retry time)
  // from the outcomes of delivering a Plan made from this state.
  void Record(NotifyState* state, const std::vector<DeliveryOutcome>& outcomes,
              int64_t now_ns) const;

  // The channels of the routes matching an event of this type and tier (sorted, unique).
  std::set<std::string> RoutedChannels(EventType type, std::optional<int> tier) const;

 private:
  const RouterConfig config_;
};

}  // namespace lifeboat::notify
