// Recovery order (doc/drills.md, "Waves"): the services to recover, with everything they depend on,
// in waves. A service is in the wave after the last of its dependencies, so everything it needs
// is recovered before it; within a wave, the most critical come first. Drills, failover,
// `lifeboat plan order` and the runbook all take the order from here.
//
//   LB_ASSIGN_OR_RETURN(std::vector<Wave> waves, RecoveryWaves(plan, {"shop"}));
//   // waves[0].services[0].name == "billing-db" (pulled in: shop depends on it), waves[1]: shop
//
// Pure: no I/O, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"
#include "util/status.h"

namespace lifeboat::recover {

struct WaveService {
  std::string name;
  int tier = 3;  // the plan's tier
  // The most critical tier of the service and of every service in the set that needs it,
  // directly or not: a tier-3 service that a tier-0 one depends on is recovered with tier-0
  // priority. Orders the services within a wave.
  int priority_tier = 3;
  // Named by the caller; false: pulled in because a selected service depends on it.
  bool selected = true;
  std::vector<std::string> depends_on;  // the plan's depends_on, in plan order
  // The services of the set that depend on this one directly, in plan order.
  std::vector<std::string> needed_by;
  size_t plan_index = 0;  // its index in plan.services
};

struct Wave {
  int number = 1;  // 1-based
  // By priority_tier, then tier, then plan order.
  std::vector<WaveService> services;
};

// The waves of `selected` (service names; empty: every service of the plan) and of everything
// they depend on, directly or not. A service with no dependency is in wave 1; any other is in the
// wave after its latest dependency. Errors: InvalidArgument for a name that is not a service of
// the plan (the message lists the plan's services) or a name given twice; FailedPrecondition for a
// dependency cycle ("a -> b -> a"; plan validate refuses such plans, so only an unvalidated plan
// has one). A depends_on entry naming no service (also refused by validate) is ignored.
Result<std::vector<Wave>> RecoveryWaves(const plan::Plan& plan,
                                        const std::vector<std::string>& selected);

// A service, source or port name as it appears in the recovery environment's variable names
// (doc/drills.md, "Environment"): upper-cased, every character but a letter or digit as `_`.
// "billing-db" -> "BILLING_DB" (LIFEBOAT_RESTORE_DIR_BILLING_DB).
std::string EnvironmentName(std::string_view name);

}  // namespace lifeboat::recover
