// PerformFailback: `lifeboat failback --to SITE` as a library call (doc/failover.md, "Failback"):
// the services of the last failover brought home to SITE, their original site, with the data
// written at the recovery site meanwhile. In order:
//   1. the failover to end: the incident in the state directory, open or committed (an open one
//      is closed by the failback; so is a committed one), or the one a rolled-back failback
//      ended (refused when that rollback could not restart a service); SITE must be its
//      services' original site, each of them recovered;
//   2. the fence: an action begun (FenceAction), each service still active at the recovery site;
//   3. the checks (what --dry-run shows, changing nothing): SITE's repository opens, the
//      recovery site's too, each postgres source's cluster of the failover runs and its login is
//      there; a failed check refuses the failback;
//   4. `confirm`;
//   5. the failback opened as an incident of its own (kind failback, ends_incident the failover,
//      its local state and records as a failover's); each service moved to SITE under the fence
//      (a new fencing token); the failover closed (state closed, its record rewritten);
//   6. in reverse waves (dependents first), per service: a final backup of it as it runs at the
//      recovery site (dr::RunPlan with RunOptions::read_roots: paths read below the recovery
//      root, postgres dumped from the failover's cluster) to every site of the service, SITE
//      included; then what the failover left running for it stopped (StopLeftRunning; `stopped`
//      in the state once it is). A backup that does not reach SITE stops the failback there (the
//      service keeps running);
//   7. at SITE: the paths the restore writes below SITE's recovery root that are not empty moved
//      aside to ROOT/.lifeboat-failback/INCIDENT/ (nothing deleted), the failover preconditions
//      checked there (ports free now that the recovery site's copies are stopped), then the
//      recovery in waves from SITE's newest snapshots (the final backups) with the switch steps
//      towards SITE, as a failover's (recover::RecoverServices, failover mode);
//   8. service_recovered / failover_failed, the local state and the record.
// The failback incident stays open: `failover commit` makes it final; `failover rollback`
// (RollbackFailover) stops what it started at SITE, moves its files there aside and brings the
// services up at the recovery site again: each one stopped there (IncidentService::stopped) is
// recovered below its recovery root from the final backups (what is in the way moved to
// RECOVERY_ROOT/.lifeboat-rolled-back/INCIDENT/ first), verified and switched back with a new
// token; what runs then is recorded in the failback's state and in the failover it ended, so a
// later failback stops it (failback_rollback.cc). A service it cannot restart: exit 3, said.
//
//   FailbackOptions o;  o.to = "main";  o.fence = fence.get();  o.state_dir = dir;
//   LB_ASSIGN_OR_RETURN(FailbackOutcome f, PerformFailback(plan, o));
//   std::cout << FormatFailbackOutcome(f);  return f.ExitCode();
//
// Blocks (sites, backups, recovery, steps, notifications). Callbacks as RecoverServices'.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dr/failover.h"
#include "dr/incident_state.h"
#include "fence/fence.h"
#include "notify/deliver.h"
#include "plan/plan.h"
#include "recover/left_running.h"
#include "recover/preconditions.h"
#include "recover/recover.h"
#include "util/status.h"

namespace lifeboat::dr {

struct FailbackOptions {
  std::string to;                 // SITE: the original site (required)
  fence::Fence* fence = nullptr;  // required
  std::string state_dir;          // required: incident.json, run locks, notify state
  bool dry_run = false;
  // Asked after the checks passed, before anything changes; false refuses. Empty: yes.
  std::function<bool(const recover::PreconditionReport&)> confirm;
  // parallel, context, on_line, postgres_bin_dir/user, decorate_backend of the recovery at SITE;
  // mode, site, services, recovery root and callbacks are set by PerformFailback.
  recover::RecoverOptions recover;
  std::string declared_by, reason;  // "operator root@host" by default
  std::string host;                 // events' and snapshots' host ("" this machine's)
  notify::RetryPolicy notify_retry;
  // Between SIGTERM and SIGKILL for what the failover left running.
  std::chrono::milliseconds stop_grace{10000};
};

// One source's final backup at one site.
struct FinalBackup {
  std::string service, source, site;
  std::string snapshot;  // 64 hex; "" when it failed
  std::string error;     // redacted; "" when it landed
};

struct FailbackOutcome {
  // result, refusal, checks (preconditions: first the failback's, then SITE's failover checks),
  // the recovery at SITE (report) and the failback incident (incident), notifications, warnings.
  FailoverOutcome failback;
  std::optional<IncidentState> ended;  // the failover it ended (state closed), once opened
  std::vector<FinalBackup> backups;
  std::vector<recover::StopNote> stopped;  // at the recovery site
  std::vector<std::string> moved;          // "FROM -> TO" at SITE
  bool failed = false;                     // a final backup or a stop failed

  // As failover's: 0 every service back and switched (or a dry run whose checks passed); 3 one
  // failed (a final backup, a stop, the recovery); 2 a check failed or refused; 4 fenced out;
  // 130 interrupted.
  int ExitCode() const;
};

// Errors only for a request that cannot start: no fence, state directory or SITE, a SITE the
// plan does not have, an unreadable incident state, a dependency cycle.
Result<FailbackOutcome> PerformFailback(const plan::Plan& plan, const FailbackOptions& options);

// JSON (doc/failover.md, "Failback": failover's object plus "ends_incident", "final_backups",
// "stopped", "moved") and text.
nlohmann::ordered_json FailbackOutcomeToJson(const FailbackOutcome& outcome);
std::string FormatFailbackOutcome(const FailbackOutcome& outcome);

}  // namespace lifeboat::dr
