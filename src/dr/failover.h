// PerformFailover: `lifeboat failover` as a library call (doc/failover.md, "Failover"), the one
// code path of the verb (and of the daemon, later). In order:
//   1. the services (named ones, or all) with everything they depend on, in waves;
//   2. the fence: an action begun (FenceAction), each service's active site read; a service
//      already active at the recovery site, or an open incident in the state directory, refuses
//      the failover, except that a failover to the site of the open failover JOINS it: what is
//      active there already (recovered by the incident, or committed there before) is not
//      recovered again but reached as a dependency, the others are appended to the incident
//      under its id (doc/failover.md, "Joining an open incident"); a service that the open
//      incident failed refuses the join;
//   3. the preconditions (recover/preconditions.h); --dry-run stops here, having changed nothing;
//      a failed precondition refuses the failover;
//   4. `confirm` (the CLI asks a person or requires --yes);
//   5. each service moved to the recovery site under the fence (MoveActive: its fencing token);
//      the incident opened: STATE_DIR/incident.json written durably, failover_started sent;
//   6. the recovery in waves (recover::RecoverServices in failover mode); once a service is
//      verified its switch steps run (dr/switch_steps.h) before its dependents start; a failing
//      switch step fails the service; what is left running is written to the incident state as
//      soon as it runs;
//   7. service_recovered / failover_failed per service; the incident state rewritten with the
//      timeline, each service's achieved RTO (incident start, or its join -> switched) and data-
//      loss window (failure -> the oldest restored snapshot's time).
// The incident stays open (exit 0 or 3) until CommitFailover or RollbackFailover.
//
//   FailoverOptions o;  o.recover.site = "dr";  o.recover.services = {"shop"};
//   o.fence = fence.get();  o.state_dir = state_dir;  o.confirm = [](auto&) { return true; };
//   LB_ASSIGN_OR_RETURN(FailoverOutcome f, PerformFailover(plan, o));
//   std::cout << FormatFailoverOutcome(f);  return f.ExitCode();
//
// Each state change (opened, recovered, committed, rolled back) also writes an incident record
// (runlog/incident_records.h) to the recovery site and the services' other sites: the same id, a
// higher sequence (IncidentState::record_sequence); a site that cannot be written is a warning in
// the outcome.
//
// Blocks (sites, recovery, steps, notifications). Callbacks as RecoverServices'.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dr/incident_state.h"
#include "fence/fence.h"
#include "notify/deliver.h"
#include "plan/plan.h"
#include "recover/preconditions.h"
#include "recover/recover.h"
#include "util/status.h"

namespace lifeboat::dr {

struct FailoverOptions {
  // services (empty: all), site (the recovery site, required), at, parallel, context, on_line,
  // postgres_bin_dir/user, decorate_backend. Mode, recovery root (the site's), on_left_running
  // and after_verify are set by PerformFailover.
  recover::RecoverOptions recover;
  fence::Fence* fence = nullptr;  // required
  // incident.json and notify-state.json live here. Required.
  std::string state_dir;
  bool dry_run = false;
  // Asked after the preconditions passed, before anything changes; false refuses the failover.
  // Empty: yes.
  std::function<bool(const recover::PreconditionReport&)> confirm;
  // Who declared it ("operator root@host" by default) and why.
  std::string declared_by, reason;
  // When the failure happened (the daemon: its first failed health check); 0: the start.
  int64_t failure_ns = 0;
  // The daemon's failover rule (doc/daemon.md, "Sites and active sites"): the member key of the
  // site the services leave, as the decision read it. Each service moved away from guard->site
  // is moved with FenceAction::MoveActiveGuarded, in the same transaction as that comparison;
  // when the key changed meanwhile the move is refused (kFencedOut). Unset: MoveActive (a
  // person's failover: the operator decides).
  std::optional<fence::MemberGuard> guard;
  std::string host;  // events' host ("" this machine's)
  notify::RetryPolicy notify_retry;
};

struct FailoverOutcome {
  enum class Result {
    kDone,       // the recovery ran (see report)
    kDryRun,     // preconditions only
    kRefused,    // a precondition failed, an open incident, the confirmation said no
    kFencedOut,  // the fence refused (another actor holds the right to act)
  };
  Result result = Result::kDone;
  std::string refusal;  // kRefused / kFencedOut: why
  // The open incident this failover joined (a dry run: would join; doc/failover.md, "Joining an
  // open incident"); "" when it opened its own. `incident` is then the whole joined incident.
  std::string joined;
  recover::PreconditionReport preconditions;
  std::optional<recover::RecoveryReport> report;
  IncidentState incident;  // as saved (kDone)
  std::vector<notify::DeliveryOutcome> notifications;
  std::vector<std::string> warnings;

