// ComputePlanStatus: the sites opened and listed in parallel under their deadlines, then the
// per service x site states (doc/status.md).
#include "dr/status.h"

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "dr/sites.h"
#include "engine/open.h"
#include "plan/duration.h"
#include "plan/schedule.h"
#include "runlog/cache.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat::dr {

std::string_view RpoStateName(RpoState state) {
  switch (state) {
    case RpoState::kOk: return "ok";
    case RpoState::kAtRisk: return "at_risk";
    case RpoState::kViolated: return "violated";
    case RpoState::kMissing: return "missing";
    case RpoState::kUnreachable: return "unreachable";
  }
  return "unknown";
}

bool RpoHolds(RpoState state) { return state == RpoState::kOk || state == RpoState::kAtRisk; }

RpoState RpoStateForAge(int64_t age_ns, std::chrono::seconds rpo) {
  const __int128 age = std::max<int64_t>(age_ns, 0);
  const __int128 rpo_ns = static_cast<__int128>(rpo.count()) * 1'000'000'000;
  if (age > rpo_ns) return RpoState::kViolated;
  if (5 * age > 4 * rpo_ns) return RpoState::kAtRisk;
  return RpoState::kOk;
}

namespace {

// What one site's thread found.
struct SiteScan {
  bool reachable = false;
  std::string error;
  std::vector<CachedSnapshot> snapshots;
  std::vector<RunRecord> records;
  std::vector<std::string> warnings;
  int64_t duration_ns = 0;
};

// A listing that met a snapshot removed after it was listed (a concurrent forget) is taken again.
constexpr int kListingAttempts = 3;

Result<std::vector<CachedSnapshot>> ListSnapshotsOnce(Repository& repo, StatusCache* cache,
                                                      const Context& ctx,
                                                      std::vector<DamagedSnapshot>* damaged) {
  auto describe = [](const Id&, const Snapshot& s) {
    CachedSnapshot c;
    c.service = s.service;
    c.source = s.source ? s.source->name : "";
    c.time_ns = s.time_ns;
    c.incomplete = s.incomplete;
    return c;
  };
  if (cache != nullptr) return ListSnapshotsCached(repo, *cache, describe, ctx, damaged);
  LB_RETURN_IF_ERROR(ctx.Check("listing snapshots"));
  LB_ASSIGN_OR_RETURN(auto listed, repo.ListSnapshots(damaged));
  std::vector<CachedSnapshot> out;
  out.reserve(listed.size());
  for (const auto& [id, s] : listed) {
    CachedSnapshot c = describe(id, s);
    c.name = id.Hex();
    out.push_back(std::move(c));
  }
  return out;
}

// How `site` is opened for listing: no lock, no index (doc/status.md, "No lock").
Result<OpenOptions> ListingOpenOptions(const plan::Site& site, const StatusOptions& options,
                                       const Context& ctx) {
  LB_ASSIGN_OR_RETURN(OpenOptions open, SiteOpenOptions(site, ctx));
  open.lock = std::nullopt;
  open.load_index = false;
  open.context = ctx;
  if (options.decorate_backend) {
    const std::string name = site.name;
    auto decorate = options.decorate_backend;
    open.decorate_backend = [name, decorate](std::unique_ptr<Backend> b) {
      return decorate(name, std::move(b));
    };
  }
  return open;
}

std::string ImmutableWarning() {
  return "the plan says immutable: true, but the repository is neither append-only nor "
         "object-locked";
}

// The scan answered by the cache alone, without the key (runlog/cache.h, ListCachedWithoutKey):
// false when the cache cannot answer (the caller opens the repository); an error when the site
// cannot be read.
Result<bool> ScanFromCache(const plan::Site& site, const StatusOptions& options,
                           const Context& ctx, StatusCache& cache, const RunRecordFilter& filter,
                           SiteScan* scan) {
  LB_ASSIGN_OR_RETURN(OpenOptions open, ListingOpenOptions(site, options, ctx));
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenRepositoryBackend(open));
  LB_ASSIGN_OR_RETURN(std::optional<KeylessListing> listing,
                      ListCachedWithoutKey(*backend, cache, filter, ctx));
  if (!listing) return false;
  scan->snapshots = std::move(listing->snapshots);
  scan->records = std::move(listing->runs.records);
  if (site.immutable && !listing->config.append_only &&
      !backend->Hints().object_lock.has_value()) {
    scan->warnings.push_back(ImmutableWarning());
  }
  return true;
}

