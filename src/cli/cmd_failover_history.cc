// lifeboat failover history: the failovers and failbacks of the plan, from every site's incident
// records, merged by incident (doc/failover.md, "Incident records"). Text, or --json. The
// mechanism is dr/incident_history.h; this file parses flags and prints.
#include <iostream>

#include "cli/common.h"
#include "dr/incident_history.h"
#include "plan/validate.h"

namespace lifeboat::cli {

namespace {

struct FailoverHistoryFlags {
  std::string plan;
  std::vector<std::string> sites;
};

int RunFailoverHistory(const GlobalOptions& g, const FailoverHistoryFlags& f) {
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, f.plan);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  dr::IncidentHistoryOptions o;
  o.context = CliContext();
  o.sites = f.sites;
  Result<dr::IncidentHistory> h = dr::ReadIncidentHistory(loaded->plan, o);
  if (!h.ok()) return ReportError(g, h.status());
  if (g.json) {
    std::cout << dr::IncidentHistoryJson(*h).dump(-1, ' ', false,
                                                  nlohmann::ordered_json::error_handler_t::replace)
              << std::endl;
    return kExitOk;
  }
  std::cout << dr::IncidentHistoryText(*h) << std::flush;  // its warnings last
  return kExitOk;
}

}  // namespace

void RegisterFailoverHistory(CLI::App& app, GlobalOptions& g, Runner* runner) {
  // `history` is a sub-verb of `failover` (cmd_failover.cc, registered first).
  CLI::App* failover = app.get_subcommand("failover");
  auto flags = std::make_shared<FailoverHistoryFlags>();
  auto* cmd = failover->add_subcommand(
      "history",
      "every failover and failback recorded at the plan's sites, newest first: who declared it, "
      "its state, per service the result, achieved RTO and data-loss window (doc/failover.md)");
  AddPlanOption(cmd, &flags->plan);
  cmd->add_option("--site", flags->sites, "only the records of this site (repeatable)")
      ->type_name("NAME");
  cmd->callback(
      [&g, runner, flags] { *runner = [&g, flags] { return RunFailoverHistory(g, *flags); }; });
}

}  // namespace lifeboat::cli
