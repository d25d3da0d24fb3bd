// The run's notifications (doc/run.md, "Notifications"): the plan's channels and routes mapped
// onto src/notify's configs (secrets resolved here and remembered for redaction), the backup
// and site observations of this run, and its run_summary.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "dr/run_internal.h"
#include "notify/event.h"
#include "runlog/timer_units.h"

namespace lifeboat::dr::internal {

namespace {

// The channel as src/notify takes it; the error names the channel, never a secret.
Result<notify::ChannelConfig> MapChannel(RunState& st, const plan::Channel& c) {
  const std::string owner = "channel " + c.name;
  notify::ChannelConfig out;
  out.name = c.name;
  switch (c.type) {
    case plan::ChannelType::kWebhook: {
      notify::WebhookConfig w;
      w.url = c.url;
      for (const plan::EnvEntry& h : c.headers) {
        LB_ASSIGN_OR_RETURN(std::string v, st.Resolve(h.secret, owner + ": header " + h.name));
        w.headers.emplace_back(h.name, v);
      }
      out.spec = w;
      break;
    }
    case plan::ChannelType::kSlack: {
      notify::SlackConfig s;
      if (c.webhook_url) {
        LB_ASSIGN_OR_RETURN(s.webhook_url, st.Resolve(*c.webhook_url, owner + ": webhook_url"));
      }
      out.spec = s;
      break;
    }
    case plan::ChannelType::kNtfy: {
      notify::NtfyConfig n;
      n.topic_url = c.url;
      st.AddSecret(c.url);  // the topic is the secret of an ntfy channel
      if (c.token) {
        LB_ASSIGN_OR_RETURN(n.token, st.Resolve(*c.token, owner + ": token"));
      }
      out.spec = n;
      break;
    }
    case plan::ChannelType::kPagerDuty: {
      notify::PagerDutyConfig p;
      if (!c.url.empty()) p.endpoint = c.url;
      if (c.routing_key) {
        LB_ASSIGN_OR_RETURN(p.routing_key, st.Resolve(*c.routing_key, owner + ": routing_key"));
      }
      out.spec = p;
      break;
    }
    case plan::ChannelType::kHealthchecks: {
      notify::HealthchecksConfig h;
      if (c.ping_url) {
        LB_ASSIGN_OR_RETURN(h.ping_url, st.Resolve(*c.ping_url, owner + ": ping_url"));
      }
      out.spec = h;
      break;
    }
    case plan::ChannelType::kEmail: {
      notify::EmailConfig e;
      e.url = c.smtp_url;
      e.starttls = c.starttls;
      e.user = c.username;
      if (c.password) {
        LB_ASSIGN_OR_RETURN(e.password, st.Resolve(*c.password, owner + ": password"));
      }
      e.from = c.from;
      e.to = c.to;
      out.spec = e;
      break;
    }
    case plan::ChannelType::kCommand: {
      notify::CommandConfig cmd;
      if (c.command.shell && c.command.argv.size() == 3) {
        cmd.command = c.command.argv[2];
      } else {
        for (const std::string& a : c.command.argv) {
          cmd.command += (cmd.command.empty() ? "" : " ") + ShellQuote(a);
        }
      }
      cmd.timeout = c.timeout;
      out.spec = cmd;
      break;
    }
  }
  return out;
}

notify::RouterConfig MapRoutes(const plan::Plan& plan, const std::string& host) {
  notify::RouterConfig rc;
  rc.host = host;
  for (size_t i = 0; i < plan.routes.size(); ++i) {
    const plan::Route& r = plan.routes[i];
    notify::Route out;
    out.id = std::to_string(i);
    for (plan::Event e : r.events) {
      Result<notify::EventType> t = notify::ParseEventType(plan::EventName(e));
      if (t.ok()) out.events.push_back(*t);
    }
    out.tiers = r.tiers;
    for (const plan::NameRef& c : r.channels) out.channels.push_back(c.name);
    if (r.escalate_after) out.escalate_after = *r.escalate_after;
    for (const plan::NameRef& c : r.escalate_to) out.escalate_to.push_back(c.name);
    rc.routes.push_back(std::move(out));
  }
  return rc;
}

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

}  // namespace

void NotifyRun(RunState& st, RunReport* report) {
  const plan::Plan& plan = st.plan();
  if (plan.channels.empty()) return;
  bool any = false;
  for (const ServiceReport& s : report->services) any = any || !s.outcomes.empty();
  if (!any) return;  // nothing ran: nothing to say (doc/run.md)

  notify::NotifyOptions no;
  no.state_path = st.options().notify_state_path.empty()
                      ? (std::filesystem::path(st.options().state_dir) / "notify-state.json").string()
                      : st.options().notify_state_path;
  no.router = MapRoutes(plan, st.host);
  no.retry = st.options().notify_retry;
  std::chrono::milliseconds longest{0};
  for (const plan::Channel& c : plan.channels) {
    longest = std::max<std::chrono::milliseconds>(longest, c.timeout);
    Result<notify::ChannelConfig> cfg = MapChannel(st, c);
    if (cfg.ok()) {
      no.channels.push_back(std::move(*cfg));
    } else {
      st.warnings.push_back("notification channel " + c.name +
                            " not used: " + st.Redact(cfg.status().message()));
    }
  }
  if (longest.count() > 0) no.retry.request_timeout = longest;
  no.context = Context().WithClock(st.ctx().clock()).WithCancel(st.ctx().cancel_flag());

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

  Result<notify::NotifyResult> result = notify::Notify(no, observations, {summary});
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

}  // namespace lifeboat::dr::internal
