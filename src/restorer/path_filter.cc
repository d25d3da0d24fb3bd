#include "restorer/path_filter.h"

#include <fnmatch.h>

namespace lifeboat {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<PathPattern> PathPattern::Parse(std::string_view pattern) {
  PathPattern p;
  p.text_ = std::string(pattern);
  if (pattern.empty()) return Status::InvalidArgument("empty path pattern");
  bool anchored = pattern.front() == '/';
  p.dir_only_ = pattern.back() == '/';
  auto parts = SplitPath(pattern);
  if (parts.empty())
    return Status::InvalidArgument("path pattern \"" + p.text_ +
                                   "\" names no path; use \"/**\" to match everything");
  if (!anchored) p.components_.push_back("**");
  for (std::string_view part : parts) {
    // Collapse "**/**" so the matcher's table stays small.
    if (part == "**" && !p.components_.empty() && p.components_.back() == "**") continue;
    p.components_.emplace_back(part);
  }
  return p;
}

// Dynamic programming over (pattern component, path component): reach[i][j] = pattern[0..i)
// matches path[0..j). With `prefix`, success when the whole path is consumed by a pattern prefix.
bool PathPattern::Run(const std::vector<std::string_view>& path, bool prefix) const {
  const size_t np = components_.size(), ns = path.size();
  std::vector<std::vector<bool>> reach(np + 1, std::vector<bool>(ns + 1, false));
  reach[0][0] = true;
  for (size_t i = 0; i < np; ++i) {
    const std::string& pat = components_[i];
    const bool star2 = pat == "**";
    for (size_t j = 0; j <= ns; ++j) {
      if (!reach[i][j]) continue;
      if (star2) {
        for (size_t k = j; k <= ns; ++k) reach[i + 1][k] = true;
        break;  // all later j are covered
      }
      if (j < ns) {
        std::string name(path[j]);
        if (fnmatch(pat.c_str(), name.c_str(), 0) == 0) reach[i + 1][j + 1] = true;
      }
    }
  }
  if (prefix) {
    // Some pattern prefix consumed the whole path and components remain: a deeper path could match.
    for (size_t i = 0; i < np; ++i)
      if (reach[i][ns]) return true;
    // "**" at the end also matches deeper paths.
    return reach[np][ns] && np > 0 && components_.back() == "**";
  }
  return reach[np][ns];
}

bool PathPattern::Matches(std::string_view path, bool is_dir) const {
  if (dir_only_ && !is_dir) return false;
  return Run(SplitPath(path), /*prefix=*/false);
}

bool PathPattern::MayMatchBelow(std::string_view dir) const { return Run(SplitPath(dir), true); }

Result<PathFilter> PathFilter::Make(const std::vector<std::string>& includes,
                                    const std::vector<std::string>& excludes) {
  PathFilter f;
  for (const auto& s : includes) {
    auto p = PathPattern::Parse(s);
    if (!p.ok()) return p.status().WithContext("include");
    f.includes_.push_back(std::move(*p));
  }
  for (const auto& s : excludes) {
    auto p = PathPattern::Parse(s);
    if (!p.ok()) return p.status().WithContext("exclude");
    f.excludes_.push_back(std::move(*p));
  }
  return f;
}

bool PathFilter::Excluded(std::string_view path, bool is_dir) const {
  for (const auto& p : excludes_)
    if (p.Matches(path, is_dir)) return true;
  return false;
}

bool PathFilter::Included(std::string_view path, bool is_dir) const {
  if (includes_.empty()) return true;
  for (const auto& p : includes_)
    if (p.Matches(path, is_dir)) return true;
  return false;
}

bool PathFilter::MayIncludeBelow(std::string_view dir) const {
  if (includes_.empty()) return true;
  for (const auto& p : includes_)
    if (p.MayMatchBelow(dir)) return true;
  return false;
}

}  // namespace lifeboat
