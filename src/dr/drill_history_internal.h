// Shared by the formats of drill_history.h (drill_history_format.cc, drill_history_html.cc).
// Internal to src/dr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "runlog/drill_records.h"

namespace lifeboat::dr::internal {

// "2026-12-06 02:00:00" (UTC).
std::string DrillTimeUtc(int64_t ns);
// "24m10s / 1h"; "-" for a missing side.
std::string AchievedAgainstTarget(const std::optional<int64_t>& achieved,
                                  const std::optional<int64_t>& target);
// "postgres_restore (20m)", or "-" when the drill has no step.
std::string SlowestStepText(const DrillRecord& r);

}  // namespace lifeboat::dr::internal
