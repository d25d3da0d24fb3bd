// Checker: verifies a repository — its structure always, every byte of its data on request — and
// says which snapshots and files any damage affects. The engine behind `lifeboat check`.
//
//   LB_ASSIGN_OR_RETURN(CheckResult r, CheckRepository(*repo, CheckOptions{.read_data = true}));
//   for (const CheckProblem& p : r.errors) std::cerr << p.kind << " " << p.object << ": " <<
//   p.message;
//
// What is checked (doc/repository-format.md):
//   structure (always): the config decodes; every key file matches its name; every index file
//   loads and decodes (one by one, so one bad file does not hide the rest; files that another
//   index file supersedes (§7) are leftovers of an interrupted prune or repair: a warning, and
//   their entries are not used); every pack an index
//   names exists and its header agrees with the index (type, offset, lengths); packs no index
//   names are warnings; every snapshot loads; every tree reachable from a snapshot loads and
//   decodes, and every data blob and subtree it references is in the index and not in a pack
//   known to be damaged; every run-record object (format §12) loads, opens and parses (a damaged
//   one is an error of kind "run", one of a newer version a warning).
//   data (read_data or a subset): each selected pack is loaded whole, its SHA-256 must equal its
//   name, its header must parse, and every blob must decrypt, decompress and match its id.
//   unused data (informational, never an error): indexed blobs that no snapshot references, and
//   packs that hold only such blobs or that no index names — what prune would remove.
// Damage is reported as CheckProblem values, never as a failed Result: the Result fails only when
// the check itself cannot run (the backend cannot list objects, or it was cancelled).
//
// Damage is then traced to every (snapshot, path) that runs into it: deduplication puts one blob
// in many files and one tree in many snapshots, and each of them is named
// (CheckResult::affected_snapshots, CheckProblem::affected).
// Memory: the repository index (48 bytes per blob), one visited-set entry per distinct tree, one
// whole pack per worker while reading data, and bookkeeping proportional to the damage found
// (at most kMaxAffectedPerProblem paths per problem, kMaxProblemsPerKind problems per kind,
// kMaxAffectedPerSnapshot paths per affected snapshot), and one bit per indexed blob for the
// unused-data count. When there is damage, naming what it affects loads the trees once more
// (src/checker/affected_files.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "repository/repository.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

// The phases of a check, in the order they run (CheckResult::phases, CheckProgress::phase):
//   "index"      the config, the key files, the pack listing and every index file
//   "packs"      every indexed pack's header compared with the index
//   "snapshots"  every snapshot loaded, and every run-record object
//   "read-data"  whole packs read and verified (only with read_data or a subset)
//   "trees"      the trees of every snapshot walked, and the unused data counted
//   "affected"   the (snapshot, path)s that damage affects named (only when damage was found)

// A check's progress report (the contract: ProgressHead in util/phase_timer.h). The counters
// are the current phase's; the final report comes after the last phase (phase "") and keeps the
// last phase's counters and the total of errors.
struct CheckProgress : ProgressHead {
  // Index files, packs, snapshots, packs read, or trees loaded so far in this phase.
  uint64_t done = 0;
  uint64_t total = 0;                        // 0 when not known in advance (trees, affected)
  uint64_t bytes_done = 0, bytes_total = 0;  // read-data only
  uint64_t errors = 0;                       // errors found so far, all phases
};

struct CheckOptions {
  // Read every pack fully (or only the subset below when one is set).
  bool read_data = false;
  // Read only packs whose first name byte mod m == n-1 (`--read-data-subset n/m`). Implies reading
  // data for those packs.
  std::optional<std::pair<uint32_t, uint32_t>> subset;
  // Read a random selection of this percentage of the packs, (0, 100] (`--read-data-subset 10%`).
  // At least one pack is read when the repository has any. Implies reading data.
  std::optional<double> subset_percent;
  // Read a random selection of packs whose sizes add up to about this many bytes
  // (`--read-data-subset 500M`): packs are drawn in random order until their total reaches the
  // size (so it may be exceeded by at most one pack), or all are taken. At least one pack is read
  // when the repository has any. Implies reading data.
  std::optional<uint64_t> subset_bytes;
  // Seed for the percentage and size selections; 0 draws a random seed.
  uint64_t subset_seed = 0;
  // Threads for index loading, pack headers, snapshots, pack reading and the tree walk, all of
  // which mostly wait on the backend; 0: WorkersFor(backend, 0) (backend/backend.h: the cores,
  // at least 2, or what the backend serves at once when that is more).
  int workers = 0;
  // Called on a reporter thread (never a worker's, never the caller's, one call at a time, with
  // no lock of the check held) about every progress_interval_ms, and once more at the end with
  // final = true when the check ran to its end (not when it returns an error). Optional.
  std::function<void(const CheckProgress&)> progress;
  int progress_interval_ms = 250;
  // Cancelled or past its deadline: the check stops early and returns Cancelled /
  // DeadlineExceeded.
  Context context = {};
};

