// PrefetchedTrees: the trees below some roots, loaded ahead of a walk that needs them one at a
// time in path order (backup's parent snapshot, restore's layout). A remote site pays per request:
// loaded one by one, a tree of 5,000 directories costs 5,000 round trips in a row. Here the trees
// are loaded level by level; the trees of one level that lie close together in a pack come with
// one read (Repository::LoadBlobsAt), and several reads run at once.
//
//   LB_ASSIGN_OR_RETURN(PrefetchedTrees trees, PrefetchedTrees::Load(repo, {root}, {}));
//   if (const Tree* t = trees.Find(id)) Use(*t); else Use(repo.LoadTree(id));
//
// Only an optimisation: a tree that could not be prefetched (damaged, missing, past the memory
// budget) is simply absent, and the caller loads it itself with Repository::LoadTree, which gives
// its error (or its replica's copy) exactly as without prefetching.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "repository/repository.h"
#include "repository/tree.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

struct TreePrefetchOptions {
  // Stop prefetching once the trees held add up to this many decoded bytes (their blobs' sizes).
  uint64_t max_bytes = 256u << 20;
  // Whole tree packs held while loading (freed when Load returns); past this, ranges are read.
  uint64_t max_pack_bytes = 64u << 20;
  int workers = 0;  // reads at once; <= 0: WorkersFor(the repository's backend)
  Context context = {};
};

class PrefetchedTrees {
 public:
  PrefetchedTrees() = default;
  // REQUIRES: repo's index is loaded. Errors: only the context's (Cancelled / DeadlineExceeded).
  static Result<PrefetchedTrees> Load(Repository& repo, const std::vector<Id>& roots,
                                      const TreePrefetchOptions& options);

  // The tree, or null when it was not prefetched. Thread-safe (the set never changes).
  const Tree* Find(const Id& id) const {
    auto it = trees_.find(id);
    return it == trees_.end() ? nullptr : &it->second;
  }
  size_t size() const { return trees_.size(); }

 private:
  std::unordered_map<Id, Tree, IdHash> trees_;
};

}  // namespace lifeboat
