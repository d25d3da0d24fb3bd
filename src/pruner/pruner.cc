#include "pruner/pruner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "backend/backend.h"
#include "backend/object_lock.h"
#include "crypto/hash.h"
#include "repository/blob_saver.h"
#include "repository/index_writer.h"
#include "repository/tree_walker.h"
#include "util/mutex.h"
#include "util/parallel_for.h"
#include "util/progress_reporter.h"
#include "util/thread_annotations.h"
#include "util/units.h"

namespace lifeboat {
namespace {

constexpr size_t kMaxReportedMissing = 10;

// What prune's progress reports read: the phase running (from the timer) and that phase's
// counters. The prune's thread starts phases; its workers count; the reporter thread reads.
class PruneMeter {
 public:
  explicit PruneMeter(const Clock& clock) : phases_(clock) {}

  // Ends the current phase and starts `phase`, its counters at 0 of `total`, as one step for
  // Report (which never sees the new phase with the old phase's counts).
  void Start(std::string_view phase, uint64_t total = 0) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    done_.store(0, std::memory_order_relaxed);
    total_.store(total, std::memory_order_relaxed);
    phases_.Start(phase);
  }
  void SetDone(uint64_t done) { done_.store(done, std::memory_order_relaxed); }
  // The current phase's counter, for a tree walk to count up (TreeWalkOptions::trees_done).
  std::atomic<uint64_t>* done_counter() { return &done_; }
  void CountOne() { done_.fetch_add(1, std::memory_order_relaxed); }
  // A report of the phase running now; from any thread.
  PruneProgress Report(bool final) const EXCLUDES(mu_) {
    PruneProgress p;
    MutexLock lock(&mu_);
    static_cast<ProgressHead&>(p) = phases_.Head(final);
    p.done = done_.load(std::memory_order_relaxed);
    p.total = total_.load(std::memory_order_relaxed);
    return p;
  }
  std::vector<PhaseTime> Finish() { return phases_.Finish(); }

 private:
  mutable Mutex mu_;   // held only to start a phase or to read one (never while calling out)
  PhaseTimer phases_;  // thread-safe itself; mu_ ties its phase to the counters below
  std::atomic<uint64_t> done_{0}, total_{0};  // written under mu_ by Start, else by workers
};

// The problems a tree walk found, collected from its worker threads: the first few in full,
// and how many there were.
class Problems {
 public:
  void Add(std::string what) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    if (first_.size() < kMaxReportedMissing) first_.push_back(std::move(what));
    count_++;
  }
  uint64_t count() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return count_;
  }
  std::vector<std::string> first() const EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return first_;
  }

 private:
  mutable Mutex mu_;
  std::vector<std::string> first_ GUARDED_BY(mu_);
  uint64_t count_ GUARDED_BY(mu_) = 0;
};

