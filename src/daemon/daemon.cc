// The daemon's lifecycle and loop: Create, Start, Tick (reload, fence, health rounds, schedules),
// Run, Stop, Shutdown, Snapshot. The jobs it hands to its worker (RunPlan), the run journal and
// its notifications are in daemon_jobs.cc; declarations, the failover rule, commit_after and the
// dashboard in daemon_failover.cc.
#include "daemon/daemon.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "daemon/dashboard_service.h"
#include "util/parallel_for.h"

namespace lifeboat::daemon {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)),
      ctx_(options_.context.WithCancel(&stop_flag_)),
      journal_path_(RunJournalPath(options_.state_dir, options_.plan_path)) {}

Result<std::unique_ptr<Daemon>> Daemon::Create(DaemonOptions options) {
  if (options.plan_path.empty()) return Status::InvalidArgument("the daemon needs a plan file");
  if (options.state_dir.empty()) {
    return Status::InvalidArgument("the daemon needs a state directory (--state-dir)");
  }
  if (!options.load_plan)
    options.load_plan = [](const std::string& p) { return plan::LoadPlan(p); };
  if (!options.run_plan) options.run_plan = dr::RunPlan;
  if (!options.probe) options.probe = ProbeProductionCheck;
  std::unique_ptr<Daemon> d(new Daemon(std::move(options)));
  Result<plan::LoadedPlan> loaded = d->options_.load_plan(d->options_.plan_path);
  if (!loaded.ok()) return loaded.status();
  auto plan = std::make_shared<const plan::Plan>(std::move(loaded->plan));
  LB_RETURN_IF_ERROR(d->CheckSites(*plan));
  std::error_code ec;
  const std::string abs =
      std::filesystem::absolute(d->options_.plan_path, ec).lexically_normal().string();
  Result<RunLock> lock =
      RunLock::TryAcquire(d->options_.state_dir, ec ? d->options_.plan_path : abs, "(daemon)");
  if (!lock.ok()) {
    if (lock.status().code() == StatusCode::kLocked) {
      return Status::Locked("another lifeboat daemon runs this plan with the state directory " +
                            d->options_.state_dir + ": " + lock.status().message() +
                            " (stop it first, or give this one another --state-dir)");
    }
    return lock.status();
  }
  d->daemon_lock_.emplace(std::move(*lock));
  MutexLock l(&d->mu_);
  d->sites_ = d->options_.sites;
  if (d->sites_.empty()) {
    for (const plan::Site& s : plan->sites) d->sites_.push_back(s.name);
  }
  d->plan_ = std::move(plan);
  d->plan_loaded_ns_ = d->ctx_.clock().WallNs();
  return d;
}

Daemon::~Daemon() { Shutdown(); }

Status Daemon::CheckSites(const plan::Plan& plan) const {
  for (const std::string& s : options_.sites) {
    if (plan.FindSite(s) == nullptr) {
      std::string names;
      for (const plan::Site& site : plan.sites) names += (names.empty() ? "" : ", ") + site.name;
      return Status::InvalidArgument("--site " + s + ": the plan " + plan.file +
                                     " has no such site (its sites: " + names + ")");
    }
  }
  return Status::Ok();
}

std::shared_ptr<const plan::Plan> Daemon::plan() const {
  MutexLock l(&mu_);
  return plan_;
}

void Daemon::Log(const std::string& line) const {
  if (!options_.on_line) return;
  MutexLock l(&log_mu_);
  options_.on_line(line);
}

int64_t Daemon::LoopWaitNs() const {
  const auto p = plan();
  const int64_t s = std::max<int64_t>(1, p->daemon.loop_wait.count());
  return s * kNsPerSecond;
}

