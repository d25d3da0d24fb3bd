// Internal to lb_dr: what failover.cc, failback.cc, failover_incident.cc, failover_record.cc and
// failover_format.cc share.
#pragma once

#include <string>
#include <vector>

#include "dr/incident_state.h"
#include "dr/sites.h"
#include "notify/deliver.h"
#include "notify/event.h"
#include "plan/plan.h"
#include "recover/recover.h"
#include "runlog/incident_records.h"
#include "util/context.h"

namespace lifeboat::dr::internal {

// An event of the incident (doc/notifications.md, "Failover"): details incident, to, token, and
// for a service from, rto_seconds, rto_target_seconds, data_loss_seconds, rpo_seconds, error.
notify::Event FailoverEvent(notify::EventType type, const IncidentState& incident,
                            const IncidentService* service, const std::string& message,
                            int64_t now_ns, const std::string& host);

// Sends `events` through the plan's routes (no-op without channels). Outcomes and warnings are
// appended.
void SendFailoverEvents(const plan::Plan& plan, const std::string& state_dir, const Context& ctx,
                        const notify::RetryPolicy& retry, const std::string& host,
                        const std::vector<notify::Event>& events,
                        std::vector<notify::DeliveryOutcome>* outcomes,
                        std::vector<std::string>* warnings);

// "operator USER@HOST".
std::string OperatorName(const std::string& host);

// The incident record (runlog/incident_records.h) of `inc` at its current state with
// `sequence`; every text a step, a service or a person wrote has `secrets` replaced by "***".
lifeboat::IncidentRecord IncidentRecordOf(const dr::IncidentState& inc, uint64_t sequence,
                                          const std::vector<std::string>& secrets);

// The next record of `inc` (inc->record_sequence incremented: the caller saves the local state
// after) written to the recovery site and every other site of its services, redacted of every
// secret resolved to open those sites and of the services' postgres passwords. A site that cannot
// be opened or written is a warning naming it. Blocks (the sites); on a context that is not
// cancelled (records are written also after Ctrl-C).
//
// With `sites` (may be null) the sites are opened once for the incident and reused by every later
// call (and by the recovery: IncidentSites::Find as RecoverOptions::key_of), so that no key is
// derived twice and none inside the RTO once OpenIncidentSites ran before the incident's start.
struct IncidentSites {
  std::vector<std::pair<std::string, Result<RecordSite>>> opened;  // in RecordSites order
  std::vector<std::string> secrets;  // every secret resolved while opening them
  // The site's repository when it opened; null otherwise. Read-only: any thread.
  const Repository* Find(const std::string& site) const;
};
// Opens every site a record of `inc` goes to (the recovery site, then the services' sites) that
// `sites` does not hold yet, on a context that is not cancelled. Failures are kept in
// sites->opened (WriteFailoverRecords turns them into warnings).
void OpenIncidentSites(const plan::Plan& plan, const dr::IncidentState& inc, const Context& ctx,
                       IncidentSites* sites);
void WriteFailoverRecords(const plan::Plan& plan, dr::IncidentState* inc, const Context& ctx,
                          std::vector<std::string>* warnings, IncidentSites* sites = nullptr);

// The recovery of `inc`'s services at inc->to_site (`ro`: mode failover, site, recovery root and
// services set by the caller; already_up: services of inc that run already, left alone): what is
// left running recorded in inc (after what it held) and saved as soon as it runs, the switch
// steps (towards to_site, from each service's from_site, with its token) once a service is
// verified, then each recovered service's result, snapshots, RTO (inc start, or the service's
// joined_ns -> switched), data-loss window (inc failure, or the service's failure_ns -> oldest
// restored snapshot) and steps, with their events (service_recovered, failover_failed) appended
// to *events. Errors as RecoverServices'.
Result<recover::RecoveryReport> RecoverIncident(const plan::Plan& plan, recover::RecoverOptions ro,
                                                IncidentState* inc, const std::string& state_dir,
                                                const std::string& host,
                                                std::vector<notify::Event>* events,
                                                std::vector<std::string>* warnings);

// A recovery's steps as the local state keeps them.
std::vector<dr::IncidentStep> IncidentSteps(const std::vector<recover::StepRecord>& steps);

}  // namespace lifeboat::dr::internal
