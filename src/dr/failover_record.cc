// The incident records of a failover or failback (doc/failover.md, "Incident records"): the
// record of the incident's local state at each state change, redacted, written to the recovery
// site and every other site of the incident's services (runlog/incident_records.h).
#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

#include "dr/failover_internal.h"
#include "dr/run.h"
#include "dr/sites.h"
#include "runlog/incident_records.h"
#include "util/mutex.h"

namespace lifeboat::dr::internal {

namespace {

lifeboat::IncidentState RecordState(const std::string& state) {
  if (state == kIncidentOpen) return lifeboat::IncidentState::kOpen;
  if (state == kIncidentCommitted) return lifeboat::IncidentState::kCommitted;
  if (state == kIncidentRolledBack) return lifeboat::IncidentState::kRolledBack;
  if (state == kIncidentClosed) return lifeboat::IncidentState::kClosed;
  return lifeboat::IncidentState::kFailed;
}

DrillStepKind StepKind(const std::string& phase) {
  if (phase == "restore") return DrillStepKind::kRestore;
  if (phase == "recover") return DrillStepKind::kRecover;
  if (phase == "switch") return DrillStepKind::kSwitch;
  return DrillStepKind::kVerify;
}

// The sites a record goes to: the recovery site first, then every site of the services.
std::vector<std::string> RecordSites(const plan::Plan& plan, const dr::IncidentState& inc) {
  std::vector<std::string> sites = {inc.to_site};
  for (const dr::IncidentService& s : inc.services) {
    if (const plan::Service* svc = plan.FindService(s.service)) {
      for (const plan::NameRef& n : svc->sites) {
        if (std::find(sites.begin(), sites.end(), n.name) == sites.end()) sites.push_back(n.name);
      }
    }
  }
  return sites;
}

// The postgres passwords of the incident's services: a step's output may show one.
void AddServiceSecrets(const plan::Plan& plan, const dr::IncidentState& inc, const Context& ctx,
                       std::vector<std::string>* secrets) {
  for (const dr::IncidentService& s : inc.services) {
    const plan::Service* svc = plan.FindService(s.service);
    if (svc == nullptr) continue;
    for (const plan::Source& src : svc->sources) {
      if (src.kind != plan::SourceKind::kPostgres || !src.postgres.password) continue;
      Result<std::string> value = ResolveSecret(
          *src.postgres.password, "service " + svc->name + ", source " + src.name, ctx);
      if (value.ok() && !value->empty()) secrets->push_back(*value);
    }
  }
}

}  // namespace

IncidentRecord IncidentRecordOf(const dr::IncidentState& inc, uint64_t sequence,
                                const std::vector<std::string>& secrets) {
  auto redact = [&](const std::string& text) { return RedactSecrets(text, secrets); };
  IncidentRecord r;
  r.id = inc.id;
  r.sequence = sequence;
  r.kind = inc.kind == "failback" ? IncidentKind::kFailback : IncidentKind::kFailover;
  r.state = RecordState(inc.state);
  r.ends_incident = inc.ends_incident;
  r.declared_by = inc.declared_by;
  r.reason = redact(inc.reason);
  r.fencing_token = inc.token;
  r.to_site = inc.to_site;
  r.from_site = inc.services.empty() ? inc.to_site : inc.services.front().from_site;
  r.host = inc.host;
  r.version = inc.version;
  r.start_ns = inc.start_ns;
  r.end_ns = inc.end_ns;
  r.failure_ns = inc.failure_ns;
  for (const dr::IncidentService& s : inc.services) {
    lifeboat::IncidentService x;
    x.service = s.service;
    x.tier = s.tier;
    x.wave = s.wave;
    // The local state's "pending" (not recovered yet) is a record's "running".
    x.result = s.result == "pending" || s.result.empty() ? "running" : s.result;
    x.error = redact(s.error);
    x.snapshots = s.snapshots;
    x.snapshot_time_ns = s.snapshot_time_ns;
    x.rto_seconds = s.rto_seconds;
    x.rto_target_seconds = s.rto_target_seconds;
    x.data_loss_seconds = s.data_loss_seconds;
    x.rpo_target_seconds = s.rpo_target_seconds;
    for (const std::string& n : s.notes) x.notes.push_back(redact(n));
    for (const dr::IncidentStep& st : s.steps) {
      DrillStep d;
      d.name = st.name.empty() ? st.phase : st.name;
      d.kind = StepKind(st.phase);
      d.start_ns = st.start_ns;
      d.end_ns = st.end_ns;
      d.result = st.state == "ok"       ? DrillResult::kPassed
                 : st.state == "failed" ? DrillResult::kFailed
                                        : DrillResult::kSkipped;
      d.output = redact(st.output);
      x.steps.push_back(std::move(d));
    }
    r.services.push_back(std::move(x));
  }
  for (const dr::IncidentEvent& e : inc.timeline) {
    lifeboat::IncidentEvent ev;
    ev.time_ns = e.time_ns;
    ev.what = e.what.empty() ? "event" : redact(e.what);
    ev.service = e.service;
    ev.site = e.site;
    r.timeline.push_back(std::move(ev));
  }
  return r;
}

const Repository* IncidentSites::Find(const std::string& site) const {
  for (const auto& [name, opened] : opened) {
    if (name == site) return opened.ok() ? opened->repo.get() : nullptr;
  }
  return nullptr;
}

std::map<std::string, std::string> IncidentSites::Unavailable() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, site] : opened) {
    if (!site.ok()) out[name] = site.status().message();
  }
  return out;
}

