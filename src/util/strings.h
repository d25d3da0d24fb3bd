// Small string helpers every layer uses.
//
//   JoinStrings({"a", "b", "c"}, ", ") == "a, b, c"
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lifeboat {

// The parts with `separator` between each two (an empty part still gets its separators).
inline std::string JoinStrings(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

}  // namespace lifeboat
