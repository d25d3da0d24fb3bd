// lifeboat repair index|packs|snapshots|uploads: rebuild the index from the pack headers, salvage
// damaged packs, rewrite snapshots around lost data, abort the unfinished S3 uploads an
// interrupted process left behind (doc/repair.md). Each takes the exclusive lock and removes
// nothing before its replacement is stored. Exit 0 when the repair completed (what was lost is
// reported), 1 when it could not run or stopped, 11 when the lock was lost.
#include <algorithm>
#include <iostream>

#include "backend/s3/s3_backend.h"
#include "checker/checker.h"
#include "cli/common.h"
#include "repair/repair.h"

namespace lifeboat::cli {
namespace {

// Blob ids listed per pack in the human-readable output; JSON lists all.
constexpr size_t kLostBlobsShown = 20;

struct RepairFlags {
  bool dry_run = false;
  int workers = 0;
  bool read_all_packs = false;           // index
  std::vector<std::string> packs;        // packs
  std::vector<std::string> heal_from;    // packs: --from REPLICA (repeatable)
  bool forget = false;                   // snapshots
  std::vector<std::string> snapshots;    // snapshots
};

// Opens and locks exclusively. --no-lock is accepted only for a dry run.
Result<OpenedRepository> OpenForRepair(const GlobalOptions& g, const RepairFlags& f) {
  if (g.no_lock && !f.dry_run)
    return Status::InvalidArgument(
        "repair changes the repository and needs its exclusive lock: --no-lock is only allowed "
        "with --dry-run");
  if (f.workers < 0) return Status::InvalidArgument("--workers must be >= 0");
  OpenedRepository out;
  LB_ASSIGN_OR_RETURN(out.repo, OpenRepository(g));
  LB_ASSIGN_OR_RETURN(out.lock, LockRepository(g, *out.repo, LockKind::kExclusive));
  return out;
}

void Release(OpenedRepository& opened) {
  if (opened.lock) opened.lock->Release().IgnoreError();
}

std::string Plural(uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

nlohmann::json ProblemsJson(const std::vector<PackProblem>& problems) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : problems) out.push_back({{"pack", p.pack.Hex()}, {"message", p.message}});
  return out;
}

// --- repair index ---

int RunRepairIndex(const GlobalOptions& g, const RepairFlags& f) {
  auto opened = OpenForRepair(g, f);
  if (!opened.ok()) return ReportError(g, opened.status());
  RepairIndexOptions options;
  options.read_all_packs = f.read_all_packs;
  options.dry_run = f.dry_run;
  options.workers = f.workers;
  options.context = CliContext();
  auto r = RepairIndex(*opened->repo, opened->lock.get(), options);
  Release(*opened);
  if (!r.ok()) return ReportError(g, r.status());

  if (g.json) {
    nlohmann::json written = nlohmann::json::array();
    for (const Id& id : r->index_files_written) written.push_back(id.Hex());
    PrintJson({{"message_type", "summary"},
               {"command", "repair index"},
               {"dry_run", f.dry_run},
               {"packs", r->packs},
               {"packs_indexed", r->packs_indexed},
               {"blobs", r->blobs},
               {"unreadable_packs", ProblemsJson(r->unreadable_packs)},
               {"damaged_packs", ProblemsJson(r->damaged_packs)},
               {"damaged_blobs", r->damaged_blobs},
               {"index_files_old", r->index_files_old},
               {"index_files_undecodable", r->index_files_undecodable},
               {"index_files_written", written},
               {"index_files_removed", r->index_files_removed},
               {"phases", PhasesJson(r->phases)}});
    return kExitOk;
  }
  Say(g, std::string(f.read_all_packs ? "read " : "read the headers of ") +
             Plural(r->packs, "pack", "packs") + ": " + std::to_string(r->packs_indexed) +
             " indexed, " + Plural(r->blobs, "blob", "blobs"));
  for (const auto& p : r->unreadable_packs)
    std::cout << "warning: pack " << p.pack.Hex() << ": " << p.message << "\n";
  for (const auto& p : r->damaged_packs)
    std::cout << "warning: pack " << p.pack.Hex() << ": " << p.message << "\n";
  std::cout << std::flush;
  std::string old = Plural(r->index_files_old, "old index file", "old index files");
  if (r->index_files_undecodable)
    old += " (" + std::to_string(r->index_files_undecodable) + " of them unreadable)";
  if (f.dry_run) {
    Say(g, "dry run: would replace " + old + " with the index above; nothing was changed");
  } else {
    Say(g, "wrote " + Plural(r->index_files_written.size(), "index file", "index files") +
               ", removed " + old);
  }
  if (!r->unreadable_packs.empty() || !r->damaged_packs.empty())
    Say(g, "next: `lifeboat repair packs` salvages the damaged packs named above");
  return kExitOk;
}

// --- repair packs ---

int RunRepairPacks(const GlobalOptions& g, const RepairFlags& f) {
  auto opened = OpenForRepair(g, f);
  if (!opened.ok()) return ReportError(g, opened.status());
  Repository& repo = *opened->repo;
  RepairPacksOptions options;
  for (const std::string& text : f.packs) {
    auto id = ResolvePackId(repo, text);
    if (!id.ok()) return ReportError(g, id.status());
    options.packs.push_back(*id);
  }
  if (options.packs.empty()) {
    if (!g.json) Say(g, "no packs given: reading every pack (check --read-data) to find the damaged ones");
    options.find_damaged = true;
  }
  options.dry_run = f.dry_run;
  options.workers = f.workers;
  options.context = CliContext();
  // --from: replicas whose intact copies are put back verbatim (phase "heal").
  auto replicas = FallbackSites::Open(g, repo, f.heal_from);
  if (!replicas.ok()) return ReportError(g, replicas.status());
  auto r = RepairPacks(repo, opened->lock.get(), options);
  replicas->reset();
  Release(*opened);
  if (!r.ok()) return ReportError(g, r.status());
  nlohmann::json healed = nlohmann::json::array();
  for (const HealedPack& h : r->healed) {
    healed.push_back({{"pack", h.pack.Hex()},
                      {"from", RedactLocation(h.from)},
                      {"was_present", h.was_present}});
    if (!g.json)
      Say(g, "pack " + h.pack.Hex() + ": " + (f.dry_run ? "would be put back" : "put back") +
                 " from " + RedactLocation(h.from) +
                 (h.was_present ? " (the damaged copy here replaced)" : " (it was missing here)"));
  }
  if (r->searched && r->packs.empty()) {
    if (g.json) {
      PrintJson({{"message_type", "summary"},
                 {"command", "repair packs"},
                 {"dry_run", f.dry_run},
                 {"packs", nlohmann::json::array()},
                 {"healed", healed},
                 {"blobs_salvaged", 0},
                 {"blobs_lost", 0},
                 {"phases", PhasesJson(r->phases)}});
    } else if (r->healed.empty()) {
      Say(g, "no damaged packs were found" + std::string(r->other_problems
                                                             ? " (check found other problems: run "
                                                               "`lifeboat check` to see them)"
                                                             : ""));
    }
    return kExitOk;
  }

  if (g.json) {
    nlohmann::json packs = nlohmann::json::array();
    for (const auto& p : r->packs) {
      nlohmann::json lost = nlohmann::json::array();
      for (const auto& b : p.lost)
        lost.push_back({{"type", std::string(BlobTypeName(b.type))}, {"id", b.id.Hex()}});
      packs.push_back({{"pack", p.pack.Hex()},
                       {"found", p.found},
                       {"header_readable", p.header_readable},
                       {"blobs_known", p.blobs_known},
                       {"salvaged", p.salvaged},
                       {"elsewhere", p.elsewhere},
                       {"lost", lost},
                       {"removed", p.removed},
                       {"note", p.note}});
    }
    nlohmann::json written = nlohmann::json::array();
    for (const Id& id : r->index_files_written) written.push_back(id.Hex());
    PrintJson({{"message_type", "summary"},
               {"command", "repair packs"},
               {"dry_run", f.dry_run},
               {"packs", packs},
               {"healed", healed},
               {"blobs_salvaged", r->blobs_salvaged},
               {"blobs_lost", r->blobs_lost},
               {"new_packs", r->new_packs},
               {"index_files_written", written},
               {"index_files_removed", r->index_files_removed},
               {"packs_removed", r->packs_removed},
               {"phases", PhasesJson(r->phases)}});
    return kExitOk;
  }
  const char* would = f.dry_run ? "would be " : "";
  for (const auto& p : r->packs) {
    std::string line = "pack " + p.pack.Hex() + ": " + Plural(p.blobs_known, "blob", "blobs") +
                       " known, " + std::to_string(p.salvaged) + " " + would + "salvaged, " +
                       std::to_string(p.elsewhere) + " intact in other packs, " +
                       std::to_string(p.lost.size()) + " lost";
    if (p.removed) line += "; removed";
    std::cout << line << "\n";
    if (!p.note.empty()) std::cout << "    note: " << p.note << "\n";
    for (size_t i = 0; i < p.lost.size() && i < kLostBlobsShown; ++i)
      std::cout << "    lost " << BlobTypeName(p.lost[i].type) << " blob " << p.lost[i].id.Hex()
                << "\n";
    if (p.lost.size() > kLostBlobsShown)
      std::cout << "    ... and " << p.lost.size() - kLostBlobsShown << " more (see --json)\n";
  }
  std::cout << std::flush;
  if (f.dry_run) {
    Say(g, "dry run: " + Plural(r->blobs_salvaged, "blob", "blobs") + " would be salvaged, " +
               std::to_string(r->blobs_lost) + " lost; nothing was changed");
  } else {
    Say(g, "salvaged " + Plural(r->blobs_salvaged, "blob", "blobs") + " into " +
               Plural(r->new_packs, "new pack", "new packs") + "; " +
               std::to_string(r->blobs_lost) + " lost; removed " +
               Plural(r->packs_removed, "damaged pack", "damaged packs"));
  }
  if (r->blobs_lost > 0)
    Say(g, "next: `lifeboat check` names the files that needed the lost blobs; `lifeboat repair "
           "snapshots` removes them from the snapshots");
  return kExitOk;
}

// --- repair snapshots ---

int RunRepairSnapshots(const GlobalOptions& g, const RepairFlags& f) {
  auto opened = OpenForRepair(g, f);
  if (!opened.ok()) return ReportError(g, opened.status());
  Repository& repo = *opened->repo;
  Status loaded = repo.LoadIndex();
  if (!loaded.ok())
    return ReportError(g, loaded.WithContext("loading the index (if an index file is damaged, run "
                                             "`lifeboat repair index` first)"));
  RepairSnapshotsOptions options;
  for (const std::string& ref : f.snapshots) {
    // A full id is taken as is, so that a snapshot whose file cannot be read can be named too.
    if (auto id = Id::FromHex(ref)) {
      options.snapshots.push_back(*id);
      continue;
    }
    std::vector<DamagedSnapshot> damaged;  // repaired (forgotten) by naming their full ids
    auto found = repo.FindSnapshot(ref, {}, &damaged);
    WarnDamagedSnapshots(g, damaged);
    if (!found.ok()) return ReportError(g, found.status());
    options.snapshots.push_back(found->first);
  }
  options.forget = f.forget;
  options.dry_run = f.dry_run;
  options.workers = f.workers;
  options.context = CliContext();
  auto r = RepairSnapshots(repo, opened->lock.get(), options);
  Release(*opened);
  if (!r.ok()) return ReportError(g, r.status());

  if (g.json) {
    nlohmann::json snapshots = nlohmann::json::array();
    for (const auto& s : r->snapshots) {
      nlohmann::json j = {{"snapshot", s.snapshot.Hex()},
                          {"unreadable", s.unreadable},
                          {"root_lost", s.root_lost},
                          {"already_repaired", s.already_repaired},
                          {"forgotten", s.forgotten},
                          {"files_dropped", s.files_dropped},
                          {"dirs_emptied", s.dirs_emptied},
                          {"paths_omitted", s.paths_omitted}};
      PutBytesArray(j, "lost", s.lost);  // "lost_raw" when a path is not UTF-8 (doc/json.md)
      j["repaired"] = s.repaired ? nlohmann::json(s.repaired->Hex()) : nlohmann::json(nullptr);
      snapshots.push_back(std::move(j));
    }
    PrintJson({{"message_type", "summary"},
               {"command", "repair snapshots"},
               {"dry_run", f.dry_run},
               {"snapshots_checked", r->snapshots_checked},
               {"snapshots_damaged", r->snapshots.size()},
               {"snapshots_written", r->snapshots_written},
               {"snapshots_forgotten", r->snapshots_forgotten},
               {"trees_written", r->trees_written},
               {"snapshots", snapshots},
               {"phases", PhasesJson(r->phases)}});
    return kExitOk;
  }
  for (const auto& s : r->snapshots) {
    std::string line = "snapshot " + s.snapshot.Short() + ": ";
    if (s.unreadable) {
      line += "its file cannot be read; nothing can be recovered from it";
    } else if (s.root_lost) {
      line += "its root tree is gone; nothing is left to keep";
    } else {
      line += Plural(s.files_dropped, "file", "files") + " dropped, " +
              Plural(s.dirs_emptied, "directory", "directories") + " emptied";
      if (s.already_repaired)
        line += "; already repaired as " + s.repaired->Short();
      else if (s.repaired)
        line += "; repaired as " + s.repaired->Short();
      else if (f.dry_run)
        line += "; would be repaired";
    }
    if (s.forgotten) line += "; forgotten";
    std::cout << line << "\n";
    for (const std::string& p : s.lost) std::cout << "    " << p << "\n";
    if (s.paths_omitted) std::cout << "    ... and " << s.paths_omitted << " more\n";
  }
  std::cout << std::flush;
  std::string summary = "checked " + Plural(r->snapshots_checked, "snapshot", "snapshots") + ": " +
                        std::to_string(r->snapshots.size()) + " damaged";
  if (f.dry_run) {
    Say(g, summary + "; dry run: nothing was changed");
    return kExitOk;
  }
  Say(g, summary + ", " + std::to_string(r->snapshots_written) + " repaired snapshot(s) written, " +
             std::to_string(r->snapshots_forgotten) + " forgotten");
  bool kept = std::any_of(r->snapshots.begin(), r->snapshots.end(),
                          [](const SnapshotRepairReport& s) { return !s.forgotten; });
  if (kept)
    Say(g, "the damaged snapshots were kept (check still reports them): once the repaired ones "
           "look right, run `lifeboat repair snapshots --forget` to remove them");
  return kExitOk;
}

// --- repair uploads ---

// Aborts the multipart uploads an interrupted Save left in the repository's bucket (they are
// billed, never listed, never completed). Under the exclusive lock, so that no backup's upload in
// flight is among them. A repository that is not on S3 has none: nothing to do.
int RunRepairUploads(const GlobalOptions& g) {
  if (g.no_lock)
    return ReportError(g, Status::InvalidArgument(
                              "repair uploads aborts uploads that a running backup may own and "
                              "needs the exclusive lock: --no-lock is not allowed"));
  auto opened = OpenForRepair(g, RepairFlags{});
  if (!opened.ok()) return ReportError(g, opened.status());
  auto open_options = CliOpenOptions(g, std::nullopt);
  if (!open_options.ok()) return ReportError(g, open_options.status());
  const std::string& location = open_options->location;
  const std::string where = RedactLocation(location);
  if (!location.starts_with("s3:")) {
    Release(*opened);
    if (g.json)
      PrintJson({{"message_type", "summary"},
                 {"command", "repair uploads"},
                 {"applies", false},
                 {"aborted", 0}});
    else
      Say(g, where + " is not an S3 repository: only S3 keeps unfinished uploads; nothing to do");
    return kExitOk;
  }
  BackendOpenArgs args;
  args.location = location;
  args.address = location.substr(3);
  args.options = open_options->backend.options;
  args.env = open_options->backend.env;
  args.context = CliContext();
  auto aborted = AbortIncompleteS3Uploads(args);
  Release(*opened);
  if (!aborted.ok()) return ReportError(g, aborted.status().WithContext("repair uploads"));
  if (g.json) {
    PrintJson({{"message_type", "summary"},
               {"command", "repair uploads"},
               {"applies", true},
               {"aborted", *aborted}});
  } else {
    Say(g, *aborted == 0 ? "no unfinished uploads in " + where
                         : "aborted " + Plural(*aborted, "unfinished upload", "unfinished uploads") +
                               " in " + where);
  }
  return kExitOk;
}

}  // namespace

