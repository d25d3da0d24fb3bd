#include "copier/copier.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "index/index.h"
#include "pack/pack.h"
#include "repository/blob_saver.h"
#include "repository/tree.h"
#include "repository/tree_walker.h"
#include "util/mutex.h"
#include "util/parallel_for.h"
#include "util/phase_timer.h"
#include "util/progress_reporter.h"
#include "util/thread_annotations.h"

namespace lifeboat {

bool SharesKeyMaterial(const Repository& a, const Repository& b) {
  const MasterKey& x = a.master_key();
  const MasterKey& y = b.master_key();
  // Non-short-circuit on purpose: the comparison takes the same time whichever key differs.
  const int same = int{crypto::ConstantTimeEqual(x.enc.view(), y.enc.view())} &
                   int{crypto::ConstantTimeEqual(x.id.view(), y.id.view())} &
                   int{crypto::ConstantTimeEqual(x.chunker.view(), y.chunker.view())};
  return same != 0;
}

namespace {

struct BlobRef {
  BlobType type;
  Id id;
  auto operator<=>(const BlobRef&) const = default;
  bool operator==(const BlobRef&) const = default;
};

// Source tree id and the target tree id of an earlier copy of it (re-encrypt mode).
struct TreePair {
  Id source;
  Id target;
};

// Blobs re-encrypted recently (source id -> target id); cleared when full, so memory stays bounded
// while repeated chunks close together (zero blocks, duplicated files) are loaded once.
constexpr size_t kRecentBlobs = 1 << 16;

// True when `copy` looks like the re-encrypted form of `original`: the same entries with the same
// metadata, only blob and subtree ids differing. Guards the incremental shortcut against pairing
// trees that do not belong together.
bool Corresponds(const Tree& original, const Tree& copy) {
  if (original.nodes.size() != copy.nodes.size()) return false;
  for (size_t i = 0; i < original.nodes.size(); ++i) {
    const Node& a = original.nodes[i];
    const Node& b = copy.nodes[i];
    if (a.name != b.name || a.type != b.type || a.size != b.size || a.mtime_ns != b.mtime_ns ||
        a.mode != b.mode || a.content.size() != b.content.size() ||
        a.subtree.has_value() != b.subtree.has_value())
      return false;
  }
  return true;
}

// The blobs one snapshot needs that the target lacks, by source pack; filled by the tree
// walk's worker threads.
class MissingByPack {
 public:
  void Add(const Id& pack, BlobRef blob) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    by_pack_[pack].push_back(blob);
  }
  // Everything added, each pack's blobs sorted and unique. Call once the walk is over.
  std::map<Id, std::vector<BlobRef>> Take() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    for (auto& [pack, blobs] : by_pack_) {
      std::sort(blobs.begin(), blobs.end());
      blobs.erase(std::unique(blobs.begin(), blobs.end()), blobs.end());
    }
    return std::move(by_pack_);
  }

 private:
  Mutex mu_;
  std::map<Id, std::vector<BlobRef>> by_pack_ GUARDED_BY(mu_);
};

// One copy. Threads: Run and everything it calls without a worker pool run on the caller's
// thread, which alone touches the members not guarded by mu_ (result_, the snapshot lists and
// maps, saver_); pack workers (CopyPacks) and tree-walk workers (CollectMissing) update the
// counters under mu_; the reporter thread reads them under mu_ (Progress) and calls the
// caller's progress callback holding nothing.
class CopyRun {
 public:
  CopyRun(Repository& source, Repository& target, const CopyOptions& options)
      : src_(source),
        dst_(target),
        opt_(options),
        phases_(options.context.clock()),
        // Transfers wait on both backends: as many as the busier one serves well.
        pack_workers_(options.pack_workers > 0 ? options.pack_workers
                                               : std::max(WorkersFor(source.backend(), 0),
                                                          WorkersFor(target.backend(), 0))) {}

  // Copies, with a reporter thread when options.progress is set; the phases in the result.
  Result<CopyResult> Run();

 private:
  struct TargetEntry {
    Id id;
    Snapshot snapshot;
  };

