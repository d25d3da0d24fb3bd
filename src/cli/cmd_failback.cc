// lifeboat failback: the services of the last failover brought home to their original site, with
// what was written at the recovery site meanwhile (doc/failover.md, "Failback"). The work is
// dr::PerformFailback's; this verb loads the plan, opens the fence, asks for confirmation, prints
// and maps the exit. Commit and rollback of the failback are `failover commit|rollback`.
#include <unistd.h>

#include <iostream>

#include "cli/common.h"
#include "dr/failback.h"
#include "fence/fence.h"
#include "runlog/run_lock.h"

namespace lifeboat::cli {

namespace {

struct FailbackFlags {
  std::string plan;
  std::string to;
  bool dry_run = false;
  bool yes = false;
  std::string state_dir;
  int parallel = 4;
  std::string pg_bindir;
};

int Failback(const GlobalOptions& g, const FailbackFlags& f) {
  if (f.to.empty()) {
    return ReportError(g, Status::InvalidArgument("name the original site: --to SITE"));
  }
  const bool terminal = ::isatty(STDIN_FILENO) && !g.json;
  if (!f.yes && !f.dry_run && !terminal) {
    return ReportError(
        g, Status::InvalidArgument("a failback changes production and there is no terminal to "
                                   "confirm it on: pass --yes (or --dry-run to only check)"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, f.plan, /*always_print_warnings=*/true);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  Result<std::string> state_dir = StateDirOrDefault(f.state_dir);
  if (!state_dir.ok()) return ReportError(g, state_dir.status());
  const Context ctx = CliContext();
  Result<std::unique_ptr<fence::Fence>> fence =
      fence::OpenFence(loaded->plan.daemon, *state_dir, fence::ActorIdentity(), ctx);
  if (!fence.ok()) return ReportError(g, fence.status());
  dr::FailbackOptions o;
  o.to = f.to;
  o.recover.parallel = f.parallel;
  o.recover.postgres_bin_dir = f.pg_bindir;
  o.recover.context = ctx;
  if (!g.json && !g.quiet) {
    o.recover.on_line = [](const std::string& line) { std::cout << line << std::endl; };
  }
  o.fence = fence->get();
  o.state_dir = *state_dir;
  o.dry_run = f.dry_run;
  o.confirm = [&](const recover::PreconditionReport& pre) {
    if (f.yes) return true;
    dr::FailbackOutcome preview;
    preview.failback.result = dr::FailoverOutcome::Result::kDryRun;
    preview.failback.preconditions = pre;
    std::cout << dr::FormatFailbackOutcome(preview);
    return ConfirmOnTerminal(g, f.yes, "fail back to " + f.to + " now?");
  };
  Result<dr::FailbackOutcome> outcome = dr::PerformFailback(loaded->plan, o);
  if (!outcome.ok()) return ReportError(g, outcome.status());
  if (g.json) {
    PrintJson(dr::FailbackOutcomeToJson(*outcome));
  } else {
    std::cout << dr::FormatFailbackOutcome(*outcome);
  }
  return outcome->ExitCode();
}

}  // namespace

void RegisterFailback(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "failback",
      "bring the services of the last failover home to their original site with what was "
      "written at the recovery site meanwhile (doc/failover.md, \"Failback\"); commit or roll "
      "it back with `failover commit|rollback`; exit 0 every service back and switched, 3 one "
      "failed, 2 a check failed or not confirmed, 4 fenced out, 130 interrupted");
  auto f = std::make_shared<FailbackFlags>();
  cmd->add_option("--to", f->to, "the original site of the failover (required)")->type_name("SITE");
  cmd->add_flag("--dry-run", f->dry_run, "show the waves and run the checks; change nothing");
  cmd->add_flag("--yes", f->yes, "do not ask (required without a terminal)");
  cmd->add_option("--parallel", f->parallel, "services recovered at once (default 4)")
      ->type_name("N")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--pg-bindir", f->pg_bindir, "PostgreSQL programs (default: found)")
      ->type_name("DIR");
  AddPlanOption(cmd, &f->plan);
  cmd->add_option("--state-dir", f->state_dir, "as for failover")->type_name("DIR");
  cmd->callback([&g, runner, f] { *runner = [&g, f] { return Failback(g, *f); }; });
}

}  // namespace lifeboat::cli
