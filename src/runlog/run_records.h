// Run records: the outcome of every `lifeboat run`, stored in the repositories themselves as
// sealed objects of type run (runs/<name>; doc/repository-format.md §12), so the history survives
// the loss of any one site and `copy` carries it.
//
//   RunRecord r; r.id = NewRunRecordId(); r.run_id = run_id; r.service = "orders"; ...
//   LB_ASSIGN_OR_RETURN(Id object, WriteRunRecords(repo, {r}, ctx));
//   LB_ASSIGN_OR_RETURN(RunRecordListing l, ListRunRecords(repo, {.services = {"orders"}}, ctx));
//
// One object per `run` invocation per repository holds all the records that run writes there;
// CompactRunRecords merges many objects into few. The same objects carry drill records
// (drill_records.h, §12.1) and incident records (incident_records.h, §12.2); compaction and
// CopyRunRecords handle all three kinds. Records have identities (`id`): readers keep one
// record per id, so a record written to several sites, carried by copy or left twice by an
// interrupted compaction counts once.
//
// Secrets: a record's `error` is stored exactly as given. The caller passes text it has already
// redacted (no password, token or credential-bearing URL); nothing here can recognise a secret.
//
// Thread safety: the functions may be called from any thread; each blocks on the backend. They go
// through Repository's public API only (SaveUnpacked, LoadUnpacked, backend().List/Remove) and
// need no repository lock (see CompactRunRecords for why compaction is safe without one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repository/repository.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

// The version of record objects that hold run records only (§12 `version`): what WriteRunRecords
// writes, and what every Lifeboat since run records began reads.
inline constexpr uint32_t kRunRecordsVersion = 1;
// The record-object version that holds drill records as well (§12.1). Written only for objects
// that hold drill records (and then no run records), so that no run record is ever hidden from a
// reader of version 1.
inline constexpr uint32_t kDrillRecordsVersion = 2;
// The newest record-object version this Lifeboat reads: 3 holds incident records as well
// (§12.2, incident_records.h), written only for objects that hold incident records (and then
// neither run nor drill records).
inline constexpr uint32_t kRecordObjectVersion = 3;
// At most this many records go into one object (compaction and copy split beyond it).
inline constexpr size_t kMaxRunRecordsPerObject = 20000;

enum class RunResult { kOk, kFailed, kIncomplete, kSkipped };
// "ok", "failed", "incomplete", "skipped".
std::string_view RunResultName(RunResult result);
std::optional<RunResult> ParseRunResult(std::string_view text);

struct RunSource {
  std::string name;  // the source's name in the plan
  std::string kind;  // "paths", "command", "postgres", "sqlite"
  bool operator==(const RunSource&) const = default;
};

// One thing a run did: one service (one of its sources, when `source` is set) at one site.
struct RunRecord {
  std::string id;      // 32 lowercase hex, NewRunRecordId(): the record's identity
  std::string run_id;  // 32 lowercase hex, NewRunId(): shared by all records of one invocation
  std::string service;  // the plan's service name (not empty)
  std::string site;     // the plan's site name (not empty)
  std::optional<RunSource> source;  // unset: the record is about the service as a whole
  int64_t start_ns = 0, end_ns = 0;  // wall clock, ns since the Unix epoch
  std::optional<Id> snapshot;        // the snapshot made at `site`, if any
  uint64_t bytes_added = 0;  // plaintext bytes of new blobs
  uint64_t bytes_sent = 0;   // stored bytes sent to the site
  RunResult result = RunResult::kOk;
  std::string error;  // for people; REDACTED BY THE CALLER (see the top of this file); "" = none
  std::string host;
  std::string program_version;    // "lifeboat 0.1.0"
  std::vector<PhaseTime> phases;  // stored in whole nanoseconds
  // Record fields this Lifeboat does not know, as read (a JSON object's text, or ""): carried
  // unchanged by compaction and copy. Leave empty when making a record.
  std::string unknown_fields;
};

// 32 lowercase hex characters from the CSPRNG (16 bytes), for RunRecord::id and ::run_id.
std::string NewRunRecordId();
std::string NewRunId();

// Checks the fields a writer must fill (ids, names, result): InvalidArgument naming the field.
Status ValidateRunRecord(const RunRecord& record);

// The plaintext of one run-record object (§12, version 1) and back. Decode reads versions 1 and 2
// and returns the run records (a version-2 object's drill records are checked, then left out:
// ListDrillRecords returns them): Corruption for malformed JSON or records (naming the record's
// index and field); FailedPrecondition "needs a newer Lifeboat" for a `version` above
// kRecordObjectVersion.
Result<Bytes> EncodeRunRecords(const std::vector<RunRecord>& records);
// One record as its §12 JSON object (compact), for listings (`cat runs`, doc/json.md).
std::string RunRecordJson(const RunRecord& record);
Result<std::vector<RunRecord>> DecodeRunRecords(ByteView plaintext);

// Stores `records` as one new run-record object (sealed, named by its SHA-256) and returns its
// name. InvalidArgument when `records` is empty or one fails ValidateRunRecord (nothing
// written); the context's error when it is done before writing; the backend's error otherwise
// (FailedPrecondition from a REST server that serves no run records, §12). Durable when it returns
// OK (Backend::Save).
Result<Id> WriteRunRecords(Repository& repo, const std::vector<RunRecord>& records,
                           const Context& context);

