#include "plan/validate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "plan/duration.h"
#include "plan/keys.h"
#include "plan/schedule.h"
#include "util/file_io.h"

namespace lifeboat::plan {

namespace {

std::string Names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

std::string Nearest(std::string_view name, const std::vector<std::string>& names) {
  return NearestName(name, names);
}

template <typename T>
std::vector<std::string> NamesOf(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (const T& x : v) out.push_back(x.name);
  return out;
}

// Each reference in `refs` must name one of `names`, and be listed once.
void CheckRefs(const std::vector<NameRef>& refs, const std::vector<std::string>& names,
               std::string_view kind, const std::string& where, Diagnostics* d) {
  std::set<std::string> seen;
  for (const NameRef& ref : refs) {
    if (std::find(names.begin(), names.end(), ref.name) == names.end()) {
      const std::string nearest = Nearest(ref.name, names);
      d->Error(ref.position, "unknown " + std::string(kind) + " \"" + ref.name + "\" in " + where,
               (nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ") + "the " +
                   std::string(kind) + "s are " + Names(names));
      continue;
    }
    if (!seen.insert(ref.name).second) {
      d->Error(ref.position, std::string(kind) + " \"" + ref.name + "\" listed twice in " + where,
               "remove one");
    }
  }
}

void CheckCycles(const Plan& plan, Diagnostics* d) {
  // Depth-first search in file order; a dependency on a service on the current path closes a
  // cycle, reported once at that depends_on entry.
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<void(const Service&)> visit = [&](const Service& s) {
    state[s.name] = 1;
    path.push_back(s.name);
    for (const NameRef& dep : s.depends_on) {
      const Service* next = plan.FindService(dep.name);
      if (!next) continue;
      if (state[next->name] == 1) {
        std::string cycle;
        const auto start = std::find(path.begin(), path.end(), next->name);
        for (auto it = start; it != path.end(); ++it) cycle += *it + " -> ";
        cycle += next->name;
        d->Error(dep.position, "dependency cycle: " + cycle,
                 "a service cannot be recovered before itself: remove one of these depends_on entries");
      } else if (state[next->name] == 0) {
        visit(*next);
      }
    }
    path.pop_back();
    state[s.name] = 2;
  };
  for (const Service& s : plan.services)
    if (state[s.name] == 0) visit(s);
}

std::string PostgresSourceFor(const Service& s, const std::string& wanted, const Position& at,
                              std::string_view what, Diagnostics* d) {
  std::vector<std::string> pg;
  for (const Source& src : s.sources)
    if (src.kind == SourceKind::kPostgres) pg.push_back(src.name);
  const std::string where = std::string(what) + " of service \"" + s.name + "\"";
  if (pg.empty()) {
    d->Error(at, where + " needs a postgres source, and the service has none",
             "add a postgres source to the service, or remove the step");
    return "";
  }
  if (wanted.empty()) {
    if (pg.size() > 1)
      d->Error(at, where + " does not say which postgres source to use",
               "add source: NAME, one of " + Names(pg));
    return pg.front();
  }
  if (std::find(pg.begin(), pg.end(), wanted) == pg.end()) {
    d->Error(at, "unknown postgres source \"" + wanted + "\" in " + where,
             "the postgres sources of the service are " + Names(pg));
  }
  return wanted;
}

// Drills: a critical service that is never drilled; a drill schedule that leaves gaps longer
// than drill_every (the drill would be overdue between two scheduled drills).
void CheckDrills(const Service& s, const ValidateOptions& options, Diagnostics* d) {
  const std::string where = "service \"" + s.name + "\"";
  if (s.tier <= 1 && !s.drill_every && !s.drill_schedule) {
    d->Warning(s.position,
               "tier-" + std::to_string(s.tier) + " " + where +
                   " has neither drill_every nor drill_schedule",
               "a backup nobody has restored is a hope, not a plan: add drill_every (how old the "
               "newest passed drill may be) and drill_schedule (when lifeboat run drills it) "
               "(doc/plan.md, \"Drills\")");
  }
  if (!s.drill_every || !s.drill_schedule) return;
  Result<CronSchedule> sched = CronSchedule::Parse(s.drill_schedule->cron, s.drill_schedule->timezone);
  if (!sched.ok()) return;  // reported by the parser
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(options.now);
  Result<std::chrono::seconds> gap = sched->LongestGap(now);
  if (gap.ok() && *gap > *s.drill_every) {
    d->Warning(s.drill_schedule->position,
               "the drill_schedule of " + where + " leaves up to " + FormatPlanDuration(*gap) +
                   " between drills, longer than its drill_every of " +
                   FormatPlanDuration(*s.drill_every),
               "the drill would be overdue before the next scheduled one: schedule drills at least "
               "every " + FormatPlanDuration(*s.drill_every) + ", or raise drill_every");
  }
}

// The BIA sets a site's storage price against a service's impact: both in one currency.
void CheckCurrencies(const Plan& plan, const Service& s, Diagnostics* d) {
  const bool costs = s.impact.downtime_cost_per_hour || s.impact.data_loss_cost_per_hour;
  if (!costs || s.impact.currency.empty()) return;
  std::set<std::string> seen;
  for (const NameRef& ref : s.sites) {
    const Site* site = plan.FindSite(ref.name);
    if (!site || !site->price_per_gib_month || site->currency.empty() ||
        site->currency == s.impact.currency || !seen.insert(site->name).second)
      continue;
    d->Warning(site->price_position,
               "site \"" + site->name + "\" prices storage in " + site->currency +
                   ", but the impact of service \"" + s.name + "\" is in " + s.impact.currency,
               "the business impact analysis cannot set the cost of protecting the service "
               "against the cost of losing it: give both the same currency (the plan's "
               "top-level currency is the default of both)");
  }
}

// Failover (doc/plan.md, "Failover"): the recovery site is one of the service's sites and not its
// first; a critical service the daemon watches needs a check that can tell it is down.
void CheckFailover(const Service& s, Diagnostics* d) {
  if (!s.failover) return;
  const FailoverPolicy& f = *s.failover;
  const std::string where = "failover of service \"" + s.name + "\"";
  if (s.sites.size() < 2) {
    d->Error(f.position, where + ": the service has only one site to fail over from and to",
             "list a second site in its sites (a failover restores from the backups at the "
             "recovery site), or remove failover");
    return;
  }
  const Position at = f.to_position.line ? f.to_position : f.position;
  std::vector<std::string> sites;
  for (const NameRef& ref : s.sites) sites.push_back(ref.name);
  if (std::find(sites.begin(), sites.end(), f.to) == sites.end()) {
    const std::string nearest = Nearest(f.to, sites);
    d->Error(at, where + " goes to site \"" + f.to + "\", which the service does not list",
             (nearest.empty() ? "" : "did you mean \"" + nearest + "\"? ") +
                 "the recovery site must hold the service's backups: its sites are " +
                 Names(sites));
  } else if (f.to == sites.front()) {
    d->Error(at, where + " goes to site \"" + f.to + "\", the service's first site",
             "the first site is where the service runs and is backed up; fail over to another "
             "of its sites (" +
                 Names(std::vector<std::string>(sites.begin() + 1, sites.end())) + ")");
  }
  if (s.tier <= 1 && std::none_of(s.verify.begin(), s.verify.end(), [](const VerifyCheck& c) {
        return c.kind != VerifyCheck::Kind::kFiles;
      })) {
    d->Warning(f.position,
               "tier-" + std::to_string(s.tier) + " service \"" + s.name +
                   "\" has a failover policy but no verify check that reaches the running "
                   "service",
               "the daemon's health checks are the service's tcp, http, command and sql checks; "
               "with none, it could not tell the service is down: add one (doc/plan.md, "
               "\"Recover and verify\")");
  }
}

void CheckService(const Plan& plan, const Service& s, const ValidateOptions& options,
                  Diagnostics* d) {
  const std::string where = "service \"" + s.name + "\"";
  CheckRefs(s.sites, NamesOf(plan.sites), "site", where, d);
  std::vector<std::string> services = NamesOf(plan.services);
  CheckRefs(s.depends_on, services, "service", "depends_on of " + where, d);
  for (const NameRef& dep : s.depends_on) {
    if (dep.name == s.name) continue;  // a cycle of one: CheckCycles
    const Service* other = plan.FindService(dep.name);
    if (other && other->tier > s.tier) {
      d->Warning(dep.position,
                 "tier-" + std::to_string(s.tier) + " " + where + " depends on the less critical tier-" +
                     std::to_string(other->tier) + " service \"" + other->name + "\"",
                 "it cannot come back before \"" + other->name + "\" does: give \"" + other->name +
                     "\" tier " + std::to_string(s.tier) + " or lower, or drop the dependency");
    }
  }
  // Steps and checks that name postgres sources and ports.
  std::set<std::string> ports;
  for (const RecoverStep& step : s.recover) {
    if (step.kind == RecoverStep::Kind::kPostgresRestore)
      PostgresSourceFor(s, step.postgres_source, step.position, "postgres_restore", d);
    for (const auto& [name, number] : step.ports) ports.insert(name);
  }
  for (const VerifyCheck& c : s.verify) {
    if (c.kind == VerifyCheck::Kind::kSql)
      PostgresSourceFor(s, c.postgres_source, c.position, "the sql check", d);
    if ((c.kind == VerifyCheck::Kind::kTcp || c.kind == VerifyCheck::Kind::kHttp) &&
        !c.port.name.empty() && !ports.count(c.port.name)) {
      d->Error(c.position,
               "the " + std::string(VerifyKindName(c.kind)) + " check of " + where +
                   " uses port \"" + c.port.name + "\", which no recover step declares",
               "declare it in a recover step's ports (e.g. ports: {" + c.port.name +
                   ": 8080}), or give the port's number");
    }
  }
  // Objectives.
  if (s.rto && s.mtd && *s.rto > *s.mtd) {
    d->Warning(s.rto_position,
               "the RTO of " + where + " (" + FormatPlanDuration(*s.rto) +
                   ") is longer than its maximum tolerable downtime (" + FormatPlanDuration(*s.mtd) + ")",
               "a recovery that takes the whole RTO would exceed the MTD: lower rto or raise mtd");
  }
  // The schedule against the RPO.
  if (s.rpo.count() > 0) {
    Result<CronSchedule> sched = CronSchedule::Parse(s.schedule.cron, s.schedule.timezone);
    if (sched.ok()) {
      const auto now = std::chrono::time_point_cast<std::chrono::seconds>(options.now);
      Result<std::chrono::seconds> gap = sched->LongestGap(now);
      if (gap.ok() && *gap > s.rpo) {
        d->Warning(s.schedule.position,
                   "the schedule of " + where + " leaves up to " + FormatPlanDuration(*gap) +
                       " between backups, longer than its RPO of " + FormatPlanDuration(s.rpo),
                   s.rpo < std::chrono::minutes(1)
                       ? "no schedule runs more often than every minute: raise the RPO"
                       : "schedule backups at least every " + FormatPlanDuration(s.rpo) +
                             ", or leave schedule out to derive one from the RPO");
      }
    }
  }
  CheckDrills(s, options, d);
  CheckCurrencies(plan, s, d);
  CheckFailover(s, d);
  // 3-2-1, immutability, verify.
  std::vector<const Site*> sites;
  for (const NameRef& ref : s.sites)
    if (const Site* site = plan.FindSite(ref.name);
        site && std::find(sites.begin(), sites.end(), site) == sites.end())
      sites.push_back(site);
  if (sites.empty()) return;
  const Position at = s.sites_position;
  if (sites.size() + 1 < 3) {
    d->Warning(at, where + " has " + std::to_string(sites.size() + 1) +
                       " copies (the live data and " + std::to_string(sites.size()) +
                       " site), fewer than the 3 of the 3-2-1 rule",
               "list at least two sites in sites");
  }
  std::set<std::string> media;
  for (const Site* site : sites) media.insert(site->media);
  if (media.size() < 2) {
    d->Warning(at, "all sites of " + where + " are on one kind of media (" + *media.begin() +
                       "), fewer than the 2 of the 3-2-1 rule",
               "add a site of another kind (e.g. s3: or sftp:), or say what differs with media: "
               "(doc/plan.md, \"Sites\")");
  }
  if (std::none_of(sites.begin(), sites.end(),
                   [](const Site* site) { return site->role == SiteRole::kOffsite; })) {
    d->Warning(at, where + " has no offsite copy (no site with role: offsite), as the 3-2-1 rule asks",
               "add a site at another location with role: offsite");
  }
  if (s.tier <= 1) {
    if (std::none_of(sites.begin(), sites.end(), [](const Site* site) { return site->immutable; })) {
      d->Warning(at, "tier-" + std::to_string(s.tier) + " " + where + " has no immutable site",
                 "ransomware deletes what it can reach: add a site with immutable: true "
                 "(append-only or S3 Object Lock)");
    }
    if (s.verify.empty()) {
      d->Warning(s.position, "tier-" + std::to_string(s.tier) + " " + where + " has no verify checks",
                 "nobody would know whether a restore works: add verify checks (doc/plan.md, "
                 "\"Recover and verify\")");
    }
  }
}

}  // namespace

void Validate(const Plan& plan, const ValidateOptions& options, Diagnostics* d) {
  for (const Service& s : plan.services) CheckService(plan, s, options, d);
  CheckCycles(plan, d);
  const std::vector<std::string> channels = NamesOf(plan.channels);
  for (const Contact& c : plan.contacts)
    CheckRefs(c.channels, channels, "channel", "contact \"" + c.name + "\"", d);
  for (size_t i = 0; i < plan.routes.size(); ++i) {
    const Route& r = plan.routes[i];
    CheckRefs(r.channels, channels, "channel", "route " + std::to_string(i + 1), d);
    CheckRefs(r.escalate_to, channels, "channel", "escalate_to of route " + std::to_string(i + 1), d);
  }
}

LoadedPlan CheckPlanText(std::string_view text, const std::string& file,
                         const ValidateOptions& options) {
  ParsedPlan parsed = ParsePlanText(text, file);
  // References are only checked on a plan that parsed: otherwise every reference to a site
  // whose definition had an error would be reported again.
  if (!parsed.diagnostics.has_errors()) Validate(parsed.plan, options, &parsed.diagnostics);
  LoadedPlan out;
  out.plan = std::move(parsed.plan);
  out.diagnostics = parsed.diagnostics.Sorted();
  out.errors = parsed.diagnostics.errors();
  out.warnings = parsed.diagnostics.warnings();
  return out;
}

Result<LoadedPlan> CheckPlanFile(const std::string& path, const ValidateOptions& options) {
  Result<Bytes> data = ReadWholeFile(path);
  if (!data.ok()) return data.status().WithContext("reading the plan " + path);
  return CheckPlanText(std::string(data->begin(), data->end()), path, options);
}

Result<LoadedPlan> LoadPlan(const std::string& path, const ValidateOptions& options) {
  LB_ASSIGN_OR_RETURN(LoadedPlan loaded, CheckPlanFile(path, options));
  if (loaded.errors == 0) return loaded;
  std::string message = "the plan " + path + " has " + std::to_string(loaded.errors) +
                        (loaded.errors == 1 ? " error" : " errors") +
                        "; nothing runs on an invalid plan:";
  for (const Diagnostic& diag : loaded.diagnostics)
    if (diag.is_error()) message += "\n" + diag.ToString();
  message += "\n(lifeboat plan validate lists every error and warning)";
  return Status::InvalidArgument(message);
}

Result<std::string> FindPlanFile(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("LIFEBOAT_PLAN"); env && *env) return std::string(env);
  struct stat st;
  for (const char* path : {"lifeboat.yaml", "/etc/lifeboat/lifeboat.yaml"})
    if (::stat(path, &st) == 0) return std::string(path);
  return Status::NotFound(
      "no plan file: neither ./lifeboat.yaml nor /etc/lifeboat/lifeboat.yaml exists; give one "
      "with --plan FILE or LIFEBOAT_PLAN (doc/plan.md describes the file)");
}

}  // namespace lifeboat::plan
