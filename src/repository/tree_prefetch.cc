#include "repository/tree_prefetch.h"

#include <memory>
#include <span>
#include <unordered_set>
#include <utility>

#include "util/mutex.h"
#include "util/thread_annotations.h"
#include "util/parallel_for.h"

namespace lifeboat {
namespace {

// Past the budget for whole packs: trees of one level within this distance in a pack share a
// read, one read spanning at most kMaxRange.
constexpr uint64_t kMaxGap = 1u << 20;
constexpr uint64_t kMaxRange = 16u << 20;

// Whole tree packs (stored form) fetched so far, to decode the trees of later levels from: the
// trees of all levels lie interleaved in the same packs, so reading a range per level would read
// those packs again for every level.
struct PackBuffers {
  Mutex mu;
  std::unordered_map<Id, std::shared_ptr<const Bytes>, IdHash> packs GUARDED_BY(mu);
  uint64_t bytes GUARDED_BY(mu) = 0;
  bool full GUARDED_BY(mu) = false;  // a pack did not fit: no more whole packs are fetched
};

}  // namespace

Result<PrefetchedTrees> PrefetchedTrees::Load(Repository& repo, const std::vector<Id>& roots,
                                              const TreePrefetchOptions& options) {
  PrefetchedTrees out;
  const int workers = WorkersFor(repo.backend(), options.workers);
  std::unordered_set<Id, IdHash> seen;
  std::vector<Id> level;
  for (const Id& r : roots)
    if (seen.insert(r).second) level.push_back(r);
  uint64_t held = 0;  // decoded trees
  PackBuffers buffers;
  while (!level.empty()) {
    LB_RETURN_IF_ERROR(options.context.Check("loading trees"));
    // This level's trees by pack.
    std::unordered_map<Id, std::vector<Repository::BlobRequest>, IdHash> by_pack;
    for (const Id& id : level) {
      auto loc = repo.index().Find(BlobType::kTree, id);
      if (!loc) continue;  // the caller's own LoadTree reports it
      if (held + loc->raw_length > options.max_bytes) break;
      held += loc->raw_length;
      by_pack[loc->pack].push_back({*loc, id});
    }
    std::vector<const std::vector<Repository::BlobRequest>*> packs;
    for (const auto& [pack, blobs] : by_pack) packs.push_back(&blobs);
    struct Loaded {
      Mutex mu;
      std::vector<std::pair<Id, Tree>> trees GUARDED_BY(mu);
    } loaded;
    ParallelFor(packs.size(), workers, options.context.cancel_flag(), [&](size_t p) {
      const std::vector<Repository::BlobRequest>& blobs = *packs[p];
      const Id& pack = blobs[0].loc.pack;
      std::shared_ptr<const Bytes> whole;
      bool fetch_whole;
      {
        MutexLock l(&buffers.mu);
        auto it = buffers.packs.find(pack);
        if (it != buffers.packs.end()) whole = it->second;
        fetch_whole = !whole && !buffers.full && options.max_pack_bytes > 0;
      }
      if (fetch_whole) {
        // The whole pack, once, while the buffers stay within max_pack_bytes; past it, ranges.
        auto data = repo.backend().Load({ObjectType::kPack, pack.Hex()}, 0, 0);
        if (data.ok()) {
          MutexLock l(&buffers.mu);
          if (buffers.bytes + data->size() <= options.max_pack_bytes) {
            buffers.bytes += data->size();
            whole = std::make_shared<const Bytes>(std::move(*data));
            buffers.packs.emplace(pack, whole);
          } else {
            buffers.full = true;  // this read is used once below; later ones are ranges
            whole = std::make_shared<const Bytes>(std::move(*data));
          }
        }
      }
      std::vector<std::pair<Id, Tree>> mine;
      auto take = [&](const Id& id, Result<Bytes> blob) {
        if (!blob.ok()) return;  // left to the caller's LoadTree
        Result<Tree> tree = DecodeTree(*blob);
        if (tree.ok()) mine.emplace_back(id, std::move(*tree));
      };
      if (whole) {
        for (const auto& b : blobs) {
          if (uint64_t{b.loc.offset} + b.loc.stored_length > whole->size()) continue;
          Bytes plain;
          const ByteView stored(whole->data() + b.loc.offset, b.loc.stored_length);
          if (repo.codec().Decode(stored, b.id, b.loc.raw_length, &plain).ok())
            take(b.id, std::move(plain));
        }
      } else {
        std::vector<Repository::BlobRequest> sorted = blobs;
        for (auto [begin, end] : Repository::GroupNeighbours(sorted, kMaxGap, kMaxRange)) {
          const std::span<const Repository::BlobRequest> run(sorted.data() + begin, end - begin);
          (void)repo.LoadBlobsAt(run, [&](size_t i, Result<Bytes> blob) -> Status {
            take(run[i].id, std::move(blob));
            return Status::Ok();
          });
        }
      }
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
