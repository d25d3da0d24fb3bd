// "Did you mean ...?": the candidate nearest to a misspelt name, for error messages (plan keys,
// backend -o options).
//
//   const std::string near = NearestName("pasword_file", {"password_file", "repository"}, 3);
//   if (!near.empty()) message += "; did you mean " + near + "?";
//
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat {

// The Levenshtein distance (insertions, deletions, substitutions of bytes).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate with the smallest edit distance to `name` (the first of equals), if that
// distance is at most `max_distance`; "" otherwise. A candidate equal to `name` is skipped.
std::string NearestName(std::string_view name, const std::vector<std::string_view>& candidates,
                        size_t max_distance);

}  // namespace lifeboat
