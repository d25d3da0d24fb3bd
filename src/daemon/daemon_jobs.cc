// The daemon's jobs and what they leave behind: when to start a RunPlan and with which
// services, the RunPlan job itself (with the run journal around it), the worker thread that runs
// jobs one at a time, the journal read back at start, the daemon's own notifications and the
// health view published through the fence.
#include <algorithm>
#include <filesystem>
#include <limits>

#include "daemon/daemon.h"
#include "dr/active_sites.h"
#include "dr/notify_config.h"
#include "notify/event.h"
#include "notify/notify.h"

namespace lifeboat::daemon {

namespace {

constexpr int64_t kNsPerMinute = 60'000'000'000;

// The start of the wall-clock minute after `t`: schedules are cron expressions (minutes), so a
// RunPlan more often than once a minute can learn nothing new.
int64_t NextMinute(int64_t t) { return (t / kNsPerMinute + 1) * kNsPerMinute; }

std::string Time(int64_t ns) { return ns == 0 ? "never" : notify::FormatRfc3339Utc(ns); }

}  // namespace

void Daemon::MaybeStartRun(const std::map<std::string, std::string>& active) {
  const auto p = plan();
  const int64_t now = ctx_.clock().WallNs();
  // A service active at a site other than its first one runs there since a failover: it is
  // backed up from below that site's recovery root, to that site first; one whose recovery there
  // failed is not backed up (dr/active_sites.h, the rule `lifeboat run` follows too; doc/daemon.md,
  // "Sites and active sites").
  dr::RunPlacement placement = dr::PlaceServicesForRun(p, active, options_.state_dir);
  std::vector<std::string> services;
  std::map<std::string, std::string> skipped;  // ours, not backed up: why
  MutexLock l(&mu_);
  if (busy_ || !jobs_.empty() || stopping_) return;
  for (auto it = holds_.begin(); it != holds_.end();) {
    it = it->second <= now ? holds_.erase(it) : std::next(it);
  }
  for (const plan::Service& s : p->services) {
    auto a = active.find(s.name);
    if (a == active.end() || std::find(sites_.begin(), sites_.end(), a->second) == sites_.end()) {
      continue;
    }
    if (holds_.count(s.name)) continue;
    if (auto skip = placement.skip.find(s.name); skip != placement.skip.end()) {
      skipped.insert(*skip);
      continue;
    }
    services.push_back(s.name);
  }
  if (skipped != last_skipped_) {  // said once, not at every tick
    last_skipped_ = skipped;
    l.Unlock();
    for (const auto& [name, why] : skipped) Log("service " + name + ": not backed up: " + why);
    for (const std::string& w : placement.warnings) Log("warning: " + w);
    l.Lock();
    if (busy_ || !jobs_.empty() || stopping_) return;
  }
  // A service that became ours (moved here) or stopped being held is looked at at once.
  if (services != last_run_services_) next_schedule_check_ns_ = 0;
  if (now < next_schedule_check_ns_) return;
  last_run_services_ = services;
  if (services.empty()) {
    next_schedule_check_ns_ = NextMinute(now);
    return;
  }
  next_schedule_check_ns_ = std::numeric_limits<int64_t>::max();  // set when the run ends
  l.Unlock();
  std::map<std::string, std::string> read_roots;  // of the services this run backs up
  for (const std::string& name : services) {
    if (auto root = placement.read_roots.find(name); root != placement.read_roots.end()) {
      read_roots.insert(*root);
    }
  }
  Enqueue(Job{"run", [this, p = placement.plan, services, read_roots](const Context& ctx) {
                RunSchedules(p, services, read_roots, ctx);
              }});
}

Status Daemon::WriteJournal(bool running, int64_t start_ns,
                            const std::vector<std::string>& services) {
  RunJournal j;
  j.running = running;
  j.start_ns = start_ns;
  j.services = services;
  {
    MutexLock l(&mu_);
    j.holds = holds_;
  }
  if (!running && j.holds.empty()) return RemoveRunJournal(journal_path_);
  return WriteRunJournal(journal_path_, j);
}

void Daemon::RunSchedules(std::shared_ptr<const plan::Plan> p, std::vector<std::string> services,
                          std::map<std::string, std::string> read_roots, const Context& ctx) {
  const int64_t start = ctx.clock().WallNs();
  Status journal = WriteJournal(true, start, services);
  if (!journal.ok()) {
    Log("warning: the run journal cannot be written (" + journal.message() +
        "): a kill -9 during this run could make its backups run twice");
  }
  dr::RunOptions o;
  o.services = services;
  o.read_roots = std::move(read_roots);
  o.context = ctx;
  o.state_dir = options_.state_dir;
  o.cache_path = options_.cache_path;
  o.plan_path = options_.plan_path;
  o.host = options_.host;
  o.notify_retry = options_.notify_retry;
  o.on_line = [this](const std::string& line) { Log(line); };
  Result<dr::RunReport> r = options_.run_plan(*p, o);
  Status cleared = WriteJournal(false, 0, {});
  if (!cleared.ok()) Log("warning: the run journal cannot be cleared: " + cleared.message());

  const int64_t end = ctx.clock().WallNs();
  MutexLock l(&mu_);
  ++runs_;
  int64_t next = NextMinute(start);
  if (!r.ok()) {
    last_run_exit_ = 2;
    l.Unlock();
    Log("run not started: " + r.status().message());
    MutexLock again(&mu_);
    if (next_schedule_check_ns_ == std::numeric_limits<int64_t>::max()) {
      next_schedule_check_ns_ = next;
    }
    return;
  }
  last_run_id_ = r->run_id;
  last_run_exit_ = r->ExitCode();
  // The next RunPlan: at the earliest due time it reported, never in the minute of this one, at
  // the latest in an hour (a schedule that stopped firing, a drill far off).
  int64_t earliest = start + 60 * kNsPerMinute;
  size_t ran = 0, not_due = 0, locked = 0, failed = 0;
  for (const dr::ServiceReport& s : r->services) {
    ScheduleView& v = schedules_[s.name];
    v.service = s.name;
    v.last_state = std::string(dr::ServiceStateName(s.state));
    if (s.state == dr::ServiceState::kRan)
      v.last_start_ns = s.start_ns;
    else if (s.last_start_ns != 0)
      v.last_start_ns = s.last_start_ns;
    v.next_due_ns = s.state == dr::ServiceState::kNotDue ? s.next_due_ns : 0;
    if (s.state == dr::ServiceState::kNotDue) {
      ++not_due;
      if (s.next_due_ns > 0) earliest = std::min(earliest, s.next_due_ns);
    } else {
      earliest = std::min(earliest, next);  // learn its next due time at the next minute
      if (s.state == dr::ServiceState::kRan) ++ran;
      if (s.state == dr::ServiceState::kLocked) ++locked;
    }
    if (s.failed()) ++failed;
    if (s.drill) {
      v.drill_next_due_ns = s.drill->due ? 0 : s.drill->next_due_ns;
      if (!s.drill->due && s.drill->next_due_ns > 0) {
        earliest = std::min(earliest, s.drill->next_due_ns);
      }
    }
  }
  for (const auto& [name, until] : holds_) earliest = std::min(earliest, until);
  if (next_schedule_check_ns_ == std::numeric_limits<int64_t>::max()) {
    next_schedule_check_ns_ = std::max(next, earliest);
  }
  const int64_t next_check = next_schedule_check_ns_;
  const int exit_code = last_run_exit_;
  l.Unlock();
  if (ran == 0 && locked == 0 && !r->drill && r->drill_error.empty() && !r->cancelled) {
    return;  // nothing due: nothing to say (the snapshot shows the next due times)
  }
  std::string summary = "run " + r->run_id.substr(0, 8) + ": " + std::to_string(ran) + " ran, " +
                        std::to_string(not_due) + " not due";
  if (locked > 0) summary += ", " + std::to_string(locked) + " skipped (held by another run)";
  if (failed > 0) summary += ", " + std::to_string(failed) + " FAILED";
  if (r->drill) summary += ", drilled " + std::to_string(r->drill->drills.size());
  if (!r->drill_error.empty()) summary += ", scheduled drill not run: " + r->drill_error;
  if (r->cancelled) summary += ", interrupted";
  summary += " (exit " + std::to_string(exit_code) + ", " +
             std::to_string((end - start) / 1'000'000) + " ms); next check " + Time(next_check);
  Log(summary);
  for (const std::string& w : r->warnings) Log("warning: " + w);
}

void Daemon::Enqueue(Job job) {
  MutexLock l(&mu_);
  if (stopping_) return;
  jobs_.push_back(std::move(job));
  work_cv_.NotifyAll();
}

void Daemon::WorkerLoop() {
  MutexLock l(&mu_);
  for (;;) {
    while (!stopping_ && jobs_.empty()) work_cv_.Wait(&mu_);
    if (stopping_ || jobs_.empty()) break;
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    current_job_ = job.what;
    current_job_since_ns_ = ctx_.clock().WallNs();
    job_cancel_ = stopping_ || !acting_;
    const Context job_ctx = Context().WithClock(ctx_.clock()).WithCancel(&job_cancel_);
    l.Unlock();
    try {
      job.fn(job_ctx);
    } catch (const std::exception& e) {
      Log("job " + job.what + " failed: " + e.what());
    }
    l.Lock();
    busy_ = false;
    current_job_.clear();
    current_job_since_ns_ = 0;
    idle_cv_.NotifyAll();
  }
  busy_ = false;
  idle_cv_.NotifyAll();
}

void Daemon::WaitIdle() {
  MutexLock l(&mu_);
  while (busy_ || (!jobs_.empty() && !stopping_ && worker_.joinable())) idle_cv_.Wait(&mu_);
}

void Daemon::SendEvent(const plan::Plan& plan, plan::Event type, const std::string& service,
                       std::optional<int> tier, const std::string& site, const std::string& message,
                       const nlohmann::json& details) {
  if (plan.channels.empty()) return;
  const std::string state_path =
      (std::filesystem::path(options_.state_dir) / "notify-state.json").string();
  // Sent also while stopping (a lease lost at shutdown): a context of its own, bounded.
  const Context ctx = Context().WithClock(ctx_.clock());
  const std::string host = options_.host.empty() ? notify::HostName() : options_.host;
  dr::PlanNotifyConfig cfg =
      dr::NotifyConfigWithPolicy(plan, state_path, ctx, options_.notify_retry, host);
  for (const std::string& w : cfg.warnings) Log("warning: " + dr::RedactSecrets(w, cfg.secrets));
  notify::Event e = notify::MakeEvent(dr::ToNotifyEvent(type), service, tier, site, message,
                                      ctx.clock().WallNs());
  e.host = host;
  e.details = details;
  Result<notify::NotifyResult> r = notify::Notify(cfg.options, {}, {e});
  if (!r.ok()) {
    Log("notification " + std::string(plan::EventName(type)) +
        " not sent: " + dr::RedactSecrets(r.status().message(), cfg.secrets));
    return;
  }
  for (const notify::DeliveryOutcome& o : r->outcomes) {
    Log("notification " + std::string(notify::EventTypeName(o.event)) + " to " + o.channel + ": " +
        std::string(notify::OutcomeResultName(o.result)) +
        (o.error.empty() ? "" : ": " + dr::RedactSecrets(o.error, cfg.secrets)));
  }
  for (const std::string& w : r->warnings) Log("warning: " + dr::RedactSecrets(w, cfg.secrets));
}

void Daemon::PublishHealth() {
  if (options_.fence == nullptr) return;
  nlohmann::json services = nlohmann::json::array();
  std::vector<std::string> sites;
  {
    MutexLock l(&mu_);
    if (!joined_) return;
    sites = sites_;
    for (const auto& [name, h] : health_) {
      services.push_back({{"service", name},
                          {"state", std::string(HealthStateName(h.state))},
                          {"consecutive_failures", h.consecutive_failures},
                          {"last_error", h.last_error},
                          {"last_check", h.last_check_ns ? Time(h.last_check_ns) : ""},
                          {"declared", h.declared_ns ? Time(h.declared_ns) : ""}});
    }
  }
  const nlohmann::json health = {
      {"sites", sites}, {"time", Time(ctx_.clock().WallNs())}, {"services", services}};
  Status st = options_.fence->ReportHealth(
      health, ctx_.WithTimeout(std::chrono::nanoseconds(LoopWaitNs())));
  std::string error = st.ok() ? "" : st.message();
  {
    MutexLock l(&mu_);
    if (error == last_publish_error_) return;
    last_publish_error_ = error;
  }
  Log(error.empty() ? "health view published again" : "health view not published: " + error);
}

void Daemon::RecoverJournal() {
  Result<std::optional<RunJournal>> read = ReadRunJournal(journal_path_);
  if (!read.ok()) {
    Log("warning: " + read.status().message() + ": removed");
    Status removed = RemoveRunJournal(journal_path_);
    if (!removed.ok()) Log("warning: " + removed.message());
    return;
  }
  if (!read->has_value()) return;
  const RunJournal& j = **read;
  const int64_t now = ctx_.clock().WallNs();
  {
    MutexLock l(&mu_);
    for (const auto& [name, until] : j.holds) {
      if (until > now) holds_[name] = until;
    }
  }
  if (j.running) {
    std::string names;
    for (const std::string& s : j.services) names += (names.empty() ? "" : ", ") + s;
    Log("the previous daemon stopped during the run it started at " + Time(j.start_ns) +
        " (services " + names + "): looking for what it stored");
    std::vector<std::string> notes;
    std::vector<InterruptedBackup> found = FindInterruptedBackups(*plan(), j, ctx_, &notes);
    for (const std::string& n : notes) Log("warning: " + n);
    for (const InterruptedBackup& b : found) {
      Log("service " + b.service + ": snapshot " + b.snapshot +
          " was stored by the interrupted run (no run record): not backed up again before " +
          (b.hold_until_ns == std::numeric_limits<int64_t>::max() ? std::string("a reload")
                                                                  : Time(b.hold_until_ns)) +
          ", its next scheduled time");
      MutexLock l(&mu_);
      holds_[b.service] = b.hold_until_ns;
    }
  }
  Status st = WriteJournal(false, 0, {});
  if (!st.ok()) Log("warning: the run journal cannot be rewritten: " + st.message());
}

}  // namespace lifeboat::daemon
