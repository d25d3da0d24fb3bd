// TODO(merge): NOT IN THE BUILD YET. The incident record of a failover (doc/failover.md,
// "Incident records") built from the incident's local state and its recovery report, for
// runlog/incident_records.h (another branch). At merge: add this file to lb_dr, declare
// IncidentRecordOf / WriteFailoverRecords in failover_internal.h, and call WriteFailoverRecords
// where failover.cc and failover_incident.cc say TODO(merge) (each state change writes a new
// record with the same id and a higher sequence).
#include "dr/failover_internal.h"
#include "dr/failover.h"
#include "runlog/incident_records.h"

// At merge: the runlog types IncidentRecord, IncidentService, IncidentEvent, IncidentKind and
// IncidentState share names with dr's local-state types (dr/incident_state.h); qualify them with
// their namespace (lifeboat::) where the compiler asks.

namespace lifeboat::dr::internal {

// The record of `inc` at its current state; `report` (may be null) gives each service's steps.
IncidentRecord IncidentRecordOf(const IncidentState& inc, const recover::RecoveryReport* report,
                                uint64_t sequence) {
  IncidentRecord r;
  r.id = inc.id;
  r.sequence = sequence;
  r.kind = inc.kind == "failback" ? IncidentKind::kFailback : IncidentKind::kFailover;
  r.state = inc.state == "open"          ? IncidentState::kOpen
            : inc.state == "committed"   ? IncidentState::kCommitted
            : inc.state == "rolled_back" ? IncidentState::kRolledBack
                                         : IncidentState::kFailed;
  r.declared_by = inc.declared_by;
  r.reason = inc.reason;
  r.fencing_token = inc.token;
  r.to_site = inc.to_site;
  r.from_site = inc.services.empty() ? "" : inc.services.front().from_site;
  r.host = inc.host;
  r.version = inc.version;
  r.start_ns = inc.start_ns;
  r.end_ns = inc.end_ns;
  r.failure_ns = inc.failure_ns;
  for (const dr::IncidentService& s : inc.services) {
    IncidentService x;
    x.service = s.service;
    x.tier = s.tier;
    x.wave = s.wave;
    x.result = s.result;
    x.error = s.error;
    x.snapshots = s.snapshots;
    x.snapshot_time_ns = s.snapshot_time_ns;
    x.rto_seconds = s.rto_seconds;
    x.rto_target_seconds = s.rto_target_seconds;
    x.data_loss_seconds = s.data_loss_seconds;
    x.rpo_target_seconds = s.rpo_target_seconds;
    x.notes = s.notes;
    const recover::ServiceRecovery* rec = report != nullptr ? report->Find(s.service) : nullptr;
    if (rec != nullptr) {
      for (const recover::StepRecord& st : rec->steps) {
        DrillStep d;
        d.name = st.label.empty() ? st.name : st.label;
        d.kind = st.phase == "restore"   ? DrillStepKind::kRestore
                 : st.phase == "recover" ? DrillStepKind::kRecover
                 : st.phase == "switch"  ? DrillStepKind::kSwitch  // added by incident_records
                                         : DrillStepKind::kVerify;
        d.start_ns = st.start_ns;
        d.end_ns = st.end_ns;
        d.result = st.state == recover::StepState::kOk       ? DrillResult::kPassed
                   : st.state == recover::StepState::kFailed ? DrillResult::kFailed
                                                             : DrillResult::kSkipped;
        d.output = st.output;  // redacted by the caller
        x.steps.push_back(std::move(d));
      }
    }
    r.services.push_back(std::move(x));
  }
  for (const dr::IncidentEvent& e : inc.timeline) {
    r.timeline.push_back(IncidentEvent{e.time_ns, e.what, e.service, e.site});
  }
  return r;
}

// Writes the record to the recovery site and every other site of the incident's services that
// opens (OpenRecordSite); a site that cannot be written is a warning naming it.
void WriteFailoverRecords(const plan::Plan& plan, const IncidentRecord& record, const Context& ctx,
                          std::vector<std::string>* warnings) {
  std::vector<std::string> sites = {record.to_site};
  for (const IncidentService& s : record.services) {
    if (const plan::Service* svc = plan.FindService(s.service)) {
      for (const plan::NameRef& n : svc->sites) {
        if (std::find(sites.begin(), sites.end(), n.name) == sites.end()) sites.push_back(n.name);
      }
    }
  }
  for (const std::string& name : sites) {
    const plan::Site* site = plan.FindSite(name);
    if (site == nullptr) continue;
    Result<RecordSite> opened = OpenRecordSite(*site, ctx, nullptr);
    Result<Id> id = opened.ok() ? WriteIncidentRecord(*opened->repo, record, ctx)
                                : Result<Id>(opened.status());
    if (!id.ok()) {
      warnings->push_back("the incident record could not be stored at site " + name + ": " +
                          id.status().message());
    }
  }
}

}  // namespace lifeboat::dr::internal
