#include "plan/duration.h"

#include "util/units.h"

namespace lifeboat::plan {

Result<std::chrono::seconds> ParsePlanDuration(std::string_view text) {
  LB_ASSIGN_OR_RETURN(std::chrono::seconds d, ParseDuration(text));
  if (d.count() == 0) {
    return Status::InvalidArgument("invalid duration \"" + std::string(text) +
                                   "\": it must be longer than zero (e.g. 90s, 15m, 4h, 1h30m, "
                                   "2d, 1w)");
  }
  return d;
}

std::string FormatPlanDuration(std::chrono::seconds d) { return DurationToString(d); }

}  // namespace lifeboat::plan
