// The daemon's incident work: a declared failure (service_down, the failover rule of
// failover_rule.h, the failover job), the services the rule held back asked again each round,
// failover.commit_after (commit_watch.h), the dashboard (dashboard_service.h) and the jobs it
// submits.
#include <algorithm>
#include <filesystem>

#include "daemon/daemon.h"
#include "daemon/dashboard_service.h"
#include "daemon/failover_job.h"
#include "dr/incident_state.h"
#include "dr/sites.h"
#include "notify/event.h"

namespace lifeboat::daemon {

namespace {

// The policy's `to`, else the service's second site ("" when it has none).
std::string FailoverTarget(const plan::Service& svc) {
  if (!svc.failover->to.empty()) return svc.failover->to;
  return svc.sites.size() > 1 ? svc.sites[1].name : "";
}

// Whether `svc` depends on `on`, directly or through what it depends on.
bool DependsOn(const plan::Plan& p, const plan::Service& svc, const std::string& on, size_t depth) {
  if (depth > p.services.size()) return false;  // a cycle (the plan refuses one)
  for (const plan::NameRef& d : svc.depends_on) {
    if (d.name == on) return true;
    const plan::Service* next = p.FindService(d.name);
    if (next != nullptr && DependsOn(p, *next, on, depth + 1)) return true;
  }
  return false;
}

}  // namespace

IncidentJobOptions Daemon::JobOptions() const {
  IncidentJobOptions o;
  o.fence = options_.fence;
  o.state_dir = options_.state_dir;
  o.host = options_.host;
  o.notify_retry = options_.notify_retry;
  o.on_line = [this](const std::string& line) { Log(line); };
  return o;
}

FailoverDecision Daemon::Decide(const plan::Service& svc, const std::string& active) {
  std::vector<std::string> sites;
  {
    MutexLock l(&mu_);
    sites = sites_;
  }
  const std::string from = active.empty() && !svc.sites.empty() ? svc.sites.front().name : active;
  if (std::find(sites.begin(), sites.end(), from) != sites.end() || options_.fence == nullptr) {
    return DecideFailover(svc.name, from, sites, std::vector<fence::Member>{});
  }
  return DecideFailover(
      svc.name, from, sites,
      options_.fence->Members(ctx_.WithTimeout(std::chrono::nanoseconds(LoopWaitNs()))));
}

void Daemon::DeclareRound(
    std::shared_ptr<const plan::Plan> p,
    const std::vector<std::pair<const plan::Service*, ServiceHealth>>& declared) {
  // A declared service that another declared one depends on (with the same failover site) is
  // failed over with it, in its waves: dr::PerformFailover selects what a service depends on. A
  // dependency declared in an earlier round has its own failover; the dependent's, declared
  // later, joins that open incident (same site): the dependency, active there already, is not
  // recovered again but reached as a dependency (doc/failover.md, "Joining an open incident").
  std::vector<bool> deferred(declared.size(), false);
  for (size_t i = 0; i < declared.size(); ++i) {
    for (size_t j = 0; j < declared.size(); ++j) {
      if (j != i && FailoverTarget(*declared[j].first) == FailoverTarget(*declared[i].first) &&
          DependsOn(*p, *declared[j].first, declared[i].first->name, 0)) {
        deferred[i] = true;
      }
    }
  }
  std::vector<const plan::Service*> enqueued;
  for (size_t i = 0; i < declared.size(); ++i) {
    if (!deferred[i] && Declare(p, *declared[i].first, declared[i].second, "")) {
      enqueued.push_back(declared[i].first);
    }
  }
  for (size_t i = 0; i < declared.size(); ++i) {
    if (!deferred[i]) continue;
    std::string with;
    for (const plan::Service* e : enqueued) {
      if (DependsOn(*p, *e, declared[i].first->name, 0)) {
        with = e->name;
        break;
      }
    }
    Declare(p, *declared[i].first, declared[i].second, with);
  }
}

bool Daemon::Declare(std::shared_ptr<const plan::Plan> p, const plan::Service& svc,
                     const ServiceHealth& h, const std::string& with) {
  std::string active;
  bool target_ours = false;
  const std::string to = FailoverTarget(svc);
  {
    MutexLock l(&mu_);
    active = schedules_[svc.name].active_site;
    target_ours = !to.empty() && std::find(sites_.begin(), sites_.end(), to) != sites_.end();
  }
  const std::string why = std::to_string(h.consecutive_failures) + " failed health checks of " +
                          svc.name + ": " + h.last_error;
  Log("service " + svc.name + " declared FAILED after " + why);
  std::string no;
  if (!svc.failover->automatic) {
    no = "its failover policy is not automatic (lifeboat failover " + svc.name + " --to SITE)";
  } else if (to.empty()) {
    no = "it has no site to fail over to";
  } else if (!target_ours) {
    no = "its failover site " + to + " is not one of this daemon's sites";
  } else if (active == to) {
    no = "it is active at " + to + " already";
  } else if (!options_.failover) {
    no = "failover is not part of this build";
  }
  FailoverDecision decision;
  if (no.empty() && !with.empty()) {
    decision.fail_over = true;  // in the failover of `with`, which the rule allowed
    decision.why = "with " + with + ", which depends on it";
  } else if (no.empty()) {
    decision = Decide(svc, active);
  }
  std::string outcome;
  if (!no.empty()) {
    outcome = "no automatic failover: " + no;
  } else if (decision.fail_over) {
    outcome = "failing over to " + to + ": " + decision.why;
  } else {
    outcome = "not failing over: " + decision.why;
  }
  SendEvent(*p, plan::Event::kServiceDown, svc.name, svc.tier, active,
            "service " + svc.name + " is down at " + active + ": " + h.last_error + "; " + outcome,
            {{"error", h.last_error},
             {"failures", h.consecutive_failures},
             {"first_failure", notify::FormatRfc3339Utc(h.first_failure_ns)},
             {"automatic", svc.failover->automatic},
             {"failover_to", to},
             {"failing_over", no.empty() && decision.fail_over},
             {"decision", outcome}});
  Log("service " + svc.name + ": " + outcome);
  if (!no.empty()) return false;
  if (!decision.fail_over) {
    MutexLock l(&mu_);
    held_[svc.name] = decision.why;
    return false;
  }
  if (!with.empty()) return true;
  EnqueueFailover(std::move(p), svc, decision.guard, h);
  return true;
}

void Daemon::RecheckHeld(std::shared_ptr<const plan::Plan> p,
                         const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const plan::Service* svc = p->FindService(name);
    if (svc == nullptr || !svc->failover) continue;
    std::string active, before;
    ServiceHealth h;
    {
      MutexLock l(&mu_);
      active = schedules_[name].active_site;
      auto it = held_.find(name);
      if (it == held_.end()) continue;
      before = it->second;
      h = health_[name];
    }
    if (active == FailoverTarget(*svc)) {  // moved meanwhile (by a person, another daemon)
      MutexLock l(&mu_);
      held_.erase(name);
      continue;
    }
    const FailoverDecision d = Decide(*svc, active);
    if (d.fail_over) {
      Log("service " + name + ": failing over to " + FailoverTarget(*svc) + " now: " + d.why);
      {
        MutexLock l(&mu_);
        held_.erase(name);
      }
      EnqueueFailover(p, *svc, d.guard, h);
    } else if (d.why != before) {
      Log("service " + name + ": still not failing over: " + d.why);
      MutexLock l(&mu_);
      held_[name] = d.why;
    }
  }
}

