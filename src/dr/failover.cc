// PerformFailover: fence, preconditions, the incident opened, the recovery in waves with the
// switch steps, the incident's state and notifications. Commit, rollback and status are
// failover_incident.cc's; the forms failover_format.cc's.
#include "dr/failover.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "dr/failover_internal.h"
#include "dr/run_internal.h"
#include "dr/sites.h"
#include "dr/switch_steps.h"
#include "notify/event.h"

namespace lifeboat::dr {

int FailoverOutcome::ExitCode() const {
  switch (result) {
    case Result::kDryRun:
      return preconditions.ok() ? 0 : 2;
    case Result::kRefused:
      return 2;
    case Result::kFencedOut:
      return 4;
    case Result::kDone:
      break;
  }
  if (!report) return 3;
  return report->ExitCode();
}

namespace {

std::string ResultOf(recover::ServiceState s) {
  switch (s) {
    case recover::ServiceState::kPassed:
      return "recovered";
    case recover::ServiceState::kFailed:
      return "failed";
    case recover::ServiceState::kSkipped:
      return "skipped";
    case recover::ServiceState::kCancelled:
      return "cancelled";
  }
  return "failed";
}

// The production ports of a service: its recover steps' ports.
std::vector<std::pair<std::string, int>> PortsOf(const plan::Service& svc) {
  std::vector<std::pair<std::string, int>> out;
  for (const plan::RecoverStep& st : svc.recover) {
    for (const auto& p : st.ports) out.push_back(p);
  }
  return out;
}

}  // namespace

Result<FailoverOutcome> PerformFailover(const plan::Plan& plan, const FailoverOptions& options) {
  if (options.fence == nullptr) return Status::InvalidArgument("a failover needs a fence");
  if (options.state_dir.empty())
    return Status::InvalidArgument("a failover needs a state directory");
  const Context& ctx = options.recover.context;
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  const std::string& to = options.recover.site;
  if (to.empty()) return Status::InvalidArgument("name the recovery site: --to SITE");
  const plan::Site* to_site = plan.FindSite(to);
  if (to_site == nullptr) {
    std::string names;
    for (const plan::Site& s : plan.sites) names += (names.empty() ? "" : ", ") + s.name;
    return Status::InvalidArgument("no site named \"" + to + "\" in the plan " + plan.file +
                                   " (its sites: " + names + ")");
  }
  LB_ASSIGN_OR_RETURN(std::vector<recover::Wave> waves,
                      recover::RecoveryWaves(plan, options.recover.services));
  FailoverOutcome out;
  auto refuse = [&](FailoverOutcome::Result why, std::string message) {
    out.result = why;
    out.refusal = std::move(message);
    return out;
  };

  // An open incident refuses any new one (commit or roll it back first).
  LB_ASSIGN_OR_RETURN(std::optional<IncidentState> open, LoadIncidentState(options.state_dir));
  if (open && open->open()) {
    return refuse(FailoverOutcome::Result::kRefused,
                  "incident " + open->id + " (a failover to " + open->to_site +
                      ") is still open: commit it (lifeboat failover commit) or roll it back "
                      "(lifeboat failover rollback) first");
  }

  // The fence, held for the whole failover; each service's active site now.
  Result<std::unique_ptr<fence::FenceAction>> action = options.fence->BeginAction(ctx);
  if (!action.ok()) {
    return refuse(
        FailoverOutcome::Result::kFencedOut,
        "fenced out (" + std::string(options.fence->Kind()) + "): " + action.status().message());
  }
  std::map<std::string, fence::ActiveSite> active;
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      LB_ASSIGN_OR_RETURN(fence::ActiveSite a, (*action)->Active(ws.name));
      const plan::Service& svc = plan.services[ws.plan_index];
      if (!a.stored || a.site.empty()) a.site = svc.sites.front().name;
      if (a.site == to) {
        return refuse(FailoverOutcome::Result::kRefused,
                      "service " + ws.name + " is active at site " + to + " already" +
                          (a.incident.empty() ? "" : " (incident " + a.incident + ")"));
      }
      active[ws.name] = a;
    }
  }

  // The preconditions: what a dry run shows, and what must hold before anything changes.
  recover::RecoverOptions ro = options.recover;
  ro.mode = recover::RecoveryMode::kFailover;
  ro.recovery_root = to_site->recovery_root;
  LB_ASSIGN_OR_RETURN(out.preconditions, recover::CheckFailoverPreconditions(plan, ro));
  if (options.dry_run) {
    out.result = FailoverOutcome::Result::kDryRun;
    return out;
  }
  if (!out.preconditions.ok()) {
    return refuse(FailoverOutcome::Result::kRefused,
                  "a precondition failed; nothing was changed:\n" + out.preconditions.Failures());
  }
  if (options.confirm && !options.confirm(out.preconditions)) {
    return refuse(FailoverOutcome::Result::kRefused, "not confirmed; nothing was changed");
  }

  // The incident: each service moved here under the fence, the state written, the news sent. A
  // closed incident's state makes room (STATE_DIR/incidents/ID.json).
  if (open) LB_RETURN_IF_ERROR(ArchiveIncidentState(options.state_dir, *open));
  IncidentState& inc = out.incident;
  LB_ASSIGN_OR_RETURN(inc.id, NewIncidentId());
  inc.plan_file = plan.file;
  inc.declared_by =
      options.declared_by.empty() ? internal::OperatorName(host) : options.declared_by;
  inc.reason = options.reason;
  inc.to_site = to;
  inc.recovery_root = out.preconditions.recovery_root;
  inc.host = host;
  inc.version = internal::ProgramVersion();
  inc.start_ns = ctx.clock().WallNs();
  inc.failure_ns = options.failure_ns != 0 ? options.failure_ns : inc.start_ns;
  for (const recover::PlannedSnapshot& p : out.preconditions.snapshots) {
    for (const std::string& path : p.paths) inc.written_paths.push_back(path);
  }
  for (const std::string& path : out.preconditions.cluster_dirs) inc.written_paths.push_back(path);
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      const plan::Service& svc = plan.services[ws.plan_index];
      IncidentService s;
      s.service = ws.name;
      s.tier = ws.tier;
      s.wave = w.number;
      s.result = "pending";
      s.from_site = active[ws.name].site;
      s.rpo_target_seconds = static_cast<double>(svc.rpo.count());
      if (svc.rto) s.rto_target_seconds = static_cast<double>(svc.rto->count());
      s.ports = PortsOf(svc);
      inc.services.push_back(std::move(s));
    }
  }
  for (IncidentService& s : inc.services) {
    Result<uint64_t> token = (*action)->MoveActive(s.service, active[s.service], to, inc.id);
    if (!token.ok()) {
      // Services moved already stay moved under this incident: it is open, and rollback moves
      // them back.
      inc.state = std::string(kIncidentFailed);
      inc.end_ns = ctx.clock().WallNs();
      inc.timeline.push_back({inc.end_ns,
                              "fenced out moving " + s.service + ": " + token.status().message(),
                              s.service, to});
      SaveIncidentState(options.state_dir, inc).IgnoreError();
      return refuse(FailoverOutcome::Result::kFencedOut, "fenced out moving " + s.service + " to " +
                                                             to + ": " + token.status().message());
    }
    s.token = *token;
    inc.token = std::max(inc.token, *token);
  }
  inc.timeline.push_back({inc.start_ns, "failover started (" + inc.declared_by + ")", "", to});
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::WriteFailoverRecords(plan, &inc, ctx, &out.warnings);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::SendFailoverEvents(
      plan, options.state_dir, ctx, options.notify_retry, host,
      {internal::FailoverEvent(notify::EventType::kFailoverStarted, inc, nullptr,
                               "failover to " + to + " started (incident " + inc.id + ")",
                               inc.start_ns, host)},
      &out.notifications, &out.warnings);

  // The recovery, with the switch steps once a service is verified; what runs on is recorded
  // as soon as it runs.
  Mutex state_mu;
  const std::vector<std::string> secrets = PlanSecretVariables(plan);
  ro.on_left_running = [&](const recover::LeftRunning& lr) {
    MutexLock lock(&state_mu);
    inc.left_running.push_back(lr);
    Status st = SaveIncidentState(options.state_dir, inc);
    if (!st.ok()) out.warnings.push_back(st.message());
  };
  ro.after_verify = [&](const recover::ServiceRecovery& r,
                        std::vector<recover::StepRecord>* steps) -> Status {
    const plan::Service* svc = plan.FindService(r.service);
    IncidentService snapshot_of_service;
    {
      MutexLock lock(&state_mu);
      snapshot_of_service = *inc.Find(r.service);
    }
    SwitchTarget target{
        to,     snapshot_of_service.from_site, snapshot_of_service.token, inc.id, r.restore_dir,
        r.ports};
    Status st = RunSwitchSteps(*svc, target, secrets, ctx, options.recover.on_line, steps);
    MutexLock lock(&state_mu);
    IncidentService* s = inc.Find(r.service);
    s->switched = st.ok();
    inc.timeline.push_back({ctx.clock().WallNs(),
                            st.ok() ? "switched to " + to : "switch failed: " + st.message(),
                            r.service, to});
    SaveIncidentState(options.state_dir, inc).IgnoreError();
    return st;
  };
  LB_ASSIGN_OR_RETURN(recover::RecoveryReport report, recover::RecoverServices(plan, ro));

  // The outcome per service, the state, the news.
  std::vector<notify::Event> events;
  inc.left_running = report.left_running;
  for (const recover::ServiceRecovery& r : report.services) {
    IncidentService* s = inc.Find(r.service);
    if (s == nullptr) continue;
    s->result = ResultOf(r.state);
    s->error = r.failure;
    int64_t oldest = 0;
    for (const recover::RestoredSource& src : r.sources) {
      s->snapshots.emplace_back(src.name, src.snapshot);
      if (oldest == 0 || src.snapshot_time_ns < oldest) oldest = src.snapshot_time_ns;
    }
    s->snapshot_time_ns = oldest;
    if (oldest != 0) {
      s->data_loss_seconds =
          static_cast<double>(std::max<int64_t>(0, inc.failure_ns - oldest)) / 1e9;
    }
    if (r.passed() && r.end_ns != 0) {
      // Incident start -> the service switched (its recovery's end).
      s->rto_seconds = static_cast<double>(std::max<int64_t>(0, r.end_ns - inc.start_ns)) / 1e9;
    }
    s->notes = r.fallback_reads;
    for (const std::string& n : r.notes) s->notes.push_back(n);
    s->steps = internal::IncidentSteps(r.steps);
    const int64_t now = ctx.clock().WallNs();
    if (r.passed()) {
      inc.timeline.push_back({r.end_ns, "recovered", r.service, to});
      events.push_back(internal::FailoverEvent(
          notify::EventType::kServiceRecovered, inc, s,
          r.service + " recovered at " + to + " in " + recover::FormatSeconds(*s->rto_seconds), now,
          host));
    } else {
      inc.timeline.push_back({now, s->result + ": " + r.failure, r.service, to});
      events.push_back(internal::FailoverEvent(
          notify::EventType::kFailoverFailed, inc, s,
          r.service + " not recovered at " + to + ": " + r.failure, now, host));
    }
  }
  inc.end_ns = ctx.clock().WallNs();
  if (report.cancelled) inc.timeline.push_back({inc.end_ns, "interrupted", "", to});
  out.warnings.insert(out.warnings.end(), report.warnings.begin(), report.warnings.end());
  out.report = std::move(report);
  internal::WriteFailoverRecords(plan, &inc, ctx, &out.warnings);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::SendFailoverEvents(plan, options.state_dir, ctx, options.notify_retry, host, events,
                               &out.notifications, &out.warnings);
  return out;
}

}  // namespace lifeboat::dr