namespace {

// The openings of OpenIncidentSites: each thread writes its own slot of `results` and `secrets`,
// then marks it done; the waiting thread gives slots up.
struct Openings {
  explicit Openings(size_t n) : results(n), secrets(n), done(n, false), given_up(n, false) {}
  std::vector<std::optional<Result<RecordSite>>> results;  // read after the threads joined
  std::vector<std::vector<std::string>> secrets;           // likewise
  Mutex mu;
  CondVar changed;
  std::vector<bool> done GUARDED_BY(mu);
  std::vector<bool> given_up GUARDED_BY(mu);
};

}  // namespace

void OpenIncidentSites(const plan::Plan& plan, const dr::IncidentState& inc, const Context& ctx,
                       IncidentSites* sites) {
  std::vector<std::string> names;
  std::vector<std::atomic<bool>*> flags;
  for (const std::string& name : RecordSites(plan, inc)) {
    bool held = false;
    for (const auto& o : sites->opened) held = held || o.first == name;
    if (held) continue;
    names.push_back(name);
    sites->flags.push_back(std::make_unique<std::atomic<bool>>(false));
    flags.push_back(sites->flags.back().get());
  }
  Openings op(names.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      const plan::Site* site = plan.FindSite(names[i]);
      op.results[i].emplace(
          site == nullptr
              ? Result<RecordSite>(Status::NotFound("the plan has no site " + names[i]))
              : OpenRecordSite(*site, Context().WithClock(ctx.clock()).WithCancel(flags[i]),
                               &op.secrets[i]));
      MutexLock l(&op.mu);
      op.done[i] = true;
      op.changed.NotifyAll();
    });
  }
  // The recovery site is waited for; the others until the limit (real time: it is the network's)
  // or Ctrl-C, then their openings are cancelled.
  const auto limit = std::chrono::steady_clock::now() + sites->other_site_limit;
  {
    MutexLock l(&op.mu);
    while (true) {
      const bool out_of_time = ctx.cancelled() || std::chrono::steady_clock::now() >= limit;
      bool waiting = false;
      for (size_t i = 0; i < names.size(); ++i) {
        if (op.done[i] || op.given_up[i]) continue;
        if (names[i] == inc.to_site || !out_of_time) {
          waiting = true;
        } else {
          op.given_up[i] = true;
          flags[i]->store(true);
        }
      }
      if (!waiting) break;
      op.changed.WaitFor(&op.mu, std::chrono::milliseconds(50));
    }
  }
  for (std::thread& t : threads) t.join();  // a cancelled opening ends at its next check
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(sites->other_site_limit);
  for (size_t i = 0; i < names.size(); ++i) {
    sites->secrets.insert(sites->secrets.end(), op.secrets[i].begin(), op.secrets[i].end());
    bool given_up = false;
    {
      MutexLock l(&op.mu);
      given_up = op.given_up[i];
    }
    Result<RecordSite>& r = *op.results[i];
    if (!given_up) {
      sites->opened.emplace_back(names[i], std::move(r));
      continue;
    }
    // Even when it opened in the end: its backend's context is cancelled for good.
    sites->opened.emplace_back(
        names[i], Status::DeadlineExceeded(
                      "site " + names[i] + " did not open within " + std::to_string(secs.count()) +
                      " s" + (r.ok() ? std::string() : " (" + r.status().message() + ")") +
                      "; a site lost in the disaster is not waited for"));
  }
}

void WriteFailoverRecords(const plan::Plan& plan, dr::IncidentState* inc, const Context& ctx,
                          std::vector<std::string>* warnings, IncidentSites* sites) {
  // Written also after Ctrl-C (what happened is evidence), on a context that is not cancelled.
  const Context write_ctx = Context().WithClock(ctx.clock());
  ++inc->record_sequence;
  // Every site opened first: each secret resolved on the way is known before the record is made.
  IncidentSites own;
  IncidentSites* s = sites != nullptr ? sites : &own;
  OpenIncidentSites(plan, *inc, write_ctx, s);
  std::vector<std::string> secrets = s->secrets;
  AddServiceSecrets(plan, *inc, write_ctx, &secrets);
  const IncidentRecord record = IncidentRecordOf(*inc, inc->record_sequence, secrets);
  for (const std::string& name : RecordSites(plan, *inc)) {
    Result<Id> id = Status::NotFound("site " + name + " was not opened");
    for (auto& [opened_name, site] : s->opened) {
      if (opened_name != name) continue;
      id = site.ok() ? WriteIncidentRecord(*site->repo, record, write_ctx)
                     : Result<Id>(site.status());
    }
    if (!id.ok()) {
      warnings->push_back("the " + inc->kind + " record (sequence " +
                          std::to_string(record.sequence) + ", " + inc->state +
                          ") could not be stored at site " + name + ": " +
                          RedactSecrets(id.status().message(), secrets) +
                          " (the other sites hold it; it is not written there later)");
    }
  }
}

std::vector<dr::IncidentStep> IncidentSteps(const std::vector<recover::StepRecord>& steps) {
  std::vector<dr::IncidentStep> out;
  for (const recover::StepRecord& st : steps) {
    out.push_back({st.label.empty() ? st.name : st.label, st.phase,
                   std::string(recover::StepStateName(st.state)), st.start_ns, st.end_ns,
                   st.output});
  }
  return out;
}

}  // namespace lifeboat::dr::internal
