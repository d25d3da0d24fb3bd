#include "pruner/pruner.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "crypto/hash.h"
#include "repository/blob_saver.h"
#include "repository/index_writer.h"
#include "repository/tree_walker.h"
#include "util/parallel_for.h"
#include "util/units.h"

namespace lifeboat {
namespace {

constexpr size_t kMaxReportedMissing = 10;

// Marks every blob reachable from `roots` (snapshot id, root tree) in `used`, walking each distinct
// tree once with `workers` threads. A referenced blob that is not in the index, or a tree that does
// not load, is collected; the walk goes on so the message can list several.
Status MarkUsed(Repository& repo, const std::vector<std::pair<Id, Id>>& roots, UsedBlobs* used,
                int workers, const PruneOptions& options) {
  std::mutex mu;
  std::vector<std::string> problems;  // GUARDED_BY(mu)
  uint64_t problem_count = 0;         // GUARDED_BY(mu)
  auto problem = [&](std::string what) {
    std::lock_guard lock(mu);
    if (problems.size() < kMaxReportedMissing) problems.push_back(std::move(what));
    problem_count++;
    return Status::Ok();
  };
  std::vector<Id> trees;
  for (const auto& [snapshot, tree] : roots) trees.push_back(tree);
  FindUsedOptions o;
  o.walk.workers = workers;
  o.walk.context = options.context;
  o.walk.on_error = [&](const TreeLoadError& e) {
    return problem("tree " + e.tree.Hex() + ": " + e.status.message());
  };
  o.on_missing = [&](const MissingBlob& m) {
    if (!m.node)
      return problem("snapshot " + roots[m.root].first.Hex().substr(0, 8) + ": root tree " +
                     m.id.Hex() + " is not in the index");
    if (m.type == BlobType::kData)
      return problem("data blob " + m.id.Hex() + " (file " + m.node->name + " in tree " +
                     m.tree->Hex().substr(0, 8) + ") is not in the index");
    return problem("tree " + m.id.Hex() + " (directory " + m.node->name + ") is not in the index");
  };
  if (options.progress)
    o.walk.progress = [&](uint64_t done) { options.progress(PruneProgress{"trees", done, 0}); };
  Status walked = FindUsedBlobs(repo, trees, o, used);
  if (walked.code() == StatusCode::kCancelled || walked.code() == StatusCode::kDeadlineExceeded)
    return options.context.Check("prune");
  LB_RETURN_IF_ERROR(walked);
  if (problem_count == 0) return Status::Ok();
  std::string msg = "prune refuses to run: " + std::to_string(problem_count) +
                    " object(s) that snapshots need are missing or damaged, so it cannot tell what "
                    "is unused. Nothing was deleted. Run `lifeboat check` to see which snapshots "
                    "are affected, then `lifeboat repair index` / `repair snapshots`. First ones:";
  for (const auto& p : problems) msg += "\n  " + p;
  return Status::FailedPrecondition(msg);
}

struct PackUsage {
  uint64_t size = 0;  // bytes on the backend (0 when missing)
  bool on_backend = false;
  uint64_t used_blobs = 0, used_bytes = 0, unused_blobs = 0, unused_bytes = 0;
};

Status CheckStillAllowed(const PruneOptions& options) {
  if (options.context.done()) {
    Status st = options.context.Check("prune");
    return Status(st.code(), st.message() + " before deleting anything further");
  }
  if (options.lock) LB_RETURN_IF_ERROR(options.lock->Check());
  return Status::Ok();
}

}  // namespace

Result<PruneStats> Prune(Repository& repo, const PruneOptions& options) {
  LB_RETURN_IF_ERROR(repo.CheckNotAppendOnly("prune"));
  PruneStats stats;
  stats.dry_run = options.dry_run;
  MasterIndex& index = repo.index();
  index.Compact();  // positions cover every entry

  // 1. What the snapshots use. Every snapshot must load: one we cannot read might need anything.
  std::vector<DamagedSnapshot> damaged;
  auto snapshots = repo.ListSnapshots(&damaged);
  if (!snapshots.ok())
    return Status::FailedPrecondition(
        "prune refuses to run: " + snapshots.status().message() +
        ". Nothing was deleted. Remove or repair that snapshot first (`lifeboat check`).");
  if (!damaged.empty()) {
    std::string msg = "prune refuses to run: " + std::to_string(damaged.size()) +
                      " snapshot file(s) cannot be read, so prune cannot tell which data they "
                      "need. Nothing was deleted. Bring back an intact copy, or remove each "
                      "with `lifeboat repair snapshots --forget ID` (its data then counts as "
                      "unused), and prune again:";
    for (const DamagedSnapshot& d : damaged)
      msg += "\n  snapshots/" + d.name + ": " + d.problem.message();
    return Status::FailedPrecondition(msg);
  }
  if (!options.assume_removed.empty() && !options.dry_run)
    return Status::InvalidArgument("assume_removed is only allowed in a dry run");
  std::unordered_set<Id, IdHash> removed(options.assume_removed.begin(),
                                         options.assume_removed.end());
  std::vector<std::pair<Id, Id>> roots;
  for (const auto& [id, s] : *snapshots)
    if (!removed.count(id)) roots.emplace_back(id, s.tree);
  stats.snapshots = roots.size();
  UsedBlobs used(index.blob_count());
  int workers = options.workers > 0
                    ? options.workers
                    : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  Status marked = MarkUsed(repo, roots, &used, workers, options);
  stats.trees = used.trees();
  if (marked.code() == StatusCode::kFailedPrecondition) {
    // Objects the snapshots need are not in the index. If packs exist that no index names, the
    // index is incomplete (lost or damaged index files) and those objects are most likely there:
    // the remedy is `repair index`, never deleting around them.
    auto inventory = repo.TakePackInventory();
    if (inventory.ok() && !inventory->unindexed.empty())
      return Status::FailedPrecondition(
          "prune refuses to run: the index is incomplete: " +
          std::to_string(inventory->unindexed.size()) +
          " pack(s) in the repository are named by no index file, and objects the snapshots "
          "need are not in the index (they are probably in those packs). Nothing was deleted. "
          "Run `lifeboat repair index` first (it rebuilds the index from the packs), then "
          "prune again. Details: " + marked.message());
  }
  LB_RETURN_IF_ERROR(marked);

  // 2. Per pack: bytes on the backend, used and unused blobs.
  std::unordered_map<Id, PackUsage, IdHash> packs;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.name);
    if (!id) return Status::Ok();  // not a pack name; never ours to delete
    PackUsage& u = packs[*id];
    u.size = info.size;
    u.on_backend = true;
    stats.packs++;
    stats.pack_bytes += info.size;
    return Status::Ok();
  }));
  // Positions index the sorted array directly (AtPosition), so nothing here calls back into the
  // index while it is locked.
  std::unordered_set<Id, IdHash> indexed;
  const size_t blob_count = index.blob_count();
  for (size_t pos = 0; pos < blob_count; ++pos) {
    BlobLocation loc = index.AtPosition(pos);
    indexed.insert(loc.pack);
    PackUsage& u = packs[loc.pack];
    if (used.Test(pos)) {
      u.used_blobs++;
      u.used_bytes += loc.stored_length;
    } else {
      u.unused_blobs++;
      u.unused_bytes += loc.stored_length;
    }
  }

  // 3. Decide.
  std::vector<Id> to_delete;  // packs holding nothing used, and unindexed packs
  std::vector<std::pair<Id, const PackUsage*>> partial;
  std::unordered_set<Id, IdHash> dropped;  // packs the new index will not name
  for (const auto& [id, u] : packs) {
    stats.used_blobs += u.used_blobs;
    stats.used_bytes += u.used_bytes;
    stats.unused_blobs += u.unused_blobs;
    stats.unused_bytes += u.unused_bytes;
    bool is_indexed = indexed.count(id) > 0;
    if (!u.on_backend) {
      if (u.used_blobs > 0)
        return Status::FailedPrecondition(
            "prune refuses to run: pack " + id.Hex() + " holds " + std::to_string(u.used_blobs) +
            " blob(s) that snapshots need, but it is missing from the repository. Nothing was "
            "deleted. Run `lifeboat check` and `lifeboat repair packs`/`repair snapshots`.");
      stats.missing_packs++;
      dropped.insert(id);
    } else if (!is_indexed) {
      stats.unindexed_packs++;
      stats.unindexed_bytes += u.size;
      to_delete.push_back(id);
    } else if (u.used_blobs == 0) {
      stats.delete_packs++;
      stats.delete_bytes += u.size;
      to_delete.push_back(id);
      dropped.insert(id);
    } else if (u.unused_blobs > 0) {
      partial.emplace_back(id, &u);
    }
  }
  uint64_t remaining_unused = 0;
  for (const auto& [id, u] : partial) remaining_unused += u->unused_bytes;
  uint64_t allowed_unused;
  if (options.max_unused_bytes) {
    allowed_unused = *options.max_unused_bytes;
  } else if (options.max_unused_percent >= 100) {
    allowed_unused = UINT64_MAX;
  } else {
    double p = std::max(0.0, options.max_unused_percent);
    allowed_unused = static_cast<uint64_t>(p / (100 - p) * static_cast<double>(stats.used_bytes));
  }
  // Most-unused packs first: each rewritten byte then frees the most space.
  std::sort(partial.begin(), partial.end(), [](const auto& a, const auto& b) {
    double fa = double(a.second->unused_bytes) / double(a.second->used_bytes + a.second->unused_bytes);
    double fb = double(b.second->unused_bytes) / double(b.second->used_bytes + b.second->unused_bytes);
    return fa != fb ? fa > fb : a.first < b.first;
  });
  std::unordered_set<Id, IdHash> repack;
  for (const auto& [id, u] : partial) {
    if (remaining_unused <= allowed_unused) break;
    if (options.max_repack_bytes && stats.repack_bytes + u->size > *options.max_repack_bytes)
      continue;
    repack.insert(id);
    dropped.insert(id);
    stats.repack_packs++;
    stats.repack_bytes += u->size;
    stats.repack_blobs += u->used_blobs;
    stats.repack_blob_bytes += u->used_bytes;
    remaining_unused -= u->unused_bytes;
  }
  stats.remaining_unused_bytes = remaining_unused;
  // Repacked blobs go to new packs, trees and data apart: an estimate until they are written.
  const uint64_t pack_size = repo.config().pack_size;
  uint64_t new_packs_estimate =
      stats.repack_blobs == 0 ? 0 : 1 + (stats.repack_blob_bytes + pack_size - 1) / pack_size;
  stats.packs_after = stats.packs - stats.unindexed_packs - stats.delete_packs -
                      stats.repack_packs + new_packs_estimate;
  stats.pack_bytes_after = stats.pack_bytes - stats.unindexed_bytes - stats.delete_bytes -
                           stats.repack_bytes + stats.repack_blob_bytes;
  std::vector<Id> old_index = repo.index_files();
  const auto& superseded = repo.superseded_index_files();
  old_index.insert(old_index.end(), superseded.begin(), superseded.end());
  bool nothing_to_do = to_delete.empty() && repack.empty() && dropped.empty() && superseded.empty();
  if (options.dry_run || nothing_to_do) {
    if (!nothing_to_do) {
      stats.index_files_removed = old_index.size();
      stats.index_files_written =
          std::max<uint64_t>(1, (stats.packs_after + kPacksPerIndexFile - 1) / kPacksPerIndexFile);
    }
    return stats;
  }

  // 4. The new index: every kept pack, then the blobs repacked out of doomed packs.
  LB_RETURN_IF_ERROR(CheckStillAllowed(options));
  MasterIndex fresh;
  LB_RETURN_IF_ERROR(index.ForEachPack([&](const Id& pack, const std::vector<PackedBlob>& blobs) {
    if (!dropped.count(pack)) fresh.BulkAdd(pack, blobs);
    return Status::Ok();
  }));
  fresh.Compact();
  std::vector<Id> repack_index_files;
  if (!repack.empty()) {
    BlobSaverOptions saver_options;
    saver_options.index = &fresh;
    BlobSaver saver(repo, saver_options);
    // Each repacked pack's used blobs, in pack order, so each pack is read once.
    std::unordered_map<Id, std::vector<PackedBlob>, IdHash> wanted;
    for (size_t pos = 0; pos < blob_count; ++pos) {
      if (!used.Test(pos)) continue;
      BlobLocation loc = index.AtPosition(pos);
      if (!repack.count(loc.pack)) continue;
      // BlobLocation has no id: IdAtPosition gives it.
      wanted[loc.pack].push_back(PackedBlob{loc.type, index.IdAtPosition(pos), loc.offset,
                                            loc.stored_length, loc.raw_length});
    }
    for (auto& [pack, blobs] : wanted)
      std::sort(blobs.begin(), blobs.end(),
                [](const PackedBlob& a, const PackedBlob& b) { return a.offset < b.offset; });
    // Packs are read and their blobs verified by `workers` threads; verified blobs are packed
    // again in their stored form (no second compression or encryption).
    std::vector<const std::pair<const Id, std::vector<PackedBlob>>*> jobs;
    for (const auto& entry : wanted) jobs.push_back(&entry);
    std::mutex mu;
    size_t done = 0;  // GUARDED_BY(mu)
    auto repack_one = [&](const Id& pack, const std::vector<PackedBlob>& blobs) -> Status {
      LB_RETURN_IF_ERROR(CheckStillAllowed(options));
      auto data = repo.backend().Load({ObjectType::kPack, pack.Hex()}, 0, 0);
      if (!data.ok()) return data.status().WithContext("repacking pack " + pack.Hex());
      Bytes plain;
      for (const PackedBlob& b : blobs) {
        if (uint64_t{b.offset} + b.stored_length > data->size())
          return Status::Corruption("pack " + pack.Hex() + " is shorter than the index says (blob " +
                                    b.id.Hex() + "); nothing was deleted; run `lifeboat check "
                                    "--read-data` and `lifeboat repair packs`");
        ByteView stored = ByteView(*data).subspan(b.offset, b.stored_length);
        plain.clear();
        Status st = repo.codec().Decode(stored, b.id, b.raw_length, &plain);
        if (!st.ok())
          return Status::Corruption("blob " + b.id.Hex() + " in pack " + pack.Hex() +
                                    " is damaged (" + st.message() +
                                    "); nothing was deleted; run `lifeboat check --read-data` "
                                    "and `lifeboat repair packs`");
        LB_RETURN_IF_ERROR(
            saver.SaveStored(b.type, b.id, Bytes(stored.begin(), stored.end()), b.raw_length)
                .status());
      }
      return Status::Ok();
    };
    LB_RETURN_IF_ERROR(ParallelForUntilError(jobs.size(), workers, [&](size_t k) -> Status {
      LB_RETURN_IF_ERROR(repack_one(jobs[k]->first, jobs[k]->second));
      std::lock_guard lock(mu);
      if (options.progress) options.progress(PruneProgress{"repack", ++done, jobs.size()});
      return Status::Ok();
    }));
    LB_RETURN_IF_ERROR(saver.Flush());
    repack_index_files = saver.index_files();
    stats.packs_after = stats.packs_after - new_packs_estimate + saver.stats().packs;
    // Every used blob of a repacked pack must now be in the new index at a kept place.
    for (const auto& [pack, blobs] : wanted)
      for (const PackedBlob& b : blobs) {
        auto loc = fresh.Find(b.type, b.id);
        if (!loc || dropped.count(loc->pack))
          return Status::Internal("repacked blob " + b.id.Hex() + " is not in the new index");
      }
  }

  // 5. Replace the index: the last new file supersedes every old one (and the repack's own).
  LB_RETURN_IF_ERROR(CheckStillAllowed(options));
  if (options.progress) options.progress(PruneProgress{"index", 0, 0});
  std::vector<Id> supersedes = old_index;
  supersedes.insert(supersedes.end(), repack_index_files.begin(), repack_index_files.end());
  LB_ASSIGN_OR_RETURN(auto written,
                      WriteReplacementIndex(repo, fresh, [](const Id&) { return true; }, supersedes));
  stats.index_files_written = written.size();
  LB_RETURN_IF_ERROR(RemoveIndexFiles(repo, supersedes));
  stats.index_files_removed = supersedes.size();

  // 6. Delete the packs no index names any more. Only packs listed before prune started: a pack
  // that appeared since is nobody's leftover.
  for (const Id& id : repack) to_delete.push_back(id);
  uint64_t deleted = 0;
  for (const Id& id : to_delete) {
    LB_RETURN_IF_ERROR(CheckStillAllowed(options));
    Status st = repo.backend().Remove({ObjectType::kPack, id.Hex()});
    if (!st.ok() && !st.IsNotFound()) return st.WithContext("removing pack " + id.Hex());
    if (options.progress) options.progress(PruneProgress{"delete", ++deleted, to_delete.size()});
  }

  // The repository object stays usable: reload the index from the new files.
  index.Clear();
  LB_RETURN_IF_ERROR(repo.LoadIndex());
  return stats;
}

Status ParseMaxUnused(std::string_view spec, PruneOptions* options) {
  if (spec == "unlimited") {
    options->max_unused_percent = 100;
    options->max_unused_bytes.reset();
    return Status::Ok();
  }
  if (!spec.empty() && spec.back() == '%') {
    std::string num(spec.substr(0, spec.size() - 1));
    try {
      size_t used = 0;
      double p = std::stod(num, &used);
      if (used == num.size() && p >= 0 && p <= 100) {
        options->max_unused_percent = p;
        options->max_unused_bytes.reset();
        return Status::Ok();
      }
    } catch (...) {
    }
    return Status::InvalidArgument("--max-unused " + std::string(spec) +
                                   ": a percentage must be between 0% and 100%");
  }
  auto bytes = ParseSize(spec);
  if (!bytes.ok())
    return bytes.status().WithContext("--max-unused (a percentage such as 5%, a size or "
                                      "\"unlimited\")");
  options->max_unused_bytes = *bytes;
  return Status::Ok();
}

}  // namespace lifeboat
