// PerformDrill: `lifeboat drill` as a library call (doc/drills.md), the one code path of the
// `drill` verb and of the drills `run` performs on a service's drill_schedule (doc/run.md). It
// recovers the services (recover::RecoverServices), keeps the evidence in the repository of the
// site each was restored from (one drill record per service, dr/drill_evidence.h), judges each
// drill against that service's earlier drills from the site (AssessDrill) and tells the plan's
// routes (drill_failed, drill_passed, rto_regressed), deduplicated in the same state file as
// `run` and `status --notify`.
//
//   DrillOptions o;  o.recover.services = {"shop"};  o.recover.context = ctx;
//   o.notify_state_path = state_dir + "/notify-state.json";
//   LB_ASSIGN_OR_RETURN(DrillOutcome d, PerformDrill(plan, o));
//   std::cout << FormatDrillOutcome(d);  return d.ExitCode();
//
// Sites: every site the recovery reads is opened first, once, without a lock (OpenRecordSite:
// records are immutable objects); the recovery reuses its key, so a drill derives each site's
// key once. A site that cannot be opened or written leaves its drills unrecorded: a warning
// names it and ExitCode() is 3 even when every service passed. Nothing else is written.
//
// Secrets: errors and outputs in the records, the notifications, the warnings and the report's
// texts have every secret the drill resolved (the sites' passwords and env, the channels', the
// drilled services' postgres passwords) replaced by "***".
//
// Blocks (the recovery, the sites, notifications). Callbacks as RecoverServices'.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dr/drill_findings.h"
#include "notify/deliver.h"
#include "plan/plan.h"
#include "recover/recover.h"
#include "runlog/drill_records.h"
#include "util/status.h"

namespace lifeboat::dr {

struct DrillOptions {
  // What to drill and how: services (empty: all), site, at, sandbox, parallel, context (Ctrl-C
  // and clock), on_line. Its key_of is set by PerformDrill.
  recover::RecoverOptions recover;
  // The notification state file (dedup with run and status); empty: nothing is sent (a warning
  // says so when the plan has channels).
  std::string notify_state_path;
  notify::RetryPolicy notify_retry;
  // The records' and events' host (empty: this machine's name).
  std::string host;
};

// One service drilled from one site, as recorded and judged.
struct JudgedDrill {
  DrillRecord record;  // what was (or should have been) stored
  bool recorded = false;
  // AssessDrill against the service's records at the site (failed, targets missed, RTO
  // regressed against the median of the last 5 passed drills from the site).
  std::vector<DrillFinding> findings;
  size_t earlier_drills = 0;  // records of the service from the site before this one
  bool history_read = false;  // false: the site's records could not be read (a warning says why)
};

// One record object written, or not, to a site.
struct DrillRecordWrite {
  std::string site;
  std::vector<std::string> services;
  std::optional<Id> object;
  std::string error;  // redacted; empty when written
};

struct DrillOutcome {
  std::string drill_id;
  recover::RecoveryReport report;  // texts redacted
  std::vector<JudgedDrill> drills;  // one per service of the report, same order
  std::vector<DrillRecordWrite> writes;
  std::vector<notify::DeliveryOutcome> notifications;
  std::vector<std::string> warnings;  // redacted: the report's, unrecorded drills, notifications

  // Every record was stored.
  bool recorded() const;
  // 130 interrupted; 3 a service failed or was skipped, or a drill record could not be stored
  // (the drill left no evidence); 0 every service passed and is recorded.
  int ExitCode() const;
  // The findings of every drill, in order.
  std::vector<DrillFinding> Findings() const;
};

// Drills (see the top of this file). Errors only for a drill that cannot start (RecoverServices'
// errors: an unknown service or site, an --at that names nothing, a sandbox that cannot be made).
Result<DrillOutcome> PerformDrill(const plan::Plan& plan, const DrillOptions& options);

// The report's JSON (doc/drills.md, "JSON") with the evidence: drill_id, per service record_id,
// recorded, earlier_drills and findings; records (the objects written per site), notifications;
// exit_status the outcome's.
nlohmann::ordered_json DrillOutcomeToJson(const DrillOutcome& outcome);

// The report for people, then where the records went and what was found ("! the RTO of shop from
// local regressed: ..."), and the notifications sent. Lines end in '\n'.
std::string FormatDrillOutcome(const DrillOutcome& outcome);

}  // namespace lifeboat::dr
