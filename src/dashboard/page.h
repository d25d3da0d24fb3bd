// GET / of the daemon's dashboard (doc/daemon.md, "GET /"): one self-contained HTML page
// (report/html.h: inline CSS, no script, nothing fetched) of a DashboardState: a summary line,
// the open incident with its services and timeline (or "No open incident."), the RPO
// compliance matrix (service x site: state, age against the RPO, the active site), the health
// of the watched services, the last drills with achieved RTO and RPO against their targets, and
// the next scheduled runs. It reloads itself every `refresh_seconds` (a meta refresh). Every
// string of the plan, the records and the errors is escaped (report::HtmlEscape).
//
//   std::string html = DashboardHtml(state, 30);
//
// Pure; any thread.
#pragma once

#include <string>

#include "dashboard/state.h"

namespace lifeboat::dashboard {

std::string DashboardHtml(const DashboardState& state, int refresh_seconds);

}  // namespace lifeboat::dashboard
