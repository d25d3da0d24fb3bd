// Incident records: the history of every failover and failback (doc/failover.md, "Incident
// records"), stored in the repositories of the sites involved, in the same runs/ objects as run
// and drill records (doc/repository-format.md §12.2: record objects of version 3), so the
// history survives the loss of any one site and `copy` carries it.
//
//   IncidentRecord r; r.id = NewIncidentId(); r.sequence = 1; r.kind = IncidentKind::kFailover;
//   r.state = IncidentState::kOpen; ...
//   LB_ASSIGN_OR_RETURN(Id object, WriteIncidentRecord(repo, r, ctx));
//   r.state = IncidentState::kCommitted; r.sequence++;  // each state change: a new record
//   LB_ASSIGN_OR_RETURN(IncidentListing l, ListIncidents(repo, ctx));
//
// An incident is never rewritten in place: each state change writes a new record with the same
// id and a higher sequence, and readers keep the highest sequence per id (a tie: the record whose
// encoding is larger as bytes, IncidentRecordEncoding, so every reader picks the same). Records
// whose encodings are identical are one record. CompactRunRecords and CopyRunRecords
// (run_records.h) keep every incident record (every sequence), never dropping one by age.
//
// Secrets: `reason`, each service's `error`, `notes` and each step's `output` are stored as
// given (trimmed to kMaxDrillOutputBytes, as drill records'). The caller passes text it has
// already redacted; nothing here can recognise a secret.
//
// Thread safety: any thread; each function that takes a Repository blocks on its backend. No
// repository lock is needed (records are immutable objects, as for run records).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "repository/repository.h"
#include "runlog/drill_records.h"
#include "runlog/run_records.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

// The record-object version that holds incident records (§12.2).
inline constexpr uint32_t kIncidentRecordsVersion = 3;
// At most this many incident records go into one object (compaction and copy split beyond it).
inline constexpr size_t kMaxIncidentRecordsPerObject = 100;

enum class IncidentKind { kFailover, kFailback };
std::string_view IncidentKindName(IncidentKind kind);  // "failover", "failback"
std::optional<IncidentKind> ParseIncidentKind(std::string_view text);

enum class IncidentState { kOpen, kCommitted, kRolledBack, kFailed, kClosed };
// "open", "committed", "rolled_back", "failed", "closed".
std::string_view IncidentStateName(IncidentState state);
std::optional<IncidentState> ParseIncidentState(std::string_view text);

// The values IncidentService::result may take.
inline constexpr std::string_view kIncidentServiceResults[] = {"recovered", "failed", "skipped",
                                                               "cancelled", "running"};

// One event of the incident's timeline.
struct IncidentEvent {
  int64_t time_ns = 0;
  std::string what;     // not empty: the notification event's name ("service_recovered", ...)
  std::string service;  // "" when about the incident as a whole
  std::string site;     // "" when none
  std::string unknown_fields = {};  // as RunRecord::unknown_fields; leave empty
};

// One service of the incident.
struct IncidentService {
  std::string service;     // not empty
  int tier = 3, wave = 1;  // at least 0
  std::string result;      // one of kIncidentServiceResults
  std::string error;       // why it failed or was skipped (trimmed when stored); REDACTED BY CALLER
  // Source name -> snapshot id (64 lowercase hex) restored, in order.
  std::vector<std::pair<std::string, std::string>> snapshots;
  int64_t snapshot_time_ns = 0;  // the oldest restored snapshot's time; 0: none
  // Achieved RTO (incident start, or the service's join of the open incident -> service
  // switched), its target, the data-loss window (failure -> snapshot time): unset when not
  // known. Stored in whole nanoseconds.
  std::optional<double> rto_seconds, rto_target_seconds, data_loss_seconds;
  double rpo_target_seconds = 0;  // 0: the plan had none
  // In the order they started; DrillStepKind::kSwitch for switch steps (only here).
  std::vector<DrillStep> steps;
  std::vector<std::string> notes;  // for people (each trimmed when stored)
  std::string unknown_fields = {};
};

// One state of one incident (every state change writes a new record, higher sequence).
struct IncidentRecord {
  std::string id;  // 32 lowercase hex, NewIncidentId(): the incident's identity
  uint64_t sequence = 0;
  IncidentKind kind = IncidentKind::kFailover;
  IncidentState state = IncidentState::kOpen;
  std::string ends_incident;  // a failback: the id of the failover it ends; else ""
  std::string declared_by;    // not empty: "operator root@dr1", "daemon dr-site: ..."
  std::string reason;         // for people, may be empty (trimmed when stored)
  uint64_t fencing_token = 0;
  std::string from_site, to_site;  // not empty
  std::string host;
  std::string version;  // "lifeboat 0.1.0" (stored as program_version)
  // start (required), end (0: not ended), failure (0: unknown; then the start counts).
  int64_t start_ns = 0, end_ns = 0, failure_ns = 0;
  std::vector<IncidentService> services;
  std::vector<IncidentEvent> timeline;
  std::string unknown_fields = {};  // as RunRecord::unknown_fields; leave empty

  const IncidentService* FindService(std::string_view name) const;
};

// 32 lowercase hex characters from the CSPRNG, for IncidentRecord::id.
std::string NewIncidentId();

// Checks the fields a writer must fill (id, sites, who declared it, service results, step
// names, snapshot ids, durations not negative): InvalidArgument naming the field. Long texts are
// not an error (they are trimmed when stored).
Status ValidateIncidentRecord(const IncidentRecord& record);

// The record's encoding (§12.2, "Which record counts"): its JSON object as stored (outputs
// trimmed, members sorted, compact). Equal records have equal encodings; also the record's
// JSON for listings (`--json`).
std::string IncidentRecordEncoding(const IncidentRecord& record);

// True when `a` counts over `b` for the same id: a higher sequence, or the same sequence and a
// larger encoding (identical records: false both ways).
bool IncidentSupersedes(const IncidentRecord& a, const IncidentRecord& b);

// Stores `record` as one new record object (version 3, sealed, named by its SHA-256) and
// returns its name. InvalidArgument when it fails ValidateIncidentRecord (nothing written); the
// context's error when it is done before writing; the backend's error otherwise
// (FailedPrecondition from a REST server that serves no runs/, §12). Durable when it returns OK.
Result<Id> WriteIncidentRecord(Repository& repo, const IncidentRecord& record,
                               const Context& context);

struct IncidentListing {
  // One record per id, the one that counts (highest sequence); ordered by start_ns, then id.
  std::vector<IncidentRecord> incidents;
  // Objects that could not be read (damaged, or of a newer version); never silently left out.
  std::vector<UnreadableRunObject> unreadable;
  uint64_t superseded = 0;  // records of an id that were read and did not count
};

// Lists runs/, loads every object (as ListRunRecords, including its retry while a compaction
// removes objects) and returns the incidents. Errors as ListRunRecords.
Result<IncidentListing> ListIncidents(Repository& repo, const Context& context);

// Keeps, of `records` (any order, several per id), the one per id that counts, ordered by
// start_ns then id; *superseded (may be null) counts the others. Pure: for readers that merge
// the listings of several sites.
std::vector<IncidentRecord> LatestIncidents(std::vector<IncidentRecord> records,
                                            uint64_t* superseded = nullptr);

}  // namespace lifeboat