// Opens `site` and lists it, or lists `opened` (the caller's repository) when set.
SiteScan ScanSite(const plan::Site& site, const StatusOptions& options, const Context& ctx,
                  const std::vector<std::string>& services, Repository* opened) {
  SiteScan scan;
  const int64_t start = ctx.clock().MonotonicNs();
  auto fail = [&](const Status& st) {
    scan.reachable = false;
    scan.error = st.ToString();
    scan.snapshots.clear();
    scan.records.clear();
  };
  [&] {
    std::unique_ptr<StatusCache> cache;
    if (!options.cache_path.empty()) {
      Result<std::unique_ptr<StatusCache>> c = StatusCache::Open(options.cache_path);
      if (c.ok()) {
        cache = std::move(*c);
      } else {
        scan.warnings.push_back("the status cache cannot be used (" + c.status().ToString() +
                                "): every object is read");
      }
    }
    RunRecordFilter filter;
    filter.services = services;
    filter.sites = {site.name};
    if (cache != nullptr && opened == nullptr) {
      Result<bool> answered = ScanFromCache(site, options, ctx, *cache, filter, &scan);
      if (!answered.ok()) return fail(answered.status());
      if (*answered) {
        scan.reachable = true;
        return;
      }
    }

    std::unique_ptr<Repository> owned;
    if (opened == nullptr) {
      Result<OpenOptions> open = ListingOpenOptions(site, options, ctx);
      if (!open.ok()) return fail(open.status());
      Result<std::unique_ptr<Repository>> repo = OpenRepositoryUnlocked(*open);
      if (!repo.ok()) return fail(repo.status());
      owned = std::move(*repo);
      opened = owned.get();
    }
    Repository& r = *opened;
    std::vector<DamagedSnapshot> damaged;
    Result<std::vector<CachedSnapshot>> snaps = Status::Internal("not listed");
    for (int attempt = 1; attempt <= kListingAttempts; ++attempt) {
      damaged.clear();
      snaps = ListSnapshotsOnce(r, cache.get(), ctx, &damaged);
      if (snaps.ok() || !snaps.status().IsNotFound()) break;
    }
    if (!snaps.ok()) return fail(snaps.status());
    for (const DamagedSnapshot& d : damaged) scan.warnings.push_back(DescribeDamagedSnapshot(d));
    scan.snapshots = std::move(*snaps);

    Result<RunRecordListing> runs = cache ? ListRunRecordsCached(r, *cache, filter, ctx)
                                          : ListRunRecords(r, filter, ctx);
    if (!runs.ok()) return fail(runs.status());
    for (const UnreadableRunObject& u : runs->unreadable) {
      scan.warnings.push_back("run-record object runs/" + u.name + " cannot be read (" +
                              u.status.ToString() + "): its records are left out");
    }
    scan.records = std::move(runs->records);

    if (site.immutable && !r.append_only() && !r.backend().Hints().object_lock.has_value()) {
      scan.warnings.push_back(ImmutableWarning());
    }
    scan.reachable = true;
  }();
  scan.duration_ns = ctx.clock().MonotonicNs() - start;
  return scan;
}

// The threads of the site scans and what they found; shared with threads that may outlive the
// call (abandoned ones).
struct Scans {
  Mutex mu;
  CondVar cv;
  size_t pending GUARDED_BY(mu) = 0;
  std::vector<std::optional<SiteScan>> results GUARDED_BY(mu);
};