  // Lists both repositories and returns the indexes (into source_snapshots_) of the selected
  // snapshots not yet in the target, oldest first; records the others as skipped.
  Result<std::vector<size_t>> Select();
  Result<CopyResult> RunSteps();
  Status CheckCancelled() const;
  Status CheckLocks() const;
  // The run records the target lacks (phase "runs", entered only when the source has any).
  Status CopyRuns();
  // A progress report of the counters now (any thread).
  CopyProgress Progress(bool final) const EXCLUDES(mu_);
  void Committed(const Id& source_id, const Snapshot& source, const Id& target_id,
                 Snapshot stored);

  // Replica mode.
  Status CopyReplica(const Id& id, const Snapshot& s);
  Result<std::map<Id, std::vector<BlobRef>>> CollectMissing(const Id& id, const Snapshot& s);
  Status CopyPacks(const std::map<Id, std::vector<BlobRef>>& by_pack);
  Result<std::vector<PackedBlob>> TransferPack(const Id& pack);

  // Re-encrypt mode.
  Status CopyReencrypted(const Id& id, const Snapshot& s);
  std::optional<TreePair> FindEarlierCopy(size_t index);
  std::optional<Id> MapParent(const Snapshot& s) const;
  Result<Id> RewriteTree(const Id& source_tree, const std::optional<TreePair>& earlier);
  Result<Id> MapDataBlob(const Id& source_blob, const std::unordered_map<Id, Id, IdHash>& earlier);
  bool SameBlobSize(const Id& source_blob, const Id& target_blob) const;

  Repository& src_;
  Repository& dst_;
  const CopyOptions& opt_;
  CopyResult result_;
  std::vector<std::pair<Id, Snapshot>> source_snapshots_;     // oldest first
  std::unordered_map<Id, size_t, IdHash> source_by_id_;       // into source_snapshots_
  std::unordered_map<Id, TargetEntry, IdHash> target_by_identity_;
  std::unique_ptr<UsedBlobs> src_used_;                       // replica: source blobs seen this run
  std::unordered_map<Id, Id, IdHash> tree_map_;               // re-encrypt: source -> target tree
  std::unordered_map<Id, Id, IdHash> recent_blobs_;           // re-encrypt: bounded cache
  std::unique_ptr<BlobSaver> saver_;                          // re-encrypt
  PhaseTimer phases_;  // started and stopped by the caller's thread, read by the reporter
  const int pack_workers_;

  // What progress reports: updated by the caller's thread and the workers, read by the reporter.
  mutable Mutex mu_;
  CopyStats stats_ GUARDED_BY(mu_);  // becomes result_.stats at the end
  uint64_t snapshots_total_ GUARDED_BY(mu_) = 0;
  uint64_t snapshots_done_ GUARDED_BY(mu_) = 0;
  Id current_ GUARDED_BY(mu_);
};

Status CopyRun::CheckCancelled() const {
  if (!opt_.context.done()) return Status::Ok();
  Status st = opt_.context.Check("copy");
  return Status(st.code(), st.message() +
                               "; snapshots not yet written are copied by the next run, which "
                               "reuses the data already transferred");
}

Status CopyRun::CheckLocks() const {
  if (opt_.source_lock) LB_RETURN_IF_ERROR(opt_.source_lock->Check().WithContext("source lock"));
  if (opt_.target_lock) LB_RETURN_IF_ERROR(opt_.target_lock->Check().WithContext("target lock"));
  return Status::Ok();
}

CopyProgress CopyRun::Progress(bool final) const {
  CopyProgress p;
  static_cast<ProgressHead&>(p) = phases_.Head(final);
  MutexLock lock(&mu_);
  p.snapshots_total = snapshots_total_;
  p.snapshots_done = snapshots_done_;
  p.current = current_;
  p.stats = stats_;
  return p;
}

void CopyRun::Committed(const Id& source_id, const Snapshot& source, const Id& target_id,
                        Snapshot stored) {
  {
    MutexLock lock(&mu_);
    stats_.snapshots_copied++;
    snapshots_done_++;
  }
  target_by_identity_[source.Identity(source_id)] = TargetEntry{target_id, stored};
  result_.copied.push_back(CopiedSnapshot{source_id, target_id, std::move(stored)});
  // Holding nothing: the callback may print and take the caller's own locks.
  if (opt_.on_copied) opt_.on_copied(result_.copied.back());
}