Status Daemon::Start() {
  std::vector<std::string> sites;
  {
    MutexLock l(&mu_);
    if (started_) return Status::FailedPrecondition("the daemon was started already");
    started_ = true;
    started_ns_ = ctx_.clock().WallNs();
    sites = sites_;
  }
  const auto p = plan();
  if (options_.fence != nullptr) {
    Status joined = options_.fence->Join(sites, ctx_);
    if (!joined.ok()) {
      return joined.WithContext("joining the " + std::string(options_.fence->Kind()) +
                                " fence for " + Join(sites));
    }
    MutexLock l(&mu_);
    joined_ = true;
  }
  RecoverJournal();
  size_t watched = 0;
  {
    MutexLock l(&mu_);
    const int64_t now = ctx_.clock().MonotonicNs();
    for (const plan::Service& s : p->services) {
      ScheduleView& v = schedules_[s.name];
      v.service = s.name;
      if (!s.failover) continue;
      ++watched;
      ServiceHealth& h = health_[s.name];
      h.service = s.name;
      next_round_mono_[s.name] = now;
    }
  }
  for (const plan::Service& s : p->services) {
    if (s.failover && !HasProductionChecks(s)) {
      Log("service " + s.name +
          ": failover policy but no check that can run against production "
          "(files checks need a restore): it is not health-checked");
    }
  }
  Log("daemon started: plan " + p->file + ", sites " + Join(sites) + ", loop every " +
      std::to_string(LoopWaitNs() / kNsPerSecond) + " s, fence " +
      (options_.fence != nullptr ? std::string(options_.fence->Kind()) : std::string("none")) +
      ", " + std::to_string(watched) + " service(s) health-checked");
  worker_ = std::thread([this] { WorkerLoop(); });
  if (options_.serve_dashboard) LB_RETURN_IF_ERROR(StartDashboard());
  return Status::Ok();
}

void Daemon::Reload() {
  MutexLock l(&mu_);
  reload_requested_ = true;
  wake_ = true;
  wake_cv_.NotifyAll();
}

void Daemon::Stop() {
  MutexLock l(&mu_);
  if (!stopping_) {
    stopping_ = true;
    jobs_.clear();  // no new job
  }
  wake_ = true;
  stop_flag_ = true;
  job_cancel_ = true;  // the running one stops through its context
  work_cv_.NotifyAll();
  wake_cv_.NotifyAll();
}

