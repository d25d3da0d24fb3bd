// The plan's notifications (doc/plan.md, "Notifications") as notify::Notify takes them: channels
// with their secrets resolved, routes, the retry policy and the state file. `lifeboat run` and
// `lifeboat status --notify` both go through here, so they share one state file and one mapping.
//
//   LB_ASSIGN_OR_RETURN(std::string state, DefaultNotifyStatePath());
//   PlanNotifyConfig n = NotifyConfigFromPlan(plan, state, ctx);
//   for (const std::string& w : n.warnings) ...print...
//   Result<notify::NotifyResult> r = notify::Notify(n.options, observations, {});
//
// Secrets: a channel whose secret cannot be resolved is left out of n.options.channels with a
// warning naming the channel and the reference (never the value); its deliveries then fail as
// "no channel named ..." and are retried by a later call. Resolved values go only into the
// channel configs. Any thread; blocks while secret commands run.
#pragma once

#include <string>
#include <vector>

#include "notify/event.h"
#include "notify/notify.h"
#include "plan/plan.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

// <run state directory>/notify-state.json (runlog/run_lock.h: DefaultRunStateDirectory): the
// dedup state of every plan command on this machine. Errors as DefaultRunStateDirectory's.
Result<std::string> DefaultNotifyStatePath();

// The notify event type of a plan event name (plan::Event has no site_recovered: it follows
// site_unreachable's routes inside the router, to the channels that were told).
notify::EventType ToNotifyEvent(plan::Event event);

struct PlanNotifyConfig {
  notify::NotifyOptions options;
  std::vector<std::string> warnings;
  // Every value that must never be shown (for the caller's redaction): each resolved secret and
  // each ntfy topic URL (whoever knows the topic can read and post to it).
  std::vector<std::string> secrets;
};

// Routes get ids "route-1", "route-2", ... (position in the plan: stable while the plan keeps its
// order). The retry policy's request timeout is the longest channel `timeout`; a command
// channel's own timeout is its `timeout`. The context goes into options.context.
PlanNotifyConfig NotifyConfigFromPlan(const plan::Plan& plan, const std::string& state_path,
                                      const Context& ctx);

// NotifyConfigFromPlan with the caller's delivery policy (its request timeout stays the channels'
// longest `timeout`) and the host put into every event: what `run` and `drill` send with.
PlanNotifyConfig NotifyConfigWithPolicy(const plan::Plan& plan, const std::string& state_path,
                                        const Context& ctx, const notify::RetryPolicy& retry,
                                        const std::string& host);

}  // namespace lifeboat::dr
