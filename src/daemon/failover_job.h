// The daemon's incident work as library calls (doc/daemon.md, "Failing over" and "Committing a
// failover"): a declared failover (dr::PerformFailover with the daemon as the declarer), an
// operator's failover through the API, and commit / rollback of the open incident, each logging
// the lines `lifeboat failover` would print. The daemon runs them on its worker thread (one job at
// a time); the CLI gives DrFailoverCallback to the daemon.
//
//   IncidentJobOptions o;  o.fence = fence.get();  o.state_dir = dir;  o.on_line = log;
//   daemon_options.failover = DrFailoverCallback(o);
//   Result<dr::IncidentActionOutcome> c = RunIncidentAction(plan, "commit", o, ctx);
//
// Every function blocks (the fence, the sites, the recovery, notifications) until done or the
// context is cancelled; any thread; no state of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/daemon.h"
#include "dashboard/requests.h"
#include "dr/failover.h"
#include "fence/fence.h"
#include "notify/deliver.h"
#include "plan/plan.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::daemon {

struct IncidentJobOptions {
  fence::Fence* fence = nullptr;  // required (not owned)
  std::string state_dir;          // required: incident.json, notify-state.json
  std::string host;               // events' host ("" this machine's name)
  notify::RetryPolicy notify_retry;
  std::function<void(const std::string&)> on_line;  // every line; may be empty
};

// The failover the daemon declared: dr::PerformFailover of request.service to request.to_site,
// declared by "daemon SITE", with the request's reason and failure time, confirmed (the daemon
// is the one that decides), cancelled by ctx. The outcome's lines (FormatFailoverOutcome) are
// logged, and "failover of SERVICE to SITE joined incident ID" when it joined the open incident
// (a dependency declared a round earlier). OK when every service was recovered and switched;
// otherwise an error saying what happened (refused, fenced out, a service failed: its incident
// stays open for a person).
Status PerformDeclaredFailover(const plan::Plan& plan, const FailoverRequest& request,
                               const IncidentJobOptions& options, const Context& ctx);

// The callback DaemonOptions::failover takes: PerformDeclaredFailover with request.plan.
FailoverCallback DrFailoverCallback(IncidentJobOptions options);

// POST /api/v1/failover: `lifeboat failover` as the request says (services or all, to, at,
// dry_run), declared by request.requested_by ("API client 10.0.0.5"), confirmed. Its outcome
// (refused, fenced out and dry runs included) or the error of a request that cannot start.
Result<dr::FailoverOutcome> PerformRequestedFailover(const plan::Plan& plan,
                                                     const dashboard::FailoverRequest& request,
                                                     const IncidentJobOptions& options,
                                                     const Context& ctx);

// "commit" or "rollback" of the open incident (dr::CommitFailover / RollbackFailover); the
// outcome's lines are logged. FailedPrecondition when there is no open incident.
Result<dr::IncidentActionOutcome> RunIncidentAction(const plan::Plan& plan, std::string_view action,
                                                    const IncidentJobOptions& options,
                                                    const Context& ctx);

}  // namespace lifeboat::daemon
