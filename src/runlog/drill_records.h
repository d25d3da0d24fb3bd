// Drill records: the evidence of every drill (which snapshot of which site was restored, each
// step with its times and trimmed output, the achieved RTO and RPO against the plan's targets at
// the time, pass or fail), stored in the repository of the site that was drilled, in the same
// runs/ objects as run records (doc/repository-format.md §12.1: record objects of version 2), so
// the evidence survives the disaster it is about and `copy` carries it.
//
//   DrillRecord r; r.id = NewDrillRecordId(); r.drill_id = drill_id; r.service = "billing-db"; ...
//   LB_ASSIGN_OR_RETURN(Id object, WriteDrillRecords(repo, {r}, ctx));
//   LB_ASSIGN_OR_RETURN(DrillRecordListing l, ListDrillRecords(repo, {.services = {"shop"}}, ctx));
//
// One object per `drill` invocation per site holds the records of every service that invocation
// drilled from that site. Records have identities (`id`): readers keep one record per id, so a
// record written twice, carried by copy or left twice by an interrupted compaction counts once.
// CompactRunRecords (run_records.h) merges drill objects too and never drops a drill record;
// prune never touches runs/.
//
// Secrets: `error` and each step's `output` are stored as given (outputs trimmed, below). The
// caller passes text it has already redacted; nothing here can recognise a secret.
//
// Thread safety: any thread; each function that takes a Repository blocks on its backend. No
// repository lock is needed (as for run records).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repository/repository.h"
#include "runlog/run_records.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

// A step's output and a record's error are kept to at most this many bytes: TrimOutput
// (util/trim_output.h) with this limit, when stored.
inline constexpr size_t kMaxDrillOutputBytes = 4096;
// At most this many drill records go into one object (compaction and copy split beyond it): a
// record with many steps can hold tens of KiB of output.
inline constexpr size_t kMaxDrillRecordsPerObject = 100;

// The outcome of a drill (of one service) and of each of its steps.
enum class DrillResult {
  kPassed,   // every step and check passed
  kFailed,   // a step or check failed (error, and the step's output, say why)
  kSkipped,  // not run: a dependency failed (error names it), or the drill stopped before it
};
std::string_view DrillResultName(DrillResult result);  // "passed", "failed", "skipped"
std::optional<DrillResult> ParseDrillResult(std::string_view text);

// What a step did: restoring the service's sources, a plan `recover` step, a `verify` check, or
// (incident records only, §12.2) a `switch` step that points clients at a site. A drill record
// never holds a kSwitch step: ValidateDrillRecord refuses it and a stored drill step of kind
// "switch" makes its object malformed, as before switch steps existed.
enum class DrillStepKind { kRestore, kRecover, kVerify, kSwitch };
// "restore", "recover", "verify", "switch".
std::string_view DrillStepKindName(DrillStepKind kind);
std::optional<DrillStepKind> ParseDrillStepKind(std::string_view text);  // all four

struct DrillStep {
  std::string name;  // for people, not empty: "restore billing", "postgres_restore", "http /health"
  DrillStepKind kind = DrillStepKind::kRestore;
  int64_t start_ns = 0, end_ns = 0;  // wall clock, ns since the Unix epoch
  DrillResult result = DrillResult::kPassed;
  std::string output = {};  // what it printed (trimmed when stored); REDACTED BY THE CALLER
  std::string unknown_fields = {};  // as RunRecord::unknown_fields; leave empty
};

// The snapshot restored for one source of the service.
struct DrillSnapshot {
  std::string source;  // the source's name in the plan
  std::string kind;    // "paths", "command", "postgres", "sqlite"
  Id snapshot;         // in the repository of the record's site
  int64_t time_ns = 0;  // the snapshot's time (what the RPO is measured from)
  std::string unknown_fields = {};
};

