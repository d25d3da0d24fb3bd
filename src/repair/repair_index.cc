// RepairIndex: a new index from the pack headers (repair.h).
#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "pack/pack.h"
#include "repair/repair.h"
#include "repair/repair_internal.h"
#include "repository/index_writer.h"
#include "util/mutex.h"
#include "util/phase_timer.h"
#include "util/thread_annotations.h"

namespace lifeboat {

using repair_internal::CheckLock;
using repair_internal::ListObjects;

namespace {

// Decodes `blobs` from a whole pack in memory; returns those that verify.
std::vector<PackedBlob> VerifiedBlobs(const Repository& repo, ByteView pack,
                                      const std::vector<PackedBlob>& blobs) {
  std::vector<PackedBlob> good;
  Bytes plain;
  for (const PackedBlob& b : blobs) {
    if (uint64_t{b.offset} + b.stored_length > pack.size()) continue;
    if (repo.codec().Decode(pack.subspan(b.offset, b.stored_length), b.id, b.raw_length, &plain).ok())
      good.push_back(b);
  }
  return good;
}

// What the parallel readers of steps 1 and 2 share.
struct ScanState {
  Mutex mu;
  Status first_error GUARDED_BY(mu);  // the first error that is not damage: stops the repair
  std::unordered_map<Id, std::string, IdHash> unreadable GUARDED_BY(mu);  // pack -> why
  std::vector<PackProblem> damaged_packs GUARDED_BY(mu);  // read_all_packs: blobs left out
  // Step 2: what the old index files list in the unreadable packs.
  std::unordered_map<Id, std::vector<PackedBlob>, IdHash> old_entries GUARDED_BY(mu);