std::vector<SiteScan> ScanSites(const std::vector<const plan::Site*>& sites,
                                const StatusOptions& options,
                                const std::vector<std::string>& services) {
  const Context& base = options.context;
  const int64_t deadline = base.clock().MonotonicNs() + options.site_time_limit.count();
  auto shared = std::make_shared<Scans>();
  {
    MutexLock lock(&shared->mu);
    shared->results.resize(sites.size());
    shared->pending = sites.size();
  }
  // The caller's repositories (and the sites it knows are down) are not opened again.
  std::vector<Repository*> opened(sites.size(), nullptr);
  std::vector<std::optional<Status>> known_down(sites.size());
  if (options.opened_site) {
    for (size_t i = 0; i < sites.size(); ++i) {
      Result<Repository*> r = options.opened_site(sites[i]->name);
      if (r.ok()) {
        opened[i] = *r;
      } else {
        known_down[i] = r.status();
      }
    }
  }
  std::vector<std::thread> threads(sites.size());
  for (size_t i = 0; i < sites.size(); ++i) {
    if (opened[i] != nullptr || known_down[i]) continue;  // below, on this thread
    // The thread owns copies of everything it reads (it may be abandoned).
    auto job = [shared, i, site = *sites[i], options, services, deadline] {
      const Context ctx = options.context.WithDeadline(deadline);
      SiteScan scan = ScanSite(site, options, ctx, services, nullptr);
      MutexLock lock(&shared->mu);
      shared->results[i] = std::move(scan);
      --shared->pending;
      shared->cv.NotifyAll();
    };
    try {
      threads[i] = std::thread(job);
    } catch (...) {
      job();  // no thread could be started: scan here (still bounded by the deadline)
    }
  }
  for (size_t i = 0; i < sites.size(); ++i) {
    if (opened[i] == nullptr && !known_down[i]) continue;
    SiteScan scan;
    if (known_down[i]) {
      scan.error = known_down[i]->ToString();
    } else {
      scan = ScanSite(*sites[i], options, base.WithDeadline(deadline), services, opened[i]);
    }
    MutexLock lock(&shared->mu);
    shared->results[i] = std::move(scan);
    --shared->pending;
  }
  // Wait for every scan, at most until the deadline plus the grace, in real time (a site whose
  // call ignores the deadline must not hold status; doc/status.md, "Bounded time").
  const auto hard_stop = std::chrono::steady_clock::now() + options.site_time_limit + kAbandonGrace;
  std::vector<SiteScan> out(sites.size());
  std::vector<bool> abandoned(sites.size(), false);
  {
    MutexLock lock(&shared->mu);
    while (shared->pending > 0) {
      const auto left = hard_stop - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds(0) || base.cancelled()) break;
      shared->cv.WaitFor(&shared->mu, std::min<std::chrono::nanoseconds>(
                                          left, std::chrono::milliseconds(50)));
    }
    for (size_t i = 0; i < sites.size(); ++i) {
      if (shared->results[i]) {
        out[i] = std::move(*shared->results[i]);
        continue;
      }
      abandoned[i] = true;
      out[i].reachable = false;
      out[i].error = base.cancelled()
                         ? std::string("interrupted")
                         : "no answer within " +
                               plan::FormatPlanDuration(std::chrono::ceil<std::chrono::seconds>(
                                   options.site_time_limit)) +
                               " (given up; a call ignored its deadline)";
      out[i].duration_ns = options.site_time_limit.count();
    }
  }
  for (size_t i = 0; i < sites.size(); ++i) {
    if (!threads[i].joinable()) continue;
    // A finished scan's thread has only its return left: join it. One still scanning finishes
    // on its own; it owns what it uses.
    if (abandoned[i]) {
      threads[i].detach();
    } else {
      threads[i].join();
    }
  }
  return out;
}

// The last run among `records` (one service at one site, or all sites): the records of the
// newest run_id by start.
std::optional<LastRun> LastRunOf(const std::vector<const RunRecord*>& records) {
  if (records.empty()) return std::nullopt;
  std::map<std::string, int64_t> run_start;
  for (const RunRecord* r : records) {
    auto [it, inserted] = run_start.emplace(r->run_id, r->start_ns);
    if (!inserted) it->second = std::min(it->second, r->start_ns);
  }
  std::string newest;
  int64_t newest_start = 0;
  for (const auto& [id, start] : run_start) {
    if (newest.empty() || start > newest_start || (start == newest_start && id > newest)) {
      newest = id;
      newest_start = start;
    }
  }
  LastRun run;
  run.run_id = newest;
  run.start_ns = newest_start;
  bool failed = false, incomplete = false, all_skipped = true;
  for (const RunRecord* r : records) {
    if (r->run_id != newest) continue;
    ++run.records;
    run.end_ns = std::max(run.end_ns, r->end_ns);
    failed |= r->result == RunResult::kFailed;
    incomplete |= r->result == RunResult::kIncomplete;
    all_skipped &= r->result == RunResult::kSkipped;
    if (run.error.empty() && !r->error.empty() &&
        (r->result == RunResult::kFailed || r->result == RunResult::kIncomplete)) {
      run.error = r->error;
    }
  }
  run.result = failed       ? RunResult::kFailed
               : incomplete ? RunResult::kIncomplete
               : all_skipped ? RunResult::kSkipped
                             : RunResult::kOk;
  return run;
}