void Daemon::EnqueueFailover(std::shared_ptr<const plan::Plan> p, const plan::Service& svc,
                             std::optional<fence::MemberGuard> guard, const ServiceHealth& h) {
  FailoverRequest req;
  req.service = svc.name;
  req.to_site = FailoverTarget(svc);
  req.failure_ns = h.first_failure_ns;
  req.reason = "daemon " + req.to_site + ": " + std::to_string(h.consecutive_failures) +
               " failed health checks of " + svc.name + ": " + h.last_error;
  req.plan = std::move(p);
  req.guard = std::move(guard);
  Enqueue(Job{"failover " + svc.name + " to " + req.to_site, [this, req](const Context& ctx) {
                Log("failing " + req.service + " over to " + req.to_site);
                Status st = options_.failover(req, ctx);
                Log("failover of " + req.service + " to " + req.to_site + ": " +
                    (st.ok() ? std::string("done") : "FAILED: " + st.message()));
              }});
}

void Daemon::MaybeCommit() {
  const auto p = plan();
  if (commit_ended_.exchange(false)) commit_watch_.CommitDone();
  if (!p->failover.commit_after || options_.fence == nullptr) return;
  Result<std::optional<dr::IncidentState>> incident = dr::LoadIncidentState(options_.state_dir);
  if (!incident.ok()) {
    if (incident.status().message() != last_commit_read_error_) {
      last_commit_read_error_ = incident.status().message();
      Log("failover.commit_after: the incident state cannot be read: " + last_commit_read_error_);
    }
    return;
  }
  last_commit_read_error_.clear();
  std::map<std::string, ServiceHealth> health;
  bool ours = false;
  {
    MutexLock l(&mu_);
    health = health_;
    ours =
        *incident && std::find(sites_.begin(), sites_.end(), (*incident)->to_site) != sites_.end();
  }
  CommitStep step = commit_watch_.Observe(*incident, health, *p->failover.commit_after,
                                          ctx_.clock().WallNs(), ours);
  {
    MutexLock l(&mu_);
    commit_wait_since_ns_ = commit_watch_.healthy_since_ns();
  }
  for (const std::string& line : step.lines) Log(line);
  if (!step.commit) return;
  const IncidentJobOptions jobs = JobOptions();
  const std::string id = (*incident)->id;
  Enqueue(Job{"commit incident " + id.substr(0, 8), [this, p, jobs, id](const Context& ctx) {
                Result<dr::IncidentActionOutcome> r = RunIncidentAction(*p, "commit", jobs, ctx);
                if (!r.ok()) {
                  Log("incident " + id.substr(0, 8) + ": commit FAILED: " + r.status().message());
                } else if (r->ExitCode() == 0) {
                  Log("incident " + id.substr(0, 8) + " committed (failover.commit_after)");
                  MutexLock l(&mu_);
                  ++commits_;
                } else {
                  Log("incident " + id.substr(0, 8) + ": commit not done (exit " +
                      std::to_string(r->ExitCode()) + ")");
                }
                commit_ended_ = true;
              }});
}

