#include "runlog/run_records.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "backend/object_lock.h"
#include "crypto/random.h"
#include "repository/keys.h"
#include "util/mutex.h"
#include "util/parallel_for.h"
#include "util/status_detail.h"

namespace lifeboat {
namespace {

using nlohmann::json;

constexpr int kListAttempts = 5;

bool IsLowerHex(std::string_view s, size_t length) {
  return s.size() == length &&
         s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string RandomHex16() {
  uint8_t b[16];
  if (!crypto::RandomBytes(b).ok()) std::abort();  // no safe fallback for an identity
  return HexEncode(ByteView(b, sizeof b));
}

// The known record fields; everything else is kept in unknown_fields.
const std::set<std::string>& KnownFields() {
  static const std::set<std::string> kKnown = {
      "id",         "run_id",      "service", "site",  "source", "start",
      "end",        "snapshot",    "bytes_added", "bytes_sent", "result", "error",
      "host",       "program_version", "phases"};
  return kKnown;
}

// Strict integer of type T at obj[key] (as repository/json_fields.h, which is internal to
// lb_repository): a JSON integer that fits, else Corruption text.
template <typename T>
bool IntegerField(const json& obj, const char* key, T* out, std::string* why) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    *why = std::string("\"") + key + "\" is missing";
    return false;
  }
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      *out = static_cast<T>(u);
      return true;
    }
  } else if (it->is_number_integer()) {
    int64_t i = it->get<int64_t>();
    if (i >= 0 && static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      *out = static_cast<T>(i);
      return true;
    }
  }
  *why = std::string("\"") + key + "\" must be a non-negative integer that fits, not " +
         (it->is_number() ? it->dump() : std::string(it->type_name()));
  return false;
}

bool StringField(const json& obj, const char* key, bool required, std::string* out,
                 std::string* why) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (!required) return true;
    *why = std::string("\"") + key + "\" is missing";
    return false;
  }
  if (!it->is_string()) {
    *why = std::string("\"") + key + "\" must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool TimeField(const json& obj, const char* key, int64_t* out, std::string* why) {
  std::string text;
  if (!StringField(obj, key, true, &text, why)) return false;
  Result<int64_t> t = ParseTime(text);
  if (!t.ok()) {
    *why = std::string("\"") + key + "\" is not an RFC 3339 time: " + text;
    return false;
  }
  *out = *t;
  return true;
}

json RecordToJson(const RunRecord& r) {
  json j = json::object();
  if (!r.unknown_fields.empty()) {
    json extra = json::parse(r.unknown_fields, nullptr, false);
    if (extra.is_object()) j = std::move(extra);
  }
  j["id"] = r.id;
  j["run_id"] = r.run_id;
  j["service"] = r.service;
  j["site"] = r.site;
  if (r.source) j["source"] = {{"name", r.source->name}, {"kind", r.source->kind}};
  else j.erase("source");
  j["start"] = FormatTime(r.start_ns);
  j["end"] = FormatTime(r.end_ns);
  if (r.snapshot) j["snapshot"] = r.snapshot->Hex();
  else j.erase("snapshot");
  j["bytes_added"] = r.bytes_added;
  j["bytes_sent"] = r.bytes_sent;
  j["result"] = std::string(RunResultName(r.result));
  if (!r.error.empty()) j["error"] = r.error;
  else j.erase("error");
  j["host"] = r.host;
  j["program_version"] = r.program_version;
  if (!r.phases.empty()) {
    json phases = json::array();
    for (const PhaseTime& p : r.phases) {
      double ns = std::max(0.0, std::round(p.seconds * 1e9));
      uint64_t v = ns >= 1.8e19 ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(ns);
      phases.push_back({{"phase", p.phase}, {"ns", v}});
    }
    j["phases"] = std::move(phases);
  } else {
    j.erase("phases");
  }
  return j;
}

