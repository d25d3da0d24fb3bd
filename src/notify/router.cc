#include "notify/router.h"

#include <algorithm>

namespace lifeboat::notify {
namespace {

std::string_view KindOf(Condition c) {
  switch (c) {
    case Condition::kBackup: return "backup";
    case Condition::kRpo: return "rpo";
    case Condition::kSite: return "site";
    case Condition::kDrill: return "drill";
  }
  return "backup";
}

EventType EventFor(Condition c, Observed s) {
  switch (c) {
    case Condition::kBackup:
      return s == Observed::kOk ? EventType::kBackupRecovered : EventType::kBackupFailed;
    case Condition::kRpo:
      return s == Observed::kOk       ? EventType::kRpoRestored
             : s == Observed::kAtRisk ? EventType::kRpoAtRisk
                                      : EventType::kRpoViolated;
    case Condition::kSite:
      return s == Observed::kOk ? EventType::kSiteRecovered : EventType::kSiteUnreachable;
    case Condition::kDrill:
      return s == Observed::kOk       ? EventType::kDrillPassed
             : s == Observed::kAtRisk ? EventType::kRtoRegressed
                                      : EventType::kDrillFailed;
  }
  return EventType::kBackupFailed;
}

// How bad an opening event is, to tell a rise (at risk -> violated) from the same or less.
int Level(EventType t) {
  return t == EventType::kRpoAtRisk || t == EventType::kRtoRegressed ? 1 : 2;
}

const char* SinceKey(Condition c) {
  switch (c) {
    case Condition::kBackup: return "failed_since";
    case Condition::kRpo: return "violated_since";
    case Condition::kSite: return "unreachable_since";
    case Condition::kDrill: return "failing_since";
  }
  return "since";
}

bool Due(const std::map<std::string, ChannelRetry>& failing, const std::string& channel,
         int64_t now_ns) {
  auto it = failing.find(channel);
  return it == failing.end() || it->second.retry_ns <= now_ns;
}

}  // namespace

std::set<std::string> Router::RoutedChannels(EventType type, std::optional<int> tier) const {
  std::set<std::string> out;
  for (const Route& r : config_.routes) {
    const bool event_ok = r.events.empty() ||
                          std::find(r.events.begin(), r.events.end(), type) != r.events.end();
    const bool tier_ok = r.tiers.empty() || !tier.has_value() ||
                         std::find(r.tiers.begin(), r.tiers.end(), *tier) != r.tiers.end();
    if (event_ok && tier_ok) out.insert(r.channels.begin(), r.channels.end());
  }
  return out;
}

Router::Plan Router::Process(NotifyState* state, const std::vector<Observation>& observations,
                             const std::vector<Event>& run_events, int64_t now_ns) const {
  Plan plan;
  for (const Observation& o : observations) {
    const std::string key = DedupKey(KindOf(o.condition), o.service, o.site);
    const EventType type = EventFor(o.condition, o.state);
    Event e = MakeEvent(type, o.service, o.tier, o.site, o.message, now_ns);
    e.host = config_.host;
    e.dedup_key = key;
    e.details = o.details.is_object() ? o.details : nlohmann::json::object();
    if (o.severity.has_value()) e.severity = *o.severity;
    auto open = state->problems.find(key);
    if (o.state == Observed::kOk && o.condition == Condition::kDrill &&
        open == state->problems.end()) {
      // Every passed drill is told to the routes that ask for drill_passed (the evidence), not
      // only the one that ends a problem; kept as a pending resolve so a failed delivery is
      // retried like any other.
      Resolving r;
      r.event = e;
      r.since_ns = now_ns;
      r.pending = RoutedChannels(type, o.tier);
      if (r.pending.empty()) {
        state->resolving.erase(key);
      } else {
        state->resolving[key] = std::move(r);
      }
      continue;
    }
    if (o.state == Observed::kOk) {
      if (open == state->problems.end()) continue;  // nothing was open: nothing to say
      const Problem& p = open->second;
      e.details[SinceKey(o.condition)] = FormatRfc3339Utc(p.opened_ns);
      Resolving r;
      r.event = e;
      r.since_ns = now_ns;
      r.pending = p.informed;
      for (const std::string& c : RoutedChannels(type, o.tier)) r.pending.insert(c);
      state->problems.erase(open);
      if (r.pending.empty()) {
        state->resolving.erase(key);
      } else {
        state->resolving[key] = std::move(r);
      }
      continue;
    }
    if (open == state->problems.end()) {
      Problem p;
      p.event = e;
      p.opened_ns = now_ns;
      p.since_ns = now_ns;
      state->problems[key] = std::move(p);
      // A resolve not yet delivered would close the incident this reopens.
      state->resolving.erase(key);
      continue;
    }
    Problem& p = open->second;
    // At risk -> violated: a new level, told anew. A drill's outcome is news either way: a failed
    // drill followed by one that passed slowly is told as rto_regressed (same dedup key).
    const bool drill_changed = o.condition == Condition::kDrill && type != p.event.type;
    if (Level(type) > Level(p.event.type) || drill_changed) {
      p.event = e;
      p.since_ns = now_ns;
      p.told.clear();
      p.escalated_routes.clear();
      p.failing.clear();
    }
  }

  for (auto& [key, p] : state->problems) {
    std::vector<std::string> normal, escalated;
    for (const std::string& c : RoutedChannels(p.event.type, p.event.tier)) {
      if (!p.told.contains(c) && Due(p.failing, c, now_ns)) normal.push_back(c);
    }
    for (const Route& r : config_.routes) {
      if (r.escalate_after.count() <= 0 || r.escalate_to.empty()) continue;
      const bool event_ok = r.events.empty() || std::find(r.events.begin(), r.events.end(),
                                                          p.event.type) != r.events.end();
      const bool tier_ok = r.tiers.empty() || !p.event.tier.has_value() ||
                           std::find(r.tiers.begin(), r.tiers.end(), *p.event.tier) !=
                               r.tiers.end();
      if (!event_ok || !tier_ok) continue;
      if (now_ns - p.since_ns < std::chrono::nanoseconds(r.escalate_after).count()) continue;
      p.escalated_routes.insert(r.id);
    }
    for (const Route& r : config_.routes) {
      if (!p.escalated_routes.contains(r.id)) continue;
      for (const std::string& c : r.escalate_to) {
        if (!p.told.contains(c) && Due(p.failing, c, now_ns) &&
            std::find(normal.begin(), normal.end(), c) == normal.end() &&
            std::find(escalated.begin(), escalated.end(), c) == escalated.end()) {
          escalated.push_back(c);
        }
      }
    }
    if (!normal.empty()) plan.deliveries.push_back({p.event, normal});
    if (!escalated.empty()) {
      Event e = p.event;
      e.escalated = true;
      plan.deliveries.push_back({e, escalated});
    }
  }

  for (auto it = state->resolving.begin(); it != state->resolving.end();) {
    Resolving& r = it->second;
    if (now_ns - r.since_ns > std::chrono::nanoseconds(config_.give_up_resolve_after).count()) {
      std::string channels;
      for (const std::string& c : r.pending) channels += (channels.empty() ? "" : ", ") + c;
      plan.warnings.push_back("gave up delivering " + std::string(EventTypeName(r.event.type)) +
                              " for " + it->first + " to " + channels +
                              ": it failed for longer than the give-up time");
      it = state->resolving.erase(it);
      continue;
    }
    std::vector<std::string> due;
    for (const std::string& c : r.pending) {
      if (Due(r.failing, c, now_ns)) due.push_back(c);
    }
    if (!due.empty()) plan.deliveries.push_back({r.event, due});
    ++it;
  }

  for (const Event& e : run_events) {
    std::set<std::string> channels = RoutedChannels(e.type, e.tier);
    if (!channels.empty()) plan.deliveries.push_back({e, {channels.begin(), channels.end()}});
  }
  return plan;
}

void Router::Record(NotifyState* state, const std::vector<DeliveryOutcome>& outcomes,
                    int64_t now_ns) const {
  auto fail = [&](std::map<std::string, ChannelRetry>* failing, const std::string& channel) {
    ChannelRetry& r = (*failing)[channel];
    ++r.failures;
    const int64_t first = std::chrono::nanoseconds(config_.first_channel_retry).count();
    const int64_t most = std::chrono::nanoseconds(config_.max_channel_retry).count();
    int64_t wait = first;
    for (int i = 1; i < r.failures && wait < most; ++i) wait *= 2;
    r.retry_ns = now_ns + std::min(wait, most);
  };
  for (const DeliveryOutcome& o : outcomes) {
    if (o.dedup_key.empty()) continue;  // run events keep no state
    const bool done = o.result != OutcomeResult::kFailed;
    if (o.resolved) {
      auto it = state->resolving.find(o.dedup_key);
      if (it == state->resolving.end() || it->second.event.type != o.event) continue;
      if (done) {
        it->second.pending.erase(o.channel);
        it->second.failing.erase(o.channel);
        if (it->second.pending.empty()) state->resolving.erase(it);
      } else {
        fail(&it->second.failing, o.channel);
      }
      continue;
    }
    auto it = state->problems.find(o.dedup_key);
    if (it == state->problems.end() || it->second.event.type != o.event) continue;
    Problem& p = it->second;
    if (done) {
      p.told.insert(o.channel);
      if (o.result == OutcomeResult::kDelivered) p.informed.insert(o.channel);
      p.failing.erase(o.channel);
    } else {
      fail(&p.failing, o.channel);
    }
  }
}

}  // namespace lifeboat::notify