Status Daemon::Submit(std::string what, std::function<void(const Context&)> fn) {
  MutexLock l(&mu_);
  if (!started_ || stopping_) return Status::Unavailable("the daemon is stopping");
  if (!acting_) {
    return Status::FailedPrecondition("the daemon is not acting: " + not_acting_reason_);
  }
  jobs_.push_back(Job{std::move(what), std::move(fn)});
  work_cv_.NotifyAll();
  return Status::Ok();
}

Status Daemon::StartDashboard() {
  const auto p = plan();
  DaemonDashboardOptions o;
  o.listen = options_.listen.empty() ? p->daemon.listen : options_.listen;
  o.tls_cert_file = p->daemon.tls_cert_file;
  o.tls_key_file = p->daemon.tls_key_file;
  if (p->daemon.token) {
    Result<std::string> t = dr::ResolveSecret(*p->daemon.token, "daemon", ctx_);
    if (!t.ok()) return t.status().WithContext("the dashboard's read token (daemon.token)");
    o.tokens.read = *t;
  }
  if (p->daemon.operate_token) {
    Result<std::string> t = dr::ResolveSecret(*p->daemon.operate_token, "daemon", ctx_);
    if (!t.ok()) {
      return t.status().WithContext("the dashboard's operate token (daemon.operate_token)");
    }
    o.tokens.operate = *t;
  }
  o.state_dir = options_.state_dir;
  o.cache_path = options_.cache_path;
  o.fence = options_.fence;
  o.jobs = JobOptions();
  o.context = ctx_;
  o.status_min_age_ns = LoopWaitNs();
  o.log = [this](const std::string& line) { Log(line); };
  const std::string listen = o.listen;
  const bool read_token = !o.tokens.read.empty(), operate_token = !o.tokens.operate.empty();
  dashboard_ = std::make_unique<DaemonDashboard>(this, std::move(o));
  Status st = dashboard_->Start();
  if (!st.ok()) return st.WithContext("serving the dashboard on " + listen);
  const std::string url = dashboard_->url();
  {
    MutexLock l(&mu_);
    dashboard_url_ = url;
  }
  Log("dashboard at " + url + " (read token " + (read_token ? "set" : "none") + ", operations " +
      (operate_token ? "on" : "off: no daemon.operate_token") + ")");
  return Status::Ok();
}

}  // namespace lifeboat::daemon
