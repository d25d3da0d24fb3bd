// RunPlan: the order of services, the run's shared state (sites resolved once, secrets for
// redaction), the records written at the end. The work on one service is run_service.cc's, the
// notifications run_notify.cc's.
#include "dr/run.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <utility>

#include "dr/run_internal.h"
#include "dr/sites.h"
#include "engine/password.h"
#include "notify/event.h"

#ifndef LIFEBOAT_DR_VERSION
#define LIFEBOAT_DR_VERSION "0.1.0"
#endif

namespace lifeboat::dr {

std::string_view ServiceStateName(ServiceState s) {
  switch (s) {
    case ServiceState::kNotDue: return "not_due";
    case ServiceState::kLocked: return "locked";
    case ServiceState::kRan: return "ran";
    case ServiceState::kDryRun: return "dry_run";
    case ServiceState::kCancelled: return "cancelled";
    case ServiceState::kSkipped:
      return "skipped";
  }
  return "unknown";
}

bool ServiceReport::failed() const {
  if (!hook_errors.empty()) return true;
  for (const SiteOutcome& o : outcomes) {
    if (o.result == RunResult::kFailed || o.result == RunResult::kIncomplete) return true;
  }
  return false;
}

int RunReport::ExitCode() const {
  if (cancelled || (drill && drill->report.cancelled)) return 130;
  if (records_lost > 0) return 3;
  if (!drill_error.empty() || (drill && drill->ExitCode() != 0)) return 3;
  for (const ServiceReport& s : services) {
    if (s.failed() || s.state == ServiceState::kSkipped) return 3;
  }
  return 0;
}

std::string RedactSecrets(std::string text, const std::vector<std::string>& secrets) {
  std::vector<std::string> sorted;
  for (const std::string& s : secrets) {
    if (!s.empty()) sorted.push_back(s);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& s : sorted) {
    size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), "***");
      pos += 3;
    }
  }
  return text;
}

