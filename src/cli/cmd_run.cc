// lifeboat run: the plan's due backups in tier order, with replication, retention and hooks
// (doc/run.md). The work is dr::RunPlan's; this verb loads the plan, prints and maps the exit.
#include <iostream>

#include "cli/common.h"
#include "dr/active_sites.h"
#include "dr/run.h"
#include "notify/event.h"
#include "plan/validate.h"
#include "runlog/cache.h"
#include "runlog/run_lock.h"

namespace lifeboat::cli {

namespace {

struct RunFlags {
  std::string plan;
  std::vector<std::string> services;
  bool now = false;
  bool dry_run = false;
  std::string state_dir;
};

std::string Time(int64_t ns) { return ns == 0 ? "never" : notify::FormatRfc3339Utc(ns); }

nlohmann::json OutcomeToJson(const dr::SiteOutcome& o) {
  nlohmann::json j = {{"site", o.site},
                      {"source", o.source.empty() ? nlohmann::json() : nlohmann::json(o.source)},
                      {"kind", o.source_kind.empty() ? nlohmann::json() : nlohmann::json(o.source_kind)},
                      {"what", o.what},
                      {"result", std::string(RunResultName(o.result))},
                      {"error", o.error},
                      {"snapshot", o.snapshot ? nlohmann::json(o.snapshot->Hex()) : nlohmann::json()},
                      {"bytes_added", o.bytes_added},
                      {"bytes_sent", o.bytes_sent}};
  return j;
}

nlohmann::json ReportToJson(const dr::RunReport& r) {
  nlohmann::json services = nlohmann::json::array();
  for (const dr::ServiceReport& s : r.services) {
    nlohmann::json outcomes = nlohmann::json::array();
    for (const dr::SiteOutcome& o : s.outcomes) outcomes.push_back(OutcomeToJson(o));
    services.push_back(
        {{"service", s.name},
         {"tier", s.tier},
         {"state", std::string(dr::ServiceStateName(s.state))},
         {"failed", s.failed()},
         {"last_start", s.last_start_ns ? nlohmann::json(Time(s.last_start_ns)) : nlohmann::json()},
         {"next_due", s.next_due_ns ? nlohmann::json(Time(s.next_due_ns)) : nlohmann::json()},
         {"note", s.note},
         {"read_root", s.read_root.empty() ? nlohmann::json() : nlohmann::json(s.read_root)},
         {"read_from", s.read_from.empty() ? nlohmann::json() : nlohmann::json(s.read_from)},
         {"drill",
          s.drill ? nlohmann::json{{"due", s.drill->due},
                                   {"last_start", s.drill->last_start_ns
                                                      ? nlohmann::json(Time(s.drill->last_start_ns))
                                                      : nlohmann::json()},
                                   {"next_due", s.drill->next_due_ns
                                                    ? nlohmann::json(Time(s.drill->next_due_ns))
                                                    : nlohmann::json()},
                                   {"note", s.drill->note}}
                  : nlohmann::json()},
         {"outcomes", outcomes},
         {"hook_errors", s.hook_errors},
         {"retention_notes", s.retention_notes}});
  }
  nlohmann::json writes = nlohmann::json::array();
  for (const dr::RecordWrite& w : r.record_writes) {
    writes.push_back({{"site", w.site},
                      {"records", w.records},
                      {"object", w.object ? nlohmann::json(w.object->Hex()) : nlohmann::json()},
                      {"error", w.error},
                      {"carried_for", w.carried_for}});
  }
  nlohmann::json notes = nlohmann::json::array();
  for (const notify::DeliveryOutcome& o : r.notifications) notes.push_back(notify::OutcomeJson(o));
  return {{"message_type", "run"},
          {"run_id", r.run_id},
          {"started", Time(r.start_ns)},
          {"ended", Time(r.end_ns)},
          {"dry_run", r.dry_run},
          {"exit_status", r.ExitCode()},
          {"services", services},
          {"record_writes", writes},
          {"records_lost", r.records_lost},
          {"notifications", notes},
          {"drill", r.drill ? nlohmann::json(dr::DrillOutcomeToJson(*r.drill)) : nlohmann::json()},
          {"drill_error", r.drill_error},
          {"warnings", r.warnings}};
}

void PrintHuman(const GlobalOptions& g, const dr::RunReport& r) {
  size_t ran = 0, not_due = 0, locked = 0, failed = 0, skipped = 0;
  for (const dr::ServiceReport& s : r.services) {
    switch (s.state) {
      case dr::ServiceState::kSkipped:
        ++skipped;
        std::cerr << "lifeboat: service " << s.name << " not backed up: " << s.note << "\n";
        break;
      case dr::ServiceState::kNotDue:
        ++not_due;
        if (g.verbose > 0) {
          Say(g, "service " + s.name + ": not due (last start " + Time(s.last_start_ns) +
                     ", next " + Time(s.next_due_ns) + ")" + (s.note.empty() ? "" : ": " + s.note));
        }

        break;
      case dr::ServiceState::kLocked: ++locked; break;
      case dr::ServiceState::kRan:
      case dr::ServiceState::kDryRun: ++ran; break;
      case dr::ServiceState::kCancelled: break;
    }
    if (s.failed()) ++failed;
    if (g.verbose > 0 && s.drill && !s.drill->due) {
      Say(g, "service " + s.name + ": drill not due (last drill " + Time(s.drill->last_start_ns) +
                 ", next " + Time(s.drill->next_due_ns) + ")");
    }
  }
  for (const dr::RecordWrite& w : r.record_writes) {
    if (!w.error.empty()) {
      std::cerr << "lifeboat: run records not written to site " << w.site << ": " << w.error
                << "\n";
    } else if (!w.carried_for.empty()) {
      std::string down;
      for (const std::string& d : w.carried_for) down += (down.empty() ? "" : ", ") + d;
      Say(g, "run records of " + down + " (down) written to site " + w.site);
    }
  }
  if (r.records_lost > 0) {
    std::cerr << "lifeboat: " << r.records_lost
              << " run records could be written to no site (every site of this run was down)\n";
  }
  for (const notify::DeliveryOutcome& o : r.notifications) {
    const std::string line = "notification " + std::string(notify::EventTypeName(o.event)) +
                             " to " + o.channel + ": " +
                             std::string(notify::OutcomeResultName(o.result)) +
                             (o.error.empty() ? "" : ": " + o.error);
    if (o.result == notify::OutcomeResult::kFailed) {
      std::cerr << "lifeboat: " << line << "\n";
    } else {
      Say(g, line);
    }
  }
  if (r.drill) {
    for (const std::string& w : r.drill->warnings) std::cerr << "lifeboat: warning: " << w << "\n";
    if (!g.quiet || r.drill->ExitCode() != 0) std::cout << dr::FormatDrillOutcome(*r.drill);
  }
  if (!r.drill_error.empty()) std::cerr << "lifeboat: scheduled drill not run: " << r.drill_error << "\n";
  for (const std::string& w : r.warnings) std::cerr << "lifeboat: warning: " << w << "\n";
  std::string summary = std::string(r.dry_run ? "dry run" : "run") + " " + r.run_id.substr(0, 8) +
                        ": " + std::to_string(ran) + (r.dry_run ? " would run" : " ran") + ", " +
                        std::to_string(not_due) + " not due";
  if (locked > 0) summary += ", " + std::to_string(locked) + " skipped (held by another run)";
  if (failed > 0) summary += ", " + std::to_string(failed) + " FAILED";
  if (skipped > 0) summary += ", " + std::to_string(skipped) + " SKIPPED (see above)";
  if (r.drill) {
    size_t passed = 0;
    for (const dr::JudgedDrill& d : r.drill->drills) passed += d.record.result == DrillResult::kPassed;
    summary += ", drilled " + std::to_string(r.drill->drills.size()) + " (" +
               std::to_string(passed) + " passed" + (r.drill->recorded() ? "" : ", NOT RECORDED") +
               ")";
  }
  if (r.cancelled) summary += ", interrupted";
  Say(g, summary);
}

int Run(const GlobalOptions& g, const RunFlags& flags) {
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, flags.plan);
  if (!loaded.ok()) return ReportError(g, loaded.status());
  dr::RunOptions o;
  o.services = flags.services;
  o.now = flags.now;
  o.dry_run = flags.dry_run;
  o.context = CliContext();
  o.plan_path = loaded->plan.file;
  if (flags.state_dir.empty()) {
    Result<std::string> state = DefaultRunStateDirectory();
    if (!state.ok()) return ReportError(g, state.status());
    o.state_dir = *state;
  } else {
    o.state_dir = flags.state_dir;
  }
  Result<std::string> cache = DefaultStatusCachePath();
  if (cache.ok()) o.cache_path = *cache;  // without one the records are read directly
  if (!g.json && !g.quiet) o.on_line = [](const std::string& line) { std::cout << line << std::endl; };
  // After a failover a service runs at its active site: read it there, back it up there first
  // (doc/run.md, "After a failover"); the fence is only read.
  dr::RunPlacement placement = dr::ReadRunPlacement(
      std::make_shared<const plan::Plan>(loaded->plan), o.state_dir, o.context);
  placement.ApplyTo(&o);
  Result<dr::RunReport> report = dr::RunPlan(*placement.plan, o);
  if (!report.ok()) return ReportError(g, report.status());
  report->warnings.insert(report->warnings.begin(), placement.warnings.begin(),
                          placement.warnings.end());
  if (g.json) {
    PrintJson(ReportToJson(*report));
  } else {
    PrintHuman(g, *report);
  }
  return report->ExitCode();
}

}  // namespace

void RegisterRun(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand(
      "run",
      "perform the plan's due backups in tier order, with replication, retention and "
      "hooks, then the drills whose drill_schedule is due; after a failover each service "
      "is read at its active site, as the fence records it (doc/run.md)");
  auto flags = std::make_shared<RunFlags>();
  AddPlanOption(cmd, &flags->plan);
  cmd->add_option("--service", flags->services, "only this service (repeatable)")
      ->type_name("NAME");
  cmd->add_flag("--now", flags->now, "run every (selected) service, due or not");
  cmd->add_option("--state-dir", flags->state_dir,
                  "run locks and notification state (default /var/lib/lifeboat as root, else "
                  "$XDG_STATE_HOME/lifeboat or ~/.local/state/lifeboat)")
      ->type_name("DIR");
  cmd->add_flag("--dry-run", flags->dry_run,
                "say what is due and what would run; run nothing, write nothing");
  cmd->callback([&g, runner, flags] {
    *runner = [&g, flags] { return Run(g, *flags); };
  });
}

}  // namespace lifeboat::cli
