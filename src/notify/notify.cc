#include "notify/notify.h"

#include <map>

#include "notify/state_file.h"

namespace lifeboat::notify {

Result<NotifyResult> Notify(const NotifyOptions& options,
                            const std::vector<Observation>& observations,
                            const std::vector<Event>& run_events) {
  NotifyResult result;
  ChannelMap channels;
  std::map<std::string, std::string> broken;  // channel -> why it cannot be used
  for (const ChannelConfig& c : options.channels) {
    Result<std::unique_ptr<Channel>> ch = MakeChannel(c);
    if (ch.ok()) {
      channels[c.name] = std::move(ch).value();
    } else {
      broken[c.name] = ch.status().message();
    }
  }
  LB_ASSIGN_OR_RETURN(NotifyStateFile file, NotifyStateFile::Lock(options.state_path, options.context));
  NotifyStateFile::Loaded loaded = file.Load();
  result.warnings = std::move(loaded.warnings);
  const Router router(options.router);
  Clock& clock = options.context.clock();
  Router::Plan plan = router.Process(&loaded.state, observations, run_events, clock.WallNs());
  result.warnings.insert(result.warnings.end(), plan.warnings.begin(), plan.warnings.end());
  result.outcomes = Deliver(plan.deliveries, channels, options.retry, options.context);
  for (DeliveryOutcome& o : result.outcomes) {
    auto it = broken.find(o.channel);
    if (it != broken.end()) o.error = it->second;
  }
  router.Record(&loaded.state, result.outcomes, clock.WallNs());
  Status saved = file.Save(loaded.state);
  if (!saved.ok()) result.warnings.push_back(saved.message());
  return result;
}

}  // namespace lifeboat::notify
