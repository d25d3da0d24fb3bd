// The record object of doc/repository-format.md §12: one sealed object of type run (runs/<name>)
// holding run records (version 1), run and drill records (version 2) or run, drill and incident
// records (version 3), and what run_records.cc, drill_records.cc and incident_records.cc share to
// read, write, merge and load such objects. Internal to src/runlog: callers use run_records.h,
// drill_records.h and incident_records.h.
//
//   LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> objects, LoadRecordObjects(repo, ctx));
//   for (const LoadedObject& o : objects) if (o.content) ... o.content->runs, ->drills ...
//
// Thread safety: pure functions, except the loaders and writers, which block on the backend and
// may be called from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runlog/drill_records.h"
#include "runlog/incident_records.h"
#include "runlog/run_records.h"

namespace lifeboat::runlog_internal {

using nlohmann::json;

// The records of one object.
struct RecordObject {
  uint32_t version = kRunRecordsVersion;
  std::vector<RunRecord> runs;
  std::vector<DrillRecord> drills;
  std::vector<IncidentRecord> incidents;
};

// The plaintext of one object: the lowest version that holds what it is given (1 for run records
// only, so that every Lifeboat reads it; 2 when there are drill records; 3 when there are
// incident records). InvalidArgument when a record fails its Validate*Record.
Result<Bytes> EncodeRecordObject(const std::vector<RunRecord>& runs,
                                 const std::vector<DrillRecord>& drills,
                                 const std::vector<IncidentRecord>& incidents = {});
// Corruption for malformed JSON, a missing or malformed array or record (naming it);
// FailedPrecondition "needs a newer Lifeboat" for a version above kRecordObjectVersion.
Result<RecordObject> DecodeRecordObject(ByteView plaintext);

// Seals and stores one object; InvalidArgument when all lists are empty. The context is checked
// before storing.
Result<Id> WriteRecordObject(Repository& repo, const std::vector<RunRecord>& runs,
                             const std::vector<DrillRecord>& drills, const Context& context,
                             const std::vector<IncidentRecord>& incidents = {});

// One object's outcome when loaded.
struct LoadedObject {
  std::string name;
  std::optional<RecordObject> content;  // set: read
  Status status;                        // unreadable: why
  bool gone = false;                    // listed, then missing
};

// Lists runs/ and loads every object in parallel (WorkersFor the backend); lists again (up to 5
// times, then Unavailable) while objects disappear between listing and loading (a concurrent
// compaction). Damage and newer versions are recorded per object; any other failure (I/O, the
// context) is returned.
Result<std::vector<LoadedObject>> LoadRecordObjects(Repository& repo, const Context& context);

UnreadableRunObject Unreadable(const LoadedObject& o);
// The order of DrillRecordListing::records: start, then service, then id.
bool DrillRecordOrder(const DrillRecord& a, const DrillRecord& b);
// Corruption with a Damage detail naming runs/<name>.
Status Damaged(const std::string& name, const Status& status);

// 32 lowercase hex characters from the CSPRNG (16 bytes): a record's or an invocation's identity.
std::string RandomId();

// ---- JSON fields, strict (as repository/json_fields.h, which is internal to lb_repository):
// each returns false with *why set ("\"key\" is missing", "... must be ...").
bool IsLowerHex(std::string_view s, size_t length);
bool Uint64Field(const json& obj, const char* key, uint64_t* out, std::string* why);
bool Uint32Field(const json& obj, const char* key, uint32_t* out, std::string* why);
bool StringField(const json& obj, const char* key, bool required, std::string* out,
                 std::string* why);
bool TimeField(const json& obj, const char* key, int64_t* out, std::string* why);
// An optional non-negative duration or count in int64 (absent: unset).
bool OptionalNs(const json& obj, const char* key, std::optional<int64_t>* out, std::string* why);
// Sets j[key] to the value, or removes the member when unset.
void PutOptional(json* j, const char* key, const std::optional<int64_t>& v);

// Parses the array at j[key] (absent: empty) with `one`; false with *why prefixed by the key and
// the element's index.
template <typename T, typename Parse>
bool ArrayField(const json& j, const char* key, std::vector<T>* out, std::string* why, Parse one) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_array()) {
    *why = std::string("\"") + key + "\" must be an array";
    return false;
  }
  for (size_t i = 0; i < it->size(); ++i) {
    T value;
    if (!one((*it)[i], &value, why)) {
      *why = std::string(key) + "[" + std::to_string(i) + "]: " + *why;
      return false;
    }
    out->push_back(std::move(value));
  }
  return true;
}
// The members of `obj` not in `known`, as a JSON object's text ("" when none).
std::string UnknownFields(const json& obj, const std::set<std::string>& known);
// `unknown` (a JSON object's text, or "") as an object to which the known fields are added.
json StartWithUnknown(const std::string& unknown);
// True when `unknown` is "" or a JSON object's text.
bool UnknownFieldsValid(const std::string& unknown);

// ---- One record as JSON and back (run_records.cc, drill_records.cc).
json RunRecordToJson(const RunRecord& r);
bool RunRecordFromJson(const json& j, RunRecord* r, std::string* why);
json DrillRecordToJson(const DrillRecord& r);
bool DrillRecordFromJson(const json& j, DrillRecord* r, std::string* why);
// One step in the drill steps' format (§12.1; output trimmed); `allow_switch`: kind "switch" is
// accepted (incident records, §12.2), else it is malformed (drill records).
json StepToJson(const DrillStep& s);
bool StepFromJson(const json& j, DrillStep* s, bool allow_switch, std::string* why);
json IncidentRecordToJson(const IncidentRecord& r);
bool IncidentRecordFromJson(const json& j, IncidentRecord* r, std::string* why);
// The order of IncidentListing::incidents: start, then id, then sequence.
bool IncidentRecordOrder(const IncidentRecord& a, const IncidentRecord& b);

}  // namespace lifeboat::runlog_internal
