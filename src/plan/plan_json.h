// The plan as JSON: the normalised plan that `lifeboat plan show --json` prints (doc/plan.md,
// "plan show --json": defaults filled, durations in seconds, derived schedules, secrets as their
// references only), and the JSON Schema (draft 2020-12) of the plan file that `lifeboat plan
// schema` prints, generated from the parser's key tables (keys.h).
//
//   PrintJson(PlanToJson(loaded.plan));
//   std::cout << PlanSchema().dump(2);
//
// Pure functions; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include "plan/plan.h"

namespace lifeboat::plan {

// Keys in the order of the file; never a resolved secret.
nlohmann::ordered_json PlanToJson(const Plan& plan);

// The schema of the file (YAML read as JSON): every mapping with its keys, types, defaults and
// descriptions; additionalProperties false everywhere the parser refuses unknown keys.
nlohmann::ordered_json PlanSchema();

}  // namespace lifeboat::plan
