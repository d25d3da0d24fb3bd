// The open incident after `lifeboat failover`: commit, rollback, status (doc/failover.md,
// "Commit and rollback").
#include "dr/failover.h"
#include "dr/failover_internal.h"
#include "dr/sites.h"
#include "dr/switch_steps.h"
#include "util/file_io.h"

namespace lifeboat::dr {

int IncidentActionOutcome::ExitCode() const {
  if (fenced_out) return 4;
  return failed ? 3 : 0;
}

namespace {

Result<IncidentState> LoadOpen(const IncidentActionOptions& options, std::string_view action) {
  if (options.fence == nullptr || options.state_dir.empty()) {
    return Status::InvalidArgument(std::string(action) + " needs a fence and a state directory");
  }
  LB_ASSIGN_OR_RETURN(std::optional<IncidentState> s, LoadIncidentState(options.state_dir));
  if (!s || !s->open()) {
    return Status::FailedPrecondition(
        "no open failover incident in " + options.state_dir +
        (s ? " (the last one, " + s->id + ", is " + s->state + ")" : std::string()) +
        ": nothing to " + std::string(action));
  }
  return *s;
}

// "; shop restarted at b; billing NOT running (...)" for a failback's rollback; "" otherwise.
std::string RestartSummary(const IncidentActionOutcome& out) {
  std::string text;
  for (const RestartNote& n : out.restarted) {
    text += "; " + n.service +
            (n.result == "restarted"      ? " restarted at " + n.site
             : n.result == "left_running" ? " left running at " + n.site
             : n.result == "skipped"      ? " left alone"
                                          : " NOT running (" + n.error + ")");
  }
  return text;
}

}  // namespace

Result<IncidentActionOutcome> CommitFailover(const plan::Plan& plan,
                                             const IncidentActionOptions& options) {
  LB_ASSIGN_OR_RETURN(IncidentState inc, LoadOpen(options, "commit"));
  IncidentActionOutcome out;
  Result<std::unique_ptr<fence::FenceAction>> action = options.fence->BeginAction(options.context);
  if (!action.ok()) {
    out.fenced_out = true;
    out.incident = inc;
    out.warnings.push_back("fenced out: " + action.status().message());
    return out;
  }
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  const int64_t now = options.context.clock().WallNs();
  inc.state = std::string(kIncidentCommitted);
  inc.end_ns = now;
  inc.timeline.push_back({now, "committed", "", inc.to_site});
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::WriteFailoverRecords(plan, &inc, options.context, &out.warnings);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::SendFailoverEvents(
      plan, options.state_dir, options.context, options.notify_retry, host,
      {internal::FailoverEvent(
          notify::EventType::kFailoverCommitted, inc, nullptr,
          inc.kind + " to " + inc.to_site + " committed (incident " + inc.id + ")", now, host)},
      &out.notifications, &out.warnings);
  out.incident = std::move(inc);
  return out;
}

Result<IncidentActionOutcome> RollbackFailover(const plan::Plan& plan,
                                               const IncidentActionOptions& options) {
  LB_ASSIGN_OR_RETURN(IncidentState inc, LoadOpen(options, "roll back"));
  IncidentActionOutcome out;
  const Context& ctx = options.context;
  auto line = [&](const std::string& l) {
    if (options.on_line) options.on_line(l);
  };
  Result<std::unique_ptr<fence::FenceAction>> action = options.fence->BeginAction(ctx);
  if (!action.ok()) {
    out.fenced_out = true;
    out.incident = inc;
    out.warnings.push_back("fenced out: " + action.status().message());
    return out;
  }
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  // 1. Each service back to where it was, under the fence: a new token.
  std::map<std::string, uint64_t> back_tokens;
  for (IncidentService& s : inc.services) {
    if (s.token == 0) continue;  // never moved
    LB_ASSIGN_OR_RETURN(fence::ActiveSite a, (*action)->Active(s.service));
    if (a.incident != inc.id) {
      out.warnings.push_back("service " + s.service + " was moved by incident " + a.incident +
                             " since: left where it is");
      continue;
    }
    Result<uint64_t> token = (*action)->MoveActive(s.service, a, s.from_site, inc.id);
    if (!token.ok()) {
      out.fenced_out = true;
      out.warnings.push_back("fenced out moving " + s.service + " back to " + s.from_site + ": " +
                             token.status().message());
      out.incident = inc;
      return out;
    }
    back_tokens[s.service] = *token;
    inc.token = std::max(inc.token, *token);
    inc.timeline.push_back({ctx.clock().WallNs(),
                            "moved back (token " + std::to_string(*token) + ")", s.service,
                            s.from_site});
  }
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  // 2. Stop what the failover left running.
  out.stopped = recover::StopLeftRunning(inc.left_running, options.stop_grace);
  for (const recover::StopNote& n : out.stopped) {
    line(n.service + ": " + n.what + ": " + (n.was_running ? "stopped" : "had exited") +
         (n.status.ok() ? "" : " (" + n.status.message() + ")"));
    if (!n.status.ok()) {
      out.failed = true;
      out.warnings.push_back(n.service + ": " + n.what + " may still run: " + n.status.message());
    }
  }
  inc.left_running.clear();
  inc.timeline.push_back({ctx.clock().WallNs(), "stopped what the failover started", "", ""});
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  // 3. What the incident wrote, moved aside (nothing deleted).
  std::string root = inc.recovery_root == "/" ? "" : inc.recovery_root;
  inc.moved_aside_to = root + "/.lifeboat-rolled-back/" + inc.id;
  for (const std::string& path : inc.written_paths) {
    Status st = internal::MoveAside(root, inc.moved_aside_to, path, &out.moved);
    if (!st.ok()) {
      out.failed = true;
      out.warnings.push_back(st.message());
    }
  }
  for (const std::string& m : out.moved) line("moved " + m);
  // 4. A failback's services up again at the recovery site, switched there once verified
  // (failback_rollback.cc); the switch steps towards the original site for every other service
  // that was switched (a failover's; a failback's that could not be restarted).
  std::vector<notify::Event> events;
  if (inc.kind == "failback") {
    LB_RETURN_IF_ERROR(
        internal::RestartFailbackServices(plan, options, back_tokens, &inc, &out, &events));
  }
  const std::vector<std::string> secrets = PlanSecretVariables(plan);
  for (IncidentService& s : inc.services) {
    const plan::Service* svc = plan.FindService(s.service);
    if (!s.switched || svc == nullptr || !back_tokens.count(s.service)) continue;
    if (s.restart == "restarted") continue;  // switched there once verified
    SwitchTarget target{s.from_site, inc.to_site,       back_tokens[s.service],
                        inc.id,      inc.recovery_root, s.ports};
    std::vector<recover::StepRecord> steps;
    Status st = RunSwitchSteps(*svc, target, secrets, ctx, options.on_line, &steps);
    out.switched.emplace_back(s.service, steps);
    s.switched = false;
    inc.timeline.push_back(
        {ctx.clock().WallNs(),
         st.ok() ? "switched back to " + s.from_site : "switch back failed: " + st.message(),
         s.service, s.from_site});
    if (!st.ok()) {
      out.failed = true;
      out.warnings.push_back(s.service + ": " + st.message());
    }
  }
  for (IncidentService& s : inc.services) {
    if (s.restart == "restarted") s.switched = false;  // towards SITE no more
  }
  // 5. Recorded.
  const int64_t now = ctx.clock().WallNs();
  inc.state = std::string(kIncidentRolledBack);
  inc.end_ns = now;
  inc.timeline.push_back(
      {now, "rolled back; files moved to " + inc.moved_aside_to + RestartSummary(out), "", ""});
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::WriteFailoverRecords(plan, &inc, ctx, &out.warnings);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  events.push_back(
      internal::FailoverEvent(notify::EventType::kFailoverRolledBack, inc, nullptr,
                              inc.kind + " to " + inc.to_site + " rolled back (incident " + inc.id +
                                  "); its files are in " + inc.moved_aside_to + RestartSummary(out),
                              now, host));
  internal::SendFailoverEvents(plan, options.state_dir, ctx, options.notify_retry, host, events,
                               &out.notifications, &out.warnings);
  out.incident = std::move(inc);
  return out;
}

Result<std::optional<IncidentState>> FailoverStatus(const std::string& state_dir) {
  return LoadIncidentState(state_dir);
}

}  // namespace lifeboat::dr
