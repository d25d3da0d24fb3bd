// The failover's notifications (failover_started, service_recovered, failover_failed,
// failover_committed, failover_rolled_back) through the plan's routes.
#include <pwd.h>
#include <unistd.h>

#include <cmath>

#include "dr/failover_internal.h"
#include "dr/notify_config.h"
#include "notify/notify.h"

namespace lifeboat::dr::internal {

notify::Event FailoverEvent(notify::EventType type, const IncidentState& incident,
                            const IncidentService* service, const std::string& message,
                            int64_t now_ns, const std::string& host) {
  notify::Event e =
      notify::MakeEvent(type, service != nullptr ? service->service : "",
                        service != nullptr ? std::optional<int>(service->tier) : std::nullopt,
                        incident.to_site, message, now_ns);
  if (!host.empty()) e.host = host;
  e.details["incident"] = incident.id;
  e.details["to"] = incident.to_site;
  e.details["token"] = service != nullptr && service->token != 0 ? service->token : incident.token;
  e.details["declared_by"] = incident.declared_by;
  if (service != nullptr) {
    e.details["from"] = service->from_site;
    auto secs = [](const std::optional<double>& v) {
      return v ? nlohmann::json(std::llround(*v)) : nlohmann::json(nullptr);
    };
    e.details["rto_seconds"] = secs(service->rto_seconds);
    e.details["rto_target_seconds"] = secs(service->rto_target_seconds);
    e.details["data_loss_seconds"] = secs(service->data_loss_seconds);
    e.details["rpo_seconds"] = std::llround(service->rpo_target_seconds);
    if (!service->error.empty()) e.details["error"] = service->error;
  } else {
    std::vector<std::string> names;
    for (const IncidentService& s : incident.services) names.push_back(s.service);
    e.details["services"] = names;
  }
  return e;
}

void SendFailoverEvents(const plan::Plan& plan, const std::string& state_dir, const Context& ctx,
                        const notify::RetryPolicy& retry, const std::string& host,
                        const std::vector<notify::Event>& events,
                        std::vector<notify::DeliveryOutcome>* outcomes,
                        std::vector<std::string>* warnings) {
  if (plan.channels.empty() || events.empty()) return;
  // Sent also after Ctrl-C (what happened must be told), on a context that is not cancelled.
  const Context send_ctx = Context().WithClock(ctx.clock());
  PlanNotifyConfig config =
      NotifyConfigWithPolicy(plan, state_dir + "/notify-state.json", send_ctx, retry, host);
  for (const std::string& w : config.warnings) warnings->push_back(w);
  Result<notify::NotifyResult> r = notify::Notify(config.options, {}, events);
  if (!r.ok()) {
    warnings->push_back("notifications not sent: " + r.status().message());
    return;
  }
  for (notify::DeliveryOutcome& o : r->outcomes) outcomes->push_back(std::move(o));
  for (const std::string& w : r->warnings) warnings->push_back(w);
}

std::string OperatorName(const std::string& host) {
  std::string user = "uid " + std::to_string(::geteuid());
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &res) == 0 && res != nullptr) {
    user = pw.pw_name;
  }
  return "operator " + user + "@" + host;
}

}  // namespace lifeboat::dr::internal
