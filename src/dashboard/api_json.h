// GET /api/v1/status of the daemon's dashboard (doc/daemon.md, "GET /api/v1/status"): the
// document of `lifeboat status --json` (doc/json.md, "Status") with three more members:
// "daemon" (the daemon's sites, fence, lease holders, health, active sites, next runs),
// "drills" (the recent drills) and "incident" (the open incident, or null).
//
//   std::string body = DashboardJson(state).dump(-1, ' ', false,
//                                               nlohmann::json::error_handler_t::replace);
//
// Pure; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include "dashboard/state.h"

namespace lifeboat::dashboard {

nlohmann::ordered_json DashboardJson(const DashboardState& state);

}  // namespace lifeboat::dashboard
