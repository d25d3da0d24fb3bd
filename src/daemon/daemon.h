// The daemon (doc/daemon.md): keeps a plan running without cron. Every daemon.loop_wait it
// checks the fence, performs the due schedules of the services active at its sites exactly as
// `lifeboat run` does (dr::RunPlan, one at a time, on a worker thread), and health-checks every
// service with a `failover` policy against production, declaring a service failed after
// failures_before_failover failed rounds in a row (service_down; then the failover callback when
// the policy is automatic, its `to` site is one of the daemon's and the failover rule of
// failover_rule.h allows it). With the plan's failover.commit_after it commits an open failover
// whose services stayed healthy that long (commit_watch.h); with serve_dashboard it serves the
// dashboard and API (dashboard_service.h) from Start to Shutdown.
//
//   DaemonOptions o;  o.plan_path = path;  o.state_dir = dir;  o.fence = fence.get();
//   o.failover = [](const FailoverRequest& r, const Context& ctx) { return ...; };
//   o.on_line = [](const std::string& line) { std::cout << line << std::endl; };
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Daemon> d, Daemon::Create(std::move(o)));
//   Status st = d->Run();          // until Stop(); Reload() and Stop() from a signal thread
//
// Driving it by hand (tests with a ManualClock, `--once`): Start(), then Tick() and WaitIdle()
// as often as wanted, then Shutdown(). Run() is exactly that loop with a wait of
// min(loop_wait, the next health round) between ticks.
//
// Threads: the caller's thread runs Start/Tick/Run/Shutdown (the loop thread; health rounds run
// on it, the rounds of several services side by side on short-lived threads); one worker thread
// runs the jobs (RunPlan, failovers) one at a time, so health rounds keep their interval while a
// backup runs. Reload(), Stop() and Snapshot() may be called from any thread at any time.
// Notifications (service_down, lease_lost) are sent from the loop thread and block it for at
// most the notify retry budget. The dashboard serves on threads of its own (dashboard_service.h);
// its operations are jobs of the worker like the others.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/commit_watch.h"
#include "daemon/failover_rule.h"
#include "daemon/health.h"
#include "daemon/run_journal.h"
#include "dr/run.h"
#include "fence/fence.h"
#include "notify/deliver.h"
#include "plan/plan.h"
#include "plan/validate.h"
#include "runlog/run_lock.h"
#include "util/context.h"
#include "util/mutex.h"
#include "util/status.h"

