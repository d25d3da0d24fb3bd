// RepairPacks: salvage the intact blobs of damaged packs, then drop the packs (repair.h).
#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "checker/checker.h"
#include "pack/pack.h"
#include "repair/repair.h"
#include "repair/repair_internal.h"
#include "repository/blob_saver.h"
#include "repository/index_writer.h"
#include "util/mutex.h"
#include "util/phase_timer.h"
#include "util/thread_annotations.h"

namespace lifeboat {

using repair_internal::BlobRefHash;
using repair_internal::CheckLock;
using repair_internal::ListObjects;

namespace {

using PackBlobs = std::unordered_map<Id, std::vector<PackedBlob>, IdHash>;

// The index readers' share: what the index files list in the damaged packs.
struct DamagedEntries {
  Mutex mu;
  PackBlobs entries GUARDED_BY(mu);
};

// The verifiers' share: other copies of the damaged packs' blobs that failed too.
struct CopyChecks {
  Mutex mu;
  Status first_error GUARDED_BY(mu);  // not damage (I/O): stops the repair
  std::unordered_map<Id, std::string, IdHash> failed GUARDED_BY(mu);  // pack -> why
};

// Fills repo.index() from the index files in force, leaving out every pack in `damaged`, whose
// entries go to *damaged_entries instead.
Status LoadIndexWithout(Repository& repo, const std::vector<Id>& files,
                        const std::unordered_set<Id, IdHash>& damaged, PackBlobs* damaged_entries,
                        int workers) {
  repo.index().Clear();
  DamagedEntries shared;
  LB_RETURN_IF_ERROR(ParallelForUntilError(files.size(), workers, [&](size_t i) -> Status {
    const std::string name = files[i].Hex();
    auto plain = repo.LoadUnpacked(ObjectType::kIndex, name);
    Result<IndexFile> file = plain.ok() ? DecodeIndexFile(*plain) : Result<IndexFile>(plain.status());
    if (!file.ok()) return file.status().WithContext("index " + name);
    for (auto& p : file->packs) {
      if (!damaged.count(p.name)) {
        repo.index().BulkAdd(p.name, p.blobs);
        continue;
      }
      MutexLock lock(&shared.mu);
      auto& list = shared.entries[p.name];
      list.insert(list.end(), p.blobs.begin(), p.blobs.end());
    }
    return Status::Ok();
  }));
  repo.index().Compact();
  MutexLock lock(&shared.mu);
  *damaged_entries = std::move(shared.entries);
  return Status::Ok();
}

bool IsDamage(const Status& st) { return st.IsCorruption() || st.IsNotFound(); }

// Sorts by blob, then offset, and drops exact duplicates (the same entry from two sources).
void SortUnique(std::vector<PackedBlob>* blobs) {
  auto key = [](const PackedBlob& b) {
    return std::tie(b.id, b.type, b.offset, b.stored_length, b.raw_length);
  };
  std::sort(blobs->begin(), blobs->end(),
            [&](const PackedBlob& a, const PackedBlob& b) { return key(a) < key(b); });
  blobs->erase(std::unique(blobs->begin(), blobs->end(),
                           [&](const PackedBlob& a, const PackedBlob& b) { return key(a) == key(b); }),
               blobs->end());
}

}  // namespace

Result<RepairPacksResult> RepairPacks(Repository& repo, const RepositoryLock* lock,
                                      const RepairPacksOptions& options) {
  LB_RETURN_IF_ERROR(repair_internal::RequireLock(lock, options.dry_run, "repair packs"));
  if (options.packs.empty() && !options.find_damaged)
    return Status::InvalidArgument(
        "no packs to repair: name the damaged packs (`lifeboat check --read-data` lists them)");
  Backend& backend = repo.backend();
  // Reads and uploads mostly wait on the backend (repair.h).
  const int workers = WorkersFor(backend, options.workers);
  RepairPacksResult r;
  PhaseTimer phases(options.context.clock());
  std::vector<Id> to_repair = options.packs;
  if (to_repair.empty()) {
    // Reading every pack is the only way to know which ones are damaged.
    phases.Start("find");
    CheckOptions check;
    check.read_data = true;
    check.workers = options.workers;
    check.context = options.context;
    LB_ASSIGN_OR_RETURN(CheckResult checked, CheckRepository(repo, check));
    to_repair = checked.damaged_packs;
    r.searched = true;
    r.other_problems = to_repair.empty() && !checked.healthy();
    if (to_repair.empty()) {
      r.phases = phases.Finish();
      return r;
    }
  }
  // 0. Heal from replicas: put back intact copies verbatim (repair.h).
  if (repo.has_fallbacks()) {
    phases.Start("heal");
    std::vector<Id> remaining;
    for (const Id& pack : to_repair) {
      LB_RETURN_IF_ERROR(options.context.Check("repair packs"));
      const std::string name = pack.Hex();
      auto copy = repo.LoadPackFromFallbacks(
          pack, Status::Corruption("pack " + name + " is damaged or missing"));
      if (!copy.ok()) {
        if (!copy.status().IsNotFound()) return copy.status();
        remaining.push_back(pack);
        continue;
      }
      HealedPack healed{pack, copy->second, false};
      auto present = backend.Stat({ObjectType::kPack, name});
      if (!present.ok() && !present.status().IsNotFound())
        return present.status().WithContext("pack " + name);
      healed.was_present = present.ok();
      if (!options.dry_run) {
        LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "healing pack " + name));
        if (healed.was_present) {
          Status removed = backend.Remove({ObjectType::kPack, name});
          if (!removed.ok() && !removed.IsNotFound())
            return removed.WithContext("removing damaged pack " + name +
                                       " before putting back the replica's copy");
        }
        Status saved = backend.Save({ObjectType::kPack, name}, copy->first);
        if (!saved.ok())
          return saved.WithContext("putting back pack " + name + " from " + copy->second +
                                   " (run the repair again: the replica still holds it)");
      }
      r.healed.push_back(std::move(healed));
    }
    to_repair = std::move(remaining);
    if (to_repair.empty()) {
      r.phases = phases.Finish();
      return r;
    }
  }
  phases.Start("index");

  Status loaded = repo.LoadIndex();
  if (!loaded.ok())
    return loaded.WithContext(
        "loading the index (if an index file is damaged, run `lifeboat repair index` first)");
  const std::vector<Id> in_force = repo.index_files();

  std::vector<Id> order;  // damaged packs, in the order they are reported
  std::unordered_set<Id, IdHash> damaged;
  std::unordered_map<Id, std::string, IdHash> found_damaged;  // pack -> why (found here)
  for (const Id& p : to_repair)
    if (damaged.insert(p).second) order.push_back(p);

  // 1. The index without the damaged packs. A blob of theirs that the index finds elsewhere is
  //    read there and verified; if that copy is damaged too, its pack joins the damaged set and
  //    the index is built again (rare: duplicates only exist after interrupted backups).
  PackBlobs known;  // damaged pack -> the blobs the index lists in it
  for (;;) {
    LB_RETURN_IF_ERROR(options.context.Check("repair packs"));
    Status st = LoadIndexWithout(repo, in_force, damaged, &known, workers);
    if (!st.ok())
      return st.WithContext(
          "loading the index (if an index file is damaged, run `lifeboat repair index` first)");
    std::vector<std::pair<BlobRef, BlobLocation>> elsewhere;
    std::unordered_set<BlobRef, BlobRefHash> seen;
    for (const Id& pack : order) {
      for (const PackedBlob& b : known[pack]) {
        BlobRef ref{b.type, b.id};
        if (!seen.insert(ref).second) continue;
        if (auto loc = repo.index().Find(b.type, b.id)) elsewhere.emplace_back(ref, *loc);
      }
    }
    CopyChecks checks;
    ParallelForWhile(elsewhere.size(), workers, options.context.cancel_flag(), [&](size_t i) {
      const auto& [ref, loc] = elsewhere[i];
      auto blob = repo.LoadBlobAt(loc, ref.id);
      if (blob.ok()) return true;
      MutexLock lock(&checks.mu);
      if (!IsDamage(blob.status())) {
        if (checks.first_error.ok()) checks.first_error = blob.status();
        return false;
      }
      checks.failed.emplace(
          loc.pack, "holds the other copy of " + std::string(BlobTypeName(ref.type)) + " blob " +
                        ref.id.Short() +
                        ", and that copy is damaged too: " + blob.status().message());
      return true;
    });
    std::unordered_map<Id, std::string, IdHash> failed;
    {
      MutexLock lock(&checks.mu);
      LB_RETURN_IF_ERROR(checks.first_error);
      failed = std::move(checks.failed);
    }
    if (failed.empty()) break;
    std::vector<Id> more;
    for (const auto& [pack, why] : failed) more.push_back(pack);
    std::sort(more.begin(), more.end());
    for (const Id& pack : more) {
      damaged.insert(pack);
      order.push_back(pack);
      found_damaged.emplace(pack, failed[pack]);
    }
  }
  LB_RETURN_IF_ERROR(options.context.Check("repair packs"));
  // A pack that neither the backend nor the index knows is a typo, not damage.
  for (const Id& p : options.packs) {
    if (!known[p].empty()) continue;
    auto stat = backend.Stat({ObjectType::kPack, p.Hex()});
    if (stat.status().IsNotFound())
      return Status::InvalidArgument("pack " + p.Hex() +
                                     " is neither in the repository nor in its index; check the id "
                                     "(`lifeboat check` prints full pack ids)");
  }

  // 2. Salvage, one pack at a time (one whole pack in memory).
  phases.Start("salvage");
  std::unique_ptr<BlobSaver> saver;
  if (!options.dry_run)
    saver = std::make_unique<BlobSaver>(repo, BlobSaverOptions::WithWorkers(workers));
  std::unordered_set<BlobRef, BlobRefHash> salvaged;  // by this repair, from any damaged pack
  std::vector<std::vector<BlobRef>> unsalvaged(order.size());  // per pack, before the last pass
  std::vector<bool> content_unknown(order.size(), false);
  Bytes plain;
  for (size_t k = 0; k < order.size(); ++k) {
    LB_RETURN_IF_ERROR(options.context.Check("repair packs"));
    const Id& pack = order[k];
    const std::string name = pack.Hex();
    PackRepairReport report;
    report.pack = pack;
    if (auto it = found_damaged.find(pack); it != found_damaged.end()) report.note = it->second;
    std::vector<PackedBlob> candidates = known[pack];
    auto data = backend.Load({ObjectType::kPack, name}, 0, 0);
    if (!data.ok() && !data.status().IsNotFound())
      return data.status().WithContext("reading damaged pack " + name +
                                       " (nothing was removed; run the repair again once it can "
                                       "be read)");
    report.found = data.ok();
    if (report.found) {
      auto header = ParsePack(repo.aead(), name, *data);
      report.header_readable = header.ok();
      if (header.ok()) candidates.insert(candidates.end(), header->begin(), header->end());
    }
    SortUnique(&candidates);
    // Candidates are grouped by blob; try each location of a blob until one decodes.
    for (size_t i = 0; i < candidates.size();) {
      size_t end = i;
      while (end < candidates.size() && candidates[end].id == candidates[i].id &&
             candidates[end].type == candidates[i].type)
        ++end;
      BlobRef ref{candidates[i].type, candidates[i].id};
      ++report.blobs_known;
      if (salvaged.count(ref) || repo.index().Has(ref.type, ref.id)) {
        ++report.elsewhere;  // verified above, or salvaged from an earlier damaged pack
        i = end;
        continue;
      }
      bool ok = false;
      for (size_t j = i; j < end && report.found && !ok; ++j) {
        const PackedBlob& b = candidates[j];
        if (uint64_t{b.offset} + b.stored_length > data->size()) continue;
        ok = repo.codec()
                 .Decode(ByteView(*data).subspan(b.offset, b.stored_length), b.id, b.raw_length,
                         &plain)
                 .ok();
      }
      if (ok) {
        if (saver) {
          auto added = saver->Save(ref.type, ref.id, std::move(plain));
          if (!added.ok()) return added.status().WithContext("saving salvaged blobs");
          plain = Bytes();
        }
        salvaged.insert(ref);
        ++report.salvaged;
      } else {
        unsalvaged[k].push_back(ref);
      }
      i = end;
    }
    if (!report.found) {
      report.note = (report.note.empty() ? "" : report.note + "; ") +
                    "the pack is missing: nothing can be salvaged from it";
    } else if (!report.header_readable && candidates.empty()) {
      content_unknown[k] = true;
      report.note = (report.note.empty() ? "" : report.note + "; ") +
                    "its header cannot be read and no index lists its blobs: nothing about its "
                    "content is known, so it is left in place (prune removes it)";
    } else if (!report.header_readable) {
      report.note = (report.note.empty() ? "" : report.note + "; ") +
                    "its header cannot be read: blobs were located through the index";
    }
    r.packs.push_back(std::move(report));
  }
  // A blob not salvaged from one pack may have come from a later one.
  std::unordered_set<BlobRef, BlobRefHash> lost;
  for (size_t k = 0; k < order.size(); ++k) {
    for (const BlobRef& ref : unsalvaged[k]) {
      if (salvaged.count(ref)) {
        ++r.packs[k].elsewhere;
      } else {
        r.packs[k].lost.push_back(ref);
        lost.insert(ref);
      }
    }
  }
  r.blobs_salvaged = salvaged.size();
  r.blobs_lost = lost.size();
  if (options.dry_run) {
    r.phases = phases.Finish();
    return r;
  }

  // 3. New packs and their index files durable; then the replacement index without the damaged
  //    packs (superseding every index file there is now); only then remove anything.
  phases.Start("write");
  LB_RETURN_IF_ERROR(saver->Flush().WithContext("saving salvaged blobs"));
  r.new_packs = saver->stats().packs;
  saver.reset();
  LB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> index_infos, ListObjects(backend, ObjectType::kIndex));
  std::vector<Id> old_files;
  for (const ObjectInfo& info : index_infos)
    if (auto id = Id::FromHex(info.name)) old_files.push_back(*id);
  repo.index().Compact();
  LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "writing the replacement index"));
  LB_ASSIGN_OR_RETURN(
      r.index_files_written,
      WriteReplacementIndex(
          repo, repo.index(), [&](const Id& pack) { return !damaged.count(pack); }, old_files));
  LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "removing the old index files"));
  LB_RETURN_IF_ERROR(RemoveIndexFiles(repo, old_files));
  r.index_files_removed = old_files.size();
  LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "removing the damaged packs"));
  phases.Start("remove");
  for (size_t k = 0; k < order.size(); ++k) {
    PackRepairReport& report = r.packs[k];
    if (!report.found || content_unknown[k]) continue;
    Status st = backend.Remove({ObjectType::kPack, report.pack.Hex()});
    if (!st.ok() && !st.IsNotFound())
      return st.WithContext("removing damaged pack " + report.pack.Hex() +
                            " (the index no longer names it; prune removes it later)");
    report.removed = true;
    ++r.packs_removed;
  }
  r.phases = phases.Finish();
  return r;
}

}  // namespace lifeboat
