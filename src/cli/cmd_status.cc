// lifeboat status: does every promise of the plan hold now (doc/status.md)? Prints the table,
// --json or --prometheus, writes --textfile atomically, sends --notify observations, and exits 0
// only when every RPO holds at every site of every selected service.
#include <iostream>

#include "cli/common.h"
#include "dr/notify_config.h"
#include "dr/status.h"
#include "plan/duration.h"
#include "plan/validate.h"
#include "runlog/cache.h"
#include "util/file_io.h"

namespace lifeboat::cli {

namespace {

struct StatusFlags {
  std::string plan;
  std::vector<std::string> services;
  bool prometheus = false;
  std::string textfile;
  bool notify = false;
  std::string site_timeout = "20s";
  bool no_cache = false;
};

int RunStatus(const GlobalOptions& g, const StatusFlags& f) {
  if (g.json && f.prometheus) {
    return ReportError(g, Status::InvalidArgument(
                              "--json and --prometheus exclude each other: choose one output"));
  }
  Result<std::chrono::seconds> timeout = plan::ParsePlanDuration(f.site_timeout);
  if (!timeout.ok()) {
    return ReportError(g, timeout.status().WithContext("--site-timeout"));
  }
  Result<plan::LoadedPlan> loaded = LoadPlanForCommand(g, f.plan);
  if (!loaded.ok()) return ReportError(g, loaded.status());

  dr::StatusOptions o;
  o.context = CliContext();
  o.site_time_limit = *timeout;
  o.services = f.services;
  std::vector<std::string> warnings;
  if (!f.no_cache) {
    Result<std::string> cache = DefaultStatusCachePath();
    if (cache.ok()) {
      o.cache_path = *cache;
    } else {
      warnings.push_back("no status cache (" + cache.status().message() +
                         "): every object is read");
    }
  }
  Result<dr::PlanStatus> st = dr::ComputePlanStatus(loaded->plan, o);
  if (!st.ok()) return ReportError(g, st.status());

  if (!f.textfile.empty()) {
    const std::string text = dr::PrometheusText(*st);
    Status w = WriteFileDurably(f.textfile, AsBytes(text), /*overwrite=*/true);
    if (!w.ok()) return ReportError(g, w.WithContext("--textfile " + f.textfile));
  }
  if (f.notify) {
    Result<std::string> state = dr::DefaultNotifyStatePath();
    if (!state.ok()) {
      warnings.push_back("notifications not sent: " + state.status().message());
    } else {
      dr::PlanNotifyConfig n = dr::NotifyConfigFromPlan(loaded->plan, *state, CliContext());
      for (std::string& w : n.warnings) warnings.push_back(std::move(w));
      Result<notify::NotifyResult> r =
          notify::Notify(n.options, dr::ObservationsFromStatus(*st), {});
      if (!r.ok()) {
        warnings.push_back("notifications not sent: " + r.status().ToString());
      } else {
        for (std::string& w : r->warnings) warnings.push_back("notifications: " + w);
        for (const notify::DeliveryOutcome& out : r->outcomes) {
          if (out.result != notify::OutcomeResult::kFailed) continue;
          warnings.push_back("notification " + std::string(notify::EventTypeName(out.event)) +
                             " to channel " + out.channel + " failed: " + out.error);
        }
      }
    }
  }
  for (const std::string& w : warnings) st->warnings.push_back(w);

  if (g.json) {
    std::cout << dr::StatusJson(*st, loaded->plan.file).dump(-1, ' ', false,
                                                  nlohmann::ordered_json::error_handler_t::replace)
              << std::endl;
  } else if (f.prometheus) {
    std::cout << dr::PrometheusText(*st) << std::flush;
  } else {
    std::cout << dr::HumanStatus(*st, g.quiet) << std::flush;
  }
  return st->holds ? kExitOk : kExitError;
}

}  // namespace

void RegisterStatus(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto flags = std::make_shared<StatusFlags>();
  auto* cmd = app.add_subcommand(
      "status", "does every RPO of the plan hold now? (doc/status.md; exit 0 only when all do)");
  AddPlanOption(cmd, &flags->plan);
  cmd->add_option("--service", flags->services, "only this service (repeatable)")
      ->type_name("NAME");
  cmd->add_flag("--prometheus", flags->prometheus,
                "print the Prometheus text exposition format instead of the table");
  cmd->add_option("--textfile", flags->textfile,
                  "also write the Prometheus text to PATH atomically (node_exporter's textfile "
                  "collector; name it *.prom)")
      ->type_name("PATH");
  cmd->add_flag("--notify", flags->notify,
                "send rpo_* and site_* notifications through the plan's routes");
  cmd->add_option("--site-timeout", flags->site_timeout,
                  "give up on a site that has not answered after DURATION (default 20s)")
      ->type_name("DURATION");
  cmd->add_flag("--no-cache", flags->no_cache,
                "read every snapshot and run record from the sites (no status cache)");
  cmd->callback([&g, runner, flags] {
    *runner = [&g, flags] { return RunStatus(g, *flags); };
  });
}

}  // namespace lifeboat::cli
