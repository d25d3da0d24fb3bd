#include "plan/parse.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "backend/open_backend.h"
#include "plan/parse_internal.h"
#include "plan/schedule.h"

namespace lifeboat::plan {

namespace internal {

const ObjectSpec& SpecOf(const ObjectSpec& parent, std::string_view key) {
  const KeySpec* k = parent.Find(key);
  return *k->object;
}

std::string DidYouMean(std::string_view name, const std::vector<std::string>& names) {
  const std::string nearest = NearestName(name, names);
  return nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ";
}

}  // namespace internal

namespace {

using internal::SpecOf;

constexpr std::string_view kKnownSchemes[] = {"local", "s3", "sftp", "rest"};

// "rest:https://user:pw@host/" holds a password: the part between "://" and the next '/' has
// "user:password@".
bool LocationHoldsPassword(std::string_view location) {
  const size_t scheme_end = location.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view authority = location.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  const size_t at = authority.rfind('@');
  return at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos;
}

void ParseSiteOptions(Reader& r, ObjectView& v, Site* site) {
  const std::string scheme = RepositoryScheme(site->repository);
  const std::span<const BackendOptionSpec> specs = BackendOptionSpecsFor(scheme);
  std::vector<std::string> known = {"connections"};
  for (const BackendOptionSpec& s : specs) known.push_back(std::string(s.key));
  for (SiteOption& o : v.StringMap("options")) {
    const size_t dot = o.key.find('.');
    const std::string prefix = dot == std::string::npos ? "" : o.key.substr(0, dot);
    if (!prefix.empty() && prefix != scheme &&
        std::find(std::begin(kKnownSchemes), std::end(kKnownSchemes), prefix) != std::end(kKnownSchemes)) {
      r.diagnostics().Error(o.position,
                            "option \"" + o.key + "\" of site \"" + site->name + "\" is for " + prefix +
                                " repositories, but the site's repository is " + scheme,
                            "remove it; the options of a " + scheme + " site are " +
                                [&] { std::string s; for (auto& k : known) s += (s.empty() ? "" : ", ") + k; return s; }() +
                                " (doc/remote-sites.md)");
      continue;
    }
    BackendOptions one;
    one.Set(o.key, o.value);
    Status st = one.CheckKnown(scheme, specs);
    if (!st.ok()) {
      r.diagnostics().Error(o.position, "unknown option \"" + o.key + "\" in site \"" + site->name + "\"",
                            internal::DidYouMean(o.key, known) + "the options of a " + scheme + " site are " +
                                [&] { std::string s; for (auto& k : known) s += (s.empty() ? "" : ", ") + k; return s; }() +
                                " (doc/remote-sites.md)");
      continue;
    }
    site->options.push_back(std::move(o));
  }
}

Site ParseSite(Reader& r, const Entry& e) {
  Site site;
  site.name = e.key;
  site.position = r.At(e.key_node);
  ObjectView v(r, e.value, SpecOf(TopLevelSpec(), "sites"), "site \"" + e.key + "\"", site.position);
  if (auto repo = v.String("repository")) {
    site.repository = *repo;
    site.repository_position = v.ValueAt("repository");
    const std::string scheme = RepositoryScheme(*repo);
    if (LocationHoldsPassword(*repo)) {
      r.diagnostics().Error(site.repository_position,
                            "inline secret: the repository location of site \"" + site.name + "\" holds a password",
                            "take \"user:password@\" out of the location and give them by reference in env, "
                            "e.g. LIFEBOAT_REST_USERNAME_env and LIFEBOAT_REST_PASSWORD_file (doc/remote-sites.md)");
    } else if (std::find(std::begin(kKnownSchemes), std::end(kKnownSchemes), scheme) == std::end(kKnownSchemes)) {
      r.diagnostics().Error(site.repository_position,
                            "repository of site \"" + site.name + "\" has an unsupported scheme \"" + scheme + ":\"",
                            "Lifeboat serves local paths, sftp:, s3: and rest: locations (doc/remote-sites.md)");
    } else if (scheme == "local") {
      std::string_view path = *repo;
      if (path.starts_with("local:")) path.remove_prefix(6);
      if (!path.starts_with("/")) {
        r.diagnostics().Error(site.repository_position,
                              "repository of site \"" + site.name + "\" is a relative path: \"" + *repo + "\"",
                              "write an absolute path: the plan runs from timers whose working directory is not yours");
      }
    }
  }
  if (auto pw = v.Secret("password")) site.password = *pw;
  site.env = v.SecretMap("env");
  if (auto role = v.String("role")) {
    site.role = *role == "offsite" ? SiteRole::kOffsite
                : *role == "secondary" ? SiteRole::kSecondary : SiteRole::kPrimary;
  }
  if (auto loc = v.String("location")) site.location = *loc;
  if (auto media = v.String("media")) {
    site.media = *media;
    site.media_derived = false;
  } else {
    site.media = MediaForScheme(RepositoryScheme(site.repository));
  }
  ParseSiteOptions(r, v, &site);
  if (auto imm = v.Boolean("immutable")) site.immutable = *imm;
  site.price_per_gib_month = v.Number("price_per_gib_month");
  site.price_position = v.ValueAt("price_per_gib_month");
  if (auto currency = v.String("currency")) site.currency = *currency;
  internal::ParseRecoveryRoot(r, v, &site);
  v.Finish();
  return site;
}

std::optional<retention::RetentionPolicy> ParseRetention(Reader& r, ObjectView& service,
                                                         const std::string& name) {
  YAML::Node node = service.Node("retention");
  if (!node.IsDefined()) return std::nullopt;
  const std::string where = "retention of service \"" + name + "\"";
  const size_t errors_before = r.diagnostics().errors();
  ObjectView v(r, node, RetentionSpec(), where, service.KeyAt("retention"));
  if (!v.valid()) return std::nullopt;
  nlohmann::json j = nlohmann::json::object();
  bool ok = true;
  // Each key on its own through retention's parser, so that its error points at that key.
  auto check = [&](std::string_view key, nlohmann::json value) {
    nlohmann::json one = {{std::string(key), value}};
    Result<retention::RetentionPolicy> p = retention::PolicyFromJson(one);
    if (!p.ok()) {
      r.diagnostics().Error(v.ValueAt(key), where + ": " + p.status().message(),
                            "see doc/retention.md, \"The JSON form\"");
      ok = false;
      return;
    }
    j[std::string(key)] = std::move(value);
  };
  for (std::string_view key : {"keep_last", "keep_hourly", "keep_daily", "keep_weekly",
                               "keep_monthly", "keep_yearly"})
    if (auto n = v.Integer(key)) check(key, *n);
  for (std::string_view key : {"keep_within", "keep_within_hourly", "keep_within_daily",
                               "keep_within_weekly", "keep_within_monthly", "keep_within_yearly"})
    if (auto d = v.String(key)) check(key, *d);
  if (YAML::Node tags = v.Node("keep_tags"); tags.IsDefined()) {
    nlohmann::json sets = nlohmann::json::array();
    bool shape = tags.IsSequence();
    if (shape) {
      for (const YAML::Node& set : tags) {
        if (!set.IsSequence()) { shape = false; break; }
        nlohmann::json one = nlohmann::json::array();
        for (const YAML::Node& tag : set) {
          if (!tag.IsScalar() || tag.IsNull()) { shape = false; break; }
          one.push_back(tag.Scalar());
        }
        sets.push_back(one);
      }
    }
    if (!shape) {
      r.diagnostics().Error(v.ValueAt("keep_tags"), "keep_tags in " + where + " must be a list of tag lists",
                            "write e.g. keep_tags: [[release], [db, monthly]]");
      ok = false;
    } else {
      check("keep_tags", sets);
    }
  }
  if (auto by = v.List("group_by")) {
    nlohmann::json words = nlohmann::json::array();
    for (const NameRef& w : *by) words.push_back(w.name);
    check("group_by", words);
  }
  v.Finish();
  if (!ok || r.diagnostics().errors() > errors_before) return std::nullopt;
  Result<retention::RetentionPolicy> policy = retention::PolicyFromJson(j);
  if (!policy.ok()) {
    r.diagnostics().Error(v.at(), where + ": " + policy.status().message(), "see doc/retention.md");
    return std::nullopt;
  }
  if (policy->empty()) {
    r.diagnostics().Error(v.at(), where + " has no rule",
                          "a retention without rules would forget every snapshot: add keep_last, "
                          "keep_daily, ... or leave retention out to keep every snapshot");
    return std::nullopt;
  }
  return *policy;
}

// A schedule mapping (or its cron string) under `key` of the service: nullopt when absent.
std::optional<Schedule> ParseCron(Reader& r, ObjectView& service, std::string_view key,
                                  const std::string& where) {
  YAML::Node node = service.Node(key);
  if (!node.IsDefined()) return std::nullopt;
  Schedule s;
  s.position = r.At(node);
  ObjectView v(r, node, SpecOf(SpecOf(TopLevelSpec(), "services"), key), where,
               service.KeyAt(key));
  std::optional<std::string> cron = v.String("cron");
  std::optional<std::string> tz = v.String("timezone");
  v.Finish();
  if (tz) {
    if (!IsKnownTimeZone(*tz)) {
      r.diagnostics().Error(v.ValueAt("timezone"), "unknown time zone \"" + *tz + "\" in " + where,
                            "use an IANA name such as UTC, Europe/Berlin or America/New_York "
                            "(the files below /usr/share/zoneinfo)");
      tz.reset();
    } else {
      s.timezone = *tz;
    }
  }
  if (cron) {
    s.cron = *cron;
    Result<CronSchedule> parsed = CronSchedule::Parse(*cron, s.timezone);
    if (!parsed.ok()) {
      r.diagnostics().Error(v.ValueAt("cron"), where + ": " + parsed.status().message(),
                            "five fields: minute hour day-of-month month day-of-week, e.g. "
                            "\"30 2 * * *\", or @hourly, @daily, @weekly, @monthly, @yearly "
                            "(doc/plan.md, \"Schedules\")");
    }
  }
  return s;
}

Schedule ParseSchedule(Reader& r, ObjectView& service, const std::string& name,
                       std::chrono::seconds rpo) {
  std::optional<Schedule> s =
      ParseCron(r, service, "schedule", "schedule of service \"" + name + "\"");
  if (s) return *s;
  Schedule derived;
  derived.derived = true;
  derived.cron = DeriveCronFromRpo(rpo.count() > 0 ? rpo : std::chrono::seconds(3600), name);
  derived.position = service.KeyAt("rpo");
  return derived;
}

Hooks ParseHooks(Reader& r, ObjectView& service, const std::string& name) {
  Hooks h;
  YAML::Node node = service.Node("hooks");
  if (!node.IsDefined()) return h;
  ObjectView v(r, node, SpecOf(SpecOf(TopLevelSpec(), "services"), "hooks"),
               "hooks of service \"" + name + "\"", service.KeyAt("hooks"));
  if (auto c = v.CommandList("before")) h.before = std::move(*c);
  if (auto c = v.CommandList("after")) h.after = std::move(*c);
  if (auto c = v.CommandList("on_error")) h.on_error = std::move(*c);
  if (auto t = v.Duration("timeout")) h.timeout = *t;
  v.Finish();
  return h;
}

Impact ParseImpact(Reader& r, ObjectView& service, const std::string& name) {
  Impact impact;
  YAML::Node node = service.Node("impact");
  if (!node.IsDefined()) return impact;
  ObjectView v(r, node, SpecOf(SpecOf(TopLevelSpec(), "services"), "impact"),
               "impact of service \"" + name + "\"", service.KeyAt("impact"));
  impact.position = service.KeyAt("impact");
  impact.downtime_cost_per_hour = v.Number("downtime_cost_per_hour");
  impact.data_loss_cost_per_hour = v.Number("data_loss_cost_per_hour");
  if (auto c = v.String("currency")) impact.currency = *c;
  if (auto n = v.String("notes")) impact.notes = *n;
  v.Finish();
  return impact;
}

Service ParseService(Reader& r, const Entry& e) {
  Service s;
  s.name = e.key;
  s.position = r.At(e.key_node);
  ObjectView v(r, e.value, SpecOf(TopLevelSpec(), "services"), "service \"" + e.key + "\"",
               s.position);
  if (auto owner = v.String("owner")) s.owner = *owner;
  if (auto tier = v.Integer("tier")) s.tier = static_cast<int>(*tier);
  s.tier_position = v.ValueAt("tier");
  if (auto rpo = v.Duration("rpo")) s.rpo = *rpo;
  s.rpo_position = v.ValueAt("rpo");
  s.rto = v.Duration("rto");
  s.rto_position = v.ValueAt("rto");
  s.mtd = v.Duration("mtd");
  if (auto deps = v.List("depends_on")) s.depends_on = std::move(*deps);
  s.impact = ParseImpact(r, v, s.name);
  s.sources = internal::ParseSources(r, v, s.name);
  s.schedule = ParseSchedule(r, v, s.name, s.rpo);
  s.retention = ParseRetention(r, v, s.name);
  if (auto sites = v.List("sites")) s.sites = std::move(*sites);
  s.sites_position = v.KeyAt("sites");
  if (auto rep = v.String("replication"))
    s.replication = *rep == "sync" ? Replication::kSync : Replication::kAsync;
  s.hooks = ParseHooks(r, v, s.name);
  s.recover = internal::ParseRecover(r, v, s.name);
  s.verify = internal::ParseVerify(r, v, s.name);
  s.drill_every = v.Duration("drill_every");
  s.drill_every_position = v.ValueAt("drill_every");
  s.drill_schedule = ParseCron(r, v, "drill_schedule", "drill_schedule of service \"" + s.name + "\"");
  s.switch_steps = internal::ParseSwitchSteps(r, v, s.name);
  s.failover = internal::ParseFailoverPolicy(r, v, s.name);
  // The default recovery site is the second (validate.cc reports a service with one site).
  if (s.failover && s.failover->to.empty() && s.sites.size() >= 2) {
    s.failover->to = s.sites[1].name;
  }
  v.Finish();
  return s;
}

}  // namespace

ParsedPlan ParsePlanText(std::string_view text, const std::string& file) {
  ParsedPlan out;
  out.plan.file = file;
  Reader r(file, &out.diagnostics);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    out.diagnostics.Error(r.At(e.mark), "YAML syntax error: " + e.msg,
                          "check the indentation and the quoting on this line and the one before");
    return out;
  }
  if (!root.IsDefined() || root.IsNull()) {
    out.diagnostics.Error(Position{file, 1, 1}, "the plan is empty",
                          "start with \"version: 1\", then sites and services (doc/plan.md has a "
                          "complete example)");
    return out;
  }
  ObjectView top(r, root, TopLevelSpec(), "the plan", Position{file, 1, 1});
  if (auto version = top.Integer("version")) out.plan.version = static_cast<int>(*version);
  if (auto currency = top.String("currency")) out.plan.currency = *currency;
  for (const Entry& e : top.Map("sites")) out.plan.sites.push_back(ParseSite(r, e));
  for (const Entry& e : top.Map("services")) out.plan.services.push_back(ParseService(r, e));
  // The plan's currency is the default of every site's and impact's (an empty value in the file
  // is an error, so "" here means "not given").
  for (Site& s : out.plan.sites)
    if (s.currency.empty()) s.currency = out.plan.currency;
  for (Service& s : out.plan.services)
    if (s.impact.currency.empty()) s.impact.currency = out.plan.currency;
  internal::ParseContacts(r, top, &out.plan);
  internal::ParseNotifications(r, top, &out.plan);
  internal::ParseFailoverSettings(r, top, &out.plan);
  internal::ParseDaemon(r, top, &out.plan);
  top.Finish();
  return out;
}

}  // namespace lifeboat::plan
