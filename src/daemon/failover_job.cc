#include "daemon/failover_job.h"

#include <sstream>

namespace lifeboat::daemon {

namespace {

void LogText(const IncidentJobOptions& o, const std::string& text) {
  if (!o.on_line) return;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) o.on_line(line);
  }
}

dr::FailoverOptions BaseOptions(const IncidentJobOptions& o, const Context& ctx) {
  dr::FailoverOptions f;
  f.recover.context = ctx;
  f.recover.on_line = o.on_line;
  f.fence = o.fence;
  f.state_dir = o.state_dir;
  f.confirm = [](const recover::PreconditionReport&) { return true; };
  f.host = o.host;
  f.notify_retry = o.notify_retry;
  return f;
}

}  // namespace

Status PerformDeclaredFailover(const plan::Plan& plan, const FailoverRequest& request,
                               const IncidentJobOptions& options, const Context& ctx) {
  if (options.fence == nullptr) {
    return Status::FailedPrecondition("the daemon has no fence: it cannot fail a service over");
  }
  dr::FailoverOptions f = BaseOptions(options, ctx);
  f.recover.services = {request.service};
  f.recover.site = request.to_site;
  f.declared_by = "daemon " + request.to_site;
  f.reason = request.reason;
  f.failure_ns = request.failure_ns;
  f.guard = request.guard;
  Result<dr::FailoverOutcome> outcome = dr::PerformFailover(plan, f);
  if (!outcome.ok()) return outcome.status();
  LogText(options, dr::FormatFailoverOutcome(*outcome));
  if (!outcome->joined.empty() && outcome->result == dr::FailoverOutcome::Result::kDone) {
    // A dependency declared a round earlier opened the incident (doc/daemon.md, "Failing over").
    LogText(options, "failover of " + request.service + " to " + request.to_site +
                         " joined incident " + outcome->joined);
  }
  const int exit_code = outcome->ExitCode();
  if (exit_code == 0) return Status::Ok();
  switch (outcome->result) {
    case dr::FailoverOutcome::Result::kRefused:
      return Status::FailedPrecondition("refused: " + outcome->refusal);
    case dr::FailoverOutcome::Result::kFencedOut:
      return Status::FailedPrecondition(outcome->refusal);
    default:
      break;
  }
  if (exit_code == 130) {
    return Status::Cancelled("interrupted; incident " + outcome->incident.id +
                             " stays open (lifeboat failover rollback undoes what was started)");
  }
  return Status::Internal("a service was not recovered; incident " + outcome->incident.id +
                          " stays open (lifeboat failover status; then commit or rollback)");
}

FailoverCallback DrFailoverCallback(IncidentJobOptions options) {
  return [options = std::move(options)](const FailoverRequest& request, const Context& ctx) {
    if (request.plan == nullptr) {
      return Status::InvalidArgument("the failover request of " + request.service +
                                     " carries no plan");
    }
    return PerformDeclaredFailover(*request.plan, request, options, ctx);
  };
}

Result<dr::FailoverOutcome> PerformRequestedFailover(const plan::Plan& plan,
                                                     const dashboard::FailoverRequest& request,
                                                     const IncidentJobOptions& options,
                                                     const Context& ctx) {
  if (options.fence == nullptr) {
    return Status::FailedPrecondition("the daemon has no fence: it cannot fail a service over");
  }
  dr::FailoverOptions f = BaseOptions(options, ctx);
  if (!request.all) f.recover.services = request.services;
  f.recover.site = request.to;
  f.recover.at = request.at;
  f.dry_run = request.dry_run;
  f.declared_by = request.requested_by;
  Result<dr::FailoverOutcome> outcome = dr::PerformFailover(plan, f);
  if (outcome.ok()) LogText(options, dr::FormatFailoverOutcome(*outcome));
  return outcome;
}

Result<dr::IncidentActionOutcome> RunIncidentAction(const plan::Plan& plan, std::string_view action,
                                                    const IncidentJobOptions& options,
                                                    const Context& ctx) {
  if (action != "commit" && action != "rollback") {
    return Status::InvalidArgument("unknown incident action " + std::string(action));
  }
  if (options.fence == nullptr) {
    return Status::FailedPrecondition("the daemon has no fence: it cannot " + std::string(action));
  }
  dr::IncidentActionOptions o;
  o.fence = options.fence;
  o.state_dir = options.state_dir;
  o.context = ctx;
  o.on_line = options.on_line;
  o.host = options.host;
  o.notify_retry = options.notify_retry;
  Result<dr::IncidentActionOutcome> r =
      action == "commit" ? dr::CommitFailover(plan, o) : dr::RollbackFailover(plan, o);
  if (r.ok()) LogText(options, dr::FormatIncidentAction(*r, action));
  return r;
}

}  // namespace lifeboat::daemon
