// Durations in the plan file (rpo, rto, mtd, timeouts, escalate_after): Lifeboat's one duration
// grammar (util/units.h ParseDuration: "90s", "15m", "4h", "1h30m", "2d", "1w"; m = minutes),
// with the plan's rule that these must be above zero.
//
//   LB_ASSIGN_OR_RETURN(std::chrono::seconds rpo, ParsePlanDuration("15m"));  // 900 s
//
// Pure functions; any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/status.h"

namespace lifeboat::plan {

// InvalidArgument quoting the text, saying what is wrong and showing the form, for anything
// ParseDuration refuses, and for zero ("0s", "0m": a zero RPO or timeout means nothing).
Result<std::chrono::seconds> ParsePlanDuration(std::string_view text);

// The canonical form ("1h30m", "2d", "1w"); ParsePlanDuration(FormatPlanDuration(d)) == d.
std::string FormatPlanDuration(std::chrono::seconds d);

}  // namespace lifeboat::plan