Result<std::vector<size_t>> CopyRun::Select() {
  auto listed = src_.ListSnapshots();
  if (!listed.ok()) return listed.status().WithContext("source repository");
  source_snapshots_ = std::move(*listed);
  for (size_t i = 0; i < source_snapshots_.size(); ++i)
    source_by_id_.emplace(source_snapshots_[i].first, i);
  auto targets = dst_.ListSnapshots();
  if (!targets.ok()) return targets.status().WithContext("target repository");
  for (auto& [id, s] : *targets) {
    Id identity = s.Identity(id);
    target_by_identity_.emplace(identity, TargetEntry{id, std::move(s)});
  }

  std::vector<size_t> chosen;
  if (opt_.snapshots.empty()) {
    for (size_t i = 0; i < source_snapshots_.size(); ++i)
      if (opt_.filter.Matches(source_snapshots_[i].second)) chosen.push_back(i);
  } else {
    std::unordered_set<size_t> seen;
    for (const auto& ref : opt_.snapshots) {
      auto found = src_.FindSnapshot(ref, opt_.filter);
      if (!found.ok()) return found.status().WithContext("source repository");
      auto it = source_by_id_.find(found->first);
      size_t index;
      if (it != source_by_id_.end()) {
        index = it->second;
      } else {  // written to the source after it was listed
        index = source_snapshots_.size();
        source_by_id_.emplace(found->first, index);
        source_snapshots_.push_back(std::move(*found));
      }
      if (seen.insert(index).second) chosen.push_back(index);
    }
    std::sort(chosen.begin(), chosen.end(), [&](size_t a, size_t b) {
      const auto& x = source_snapshots_[a];
      const auto& y = source_snapshots_[b];
      if (x.second.time_ns != y.second.time_ns) return x.second.time_ns < y.second.time_ns;
      return x.first < y.first;
    });
  }
  std::vector<size_t> to_copy;
  uint64_t skipped = 0;
  for (size_t i : chosen) {
    const auto& [id, s] = source_snapshots_[i];
    auto it = target_by_identity_.find(s.Identity(id));
    if (it != target_by_identity_.end()) {
      result_.skipped.emplace_back(id, it->second.id);
      skipped++;
    } else {
      to_copy.push_back(i);
    }
  }
  MutexLock lock(&mu_);
  stats_.snapshots_selected = chosen.size();
  stats_.snapshots_skipped += skipped;
  snapshots_total_ = to_copy.size();
  return to_copy;
}

Result<CopyResult> CopyRun::Run() {
  std::function<void(bool final)> report;
  if (opt_.progress) report = [this](bool final) { opt_.progress(Progress(final)); };
  ProgressReporter reporter(std::chrono::milliseconds(opt_.progress_interval_ms), std::move(report),
                            opt_.context.clock());
  Result<CopyResult> result = RunSteps();
  // The final report only after a copy that succeeded; either way the reporter has stopped
  // before the counters are handed over.
  reporter.Stop(result.ok() ? ProgressReporter::FinalReport::kYes
                            : ProgressReporter::FinalReport::kNo);
  if (result.ok()) result->phases = phases_.Finish();
  return result;
}

Result<CopyResult> CopyRun::RunSteps() {
  phases_.Start("select");
  result_.replica = SharesKeyMaterial(src_, dst_);
  LB_ASSIGN_OR_RETURN(std::vector<size_t> to_copy, Select());
  if (!result_.replica && !to_copy.empty()) {
    BlobSaverOptions so;
    so.workers = opt_.save_workers;
    saver_ = std::make_unique<BlobSaver>(dst_, so);
  }
  for (size_t i : to_copy) {
    LB_RETURN_IF_ERROR(CheckCancelled());
    const auto& [id, s] = source_snapshots_[i];
    // Two source snapshots may share an identity (a copy next to its original): the first one
    // copied covers the other.
    auto it = target_by_identity_.find(s.Identity(id));
    if (it != target_by_identity_.end()) {
      result_.skipped.emplace_back(id, it->second.id);
      MutexLock lock(&mu_);
      stats_.snapshots_skipped++;
      snapshots_total_--;
      continue;
    }
    {
      MutexLock lock(&mu_);
      current_ = id;
    }
    Status st = result_.replica ? CopyReplica(id, s) : CopyReencrypted(id, s);
    if (!st.ok()) return st.WithContext("copying snapshot " + id.Short());
  }
  if (opt_.run_records) LB_RETURN_IF_ERROR(CopyRuns().WithContext("copying run records"));
  MutexLock lock(&mu_);
  result_.stats = stats_;
  return std::move(result_);
}

