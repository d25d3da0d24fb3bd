// The record object of doc/repository-format.md §12: one sealed object of type run (runs/<name>)
// holding run records (version 1) or run and drill records (version 2), and what run_records.cc
// and drill_records.cc share to read, write, merge and load such objects. Internal to src/runlog:
// callers use run_records.h and drill_records.h.
//
//   LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> objects, LoadRecordObjects(repo, ctx));
//   for (const LoadedObject& o : objects) if (o.content) ... o.content->runs, ->drills ...
//
// Thread safety: pure functions, except the loaders and writers, which block on the backend and
// may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runlog/drill_records.h"
#include "runlog/run_records.h"

namespace lifeboat::runlog_internal {

using nlohmann::json;

// The records of one object.
struct RecordObject {
  uint32_t version = kRunRecordsVersion;
  std::vector<RunRecord> runs;
  std::vector<DrillRecord> drills;
};

// The plaintext of one object: version 1 when `drills` is empty (so that every Lifeboat reads
// it), else version 2. InvalidArgument when a record fails its Validate*Record.
Result<Bytes> EncodeRecordObject(const std::vector<RunRecord>& runs,
                                 const std::vector<DrillRecord>& drills);
// Corruption for malformed JSON, a missing or malformed array or record (naming it);
// FailedPrecondition "needs a newer Lifeboat" for a version above kRecordObjectVersion.
Result<RecordObject> DecodeRecordObject(ByteView plaintext);

// Seals and stores one object; InvalidArgument when both lists are empty. The context is checked
// before storing.
Result<Id> WriteRecordObject(Repository& repo, const std::vector<RunRecord>& runs,
                             const std::vector<DrillRecord>& drills, const Context& context);

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

}  // namespace lifeboat::runlog_internal
