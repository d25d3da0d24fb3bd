// Internal to lb_dr: what failover.cc, failover_incident.cc and failover_format.cc share.
#pragma once

#include <string>
#include <vector>

#include "dr/incident_state.h"
#include "notify/deliver.h"
#include "notify/event.h"
#include "plan/plan.h"
#include "util/context.h"

namespace lifeboat::dr::internal {

// An event of the incident (doc/notifications.md, "Failover"): details incident, to, token, and
// for a service from, rto_seconds, rto_target_seconds, data_loss_seconds, rpo_seconds, error.
notify::Event FailoverEvent(notify::EventType type, const IncidentState& incident,
                            const IncidentService* service, const std::string& message,
                            int64_t now_ns, const std::string& host);

// Sends `events` through the plan's routes (no-op without channels). Outcomes and warnings are
// appended.
void SendFailoverEvents(const plan::Plan& plan, const std::string& state_dir, const Context& ctx,
                        const notify::RetryPolicy& retry, const std::string& host,
                        const std::vector<notify::Event>& events,
                        std::vector<notify::DeliveryOutcome>* outcomes,
                        std::vector<std::string>* warnings);

// "operator USER@HOST".
std::string OperatorName(const std::string& host);

}  // namespace lifeboat::dr::internal