Status CopyRun::CopyRuns() {
  bool any = false;
  LB_RETURN_IF_ERROR(src_.backend().List(ObjectType::kRun, "", [&](const ObjectInfo&) {
    any = true;
    return Status::Ok();
  }));
  if (!any) return Status::Ok();
  phases_.Start("runs");
  LB_RETURN_IF_ERROR(CheckCancelled());
  LB_RETURN_IF_ERROR(CheckLocks());
  LB_ASSIGN_OR_RETURN(CopyRunRecordsResult r, CopyRunRecords(src_, dst_, opt_.context));
  result_.run_records_copied = r.records_copied;
  result_.run_records_present = r.records_present;
  result_.drill_records_copied = r.drill_records_copied;
  result_.drill_records_present = r.drill_records_present;
  result_.incident_records_copied = r.incident_records_copied;
  result_.incident_records_present = r.incident_records_present;
  result_.run_records_not_copied = std::move(r.not_copied);
  return Status::Ok();
}

// --- replica mode ---

Status CopyRun::CopyReplica(const Id& id, const Snapshot& s) {
  phases_.Start("walk");
  LB_ASSIGN_OR_RETURN(auto by_pack, CollectMissing(id, s));
  LB_RETURN_IF_ERROR(CopyPacks(by_pack));
  // Everything the snapshot refers to is stored and indexed: now the snapshot, byte for byte.
  phases_.Start("commit");
  ObjectHandle h{ObjectType::kSnapshot, id.Hex()};
  auto raw = src_.backend().Load(h, 0, 0);
  if (!raw.ok()) return raw.status().WithContext("loading snapshot " + id.Hex() + " from the source");
  if (Id{crypto::Sha256(*raw)} != id)
    return Status::Corruption("snapshot " + id.Hex() +
                              " in the source is damaged: its content does not match its name");
  if (!dst_.index().Has(BlobType::kTree, s.tree))
    return Status::Internal("root tree " + s.tree.Hex() + " is not in the target index after copying");
  LB_RETURN_IF_ERROR(CheckLocks());
  Status st = dst_.backend().Save(h, *raw);
  // Same name means same bytes (the name is their SHA-256): an earlier run stored it already.
  if (!st.ok() && st.code() != StatusCode::kAlreadyExists)
    return st.WithContext("storing snapshot " + id.Hex() + " in the target");
  Committed(id, s, id, s);
  return Status::Ok();
}

Result<std::map<Id, std::vector<BlobRef>>> CopyRun::CollectMissing(const Id& id,
                                                                   const Snapshot& s) {
  // Trees walked for an earlier snapshot of this run are not walked again: their blobs were
  // collected (and copied) then.
  if (!src_used_) {
    src_.index().Compact();
    src_used_ = std::make_unique<UsedBlobs>(src_.index().blob_count());
  }
  MissingByPack missing;
  FindUsedOptions o;
  o.walk.workers = pack_workers_;
  o.walk.context = opt_.context;
  o.walk.on_error = [](const TreeLoadError& e) {
    return e.status.WithContext("source repository");
  };
  o.on_missing = [&](const MissingBlob& m) {
    return Status::NotFound(std::string(BlobTypeName(m.type)) + " blob " + m.id.Hex() +
                            " of snapshot " + id.Short() +
                            " is not in the source index (data missing in the source; run "
                            "`lifeboat check` there)");
  };
  o.on_first_use = [&](BlobType type, const Id& blob, size_t position) {
    if (dst_.index().Has(type, blob)) return Status::Ok();
    missing.Add(src_.index().AtPosition(position).pack, BlobRef{type, blob});
    return Status::Ok();
  };
  uint64_t trees_before = src_used_->trees();
  Status st = FindUsedBlobs(src_, {s.tree}, o, src_used_.get());
  {
    MutexLock lock(&mu_);
    stats_.trees_walked += src_used_->trees() - trees_before;
  }
  if (st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded)
    return CheckCancelled();
  LB_RETURN_IF_ERROR(st);
  return missing.Take();
}