namespace lifeboat::daemon {

class DaemonDashboard;
struct IncidentJobOptions;

// What the daemon asks of a failover (dr::PerformFailover: DrFailoverCallback, failover_job.h).
struct FailoverRequest {
  std::string service;
  std::string to_site;     // the policy's `to` (default the service's second site): one of ours
  int64_t failure_ns = 0;  // wall time of the first failed round of the series that declared it
  // "daemon dr-site: 3 failed health checks of shop: tcp 127.0.0.1:8080: connection refused"
  std::string reason;
  // The plan the daemon had when it declared the failure (never null from the daemon).
  std::shared_ptr<const plan::Plan> plan;
  // The other site's member key the decision rested on (FailoverDecision::guard): the move
  // compares it again (dr::FailoverOptions::guard). Unset when the active site is our own.
  std::optional<fence::MemberGuard> guard;
};
// Runs the failover; its Status is logged. Called on the worker thread, once per declaration,
// with a context the daemon cancels on Stop() and when it stops acting.
using FailoverCallback = std::function<Status(const FailoverRequest&, const Context&)>;

// Seams (tests replace them; the defaults are the real thing).
using PlanLoader = std::function<Result<plan::LoadedPlan>(const std::string& path)>;
using PlanRunner =
    std::function<Result<dr::RunReport>(const plan::Plan& plan, const dr::RunOptions& options)>;

struct DaemonOptions {
  std::string plan_path;  // required; read at Create and at each Reload
  // The sites this daemon acts for (--site); empty: every site of the plan. Each must be a site
  // of the plan (checked at Create and at Reload).
  std::vector<std::string> sites;
  std::string state_dir;   // required: run locks, notification state, the run journal
  std::string cache_path;  // the status cache (empty: none)
  // HOST:PORT of the dashboard (--listen; empty: the plan's daemon.listen).
  std::string listen;
  // Serve the dashboard and API (dashboard_service.h) from Start() to Shutdown(), with the
  // plan's daemon.tls_* files and tokens as Start() read them (a reload does not change them).
  bool serve_dashboard = false;
  // This daemon's identity as the fence knows it (fence::ActorIdentity()); shown by the dashboard.
  std::string actor;
  // The clock every time is read from (ManualClock in tests); its cancel flag, when set, stops
  // the daemon like Stop() at the next tick.
  Context context;
  // The fence (not owned; may be null: one daemon, no coordination, always acting). Joined by
  // Start() for the daemon's sites, left by Shutdown().
  fence::Fence* fence = nullptr;
  // Called when a service is declared failed, its policy is automatic, its `to` site is one of
  // ours (and not already its active site) and the failover rule allows it (failover_rule.h).
  // Null: declared failures are only announced. The plan's failover.commit_after and the
  // dashboard's commit and rollback run dr::CommitFailover / RollbackFailover themselves (they
  // need the fence).
  FailoverCallback failover;
  // Every log line (without timestamp; the CLI adds one). Any thread, serialised by the daemon.
  std::function<void(const std::string& line)> on_line;
  std::string host;                  // the runs' and events' host (empty: this machine's name)
  notify::RetryPolicy notify_retry;  // for RunPlan and the daemon's own events
  PlanLoader load_plan;              // default: plan::LoadPlan (refuses a plan with an error)
  PlanRunner run_plan;               // default: dr::RunPlan
  CheckProbe probe;                  // default: ProbeProductionCheck
};

// A schedule as the daemon knows it (from the last RunPlan's report).
struct ScheduleView {
  std::string service;
  std::string active_site;  // where it runs now (the fence's, else its first site)
  uint64_t token = 0;       // the fencing token of the move that put it there (0: never moved)
  bool ours = false;        // active at one of the daemon's sites: its schedules are run here
  std::string last_state;   // dr::ServiceStateName of the last run ("" before the first)
  int64_t last_start_ns = 0;
  int64_t next_due_ns = 0;        // 0: unknown (checked at the next RunPlan)
  int64_t drill_next_due_ns = 0;  // with a drill_schedule
  int64_t held_until_ns = 0;      // held back after an interrupted run (run_journal.h); 0: not
};

// The daemon's state at one moment (the dashboard shows it).
struct DaemonSnapshot {
  std::string plan_file;
  int64_t plan_loaded_ns = 0;
  std::vector<std::string> sites;
  std::string listen;
  std::string dashboard_url;  // where the dashboard serves ("" when it does not)
  std::string actor;          // DaemonOptions::actor
  int64_t started_ns = 0;     // when Start() ran (wall; 0 before)
  bool started = false, stopping = false;
  bool acting = true;
  std::string not_acting_reason;        // the fence's note while not acting
  std::string fence_kind;               // "" without a fence
  std::vector<ServiceHealth> health;    // services with a failover policy, plan order
  std::vector<ScheduleView> schedules;  // every service, plan order
  std::string current_job;              // "" when idle ("run", "failover shop to dr")
  int64_t current_job_since_ns = 0;
  int64_t next_schedule_check_ns = 0;  // when the next RunPlan is started (wall)
  uint64_t ticks = 0, runs = 0;
  std::string last_run_id;
  int last_run_exit = 0;
  std::string last_reload_error;  // the last rejected reload ("" when none)
  // failover.commit_after: when the open incident's services were all healthy since (0: not
  // waiting), and how many commits the daemon made.
  int64_t commit_wait_since_ns = 0;
  uint64_t commits = 0;
};

class Daemon {
 public:
  // Loads the plan (load_plan), checks the options and the sites, and takes the daemon lock of
  // (state_dir, plan): Locked naming the holder when another daemon runs this plan on this
  // state directory. InvalidArgument for a missing option, an unknown site or an invalid plan.
  static Result<std::unique_ptr<Daemon>> Create(DaemonOptions options);
  // Shutdown() if needed.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Joins the fence for the daemon's sites (its error is returned: nothing started), reads a
  // run journal left by a killed daemon (holding back what it had already backed up), and
  // starts the worker thread. Once.
  Status Start();
  // One iteration of the loop: a pending reload, the fence, the health rounds that are due, the
  // schedules when due and the worker is idle. Returns at once after Stop(). Loop thread only.
  void Tick();
  // Blocks until the worker has no job running or queued.
  void WaitIdle();
  // Start(), then Tick() every loop_wait (earlier when a health round is due) until Stop() or
  // the context's cancel flag; then Shutdown(). Returns Start()'s error, else OK.
  Status Run();
  // Stops: no new job, the running one cancelled through its context and waited for, the
  // worker joined, the fence left. Idempotent.
  void Shutdown();

