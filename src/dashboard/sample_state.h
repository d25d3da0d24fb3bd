// A realistic, fixed DashboardState for tests and the README's picture (doc/img/dashboard.png):
// two sites (main-site is down), four services, an open failover of billing-db and shop to
// dr-site with its timeline, health, drills and next runs, all at 2026-12-05 09:30:00 UTC.
// With `hostile_text`, errors and free texts carry `<script>` tags, for escaping tests.
//
//   DashboardState s = SampleDashboardState(/*hostile_text=*/true);
//
// Test support (library lb_dashboard_sample), not part of the daemon. Pure; any thread.
#pragma once

#include "dashboard/state.h"

namespace lifeboat::dashboard {

inline constexpr int64_t kSampleNowNs = 1'796'463'000'000'000'000;  // 2026-12-05T09:30:00Z
// The hostile text SampleDashboardState(true) puts in an error of a health check.
inline constexpr const char* kSampleHostileError =
    "http check: <script>console.error(\"injected from an error\")</script>";

DashboardState SampleDashboardState(bool hostile_text);

}  // namespace lifeboat::dashboard
