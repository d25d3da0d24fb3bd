// lifeboat check: verifies the repository's structure and, with --read-data or
// --read-data-subset, every byte of its data; names the snapshots and files any damage affects.
// Data that no snapshot uses is reported for information (what prune would remove), never as
// damage. Exit 0 when healthy, 4 (kExitDamaged) when damage was found (also a damaged pack header
// whose blobs all stay reachable through the index: doc/repair.md), 1 when the check could not
// run.
#include <iostream>

#include "checker/checker.h"
#include "cli/common.h"

namespace lifeboat::cli {
namespace {

struct CheckFlags {
  bool read_data = false;
  std::string subset;
  int workers = 0;
  std::vector<std::string> fallbacks;  // replicas to look for intact copies of damaged packs
};

// Prints one self-overwriting progress line on stderr per report; the final report clears it.
// The check calls it on its reporter thread, one call at a time (every progress_interval_ms);
// Finish() clears the line after a check that failed, which makes no final report.
class CheckProgressPrinter {
 public:
  void operator()(const CheckProgress& p) {
    if (p.final) return Finish();
    if (p.phase.empty()) return;
    std::string line = "\r[" + p.phase + "] " + std::to_string(p.done);
    if (p.total) line += "/" + std::to_string(p.total);
    if (p.phase == "trees" || p.phase == "affected") line += " trees";
    if (p.bytes_total) line += ", " + FormatBytes(p.bytes_done) + "/" + FormatBytes(p.bytes_total);
    line += ", " + std::to_string(p.errors) + " errors";
    if (line.size() < width_) line += std::string(width_ - line.size(), ' ');
    width_ = line.size();
    std::cerr << line << std::flush;
    printed_ = true;
  }
  void Finish() {
    if (printed_) std::cerr << "\r" << std::string(width_, ' ') << "\r" << std::flush;
    printed_ = false;
  }

 private:
  size_t width_ = 0;
  bool printed_ = false;
};

nlohmann::json ProblemJson(const CheckProblem& p) {
  nlohmann::json j = {{"kind", p.kind},
                      {"object", p.object},
                      {"message", ToValidUtf8(p.message)},
                      {"affected_omitted", p.affected_omitted}};
  PutBytesArray(j, "affected", p.affected);  // entries hold paths: bytes (doc/json.md)
  return j;
}

nlohmann::json AffectedSnapshotsJson(const CheckResult& r) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : r.affected_snapshots) {
    nlohmann::json j = {{"id", a.id.Hex()},
                        {"short_id", a.id.Short()},
                        {"time", FormatTime(a.time_ns)},
                        {"count", a.count},
                        {"paths_omitted", a.count - a.paths.size()}};
    PutBytesArray(j, "paths", a.paths);
    out.push_back(std::move(j));
  }
  return out;
}

// Which snapshots damage reaches and which of their paths: every one, for the text output.
void PrintAffectedSnapshots(const CheckResult& r) {
  if (r.affected_snapshots.empty()) return;
  std::cout << "damage affects " << r.affected_snapshots.size() << " of " << r.snapshots
            << " snapshot(s); restoring these paths from them fails:\n";
  for (const auto& a : r.affected_snapshots) {
    std::cout << "  snapshot " << a.id.Short() << " of " << FormatLocalTime(a.time_ns) << ": "
              << a.count << " path(s)\n";
    for (const auto& path : a.paths) std::cout << "    " << path << "\n";
    if (a.count > a.paths.size())
      std::cout << "    ... and " << a.count - a.paths.size() << " more\n";
  }
}

std::string ProblemLine(const char* level, const CheckProblem& p) {
  std::string line = std::string(level) + ": ";
  if (p.kind == "summary" || p.object.empty())
    line += p.kind + ": ";
  else if (p.object == p.kind)
    line += p.object + ": ";
  else
    line += p.kind + " " + p.object + ": ";
  return line + p.message;
}

nlohmann::json UnusedJson(const std::optional<CheckResult::Unused>& u) {
  if (!u) return nullptr;
  return {{"blobs", u->blobs},
          {"blob_bytes", u->blob_bytes},
          {"packs", u->packs},
          {"pack_bytes", u->pack_bytes},
          {"unindexed_packs", u->unindexed_packs},
          {"unindexed_pack_bytes", u->unindexed_pack_bytes}};
}