void Daemon::Shutdown() {
  Stop();
  {
    MutexLock l(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  // The dashboard first: its operations' jobs were dropped or cancelled by Stop(), so the
  // requests waiting for them end; then the worker; the fence last.
  if (dashboard_) dashboard_->Stop();
  if (worker_.joinable()) worker_.join();
  bool joined = false;
  {
    MutexLock l(&mu_);
    joined = joined_;
    joined_ = false;
  }
  if (joined && options_.fence != nullptr) {
    // The daemon's own context is cancelled by now: leave with a fresh, bounded one.
    Status left = options_.fence->Leave(
        Context().WithClock(ctx_.clock()).WithTimeout(std::chrono::seconds(10)));
    if (!left.ok()) Log("leaving the fence: " + left.message());
  }
  bool started = false;
  {
    MutexLock l(&mu_);
    started = started_;
  }
  if (started) Log("daemon stopped");
}

void Daemon::ProcessReload() {
  {
    MutexLock l(&mu_);
    if (!reload_requested_) return;
    reload_requested_ = false;
  }
  Log("reloading the plan " + options_.plan_path);
  Result<plan::LoadedPlan> loaded = options_.load_plan(options_.plan_path);
  Status st = loaded.ok() ? CheckSites(loaded->plan) : loaded.status();
  if (st.ok()) {
    MutexLock l(&mu_);
    for (const std::string& s : sites_) {
      if (loaded->plan.FindSite(s) == nullptr) {
        st = Status::InvalidArgument("the plan no longer has the site " + s +
                                     " this daemon acts for (restart the daemon to change its "
                                     "sites)");
      }
    }
  }
  if (!st.ok()) {
    Log("reload rejected, the plan loaded before is kept: " + st.message());
    MutexLock l(&mu_);
    last_reload_error_ = st.message();
    return;
  }
  auto next = std::make_shared<const plan::Plan>(std::move(loaded->plan));
  size_t watched = 0;
  {
    MutexLock l(&mu_);
    const int64_t now = ctx_.clock().MonotonicNs();
    std::map<std::string, ServiceHealth> health;
    std::map<std::string, int64_t> rounds;
    std::map<std::string, ScheduleView> schedules;
    for (const plan::Service& s : next->services) {
      auto old_view = schedules_.find(s.name);
      ScheduleView v = old_view != schedules_.end() ? old_view->second : ScheduleView{};
      v.service = s.name;
      schedules[s.name] = v;
      if (!s.failover) continue;
      ++watched;
      auto old = health_.find(s.name);
      ServiceHealth fresh;
      fresh.service = s.name;
      health[s.name] = old != health_.end() ? old->second : fresh;
      auto r = next_round_mono_.find(s.name);
      rounds[s.name] = r != next_round_mono_.end() ? r->second : now;
    }
    health_ = std::move(health);
    next_round_mono_ = std::move(rounds);
    schedules_ = std::move(schedules);
    plan_ = next;
    plan_loaded_ns_ = ctx_.clock().WallNs();
    last_reload_error_.clear();
    // A hold without end (a schedule that does not fire again) ends with a reload.
    for (auto it = holds_.begin(); it != holds_.end();) {
      it = it->second == std::numeric_limits<int64_t>::max() ? holds_.erase(it) : std::next(it);
    }
    next_schedule_check_ns_ = 0;  // the schedules may have changed: ask RunPlan at once
  }
  Log("plan reloaded: " + std::to_string(next->services.size()) + " service(s), " +
      std::to_string(watched) + " health-checked");
}

bool Daemon::CheckActing() {
  if (options_.fence == nullptr) return true;
  const bool acting = options_.fence->Acting();
  const std::string note = acting ? "" : options_.fence->ActingNote();
  bool was = false;
  std::vector<std::string> sites;
  {
    MutexLock l(&mu_);
    was = acting_;
    acting_ = acting;
    not_acting_reason_ = note;
    sites = sites_;
    if (!acting) job_cancel_ = true;  // no backup, no failover while not acting
  }
  if (was && !acting) {
    Log("stopped acting: " + note + " (no schedule, health check or failover until it acts again)");
    SendEvent(*plan(), plan::Event::kLeaseLost, "", std::nullopt, "",
              "lifeboat daemon for " + Join(sites) + " stopped acting: " + note,
              {{"sites", sites}, {"reason", note}});
  } else if (!was && acting) {
    Log("acting again");
  }
  return acting;
}

std::optional<std::map<std::string, std::string>> Daemon::ActiveSites() {
  const auto p = plan();
  std::map<std::string, std::string> active;
  std::map<std::string, uint64_t> tokens;
  for (const plan::Service& s : p->services) {
    active[s.name] = s.sites.empty() ? "" : s.sites.front().name;
  }
  if (options_.fence != nullptr) {
    Result<std::unique_ptr<fence::FenceAction>> action =
        options_.fence->BeginAction(ctx_.WithTimeout(std::chrono::nanoseconds(LoopWaitNs())));
    Result<std::vector<fence::ActiveSite>> stored =
        action.ok() ? (*action)->AllActive()
                    : Result<std::vector<fence::ActiveSite>>(action.status());
    if (!stored.ok()) {
      Log("the fence cannot say where services are active (" + stored.status().message() +
          "): no schedule this time");
      return std::nullopt;
    }
    for (const fence::ActiveSite& a : *stored) {
      if (a.stored && active.count(a.service)) {
        active[a.service] = a.site;
        tokens[a.service] = a.token;
      }
    }
  }
  MutexLock l(&mu_);
  for (auto& [name, site] : active) {
    ScheduleView& v = schedules_[name];
    v.service = name;
    v.active_site = site;
    v.token = tokens.count(name) ? tokens[name] : 0;
    v.ours = std::find(sites_.begin(), sites_.end(), site) != sites_.end();
  }
  return active;
}

void Daemon::Tick() {
  if (options_.context.cancelled()) Stop();
  {
    MutexLock l(&mu_);
    if (stopping_ || !started_) return;
    ++ticks_;
  }
  ProcessReload();
  if (!CheckActing()) return;
  std::optional<std::map<std::string, std::string>> active = ActiveSites();
  HealthRounds(ctx_.clock().MonotonicNs());
  MaybeCommit();
  if (active) MaybeStartRun(*active);
}

void Daemon::HealthRounds(int64_t now_mono) {
  const auto p = plan();
  std::vector<const plan::Service*> due;
  {
    MutexLock l(&mu_);
    for (const plan::Service& s : p->services) {
      if (!s.failover || !HasProductionChecks(s)) continue;
      auto it = next_round_mono_.find(s.name);
      if (it != next_round_mono_.end() && it->second <= now_mono) due.push_back(&s);
    }
  }
  if (due.empty()) return;
  std::vector<Status> results(due.size());
  // Each service's round on its own thread: a slow check of one never delays another's round.
  ParallelFor(due.size(), static_cast<int>(due.size()), nullptr, [&](size_t i) {
    results[i] = RunHealthRound(*p, *due[i], due[i]->failover->timeout, options_.probe, ctx_);
  });
  if (ctx_.cancelled()) return;  // stopping: a cancelled round says nothing about the service
  std::vector<std::pair<const plan::Service*, ServiceHealth>> declared;
  std::vector<std::string> lines, recheck;
  {
    MutexLock l(&mu_);
    const int64_t wall = ctx_.clock().WallNs();
    const int64_t mono = ctx_.clock().MonotonicNs();
    for (size_t i = 0; i < due.size(); ++i) {
      const plan::Service& s = *due[i];
      ServiceHealth& h = health_[s.name];
      h.service = s.name;
      const HealthState before = h.state;
      const int threshold = s.failover->failures_before_failover;
      const bool now_declared = RecordRound(&h, results[i], wall, threshold);
      h.failures_before_failover = threshold;
      if (h.state != HealthState::kFailed) held_.erase(s.name);
      if (!now_declared && held_.count(s.name)) recheck.push_back(s.name);
      const int64_t interval = std::max<int64_t>(1, s.failover->interval.count()) * kNsPerSecond;
      const int64_t next = std::max(now_mono + interval, mono);
      next_round_mono_[s.name] = next;
      h.next_due_ns = wall + (next - mono);
      if (!results[i].ok() && !now_declared && h.state == HealthState::kFailing) {
        lines.push_back("service " + s.name + ": health check failed (" +
                        std::to_string(h.consecutive_failures) + " of " +
                        std::to_string(threshold) + "): " + h.last_error);
      } else if (results[i].ok() && before != HealthState::kHealthy) {
        lines.push_back("service " + s.name + ": healthy" +
                        (before == HealthState::kUnchecked ? "" : " again"));
      }
      if (now_declared) declared.emplace_back(&s, h);
    }
  }
  for (const std::string& line : lines) Log(line);
  DeclareRound(p, declared);
  PublishHealth();
  RecheckHeld(p, recheck);
}

int64_t Daemon::NextWakeMono() const {
  const int64_t now = ctx_.clock().MonotonicNs();
  int64_t next = now + LoopWaitNs();
  const auto p = plan();
  MutexLock l(&mu_);
  for (const plan::Service& s : p->services) {
    if (!s.failover || !HasProductionChecks(s)) continue;
    auto it = next_round_mono_.find(s.name);
    if (it != next_round_mono_.end()) next = std::min(next, it->second);
  }
  return next;
}

Status Daemon::Run() {
  bool started = false;
  {
    MutexLock l(&mu_);
    started = started_;
  }
  if (!started) {
    Status st = Start();
    if (!st.ok()) {
      Shutdown();
      return st;
    }
  }
  for (;;) {
    Tick();
    const int64_t deadline = NextWakeMono();
    MutexLock l(&mu_);
    if (stopping_) break;
    if (!wake_) ctx_.clock().WaitUntil(&mu_, &wake_cv_, deadline, &wake_);
    wake_ = false;
    if (stopping_) break;
  }
  Shutdown();
  return Status::Ok();
}

DaemonSnapshot Daemon::Snapshot() const {
  const auto p = plan();
  DaemonSnapshot s;
  s.plan_file = p->file;
  s.listen = options_.listen.empty() ? p->daemon.listen : options_.listen;
  s.actor = options_.actor;
  s.fence_kind = options_.fence != nullptr ? std::string(options_.fence->Kind()) : "";
  MutexLock l(&mu_);
  s.plan_loaded_ns = plan_loaded_ns_;
  s.sites = sites_;
  s.started = started_;
  s.stopping = stopping_;
  s.acting = acting_;
  s.not_acting_reason = not_acting_reason_;
  for (const plan::Service& svc : p->services) {
    auto h = health_.find(svc.name);
    if (h != health_.end()) {
      s.health.push_back(h->second);
      if (svc.failover)
        s.health.back().failures_before_failover = svc.failover->failures_before_failover;
    }
    auto v = schedules_.find(svc.name);
    ScheduleView view;
    view.service = svc.name;
    if (v != schedules_.end()) view = v->second;
    auto hold = holds_.find(svc.name);
    view.held_until_ns = hold != holds_.end() ? hold->second : 0;
    s.schedules.push_back(std::move(view));
  }
  s.current_job = current_job_;
  s.current_job_since_ns = current_job_since_ns_;
  s.next_schedule_check_ns = next_schedule_check_ns_;
  s.ticks = ticks_;
  s.runs = runs_;
  s.last_run_id = last_run_id_;
  s.last_run_exit = last_run_exit_;
  s.last_reload_error = last_reload_error_;
  s.started_ns = started_ns_;
  s.dashboard_url = dashboard_url_;
  s.commit_wait_since_ns = commit_wait_since_ns_;
  s.commits = commits_;
  return s;
}

}  // namespace lifeboat::daemon
