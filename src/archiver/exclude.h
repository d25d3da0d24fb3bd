// Exclude patterns for backups, restic-style, and the exclude files that hold them.
//
//   LB_ASSIGN_OR_RETURN(ExcludeMatcher ex, ExcludeMatcher::Compile({"*.tmp", "/var/cache/*"}));
//   if (ex.Excluded("/home/a/x.tmp", "x.tmp")) ...   // skipped, and everything below it
//
// A pattern without '/' matches any single path component (e.g. "*.tmp", "node_modules"); a
// pattern with '/' matches the whole absolute path from the start (e.g. "/var/cache/*") and
// everything below a matching directory. fnmatch(3) syntax: '*', '?', bracket expressions
// ("[a-z]", "[!0-9]", "[[:digit:]]") and '\' to quote the next character. A pattern that fnmatch
// would silently treat as matching nothing (an unclosed '[', a trailing '\', an unknown
// character class) is rejected by Compile with InvalidArgument, so a typo never turns an
// exclude into a no-op.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat {

// OK, or InvalidArgument saying what is wrong with the pattern and how to write it instead.
Status ValidateExcludePattern(const std::string& pattern);

class ExcludeMatcher {
 public:
  // Checks every pattern (ValidateExcludePattern); the first bad one is the error.
  static Result<ExcludeMatcher> Compile(std::vector<std::string> patterns);
  ExcludeMatcher() = default;  // excludes nothing

  // `abs_path` is the entry's absolute path, `name` its last component. Thread-safe.
  bool Excluded(const std::string& abs_path, std::string_view name) const;
  bool empty() const { return patterns_.empty(); }

 private:
  std::vector<std::string> patterns_;
};

// Reads patterns from an exclude file: one per line, '#' comments and blank lines ignored,
// surrounding whitespace trimmed. Each pattern is validated; an invalid one is an
// InvalidArgument naming the file and line ("excludes.txt:3: ...").
Result<std::vector<std::string>> ReadExcludeFile(const std::string& path);

}  // namespace lifeboat