// Which records ListRunRecords returns; empty fields match everything.
struct RunRecordFilter {
  std::vector<std::string> services = {};
  std::vector<std::string> sites = {};
  std::optional<int64_t> since_ns = std::nullopt;  // records that ended at or after this time
};

// A run-record object that could not be used: damaged (Corruption, with a Damage detail naming
// it), or written by a newer Lifeboat (`newer_version`; FailedPrecondition).
struct UnreadableRunObject {
  std::string name;
  Status status;
  bool newer_version = false;
};

struct RunRecordListing {
  // The matching records, one per id, ordered by start time, then id.
  std::vector<RunRecord> records;
  // The objects read (every listed object that opened), sorted.
  std::vector<std::string> objects;
  // Objects that could not be read; their records are missing from `records`. Never silently
  // left out: a caller shows them as warnings (or `check` as damage).
  std::vector<UnreadableRunObject> unreadable;
  uint64_t duplicates = 0;  // records seen more than once (same id) and kept once
};

// Lists runs/, loads every object (in parallel, WorkersFor the backend), merges their records
// and returns those matching `filter`. An object listed but gone when loaded was compacted away
// after its merged object was stored (§12): the listing is taken again, up to 5 times, then
// Unavailable. The backend's error for a failed listing or read other than damage; the context's
// error when it is done.
Result<RunRecordListing> ListRunRecords(Repository& repo, const RunRecordFilter& filter,
                                        const Context& context);

struct CompactRunRecordsOptions {
  // Compact only when at least this many readable objects exist (or some record is past
  // max_age): a run calls this after every run, and most calls should do nothing.
  size_t min_objects = 16;
  // Drop records whose end is older than (context clock's WallNs - max_age_ns). Unset (the
  // default): keep every record forever. Give every site the same limit (§12: copy brings back
  // what one site dropped and another still holds).
  std::optional<int64_t> max_age_ns = std::nullopt;
  // Records per merged object (at most kMaxRunRecordsPerObject).
  size_t max_records_per_object = kMaxRunRecordsPerObject;
};

struct CompactRunRecordsResult {
  bool compacted = false;        // false: below min_objects and nothing to drop, nothing done
  size_t objects_read = 0;       // readable objects merged
  std::vector<Id> written;       // merged objects stored
  size_t objects_removed = 0;    // of objects_read (some may have been removed concurrently)
  uint64_t records_kept = 0;     // in the merged objects
  uint64_t records_dropped = 0;  // past max_age
  uint64_t duplicates = 0;       // merged away (same id)
  uint64_t drill_records_kept = 0;   // in the merged objects (never dropped by age)
  uint64_t drill_duplicates = 0;     // merged away (same id)
  uint64_t incident_records_kept = 0;           // every distinct one (all sequences; never dropped)
  uint64_t incident_duplicates = 0;             // merged away (identical encoding, §12.2)
  std::vector<UnreadableRunObject> left_alone;  // damaged or newer objects, not touched
  // Set when a removal failed after the merged objects were stored: what happened. The objects
  // not removed keep duplicates of merged records (harmless; the next compaction removes them).
  std::string removal_stopped;
};

// Merges the readable record objects into as few as possible (§12, "Compaction"): run records
// into version-1 objects of at most max_records_per_object, drill records (never dropped by
// max_age) into version-2 objects of at most kMaxDrillRecordsPerObject, incident records (every
// distinct record of every sequence, never dropped) into version-3 objects of at most
// kMaxIncidentRecordsPerObject (§12.2); stores the merged
// objects durably first, then removes the objects it read. Safe against a crash at any
// point (records are at worst duplicated) and against concurrent writers and compactions (each
// removes only objects it read, after storing their records). Damaged and newer-version objects
// are left alone and reported. Refused with FailedPrecondition, before anything is read, on an
// append-only repository (Repository::append_only) and on a backend that locks the objects it
// writes (BackendHints::object_lock). Errors: listing or reading (as ListRunRecords), storing a
// merged object (nothing removed then), the context before storing. A failed removal is not an
// error: removal_stopped says what happened.
Result<CompactRunRecordsResult> CompactRunRecords(Repository& repo, const Context& context,
                                                  const CompactRunRecordsOptions& options = {});

struct CopyRunRecordsResult {
  uint64_t records_copied = 0;   // written to the target
  uint64_t records_present = 0;  // already there (same id): not copied again
  uint64_t drill_records_copied = 0;
  uint64_t drill_records_present = 0;
  uint64_t incident_records_copied = 0;   // every record (each sequence) the target lacked
  uint64_t incident_records_present = 0;  // already there (identical encoding)
  std::vector<Id> written;       // objects stored in the target (none when nothing was missing)
  // Source objects whose records could not be read and so were not copied.
  std::vector<UnreadableRunObject> not_copied;
};

// Copies the source's run and drill records that the target lacks (by id, so a second run copies
// nothing) and its incident records that the target lacks (by encoding: every sequence) into new
// objects in the target, sealed with the target's keys (the records' JSON unchanged; run records
// in version-1 objects, drill records in version-2 objects, incident records in version 3).
// Damaged or newer source objects are reported in not_copied; an unreadable object in the target
// is left alone (its records may be copied again: readers keep one per id). Errors: listing or
// reading either side (as ListRunRecords), storing in the target, the context.
Result<CopyRunRecordsResult> CopyRunRecords(Repository& source, Repository& target,
                                            const Context& context);

}  // namespace lifeboat