// "info: ..." line about unused data, or "" when there is none.
std::string UnusedLine(const CheckResult::Unused& u) {
  std::vector<std::string> parts;
  if (u.blobs)
    parts.push_back(std::to_string(u.blobs) + " blobs (" + FormatBytes(u.blob_bytes) +
                    ") that no snapshot uses, " + std::to_string(u.packs) + " whole packs (" +
                    FormatBytes(u.pack_bytes) + ") of them");
  if (u.unindexed_packs)
    parts.push_back(std::to_string(u.unindexed_packs) + " packs (" +
                    FormatBytes(u.unindexed_pack_bytes) + ") that no index names");
  if (parts.empty()) return "";
  std::string line = "info: ";
  for (size_t i = 0; i < parts.size(); ++i) line += (i ? "; " : "") + parts[i];
  return line + "; prune would remove them (not an error)";
}

// What to run next, by the kinds of damage found.
std::vector<std::string> RepairHints(const CheckResult& r) {
  bool index = false, missing = false, unindexed = false;
  // Only lost data needs `repair snapshots`: a pack whose damaged header hides nothing does not.
  bool trees_or_blobs = !r.affected_snapshots.empty();
  for (const auto& p : r.errors) {
    index = index || p.kind == "index" ||
            (p.kind == "pack" && p.message.find("index and pack header disagree") !=
                                     std::string::npos);
    missing = missing || p.message.find("no index lists it") != std::string::npos;
  }
  // A blob that no index lists may still be in a pack that no index names.
  for (const auto& p : r.warnings)
    unindexed = unindexed || (p.kind == "pack" && (p.message.find("no index names") !=
                                                       std::string::npos ||
                                                   p.message.find("not in any index") !=
                                                       std::string::npos));
  index = index || (missing && unindexed);
  std::vector<std::string> hints;
  if (index) hints.push_back("`lifeboat repair index` rebuilds the index from the pack headers");
  if (!r.damaged_packs.empty())
    hints.push_back("`lifeboat repair packs` salvages what is intact in the " +
                    std::to_string(r.damaged_packs.size()) + " damaged pack(s)");
  if (trees_or_blobs)
    hints.push_back(std::string(hints.empty() ? "" : "then ") +
                    "`lifeboat repair snapshots` removes what is lost from the snapshots");
  return hints;
}

// --fallback's findings: [{"pack": ID, "served_by": LOCATION}].
nlohmann::json IntactJson(const std::vector<std::pair<Id, std::string>>& intact) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [pack, site] : intact) out.push_back({{"pack", pack.Hex()}, {"served_by", site}});
  return out;
}

