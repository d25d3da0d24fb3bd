// The restore layout: every entry of a snapshot's tree that a restore writes, in pre-order (a
// directory before its contents), with hardlinked files grouped. Internal to the restorer. (Not
// to be confused with the DR layer's plan file: this is only where a restore puts what.)
//
//   LB_ASSIGN_OR_RETURN(restore::RestoreLayout layout,
//                       restore::BuildRestoreLayout(repo, root, options, filter));
//   restore::GroupHardlinks(&layout);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "restorer/path_filter.h"
#include "restorer/restorer.h"
#include "util/status.h"

namespace lifeboat::restore {

struct LayoutEntry {
  Node node;
  std::string snap_path;   // "/srv/data/x"
  std::string rel;         // relative to the target: "data/x"
  uint32_t depth = 0;      // 1 = directly inside the target
  int64_t primary = -1;    // hardlink names: index of the entry restored as the file
  bool has_links = false;  // a file that later entries link to
};

struct RestoreLayout {
  std::vector<LayoutEntry> entries;
  std::vector<RestoreError> errors;  // directories whose tree could not be read
};

// Loads the trees below `root` (from `o.subtree` down, with WalkDepthFirst) and lists what
// `filter` selects. Trees that cannot be read are errors in RestoreLayout::errors (the rest is
// listed). Fails when the root tree or a directory of `o.subtree` cannot be loaded, `o.subtree`
// is not in the snapshot, or `o.context` stopped it (Cancelled / DeadlineExceeded).
Result<RestoreLayout> BuildRestoreLayout(Repository& repo, const Id& root, const RestoreOptions& o,
                                         const PathFilter& filter);

// Marks every file with links > 1 whose (device, inode) was seen before as a link to the first.
void GroupHardlinks(RestoreLayout* layout);

// The directory part of a target-relative path ("a/b/c" -> "a/b", "c" -> "").
inline std::string ParentRel(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

}  // namespace lifeboat::restore