// Parses one record; false with *why set when it is malformed.
bool RecordFromJson(const json& j, RunRecord* r, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  if (!StringField(j, "id", true, &r->id, why) || !StringField(j, "run_id", true, &r->run_id, why) ||
      !StringField(j, "service", true, &r->service, why) ||
      !StringField(j, "site", true, &r->site, why) ||
      !TimeField(j, "start", &r->start_ns, why) || !TimeField(j, "end", &r->end_ns, why) ||
      !IntegerField(j, "bytes_added", &r->bytes_added, why) ||
      !IntegerField(j, "bytes_sent", &r->bytes_sent, why) ||
      !StringField(j, "error", false, &r->error, why) ||
      !StringField(j, "host", true, &r->host, why) ||
      !StringField(j, "program_version", true, &r->program_version, why))
    return false;
  std::string result;
  if (!StringField(j, "result", true, &result, why)) return false;
  std::optional<RunResult> parsed = ParseRunResult(result);
  if (!parsed) {
    *why = "\"result\" is \"" + result + "\", not ok, failed, incomplete or skipped";
    return false;
  }
  r->result = *parsed;
  if (auto it = j.find("source"); it != j.end()) {
    RunSource s;
    if (!it->is_object() || !StringField(*it, "name", true, &s.name, why) ||
        !StringField(*it, "kind", true, &s.kind, why)) {
      if (why->empty()) *why = "\"source\" must be an object";
      *why = "source: " + *why;
      return false;
    }
    r->source = std::move(s);
  }
  if (auto it = j.find("snapshot"); it != j.end()) {
    std::optional<Id> id = it->is_string() && IsLowerHex(it->get<std::string>(), 64)
                               ? Id::FromHex(it->get<std::string>())
                               : std::nullopt;
    if (!id) {
      *why = "\"snapshot\" must be 64 lowercase hex characters";
      return false;
    }
    r->snapshot = *id;
  }
  if (auto it = j.find("phases"); it != j.end()) {
    if (!it->is_array()) {
      *why = "\"phases\" must be an array";
      return false;
    }
    for (const json& p : *it) {
      PhaseTime t;
      uint64_t ns = 0;
      if (!p.is_object() || !StringField(p, "phase", true, &t.phase, why) ||
          !IntegerField(p, "ns", &ns, why)) {
        if (why->empty()) *why = "is not an object";
        *why = "phases: " + *why;
        return false;
      }
      t.seconds = static_cast<double>(ns) / 1e9;
      r->phases.push_back(std::move(t));
    }
  }
  if (!IsLowerHex(r->id, 32) || !IsLowerHex(r->run_id, 32)) {
    *why = "\"id\" and \"run_id\" must be 32 lowercase hex characters";
    return false;
  }
  if (r->service.empty() || r->site.empty()) {
    *why = "\"service\" and \"site\" must not be empty";
    return false;
  }
  json extra = json::object();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!KnownFields().count(it.key())) extra[it.key()] = it.value();
  if (!extra.empty()) r->unknown_fields = extra.dump();
  return true;
}

Status Damaged(const std::string& name, const Status& st) {
  Damage d;
  d.object_type = "run";
  d.object = name;
  return st.WithDetail(std::move(d));
}

// One object's outcome when loaded.
struct LoadedObject {
  std::string name;
  std::optional<std::vector<RunRecord>> records;  // set: read
  Status status;                                  // unreadable or failed: why
  bool gone = false;                              // listed, then missing
};

Result<std::vector<std::string>> ListObjectNames(Repository& repo) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kRun, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

