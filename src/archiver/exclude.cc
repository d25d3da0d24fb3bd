#include "archiver/exclude.h"

#include <fnmatch.h>

#include <fstream>

namespace lifeboat {
namespace {

bool IsCharacterClass(std::string_view name) {
  for (std::string_view c : {"alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower",
                             "print", "punct", "space", "upper", "xdigit"})
    if (name == c) return true;
  return false;
}

// Index just past the bracket expression that starts at pattern[open] == '[', or npos when it
// is not closed. Sets *error for an unknown "[:class:]".
size_t BracketEnd(const std::string& p, size_t open, std::string* error) {
  size_t i = open + 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  if (i < p.size() && p[i] == ']') ++i;  // a ']' first in the set is a literal
  while (i < p.size()) {
    if (p[i] == ']') return i + 1;
    if (p[i] == '\\') {
      i += 2;
      continue;
    }
    if (p[i] == '[' && i + 1 < p.size() && (p[i + 1] == ':' || p[i + 1] == '=' || p[i + 1] == '.')) {
      const char kind = p[i + 1];
      size_t close = p.find(std::string{kind, ']'}, i + 2);
      if (close == std::string::npos) return std::string::npos;
      if (kind == ':' && !IsCharacterClass(std::string_view(p).substr(i + 2, close - i - 2))) {
        *error = "unknown character class '" + p.substr(i, close + 2 - i) +
                 "' (use one of [:alpha:], [:digit:], [:alnum:], [:space:], [:upper:], "
                 "[:lower:], [:punct:], [:xdigit:] ...)";
        return std::string::npos;
      }
      i = close + 2;
      continue;
    }
    ++i;
  }
  return std::string::npos;
}

}  // namespace

Status ValidateExcludePattern(const std::string& pattern) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid exclude pattern '" + pattern + "': " + why);
  };
  if (pattern.empty()) return bad("the pattern is empty");
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '\\') {
      if (i + 1 == pattern.size())
        return bad("it ends with a lone '\\' (write '\\\\' to match a backslash)");
      i += 2;
    } else if (pattern[i] == '[') {
      std::string error;
      size_t end = BracketEnd(pattern, i, &error);
      if (end == std::string::npos) {
        if (!error.empty()) return bad(error);
        return bad("the '[' at position " + std::to_string(i + 1) +
                   " is not closed by ']' (write '\\[' to match a bracket)");
      }
      i = end;
    } else {
      ++i;
    }
  }
  return Status::Ok();
}

Result<ExcludeMatcher> ExcludeMatcher::Compile(std::vector<std::string> patterns) {
  for (const auto& p : patterns) LB_RETURN_IF_ERROR(ValidateExcludePattern(p));
  ExcludeMatcher m;
  m.patterns_ = std::move(patterns);
  return m;
}

bool ExcludeMatcher::Excluded(const std::string& abs_path, std::string_view name) const {
  std::string n(name);
  for (const auto& p : patterns_) {
    if (p.find('/') == std::string::npos) {
      if (::fnmatch(p.c_str(), n.c_str(), 0) == 0) return true;
    } else {
      // Anchored: the pattern must match the whole path or one of its leading directories;
      // the walk stops at an excluded directory, so matching the path itself suffices.
      std::string pat = p;
      while (pat.size() > 1 && pat.back() == '/') pat.pop_back();
      if (::fnmatch(pat.c_str(), abs_path.c_str(), FNM_PATHNAME) == 0) return true;
    }
  }
  return false;
}

Result<std::vector<std::string>> ReadExcludeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read exclude file " + path);
  std::vector<std::string> out;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    std::string pattern = line.substr(b, e - b + 1);
    Status valid = ValidateExcludePattern(pattern);
    if (!valid.ok()) return valid.WithContext(path + ":" + std::to_string(number));
    out.push_back(std::move(pattern));
  }
  return out;
}

}  // namespace lifeboat