// An external program a drill used, and its version as it reports it.
struct ToolVersion {
  std::string name;     // "pg_restore", "postgres"
  std::string version;  // "pg_restore (PostgreSQL) 15.6"
  bool operator==(const ToolVersion&) const = default;
};

// One service drilled from one site by one `drill` invocation.
struct DrillRecord {
  std::string id;        // 32 lowercase hex, NewDrillRecordId(): the record's identity
  std::string drill_id;  // 32 lowercase hex, NewDrillId(): shared by all records of one invocation
  std::string service;   // the plan's service name (not empty)
  std::string site;      // the plan's site name the service was restored from (not empty)
  // The drill's start (when the invocation began: achieved RTO counts from here, so a service
  // that waited for its dependencies includes that wait, as in a disaster) and the end of this
  // service's last step.
  int64_t start_ns = 0, end_ns = 0;
  std::optional<int> wave;  // the recovery wave the service was in (0 first); unset: unknown
  std::vector<DrillSnapshot> snapshots;  // one per restored source
  // start_ns to the end of the last verify check, when the drill passed; unset otherwise.
  std::optional<int64_t> achieved_rto_ns;
  // The age of the oldest restored snapshot at start_ns; unset when nothing was restored.
  std::optional<int64_t> achieved_rpo_ns;
  // The plan's rto and rpo when the drill ran (unset: the plan had none).
  std::optional<int64_t> rto_target_ns, rpo_target_ns;
  uint64_t bytes_restored = 0;
  uint64_t files_restored = 0;
  DrillResult result = DrillResult::kPassed;
  std::string error;  // why it failed or was skipped (trimmed when stored); REDACTED BY CALLER
  std::vector<DrillStep> steps;  // in the order they started
  std::string host;
  std::string program_version;     // "lifeboat 0.1.0"
  std::vector<ToolVersion> tools;  // external programs used, e.g. pg_restore
  std::string unknown_fields;      // as RunRecord::unknown_fields; leave empty

  // The step that took longest (null when there are none).
  const DrillStep* SlowestStep() const;
};

// 32 lowercase hex characters from the CSPRNG, for DrillRecord::id and ::drill_id.
std::string NewDrillRecordId();
std::string NewDrillId();

// Checks the fields a writer must fill (ids, names, results, step names): InvalidArgument naming
// the field. Long outputs are not an error (they are trimmed when stored).
Status ValidateDrillRecord(const DrillRecord& record);

// One record as its §12.1 JSON object (compact), for listings (`cat drills`, --json).
std::string DrillRecordJson(const DrillRecord& record);

// Stores `records` as one new record object (version 2, sealed, named by its SHA-256) and
// returns its name. InvalidArgument when `records` is empty or one fails ValidateDrillRecord
// (nothing written); the context's error when it is done before writing; the backend's error
// otherwise (FailedPrecondition from a REST server that serves no runs/, §12). Durable when it
// returns OK.
Result<Id> WriteDrillRecords(Repository& repo, const std::vector<DrillRecord>& records,
                             const Context& context);

// Which records ListDrillRecords returns; empty fields match everything.
struct DrillRecordFilter {
  std::vector<std::string> services = {};
  std::vector<std::string> sites = {};
  std::optional<int64_t> since_ns = std::nullopt;  // records that ended at or after this time
};

struct DrillRecordListing {
  // The matching records, one per id, ordered by start time, then service, then id.
  std::vector<DrillRecord> records;
  std::vector<std::string> objects;  // every record object read (also those with no drill)
  // Objects that could not be read (damaged, or of a newer version); never silently left out.
  std::vector<UnreadableRunObject> unreadable;
  uint64_t duplicates = 0;  // drill records seen more than once (same id) and kept once
};

// Lists runs/, loads every object (as ListRunRecords, including its retry while a compaction
// removes objects) and returns the drill records matching `filter`. Errors as ListRunRecords.
Result<DrillRecordListing> ListDrillRecords(Repository& repo, const DrillRecordFilter& filter,
                                            const Context& context);

}  // namespace lifeboat