// Per-problem and per-kind caps that keep memory bounded on a badly damaged repository.
inline constexpr size_t kMaxAffectedPerProblem = 10;
inline constexpr size_t kMaxAffectedPerSnapshot = 100;
inline constexpr size_t kMaxProblemsPerKind = 1000;

struct CheckProblem {
  // "config", "key", "index", "pack", "blob", "tree", "snapshot", "run", "summary".
  std::string kind;
  // The damaged object: a file name (hex id) for config/key/index/pack/snapshot objects, the blob
  // or tree id for blobs and trees; empty for "summary" entries.
  std::string object;
  std::string message;
  // Up to kMaxAffectedPerProblem "snapshot abcd1234: /path/to/file" entries: every snapshot that
  // holds an affected path is named, also when snapshots share the tree (deduplication); oldest
  // snapshot first, then in tree order. A directory stands for everything below it.
  std::vector<std::string> affected;
  // How many further affected entries were found but not stored.
  uint64_t affected_omitted = 0;
};

struct CheckResult {
  std::vector<CheckProblem> errors;
  std::vector<CheckProblem> warnings;
  uint64_t snapshots = 0;   // snapshots that loaded
  uint64_t trees = 0;       // distinct trees that loaded and decoded
  uint64_t data_blobs = 0;  // data blobs in the index
  uint64_t packs = 0;       // packs named by the index
  uint64_t packs_read = 0;  // packs loaded whole (read-data)
  uint64_t bytes_read = 0;  // bytes of those packs
  // Packs an index names that are missing, cannot be read, or whose content is damaged (header,
  // name hash or any blob): what `repair packs` takes. Sorted. A pack whose header merely
  // disagrees with the index is not listed: that is the index's fault (`repair index`).
  std::vector<Id> damaged_packs;
  // Data no snapshot uses: what prune would remove. Not set when damage hid some references (a
  // snapshot, tree or index file that cannot be read, a blob that no index lists), since unused
  // data cannot be told apart from data that only the damaged objects would show to be used.
  struct Unused {
    uint64_t blobs = 0, blob_bytes = 0;  // indexed blobs no snapshot references; stored bytes
    uint64_t packs = 0, pack_bytes = 0;  // indexed packs that hold only such blobs
    uint64_t unindexed_packs = 0, unindexed_pack_bytes = 0;  // packs no index names
  };
  std::optional<Unused> unused;
  // Every snapshot that damage affects, oldest first: `count` paths in it (files, and directories
  // standing for everything below them) run into some error; the first kMaxAffectedPerSnapshot
  // of them, in tree order, in `paths`.
  struct AffectedSnapshot {
    Id id;
    int64_t time_ns = 0;
    uint64_t count = 0;
    std::vector<std::string> paths;
  };
  std::vector<AffectedSnapshot> affected_snapshots;
  // Seconds per phase on options.context's clock, in the order they ran (the names above).
  std::vector<PhaseTime> phases;
  bool healthy() const { return errors.empty(); }
};

// Checks `repo`. Fills repo.index() from every index file that can be read (entries already
// there stay). Thread-safety: `repo` must not be written to during the check (the CLI holds an
// exclusive lock); the call itself uses its workers (CheckOptions::workers) and one progress
// reporter thread when options.progress is set, and blocks until done.
// Returns an error only when the check cannot run: listing objects fails, or the context stopped
// it.
Result<CheckResult> CheckRepository(Repository& repo, const CheckOptions& options);

// Parses a `--read-data-subset` value into options: "n/m" with 1 <= n <= m <= 256 sets `subset`
// (the buckets go by the first byte of the pack name, so more than 256 would leave some empty);
// "P%" with 0 < P <= 100 sets `subset_percent`; anything else is a size of at least one byte in
// util/units.h's grammar ("500M", "2G", "1.5GiB"; a bare number is bytes) and sets
// `subset_bytes`. Clears the other two. InvalidArgument says what is expected.
Status ParseReadDataSubset(std::string_view spec, CheckOptions* options);

}  // namespace lifeboat
