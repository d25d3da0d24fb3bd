// Notify: the one call `lifeboat run` and `lifeboat status` make. It locks the state file, loads
// it, lets the router decide what to send, delivers with retries within the budget, records who
// was told, and saves the state (doc/notifications.md).
//
//   NotifyOptions o;  o.state_path = cache_dir + "/notify-state.json";
//   o.router = router_config;  o.channels = channel_configs;  o.context = context;
//   Result<NotifyResult> r = Notify(o, observations, {summary_event});
//   // r->outcomes go into the run record; r->warnings to the log. A failure here never fails
//   // the run: it is reported like a failed notification.
//
// Blocks for at most about retry.budget (plus the wait for another run's lock, bounded by the
// context). Thread safety: any thread; concurrent calls on one state path serialise on its lock.
#pragma once

#include <string>
#include <vector>

#include "notify/channel.h"
#include "notify/deliver.h"
#include "notify/router.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::notify {

struct NotifyOptions {
  std::string state_path;
  RouterConfig router;
  std::vector<ChannelConfig> channels;
  RetryPolicy retry;
  Context context;
};

struct NotifyResult {
  std::vector<DeliveryOutcome> outcomes;
  std::vector<std::string> warnings;
};

// Errors: the state file cannot be locked (IOError), or the context stopped the wait for the
// lock. A channel whose config is invalid fails its own deliveries with the reason; a state that
// cannot be saved is a warning (the deliveries were made).
Result<NotifyResult> Notify(const NotifyOptions& options,
                            const std::vector<Observation>& observations,
                            const std::vector<Event>& run_events);

}  // namespace lifeboat::notify
