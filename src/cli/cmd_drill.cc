// lifeboat drill: recovery of the chosen services (with their dependencies) from a site into a
// sandbox, their recover steps and checks, timed against the plan's RTO and RPO (doc/drills.md).
// The work is recover::RecoverServices'; this verb loads the plan, prints and maps the exit.
#include <iostream>

#include "cli/common.h"
#include "plan/validate.h"
#include "recover/recover.h"
#include "recover/report_html.h"
#include "util/file_io.h"

namespace lifeboat::cli {

namespace {

struct DrillFlags {
  std::string plan;
  std::vector<std::string> services;
  bool all = false;
  std::string site;
  std::string at;
  bool keep = false;
  int parallel = 4;
  std::string sandbox;
  std::string pg_bindir;
  std::string html;
};

int Drill(const GlobalOptions& g, const DrillFlags& f) {
  if (f.all == !f.services.empty()) {
    return ReportError(
        g, Status::InvalidArgument(f.all ? "name services or give --all, not both"
                                         : "name the services to drill, or give --all for every "
                                           "service of the plan"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, f.plan);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  recover::RecoverOptions o;
  o.mode = recover::RecoveryMode::kDrill;
  o.services = f.services;
  o.site = f.site;
  o.at = f.at;
  o.keep = f.keep;
  o.parallel = f.parallel;
  o.sandbox_base = f.sandbox;
  o.postgres_bin_dir = f.pg_bindir;
  o.context = CliContext();
  if (!g.json && !g.quiet)
    o.on_line = [](const std::string& line) { std::cout << line << std::endl; };
  Result<recover::RecoveryReport> report = recover::RecoverServices(loaded->plan, o);
  if (!report.ok()) return ReportError(g, report.status());
  if (g.json) {
    PrintJson(recover::RecoveryReportToJson(*report));
  } else {
    for (const std::string& w : report->warnings) std::cerr << "lifeboat: warning: " << w << "\n";
    if (!g.quiet || !report->passed()) std::cout << recover::FormatRecoveryReport(*report);
  }
  if (!f.html.empty()) {
    Status st = WriteFileDurably(f.html, AsBytes(recover::RecoveryReportHtml(*report)),
                                 /*overwrite=*/true);
    if (!st.ok()) return ReportError(g, st.WithContext("--html " + f.html));
    if (!g.json) Say(g, "drill report written to " + f.html);
  }
  return report->ExitCode();
}

}  // namespace

void RegisterDrill(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "drill",
      "recover services into a sandbox, run their recover steps and checks, and measure "
      "RTO and RPO against the plan (doc/drills.md); exit 0 only when every one passed");
  auto f = std::make_shared<DrillFlags>();
  cmd->add_option("service", f->services, "services to drill (their dependencies are drilled too)");
  cmd->add_flag("--all", f->all, "drill every service of the plan");
  AddPlanOption(cmd, &f->plan);
  cmd->add_option("--site", f->site, "restore from this site (default: each service's first)")
      ->type_name("SITE");
  cmd->add_option("--at", f->at,
                  "a snapshot id (prefix), or a time (2026-05-01T12:00:00Z): the newest snapshots "
                  "at or before it (default: the newest)")
      ->type_name("SNAPSHOT|TIME");
  cmd->add_flag("--keep", f->keep, "keep the sandbox afterwards (its processes are stopped)");
  cmd->add_option("--parallel", f->parallel, "services recovered at once (default 4)")
      ->type_name("N")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--sandbox", f->sandbox,
                  "make the sandbox in this directory (default $TMPDIR/lifeboat-drills, else "
                  "/var/tmp/lifeboat-drills)")
      ->type_name("DIR");
  cmd->add_option("--pg-bindir", f->pg_bindir,
                  "PostgreSQL programs for scratch clusters (default: "
                  "/usr/lib/postgresql/<version>/bin, else PATH)")
      ->type_name("DIR");
  cmd->add_option("--html", f->html,
                  "also write the report as a self-contained HTML page (summary, RTO/RPO against "
                  "target, recovery timeline) to FILE, atomically")
      ->type_name("FILE");
  cmd->callback([&g, runner, f, cmd] {
    // `drill history` (cmd_drill_history.cc) set its own runner: the parent's callback runs
    // after the subcommand's and must not replace it.
    if (!cmd->get_subcommands().empty()) return;
    *runner = [&g, f] { return Drill(g, *f); };
  });
}

}  // namespace lifeboat::cli
