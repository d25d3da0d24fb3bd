// The run's notifications (doc/run.md, "Notifications"): run_started when the first service
// begins, then the backup and site observations of this run, the RPO of its services afterwards
// and its run_summary. The plan's channels and routes come from NotifyConfigFromPlan (their
// secrets are remembered for redaction).
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "dr/notify_config.h"
#include "dr/run_internal.h"
#include "dr/status.h"
#include "notify/event.h"
#include "runlog/timer_units.h"

namespace lifeboat::dr::internal {

namespace {

// The most critical tier among the services that use `site`.
std::optional<int> SiteTier(const plan::Plan& plan, const std::string& site) {
  std::optional<int> tier;
  for (const plan::Service& s : plan.services) {
    for (const plan::NameRef& n : s.sites) {
      if (n.name == site && (!tier || s.tier < *tier)) tier = s.tier;
    }
  }
  return tier;
}

int Rank(RunResult r) {
  switch (r) {
    case RunResult::kFailed: return 3;
    case RunResult::kIncomplete: return 2;
    case RunResult::kSkipped: return 1;
    case RunResult::kOk: return 0;
  }
  return 0;
}

// The plan's notification config (NotifyConfigFromPlan, shared with `status --notify`: one
// mapping, one set of route ids, one dedup state) with this run's host, retry policy and
// context; its secrets join the run's redaction list.
notify::NotifyOptions RunNotifyOptions(RunState& st) {
  const std::string state_path =
      st.options().notify_state_path.empty()
          ? (std::filesystem::path(st.options().state_dir) / "notify-state.json").string()
          : st.options().notify_state_path;
  const Context ctx = Context().WithClock(st.ctx().clock()).WithCancel(st.ctx().cancel_flag());
  PlanNotifyConfig cfg =
      NotifyConfigWithPolicy(st.plan(), state_path, ctx, st.options().notify_retry, st.host);
  for (const std::string& secret : cfg.secrets) st.AddSecret(secret);
  for (const std::string& w : cfg.warnings) st.warnings.push_back(st.Redact(w));
  return std::move(cfg.options);
}

// Delivers and puts the outcomes (redacted) into the report.
void Deliver(RunState& st, const notify::NotifyOptions& options,
             const std::vector<notify::Observation>& observations,
             const std::vector<notify::Event>& events, RunReport* report) {
  Result<notify::NotifyResult> result = notify::Notify(options, observations, events);
  if (!result.ok()) {
    st.warnings.push_back("notifications not sent: " + st.Redact(result.status().message()));
    return;
  }
  for (notify::DeliveryOutcome& o : result->outcomes) {
    o.error = st.Redact(o.error);
    report->notifications.push_back(std::move(o));
  }
  for (const std::string& w : result->warnings) st.warnings.push_back(st.Redact(w));
}

// The rpo observations of the run's services after it (doc/run.md, "Notifications"): the status
// of the services at their sites, read through the repositories this run has open.
std::vector<notify::Observation> RpoObservations(RunState& st) {
  StatusOptions so;
  so.context = st.ctx();
  so.now_ns = st.WallNs();
  so.cache_path = st.options().cache_path;
  so.services = st.options().services;
  so.opened_site = [&st](const std::string& name) -> Result<Repository*> {
    SiteHandle& h = st.Site(name);
    if (!h.status.ok()) return h.status;
    return h.repo.get();
  };
  Result<PlanStatus> status = ComputePlanStatus(st.plan(), so);
  if (!status.ok()) {
    st.warnings.push_back("RPO not checked after the run: " + st.Redact(status.status()));
    return {};
  }
  std::vector<notify::Observation> out;
  for (notify::Observation& o : ObservationsFromStatus(*status)) {
    if (o.condition != notify::Condition::kRpo) continue;  // sites: from the run's own handles
    o.message = st.Redact(o.message);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

void NotifyRunStarted(RunState& st, RunReport* report) {
  if (st.plan().channels.empty()) return;
  notify::NotifyOptions no = RunNotifyOptions(st);
  // A start ping must not hold the backups: one attempt per channel (doc/run.md).
  no.retry.max_attempts = 1;
  notify::Event started = notify::MakeEvent(notify::EventType::kRunStarted, "", std::nullopt, "",
                                            "lifeboat run " + report->run_id + " started",
                                            st.WallNs());
  started.dedup_key = notify::LimitDedupKey("lifeboat:run:" + report->run_id);
  started.details = {{"run_id", report->run_id}};
  Deliver(st, no, {}, {started}, report);
}

void NotifyRun(RunState& st, RunReport* report) {
  const plan::Plan& plan = st.plan();
  if (plan.channels.empty()) return;
  bool any = false;
  for (const ServiceReport& s : report->services) any = any || !s.outcomes.empty();
  if (!any) return;  // nothing ran: nothing to say (doc/run.md)
  notify::NotifyOptions no = RunNotifyOptions(st);

  std::vector<notify::Observation> observations;
  std::set<std::string> sites_seen;
  nlohmann::json services = nlohmann::json::array();
  for (const ServiceReport& s : report->services) {
    // Per site: the worst backup/copy result and its errors.
    std::map<std::string, std::pair<RunResult, std::string>> per_site;
    std::vector<std::string> site_order;
    for (const SiteOutcome& o : s.outcomes) {
      if (!per_site.count(o.site)) {
        per_site[o.site] = {RunResult::kOk, ""};
        site_order.push_back(o.site);
      }
      auto& [result, error] = per_site[o.site];
      if (Rank(o.result) > Rank(result)) result = o.result;
      if (!o.error.empty() && o.result != RunResult::kOk) {
        error += (error.empty() ? "" : "; ") + (o.source.empty() ? o.what : o.source) + ": " +
                 o.error;
      }
      sites_seen.insert(o.site);
    }
    for (const std::string& site : site_order) {
      const auto& [result, error] = per_site[site];
      services.push_back({{"service", s.name},
                          {"site", site},
                          {"result", std::string(RunResultName(result))},
                          {"error", error}});
      if (result == RunResult::kSkipped) continue;
      notify::Observation ob;
      ob.condition = notify::Condition::kBackup;
      ob.service = s.name;
      ob.tier = s.tier;
      ob.site = site;
      const bool ok = result == RunResult::kOk;
      ob.state = ok ? notify::Observed::kOk : notify::Observed::kFailed;
      ob.message = ok ? "backup of " + s.name + " at " + site + " succeeded"
                      : "backup of " + s.name + " at " + site + " " +
                            std::string(RunResultName(result)) + ": " + error;
      if (!ok) {
        ob.details = {{"error", error},
                      {"run_id", report->run_id},
                      {"started", notify::FormatRfc3339Utc(s.start_ns)},
                      {"ended", notify::FormatRfc3339Utc(s.end_ns)}};
      } else {
        ob.details = {{"run_id", report->run_id}};
      }
      observations.push_back(std::move(ob));
    }
  }
  for (notify::Observation& o : RpoObservations(st)) observations.push_back(std::move(o));
  for (const plan::Site& site : plan.sites) {
    if (!sites_seen.count(site.name)) continue;
    const SiteHandle& h = st.Site(site.name);
    notify::Observation ob;
    ob.condition = notify::Condition::kSite;
    ob.site = site.name;
    ob.tier = SiteTier(plan, site.name);
    ob.state = h.status.ok() ? notify::Observed::kOk : notify::Observed::kFailed;
    const std::string error = h.status.ok() ? "" : st.Redact(h.status.message());
    ob.message = h.status.ok() ? "site " + site.name + " is reachable"
                               : "site " + site.name + " cannot be reached: " + error;
    if (!h.status.ok()) ob.details = {{"error", error}};
    observations.push_back(std::move(ob));
  }

  const int exit_status = report->ExitCode();
  size_t failed = 0;
  for (const ServiceReport& s : report->services) failed += s.failed() ? 1 : 0;
  notify::Event summary = notify::MakeEvent(
      notify::EventType::kRunSummary, "", std::nullopt, "",
      failed == 0 ? "lifeboat run: every service succeeded"
                  : "lifeboat run: " + std::to_string(failed) + " service(s) failed",
      report->end_ns);
  if (exit_status != 0) summary.severity = notify::Severity::kError;
  summary.dedup_key = notify::LimitDedupKey("lifeboat:run:" + report->run_id);
  summary.details = {{"run_id", report->run_id},
                     {"started", notify::FormatRfc3339Utc(report->start_ns)},
                     {"ended", notify::FormatRfc3339Utc(report->end_ns)},
                     {"exit_status", exit_status},
                     {"services", services}};

  Deliver(st, no, observations, {summary}, report);
}

}  // namespace lifeboat::dr::internal