// Loads and decodes every object in `names` in parallel. Damage and newer versions are recorded
// per object; any other failure (I/O, network, the context) is returned.
Result<std::vector<LoadedObject>> LoadObjects(Repository& repo,
                                              const std::vector<std::string>& names,
                                              const Context& context) {
  std::vector<LoadedObject> out(names.size());
  const int workers = std::min<int>(WorkersFor(repo.backend(), 0),
                                    static_cast<int>(std::max<size_t>(names.size(), 1)));
  LB_RETURN_IF_ERROR(ParallelForUntilError(names.size(), workers, [&](size_t i) -> Status {
    LB_RETURN_IF_ERROR(context.Check("reading run records"));
    LoadedObject& o = out[i];
    o.name = names[i];
    if (!IsLowerHex(o.name, 64)) {
      o.status = Damaged(o.name, Status::Corruption("run object with a bad name: " + o.name));
      return Status::Ok();
    }
    Result<Bytes> plain = repo.LoadUnpacked(ObjectType::kRun, o.name);
    if (!plain.ok()) {
      if (plain.status().IsNotFound() && plain.status().damage() == nullptr) {
        o.gone = true;
        return Status::Ok();
      }
      if (plain.status().damage() != nullptr) {
        o.status = plain.status();
        return Status::Ok();
      }
      return plain.status();
    }
    Result<std::vector<RunRecord>> records = DecodeRunRecords(*plain);
    if (!records.ok()) {
      Status st = records.status().WithContext("run " + o.name);
      o.status = st.IsCorruption() ? Damaged(o.name, st) : st;
      return Status::Ok();
    }
    o.records = std::move(*records);
    return Status::Ok();
  }));
  return out;
}

// A listing whose objects were all present when loaded (retried when some were compacted away).
Result<std::vector<LoadedObject>> LoadAll(Repository& repo, const Context& context) {
  for (int attempt = 0; attempt < kListAttempts; ++attempt) {
    LB_ASSIGN_OR_RETURN(std::vector<std::string> names, ListObjectNames(repo));
    LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadObjects(repo, names, context));
    if (std::none_of(loaded.begin(), loaded.end(), [](const LoadedObject& o) { return o.gone; }))
      return loaded;
  }
  return Status::Unavailable(
      "run records are being compacted: objects listed kept disappearing before they could be "
      "read; try again");
}

UnreadableRunObject Unreadable(const LoadedObject& o) {
  return UnreadableRunObject{o.name, o.status,
                             o.status.code() == StatusCode::kFailedPrecondition};
}

bool RecordOrder(const RunRecord& a, const RunRecord& b) {
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  return a.id < b.id;
}

// Stores `records` in objects of at most `per_object` records each.
Result<std::vector<Id>> WriteInChunks(Repository& repo, const std::vector<RunRecord>& records,
                                      size_t per_object, const Context& context) {
  per_object = std::clamp<size_t>(per_object, 1, kMaxRunRecordsPerObject);
  std::vector<Id> written;
  for (size_t begin = 0; begin < records.size(); begin += per_object) {
    const size_t end = std::min(records.size(), begin + per_object);
    std::vector<RunRecord> chunk(records.begin() + static_cast<ptrdiff_t>(begin),
                                 records.begin() + static_cast<ptrdiff_t>(end));
    LB_ASSIGN_OR_RETURN(Id id, WriteRunRecords(repo, chunk, context));
    written.push_back(id);
  }
  return written;
}

}  // namespace

std::string_view RunResultName(RunResult result) {
  switch (result) {
    case RunResult::kOk:
      return "ok";
    case RunResult::kFailed:
      return "failed";
    case RunResult::kIncomplete:
      return "incomplete";
    case RunResult::kSkipped:
      return "skipped";
  }
  return "unknown";
}

std::optional<RunResult> ParseRunResult(std::string_view text) {
  for (RunResult r : {RunResult::kOk, RunResult::kFailed, RunResult::kIncomplete,
                      RunResult::kSkipped})
    if (RunResultName(r) == text) return r;
  return std::nullopt;
}

std::string NewRunRecordId() { return RandomHex16(); }
std::string NewRunId() { return RandomHex16(); }