  // Thread-safe requests: the next Tick reloads the plan (an invalid plan is logged and the old
  // one kept); Stop ends Run() (and makes Tick a no-op) and cancels the running job at once.
  void Reload();
  void Stop();

  DaemonSnapshot Snapshot() const;
  // The plan now (the last one loaded). Any thread.
  std::shared_ptr<const plan::Plan> CurrentPlan() const { return plan(); }
  // Queues a job for the worker (after the running and queued ones): the dashboard's operations.
  // Unavailable when stopping or not started, FailedPrecondition while not acting. The job's
  // context is cancelled on Stop() and when the daemon stops acting; a queued job is dropped
  // (destroyed without running) on Stop(). Any thread.
  Status Submit(std::string what, std::function<void(const Context&)> fn);

 private:
  struct Job {
    std::string what;
    std::function<void(const Context&)> fn;
  };

  explicit Daemon(DaemonOptions options);

  void Log(const std::string& line) const;
  void ProcessReload();
  bool CheckActing();
  // Service -> active site (the fence's, else its first site); nullopt when the fence cannot
  // say (then no schedule runs this tick).
  std::optional<std::map<std::string, std::string>> ActiveSites();
  void HealthRounds(int64_t now_mono);
  // The services declared failed in one round; a service that another of them depends on is
  // failed over with it (Declare's `with`) rather than alone.
  void DeclareRound(std::shared_ptr<const plan::Plan> plan,
                    const std::vector<std::pair<const plan::Service*, ServiceHealth>>& declared);
  // Returns whether its failover was enqueued (or, with `with`, is part of that service's).
  bool Declare(std::shared_ptr<const plan::Plan> plan, const plan::Service& svc,
               const ServiceHealth& h, const std::string& with);
  // The failover rule (failover_rule.h) for a declared service, and the failover enqueued when
  // it allows; RecheckHeld asks it again for the services it held back (each health round).
  FailoverDecision Decide(const plan::Service& svc, const std::string& active);
  void EnqueueFailover(std::shared_ptr<const plan::Plan> plan, const plan::Service& svc,
                       std::optional<fence::MemberGuard> guard, const ServiceHealth& h);
  void RecheckHeld(std::shared_ptr<const plan::Plan> plan, const std::vector<std::string>& names);
  void MaybeCommit();
  Status StartDashboard();
  IncidentJobOptions JobOptions() const;
  void MaybeStartRun(const std::map<std::string, std::string>& active);
  // `read_roots`: dr::RunOptions::read_roots (services active at a recovery site).
  void RunSchedules(std::shared_ptr<const plan::Plan> plan, std::vector<std::string> services,
                    std::map<std::string, std::string> read_roots, const Context& ctx);
  void Enqueue(Job job);
  void WorkerLoop();
  void SendEvent(const plan::Plan& plan, plan::Event type, const std::string& service,
                 std::optional<int> tier, const std::string& site, const std::string& message,
                 const nlohmann::json& details);
  void PublishHealth();
  void RecoverJournal();
  Status WriteJournal(bool running, int64_t start_ns, const std::vector<std::string>& services);
  int64_t LoopWaitNs() const;
  int64_t NextWakeMono() const;
  std::shared_ptr<const plan::Plan> plan() const;
  Status CheckSites(const plan::Plan& plan) const;

