// SnapshotGroupSizes: what each group of snapshots (e.g. the snapshots of one plan service) costs
// in stored bytes after deduplication, when several groups share one repository. The engine
// behind the business impact analysis' cost of protection (doc/bia.md, "Stored bytes").
//
//   std::vector<SnapshotGroup> groups = {{"billing-db", {tree1, tree2}}, {"shop", {tree3}}};
//   LB_ASSIGN_OR_RETURN(GroupSizes s, SnapshotGroupSizes(repo, groups, {.context = ctx}));
//   // s.groups[0].attributed: billing-db's share; s.referenced: all groups together
//
// A blob (data or tree) counts for a group when one of the group's snapshots reaches it. For each
// group three numbers of stored (compressed, encrypted) bytes, from the index:
//   - referenced: every blob the group uses, counted fully (what `stats --mode raw-data
//     --service S` reports as its stored size);
//   - exclusive: the blobs no other group uses (what forgetting the group would free);
//   - attributed: exclusive plus, for each blob used by k groups, 1/k of its stored size (whole
//     bytes: floor(size / k) each, and the size % k bytes left over go one each to the first
//     groups that use it, in the order given), so the groups' attributed bytes add up exactly to
//     the stored bytes of the union.
// Blobs no snapshot of any group reaches (other snapshots' or unused data) count for no group.
//
// Each group is walked on its own (repository/tree_walker.h, FindUsedBlobs, in parallel within a
// walk), so a tree shared by two groups is loaded once per group. Memory: one bit per index
// entry per group. Blocks until done; any thread. REQUIRES: repo.LoadIndex() succeeded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

struct SnapshotGroup {
  std::string name;       // for the caller and for errors ("group billing-db: snapshot ...")
  std::vector<Id> trees;  // the root trees of the group's snapshots (duplicates are harmless)
};

struct GroupSizeOptions {
  int workers = 0;       // tree walk threads; 0: max(2, cores)
  Context context = {};  // the walks stop with Cancelled / DeadlineExceeded once it is done
};

struct GroupSize {
  std::string name;
  uint64_t blobs = 0;       // unique blobs (data and tree) the group uses that the index lists
  uint64_t referenced = 0;  // their stored bytes, each counted fully
  uint64_t exclusive = 0;   // stored bytes of those no other group uses
  uint64_t attributed = 0;  // exclusive + the group's share of the shared ones (see the top)
  uint64_t missing = 0;     // referenced data blobs no index lists (not in the sizes)
};

struct GroupSizes {
  std::vector<GroupSize> groups;  // in the order given
  uint64_t referenced = 0;        // stored bytes of the union of all groups' blobs
  uint64_t shared = 0;            // stored bytes of the blobs used by two groups or more
};

// Sizes of `groups` (see the top). Errors: a tree that cannot be loaded or that no index lists
// (with the context "group <name>"), the context (Cancelled / DeadlineExceeded). A referenced
// data blob that no index lists is counted in `missing` and is no error (`check` names it).
Result<GroupSizes> SnapshotGroupSizes(Repository& repo, const std::vector<SnapshotGroup>& groups,
                                      const GroupSizeOptions& options);

}  // namespace lifeboat
