#include "checker/checker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "backend/backend.h"
#include "checker/affected_files.h"
#include "checker/problem_log.h"
#include "crypto/crypto.h"
#include "pack/pack.h"
#include "repository/tree_walker.h"
#include "runlog/run_records.h"
#include "util/mutex.h"
#include "util/parallel_for.h"
#include "util/phase_timer.h"
#include "util/progress_reporter.h"
#include "util/thread_annotations.h"

namespace lifeboat {

namespace {

struct BlobKey {
  Id id;
  BlobType type;
  bool operator==(const BlobKey&) const = default;
};
struct BlobKeyHash {
  size_t operator()(const BlobKey& k) const { return IdHash()(k.id) ^ static_cast<size_t>(k.type); }
};

using checker_internal::ProblemLog;

// Damage known to the check, each mapped to the error that files using it are added to (a
// ProblemLog handle), and the packs to repair.
struct KnownDamage {
  std::unordered_map<Id, int64_t, IdHash> damaged_packs;  // missing, unreadable or damaged
  std::unordered_map<BlobKey, int64_t, BlobKeyHash> damaged_blobs;
  std::unordered_map<BlobKey, int64_t, BlobKeyHash> missing_blobs;  // no index lists them
  std::unordered_map<Id, int64_t, IdHash> unloadable_trees;
  std::unordered_map<Id, int64_t, IdHash> trees_missing_subtree;  // a dir node without subtree
  // Packs for `repair packs` (CheckResult::damaged_packs).
  std::unordered_set<Id, IdHash> packs_to_repair;
  // Packs whose header is damaged but whose blobs were verified through the index
  // (ExamineHeaderlessPack).
  std::unordered_set<Id, IdHash> header_examined;

  bool empty() const {
    return damaged_packs.empty() && damaged_blobs.empty() && missing_blobs.empty() &&
           unloadable_trees.empty() && trees_missing_subtree.empty();
  }
};

std::string ShortList(const std::vector<std::string>& items, uint64_t total) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  if (total > items.size()) out += ", ...";
  return out;
}

class Checker {
 public:
  Checker(Repository& repo, const CheckOptions& options)
      : repo_(repo),
        options_(options),
        workers_(WorkersFor(repo.backend(), options.workers)),
        phases_(options.context.clock()) {}

  // Runs the phases with a progress reporter beside them (the final report once the phases are
  // timed, before the problems leave the log).
  Result<CheckResult> Run() {
    std::function<void(bool)> report;
    // A periodic report names the phase it reports on: one due before the first phase started
    // (the reporter runs from here on) or after the last ended has none and is not sent.
    if (options_.progress) {
      report = [this](bool final) {
        CheckProgress p = Progress(final);
        if (!final && p.phase.empty()) return;
        options_.progress(p);
      };
    }
    ProgressReporter reporter(std::chrono::milliseconds(options_.progress_interval_ms),
                              std::move(report), options_.context.clock());
    Status st = RunPhases();
    if (st.ok()) st = options_.context.Check("check");
    result_.phases = phases_.Finish();
    if (!st.ok()) {
      reporter.Stop(ProgressReporter::FinalReport::kNo);
      return st;
    }
    reporter.Stop();
    log_.MoveInto(&result_);
    return std::move(result_);
  }

 private:
  Status RunPhases() {
    StartPhase("index");
    CheckConfigAndKeys();
    LB_RETURN_IF_ERROR(ListPacks());
    LB_RETURN_IF_ERROR(LoadIndexFiles());
    StartPhase("packs");
    LB_RETURN_IF_ERROR(CheckPackHeaders());
    StartPhase("snapshots");
    LB_RETURN_IF_ERROR(LoadSnapshots());
    if (options_.read_data || options_.subset || options_.subset_percent || options_.subset_bytes) {
      StartPhase("read-data");
      LB_RETURN_IF_ERROR(ReadData());
    }
    // The walk runs once every kind of damage in packs is known; then every (snapshot, path)
    // that runs into any damage found is named.
    StartPhase("trees");
    LB_RETURN_IF_ERROR(WalkTrees());
    ComputeUnused();
    KnownDamage damage;
    {
      MutexLock lock(&damage_mu_);
      damage = std::move(damage_);
    }
    if (!damage.empty()) {
      StartPhase("affected");
      LB_RETURN_IF_ERROR(NameAffectedFiles(damage));
    }
    result_.trees = used_->trees();
    result_.packs_read = packs_read_;
    result_.damaged_packs.assign(damage.packs_to_repair.begin(), damage.packs_to_repair.end());
    std::sort(result_.damaged_packs.begin(), result_.damaged_packs.end());
    return Status::Ok();
  }

