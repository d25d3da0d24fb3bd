// Internal to lb_dr: what failover.cc, failback.cc, failback_rollback.cc, failover_incident.cc,
// failover_record.cc and failover_format.cc share.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dr/failover.h"
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
  // How long a site other than the recovery site may take to open: a site lost in the disaster
  // (an S3 endpoint that refuses connections, an SSH host that is gone) would otherwise hold the
  // failover back for its whole retry budget (minutes) before the recovery starts.
  std::chrono::milliseconds other_site_limit{15000};
  // One cancel flag per site opening (its backend keeps a pointer: they outlive `opened`).
  std::vector<std::unique_ptr<std::atomic<bool>>> flags;
  std::vector<std::pair<std::string, Result<RecordSite>>> opened;  // in RecordSites order
  std::vector<std::string> secrets;  // every secret resolved while opening them
  // The site's repository when it opened; null otherwise. Read-only: any thread.
  const Repository* Find(const std::string& site) const;
  // Every site that did not open, with why (RecoverOptions::unavailable_sites).
  std::map<std::string, std::string> Unavailable() const;
};
// Opens every site a record of `inc` goes to (the recovery site, then the services' sites) that
// `sites` does not hold yet, all at once, each on a context that is not cancelled by `ctx` once
// it opened (records are written also after Ctrl-C). The recovery site is waited for; another
// site that has not opened after sites->other_site_limit (or when `ctx` is cancelled) is given up
// (its opening is cancelled: DeadlineExceeded, "did not open within ..."). Failures are kept in
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

// As RecoverIncident, but each intermediate state of `inc` (what runs, a switch) goes to `save`
// (its error a warning) instead of STATE_DIR/incident.json: the rollback of a failback recovers
// into a state of its own and records what runs in the failback's. `log_state_dir`: where logs
// go when the recovery root is `/` and this is not root (STATE_DIR/logs).
Result<recover::RecoveryReport> RecoverIncidentSaving(
    const plan::Plan& plan, recover::RecoverOptions ro, IncidentState* inc,
    const std::string& log_state_dir, const std::function<Status(const IncidentState&)>& save,
    const std::string& host, std::vector<notify::Event>* events,
    std::vector<std::string>* warnings);

// Moves `path` (below `root`) to the same place below `aside` ("FROM -> TO" appended to *moved);
// nothing when it is absent or an empty directory. Nothing is deleted.
Status MoveAside(const std::string& root, const std::string& aside, const std::string& path,
                 std::vector<std::string>* moved);

// The rollback of an open failback `inc` (failback_rollback.cc, doc/failover.md, "Failback"),
// after each service was moved back to the recovery site (`back_tokens`: its new token; a service
// without one was moved by another incident since and is left alone) and what the failback
// started at SITE was stopped: each service the failback stopped at the recovery site is
// recovered there again, in waves, in failover mode, below that site's recovery root, from its
// newest snapshots there (the final backups); what is in the way is moved first to
// RECOVERY_ROOT/.lifeboat-rolled-back/INCIDENT/ (out->moved); the failover preconditions are
// checked; once verified its switch steps run towards the recovery site with the new token. A
// service the failback never stopped is not touched. Per service: IncidentService::restart and
// restart_error, a note, the timeline, out->restarted, service_recovered / failover_failed in
// *events; inc->left_running is what now runs, and so is the left_running of the failover the
// failback ended (STATE_DIR/incidents/ID.json), so that a later failback stops it. A service not
// restarted sets out->failed. Errors only when a state cannot be saved. Blocks.
Status RestartFailbackServices(const plan::Plan& plan, const IncidentActionOptions& options,
                               const std::map<std::string, uint64_t>& back_tokens,
                               IncidentState* inc, IncidentActionOutcome* out,
                               std::vector<notify::Event>* events);

// A recovery's steps as the local state keeps them.
std::vector<dr::IncidentStep> IncidentSteps(const std::vector<recover::StepRecord>& steps);

}  // namespace lifeboat::dr::internal
