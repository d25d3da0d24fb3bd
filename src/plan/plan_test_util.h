// Test helpers of src/plan: the doc/plan.md example and fixed times. Test-only.
#pragma once

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include "plan/validate.h"

namespace lifeboat::plan::testing {

inline std::string ReadSourceFile(const std::string& relative) {
  std::ifstream in(std::string(LIFEBOAT_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The complete example of doc/plan.md (between the plan-example markers).
inline std::string DocExample() {
  const std::string doc = ReadSourceFile("doc/plan.md");
  const std::string begin = "<!-- plan-example-begin -->\n```yaml\n";
  const std::string end = "```\n<!-- plan-example-end -->";
  const size_t b = doc.find(begin);
  const size_t e = doc.find(end);
  if (b == std::string::npos || e == std::string::npos) return "";
  return doc.substr(b + begin.size(), e - b - begin.size());
}

// 2026-12-01 00:00 UTC: schedules are checked over the year from here.
inline ValidateOptions FixedNow() {
  ValidateOptions o;
  o.now = cctz::convert(cctz::civil_second(2026, 12, 1, 0, 0, 0), cctz::utc_time_zone());
  return o;
}

inline std::string Errors(const LoadedPlan& p) {
  std::string out;
  for (const Diagnostic& d : p.diagnostics)
    if (d.is_error()) out += d.ToString() + "\n";
  return out;
}
inline std::string All(const LoadedPlan& p) {
  std::string out;
  for (const Diagnostic& d : p.diagnostics) out += d.ToString() + "\n";
  return out;
}

}  // namespace lifeboat::plan::testing
