// lifeboat drill history: the drill records of the plan's services, read from its sites and merged
// (doc/drill-history.md). A table per service, --format md|html, or --json; --out writes a file.
// The mechanism is dr/drill_history.h; this file parses flags and prints.
#include <iostream>

#include "cli/common.h"
#include "dr/drill_history.h"
#include "plan/validate.h"
#include "util/file_io.h"

namespace lifeboat::cli {

namespace {

struct DrillHistoryFlags {
  std::string plan;
  std::vector<std::string> services;
  std::vector<std::string> sites;
  std::string format = "text";
  std::string out;
};

int RunDrillHistory(const GlobalOptions& g, const DrillHistoryFlags& f) {
  if (g.json && f.format != "text") {
    return ReportError(g, Status::InvalidArgument(
                              "--json and --format " + f.format + " exclude each other: choose one"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, f.plan);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  dr::DrillHistoryOptions o;
  o.context = CliContext();
  o.services = f.services;
  o.sites = f.sites;
  Result<dr::DrillHistory> h = dr::ReadDrillHistory(loaded->plan, o);
  if (!h.ok()) return ReportError(g, h.status());
  std::string text;
  if (g.json) {
    text = dr::DrillHistoryJson(*h).dump(-1, ' ', false,
                                         nlohmann::ordered_json::error_handler_t::replace) +
           "\n";
  } else if (f.format == "md") {
    text = dr::DrillHistoryMarkdown(*h);
  } else if (f.format == "html") {
    text = dr::DrillHistoryHtml(*h);
  } else {
    text = dr::DrillHistoryText(*h);
  }
  // Warnings on stderr (the JSON carries them too): a site that could not be read must not pass
  // unnoticed, because its records are missing from what is shown.
  if (!g.json && !g.quiet)
    for (const std::string& w : h->warnings) std::cerr << "lifeboat: warning: " << w << "\n";
  if (!f.out.empty()) {
    Status st = WriteFileDurably(f.out, AsBytes(text), /*overwrite=*/true);
    if (!st.ok()) return ReportError(g, st.WithContext("--out " + f.out));
    Say(g, "drill history written to " + f.out);
    return kExitOk;
  }
  std::cout << text << std::flush;
  return kExitOk;
}

}  // namespace

void RegisterDrillHistory(CLI::App& app, GlobalOptions& g, Runner* runner) {
  // `history` is a sub-verb of `drill` (cmd_drill.cc, registered first).
  CLI::App* drill = app.get_subcommand("drill");
  auto flags = std::make_shared<DrillHistoryFlags>();
  auto* cmd = drill->add_subcommand(
      "history",
      "the drills of the plan's services, from every site's records: achieved RTO and RPO "
      "against target, and what needs attention (doc/drill-history.md)");
  AddPlanOption(cmd, &flags->plan);
  cmd->add_option("--service", flags->services, "only this service (repeatable)")
      ->type_name("NAME");
  cmd->add_option("--site", flags->sites,
                  "only drills from this site, read from it alone (repeatable)")
      ->type_name("NAME");
  cmd->add_option("--format", flags->format,
                  "text (a table per service, the default), md (Markdown) or html (one "
                  "self-contained page with charts); --json for JSON")
      ->check(CLI::IsMember({"text", "md", "html"}));
  cmd->add_option("--out", flags->out, "write to FILE (atomically) instead of standard output")
      ->type_name("FILE");
  cmd->callback([&g, runner, flags] { *runner = [&g, flags] { return RunDrillHistory(g, *flags); }; });
}

}  // namespace lifeboat::cli
