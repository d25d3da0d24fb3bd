// Checks a parsed plan as a whole (doc/plan.md, "Validation"): references between its parts
// (sites, services, channels, sources, ports), dependency cycles, and the warnings (a schedule
// that cannot meet the RPO, RTO above MTD, dependencies on less critical services, the 3-2-1
// rule, immutable copies and verify checks for tiers 0 and 1). Then the entry points that read a
// plan file: nothing may run on a plan with an error, so LoadPlan fails on any.
//
//   LB_ASSIGN_OR_RETURN(std::string path, FindPlanFile(flag_value));
//   LB_ASSIGN_OR_RETURN(LoadedPlan loaded, LoadPlan(path));       // fails on any error
//   for (const Diagnostic& w : loaded.diagnostics) ...warnings...
//
// Validate is pure; the loaders read one file. Any thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "plan/diagnostic.h"
#include "plan/parse.h"
#include "plan/plan.h"
#include "util/status.h"

namespace lifeboat::plan {

struct ValidateOptions {
  // The start of the year over which schedules are checked against the RPO (LongestGap).
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// Adds to `diagnostics` what the plan as a whole shows. Diagnostics already present (from
// parsing) are kept.
void Validate(const Plan& plan, const ValidateOptions& options, Diagnostics* diagnostics);

struct LoadedPlan {
  Plan plan;
  std::vector<Diagnostic> diagnostics;  // sorted by position; errors and warnings
  size_t errors = 0;
  size_t warnings = 0;
};

// Parses and validates `text` (named `file` in positions).
LoadedPlan CheckPlanText(std::string_view text, const std::string& file,
                         const ValidateOptions& options = {});
// Reads, parses and validates the file. Fails only when the file cannot be read (the error of
// the read: NotFound, PermissionDenied, IOError); the plan's own errors are diagnostics.
Result<LoadedPlan> CheckPlanFile(const std::string& path, const ValidateOptions& options = {});
// CheckPlanFile, and InvalidArgument when the plan has any error: the message lists the
// errors (FILE:LINE:COLUMN: error: ..., each with its hint) and says to run `lifeboat plan
// validate`. On success the diagnostics hold the warnings.
Result<LoadedPlan> LoadPlan(const std::string& path, const ValidateOptions& options = {});

// Where the plan is (doc/plan.md, "Where the plan is found"): `flag` (--plan) when not empty,
// else $LIFEBOAT_PLAN when set and not empty, else ./lifeboat.yaml when it exists, else
// /etc/lifeboat/lifeboat.yaml when it exists. NotFound naming both default paths otherwise.
// The path is returned as given (not made absolute); whether it can be read is the loader's
// business.
Result<std::string> FindPlanFile(const std::string& flag);

}  // namespace lifeboat::plan