Status CopyRun::CopyPacks(const std::map<Id, std::vector<BlobRef>>& by_pack) {
  std::vector<const std::pair<const Id, std::vector<BlobRef>>*> packs;
  for (const auto& entry : by_pack) packs.push_back(&entry);
  size_t per_index = std::max<size_t>(1, opt_.packs_per_index);
  for (size_t start = 0; start < packs.size(); start += per_index) {
    size_t count = std::min(per_index, packs.size() - start);
    std::vector<std::vector<PackedBlob>> headers(count);
    phases_.Start("transfer");
    LB_RETURN_IF_ERROR(ParallelForUntilError(count, pack_workers_, [&](size_t k) -> Status {
      LB_RETURN_IF_ERROR(CheckCancelled());
      const auto& [pack, needed] = *packs[start + k];
      LB_ASSIGN_OR_RETURN(headers[k], TransferPack(pack));
      // The source index placed these blobs in this pack; its header must agree, or the target
      // would get a snapshot whose data it cannot find.
      std::vector<BlobRef> present;
      present.reserve(headers[k].size());
      for (const PackedBlob& b : headers[k]) present.push_back(BlobRef{b.type, b.id});
      std::sort(present.begin(), present.end());
      for (const BlobRef& b : needed)
        if (!std::binary_search(present.begin(), present.end(), b))
          return Status::Corruption("the source index places " +
                                    std::string(BlobTypeName(b.type)) + " blob " + b.id.Hex() +
                                    " in pack " + pack.Hex() +
                                    ", but the pack's header does not list it (run `lifeboat "
                                    "check` on the source)");
      return Status::Ok();
    }));
    // The packs are stored; now the index file that makes them findable.
    phases_.Start("index");
    IndexFile file;
    for (size_t k = 0; k < count; ++k) {
      const Id& pack = packs[start + k]->first;
      dst_.index().AddPack(pack, headers[k]);
      file.packs.push_back(IndexFile::Pack{pack, std::move(headers[k])});
    }
    auto written = dst_.SaveUnpacked(ObjectType::kIndex, EncodeIndexFile(file));
    if (!written.ok()) return written.status().WithContext("saving an index file in the target");
    MutexLock lock(&mu_);
    stats_.index_files++;
  }
  return Status::Ok();
}

Result<std::vector<PackedBlob>> CopyRun::TransferPack(const Id& pack) {
  const std::string name = pack.Hex();
  const ObjectHandle h{ObjectType::kPack, name};
  auto existing = dst_.backend().Stat(h);
  if (existing.ok()) {
    // Stored by an earlier, interrupted copy (objects are written atomically, so it is whole), but
    // not indexed. Verified like a transfer before it is indexed, without moving it again.
    auto stored = dst_.backend().Load(h, 0, 0);
    if (!stored.ok())
      return stored.status().WithContext("loading pack " + name + " already in the target");
    if (Id{crypto::Sha256(*stored)} != pack)
      return Status::Corruption(
          "pack " + name +
          " already in the target (from an earlier, interrupted copy) is damaged: its content "
          "does not match its name; run `lifeboat check` on the target");
    auto blobs = ParsePack(dst_.aead(), name, *stored);
    if (!blobs.ok()) return blobs.status().WithContext("target repository");
    MutexLock lock(&mu_);
    stats_.packs_reused++;
    return blobs;
  }
  if (!existing.status().IsNotFound())
    return existing.status().WithContext("checking the target for pack " + name);

  auto data = src_.backend().Load(h, 0, 0);
  if (!data.ok() && !(data.status().IsNotFound() && src_.has_fallbacks()))
    return data.status().WithContext("loading pack " + name + " from the source");
  if (!data.ok() || Id{crypto::Sha256(*data)} != pack) {
    Status damage =
        !data.ok() ? Status::NotFound("pack " + name + " is missing from the source")
                   : Status::Corruption("pack " + name +
                                        " in the source is damaged: its content does not match "
                                        "its name; it was not copied (run `lifeboat check "
                                        "--read-data` on the source)");
    if (!src_.has_fallbacks()) return damage;
    // A replica of the source (--fallback) may hold an intact copy under the same name.
    LB_ASSIGN_OR_RETURN(auto served, src_.LoadPackFromFallbacks(pack, damage));
    data = std::move(served.first);
  }
  auto blobs = ParsePack(src_.aead(), name, *data);
  if (!blobs.ok()) return blobs.status().WithContext("source repository");
  Status st = dst_.backend().Save(h, *data);
  // AlreadyExists: stored meanwhile (or a retried save whose first attempt landed); the name is
  // the SHA-256 of the bytes, so it holds the same pack.
  if (!st.ok() && st.code() != StatusCode::kAlreadyExists)
    return st.WithContext("storing pack " + name + " in the target");
  MutexLock lock(&mu_);
  stats_.packs_copied++;
  stats_.pack_bytes_copied += data->size();
  return blobs;
}

