// DiffSnapshots: what changed between two snapshots, the engine behind `lifeboat diff`.
//
//   DiffOptions options;
//   options.context = ctx;
//   options.on_change = [](const DiffChange& c) { Print(c); return Status::Ok(); };
//   LB_ASSIGN_OR_RETURN(DiffResult r, DiffSnapshots(repo, older, newer, options));
//
// The two trees are compared side by side by name, and a pair of subtrees with equal ids is
// skipped, so the cost follows the size of the change, not of the snapshots. A subtree present on
// one side only is walked with WalkDepthFirst (repository/tree_walker.h) and every node in it is
// added or removed.
//
// Modifiers: '+' added, '-' removed, 'M' content changed (a file's blob list or size, a symlink's
// target, a device's number), 'U' metadata only (mode, owner, mtime, xattrs; atime, ctime and inode
// numbers are ignored because they change without anyone editing the file), 'T' type changed.
// Changes come in path order (a directory before what is below it; names in stored order). A
// directory's path ends in '/'.
//
// Byte counts come from the index: the plaintext lengths of the blobs seen on only one side of the
// walked, differing part (a blob that also occurs in an identical, skipped subtree may be counted,
// as in restic). Blobs no index lists are counted in missing_blobs, without a size.
//
// Threads: runs on the caller's thread, on_change included. Memory: one decoded tree per open
// directory level on each side, plus the ids of the blobs and trees in the differing part (and the
// changes themselves when no on_change is given).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "repository/snapshot.h"
#include "repository/tree.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

struct DiffChange {
  char modifier = '+';              // '+', '-', 'M', 'U' or 'T' (see the header comment)
  std::string path;                 // "/home/a.txt", "/home/" for a directory
  NodeType type = NodeType::kFile;  // the node's type in the newer snapshot ('-': the older)
};

struct DiffOptions {
  // Report 'U' changes (they are counted either way).
  bool metadata = true;
  // Called for each change, in path order, on the caller's thread; an error stops the diff and is
  // returned. Unset: the changes are collected in DiffResult::changes.
  std::function<Status(const DiffChange&)> on_change;
  // Checked before each tree and node: Cancelled / DeadlineExceeded.
  Context context = {};
};

// The nodes, blobs and bytes on one side of the change.
struct DiffSideTotals {
  uint64_t files = 0, dirs = 0, others = 0;  // nodes added (or removed), by type
  uint64_t data_blobs = 0, tree_blobs = 0;   // blobs on this side only
  uint64_t bytes = 0;                        // their plaintext length (data and trees)
  uint64_t data_bytes = 0;                   // part of `bytes` that is file content
};

struct DiffResult {
  std::vector<DiffChange> changes;  // only when DiffOptions::on_change is unset
  DiffSideTotals added, removed;
  uint64_t changed_files = 0;          // 'M' files
  uint64_t changed_others = 0;         // 'M' symlinks, devices, ...
  uint64_t type_changed = 0;           // 'T'
  uint64_t metadata_changed = 0;       // 'U', directories included
  uint64_t metadata_changed_dirs = 0;  // 'U' directories
  uint64_t missing_blobs = 0;          // blobs on one side that no index lists (not in bytes)
  // "compare" (walking the trees), "sizes" (looking the blobs up in the index).
  std::vector<PhaseTime> phases;
};

// Compares snapshot `a` (the older) with `b`. Errors: a tree that cannot be loaded (its load
// error, unchanged), the context (Cancelled / DeadlineExceeded), an error from on_change.
// REQUIRES: repo's index is loaded.
Result<DiffResult> DiffSnapshots(Repository& repo, const Snapshot& a, const Snapshot& b,
                                 const DiffOptions& options);
// The same for two root trees.
Result<DiffResult> DiffTrees(Repository& repo, const Id& a, const Id& b,
                             const DiffOptions& options);

}  // namespace lifeboat
