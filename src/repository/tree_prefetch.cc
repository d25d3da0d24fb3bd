#include "repository/tree_prefetch.h"

#include <span>
#include <unordered_set>
#include <utility>

#include "util/mutex.h"
#include "util/thread_annotations.h"
#include "util/parallel_for.h"

namespace lifeboat {
namespace {

// Trees of one level within this distance in a pack share a read; one read spans at most
// kMaxRange (a pack is 16 MiB by default: usually one read covers a level's part of a pack).
constexpr uint64_t kMaxGap = 1u << 20;
constexpr uint64_t kMaxRange = 16u << 20;

}  // namespace

Result<PrefetchedTrees> PrefetchedTrees::Load(Repository& repo, const std::vector<Id>& roots,
                                              const TreePrefetchOptions& options) {
  PrefetchedTrees out;
  const int workers = WorkersFor(repo.backend(), options.workers);
  std::unordered_set<Id, IdHash> seen;
  std::vector<Id> level;
  for (const Id& r : roots)
    if (seen.insert(r).second) level.push_back(r);
  uint64_t held = 0;
  while (!level.empty()) {
    LB_RETURN_IF_ERROR(options.context.Check("loading trees"));
    std::vector<Repository::BlobRequest> wanted;
    for (const Id& id : level) {
      auto loc = repo.index().Find(BlobType::kTree, id);
      if (!loc) continue;  // the caller's own LoadTree reports it
      if (held + loc->raw_length > options.max_bytes) break;
      held += loc->raw_length;
      wanted.push_back({*loc, id});
    }
    const auto runs = Repository::GroupNeighbours(wanted, kMaxGap, kMaxRange);
    struct Loaded {
      Mutex mu;
      std::vector<std::pair<Id, Tree>> trees GUARDED_BY(mu);
    } loaded;
    ParallelFor(runs.size(), workers, options.context.cancel_flag(), [&](size_t r) {
      const std::span<const Repository::BlobRequest> run(wanted.data() + runs[r].first,
                                                         runs[r].second - runs[r].first);
      std::vector<std::pair<Id, Tree>> mine;
      (void)repo.LoadBlobsAt(run, [&](size_t i, Result<Bytes> blob) -> Status {
        if (!blob.ok()) return Status::Ok();  // left to the caller's LoadTree
        Result<Tree> tree = DecodeTree(*blob);
        if (tree.ok()) mine.emplace_back(run[i].id, std::move(*tree));
        return Status::Ok();
      });
      MutexLock l(&loaded.mu);
      for (auto& t : mine) loaded.trees.push_back(std::move(t));
    });
    LB_RETURN_IF_ERROR(options.context.Check("loading trees"));
    std::vector<Id> next;
    MutexLock l(&loaded.mu);
    for (auto& [id, tree] : loaded.trees) {
      for (const Node& n : tree.nodes) {
        if (n.type == NodeType::kDir && n.subtree && seen.insert(*n.subtree).second)
          next.push_back(*n.subtree);
      }
      out.trees_.emplace(id, std::move(tree));
    }
    if (held >= options.max_bytes) break;
    level = std::move(next);
  }
  return out;
}

}  // namespace lifeboat
