// What the daemon's dashboard shows (doc/daemon.md, "Dashboard and API"), made from the daemon's
// own inputs: its Snapshot(), the newest plan status and drill history (StatusRefresher), the
// incident in its state directory (dr::LoadIncidentState) and the fence's members. Plain data in,
// dashboard::DashboardState out.
//
//   DashboardInputs in;  in.snapshot = daemon.Snapshot();  in.incident = *LoadIncidentState(dir);
//   dashboard::DashboardState s = MakeDashboardState(in);
//
// Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/daemon.h"
#include "dashboard/state.h"
#include "dr/incident_state.h"
#include "fence/fence.h"

namespace lifeboat::daemon {

struct DashboardInputs {
  DaemonSnapshot snapshot;
  int64_t now_ns = 0;
  std::optional<dr::PlanStatus> status;  // unset: none computed yet (status_note says why)
  std::string status_note;
  std::vector<dashboard::DrillSummary> drills;
  std::optional<dr::IncidentState> incident;  // STATE_DIR/incident.json (open or the last)
  std::vector<fence::Member> members;
  std::vector<std::string> warnings;  // reading an input failed, ...
};

dashboard::DashboardState MakeDashboardState(const DashboardInputs& in);

// The incident as the dashboard shows it: each service's state is "switched" once its switch
// steps ran, else its result ("recovered", "failed", "pending", ...).
dashboard::Incident DashboardIncident(const dr::IncidentState& incident);

}  // namespace lifeboat::daemon