// --- re-encrypt mode ---

Status CopyRun::CopyReencrypted(const Id& id, const Snapshot& s) {
  phases_.Start("transfer");
  std::optional<TreePair> earlier = FindEarlierCopy(source_by_id_.at(id));
  LB_ASSIGN_OR_RETURN(Id root, RewriteTree(s.tree, earlier));
  // Every blob stored and indexed before the snapshot refers to them.
  LB_RETURN_IF_ERROR(saver_->Flush());
  BlobSaverStats saved = saver_->stats();
  {
    MutexLock lock(&mu_);
    stats_.blobs_reencrypted = saved.new_blobs;
    stats_.bytes_reencrypted = saved.new_raw_bytes;
    stats_.bytes_reencrypted_stored = saved.new_stored_bytes;
    stats_.index_files = saved.index_files;
  }
  phases_.Start("commit");
  Snapshot out = s;
  out.tree = root;
  out.original = s.Identity(id);
  out.parent = MapParent(s);
  LB_RETURN_IF_ERROR(CheckLocks());
  auto new_id = dst_.SaveSnapshot(out);
  if (!new_id.ok()) return new_id.status().WithContext("storing the snapshot in the target");
  Committed(id, s, *new_id, std::move(out));
  return Status::Ok();
}

std::optional<Id> CopyRun::MapParent(const Snapshot& s) const {
  if (!s.parent) return std::nullopt;
  auto it = source_by_id_.find(*s.parent);
  if (it == source_by_id_.end()) return std::nullopt;
  const auto& [pid, parent] = source_snapshots_[it->second];
  auto t = target_by_identity_.find(parent.Identity(pid));
  if (t == target_by_identity_.end()) return std::nullopt;
  return t->second.id;
}

// An earlier source snapshot whose copy is already in the target — the parent, else the newest
// older one of the same host and paths — as (its source root tree, its target root tree).
std::optional<TreePair> CopyRun::FindEarlierCopy(size_t index) {
  const auto& [id, s] = source_snapshots_[index];
  // id named by an init-capture: clang before 16 cannot capture structured bindings.
  auto usable = [&, &id = id](size_t i) -> std::optional<TreePair> {
    const auto& [pid, p] = source_snapshots_[i];
    if (pid == id) return std::nullopt;
    auto t = target_by_identity_.find(p.Identity(pid));
    if (t == target_by_identity_.end()) return std::nullopt;
    const Snapshot& copy = t->second.snapshot;
    // A copy keeps these fields; anything else (say, a repaired snapshot) is not used.
    if (copy.time_ns != p.time_ns || copy.hostname != p.hostname || copy.paths != p.paths ||
        copy.repaired_from != p.repaired_from)
      return std::nullopt;
    return TreePair{p.tree, copy.tree};
  };
  if (s.parent) {
    auto it = source_by_id_.find(*s.parent);
    if (it != source_by_id_.end())
      if (auto pair = usable(it->second)) return pair;
  }
  for (size_t i = index; i-- > 0;) {
    const Snapshot& p = source_snapshots_[i].second;
    if (p.hostname != s.hostname || p.paths != s.paths || p.time_ns > s.time_ns) continue;
    if (auto pair = usable(i)) return pair;
  }
  return std::nullopt;
}

bool CopyRun::SameBlobSize(const Id& source_blob, const Id& target_blob) const {
  auto a = src_.index().Find(BlobType::kData, source_blob);
  auto b = dst_.index().Find(BlobType::kData, target_blob);
  return a && b && a->raw_length == b->raw_length;
}

