// Which files of which snapshots use damaged objects: the last pass of `check` (internal to
// lb_checker; checker.h is the public API).
//
//   DamageLookup damage{...};  // what each reference runs into, as problem handles
//   LB_RETURN_IF_ERROR(FindAffectedFiles(repo, roots, damage, ctx, on_affected));
//
// Deduplication means one blob can be in many files and one tree in many snapshots, so the
// check's main walk, which visits each distinct tree once, cannot say where damage shows. Once the
// damage is known this pass names every (snapshot, path) that runs into it:
//   1. marks the distinct trees that hold damage, in themselves or below them: one post-order
//      pass over the trees reachable from `roots` (WalkPostOrder, tree_walker.h), loading each
//      tree once;
//   2. walks each snapshot from its root in path order (WalkDepthFirst), entering marked trees
//      only, and reports every path whose content, subtree or missing subtree hits damage.
// Memory: one entry per distinct tree during the pass (like the main walk's visited set), the
// stack of open trees, and marked trees kept for step 2 up to about 64 MiB (others are loaded
// again). Single-threaded; blocks until done.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::checker_internal {

struct DamageLookup {
  // Appends to *problems the handles of the problems a reference to blob (type, id) runs into
  // (nothing when the blob is sound). A handle may be negative (a problem past its cap): it still
  // counts as damage.
  std::function<void(BlobType type, const Id& id, std::vector<int64_t>* problems)> reference;
  // The problem of tree `tree` having a directory node without a subtree; nullopt when none.
  std::function<std::optional<int64_t>(const Id& tree)> missing_subtree;
};

// Called for every affected path: `snapshot` indexes `roots`, `path` is "" for the root and
// "/a/b" below it, `problems` is not empty and holds each handle once. Snapshots in the order of
// `roots`; within one, in path order (a directory, then what lies below it, then its next
// sibling; the entries of a directory in name order).
using AffectedSink = std::function<void(size_t snapshot, const std::string& path,
                                        const std::vector<int64_t>& problems)>;

// Runs both steps above. A tree that cannot be loaded counts as damaged (the caller reported it
// through `damage.reference`) and is not entered. Adds one to *trees_loaded (when not null) for
// each tree loaded from the repository, for progress reports read on another thread. Returns
// Cancelled / DeadlineExceeded when `ctx` is done, otherwise Ok.
Status FindAffectedFiles(Repository& repo, const std::vector<Id>& roots, const DamageLookup& damage,
                         const Context& ctx, const AffectedSink& sink,
                         std::atomic<uint64_t>* trees_loaded = nullptr);

}  // namespace lifeboat::checker_internal
