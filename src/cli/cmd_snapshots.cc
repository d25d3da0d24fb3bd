// lifeboat snapshots: lists snapshots (table or --json), filtered by host, tag, path and the
// plan's service.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/common.h"

namespace lifeboat::cli {

static std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

nlohmann::json SnapshotJson(const Id& id, const Snapshot& s) {
  nlohmann::json j = {{"id", id.Hex()},
                      {"short_id", id.Short()},
                      {"time", FormatTime(s.time_ns)},
                      {"tree", s.tree.Hex()},
                      {"incomplete", s.incomplete},
                      {"program_version", s.program_version}};
  PutBytes(j, "hostname", s.hostname);
  PutBytes(j, "username", s.username);
  PutBytesArray(j, "paths", s.paths);  // names are bytes: "paths_raw" when needed (doc/json.md)
  PutBytesArray(j, "tags", s.tags);
  if (s.parent) j["parent"] = s.parent->Hex();
  if (s.original) j["original"] = s.original->Hex();  // set on copies (doc/replication.md)
  if (s.repaired_from) j["repaired_from"] = s.repaired_from->Hex();
  if (!s.service.empty()) j["service"] = s.service;  // plan snapshots (format §9.1)
  if (s.source) j["source"] = SourceToJson(*s.source);
  j["summary"] = SummaryToJson(s.summary);
  return j;
}

void WarnDamagedSnapshots(const GlobalOptions& g, const std::vector<DamagedSnapshot>& damaged) {
  for (const DamagedSnapshot& d : damaged) {
    if (g.json)
      std::cerr << nlohmann::json({{"message_type", "warning"},
                                   {"code", std::string(StatusCodeName(d.problem.code()))},
                                   {"snapshot_file", d.name},
                                   {"message", DescribeDamagedSnapshot(d)}})
                       .dump()
                << std::endl;
    else
      std::cerr << "lifeboat: warning: " << DescribeDamagedSnapshot(d) << std::endl;
  }
}

void RegisterSnapshots(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("snapshots", "list snapshots");
  auto filter = std::make_shared<SnapshotFilter>();
  AddSnapshotFilterOptions(cmd, filter.get());
  auto latest = std::make_shared<int>(0);
  cmd->add_option("--latest", *latest, "only the newest N snapshots per host and paths");
  cmd->callback([&g, runner, filter, latest] {
    *runner = [&g, filter, latest]() -> int {
      auto repo = OpenRepository(g);
      if (!repo.ok()) return ReportError(g, repo.status());
      // A damaged snapshot file is named (stderr) and the others are listed: exit 0.
      std::vector<DamagedSnapshot> damaged;
      auto all = (*repo)->ListSnapshots(&damaged);
      if (!all.ok()) return ReportError(g, all.status());
      WarnDamagedSnapshots(g, damaged);
      std::vector<std::pair<Id, Snapshot>> shown;
      for (auto& e : *all)
        if (filter->Matches(e.second)) shown.push_back(std::move(e));
      if (*latest > 0) {
        std::map<std::string, int> seen;
        std::vector<std::pair<Id, Snapshot>> kept;
        for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
          std::string key = it->second.service + "\n" + it->second.hostname + "\n" +
                            Join(it->second.paths, "\n");
          if (seen[key]++ < *latest) kept.push_back(std::move(*it));
        }
        std::reverse(kept.begin(), kept.end());
        shown = std::move(kept);
      }
      if (g.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& [id, s] : shown) arr.push_back(SnapshotJson(id, s));
        PrintJson(arr);
        return kExitOk;
      }
      // A "Service" column (service/source) when any snapshot shown was made by the plan.
      bool services = std::any_of(shown.begin(), shown.end(),
                                  [](const auto& e) { return !e.second.service.empty(); });
      auto service_of = [](const Snapshot& s) {
        if (s.service.empty()) return std::string("-");
        return s.source ? s.service + "/" + s.source->name : s.service;
      };
      char line[512];
      snprintf(line, sizeof line, "%-9s %-19s %-16s %-16s %s%s", "ID", "Time", "Host", "Tags",
               services ? "Service              " : "", "Paths");
      std::cout << line << "\n" << std::string(80, '-') << "\n";
      for (const auto& [id, s] : shown) {
        std::string service;
        if (services) {
          service = service_of(s);
          service.resize(std::max<size_t>(service.size(), 20), ' ');
          service += ' ';
        }
        snprintf(line, sizeof line, "%-9s %-19s %-16s %-16s %s%s%s", id.Short().c_str(),
                 FormatLocalTime(s.time_ns).c_str(), s.hostname.c_str(),
                 Join(s.tags, ",").c_str(), service.c_str(), Join(s.paths, " ").c_str(),
                 s.incomplete ? "  (incomplete)" : "");
        std::cout << line << "\n";
      }
      std::cout << std::string(80, '-') << "\n" << shown.size() << " snapshots" << std::endl;
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
