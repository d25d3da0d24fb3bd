// PathFilter: include/exclude glob patterns on snapshot paths, as used by restore (and ls/find).
//
//   LB_ASSIGN_OR_RETURN(PathFilter f, PathFilter::Make({"/srv/data/*.conf"}, {"*.tmp"}));
//   if (f.Excluded("/srv/data/a.tmp", false)) ...;   // also: Included, MayIncludeBelow
//
// Pattern syntax (documented for users in `lifeboat restore --help`):
//   - A pattern is split at '/' into components; a path ("/srv/data/x") likewise.
//   - Each component is an fnmatch(3) glob: '*', '?', '[a-z]', backslash escapes. '*' never crosses
//     a '/' and matches leading dots too. The component "**" matches zero or more components.
//   - A pattern starting with '/' is anchored at the snapshot root; any other pattern may start at
//     any depth ("*.tmp" is "/**/*.tmp").
//   - A trailing '/' makes the pattern match directories only.
//   - A pattern matches a path only as a whole. Subtrees follow from the walk: an excluded
//     directory is not entered, an included directory brings everything below it.
// Thread safety: immutable after Make(); all methods are const and may be called concurrently.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat {

class PathPattern {
 public:
  // InvalidArgument for an empty pattern or one without any component ("/", "//").
  static Result<PathPattern> Parse(std::string_view pattern);

  // True if the pattern matches `path` exactly (see the header comment).
  bool Matches(std::string_view path, bool is_dir) const;
  // True if some path strictly below the directory `dir` could match (conservative: may say true
  // when nothing below matches, never false when something does).
  bool MayMatchBelow(std::string_view dir) const;

  const std::string& text() const { return text_; }

 private:
  bool Run(const std::vector<std::string_view>& path, bool prefix) const;

  std::string text_;
  std::vector<std::string> components_;
  bool dir_only_ = false;
};

class PathFilter {
 public:
  PathFilter() = default;  // matches everything
  // InvalidArgument naming the first bad pattern.
  static Result<PathFilter> Make(const std::vector<std::string>& includes,
                                 const std::vector<std::string>& excludes);

  // True if any exclude pattern matches `path`.
  bool Excluded(std::string_view path, bool is_dir) const;
  // True if there are no include patterns or one of them matches `path`.
  bool Included(std::string_view path, bool is_dir) const;
  // True if an include pattern could match something below the directory `dir` (true when there
  // are no include patterns).
  bool MayIncludeBelow(std::string_view dir) const;
  bool has_includes() const { return !includes_.empty(); }

 private:
  std::vector<PathPattern> includes_, excludes_;
};

// Splits "/a//b/c/" into {"a", "b", "c"} (empty components dropped). The views point into `path`.
std::vector<std::string_view> SplitPath(std::string_view path);

}  // namespace lifeboat