  // Starts `phase` with its counters at zero.
  void StartPhase(std::string_view phase) EXCLUDES(phase_mu_) {
    MutexLock lock(&phase_mu_);
    done_ = 0;
    bytes_done_ = 0;
    total_ = 0;
    bytes_total_ = 0;
    phases_.Start(phase);
  }
  // The current phase's totals, once known.
  void SetTotals(uint64_t total, uint64_t bytes_total = 0) EXCLUDES(phase_mu_) {
    MutexLock lock(&phase_mu_);
    total_ = total;
    bytes_total_ = bytes_total;
  }
  // A progress report, on the reporter's thread: the phase and its counters copied together
  // (under phase_mu_, released before the caller calls out), then the errors (the log's lock).
  CheckProgress Progress(bool final) EXCLUDES(phase_mu_) {
    CheckProgress p;
    {
      MutexLock lock(&phase_mu_);
      static_cast<ProgressHead&>(p) = phases_.Head(final);
      p.done = done_.load(std::memory_order_relaxed);
      p.total = total_;
      p.bytes_done = bytes_done_.load(std::memory_order_relaxed);
      p.bytes_total = bytes_total_;
    }
    p.errors = log_.error_count();
    return p;
  }

  std::string Where(uint32_t snapshot, const std::string& path) const {
    return "snapshot " + snapshots_[snapshot].first.Short() + ": " + (path.empty() ? "/" : path);
  }

  void CheckConfigAndKeys() {
    Backend& backend = repo_.backend();
    auto data = backend.Load({ObjectType::kConfig, ""}, 0, 0);
    if (!data.ok()) {
      log_.Error("config", "config", "cannot be read: " + data.status().message());
    } else {
      auto config = DecodeConfig(*data, repo_.aead());
      if (!config.ok()) {
        log_.Error("config", "config", config.status().message());
      } else if (config->id != repo_.config().id) {
        log_.Error("config", "config", "repository id changed while the repository was open");
      }
    }
    std::vector<std::string> keys;
    Status st = backend.List(ObjectType::kKey, "", [&](const ObjectInfo& info) {
      keys.push_back(info.name);
      return Status::Ok();
    });
    if (!st.ok()) {
      log_.Error("key", "", "key files cannot be listed: " + st.message());
      return;
    }
    for (const auto& name : keys) {
      auto file = backend.Load({ObjectType::kKey, name}, 0, 0);
      if (!file.ok()) {
        log_.Error("key", name, "cannot be read: " + file.status().message());
      } else if (HexEncode(crypto::Sha256(*file)) != name) {
        log_.Error("key", name, "content does not match its name (damaged)");
      } else if (auto info = ParseKeyFileInfo(*file); !info.ok()) {
        log_.Error("key", name, info.status().message());
      }
    }
  }

  Status ListPacks() {
    return repo_.backend().List(ObjectType::kPack, "", [&](const ObjectInfo& info) {
      auto id = Id::FromHex(info.name);
      if (!id) {
        log_.Warning("pack", info.name, "object in the pack area whose name is not a pack id");
      } else {
        pack_sizes_[*id] = info.size;
      }
      return Status::Ok();
    });
  }

