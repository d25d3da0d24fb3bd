// A service's `switch` steps (doc/failover.md, "Switch steps"): the commands that point clients
// at a site, run in order after the service is verified there (failover) or back towards its
// original site (rollback). Each runs as recover steps do (recover/child_process.h): its own
// process group, the step's timeout, the parent's environment without Lifeboat's secrets and
// with every variable the plan reads a secret from emptied, plus:
//   LIFEBOAT_SWITCH_TO, LIFEBOAT_SWITCH_FROM   the site to point at, the one pointed at before
//   LIFEBOAT_FENCING_TOKEN, LIFEBOAT_INCIDENT  the token of the move and the incident's id
//   LIFEBOAT_SERVICE, LIFEBOAT_RESTORE_DIR     the service and its data (the recovery root)
//   LIFEBOAT_PORT_<NAME>                       its production ports
// A step must exit 0; the first that does not stops the rest.
//
//   SwitchTarget t{"dr", "main", token, incident_id, "/srv/dr", ports};
//   std::vector<recover::StepRecord> steps;
//   Status st = RunSwitchSteps(service, t, secret_variables, ctx, on_line, &steps);
//
// Blocks (the steps); any thread, on_line from the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "plan/plan.h"
#include "recover/recover.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

struct SwitchTarget {
  std::string to, from;
  uint64_t token = 0;
  std::string incident;
  std::string restore_dir;
  std::vector<std::pair<std::string, int>> ports;
};

// The variables the steps get (without the emptied secret variables).
std::vector<std::pair<std::string, std::string>> SwitchEnvironment(const plan::Service& service,
                                                                   const SwitchTarget& target);

// Runs the steps in order; each one's record (phase "switch", kind "command") is appended to
// *steps. Ok when every step exited 0 (also when there is none); else the failing step's
// error ("switch step 2 'nsupdate ...': failed with exit status 1").
Status RunSwitchSteps(const plan::Service& service, const SwitchTarget& target,
                      const std::vector<std::string>& secret_variables, const Context& ctx,
                      const std::function<void(const std::string&)>& on_line,
                      std::vector<recover::StepRecord>* steps);

}  // namespace lifeboat::dr