Status ValidateRunRecord(const RunRecord& r) {
  if (!IsLowerHex(r.id, 32))
    return Status::InvalidArgument("run record id \"" + r.id +
                                   "\" is not 32 lowercase hex characters (use NewRunRecordId)");
  if (!IsLowerHex(r.run_id, 32))
    return Status::InvalidArgument("run record " + r.id + ": run_id \"" + r.run_id +
                                   "\" is not 32 lowercase hex characters (use NewRunId)");
  if (r.service.empty()) return Status::InvalidArgument("run record " + r.id + ": service is empty");
  if (r.site.empty()) return Status::InvalidArgument("run record " + r.id + ": site is empty");
  if (r.source && (r.source->name.empty() || r.source->kind.empty()))
    return Status::InvalidArgument("run record " + r.id + ": source name and kind must be set");
  if (!r.unknown_fields.empty()) {
    json extra = json::parse(r.unknown_fields, nullptr, false);
    if (!extra.is_object())
      return Status::InvalidArgument("run record " + r.id + ": unknown_fields is not a JSON object");
  }
  return Status::Ok();
}

Result<Bytes> EncodeRunRecords(const std::vector<RunRecord>& records) {
  json arr = json::array();
  for (const RunRecord& r : records) {
    LB_RETURN_IF_ERROR(ValidateRunRecord(r));
    arr.push_back(RecordToJson(r));
  }
  json j = {{"version", kRunRecordsVersion}, {"records", std::move(arr)}};
  // Invalid UTF-8 in a name or message becomes U+FFFD rather than an exception.
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return Bytes(text.begin(), text.end());
}

std::string RunRecordJson(const RunRecord& record) {
  return RecordToJson(record).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<RunRecord>> DecodeRunRecords(ByteView plaintext) {
  json j = json::parse(plaintext.begin(), plaintext.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption("run records are not a JSON object");
  uint32_t version = 0;
  std::string why;
  if (!IntegerField(j, "version", &version, &why))
    return Status::Corruption("run records: " + why);
  if (version > kRunRecordsVersion)
    return Status::FailedPrecondition("run records of version " + std::to_string(version) +
                                      " need a newer Lifeboat (this one reads version " +
                                      std::to_string(kRunRecordsVersion) + ")");
  if (version == 0) return Status::Corruption("run records: version 0 does not exist");
  auto it = j.find("records");
  if (it == j.end() || !it->is_array())
    return Status::Corruption("run records: \"records\" is missing or not an array");
  std::vector<RunRecord> out;
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    RunRecord r;
    why.clear();
    if (!RecordFromJson((*it)[i], &r, &why))
      return Status::Corruption("run record " + std::to_string(i) + " is malformed: " + why);
    out.push_back(std::move(r));
  }
  return out;
}

Result<Id> WriteRunRecords(Repository& repo, const std::vector<RunRecord>& records,
                           const Context& context) {
  if (records.empty()) return Status::InvalidArgument("no run records to write");
  LB_ASSIGN_OR_RETURN(Bytes plain, EncodeRunRecords(records));
  LB_RETURN_IF_ERROR(context.Check("writing run records"));
  Result<Id> id = repo.SaveUnpacked(ObjectType::kRun, plain);
  if (!id.ok()) return id.status().WithContext("storing run records in " + repo.backend().Location());
  return id;
}

Result<RunRecordListing> ListRunRecords(Repository& repo, const RunRecordFilter& filter,
                                        const Context& context) {
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadAll(repo, context));
  RunRecordListing out;
  std::unordered_set<std::string> seen;
  for (LoadedObject& o : loaded) {
    if (!o.records) {
      out.unreadable.push_back(Unreadable(o));
      continue;
    }
    out.objects.push_back(o.name);
    for (RunRecord& r : *o.records) {
      if (!seen.insert(r.id).second) {
        out.duplicates++;
        continue;
      }
      if (!filter.services.empty() &&
          std::find(filter.services.begin(), filter.services.end(), r.service) ==
              filter.services.end())
        continue;
      if (!filter.sites.empty() &&
          std::find(filter.sites.begin(), filter.sites.end(), r.site) == filter.sites.end())
        continue;
      if (filter.since_ns && r.end_ns < *filter.since_ns) continue;
      out.records.push_back(std::move(r));
    }
  }
  std::sort(out.records.begin(), out.records.end(), RecordOrder);
  return out;
}