  // Loads every index file in force. Files that another file supersedes (§7) are leftovers of an
  // interrupted prune or repair: a warning, and their entries are dropped again (a second pass,
  // needed only then).
  Status LoadIndexFiles() {
    std::vector<std::string> names;
    LB_RETURN_IF_ERROR(repo_.backend().List(ObjectType::kIndex, "", [&](const ObjectInfo& info) {
      names.push_back(info.name);
      return Status::Ok();
    }));
    std::sort(names.begin(), names.end());
    SetTotals(names.size());
    // One writer per element: file i's worker.
    std::vector<char> loaded(names.size(), 0);
    std::vector<std::optional<std::string>> failure(names.size());
    std::vector<std::vector<Id>> supersedes(names.size());
    auto load = [&](size_t i) -> Result<IndexFile> {
      auto plain = repo_.LoadUnpacked(ObjectType::kIndex, names[i]);
      if (!plain.ok()) return plain.status();
      return DecodeIndexFile(*plain);
    };
    ParallelFor(names.size(), workers_, options_.context.cancel_flag(), [&](size_t i) {
      Result<IndexFile> file = load(i);
      if (!file.ok()) {
        failure[i] = file.status().message();
      } else {
        for (const auto& pack : file->packs) repo_.index().BulkAdd(pack.name, pack.blobs);
        loaded[i] = 1;
        supersedes[i] = std::move(file->supersedes);
      }
      ++done_;
    });
    LB_RETURN_IF_ERROR(options_.context.Check("check"));
    std::unordered_set<Id, IdHash> superseded;
    for (const std::vector<Id>& ids : supersedes) superseded.insert(ids.begin(), ids.end());
    auto is_superseded = [&](size_t i) {
      auto id = Id::FromHex(names[i]);
      return id && superseded.count(*id) > 0;
    };
    for (size_t i = 0; i < names.size(); ++i) {
      if (!failure[i] || is_superseded(i)) continue;  // replaced anyway; warned about below
      walk_complete_ = false;  // its blobs are missing, so "unused" would be wrong
      log_.Error("index", names[i],
                 *failure[i] +
                     " (the blobs it lists count as missing until the index is rebuilt "
                     "with `lifeboat repair index`)");
    }
    bool reload = false;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!is_superseded(i)) continue;
      log_.Warning("index", names[i],
                   "superseded by a newer index file (left over from an interrupted prune or "
                   "repair); it is ignored, and the next prune or repair index removes it");
      reload = reload || loaded[i];
    }
    if (reload) {
      repo_.index().Clear();
      std::vector<size_t> in_force;
      for (size_t i = 0; i < names.size(); ++i)
        if (loaded[i] && !is_superseded(i)) in_force.push_back(i);
      ParallelFor(in_force.size(), workers_, options_.context.cancel_flag(), [&](size_t k) {
        Result<IndexFile> file = load(in_force[k]);
        if (!file.ok()) {  // it loaded a moment ago: the backend changed under the check
          walk_complete_ = false;
          log_.Error("index", names[in_force[k]], file.status().message());
          return;
        }
        for (const auto& pack : file->packs) repo_.index().BulkAdd(pack.name, pack.blobs);
      });
      LB_RETURN_IF_ERROR(options_.context.Check("check"));
    }
    repo_.index().Compact();
    used_ = std::make_unique<UsedBlobs>(repo_.index().blob_count());
    return Status::Ok();
  }

  // Compares every indexed pack's header with the index, and finds missing and unreferenced
  // packs. Memory: the index itself plus bookkeeping for damaged packs only.
  Status CheckPackHeaders() {
    MasterIndex& index = repo_.index();
    std::unordered_map<Id, uint32_t, IdHash> counts;
    index.ForEach([&](const Id& pack, const PackedBlob& b) {
      ++counts[pack];
      if (b.type == BlobType::kData) ++result_.data_blobs;
    });
    indexed_packs_ = index.Packs();
    std::sort(indexed_packs_.begin(), indexed_packs_.end());
    result_.packs = indexed_packs_.size();

    std::unordered_set<Id, IdHash> indexed(indexed_packs_.begin(), indexed_packs_.end());
    for (const auto& [pack, size] : pack_sizes_) {
      if (!indexed.count(pack))
        log_.Warning("pack", pack.Hex(),
                     "unreferenced pack (" + std::to_string(size) +
                         " bytes) that no index names; it can be removed by prune or added back "
                         "by repair index");
    }

    enum class What { kMissing, kUnreadable, kMismatch };
    struct Outcome {
      What what;
      std::string message;
      std::unordered_map<BlobKey, PackedBlob, BlobKeyHash> header;  // kMismatch only
      uint64_t bad = 0;
      std::vector<std::string> examples;
      std::vector<PackedBlob> indexed;  // kUnreadable only: where the index says the blobs are
    };
    struct Found {  // the packs' workers add what they find, one at a time
      Mutex mu;
      std::unordered_map<Id, Outcome, IdHash> outcomes GUARDED_BY(mu);
    } found;
    SetTotals(indexed_packs_.size());
    ParallelFor(indexed_packs_.size(), workers_, options_.context.cancel_flag(), [&](size_t i) {
      const Id& pack = indexed_packs_[i];
      auto finish = [&](std::optional<Outcome> o) {
        if (o) {
          MutexLock lock(&found.mu);
          found.outcomes.emplace(pack, std::move(*o));
        }
        ++done_;
      };
      auto size = pack_sizes_.find(pack);
      if (size == pack_sizes_.end()) return finish(Outcome{What::kMissing, "", {}, 0, {}, {}});
      auto header = ReadPackHeader(repo_.backend(), repo_.aead(), pack.Hex(), size->second);
      if (!header.ok())
        return finish(Outcome{What::kUnreadable, header.status().message(), {}, 0, {}, {}});
      uint64_t matched = 0, unindexed = 0;
      for (const PackedBlob& e : *header) {
        auto loc = index.Find(e.type, e.id);
        if (!loc) {
          ++unindexed;
        } else if (loc->pack == pack && loc->offset == e.offset &&
                   loc->stored_length == e.stored_length && loc->raw_length == e.raw_length) {
          ++matched;
        }
      }
      if (unindexed > 0)
        log_.Warning("pack", pack.Hex(),
                     std::to_string(unindexed) +
                         " blob(s) in the pack header are not in any index; repair index can "
                         "add them");
      auto count = counts.find(pack);
      if (matched == (count == counts.end() ? 0 : count->second)) return finish(std::nullopt);
      Outcome o{What::kMismatch, "", {}, 0, {}, {}};
      for (const PackedBlob& e : *header) o.header.emplace(BlobKey{e.id, e.type}, e);
      finish(std::move(o));
    });
    LB_RETURN_IF_ERROR(options_.context.Check("check"));
    std::unordered_map<Id, Outcome, IdHash> outcomes;
    {
      MutexLock lock(&found.mu);
      outcomes = std::move(found.outcomes);
    }
    if (outcomes.empty()) return Status::Ok();

    // One pass over the index names the blobs of every damaged pack.
    std::vector<std::pair<Id, BlobKey>> mismatched;
    index.ForEach([&](const Id& pack, const PackedBlob& b) {
      auto it = outcomes.find(pack);
      if (it == outcomes.end()) return;
      Outcome& o = it->second;
      std::string name = std::string(BlobTypeName(b.type)) + " " + b.id.Short();
      if (o.what != What::kMismatch) {
        ++o.bad;
        if (o.examples.size() < 5) o.examples.push_back(name);
        if (o.what == What::kUnreadable) o.indexed.push_back(b);
        return;
      }
      auto h = o.header.find(BlobKey{b.id, b.type});
      std::string detail;
      if (h == o.header.end()) {
        detail = name + " is not in the pack";
      } else if (h->second.offset != b.offset || h->second.stored_length != b.stored_length ||
                 h->second.raw_length != b.raw_length) {
        detail = name + ": index says offset " + std::to_string(b.offset) + " length " +
                 std::to_string(b.stored_length) + "/" + std::to_string(b.raw_length) +
                 ", pack header says offset " + std::to_string(h->second.offset) + " length " +
                 std::to_string(h->second.stored_length) + "/" +
                 std::to_string(h->second.raw_length);
      } else {
        return;
      }
      ++o.bad;
      if (o.examples.size() < 3) o.examples.push_back(detail);
      mismatched.emplace_back(pack, BlobKey{b.id, b.type});
    });
    std::unordered_map<Id, int64_t, IdHash> handles;
    for (auto& [pack, o] : outcomes) {
      std::string message;
      switch (o.what) {
        case What::kMissing:
          message = "pack is missing from the backend; the index lists " + std::to_string(o.bad) +
                    " blob(s) in it (" + ShortList(o.examples, o.bad) +
                    ") which are lost unless another copy exists";
          break;
        case What::kUnreadable: {
          // Each blob is authenticated by itself: the index may still reach all of them.
          auto data = repo_.backend().Load({ObjectType::kPack, pack.Hex()}, 0, 0);
          if (data.ok() && ExamineHeaderlessPack(pack, o.message, *data, o.indexed)) continue;
          message = o.message + "; its " + std::to_string(o.bad) + " indexed blob(s) (" +
                    ShortList(o.examples, o.bad) + ") cannot be read";
          break;
        }
        case What::kMismatch:
          if (o.bad == 0) continue;  // header changed between the two looks; nothing to say
          message = "index and pack header disagree about " + std::to_string(o.bad) +
                    " blob(s): " + ShortList(o.examples, o.bad);
          break;
      }
      int64_t h = log_.Error("pack", pack.Hex(), message);
      handles[pack] = h;
      if (o.what != What::kMismatch) {
        MutexLock lock(&damage_mu_);
        damage_.damaged_packs.emplace(pack, h);
        damage_.packs_to_repair.insert(pack);
      }
    }
    MutexLock lock(&damage_mu_);
    for (const auto& [pack, key] : mismatched) damage_.damaged_blobs.emplace(key, handles[pack]);
    return Status::Ok();
  }

  // A pack whose header cannot be read (`why`), whose bytes are `data`: verifies each blob where
  // the index says it is (`indexed`). When some verify, reports the pack precisely (header
  // damaged, which blobs are still reachable), marks the ones that do not as damaged blobs, lists
  // the pack for `repair packs` and returns true. Returns false, reporting nothing, when none
  // verifies: the caller reports the pack as unreadable. Thread-safe (ReadData's workers call it
  // for different packs).
  bool ExamineHeaderlessPack(const Id& pack, const std::string& why, ByteView data,
                             const std::vector<PackedBlob>& indexed) EXCLUDES(damage_mu_) {
    std::vector<std::pair<PackedBlob, std::string>> failed;
    Bytes plain;
    for (const PackedBlob& b : indexed) {
      Status st = uint64_t{b.offset} + b.stored_length > data.size()
                      ? Status::Corruption("lies beyond the end of the pack")
                      : repo_.codec().Decode(data.subspan(b.offset, b.stored_length), b.id,
                                             b.raw_length, &plain);
      if (!st.ok()) failed.emplace_back(b, st.message());
    }
    if (indexed.empty() || failed.size() == indexed.size()) return false;
    std::string name = pack.Hex();
    std::string n = std::to_string(indexed.size());
    std::string header_problem = why;  // without the "pack <name>: " the error already shows
    if (header_problem.rfind("pack " + name + ": ", 0) == 0)
      header_problem.erase(0, name.size() + 7);
    std::string message = "pack header is damaged (" + header_problem + "); ";
    if (failed.empty()) {
      message += "all " + n + " blob(s) the index lists in it read and verify one by one, so " +
                 "the data is reachable and no file is affected; `lifeboat repair packs " +
                 pack.Short() + "` rewrites them into a pack with a sound header";
    } else {
      message += std::to_string(indexed.size() - failed.size()) + " of the " + n +
                 " blob(s) the index lists in it read and verify one by one (reachable); " +
                 std::to_string(failed.size()) + " are damaged (reported below)";
    }
    log_.Error("pack", name, message);
    std::vector<std::pair<BlobKey, int64_t>> damaged;
    for (const auto& [b, reason] : failed) {
      int64_t h = log_.Error(b.type == BlobType::kTree ? "tree" : "blob", b.id.Hex(),
                             std::string(BlobTypeName(b.type)) + " blob in pack " + name +
                                 " (whose header is damaged) is damaged: " + reason);
      // Only the copy that readers use affects files (as in ReadData).
      auto loc = repo_.index().Find(b.type, b.id);
      if (loc && loc->pack == pack) damaged.emplace_back(BlobKey{b.id, b.type}, h);
    }
    MutexLock lock(&damage_mu_);
    damage_.header_examined.insert(pack);
    damage_.packs_to_repair.insert(pack);
    damage_.damaged_blobs.insert(damaged.begin(), damaged.end());
    return true;
  }

  Status LoadSnapshots() {
    std::vector<std::string> names;
    LB_RETURN_IF_ERROR(repo_.backend().List(ObjectType::kSnapshot, "", [&](const ObjectInfo& info) {
      names.push_back(info.name);
      return Status::Ok();
    }));
    std::sort(names.begin(), names.end());
    SetTotals(names.size());
    std::vector<std::optional<std::pair<Id, Snapshot>>> loaded(names.size());  // one writer each
    ParallelFor(names.size(), workers_, options_.context.cancel_flag(), [&](size_t i) {
      auto id = Id::FromHex(names[i]);
      if (!id) {
        walk_complete_ = false;
        log_.Error("snapshot", names[i], "object name is not a snapshot id");
      } else if (auto s = repo_.LoadSnapshot(*id); !s.ok()) {
        walk_complete_ = false;
        log_.Error("snapshot", names[i], s.status().message());
      } else {
        loaded[i].emplace(*id, std::move(*s));
      }
      ++done_;
    });
    LB_RETURN_IF_ERROR(options_.context.Check("check"));
    for (auto& s : loaded)
      if (s) snapshots_.push_back(std::move(*s));
    std::sort(snapshots_.begin(), snapshots_.end(), [](const auto& a, const auto& b) {
      if (a.second.time_ns != b.second.time_ns) return a.second.time_ns < b.second.time_ns;
      return a.first < b.first;
    });
    result_.snapshots = snapshots_.size();
    return CheckRunRecords();
  }

  // Run records (format §12): each object must load, open and parse. A damaged one is damage
  // (it names itself); one of a newer version is a warning (this Lifeboat cannot judge it). They
  // hold no data any snapshot needs, so neither affects the tree walk.
  Status CheckRunRecords() {
    Result<RunRecordListing> listing = ListRunRecords(repo_, {}, options_.context);
    if (!listing.ok()) return listing.status().WithContext("checking run records");
    for (const UnreadableRunObject& u : listing->unreadable) {
      if (u.newer_version)
        log_.Warning("run", u.name, u.status.message());
      else
        log_.Error("run", u.name, u.status.message());
    }
    return Status::Ok();
  }

  std::vector<Id> SelectPacksToRead() {
    std::vector<Id> candidates;
    for (const Id& pack : indexed_packs_)
      if (pack_sizes_.count(pack)) candidates.push_back(pack);
    if (options_.subset) {
      auto [n, m] = *options_.subset;
      std::vector<Id> out;
      for (const Id& pack : candidates)
        if (pack.bytes[0] % m == n - 1) out.push_back(pack);
      return out;
    }
    if (options_.subset_percent || options_.subset_bytes) {
      uint64_t seed = options_.subset_seed;
      if (seed == 0) seed = (uint64_t{std::random_device()()} << 32) ^ std::random_device()();
      std::mt19937_64 rng(seed);
      std::shuffle(candidates.begin(), candidates.end(), rng);
      size_t k = 0;
      if (options_.subset_percent) {
        double pct = std::clamp(*options_.subset_percent, 0.0, 100.0);
        k = static_cast<size_t>(std::ceil(pct / 100.0 * double(candidates.size())));
        if (k == 0 && pct > 0) k = 1;
      } else {
        // Draw until the total reaches the size: at least one pack, at most one pack too many.
        uint64_t total = 0;
        while (k < candidates.size() && (k == 0 || total < *options_.subset_bytes))
          total += pack_sizes_[candidates[k++]];
      }
      candidates.resize(std::min(k, candidates.size()));
      std::sort(candidates.begin(), candidates.end());
    }
    return candidates;
  }

  // Loads each selected pack whole and verifies its name, header and every blob.
  Status ReadData() {
    std::vector<Id> packs = SelectPacksToRead();
    uint64_t bytes_total = 0;
    for (const Id& p : packs) bytes_total += pack_sizes_[p];
    SetTotals(packs.size(), bytes_total);
    ParallelFor(packs.size(), workers_, options_.context.cancel_flag(), [&](size_t i) {
      const Id& pack = packs[i];
      std::string name = pack.Hex();
      auto data = repo_.backend().Load({ObjectType::kPack, name}, 0, 0);
      if (!data.ok()) {
        int64_t h = log_.Error("pack", name, "cannot be read: " + data.status().message());
        MutexLock lock(&damage_mu_);
        damage_.damaged_packs.emplace(pack, h);
        damage_.packs_to_repair.insert(pack);
      } else {
        bytes_done_ += data->size();
        if (Id{crypto::Sha256(*data)} != pack) {
          log_.Error("pack", name, "content does not match its name (the pack is damaged)");
          MutexLock lock(&damage_mu_);
          damage_.packs_to_repair.insert(pack);
        }
        auto blobs = ParsePack(repo_.aead(), name, *data);
        if (!blobs.ok()) {
          bool examined;  // in CheckPackHeaders, which has reported it
          {
            MutexLock lock(&damage_mu_);
            examined = damage_.header_examined.count(pack) > 0;
          }
          std::vector<PackedBlob> indexed;
          if (!examined) {
            repo_.index().ForEach([&](const Id& p, const PackedBlob& b) {
              if (p == pack) indexed.push_back(b);
            });
          }
          if (!examined && !ExamineHeaderlessPack(pack, blobs.status().message(), *data, indexed)) {
            int64_t h = log_.Error("pack", name, blobs.status().message());
            MutexLock lock(&damage_mu_);
            damage_.damaged_packs.emplace(pack, h);
            damage_.packs_to_repair.insert(pack);
          }
        } else {
          Bytes plain;
          for (const PackedBlob& b : *blobs) {
            ByteView stored = ByteView(*data).subspan(b.offset, b.stored_length);
            Status st = repo_.codec().Decode(stored, b.id, b.raw_length, &plain);
            if (st.ok()) continue;
            std::string why = st.message();
            std::string prefix = "blob " + b.id.Hex() + ": ";
            if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
            int64_t h = log_.Error(b.type == BlobType::kTree ? "tree" : "blob", b.id.Hex(),
                                   std::string(BlobTypeName(b.type)) + " blob in pack " + name +
                                       " is damaged: " + why);
            // Only the copy that readers use affects files; another damaged copy is still
            // reported above.
            auto loc = repo_.index().Find(b.type, b.id);
            MutexLock lock(&damage_mu_);
            damage_.packs_to_repair.insert(pack);
            if (loc && loc->pack == pack) damage_.damaged_blobs.emplace(BlobKey{b.id, b.type}, h);
          }
        }
      }
      ++packs_read_;
      ++done_;
    });
    result_.bytes_read = bytes_done_;
    LB_RETURN_IF_ERROR(options_.context.Check("check"));
    return Status::Ok();
  }

  // The problems a reference to (type, id) runs into, by `known`.
  void DamageOf(const KnownDamage& known, BlobType type, const Id& id,
                std::vector<int64_t>* problems) const {
    BlobKey key{id, type};
    if (auto it = known.missing_blobs.find(key); it != known.missing_blobs.end()) {
      problems->push_back(it->second);
    } else if (!known.damaged_packs.empty()) {
      if (auto loc = repo_.index().Find(type, id)) {
        auto it = known.damaged_packs.find(loc->pack);
        if (it != known.damaged_packs.end()) problems->push_back(it->second);
      }
    }
    if (auto it = known.damaged_blobs.find(key); it != known.damaged_blobs.end())
      problems->push_back(it->second);
    if (type == BlobType::kTree)
      if (auto it = known.unloadable_trees.find(id); it != known.unloadable_trees.end())
        problems->push_back(it->second);
  }

  // Names every (snapshot, path) that runs into the damage found (`known`, all of it: the walk
  // has ended), in each problem's `affected` list and in CheckResult::affected_snapshots
  // (affected_files.h).
  Status NameAffectedFiles(const KnownDamage& known) {
    checker_internal::DamageLookup damage;
    damage.reference = [this, &known](BlobType type, const Id& id, std::vector<int64_t>* problems) {
      DamageOf(known, type, id, problems);
    };
    damage.missing_subtree = [&known](const Id& tree) -> std::optional<int64_t> {
      auto it = known.trees_missing_subtree.find(tree);
      if (it == known.trees_missing_subtree.end()) return std::nullopt;
      return it->second;
    };
    std::vector<Id> roots;
    for (const auto& [id, snapshot] : snapshots_) roots.push_back(snapshot.tree);
    std::vector<CheckResult::AffectedSnapshot>& out = result_.affected_snapshots;
    std::vector<size_t> slot(snapshots_.size(), SIZE_MAX);  // snapshot -> index in `out`
    return checker_internal::FindAffectedFiles(
        repo_, roots, damage, options_.context,
        [&](size_t s, const std::string& path, const std::vector<int64_t>& problems) {
          std::string where = Where(static_cast<uint32_t>(s), path);
          for (int64_t h : problems) log_.AddAffected(h, where);
          if (slot[s] == SIZE_MAX) {
            slot[s] = out.size();
            out.push_back({snapshots_[s].first, snapshots_[s].second.time_ns, 0, {}});
          }
          CheckResult::AffectedSnapshot& a = out[slot[s]];
          ++a.count;
          if (a.paths.size() < kMaxAffectedPerSnapshot)
            a.paths.push_back(path.empty() ? "/" : path);
        },
        &done_);
  }

  // Walks every snapshot's trees, each distinct tree once, on workers_ threads, marking what they
  // use and recording the damage the walk runs into in damage_ (for NameAffectedFiles).
  Status WalkTrees() {
    std::vector<Id> roots;
    for (const auto& [id, snapshot] : snapshots_) roots.push_back(snapshot.tree);
    FindUsedOptions o;
    o.walk.workers = workers_;
    o.walk.context = options_.context;
    // A missing tree hides what it references; a missing blob may sit in a pack that no index
    // names, which the unused count would then call removable.
    o.on_missing = [this](const MissingBlob& m) {
      walk_complete_ = false;
      int64_t h = log_.Error(m.type == BlobType::kTree ? "tree" : "blob", m.id.Hex(),
                             std::string(BlobTypeName(m.type)) +
                                 " blob is missing: no index lists it");
      MutexLock lock(&damage_mu_);
      damage_.missing_blobs.emplace(BlobKey{m.id, m.type}, h);
      return Status::Ok();
    };
    o.walk.on_error = [this](const TreeLoadError& e) {
      walk_complete_ = false;
      int64_t h = log_.Error("tree", e.tree.Hex(), e.status.message());
      MutexLock lock(&damage_mu_);
      damage_.unloadable_trees.emplace(e.tree, h);
      return Status::Ok();
    };
    o.on_tree = [this](const VisitedTree& t) {
      ++done_;
      for (const Node& node : t.tree.nodes) {
        if (node.type != NodeType::kDir || node.subtree) continue;
        walk_complete_ = false;
        int64_t h = log_.Error("tree", t.id.Hex(), "directory '" + node.name + "' has no subtree");
        MutexLock lock(&damage_mu_);
        damage_.trees_missing_subtree.emplace(t.id, h);
      }
      return Status::Ok();
    };
    Status st = FindUsedBlobs(repo_, roots, o, used_.get());
    LB_RETURN_IF_ERROR(options_.context.Check("check"));
    return st;
  }

  // Counts indexed data that no snapshot references (what prune would remove), when the walk saw
  // every reference.
  void ComputeUnused() {
    if (!walk_complete_) return;
    CheckResult::Unused u;
    const MasterIndex& index = repo_.index();
    std::unordered_map<Id, bool, IdHash> pack_used;
    for (const Id& p : indexed_packs_) pack_used.emplace(p, false);
    for (size_t i = 0; i < used_->size(); ++i) {
      BlobLocation loc = index.AtPosition(i);
      if (used_->Test(i)) {
        pack_used[loc.pack] = true;
      } else {
        ++u.blobs;
        u.blob_bytes += loc.stored_length;
      }
    }
    for (const auto& [pack, used] : pack_used) {
      auto size = pack_sizes_.find(pack);
      if (used || size == pack_sizes_.end()) continue;  // a missing pack is an error already
      ++u.packs;
      u.pack_bytes += size->second;
    }
    for (const auto& [pack, size] : pack_sizes_) {
      if (pack_used.count(pack)) continue;
      ++u.unindexed_packs;
      u.unindexed_pack_bytes += size;
    }
    result_.unused = u;
  }

  Repository& repo_;
  const CheckOptions& options_;
  const int workers_;  // for everything that waits on the backend: WorkersFor
  ProblemLog log_;
  CheckResult result_;  // written by the calling thread; the parallel counters are below
  std::atomic<uint64_t> packs_read_{0};

  // Progress: the phases on the context's clock, and the current phase's counters. Workers add
  // to the atomics; phase_mu_ makes a phase's start (name and counters reset together) and a
  // report's copy of them one step each.
  PhaseTimer phases_;
  Mutex phase_mu_;
  std::atomic<uint64_t> done_{0};        // index files, packs, snapshots, packs read, trees
  std::atomic<uint64_t> bytes_done_{0};  // read-data: bytes of the packs read
  uint64_t total_ GUARDED_BY(phase_mu_) = 0;
  uint64_t bytes_total_ GUARDED_BY(phase_mu_) = 0;

  std::unordered_map<Id, uint64_t, IdHash> pack_sizes_;  // backend listing; read-only after
  std::vector<Id> indexed_packs_;                        // sorted
  std::vector<std::pair<Id, Snapshot>> snapshots_;       // loaded snapshots, oldest first
  // Damage found by the phases (workers add to it one at a time); once the tree walk has ended,
  // RunPhases moves it out and reads it without locking.
  Mutex damage_mu_;
  KnownDamage damage_ GUARDED_BY(damage_mu_);
  // What the snapshots use, by position in the compacted index; also counts the trees walked.
  // Made once the index is loaded; set by walker threads.
  std::unique_ptr<UsedBlobs> used_;
  // False once damage hid references (unreadable snapshot or tree, missing tree, unreadable
  // index file): then unused data is not reported.
  std::atomic<bool> walk_complete_{true};
};

}  // namespace

Result<CheckResult> CheckRepository(Repository& repo, const CheckOptions& options) {
  Checker checker(repo, options);
  return checker.Run();
}

}  // namespace lifeboat
