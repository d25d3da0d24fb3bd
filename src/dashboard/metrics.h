// GET /metrics of the daemon's dashboard (doc/daemon.md, "Metrics"): the Prometheus text
// exposition format (0.0.4) of a DashboardState: dr::PrometheusText of its plan status (the
// metrics of doc/status.md), then the daemon's own (acting, lease holders, active sites, health,
// the failover state, the last drills, the next runs). Every metric has # HELP and # TYPE lines
// before its samples; every metric is a gauge; label values are escaped as the format says.
//
//   std::string text = DashboardMetrics(state);   // Content-Type: text/plain; version=0.0.4
//
// Pure; any thread.
#pragma once

#include <string>

#include "dashboard/state.h"

namespace lifeboat::dashboard {

std::string DashboardMetrics(const DashboardState& state);

}  // namespace lifeboat::dashboard