void CountCopies(const plan::Plan& plan, ServiceStatus* s) {
  CopiesStatus& c = s->copies;
  std::set<std::string> media;
  int fresh_sites = 0;
  for (const ServiceSiteStatus& ss : s->sites) {
    if (!RpoHolds(ss.state)) continue;
    const plan::Site* site = plan.FindSite(ss.site);
    if (site == nullptr) continue;
    ++fresh_sites;
    media.insert(site->media);
    c.offsite |= site->role == plan::SiteRole::kOffsite;
  }
  c.copies = 1 + fresh_sites;
  c.media.assign(media.begin(), media.end());
  if (c.copies < 3) {
    c.warnings.push_back(s->name + ": " + std::to_string(c.copies) +
                         (c.copies == 1 ? " copy" : " copies") + " (the live data and " +
                         std::to_string(fresh_sites) + " site" + (fresh_sites == 1 ? "" : "s") +
                         " with a fresh snapshot), fewer than the 3 of the 3-2-1 rule");
  }
  if (c.media.size() < 2) {
    c.warnings.push_back(s->name + ": fresh copies on " + std::to_string(c.media.size()) +
                         " kind" + (c.media.size() == 1 ? "" : "s") +
                         " of media, fewer than the 2 of the 3-2-1 rule");
  }
  if (!c.offsite) {
    c.warnings.push_back(s->name + ": no offsite site holds a fresh snapshot (3-2-1 rule)");
  }
}

}  // namespace

