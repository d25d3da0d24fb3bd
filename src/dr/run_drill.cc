// The drills `run` performs (doc/run.md, "Scheduled drills"): a service's drill_schedule is due
// when it fired since the newest drill of the service; the due services are drilled together,
// after the run's backups, through PerformDrill, the code path of `lifeboat drill`.
#include <algorithm>
#include <filesystem>

#include "dr/drill.h"
#include "dr/run_internal.h"
#include "notify/event.h"
#include "util/strings.h"

namespace lifeboat::dr::internal {

namespace {

// Decides the service's drill_schedule (fills `d`). True: due.
bool IsDrillDue(RunState& st, const plan::Service& svc, ScheduledDrill* d) {
  const std::string& first = svc.sites.front().name;
  SiteHandle& h = st.Site(first);
  if (!h.status.ok()) {
    d->note = "first site " + first + " cannot be read (" + st.Redact(h.status.message()) +
              "): taken as due";
    return true;
  }
  DrillRecordFilter filter;
  filter.services = {svc.name};
  Result<DrillRecordListing> listing = ListDrillRecords(*h.repo, filter, st.ctx());
  if (!listing.ok()) {
    d->note = "drill records of " + first + " cannot be read (" +
              st.Redact(listing.status().message()) + "): taken as due";
    return true;
  }
  for (const DrillRecord& r : listing->records) {
    if (r.result != DrillResult::kSkipped) d->last_start_ns = std::max(d->last_start_ns, r.start_ns);
  }
  if (d->last_start_ns == 0) {
    d->note = "never drilled";
    return true;
  }
  return ScheduleDue(st, *svc.drill_schedule, d->last_start_ns, "drill_schedule", &d->next_due_ns,
                     &d->note);
}

}  // namespace

void RunScheduledDrills(RunState& st, RunReport* report) {
  if (st.ctx().cancelled()) return;
  std::vector<std::string> due;
  for (ServiceReport& sr : report->services) {
    const plan::Service* svc = st.plan().FindService(sr.name);
    if (svc == nullptr || !svc->drill_schedule || sr.state == ServiceState::kCancelled) continue;
    ScheduledDrill d;
    d.due = IsDrillDue(st, *svc, &d);
    if (d.due) due.push_back(sr.name);
    sr.drill = d;
  }
  if (due.empty()) return;
  const std::string names = JoinStrings(due, ", ");
  if (st.options().dry_run) {
    st.Line("drill due for " + names + ": would drill (and record it at each one's first site)");
    return;
  }
  st.Line("drill due for " + names + " (drill_schedule)");
  DrillOptions o;
  o.recover.mode = recover::RecoveryMode::kDrill;
  o.recover.services = due;
  o.recover.sandbox_base = st.options().drill_sandbox;
  o.recover.context = st.ctx();
  o.recover.on_line = st.options().on_line;
  o.notify_state_path =
      st.options().notify_state_path.empty()
          ? (std::filesystem::path(st.options().state_dir) / "notify-state.json").string()
          : st.options().notify_state_path;
  o.notify_retry = st.options().notify_retry;
  o.host = st.host;
  Result<DrillOutcome> outcome = PerformDrill(st.plan(), o);
  if (!outcome.ok()) {
    report->drill_error = st.Redact(outcome.status().message());
    st.Line("drill of " + names + " could not start: " + report->drill_error);
    return;
  }
  report->drill = std::move(*outcome);
}

}  // namespace lifeboat::dr::internal
