#include "dr/notify_config.h"

#include <algorithm>
#include <optional>

#include "dr/sites.h"
#include "runlog/run_lock.h"
#include "util/subprocess.h"

namespace lifeboat::dr {

Result<std::string> DefaultNotifyStatePath() {
  LB_ASSIGN_OR_RETURN(std::string dir, DefaultRunStateDirectory());
  return dir + "/notify-state.json";
}

notify::EventType ToNotifyEvent(plan::Event event) {
  switch (event) {
    case plan::Event::kBackupFailed: return notify::EventType::kBackupFailed;
    case plan::Event::kBackupRecovered: return notify::EventType::kBackupRecovered;
    case plan::Event::kRpoAtRisk: return notify::EventType::kRpoAtRisk;
    case plan::Event::kRpoViolated: return notify::EventType::kRpoViolated;
    case plan::Event::kRpoRestored: return notify::EventType::kRpoRestored;
    case plan::Event::kSiteUnreachable: return notify::EventType::kSiteUnreachable;
    case plan::Event::kRunSummary: return notify::EventType::kRunSummary;
    case plan::Event::kDrillFailed: return notify::EventType::kDrillFailed;
    case plan::Event::kDrillPassed: return notify::EventType::kDrillPassed;
    case plan::Event::kRtoRegressed: return notify::EventType::kRtoRegressed;
    case plan::Event::kFailoverStarted: return notify::EventType::kFailoverStarted;
    case plan::Event::kServiceRecovered: return notify::EventType::kServiceRecovered;
    case plan::Event::kFailoverFailed: return notify::EventType::kFailoverFailed;
    case plan::Event::kFailoverCommitted: return notify::EventType::kFailoverCommitted;
    case plan::Event::kFailoverRolledBack: return notify::EventType::kFailoverRolledBack;
    case plan::Event::kServiceDown: return notify::EventType::kServiceDown;
    case plan::Event::kLeaseLost: return notify::EventType::kLeaseLost;
  }
  return notify::EventType::kRunSummary;
}

namespace {

std::string ShellText(const plan::Command& c) {
  if (c.shell && c.argv.size() == 3) return c.argv[2];
  std::string out;
  for (const std::string& a : c.argv) out += (out.empty() ? "" : " ") + ShellQuote(a);
  return out;
}

// `secrets` receives every value resolved (also when a later one fails) and the ntfy topic.
Result<notify::ChannelConfig> ChannelFromPlan(const plan::Channel& ch, const Context& ctx,
                                              std::vector<std::string>* secrets) {
  const std::string owner = "channel " + ch.name;
  auto resolve = [&](const plan::SecretRef& ref, const std::string& key) -> Result<std::string> {
    Result<std::string> value = ResolveSecret(ref, owner + ": " + key, ctx);
    if (value.ok() && !value->empty()) secrets->push_back(*value);
    return value;
  };
  auto secret = [&](const std::optional<plan::SecretRef>& ref,
                    const std::string& key) -> Result<std::string> {
    if (!ref) return std::string();
    return resolve(*ref, key);
  };
  notify::ChannelConfig c;
  c.name = ch.name;
  switch (ch.type) {
    case plan::ChannelType::kWebhook: {
      notify::WebhookConfig w;
      w.url = ch.url;
      for (const plan::EnvEntry& h : ch.headers) {
        LB_ASSIGN_OR_RETURN(std::string v, resolve(h.secret, "header " + h.name));
        w.headers.emplace_back(h.name, std::move(v));
      }
      c.spec = std::move(w);
      break;
    }
    case plan::ChannelType::kSlack: {
      notify::SlackConfig s;
      LB_ASSIGN_OR_RETURN(s.webhook_url, secret(ch.webhook_url, "webhook_url"));
      c.spec = std::move(s);
      break;
    }
    case plan::ChannelType::kNtfy: {
      notify::NtfyConfig n;
      n.topic_url = ch.url;
      if (!ch.url.empty()) secrets->push_back(ch.url);
      LB_ASSIGN_OR_RETURN(n.token, secret(ch.token, "token"));
      c.spec = std::move(n);
      break;
    }
    case plan::ChannelType::kPagerDuty: {
      notify::PagerDutyConfig p;
      if (!ch.url.empty()) p.endpoint = ch.url;
      LB_ASSIGN_OR_RETURN(p.routing_key, secret(ch.routing_key, "routing_key"));
      c.spec = std::move(p);
      break;
    }
    case plan::ChannelType::kHealthchecks: {
      notify::HealthchecksConfig h;
      LB_ASSIGN_OR_RETURN(h.ping_url, secret(ch.ping_url, "ping_url"));
      c.spec = std::move(h);
      break;
    }
    case plan::ChannelType::kEmail: {
      notify::EmailConfig e;
      e.url = ch.smtp_url;
      e.starttls = ch.starttls;
      e.user = ch.username;
      LB_ASSIGN_OR_RETURN(e.password, secret(ch.password, "password"));
      e.from = ch.from;
      e.to = ch.to;
      c.spec = std::move(e);
      break;
    }
    case plan::ChannelType::kCommand: {
      notify::CommandConfig cmd;
      cmd.command = ShellText(ch.command);
      cmd.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ch.timeout);
      c.spec = std::move(cmd);
      break;
    }
  }
  return c;
}

}  // namespace

PlanNotifyConfig NotifyConfigFromPlan(const plan::Plan& plan, const std::string& state_path,
                                      const Context& ctx) {
  PlanNotifyConfig out;
  out.options.state_path = state_path;
  out.options.context = ctx;
  std::chrono::seconds longest{0};
  for (const plan::Channel& ch : plan.channels) {
    Result<notify::ChannelConfig> c = ChannelFromPlan(ch, ctx, &out.secrets);
    if (!c.ok()) {
      out.warnings.push_back("notification channel " + ch.name +
                             " left out: " + c.status().ToString());
      continue;
    }
    longest = std::max(longest, ch.timeout);
    out.options.channels.push_back(std::move(*c));
  }
  if (longest.count() > 0) {
    out.options.retry.request_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(longest);
  }
  for (size_t i = 0; i < plan.routes.size(); ++i) {
    const plan::Route& r = plan.routes[i];
    notify::Route route;
    route.id = "route-" + std::to_string(i + 1);
    // Every plan event (the default): every notify event, so run_started and site_recovered
    // reach the route too.
    if (r.events.size() < std::size(plan::kAllEvents)) {
      for (plan::Event e : r.events) route.events.push_back(ToNotifyEvent(e));
    }
    route.tiers = r.tiers;
    for (const plan::NameRef& n : r.channels) route.channels.push_back(n.name);
    if (r.escalate_after) route.escalate_after = *r.escalate_after;
    for (const plan::NameRef& n : r.escalate_to) route.escalate_to.push_back(n.name);
    out.options.router.routes.push_back(std::move(route));
  }
  return out;
}

PlanNotifyConfig NotifyConfigWithPolicy(const plan::Plan& plan, const std::string& state_path,
                                        const Context& ctx, const notify::RetryPolicy& retry,
                                        const std::string& host) {
  PlanNotifyConfig cfg = NotifyConfigFromPlan(plan, state_path, ctx);
  const std::chrono::milliseconds request_timeout = cfg.options.retry.request_timeout;
  cfg.options.retry = retry;
  cfg.options.retry.request_timeout = request_timeout;
  cfg.options.router.host = host;
  return cfg;
}

}  // namespace lifeboat::dr
