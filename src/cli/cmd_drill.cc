// lifeboat drill: recovery of the chosen services (with their dependencies) from a site into a
// sandbox, their recover steps and checks, timed against the plan's RTO and RPO (doc/drills.md).
// The work is dr::PerformDrill's (the recovery, its records at the sites, findings and
// notifications); this verb loads the plan, prints and maps the exit.
#include <iostream>

#include "cli/common.h"
#include "dr/drill.h"
#include "plan/validate.h"
#include "recover/report_html.h"
#include "runlog/run_lock.h"
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
  std::string state_dir;
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
  dr::DrillOptions d;
  recover::RecoverOptions& o = d.recover;
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
  // Without a state directory a plan with channels sends nothing and says so (a warning).
  std::string state_dir = f.state_dir;
  if (state_dir.empty()) {
    Result<std::string> dir = DefaultRunStateDirectory();
    if (dir.ok()) state_dir = *dir;
  }
  if (!state_dir.empty()) d.notify_state_path = state_dir + "/notify-state.json";
  Result<dr::DrillOutcome> outcome = dr::PerformDrill(loaded->plan, d);
  if (!outcome.ok()) return ReportError(g, outcome.status());
  if (g.json) {
    PrintJson(dr::DrillOutcomeToJson(*outcome));
  } else {
    // Warnings on stderr, whatever -q says: a drill that left no evidence must not pass unseen.
    for (const std::string& w : outcome->warnings) std::cerr << "lifeboat: warning: " << w << "\n";
    if (!g.quiet || outcome->ExitCode() != 0) std::cout << dr::FormatDrillOutcome(*outcome);
  }
  if (!f.html.empty()) {
    Status st = WriteFileDurably(f.html, AsBytes(recover::RecoveryReportHtml(outcome->report)),
                                 /*overwrite=*/true);
    if (!st.ok()) return ReportError(g, st.WithContext("--html " + f.html));
    if (!g.json) Say(g, "drill report written to " + f.html);
  }
  return outcome->ExitCode();
}

}  // namespace

void RegisterDrill(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "drill",
      "recover services into a sandbox, run their recover steps and checks, measure RTO and "
      "RPO against the plan, store each drill's record at the site it restored from and notify "
      "the plan's routes (doc/drills.md); exit 0 only when every one passed and was recorded, "
      "3 when one failed or could not be recorded");
  auto f = std::make_shared<DrillFlags>();
  cmd->add_option("service", f->services,
                  "services to drill (their dependencies are drilled too); a service named "
                  "`history` with --service history or after --");
  cmd->add_option("--service", f->services,
                  "a service to drill (repeatable; the same as naming it, also for a service "
                  "named like the sub-verb history)")
      ->type_name("NAME");
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
  cmd->add_option("--state-dir", f->state_dir,
                  "the notification state (shared with run and status; default /var/lib/lifeboat "
                  "as root, else $XDG_STATE_HOME/lifeboat or ~/.local/state/lifeboat)")
      ->type_name("DIR");
  cmd->callback([&g, runner, f, cmd] {
    // `drill history` (cmd_drill_history.cc) set its own runner: the parent's callback runs
    // after the subcommand's and must not replace it.
    if (!cmd->get_subcommands().empty()) return;
    *runner = [&g, f] { return Drill(g, *f); };
  });
}

}  // namespace lifeboat::cli
