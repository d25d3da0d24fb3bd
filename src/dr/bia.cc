// The business impact analysis (bia.h): reading the sites once each, and the analysis.
#include "dr/bia.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <set>

#include "dr/drill_findings.h"
#include "dr/drill_history.h"
#include "dr/sites.h"
#include "engine/open.h"
#include "plan/duration.h"
#include "util/strings.h"

namespace lifeboat::dr {
namespace {

constexpr double kNsPerHour = 3600e9;

bool Stopped(const Status& st) {
  return st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded;
}

std::optional<int64_t> Ns(const std::optional<std::chrono::seconds>& s) {
  if (!s) return std::nullopt;
  return std::chrono::nanoseconds(*s).count();
}

std::string Duration(int64_t ns) {
  return plan::FormatPlanDuration(std::chrono::seconds(ns / 1'000'000'000));
}

bool UsesSite(const plan::Service& s, const std::string& site) {
  return std::any_of(s.sites.begin(), s.sites.end(),
                     [&](const plan::NameRef& r) { return r.name == site; });
}

// Reads one open site: immutability, drill records, stored bytes per service.
void ReadSite(const plan::Plan& plan, Repository& repo, const Context& ctx, BiaSiteReading* out,
              std::vector<DrillRecord>* drills, std::vector<std::string>* warnings) {
  out->append_only = repo.append_only();
  out->object_lock = repo.backend().Hints().object_lock.has_value();
  Result<DrillRecordListing> listing = ListDrillRecords(repo, {}, ctx);
  if (listing.ok()) {
    for (const UnreadableRunObject& u : listing->unreadable)
      warnings->push_back("record object runs/" + u.name + " at site " + out->site +
                          " cannot be read (" + u.status.message() +
                          "): its drill records are left out");
    for (DrillRecord& r : listing->records) drills->push_back(std::move(r));
  } else {
    warnings->push_back("the drill records of site " + out->site + " cannot be read (" +
                        listing.status().message() + "): they are left out");
  }
  // Stored bytes: one group per plan service using the site, one for every other snapshot.
  auto measure = [&]() -> Status {
    LB_RETURN_IF_ERROR(repo.LoadIndex());
    std::vector<DamagedSnapshot> damaged;
    LB_ASSIGN_OR_RETURN(auto snaps, repo.ListSnapshots(&damaged));
    for (const DamagedSnapshot& d : damaged)
      warnings->push_back("site " + out->site + ": " + DescribeDamagedSnapshot(d));
    std::vector<SnapshotGroup> groups;
    std::map<std::string, size_t> group_of;
    for (const plan::Service& s : plan.services) {
      if (!UsesSite(s, out->site)) continue;
      group_of[s.name] = groups.size();
      groups.push_back({s.name, {}});
    }
    const size_t other = groups.size();
    groups.push_back({"(other snapshots)", {}});
    for (const auto& [id, snap] : snaps) {
      auto it = group_of.find(snap.service);
      groups[it == group_of.end() ? other : it->second].trees.push_back(snap.tree);
    }
    GroupSizeOptions o;
    o.context = ctx;
    LB_ASSIGN_OR_RETURN(GroupSizes sizes, SnapshotGroupSizes(repo, groups, o));
    out->other_bytes = sizes.groups[other].attributed;
    sizes.groups.pop_back();
    out->services = std::move(sizes.groups);
    out->referenced_bytes = sizes.referenced;
    out->shared_bytes = sizes.shared;
    for (const GroupSize& g : out->services)
      if (g.missing > 0)
        warnings->push_back("site " + out->site + ": " + std::to_string(g.missing) +
                            " data blob(s) of service " + g.name +
                            " are not in the index; their sizes are not counted (run `lifeboat "
                            "check`)");
    return Status::Ok();
  };
  Status st = measure();
  if (!st.ok()) out->storage_error = st.ToString();
}

}  // namespace

Result<BiaInputs> ReadBiaInputs(const plan::Plan& plan, const BiaOptions& options) {
  BiaInputs in;
  in.offline = options.offline;
  const Context& ctx = options.context;
  std::vector<const plan::Site*> sites;
  for (const plan::Site& site : plan.sites) {
    if (std::any_of(plan.services.begin(), plan.services.end(),
                    [&](const plan::Service& s) { return UsesSite(s, site.name); }))
      sites.push_back(&site);
  }
  if (options.offline) {
    for (const plan::Site* site : sites) {
      BiaSiteReading reading;
      reading.site = site->name;
      in.sites.push_back(std::move(reading));
    }
    return in;
  }
  std::map<std::string, std::unique_ptr<Repository>> open;
  for (const plan::Site* site : sites) {
    LB_RETURN_IF_ERROR(ctx.Check("reading the sites"));
    BiaSiteReading reading;
    reading.site = site->name;
    Result<OpenOptions> o = SiteOpenOptions(*site, ctx);
    Result<std::unique_ptr<Repository>> repo = o.status();
    if (o.ok()) {
      o->lock.reset();
      o->load_index = false;
      if (options.decorate_backend) {
        const std::string name = site->name;
        auto decorate = options.decorate_backend;
        o->decorate_backend = [decorate, name](std::unique_ptr<Backend> b) {
          return decorate(name, std::move(b));
        };
      }
      repo = OpenRepositoryUnlocked(*o);
    }
    if (!repo.ok()) {
      if (Stopped(repo.status())) return repo.status();
      reading.error = repo.status().ToString();
      in.warnings.push_back("site " + site->name + " cannot be read (" + reading.error +
                            "): its copies, drills and stored bytes are unknown here");
      in.sites.push_back(std::move(reading));
      continue;
    }
    reading.read = true;
    ReadSite(plan, **repo, ctx, &reading, &in.drills, &in.warnings);
    LB_RETURN_IF_ERROR(ctx.Check("reading the sites"));
    if (reading.storage_error)
      in.warnings.push_back("the stored bytes at site " + site->name + " cannot be measured (" +
                            *reading.storage_error + "): its monthly cost is unknown");
    open[site->name] = std::move(*repo);
    in.sites.push_back(std::move(reading));
  }
  // Status over the same openings (a site that could not be opened is unreachable, with its
  // error, and is not tried again).
  StatusOptions so;
  so.context = ctx;
  so.now_ns = ctx.clock().WallNs();
  so.opened_site = [&](const std::string& name) -> Result<Repository*> {
    auto it = open.find(name);
    if (it != open.end()) return it->second.get();
    for (const BiaSiteReading& r : in.sites)
      if (r.site == name) return Status::Unavailable(r.error);
    return Status::Unavailable("not read");
  };
  Result<PlanStatus> status = ComputePlanStatus(plan, so);
  if (!status.ok()) return status.status();
  in.status = std::move(*status);
  return in;
}

Result<Bia> ComputeBia(const plan::Plan& plan, const BiaOptions& options) {
  LB_ASSIGN_OR_RETURN(BiaInputs in, ReadBiaInputs(plan, options));
  return BuildBia(plan, in, options.context.clock().WallNs());
}

namespace {

// Every maximal dependency path (first: a service that depends on nothing), up to `limit`.
void Chains(const std::map<std::string, std::vector<std::string>>& needed_by,
            std::vector<std::string>* path, size_t limit,
            std::vector<std::vector<std::string>>* out, size_t* total) {
  auto it = needed_by.find(path->back());
  if (it == needed_by.end() || it->second.empty()) {
    ++*total;
    if (out->size() < limit) out->push_back(*path);
    return;
  }
  for (const std::string& next : it->second) {
    path->push_back(next);
    Chains(needed_by, path, limit, out, total);
    path->pop_back();
  }
}

std::string Hours(int64_t ns) { return Duration(ns); }

}  // namespace

Result<Bia> BuildBia(const plan::Plan& plan, const BiaInputs& inputs, int64_t now_ns) {
  Bia bia;
  bia.plan_file = plan.file;
  bia.now_ns = now_ns;
  bia.offline = inputs.offline;
  bia.warnings = inputs.warnings;
  LB_ASSIGN_OR_RETURN(bia.waves, recover::RecoveryWaves(plan, {}));

  // The recovery order: waves, then their priority order.
  std::map<std::string, const recover::WaveService*> wave_service;
  std::map<std::string, int> wave_of, rank_of;
  std::vector<std::string> order;
  for (const recover::Wave& w : bia.waves) {
    for (const recover::WaveService& s : w.services) {
      wave_service[s.name] = &s;
      wave_of[s.name] = w.number;
      order.push_back(s.name);
      rank_of[s.name] = static_cast<int>(order.size());
    }
  }
  std::map<std::string, std::vector<std::string>> needed_by;
  for (const auto& [name, ws] : wave_service) needed_by[name] = ws->needed_by;

  // Critical paths, in recovery order (every dependency comes before its dependents).
  struct Path {
    int64_t ns = 0;
    std::vector<std::string> chain;
  };
  std::map<std::string, Path> cp;
  for (const std::string& name : order) {
    const plan::Service& s = *plan.FindService(name);
    Path best;
    for (const plan::NameRef& d : s.depends_on) {
      auto it = cp.find(d.name);
      if (it == cp.end()) continue;  // not a service (validate refuses such plans)
      if (best.chain.empty() || it->second.ns > best.ns) best = it->second;
    }
    best.ns += Ns(s.rto).value_or(0);
    best.chain.push_back(name);
    cp[name] = best;
  }

  // Drills, judged as `drill history` judges them.
  DrillHistory history;
  if (!inputs.offline) history = BuildDrillHistory(plan, {}, inputs.drills, now_ns);
  for (const std::string& w : history.warnings) bia.warnings.push_back(w);

  auto reading_of = [&](const std::string& site) -> const BiaSiteReading* {
    for (const BiaSiteReading& r : inputs.sites)
      if (r.site == site) return &r;
    return nullptr;
  };

  for (size_t si = 0; si < plan.services.size(); ++si) {
    const plan::Service& s = plan.services[si];
    BiaService b;
    b.name = s.name;
    b.tier = s.tier;
    b.owner = s.owner;
    b.wave = wave_of[s.name];
    b.recovery_rank = rank_of[s.name];
    b.priority_tier = wave_service.count(s.name) ? wave_service[s.name]->priority_tier : s.tier;
    b.rpo_ns = std::chrono::nanoseconds(s.rpo).count();
    b.rto_ns = Ns(s.rto);
    b.mtd_ns = Ns(s.mtd);
    b.downtime_cost_per_hour = s.impact.downtime_cost_per_hour;
    b.data_loss_cost_per_hour = s.impact.data_loss_cost_per_hour;
    b.currency = s.impact.currency.empty() ? plan.currency : s.impact.currency;
    b.notes = s.impact.notes;

    // Resources.
    for (const plan::NameRef& d : s.depends_on) b.depends_on.push_back(d.name);
    if (wave_service.count(s.name)) b.needed_by = wave_service[s.name]->needed_by;
    std::set<std::string> deps;
    std::vector<std::string> stack = b.depends_on;
    while (!stack.empty()) {
      std::string d = stack.back();
      stack.pop_back();
      if (!deps.insert(d).second) continue;
      if (const plan::Service* ds = plan.FindService(d))
        for (const plan::NameRef& r : ds->depends_on) stack.push_back(r.name);
    }
    for (const std::string& n : order)
      if (deps.count(n)) b.all_dependencies.push_back(n);
    for (const plan::Source& src : s.sources)
      b.sources.push_back(src.name + " (" + std::string(plan::SourceKindName(src.kind)) + ")");

    // Criticality.
    const Path& path = cp[s.name];
    b.critical_path_rto_ns = path.ns;
    b.critical_path = path.chain;
    for (const std::string& n : path.chain)
      if (!plan.FindService(n)->rto) b.without_rto.push_back(n);
    if (b.mtd_ns) b.meets_mtd = b.critical_path_rto_ns <= *b.mtd_ns;

    // Costs.
    if (b.downtime_cost_per_hour) {
      const double per_hour = *b.downtime_cost_per_hour;
      if (b.rto_ns) {
        b.downtime_cost_at_rto = per_hour * static_cast<double>(*b.rto_ns) / kNsPerHour;
        b.downtime_cost_at_critical_path =
            per_hour * static_cast<double>(b.critical_path_rto_ns) / kNsPerHour;
      }
      if (b.mtd_ns) b.downtime_cost_at_mtd = per_hour * static_cast<double>(*b.mtd_ns) / kNsPerHour;
    }
    if (b.data_loss_cost_per_hour)
      b.data_loss_cost_at_rpo =
          *b.data_loss_cost_per_hour * static_cast<double>(b.rpo_ns) / kNsPerHour;
    if (b.downtime_cost_at_critical_path || b.data_loss_cost_at_rpo)
      b.loss_per_incident =
          b.downtime_cost_at_critical_path.value_or(0) + b.data_loss_cost_at_rpo.value_or(0);

    // Exposure per site.
    const ServiceStatus* st = nullptr;
    if (inputs.status)
      for (const ServiceStatus& x : inputs.status->services)
        if (x.name == s.name) st = &x;
    int fresh_sites = 0;
    b.protection_cost_complete = !s.sites.empty();
    std::vector<std::string> uncomparable;
    for (const plan::NameRef& ref : s.sites) {
      const plan::Site* site = plan.FindSite(ref.name);
      if (!site) continue;
      BiaSiteExposure e;
      e.site = site->name;
      e.role = std::string(plan::SiteRoleName(site->role));
      e.media = site->media;
      e.immutable_in_plan = site->immutable;
      e.price_per_gib_month = site->price_per_gib_month;
      e.currency = site->currency.empty() ? plan.currency : site->currency;
      e.cost_comparable = e.currency == b.currency;
      const BiaSiteReading* r = reading_of(site->name);
      if (inputs.offline || !r) {
        e.immutability = site->immutable ? "planned" : "none";
        e.state = "not read";
        if (site->immutable) b.immutable_copy = true;
        ++fresh_sites;  // offline: the plan's promise
      } else if (!r->read) {
        e.immutability = "unknown";
        e.state = std::string(RpoStateName(RpoState::kUnreachable));
        e.error = r->error;
      } else {
        e.immutability = r->append_only   ? "append-only"
                         : r->object_lock ? "object lock"
                         : site->immutable ? "not verified"
                                           : "none";
        if (r->append_only || r->object_lock) b.immutable_copy = true;
        e.state = std::string(RpoStateName(RpoState::kMissing));
        if (st)
          for (const ServiceSiteStatus& ss : st->sites)
            if (ss.site == site->name) {
              e.state = std::string(RpoStateName(ss.state));
              if (ss.newest) e.newest_snapshot_ns = ss.newest->time_ns;
              if (RpoHolds(ss.state)) ++fresh_sites;
            }
        if (r->storage_error) {
          e.error = "stored bytes not measured: " + *r->storage_error;
        } else {
          for (const GroupSize& g : r->services)
            if (g.name == s.name) {
              e.stored_bytes = g.attributed;
              e.referenced_bytes = g.referenced;
              e.exclusive_bytes = g.exclusive;
            }
        }
      }
      if (e.stored_bytes && e.price_per_gib_month)
        e.monthly_cost = static_cast<double>(*e.stored_bytes) / kBytesPerGiB * *e.price_per_gib_month;
      if (e.monthly_cost && e.cost_comparable) {
        b.monthly_protection_cost = b.monthly_protection_cost.value_or(0) + *e.monthly_cost;
      } else {
        b.protection_cost_complete = false;
        if (e.monthly_cost) uncomparable.push_back(site->name + " (" + e.currency + ")");
      }
      if (site->role == plan::SiteRole::kOffsite) b.offsite = true;
      b.sites.push_back(std::move(e));
    }
    b.copies = 1 + fresh_sites;
    if (b.monthly_protection_cost) b.annual_protection_cost = 12 * *b.monthly_protection_cost;
    if (!uncomparable.empty())
      bia.warnings.push_back("service " + s.name + ": the storage cost at " +
                             JoinStrings(uncomparable, ", ") +
                             " is in another currency than its impact (" +
                             (b.currency.empty() ? std::string("none") : b.currency) +
                             "): left out of its protection cost");

    // Drills.
    b.drills_read = !inputs.offline;
    const ServiceDrills* sd = nullptr;
    for (const ServiceDrills& x : history.services)
      if (x.service == s.name) sd = &x;
    auto to_bia = [](const DrillRecord& r) {
      BiaDrill d;
      d.site = r.site;
      d.start_ns = r.start_ns;
      d.result = std::string(DrillResultName(r.result));
      d.achieved_rto_ns = r.achieved_rto_ns;
      d.achieved_rpo_ns = r.achieved_rpo_ns;
      d.rto_target_ns = r.rto_target_ns;
      d.rpo_target_ns = r.rpo_target_ns;
      return d;
    };
    if (sd) {
      b.drills = sd->drills.size();
      if (sd->assessment.newest) b.last_drill = to_bia(*sd->assessment.newest);
      if (sd->assessment.newest_passed) b.last_passed_drill = to_bia(*sd->assessment.newest_passed);
    }

    // Exposure gaps (doc/bia.md, "Exposure gaps").
    auto gap = [&](std::string kind, std::string message) {
      b.gaps.push_back({std::move(kind), std::move(message)});
    };
    if (b.meets_mtd && !*b.meets_mtd)
      gap("mtd_exceeded", "critical-path RTO " + Hours(b.critical_path_rto_ns) + " (" +
                              JoinStrings(b.critical_path, " -> ") + ") exceeds the MTD " +
                              Hours(*b.mtd_ns));
    if (s.tier <= 1 && (!b.rto_ns || !b.mtd_ns))
      gap("objectives_missing", std::string("tier ") + std::to_string(s.tier) + " service without " +
                                    (!b.rto_ns && !b.mtd_ns ? "rto and mtd" : !b.rto_ns ? "rto" : "mtd"));
    if (b.copies < 3)
      gap("fewer_than_3_copies",
          std::to_string(b.copies) + (b.copies == 1 ? " copy" : " copies") +
              (inputs.offline ? " in the plan" : " holding the RPO") +
              " (the live data and each site with a fresh snapshot count)");
    if (!b.offsite) gap("no_offsite", "no site with role offsite");
    if (!b.immutable_copy) {
      bool planned = std::any_of(b.sites.begin(), b.sites.end(),
                                 [](const BiaSiteExposure& e) { return e.immutable_in_plan; });
      gap("no_immutable_copy", planned ? "the sites the plan calls immutable do not enforce it "
                                         "(neither append-only nor object-locked)"
                                       : "no immutable site (append-only or object lock)");
    }
    for (const BiaSiteExposure& e : b.sites) {
      if (e.state == "unreachable")
        gap("site_unreadable", "site " + e.site + " cannot be read: " + e.error);
      else if (e.state == "violated" || e.state == "missing")
        gap("rpo_not_held", "site " + e.site + ": " +
                                (e.state == "missing" ? std::string("no complete snapshot")
                                                      : "the newest snapshot is older than the RPO"));
    }
    if (sd) {
      for (const DrillFinding& f : sd->assessment.findings) {
        if (f.kind == FindingKind::kRtoRegressed) continue;  // a trend, not a gap
        gap(std::string(FindingKindName(f.kind)), f.message);
      }
      if (b.last_passed_drill && b.last_passed_drill->achieved_rto_ns && b.mtd_ns &&
          *b.last_passed_drill->achieved_rto_ns > *b.mtd_ns)
        gap("drill_exceeded_mtd", "the last passed drill took " +
                                      FormatDrillDuration(*b.last_passed_drill->achieved_rto_ns) +
                                      ", more than the MTD " + Hours(*b.mtd_ns));
    }

    // Verdict (doc/bia.md, "Verdict").
    if (b.loss_per_incident && b.annual_protection_cost &&
        *b.annual_protection_cost > *b.loss_per_incident) {
      b.verdict = "over_protected";
      b.verdict_reason = "a year of protection (" +
                         FormatMoney(*b.annual_protection_cost, b.currency) +
                         ") costs more than one incident at target (" +
                         FormatMoney(*b.loss_per_incident, b.currency) + ")";
    } else if (!b.gaps.empty()) {
      b.verdict = "under_protected";
      b.verdict_reason = std::to_string(b.gaps.size()) + " exposure gap" +
                         (b.gaps.size() == 1 ? "" : "s") + ": " + b.gaps.front().message;
    } else if (b.loss_per_incident) {
      b.verdict = "balanced";
      b.verdict_reason = b.annual_protection_cost
                             ? "a year of protection (" +
                                   FormatMoney(*b.annual_protection_cost, b.currency) +
                                   ") is within one incident at target (" +
                                   FormatMoney(*b.loss_per_incident, b.currency) + "), no gap"
                             : "no exposure gap; the protection cost is unknown";
    } else {
      b.verdict = "not_judged";
      b.verdict_reason = "no exposure gap, and the plan gives no impact cost to weigh it against";
    }
    bia.services.push_back(std::move(b));
  }

  // Chains, the longest first.
  std::vector<std::vector<std::string>> paths;
  size_t total = 0;
  for (const std::string& name : order) {
    const plan::Service& s = *plan.FindService(name);
    const bool root = std::none_of(s.depends_on.begin(), s.depends_on.end(),
                                   [&](const plan::NameRef& d) { return cp.count(d.name) > 0; });
    if (!root) continue;
    std::vector<std::string> path = {name};
    Chains(needed_by, &path, kMaxBiaChains, &paths, &total);
  }
  for (const std::vector<std::string>& p : paths) {
    BiaChain c;
    for (const std::string& name : p) {
      const plan::Service& s = *plan.FindService(name);
      BiaChainMember m;
      m.service = name;
      m.rto_ns = Ns(s.rto);
      m.mtd_ns = Ns(s.mtd);
      c.critical_path_rto_ns += m.rto_ns.value_or(0);
      m.finish_ns = c.critical_path_rto_ns;
      m.exceeds_mtd = m.mtd_ns && m.finish_ns > *m.mtd_ns;
      if (m.exceeds_mtd) c.meets_mtd = false;
      if (!m.rto_ns) c.without_rto.push_back(name);
      c.members.push_back(std::move(m));
    }
    bia.chains.push_back(std::move(c));
  }
  std::stable_sort(bia.chains.begin(), bia.chains.end(), [](const BiaChain& a, const BiaChain& b) {
    return a.critical_path_rto_ns > b.critical_path_rto_ns;
  });
  if (total > paths.size())
    bia.warnings.push_back(std::to_string(total - paths.size()) + " of " + std::to_string(total) +
                           " dependency chains are not listed (the per-service critical paths "
                           "cover them)");

  // Sites.
  for (const BiaSiteReading& r : inputs.sites) {
    const plan::Site* site = plan.FindSite(r.site);
    if (!site) continue;
    BiaSiteSummary x;
    x.site = r.site;
    x.role = std::string(plan::SiteRoleName(site->role));
    x.media = site->media;
    x.location = site->location;
    x.read = r.read;
    x.error = inputs.offline ? "not read (offline)" : r.error;
    if (r.read && r.storage_error) x.error = "stored bytes not measured: " + *r.storage_error;
    x.price_per_gib_month = site->price_per_gib_month;
    x.currency = site->currency.empty() ? plan.currency : site->currency;
    if (r.read && !r.storage_error) {
      uint64_t services = 0;
      for (const GroupSize& g : r.services) services += g.attributed;
      x.services_bytes = services;
      x.other_bytes = r.other_bytes;
      x.shared_bytes = r.shared_bytes;
      if (x.price_per_gib_month)
        x.monthly_cost =
            static_cast<double>(services + r.other_bytes) / kBytesPerGiB * *x.price_per_gib_month;
    }
    bia.sites.push_back(std::move(x));
  }
  return bia;
}

}  // namespace lifeboat::dr