Result<Id> CopyRun::RewriteTree(const Id& source_tree, const std::optional<TreePair>& earlier) {
  if (auto it = tree_map_.find(source_tree); it != tree_map_.end()) return it->second;
  // Unchanged since the earlier copy: its target tree is complete (its snapshot was committed).
  if (earlier && earlier->source == source_tree &&
      dst_.index().Has(BlobType::kTree, earlier->target)) {
    tree_map_.emplace(source_tree, earlier->target);
    MutexLock lock(&mu_);
    stats_.trees_reused++;
    return earlier->target;
  }
  LB_RETURN_IF_ERROR(CheckCancelled());
  auto loaded = src_.LoadTree(source_tree);
  if (!loaded.ok()) return loaded.status().WithContext("source repository");
  Tree tree = std::move(*loaded);
  {
    MutexLock lock(&mu_);
    stats_.trees_walked++;
  }
  // The earlier copy's trees at this path, used only while they still correspond node by node.
  // Failing to read them is not an error: the shortcut is simply not taken.
  std::optional<Tree> prev_src, prev_dst;
  if (earlier) {
    auto a = src_.LoadTree(earlier->source);
    auto b = dst_.LoadTree(earlier->target);
    if (a.ok() && b.ok() && Corresponds(*a, *b)) {
      prev_src = std::move(*a);
      prev_dst = std::move(*b);
    }
  }
  Tree out;
  out.nodes.reserve(tree.nodes.size());
  size_t j = 0;
  std::unordered_map<Id, Id, IdHash> earlier_blobs;
  for (Node& node : tree.nodes) {
    const Node* ps = nullptr;
    const Node* pd = nullptr;
    if (prev_src) {
      while (j < prev_src->nodes.size() && prev_src->nodes[j].name < node.name) ++j;
      if (j < prev_src->nodes.size() && prev_src->nodes[j].name == node.name) {
        ps = &prev_src->nodes[j];
        pd = &prev_dst->nodes[j];
      }
    }
    if (node.subtree) {
      std::optional<TreePair> child;
      if (ps && ps->subtree && pd->subtree) child = TreePair{*ps->subtree, *pd->subtree};
      LB_ASSIGN_OR_RETURN(Id sub, RewriteTree(*node.subtree, child));
      node.subtree = sub;
    }
    if (!node.content.empty()) {
      earlier_blobs.clear();
      if (ps && pd && ps->content.size() == pd->content.size())
        for (size_t i = 0; i < ps->content.size(); ++i)
          earlier_blobs.emplace(ps->content[i], pd->content[i]);
      for (Id& blob : node.content) {
        LB_ASSIGN_OR_RETURN(blob, MapDataBlob(blob, earlier_blobs));
      }
    }
    out.nodes.push_back(std::move(node));
  }
  Bytes encoded = EncodeTree(out);
  Id new_id = dst_.codec().ComputeId(encoded);
  auto saved = saver_->Save(BlobType::kTree, new_id, std::move(encoded));
  if (!saved.ok()) return saved.status().WithContext("target repository");
  tree_map_.emplace(source_tree, new_id);
  return new_id;
}

Result<Id> CopyRun::MapDataBlob(const Id& source_blob,
                                const std::unordered_map<Id, Id, IdHash>& earlier) {
  if (auto it = earlier.find(source_blob); it != earlier.end() && SameBlobSize(source_blob, it->second))
    return it->second;
  if (auto it = recent_blobs_.find(source_blob); it != recent_blobs_.end()) return it->second;
  LB_RETURN_IF_ERROR(CheckCancelled());
  auto plain = src_.LoadBlob(BlobType::kData, source_blob);
  if (!plain.ok()) return plain.status().WithContext("source repository");
  Id target_blob = dst_.codec().ComputeId(*plain);
  uint64_t size = plain->size();
  auto saved = saver_->Save(BlobType::kData, target_blob, std::move(*plain));
  if (!saved.ok()) return saved.status().WithContext("target repository");
  if (recent_blobs_.size() >= kRecentBlobs) recent_blobs_.clear();
  recent_blobs_.emplace(source_blob, target_blob);
  MutexLock lock(&mu_);
  stats_.blobs_loaded++;
  stats_.bytes_loaded += size;
  return target_blob;
}

}  // namespace

Result<CopyResult> CopySnapshots(Repository& source, Repository& target,
                                 const CopyOptions& options) {
  CopyRun run(source, target, options);
  return run.Run();
}

}  // namespace lifeboat