  // 0 every service recovered and switched (or a dry run whose checks passed); 3 one failed; 2 a
  // precondition failed or the request was refused; 4 fenced out; 130 interrupted.
  int ExitCode() const;
};

// Errors only for a request that cannot start: no fence or state directory, an unknown service
// or site, a dependency cycle, an --at that names nothing, an unreadable incident state.
Result<FailoverOutcome> PerformFailover(const plan::Plan& plan, const FailoverOptions& options);

// What commit and rollback take.
struct IncidentActionOptions {
  fence::Fence* fence = nullptr;  // required
  std::string state_dir;          // required
  Context context;
  std::function<void(const std::string&)> on_line;
  std::string host;
  notify::RetryPolicy notify_retry;
  // Rollback: between SIGTERM and SIGKILL for what the failover left running.
  std::chrono::milliseconds stop_grace{10000};
  // Rollback of a failback (the services recovered at the recovery site again): the PostgreSQL
  // programs (empty: found) and, as root, the user clusters run as.
  std::string postgres_bin_dir;
  std::string postgres_user = "postgres";
};

// The rollback of a failback, per service: what runs at the recovery site again.
struct RestartNote {
  std::string service, site;  // site: the recovery site
  // "restarted" (recovered, verified and switched there), "failed" (it runs nowhere: error says
  // why), "left_running" (the failback never stopped it: untouched), "skipped" (moved by another
  // incident since: untouched).
  std::string result;
  std::string error;
  std::vector<recover::StepRecord> steps;  // restore, recover, verify, switch
};

struct IncidentActionOutcome {
  IncidentState incident;
  // Rollback: what was stopped, the switch steps back, where the files went.
  std::vector<recover::StopNote> stopped;
  std::vector<std::pair<std::string, std::vector<recover::StepRecord>>> switched;
  std::vector<std::string> moved;  // "FROM -> TO"
  // Rollback of a failback: each of its services at the recovery site (RestartNote).
  std::vector<RestartNote> restarted;
  std::vector<notify::DeliveryOutcome> notifications;
  std::vector<std::string> warnings;
  // A switch step back failed, a process could not be stopped, or (a failback's rollback) a
  // service could not be restarted at the recovery site.
  bool failed = false;
  bool fenced_out = false;
  // 0 done; 3 something failed (the warnings say what); 4 fenced out.
  int ExitCode() const;
};

// `failover commit`: the open incident becomes final (state committed, failover_committed).
// FailedPrecondition when there is no open incident.
Result<IncidentActionOutcome> CommitFailover(const plan::Plan& plan,
                                             const IncidentActionOptions& options);
// `failover rollback`: each service moved back under the fence (a new token), what the failover
// left running stopped (StopLeftRunning), the switch steps of the services that were switched run
// towards their original site with the new token, every path the failover wrote moved aside to
// RECOVERY_ROOT/.lifeboat-rolled-back/INCIDENT/ (nothing deleted), state rolled_back,
// failover_rolled_back. A failback's rollback also brings its services up at the recovery site
// again (dr/failback.h; their switch steps run once each is verified there). FailedPrecondition
// when there is no open incident.
Result<IncidentActionOutcome> RollbackFailover(const plan::Plan& plan,
                                               const IncidentActionOptions& options);
// `failover status`: the incident in the state directory (open or the last closed one); nullopt
// when there is none.
Result<std::optional<IncidentState>> FailoverStatus(const std::string& state_dir);

// JSON (doc/failover.md, "JSON") and text forms.
nlohmann::ordered_json FailoverOutcomeToJson(const FailoverOutcome& outcome);
std::string FormatFailoverOutcome(const FailoverOutcome& outcome);
nlohmann::ordered_json IncidentActionToJson(const IncidentActionOutcome& outcome,
                                            std::string_view action);
std::string FormatIncidentAction(const IncidentActionOutcome& outcome, std::string_view action);
// The incident with, per process left running, whether it still runs.
nlohmann::ordered_json IncidentStatusToJson(const IncidentState& state);
std::string FormatIncidentStatus(const IncidentState& state);

}  // namespace lifeboat::dr
