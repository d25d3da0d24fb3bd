// Shared by the forms of the business impact analysis (bia_format.cc: Markdown and JSON;
// bia_html.cc). Internal to src/dr.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dr/bia.h"
#include "plan/duration.h"
#include "util/strings.h"
#include "util/units.h"

namespace lifeboat::dr::internal {

// "4h", "30m" (the plan's duration form), or "-" when there is none.
inline std::string Dur(int64_t ns) {
  return plan::FormatPlanDuration(std::chrono::seconds(ns / 1'000'000'000));
}
inline std::string Dur(const std::optional<int64_t>& ns) { return ns ? Dur(*ns) : "-"; }
inline std::string Money(const std::optional<double>& v, const std::string& currency) {
  return v ? FormatMoney(*v, currency) : "-";
}
inline std::string SizeText(const std::optional<uint64_t>& b) { return b ? FormatBytes(*b) : "-"; }
// The names joined, or "-" when there are none.
inline std::string List(const std::vector<std::string>& v, const char* separator = ", ") {
  return v.empty() ? "-" : JoinStrings(v, separator);
}

}  // namespace lifeboat::dr::internal