  // Keeps the first error only.
  void Fail(Status st) REQUIRES(mu) {
    if (first_error.ok()) first_error = std::move(st);
  }
  Status FirstError() EXCLUDES(mu) {
    MutexLock lock(&mu);
    return first_error;
  }
};

}  // namespace

Result<RepairIndexResult> RepairIndex(Repository& repo, const RepositoryLock* lock,
                                      const RepairIndexOptions& options) {
  LB_RETURN_IF_ERROR(repair_internal::RequireLock(lock, options.dry_run, "repair index"));
  Backend& backend = repo.backend();
  // Reads and uploads mostly wait on the backend (repair.h).
  const int workers = WorkersFor(backend, options.workers);
  RepairIndexResult r;
  PhaseTimer phases(options.context.clock());
  phases.Start("list");

  // Everything listed now is replaced: under the exclusive lock nobody adds index files.
  LB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> index_infos, ListObjects(backend, ObjectType::kIndex));
  LB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> pack_infos, ListObjects(backend, ObjectType::kPack));
  std::vector<std::pair<Id, uint64_t>> packs;
  for (const ObjectInfo& info : pack_infos)
    if (auto id = Id::FromHex(info.name)) packs.emplace_back(*id, info.size);
  r.packs = packs.size();
  r.index_files_old = index_infos.size();

  MasterIndex dry_index;
  MasterIndex& index = options.dry_run ? dry_index : repo.index();
  index.Clear();

  // 1. Every pack's header (or whole pack), in parallel.
  phases.Start("packs");
  ScanState scan;
  std::atomic<uint64_t> indexed{0}, damaged_blobs{0};
  ParallelForWhile(packs.size(), workers, options.context.cancel_flag(), [&](size_t i) {
    const auto& [id, size] = packs[i];
    const std::string name = id.Hex();
    Result<std::vector<PackedBlob>> header = std::vector<PackedBlob>();
    std::vector<PackedBlob> good;
    uint64_t bad = 0;
    if (!options.read_all_packs) {
      header = ReadPackHeader(backend, repo.aead(), name, size);
      if (header.ok()) good = *header;
    } else {
      auto data = backend.Load({ObjectType::kPack, name}, 0, 0);
      header = data.ok() ? ParsePack(repo.aead(), name, *data)
                         : Result<std::vector<PackedBlob>>(data.status());
      if (header.ok()) {
        good = VerifiedBlobs(repo, *data, *header);
        bad = header->size() - good.size();
      }
    }
    if (!header.ok()) {
      MutexLock lock(&scan.mu);
      if (header.status().IsCorruption()) {
        scan.unreadable.emplace(id, header.status().message());
        return true;
      }
      // Not damage (an I/O or network error): stop before writing anything.
      scan.Fail(header.status().WithContext("reading pack " + name));
      return false;
    }
    if (!good.empty()) {
      index.BulkAdd(id, good);
      ++indexed;
    }
    if (bad > 0) {
      damaged_blobs += bad;
      MutexLock lock(&scan.mu);
      scan.damaged_packs.push_back(PackProblem{
          id, std::to_string(bad) + " of its " + std::to_string(header->size()) +
                  " blob(s) are damaged and were left out of the index; run `lifeboat repair "
                  "packs " +
                  name + "` to move the intact ones into a sound pack"});
    }
    return true;
  });
  LB_RETURN_IF_ERROR(scan.FirstError());
  LB_RETURN_IF_ERROR(options.context.Check("repair index"));
  std::unordered_map<Id, std::string, IdHash> unreadable;  // pack -> why
  {
    MutexLock lock(&scan.mu);
    unreadable = std::move(scan.unreadable);
    r.damaged_packs = std::move(scan.damaged_packs);
  }

  // 2. The old index files: counted, and read for what they say about the unreadable packs, so
  //    that blobs still intact in them stay findable (and salvageable by `repair packs`).
  //    Every old file is removed at the end, so one that could not be read for a reason other
  //    than damage (I/O, network) stops the repair: what it says would be lost with it.
  phases.Start("index");
  std::atomic<uint64_t> undecodable{0};
  ParallelFor(index_infos.size(), workers, options.context.cancel_flag(), [&](size_t i) {
    auto plain = repo.LoadUnpacked(ObjectType::kIndex, index_infos[i].name);
    Result<IndexFile> file =
        plain.ok() ? DecodeIndexFile(*plain) : Result<IndexFile>(plain.status());
    if (!file.ok()) {
      if (!file.status().IsCorruption()) {
        MutexLock lock(&scan.mu);
        scan.Fail(file.status().WithContext(
            "reading old index file " + index_infos[i].name +
            " (nothing was changed; run the repair again once it can be read)"));
        return;
      }
      ++undecodable;
      return;
    }
    if (unreadable.empty()) return;
    MutexLock lock(&scan.mu);
    for (auto& p : file->packs) {
      if (!unreadable.count(p.name)) continue;
      auto& list = scan.old_entries[p.name];
      list.insert(list.end(), p.blobs.begin(), p.blobs.end());
    }
  });
  LB_RETURN_IF_ERROR(scan.FirstError());
  LB_RETURN_IF_ERROR(options.context.Check("repair index"));
  r.index_files_undecodable = undecodable;
  std::unordered_map<Id, std::vector<PackedBlob>, IdHash> old_entries;
  {
    MutexLock lock(&scan.mu);
    old_entries = std::move(scan.old_entries);
  }

  // 3. For each unreadable pack, keep the old entries that still decode from the pack's bytes.
  phases.Start("recover");
  std::vector<Id> unreadable_sorted;
  for (const auto& [id, why] : unreadable) unreadable_sorted.push_back(id);
  std::sort(unreadable_sorted.begin(), unreadable_sorted.end());
  for (const Id& id : unreadable_sorted) {
    const std::string name = id.Hex();
    std::string message = unreadable[id];
    std::vector<PackedBlob>& entries = old_entries[id];
    std::sort(entries.begin(), entries.end(), [](const PackedBlob& a, const PackedBlob& b) {
      return std::tie(a.offset, a.id, a.type) < std::tie(b.offset, b.id, b.type);
    });
    entries.erase(std::unique(entries.begin(), entries.end(),
                              [](const PackedBlob& a, const PackedBlob& b) {
                                return a.offset == b.offset && a.id == b.id && a.type == b.type;
                              }),
                  entries.end());
    std::vector<PackedBlob> good;
    if (!entries.empty()) {
      auto data = backend.Load({ObjectType::kPack, name}, 0, 0);
      if (!data.ok()) return data.status().WithContext("reading pack " + name);
      good = VerifiedBlobs(repo, *data, entries);
    }
    if (!good.empty()) {
      index.BulkAdd(id, good);
      ++indexed;
      message += "; its header cannot be read, but " + std::to_string(good.size()) + " of the " +
                 std::to_string(entries.size()) +
                 " blob(s) the old index listed in it are intact and stay indexed: run "
                 "`lifeboat repair packs " + name + "` to move them into a sound pack";
    } else if (!entries.empty()) {
      message += "; none of the " + std::to_string(entries.size()) +
                 " blob(s) the old index listed in it is intact: it is left out of the index "
                 "(prune removes it); the files that need its blobs are named by `lifeboat "
                 "check` and `lifeboat repair snapshots` removes them from the snapshots";
    } else {
      message += "; no index described it either, so its blobs cannot be located: it is left "
                 "out of the index (prune removes it)";
    }
    r.unreadable_packs.push_back(PackProblem{id, message});
  }
  std::sort(r.damaged_packs.begin(), r.damaged_packs.end(),
            [](const PackProblem& a, const PackProblem& b) { return a.pack < b.pack; });
  index.Compact();
  r.packs_indexed = indexed;
  r.blobs = index.blob_count();
  r.damaged_blobs = damaged_blobs;
  if (options.dry_run) {
    r.phases = phases.Finish();
    return r;
  }

  // 4. The new index, whose last file supersedes every old one; only then remove the old files.
  phases.Start("write");
  std::vector<Id> old_files;
  for (const ObjectInfo& info : index_infos)
    if (auto id = Id::FromHex(info.name)) old_files.push_back(*id);
  LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "writing the new index"));
  LB_ASSIGN_OR_RETURN(r.index_files_written,
                      WriteReplacementIndex(
                          repo, index, [](const Id&) { return true; }, old_files));
  LB_RETURN_IF_ERROR(CheckLock(lock, options.context, "removing the old index files"));
  LB_RETURN_IF_ERROR(RemoveIndexFiles(repo, old_files));
  r.index_files_removed = old_files.size();
  r.phases = phases.Finish();
  return r;
}

}  // namespace lifeboat