  DaemonOptions options_;
  const Context ctx_;  // options_.context with the stop flag as its cancel flag
  const std::string journal_path_;
  std::optional<RunLock> daemon_lock_;

  mutable Mutex log_mu_;

  mutable Mutex mu_;
  CondVar work_cv_;  // a job was queued, or stopping
  CondVar idle_cv_;  // the worker became idle
  CondVar wake_cv_;  // Run()'s wait: a reload or stop was requested
  std::shared_ptr<const plan::Plan> plan_ GUARDED_BY(mu_);
  int64_t plan_loaded_ns_ GUARDED_BY(mu_) = 0;
  std::vector<std::string> sites_ GUARDED_BY(mu_);  // resolved (every site when none given)
  bool started_ GUARDED_BY(mu_) = false;
  bool shut_down_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;  // also Run()'s wait flag
  bool wake_ GUARDED_BY(mu_) = false;
  bool reload_requested_ GUARDED_BY(mu_) = false;
  std::string last_reload_error_ GUARDED_BY(mu_);
  bool joined_ GUARDED_BY(mu_) = false;
  bool acting_ GUARDED_BY(mu_) = true;
  std::string not_acting_reason_ GUARDED_BY(mu_);
  std::map<std::string, ServiceHealth> health_ GUARDED_BY(mu_);
  std::map<std::string, int64_t> next_round_mono_ GUARDED_BY(mu_);
  std::map<std::string, ScheduleView> schedules_ GUARDED_BY(mu_);
  std::map<std::string, int64_t> holds_ GUARDED_BY(mu_);
  int64_t next_schedule_check_ns_ GUARDED_BY(mu_) = 0;
  std::vector<std::string> last_run_services_ GUARDED_BY(mu_);
  // Our services MaybeStartRun last left out (dr::RunPlacement::skip), with why: logged when
  // this changes.
  std::map<std::string, std::string> last_skipped_ GUARDED_BY(mu_);
  std::deque<Job> jobs_ GUARDED_BY(mu_);
  bool busy_ GUARDED_BY(mu_) = false;
  std::string current_job_ GUARDED_BY(mu_);
  int64_t current_job_since_ns_ GUARDED_BY(mu_) = 0;
  uint64_t ticks_ GUARDED_BY(mu_) = 0, runs_ GUARDED_BY(mu_) = 0;
  std::string last_run_id_ GUARDED_BY(mu_);
  int last_run_exit_ GUARDED_BY(mu_) = 0;
  std::string last_publish_error_ GUARDED_BY(mu_);
  int64_t started_ns_ GUARDED_BY(mu_) = 0;
  // Declared services whose failover the rule held back -> the rule's last answer.
  std::map<std::string, std::string> held_ GUARDED_BY(mu_);
  CommitWatch commit_watch_;            // loop thread only
  std::string last_commit_read_error_;  // loop thread only
  std::atomic<bool> commit_ended_{false};
  int64_t commit_wait_since_ns_ GUARDED_BY(mu_) = 0;
  uint64_t commits_ GUARDED_BY(mu_) = 0;
  std::unique_ptr<DaemonDashboard> dashboard_;  // set by Start, stopped by Shutdown
  std::string dashboard_url_ GUARDED_BY(mu_);

  std::atomic<bool> stop_flag_{false};   // ctx_'s cancel flag
  std::atomic<bool> job_cancel_{false};  // the running job's cancel flag
  std::thread worker_;
};

}  // namespace lifeboat::daemon