int RunCheckCommand(const GlobalOptions& g, const CheckFlags& f) {
  CheckOptions options;
  options.read_data = f.read_data;
  if (!f.subset.empty()) {
    Status st = ParseReadDataSubset(f.subset, &options);
    if (!st.ok()) return ReportError(g, st);
  }
  if (f.workers < 0) return ReportError(g, Status::InvalidArgument("--workers must be >= 0"));
  options.workers = f.workers;
  options.context = CliContext();

  auto repo = OpenRepository(g);
  if (!repo.ok()) return ReportError(g, repo.status());
  // Exclusive: a backup finishing during the check would add snapshots whose index files the
  // check did not load, and a prune would remove packs under it; both would look like damage.
  auto lock = LockRepository(g, **repo, LockKind::kExclusive);
  if (!lock.ok()) return ReportError(g, lock.status());

  CheckProgressPrinter printer;
  if (!g.json && !g.quiet && StderrIsTerminal())
    options.progress = [&printer](const CheckProgress& p) { printer(p); };
  auto result = CheckRepository(**repo, options);
  printer.Finish();
  if (!result.ok()) return ReportError(g, result.status());
  const CheckResult& r = *result;
  // --fallback: which damaged packs have an intact copy at a replica. Opened only now, so that
  // the check itself reads this repository alone and reports all of its damage.
  std::vector<std::pair<Id, std::string>> intact_elsewhere;
  if (!f.fallbacks.empty() && !r.damaged_packs.empty()) {
    auto fallbacks = FallbackSites::Open(g, **repo, f.fallbacks);
    if (!fallbacks.ok()) return ReportError(g, fallbacks.status());
    for (const Id& pack : r.damaged_packs) {
      auto served = (*repo)->LoadPackFromFallbacks(
          pack, Status::Corruption("pack " + pack.Hex() + " is missing or damaged here"));
      if (served.ok()) intact_elsewhere.emplace_back(pack, RedactLocation(served->second));
    }
  }
  if (lock->get()) lock->get()->Release().IgnoreError();

  if (g.json) {
    nlohmann::json errors = nlohmann::json::array(), warnings = nlohmann::json::array();
    for (const auto& p : r.errors) errors.push_back(ProblemJson(p));
    for (const auto& p : r.warnings) warnings.push_back(ProblemJson(p));
    nlohmann::json damaged = nlohmann::json::array();
    for (const Id& pack : r.damaged_packs) damaged.push_back(pack.Hex());
    PrintJson({{"message_type", "summary"},
               {"healthy", r.healthy()},
               {"snapshots", r.snapshots},
               {"trees", r.trees},
               {"data_blobs", r.data_blobs},
               {"packs", r.packs},
               {"packs_read", r.packs_read},
               {"bytes_read", r.bytes_read},
               {"num_errors", r.errors.size()},
               {"num_warnings", r.warnings.size()},
               {"errors", errors},
               {"warnings", warnings},
               {"damaged_packs", damaged},
               {"intact_at_fallback", IntactJson(intact_elsewhere)},
               {"affected_snapshots", AffectedSnapshotsJson(r)},
               {"unused", UnusedJson(r.unused)},
               {"phases", PhasesJson(r.phases)}});
    return r.healthy() ? kExitOk : kExitDamaged;
  }

  std::string summary = "checked " + std::to_string(r.snapshots) + " snapshots, " +
                        std::to_string(r.trees) + " trees, " + std::to_string(r.packs) +
                        " packs (" + std::to_string(r.data_blobs) + " data blobs)";
  if (options.read_data || options.subset || options.subset_percent || options.subset_bytes)
    summary +=
        "; read " + std::to_string(r.packs_read) + " packs (" + FormatBytes(r.bytes_read) + ")";
  Say(g, summary);
  for (const auto& p : r.warnings) Say(g, ProblemLine("warning", p));
  if (r.unused) {
    std::string line = UnusedLine(*r.unused);
    if (!line.empty()) Say(g, line);
  }
  // Errors are the point of the command: printed even with --quiet.
  for (const auto& p : r.errors) {
    std::cout << ProblemLine("error", p) << "\n";
    for (const auto& a : p.affected) std::cout << "    affects " << a << "\n";
    if (p.affected_omitted)
      std::cout << "    ... and " << p.affected_omitted << " more affected files\n";
  }
  PrintAffectedSnapshots(r);
  std::cout << std::flush;
  if (r.healthy()) {
    Say(g, "no errors were found");
    return kExitOk;
  }
  std::cerr << "lifeboat: the repository is damaged: " << r.errors.size()
            << " error(s) were found (listed above)" << std::endl;
  if (!intact_elsewhere.empty()) {
    std::cerr << "lifeboat: " << intact_elsewhere.size() << " of the " << r.damaged_packs.size()
              << " damaged pack(s) have intact copies at the replicas given with --fallback; "
                 "`lifeboat repair packs --from "
              << intact_elsewhere.front().second << "` heals this repository from "
              << (intact_elsewhere.size() == r.damaged_packs.size() ? "there" : "there, as far as it can")
              << "\n";
  }
  for (const std::string& hint : RepairHints(r)) std::cerr << "  to repair: " << hint << "\n";
  std::cerr << std::flush;
  return kExitDamaged;
}

}  // namespace

void RegisterCheck(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("check", "verify the repository; exit 4 when damage is found");
  auto f = std::make_shared<CheckFlags>();
  cmd->add_flag("--read-data", f->read_data,
                "also read every pack and verify every blob (slow: reads the whole repository)");
  cmd->add_option("--read-data-subset", f->subset,
                  "read only a subset of the packs: n/m (bucket n of m, e.g. 1/7 on Mondays), "
                  "a random percentage (e.g. 10%) or random packs adding up to a SIZE (e.g. "
                  "500M, 2G, 1.5GiB; units are powers of 1024; doc/units.md)");
  cmd->add_option("--workers", f->workers,
                  "parallel workers (default: cores, at least 2, or what the backend serves at "
                  "once when that is more)");
  AddFallbackOption(cmd, &f->fallbacks);
  cmd->callback([&g, runner, f] { *runner = [&g, f] { return RunCheckCommand(g, *f); }; });
}

}  // namespace lifeboat::cli
