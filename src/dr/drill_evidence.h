// A drill's evidence (doc/drill-history.md, "Writing a drill record"): the recovery report of one
// `drill` invocation (recover/recover.h) as the drill records stored in the sites' repositories
// (runlog/drill_records.h, doc/repository-format.md §12.1), one record per service drilled, and
// grouped into the objects written per site. Pure: no I/O, no clock, no randomness beyond the
// record ids (NewDrillRecordId). Any thread.
//
//   DrillEvidenceOptions e;  e.drill_id = NewDrillId();  e.host = "dr1";  e.secrets = resolved;
//   std::vector<DrillRecord> records = DrillRecordsFromReport(report, e);
//   for (const DrillRecordBatch& b : DrillRecordBatches(records)) WriteDrillRecords(site(b), ...);
//
// Secrets: every error and output goes through RedactSecrets(text, options.secrets) before it is
// put into a record; the records hold no other text a step produced.
#pragma once

#include <string>
#include <vector>

#include "recover/recover.h"
#include "runlog/drill_records.h"

namespace lifeboat::dr {

struct DrillEvidenceOptions {
  std::string drill_id;         // NewDrillId(): shared by every record of the invocation
  std::string host;             // the machine that drilled
  std::string program_version;  // "lifeboat 0.1.0"
  std::vector<std::string> secrets;  // values replaced by "***" in errors and outputs
};

// One record per service of `report` (in its order), each from the site it was restored from:
//   - start: the report's start (achieved RTO counts from there, as recover measures it), end:
//     the service's end (the report's end for a service that never started);
//   - wave: the report's wave minus one (records count waves from 0);
//   - steps: "open site SITE" (kind restore: from the service's start to its first step, which
//     is opening the site and listing its snapshots, or waiting for another service doing it),
//     then every StepRecord under its stable label (StepRecord::label), kind from its phase,
//     result ok/failed/not_run as passed/failed/skipped (a step not run gets the time the
//     previous one ended and no output);
//   - result: passed, failed, and skipped for skipped and cancelled services, with the cause in
//     `error` ("interrupted" when recover gave none);
//   - achieved RTO only for a passed service; RPO when something was restored; targets the
//     plan's as the report carries them; tools: each program recover ran with its version.
std::vector<DrillRecord> DrillRecordsFromReport(const recover::RecoveryReport& report,
                                                const DrillEvidenceOptions& options);

// The records one object holds: all of one site, at most kMaxDrillRecordsPerObject.
struct DrillRecordBatch {
  std::string site;
  std::vector<DrillRecord> records;
};

// `records` grouped by site (sites in the order they first appear, records in their order), a
// site's records split into batches of at most kMaxDrillRecordsPerObject.
std::vector<DrillRecordBatch> DrillRecordBatches(const std::vector<DrillRecord>& records);

}  // namespace lifeboat::dr