// Marks every blob reachable from `roots` (snapshot id, root tree) in `used`, walking each distinct
// tree once with `workers` threads. A referenced blob that is not in the index, or a tree that does
// not load, is collected; the walk goes on so the message can list several.
Status MarkUsed(Repository& repo, const std::vector<std::pair<Id, Id>>& roots, UsedBlobs* used,
                int workers, const PruneOptions& options, PruneMeter* meter) {
  Problems problems;
  auto problem = [&](std::string what) {
    problems.Add(std::move(what));
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
  if (options.progress) o.walk.trees_done = meter->done_counter();
  Status walked = FindUsedBlobs(repo, trees, o, used);
  if (walked.code() == StatusCode::kCancelled || walked.code() == StatusCode::kDeadlineExceeded)
    return options.context.Check("prune");
  LB_RETURN_IF_ERROR(walked);
  const uint64_t problem_count = problems.count();
  if (problem_count == 0) return Status::Ok();
  std::string msg = "prune refuses to run: " + std::to_string(problem_count) +
                    " object(s) that snapshots need are missing or damaged, so it cannot tell what "
                    "is unused. Nothing was deleted. Run `lifeboat check` to see which snapshots "
                    "are affected, then `lifeboat repair index` / `repair snapshots`. First ones:";
  for (const auto& p : problems.first()) msg += "\n  " + p;
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

// Records when the last of the locks that kept something ends.
void NoteLocked(PruneStats* stats, int64_t until_ns) {
  stats->locked_until_ns = std::max(stats->locked_until_ns, until_ns);
}

// Removes one object prune no longer needs: OK when it was removed or already gone; when the
// backend's lock refused it, OK with *locked_until set (the object stays: harmless, because by
// now no index in force names it); else the error.
Status RemoveUnlessLocked(Repository& repo, const ObjectHandle& h, const PruneOptions& options,
                          int64_t* locked_until) {
  *locked_until = 0;
  Status st = repo.backend().Remove(h);
  if (st.ok() || st.IsNotFound()) return Status::Ok();
  if (std::optional<int64_t> until =
          LockedUntil(repo.backend(), h, st, options.context.clock().WallNs())) {
    *locked_until = *until;
    return Status::Ok();
  }
  return st.WithContext("removing " + DescribeObject(h));
}

// Prune without its reporter: every step, each phase started on `meter`.
Result<PruneStats> RunPrune(Repository& repo, const PruneOptions& options, PruneMeter& meter) {
  PruneStats stats;
  stats.dry_run = options.dry_run;
  MasterIndex& index = repo.index();
  index.Compact();  // positions cover every entry

  // 1. What the snapshots use. Every snapshot must load: one we cannot read might need anything.
  meter.Start("trees");
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
  // The walk and the repack mostly wait on the backend's reads.
  const int workers = WorkersFor(repo.backend(), options.workers);
  Status marked = MarkUsed(repo, roots, &used, workers, options, &meter);
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
  meter.Start("packs");
  std::unordered_map<Id, PackUsage, IdHash> packs;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
    auto id = Id::FromHex(info.name);
    if (!id) return Status::Ok();  // not a pack name; never ours to delete
    PackUsage& u = packs[*id];
    u.size = info.size;
    u.on_backend = true;
    stats.packs++;
    meter.SetDone(stats.packs);
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
  // Object Lock: objects the backend still keeps from removal are planned around, so prune
  // changes nothing it could not finish (doc/prune.md, "Object Lock"). A locked unused pack stays
  // indexed (a later prune removes it), a locked unindexed pack stays as it is, a locked pack is
  // never repacked (its copy would only add to it), and a locked index file is superseded but
  // stays. Asked only when the backend says it locks objects (else no request is made).
  std::vector<Id> old_index = repo.index_files();
  const auto& superseded = repo.superseded_index_files();
  old_index.insert(old_index.end(), superseded.begin(), superseded.end());
  const int64_t now_ns = options.context.clock().WallNs();
  LockedObjects locked;
  if (repo.backend().Hints().object_lock) {
    std::vector<ObjectHandle> candidates;
    for (const Id& id : to_delete) candidates.push_back({ObjectType::kPack, id.Hex()});
    for (const auto& [id, u] : partial) candidates.push_back({ObjectType::kPack, id.Hex()});
    for (const Id& id : old_index) candidates.push_back({ObjectType::kIndex, id.Hex()});
    LB_ASSIGN_OR_RETURN(locked, FindLockedObjects(repo.backend(), candidates, now_ns, workers));
  }
  auto lock_of = [&locked](ObjectType type, const Id& id) {
    return locked.until_ns({type, id.Hex()});
  };
  if (!locked.empty()) {
    std::vector<Id> deletable;
    for (const Id& id : to_delete) {
      const int64_t until = lock_of(ObjectType::kPack, id);
      if (until == 0) {
        deletable.push_back(id);
        continue;
      }
      const PackUsage& u = packs[id];
      if (indexed.count(id)) {
        stats.delete_packs--;
        stats.delete_bytes -= u.size;
        dropped.erase(id);
      } else {
        stats.unindexed_packs--;
        stats.unindexed_bytes -= u.size;
      }
      stats.locked_packs++;
      stats.locked_bytes += u.size;
      NoteLocked(&stats, until);
    }
    to_delete = std::move(deletable);
  }
  // Superseded index files the lock keeps are no reason to rewrite the index: they would still
  // be there afterwards.
  bool superseded_removable = false;
  for (const Id& id : superseded) superseded_removable |= lock_of(ObjectType::kIndex, id) == 0;

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
    if (const int64_t until = lock_of(ObjectType::kPack, id); until != 0) {
      stats.locked_packs++;
      stats.locked_bytes += u->size;
      NoteLocked(&stats, until);
      continue;
    }
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
  const bool nothing_to_do =
      to_delete.empty() && repack.empty() && dropped.empty() && !superseded_removable;
  // The index files that stay although prune would remove them: all old ones the lock keeps
  // when the index is replaced, else the superseded ones it keeps.
  for (const Id& id : nothing_to_do ? superseded : old_index) {
    if (const int64_t until = lock_of(ObjectType::kIndex, id); until != 0) {
      stats.locked_index_files++;
      NoteLocked(&stats, until);
    }
  }
  if (options.dry_run || nothing_to_do) {
    if (!nothing_to_do) {
      stats.index_files_removed = old_index.size() - stats.locked_index_files;
      stats.index_files_written =
          std::max<uint64_t>(1, (stats.packs_after + kPacksPerIndexFile - 1) / kPacksPerIndexFile);
    }
    return stats;
  }

  // 4. The new index: every kept pack, then the blobs repacked out of doomed packs.
  LB_RETURN_IF_ERROR(CheckStillAllowed(options));
  meter.Start("repack");
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
    meter.Start("repack", jobs.size());  // the same phase, now with its total
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
      meter.CountOne();
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
  meter.Start("index");
  std::vector<Id> supersedes = old_index;
  supersedes.insert(supersedes.end(), repack_index_files.begin(), repack_index_files.end());
  LB_ASSIGN_OR_RETURN(auto written,
                      WriteReplacementIndex(repo, fresh, [](const Id&) { return true; }, supersedes));
  stats.index_files_written = written.size();
  // The repack's own index files were just written: under an advertised lock they stay too.
  if (repo.backend().Hints().object_lock && !repack_index_files.empty()) {
    std::vector<ObjectHandle> written_now;
    for (const Id& id : repack_index_files) written_now.push_back({ObjectType::kIndex, id.Hex()});
    LB_ASSIGN_OR_RETURN(LockedObjects fresh_locks,
                        FindLockedObjects(repo.backend(), written_now, now_ns, workers));
    for (const ObjectHandle& h : written_now) {
      if (const int64_t until = fresh_locks.until_ns(h); until != 0) {
        locked.Add(h, until);
        stats.locked_index_files++;
        NoteLocked(&stats, until);
      }
    }
  }
  // The new index is in force: an old file that stays (locked) is superseded, so ignored.
  for (const Id& id : supersedes) {
    if (lock_of(ObjectType::kIndex, id) != 0) continue;  // counted above
    int64_t until = 0;
    LB_RETURN_IF_ERROR(RemoveUnlessLocked(repo, {ObjectType::kIndex, id.Hex()}, options, &until));
    if (until != 0) {  // locked although not planned so: the repack's own files, or a lock the
      stats.locked_index_files++;  // backend did not advertise
      NoteLocked(&stats, until);
    } else {
      stats.index_files_removed++;
    }
  }

  // 6. Delete the packs no index names any more. Only packs listed before prune started: a pack
  // that appeared since is nobody's leftover.
  for (const Id& id : repack) to_delete.push_back(id);
  meter.Start("delete", to_delete.size());
  for (const Id& id : to_delete) {
    LB_RETURN_IF_ERROR(CheckStillAllowed(options));
    int64_t until = 0;
    LB_RETURN_IF_ERROR(RemoveUnlessLocked(repo, {ObjectType::kPack, id.Hex()}, options, &until));
    if (until != 0) {  // a lock the backend did not advertise: the pack stays, unindexed
      const uint64_t size = packs[id].size;
      stats.locked_packs++;
      stats.locked_bytes += size;
      stats.packs_after++;
      stats.pack_bytes_after += size;
      NoteLocked(&stats, until);
    }
    meter.CountOne();
  }

  // The repository object stays usable: reload the index from the new files.
  meter.Start("index");
  index.Clear();
  LB_RETURN_IF_ERROR(repo.LoadIndex());
  return stats;
}

}  // namespace

Result<PruneStats> Prune(Repository& repo, const PruneOptions& options) {
  LB_RETURN_IF_ERROR(repo.CheckNotAppendOnly("prune"));
  PruneMeter meter(options.context.clock());
  std::function<void(bool final)> report;
  if (options.progress)
    report = [&options, &meter](bool final) { options.progress(meter.Report(final)); };
  ProgressReporter reporter(std::chrono::milliseconds(options.progress_interval_ms),
                            std::move(report), options.context.clock());
  Result<PruneStats> stats = RunPrune(repo, options, meter);
  // The final report (with the last phase's counts) only after a prune that succeeded.
  reporter.Stop(stats.ok() ? ProgressReporter::FinalReport::kYes
                           : ProgressReporter::FinalReport::kNo);
  if (stats.ok()) stats->phases = meter.Finish();
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
