// The plan file's YAML -> the model (plan.h), with every problem the file alone shows reported
// as a diagnostic at FILE:LINE:COLUMN (unknown keys, keys given twice, wrong types, bad
// durations, cron expressions and time zones, inline secrets, backend options). References
// between parts (sites, services, channels), cycles and the warnings are validate.h's job.
//
//   ParsedPlan parsed = ParsePlanText(text, "lifeboat.yaml");
//   if (parsed.diagnostics.has_errors()) ...print parsed.diagnostics.Sorted()...
//
// Pure: no I/O, no clock. Any thread.
#pragma once

#include <string>
#include <string_view>

#include "plan/diagnostic.h"
#include "plan/plan.h"

namespace lifeboat::plan {

struct ParsedPlan {
  Plan plan;  // as far as it could be read; defaults filled
  Diagnostics diagnostics;
};

// `file` names the plan in positions (and Plan::file).
ParsedPlan ParsePlanText(std::string_view text, const std::string& file);

}  // namespace lifeboat::plan