std::vector<size_t> ServiceOrder(const plan::Plan& plan) {
  // A service's effective tier is the most critical of its own and those of the services that
  // depend on it (directly or not): a tier-3 service that a tier-0 one needs moves up with it.
  // Then repeatedly take the service of lowest effective tier (ties: plan order) whose
  // dependencies are all taken. validate refuses cycles; one left anyway is broken in plan order.
  const size_t n = plan.services.size();
  auto index_of = [&](const std::string& name) -> std::optional<size_t> {
    for (size_t j = 0; j < n; ++j) {
      if (plan.services[j].name == name) return j;
    }
    return std::nullopt;
  };
  std::vector<int> tier(n);
  for (size_t i = 0; i < n; ++i) tier[i] = plan.services[i].tier;
  for (size_t round = 0; round < n; ++round) {  // relax along depends_on until stable
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      for (const plan::NameRef& d : plan.services[i].depends_on) {
        std::optional<size_t> j = index_of(d.name);
        if (j && tier[*j] > tier[i]) {
          tier[*j] = tier[i];
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  std::vector<bool> taken(n, false);
  std::vector<size_t> order;
  auto ready = [&](size_t i) {
    for (const plan::NameRef& d : plan.services[i].depends_on) {
      std::optional<size_t> j = index_of(d.name);
      if (j && !taken[*j]) return false;
    }
    return true;
  };
  while (order.size() < n) {
    std::optional<size_t> best;
    for (size_t i = 0; i < n; ++i) {
      if (taken[i] || !ready(i)) continue;
      if (!best || tier[i] < tier[*best]) best = i;
    }
    if (!best) {  // a cycle: take the first remaining one
      for (size_t i = 0; i < n && !best; ++i) {
        if (!taken[i]) best = i;
      }
    }
    taken[*best] = true;
    order.push_back(*best);
  }
  return order;
}

namespace internal {

std::string ProgramVersion() { return std::string("lifeboat ") + LIFEBOAT_DR_VERSION; }

RunState::RunState(const plan::Plan& plan, const RunOptions& options)
    : plan_(plan), options_(options), secret_variables_(PlanSecretVariables(plan)) {}

void RunState::AddSecret(const std::string& value) {
  if (value.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) == secrets_.end()) {
    secrets_.push_back(value);
  }
}

std::string RunState::Redact(const std::string& text) const {
  return RedactSecrets(text, secrets_);
}

Result<std::string> RunState::Resolve(const plan::SecretRef& secret, const std::string& owner) {
  Result<std::string> value = ResolveSecret(secret, owner, ctx());
  if (value.ok()) AddSecret(*value);
  return value;
}

SiteHandle& RunState::Site(const std::string& name) {
  SiteHandle& h = sites_[name];
  if (h.tried) return h;
  h.tried = true;
  h.site = plan_.FindSite(name);
  if (h.site == nullptr) {
    h.status = Status::InvalidArgument("no site named " + name + " in the plan");
    return h;
  }
  std::vector<std::string> resolved;
  KeyProofs proofs;
  proofs.cache = cache();
  for (const auto& entry : sites_) proofs.opened.push_back(entry.second.repo.get());
  Result<RecordSite> site = OpenRecordSite(*h.site, ctx(), &resolved, &proofs);
  for (const std::string& secret : resolved) AddSecret(secret);
  if (!site.ok()) {
    h.status = site.status();
    return h;
  }
  h.open = std::move(site->open);
  h.repo = std::move(site->repo);
  return h;
}

Result<OpenOptions> RunState::JobOpenOptions(const std::string& name,
                                             std::optional<LockKind> lock) {
  SiteHandle& h = Site(name);
  if (!h.status.ok()) return h.status;
  OpenOptions o = h.open;
  o.lock = lock;
  o.load_index = true;
  o.reuse_key_of = h.repo.get();  // opened once per run: no second key derivation
  return o;
}

StatusCache* RunState::cache() {
  if (!cache_tried_) {
    cache_tried_ = true;
    if (!options_.cache_path.empty()) {
      Result<std::unique_ptr<StatusCache>> c = StatusCache::Open(options_.cache_path);
      if (c.ok()) {
        cache_ = std::move(*c);
      } else {
        warnings.push_back("status cache " + options_.cache_path +
                           " not used: " + c.status().message());
      }
    }
  }
  return cache_.get();
}

namespace {

RunRecord MakeRecord(const RunState& state, const ServiceReport& svc, const SiteOutcome& o) {
  RunRecord r;
  r.id = NewRunRecordId();
  r.run_id = state.run_id;
  r.service = svc.name;
  r.site = o.site;
  if (!o.source.empty()) r.source = RunSource{o.source, o.source_kind};
  r.start_ns = svc.start_ns;
  r.end_ns = std::max(svc.end_ns, svc.start_ns);
  r.snapshot = o.snapshot;
  r.bytes_added = o.bytes_added;
  r.bytes_sent = o.bytes_sent;
  r.result = o.result;
  r.error = o.error;
  r.host = state.host;
  r.program_version = ProgramVersion();
  return r;
}

// Writes the records (doc/run.md, "What is recorded"): each site of the run gets its own
// records, plus those of the sites that are down.
void WriteRecords(RunState& state, RunReport* report) {
  std::vector<std::string> order;  // sites in plan order
  std::map<std::string, std::vector<RunRecord>> by_site;
  for (const ServiceReport& svc : report->services) {
    for (const SiteOutcome& o : svc.outcomes) by_site[o.site].push_back(MakeRecord(state, svc, o));
  }
  if (by_site.empty()) return;
  for (const plan::Site& s : state.plan().sites) {
    if (by_site.count(s.name)) order.push_back(s.name);
  }
  // Written also after Ctrl-C: what was done is recorded (doc/run.md).
  const Context records_ctx = Context().WithClock(state.ctx().clock());
  std::vector<std::string> up, down;
  for (const std::string& site : order) (state.Site(site).status.ok() ? up : down).push_back(site);

  auto write = [&](const std::string& site, const std::vector<RunRecord>& records,
                   const std::vector<std::string>& carried) {
    RecordWrite w;
    w.site = site;
    w.records = records.size();
    w.carried_for = carried;
    Result<Id> id = WriteRunRecords(*state.Site(site).repo, records, records_ctx);
    if (id.ok()) {
      w.object = *id;
    } else {
      w.error = state.Redact(id.status().message());
    }
    report->record_writes.push_back(w);
    return id.ok();
  };

  std::vector<RunRecord> carried;
  for (const std::string& d : down) {
    carried.insert(carried.end(), by_site[d].begin(), by_site[d].end());
  }
  std::vector<std::string> written, failed;
  for (const std::string& site : up) {
    std::vector<RunRecord> records = by_site[site];
    records.insert(records.end(), carried.begin(), carried.end());
    (write(site, records, down) ? written : failed).push_back(site);
  }
  if (written.empty()) {
    size_t all = 0;
    for (const auto& [site, records] : by_site) all += records.size();
    report->records_lost = all;
    return;
  }
  if (!failed.empty()) {  // written to a site that was up when opened: carry them too
    std::vector<RunRecord> extra;
    for (const std::string& f : failed) {
      extra.insert(extra.end(), by_site[f].begin(), by_site[f].end());
    }
    for (const std::string& site : written) write(site, extra, failed);
  }
  for (const std::string& site : written) {
    const SiteHandle& h = state.Site(site);
    if (h.site->immutable || h.repo->config().append_only) continue;
    Result<CompactRunRecordsResult> c = CompactRunRecords(*h.repo, records_ctx);
    if (!c.ok() && c.status().code() != StatusCode::kFailedPrecondition) {
      state.warnings.push_back("site " + site + ": run records not compacted: " +
                               state.Redact(c.status().message()));
    }
  }
}

}  // namespace
}  // namespace internal

Result<RunReport> RunPlan(const plan::Plan& plan, const RunOptions& options) {
  for (const std::string& name : options.services) {
    if (plan.FindService(name) == nullptr) {
      std::string names;
      for (const plan::Service& s : plan.services) names += (names.empty() ? "" : ", ") + s.name;
      return Status::InvalidArgument("no service named \"" + name + "\" in the plan " +
                                     plan.file + " (its services: " + names + ")");
    }
  }
  if (options.state_dir.empty() && !options.dry_run) {
    return Status::InvalidArgument("RunPlan needs a state directory for the run locks");
  }
  internal::RunState state(plan, options);
  state.run_id = NewRunId();
  state.host = options.host.empty() ? notify::HostName() : options.host;

  RunReport report;
  report.run_id = state.run_id;
  report.dry_run = options.dry_run;
  report.start_ns = state.WallNs();
  bool started_notified = false;
  for (size_t index : ServiceOrder(plan)) {
    const plan::Service& svc = plan.services[index];
    if (!options.services.empty() &&
        std::find(options.services.begin(), options.services.end(), svc.name) ==
            options.services.end()) {
      continue;
    }
    ServiceReport sr;
    sr.name = svc.name;
    sr.tier = svc.tier;
    if (options.context.cancelled()) {
      sr.state = ServiceState::kCancelled;
      report.cancelled = true;
      report.services.push_back(std::move(sr));
      continue;
    }
    if (auto skip = options.skip.find(svc.name); skip != options.skip.end()) {
      internal::SkipService(state, svc, skip->second, &sr);
      report.services.push_back(std::move(sr));
      continue;
    }
    if (auto root = options.read_roots.find(svc.name); root != options.read_roots.end()) {
      // The site of that root (a failback's final backup lists the sites as the plan does).
      std::string at;
      for (const plan::NameRef& n : svc.sites) {
        const plan::Site* site = plan.FindSite(n.name);
        if (at.empty() && site != nullptr && site->recovery_root == root->second) at = n.name;
      }
      sr.read_root = root->second;
      sr.read_from = "below " + root->second +
                     (at.empty() ? std::string() : " (active at " + at + " since the failover)");
    }
    if (!internal::IsDue(state, svc, &sr)) {
      sr.state = ServiceState::kNotDue;
      report.services.push_back(std::move(sr));
      continue;
    }
    if (options.dry_run) {
      sr.state = ServiceState::kDryRun;
      internal::DescribeDryRun(state, svc, &sr);
    } else {
      if (!started_notified) {
        started_notified = true;
        internal::NotifyRunStarted(state, &report);
      }
      internal::RunService(state, svc, &sr);
    }
    report.services.push_back(std::move(sr));
  }
  if (options.context.cancelled()) report.cancelled = true;
  report.end_ns = state.WallNs();
  if (!options.dry_run) internal::WriteRecords(state, &report);
  // After the backups (and their records): the drills due, which restore what was just stored.
  internal::RunScheduledDrills(state, &report);
  if (options.context.cancelled()) report.cancelled = true;
  if (!options.dry_run) {
    if (report.cancelled) {
      state.warnings.push_back("interrupted: no notification sent");
    } else {
      internal::NotifyRun(state, &report);
    }
  }
  report.warnings.insert(report.warnings.end(), state.warnings.begin(), state.warnings.end());
  return report;
}

}  // namespace lifeboat::dr