Result<CompactRunRecordsResult> CompactRunRecords(Repository& repo, const Context& context,
                                                  const CompactRunRecordsOptions& options) {
  LB_RETURN_IF_ERROR(repo.CheckNotAppendOnly("compacting run records"));
  if (std::optional<ObjectLockHint> lock = repo.backend().Hints().object_lock) {
    return Status::FailedPrecondition(
        "compacting run records: " + repo.backend().Location() + " locks every object it writes (" +
        lock->mode + ", " + std::to_string(lock->period.count() / 86400) +
        " days), so old run-record objects cannot be removed; they are left as they are");
  }
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadAll(repo, context));
  CompactRunRecordsResult result;
  std::vector<const LoadedObject*> readable;
  for (const LoadedObject& o : loaded) {
    if (o.records) readable.push_back(&o);
    else result.left_alone.push_back(Unreadable(o));
  }
  const std::optional<int64_t> cutoff =
      options.max_age_ns ? std::optional<int64_t>(context.clock().WallNs() - *options.max_age_ns)
                         : std::nullopt;
  std::vector<RunRecord> merged;
  std::unordered_set<std::string> seen;
  for (const LoadedObject* o : readable) {
    for (const RunRecord& r : *o->records) {
      if (!seen.insert(r.id).second) {
        result.duplicates++;
        continue;
      }
      if (cutoff && r.end_ns < *cutoff) {
        result.records_dropped++;
        continue;
      }
      merged.push_back(r);
    }
  }
  const bool enough = readable.size() >= std::max<size_t>(options.min_objects, 2);
  if (!enough && result.records_dropped == 0) return result;  // nothing worth doing
  std::sort(merged.begin(), merged.end(), RecordOrder);
  result.compacted = true;
  result.objects_read = readable.size();
  result.records_kept = merged.size();
  // 1. The merged objects, durably, before anything is removed.
  LB_ASSIGN_OR_RETURN(result.written,
                      WriteInChunks(repo, merged, options.max_records_per_object, context));
  // 2. Only then the objects that were read.
  for (const LoadedObject* o : readable) {
    const ObjectHandle h{ObjectType::kRun, o->name};
    Status st = repo.backend().Remove(h);
    if (st.ok()) {
      result.objects_removed++;
      continue;
    }
    if (st.IsNotFound()) continue;  // another compaction removed it, after storing its records
    if (std::optional<int64_t> until =
            LockedUntil(repo.backend(), h, st, context.clock().WallNs())) {
      result.removal_stopped = "run " + o->name + " is locked until " + FormatLockTime(*until) +
                               "; the remaining old objects stay (their records are duplicates)";
    } else {
      result.removal_stopped = "removing run " + o->name + ": " + st.ToString() +
                               "; the remaining old objects stay (their records are duplicates)";
    }
    break;
  }
  return result;
}

Result<CopyRunRecordsResult> CopyRunRecords(Repository& source, Repository& target,
                                            const Context& context) {
  LB_ASSIGN_OR_RETURN(RunRecordListing from, ListRunRecords(source, {}, context));
  CopyRunRecordsResult result;
  result.not_copied = std::move(from.unreadable);
  if (from.records.empty()) return result;
  LB_ASSIGN_OR_RETURN(RunRecordListing to, ListRunRecords(target, {}, context));
  std::unordered_set<std::string> present;
  for (const RunRecord& r : to.records) present.insert(r.id);
  std::vector<RunRecord> missing;
  for (RunRecord& r : from.records) {
    if (present.count(r.id)) {
      result.records_present++;
      continue;
    }
    missing.push_back(std::move(r));
  }
  if (missing.empty()) return result;
  LB_ASSIGN_OR_RETURN(result.written,
                      WriteInChunks(target, missing, kMaxRunRecordsPerObject, context));
  result.records_copied = missing.size();
  return result;
}

}  // namespace lifeboat
