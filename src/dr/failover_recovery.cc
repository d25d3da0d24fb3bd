// The recovery of an incident's services at its site (failover and failback share it): recover
// in failover mode, the switch steps once a service is verified, what runs on recorded as soon as
// it runs, then each service's result, RTO and data-loss window.
#include <unistd.h>

#include <algorithm>

#include "dr/failover_internal.h"
#include "dr/sites.h"
#include "dr/switch_steps.h"
#include "util/mutex.h"

namespace lifeboat::dr::internal {

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

}  // namespace

Result<recover::RecoveryReport> RecoverIncident(const plan::Plan& plan, recover::RecoverOptions ro,
                                                IncidentState* inc, const std::string& state_dir,
                                                const std::string& host,
                                                std::vector<notify::Event>* events,
                                                std::vector<std::string>* warnings) {
  return RecoverIncidentSaving(
      plan, std::move(ro), inc, state_dir,
      [&](const IncidentState& s) { return SaveIncidentState(state_dir, s); }, host, events,
      warnings);
}

Result<recover::RecoveryReport> RecoverIncidentSaving(
    const plan::Plan& plan, recover::RecoverOptions ro, IncidentState* inc,
    const std::string& state_dir, const std::function<Status(const IncidentState&)>& save,
    const std::string& host, std::vector<notify::Event>* events,
    std::vector<std::string>* warnings) {
  const Context& ctx = ro.context;
  const std::string to = inc->to_site;
  if (ro.log_dir.empty() && (ro.recovery_root.empty() || ro.recovery_root == "/") &&
      ::geteuid() != 0) {
    ro.log_dir = state_dir + "/logs";  // /var/log is not ours to write
  }
  // The recovery, with the switch steps once a service is verified; what runs on is recorded
  // as soon as it runs.
  Mutex state_mu;
  // A failover that joins an open incident keeps what its first part left running.
  const std::vector<recover::LeftRunning> running_before = inc->left_running;
  const std::vector<std::string> secrets = PlanSecretVariables(plan);
  ro.on_left_running = [&](const recover::LeftRunning& lr) {
    MutexLock lock(&state_mu);
    inc->left_running.push_back(lr);
    Status st = save(*inc);
    if (!st.ok()) warnings->push_back(st.message());
  };
  ro.after_verify = [&](const recover::ServiceRecovery& r,
                        std::vector<recover::StepRecord>* steps) -> Status {
    const plan::Service* svc = plan.FindService(r.service);
    IncidentService snapshot_of_service;
    {
      MutexLock lock(&state_mu);
      snapshot_of_service = *inc->Find(r.service);
    }
    SwitchTarget target{
        to,     snapshot_of_service.from_site, snapshot_of_service.token, inc->id, r.restore_dir,
        r.ports};
    Status st = RunSwitchSteps(*svc, target, secrets, ctx, ro.on_line, steps);
    MutexLock lock(&state_mu);
    IncidentService* s = inc->Find(r.service);
    s->switched = st.ok();
    inc->timeline.push_back({ctx.clock().WallNs(),
                             st.ok() ? "switched to " + to : "switch failed: " + st.message(),
                             r.service, to});
    save(*inc).IgnoreError();
    return st;
  };
  LB_ASSIGN_OR_RETURN(recover::RecoveryReport report, recover::RecoverServices(plan, ro));

  // The outcome per service, the state, the news.
  inc->left_running = running_before;
  inc->left_running.insert(inc->left_running.end(), report.left_running.begin(),
                           report.left_running.end());
  for (const recover::ServiceRecovery& r : report.services) {
    IncidentService* s = inc->Find(r.service);
    if (s == nullptr) continue;
    s->result = ResultOf(r.state);
    s->error = r.failure;
    int64_t oldest = 0;
    for (const recover::RestoredSource& src : r.sources) {
      s->snapshots.emplace_back(src.name, src.snapshot);
      if (oldest == 0 || src.snapshot_time_ns < oldest) oldest = src.snapshot_time_ns;
    }
    s->snapshot_time_ns = oldest;
    // A service that joined the incident later counts from its own failure and join.
    const int64_t failure_ns = s->failure_ns != 0 ? s->failure_ns : inc->failure_ns;
    const int64_t start_ns = s->joined_ns != 0 ? s->joined_ns : inc->start_ns;
    if (oldest != 0) {
      s->data_loss_seconds = static_cast<double>(std::max<int64_t>(0, failure_ns - oldest)) / 1e9;
    }
    if (r.passed() && r.end_ns != 0) {
      // Incident start (or the service's join) -> the service switched (its recovery's end).
      s->rto_seconds = static_cast<double>(std::max<int64_t>(0, r.end_ns - start_ns)) / 1e9;
    }
    s->notes = r.fallback_reads;
    for (const std::string& n : r.notes) s->notes.push_back(n);
    s->steps = IncidentSteps(r.steps);
    const int64_t now = ctx.clock().WallNs();
    if (r.passed()) {
      inc->timeline.push_back({r.end_ns, "recovered", r.service, to});
      events->push_back(FailoverEvent(
          notify::EventType::kServiceRecovered, *inc, s,
          r.service + " recovered at " + to + " in " + recover::FormatSeconds(*s->rto_seconds), now,
          host));
    } else {
      inc->timeline.push_back({now, s->result + ": " + r.failure, r.service, to});
      events->push_back(FailoverEvent(notify::EventType::kFailoverFailed, *inc, s,
                                      r.service + " not recovered at " + to + ": " + r.failure, now,
                                      host));
    }
  }
  return report;
}

}  // namespace lifeboat::dr::internal
