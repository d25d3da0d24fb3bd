// lifeboat failover: the services brought up at a recovery site from the backups there, in
// business order, and clients pointed at them; status, commit and rollback of the open incident
// (doc/failover.md). The work is dr::PerformFailover's, CommitFailover's and RollbackFailover's;
// this verb loads the plan, opens the fence, asks for confirmation, prints and maps the exit.
#include <unistd.h>

#include <iostream>

#include "cli/common.h"
#include "dr/failover.h"
#include "fence/fence.h"
#include "runlog/run_lock.h"

namespace lifeboat::cli {

namespace {

struct FailoverFlags {
  std::string plan;
  std::vector<std::string> services;
  bool all = false;
  std::string to;
  std::string at;
  bool dry_run = false;
  bool yes = false;
  std::string state_dir;
  int parallel = 4;
  std::string pg_bindir;
};

int Failover(const GlobalOptions& g, const FailoverFlags& f) {
  if (f.all == !f.services.empty()) {
    return ReportError(
        g, Status::InvalidArgument(f.all ? "name services or give --all, not both"
                                         : "name the services to fail over, or give --all"));
  }
  if (f.to.empty())
    return ReportError(g, Status::InvalidArgument("name the recovery site: --to SITE"));
  if (!f.yes && !f.dry_run && (!::isatty(STDIN_FILENO) || g.json)) {
    return ReportError(
        g, Status::InvalidArgument("a failover changes production and there is no terminal to "
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
  dr::FailoverOptions o;
  o.recover.services = f.services;
  o.recover.site = f.to;
  o.recover.at = f.at;
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
    std::cout << dr::FormatFailoverOutcome([&] {
      dr::FailoverOutcome preview;
      preview.result = dr::FailoverOutcome::Result::kDryRun;
      preview.preconditions = pre;
      return preview;
    }());
    return ConfirmOnTerminal(g, f.yes, "fail over to " + f.to + " now?");
  };
  Result<dr::FailoverOutcome> outcome = dr::PerformFailover(loaded->plan, o);
  if (!outcome.ok()) return ReportError(g, outcome.status());
  if (g.json) {
    PrintJson(dr::FailoverOutcomeToJson(*outcome));
  } else {
    std::cout << dr::FormatFailoverOutcome(*outcome);
  }
  return outcome->ExitCode();
}

int IncidentAction(const GlobalOptions& g, const FailoverFlags& f, std::string_view action) {
  const std::string& plan_flag = f.plan;
  const bool yes = f.yes;
  Result<std::string> state_dir = StateDirOrDefault(f.state_dir);
  if (!state_dir.ok()) return ReportError(g, state_dir.status());
  if (action == "status") {
    Result<std::optional<dr::IncidentState>> s = dr::FailoverStatus(*state_dir);
    if (!s.ok()) return ReportError(g, s.status());
    if (!s->has_value()) {
      if (g.json) {
        PrintJson(nlohmann::json{{"incident", nullptr}});
      } else {
        Say(g, "no failover incident in " + *state_dir);
      }
      return 0;
    }
    if (g.json) {
      PrintJson(dr::IncidentStatusToJson(**s));
    } else {
      std::cout << dr::FormatIncidentStatus(**s);
    }
    return 0;
  }
  if (!ConfirmOnTerminal(g, yes, std::string(action) + " the open failover?")) {
    return ReportError(
        g, Status::InvalidArgument(std::string(action) +
                                   " changes production and was not confirmed: pass --yes (without "
                                   "a terminal it is required)"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, plan_flag, true);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  const Context ctx = CliContext();
  Result<std::unique_ptr<fence::Fence>> fence =
      fence::OpenFence(loaded->plan.daemon, *state_dir, fence::ActorIdentity(), ctx);
  if (!fence.ok()) return ReportError(g, fence.status());
  dr::IncidentActionOptions o;
  o.fence = fence->get();
  o.state_dir = *state_dir;
  o.context = ctx;
  o.postgres_bin_dir = f.pg_bindir;
  if (!g.json && !g.quiet) o.on_line = [](const std::string& l) { std::cout << l << std::endl; };
  Result<dr::IncidentActionOutcome> r = action == "commit" ? dr::CommitFailover(loaded->plan, o)
                                                           : dr::RollbackFailover(loaded->plan, o);
  if (!r.ok()) return ReportError(g, r.status());
  if (g.json) {
    PrintJson(dr::IncidentActionToJson(*r, action));
  } else {
    std::cout << dr::FormatIncidentAction(*r, action);
  }
  return r->ExitCode();
}

}  // namespace

void RegisterFailover(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "failover",
      "bring services up at a recovery site from its backups, in business order, and point "
      "clients at them (doc/failover.md; to the site of the open failover: joins its incident); "
      "exit 0 every service recovered and switched, 3 one failed, 2 a precondition failed, "
      "refused or not confirmed, 4 fenced out, 130 interrupted");
  auto f = std::make_shared<FailoverFlags>();
  cmd->add_option("service", f->services, "services to fail over (with their dependencies)");
  cmd->add_flag("--all", f->all, "every service of the plan");
  cmd->add_option("--to", f->to, "the recovery site (this machine is taken to be there)")
      ->type_name("SITE");
  cmd->add_option("--at", f->at,
                  "a snapshot id (prefix), or a time (2026-05-01T12:00:00Z): the newest snapshots "
                  "at or before it (default: the newest)")
      ->type_name("SNAPSHOT|TIME");
  cmd->add_flag("--dry-run", f->dry_run,
                "show the waves and check every precondition; change nothing");
  cmd->add_flag("--yes", f->yes, "do not ask (required without a terminal)");
  cmd->add_option("--parallel", f->parallel, "services recovered at once (default 4)")
      ->type_name("N")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--pg-bindir", f->pg_bindir, "PostgreSQL programs (default: found)")
      ->type_name("DIR");
  AddPlanOption(cmd, &f->plan);
  cmd->add_option("--state-dir", f->state_dir,
                  "incident.json, the fence and the notification state (default /var/lib/lifeboat "
                  "as root, else $XDG_STATE_HOME/lifeboat or ~/.local/state/lifeboat)")
      ->type_name("DIR");
  for (const char* action : {"status", "commit", "rollback"}) {
    const std::string help =
        std::string(action) == "status"
            ? "the open (or last) incident: services, timeline, what runs"
        : std::string(action) == "commit"
            ? "make the open failover final (failover_committed)"
            : "undo the open failover: stop what it started, switch back, move its files to "
              "RECOVERY_ROOT/.lifeboat-rolled-back/INCIDENT/; of a failback: also bring the "
              "services up at the recovery site again (exit 3 when one could not be)";
    auto* sub = cmd->add_subcommand(action, help);
    auto flags = std::make_shared<FailoverFlags>();
    AddPlanOption(sub, &flags->plan);
    sub->add_flag("--yes", flags->yes, "do not ask (required without a terminal)");
    sub->add_option("--state-dir", flags->state_dir, "as for failover")->type_name("DIR");
    if (std::string(action) == "rollback") {
      sub->add_option("--pg-bindir", flags->pg_bindir,
                      "PostgreSQL programs, when a failback's services are recovered at the "
                      "recovery site again (default: found)")
          ->type_name("DIR");
    }
    sub->callback([&g, runner, flags, action] {
      *runner = [&g, flags, action] { return IncidentAction(g, *flags, action); };
    });
  }
  cmd->callback([&g, runner, f, cmd] {
    if (!cmd->get_subcommands().empty()) return;
    *runner = [&g, f] { return Failover(g, *f); };
  });
}

}  // namespace lifeboat::cli