Result<PlanStatus> ComputePlanStatus(const plan::Plan& plan, const StatusOptions& options) {
  const Context& ctx = options.context;
  const int64_t started = ctx.clock().MonotonicNs();
  PlanStatus st;
  st.now_ns = options.now_ns != 0 ? options.now_ns : ctx.clock().WallNs();

  // The services and the sites they use, in plan order.
  std::vector<const plan::Service*> services;
  for (const std::string& name : options.services) {
    if (plan.FindService(name) == nullptr) {
      std::string known;
      for (const plan::Service& s : plan.services) known += (known.empty() ? "" : ", ") + s.name;
      return Status::InvalidArgument("no service named \"" + name + "\" in the plan (services: " +
                                     known + ")");
    }
  }
  std::vector<std::string> service_names;
  for (const plan::Service& s : plan.services) {
    if (!options.services.empty() &&
        std::find(options.services.begin(), options.services.end(), s.name) ==
            options.services.end()) {
      continue;
    }
    services.push_back(&s);
    service_names.push_back(s.name);
  }
  std::vector<const plan::Site*> sites;
  for (const plan::Site& site : plan.sites) {
    bool used = false;
    int tier = 3;
    for (const plan::Service* s : services) {
      for (const plan::NameRef& ref : s->sites) {
        if (ref.name == site.name) {
          used = true;
          tier = std::min(tier, s->tier);
        }
      }
    }
    if (!used) continue;
    sites.push_back(&site);
    SiteStatus ss;
    ss.name = site.name;
    ss.role = std::string(plan::SiteRoleName(site.role));
    ss.media = site.media;
    ss.most_critical_tier = tier;
    st.sites.push_back(std::move(ss));
  }

  std::vector<SiteScan> scans = ScanSites(sites, options, service_names);
  if (ctx.cancelled()) return Status::Cancelled("status interrupted");
  std::map<std::string, const SiteScan*> scan_of;
  for (size_t i = 0; i < sites.size(); ++i) {
    SiteStatus& ss = st.sites[i];
    const SiteScan& scan = scans[i];
    ss.reachable = scan.reachable;
    ss.error = scan.error;
    ss.snapshots = scan.snapshots.size();
    ss.run_records = scan.records.size();
    ss.duration_ns = scan.duration_ns;
    ss.warnings = scan.warnings;
    scan_of[ss.name] = &scan;
    for (const std::string& w : ss.warnings) st.warnings.push_back("site " + ss.name + ": " + w);
  }

  for (const plan::Service* svc : services) {
    ServiceStatus s;
    s.name = svc->name;
    s.tier = svc->tier;
    s.rpo = svc->rpo;
    std::vector<const RunRecord*> all_records;
    for (const plan::NameRef& ref : svc->sites) {
      ServiceSiteStatus ss;
      ss.site = ref.name;
      auto it = scan_of.find(ref.name);
      const SiteScan* scan = it == scan_of.end() ? nullptr : it->second;
      for (const plan::Source& src : svc->sources) {
        SourceStatus so;
        so.name = src.name;
        so.kind = std::string(plan::SourceKindName(src.kind));
        ss.sources.push_back(std::move(so));
      }
      if (scan == nullptr || !scan->reachable) {
        ss.state = RpoState::kUnreachable;
        ss.error = scan == nullptr ? "the site is not in the plan" : scan->error;
        for (SourceStatus& so : ss.sources) so.state = RpoState::kUnreachable;
      } else {
        for (const CachedSnapshot& c : scan->snapshots) {
          if (c.incomplete || c.service != svc->name) continue;
          for (SourceStatus& so : ss.sources) {
            if (so.name != c.source) continue;
            if (!so.newest || c.time_ns > so.newest->time_ns ||
                (c.time_ns == so.newest->time_ns && c.name > so.newest->id)) {
              so.newest = SnapshotRef{c.name, c.time_ns, std::max<int64_t>(0, st.now_ns - c.time_ns)};
            }
          }
        }
        bool all_found = !ss.sources.empty();
        for (SourceStatus& so : ss.sources) {
          if (!so.newest) {
            so.state = RpoState::kMissing;
            all_found = false;
            continue;
          }
          so.state = RpoStateForAge(so.newest->age_ns, svc->rpo);
          if (!ss.newest || so.newest->time_ns < ss.newest->time_ns) ss.newest = so.newest;
        }
        if (!all_found) {
          ss.state = RpoState::kMissing;
        } else {
          ss.state = RpoStateForAge(ss.newest->age_ns, svc->rpo);
        }
        std::vector<const RunRecord*> records;
        for (const RunRecord& r : scan->records) {
          if (r.service == svc->name && r.site == ref.name) {
            records.push_back(&r);
            all_records.push_back(&r);
          }
        }
        ss.last_run = LastRunOf(records);
      }
      s.holds &= RpoHolds(ss.state);
      s.sites.push_back(std::move(ss));
    }
    s.last_run = LastRunOf(all_records);

    // The next run: the schedule after the last start, or now.
    Result<plan::CronSchedule> schedule =
        plan::CronSchedule::Parse(svc->schedule.cron, svc->schedule.timezone);
    if (!schedule.ok()) {
      st.warnings.push_back(s.name + ": schedule \"" + svc->schedule.cron +
                            "\": " + schedule.status().ToString());
    } else if (!s.last_run) {
      s.next_run_ns = st.now_ns;
    } else {
      const plan::CronSchedule::TimePoint last{
          std::chrono::seconds(s.last_run->start_ns / 1'000'000'000)};
      std::optional<plan::CronSchedule::TimePoint> next = schedule->NextAfter(last);
      if (next) {
        s.next_run_ns = static_cast<int64_t>(next->time_since_epoch().count()) * 1'000'000'000;
      } else {
        st.warnings.push_back(s.name + ": schedule \"" + svc->schedule.cron +
                              "\" does not fire again");
      }
    }
    s.due = s.next_run_ns && *s.next_run_ns <= st.now_ns;

    CountCopies(plan, &s);
    for (const std::string& w : s.copies.warnings) st.warnings.push_back(w);
    st.holds &= s.holds;
    st.services.push_back(std::move(s));
  }
  st.duration_ns = ctx.clock().MonotonicNs() - started;
  return st;
}

}  // namespace lifeboat::dr