void RegisterRepair(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* repair = app.add_subcommand(
      "repair", "repair a damaged repository: index, packs, snapshots, uploads (see doc/repair.md)");
  repair->require_subcommand(1);
  auto f = std::make_shared<RepairFlags>();
  auto common = [&](CLI::App* cmd) {
    cmd->add_flag("--dry-run", f->dry_run, "report what would be done; change nothing");
    cmd->add_option("--workers", f->workers,
                    "parallel workers (default: cores, at least 2, or what the backend serves "
                    "at once when that is more)");
  };

  auto* index = repair->add_subcommand(
      "index", "rebuild the index from the pack headers, replacing every index file");
  common(index);
  index->add_flag("--read-all-packs", f->read_all_packs,
                  "read every pack whole and index only blobs that verify (slow)");
  index->callback([&g, runner, f] { *runner = [&g, f] { return RunRepairIndex(g, *f); }; });

  auto* packs = repair->add_subcommand(
      "packs",
      "salvage the intact blobs of damaged packs into new packs, then remove the damaged packs");
  common(packs);
  packs->add_option("packs", f->packs,
                    "pack ids (as printed by check); none: read every pack to find the damaged "
                    "ones");
  packs->add_option("--from", f->heal_from,
                    "first put back, byte for byte, every damaged or missing pack that REPLICA "
                    "(init --replica-of, backup --also-to) holds intact; repeatable")
      ->type_name("REPLICA");
  packs->callback([&g, runner, f] { *runner = [&g, f] { return RunRepairPacks(g, *f); }; });

  auto* snapshots = repair->add_subcommand(
      "snapshots",
      "rewrite snapshots that reference lost data: drop lost files, empty lost directories");
  common(snapshots);
  snapshots->add_flag("--forget", f->forget,
                      "remove each damaged snapshot once its repaired replacement is stored");
  snapshots->add_option("snapshots", f->snapshots, "snapshot ids or 'latest'; none: all");
  snapshots->callback([&g, runner, f] { *runner = [&g, f] { return RunRepairSnapshots(g, *f); }; });

  auto* uploads = repair->add_subcommand(
      "uploads",
      "abort the unfinished multipart uploads an interrupted process left in an S3 repository's "
      "bucket (they are billed but never used); other repositories have none");
  uploads->callback([&g, runner] { *runner = [&g] { return RunRepairUploads(g); }; });
}

}  // namespace lifeboat::cli
