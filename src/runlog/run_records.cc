#include "runlog/run_records.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "backend/object_lock.h"
#include "repository/keys.h"
#include "runlog/record_object.h"

namespace lifeboat {

namespace runlog_internal {

namespace {
// The known record fields; everything else is kept in unknown_fields.
const std::set<std::string>& KnownFields() {
  static const std::set<std::string> kKnown = {
      "id",         "run_id",      "service", "site",  "source", "start",
      "end",        "snapshot",    "bytes_added", "bytes_sent", "result", "error",
      "host",       "program_version", "phases"};
  return kKnown;
}
}  // namespace

json RunRecordToJson(const RunRecord& r) {
  json j = StartWithUnknown(r.unknown_fields);
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

bool RunRecordFromJson(const json& j, RunRecord* r, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  if (!StringField(j, "id", true, &r->id, why) || !StringField(j, "run_id", true, &r->run_id, why) ||
      !StringField(j, "service", true, &r->service, why) ||
      !StringField(j, "site", true, &r->site, why) ||
      !TimeField(j, "start", &r->start_ns, why) || !TimeField(j, "end", &r->end_ns, why) ||
      !Uint64Field(j, "bytes_added", &r->bytes_added, why) ||
      !Uint64Field(j, "bytes_sent", &r->bytes_sent, why) ||
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
          !Uint64Field(p, "ns", &ns, why)) {
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
  r->unknown_fields = UnknownFields(j, KnownFields());
  return true;
}

}  // namespace runlog_internal

namespace {

using namespace runlog_internal;  // NOLINT: this file implements them

bool RecordOrder(const RunRecord& a, const RunRecord& b) {
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  return a.id < b.id;
}

// Incident records merged from several objects: every distinct record (by its encoding, §12.2)
// once, whatever its sequence: compaction and copy never drop one.
class IncidentSet {
 public:
  // False when an identical record was added before.
  bool Add(const IncidentRecord& r) {
    if (!encodings_.insert(IncidentRecordEncoding(r)).second) return false;
    records_.push_back(r);
    return true;
  }
  bool Has(const IncidentRecord& r) const {
    return encodings_.count(IncidentRecordEncoding(r)) > 0;
  }
  std::vector<IncidentRecord>& records() { return records_; }

 private:
  std::unordered_set<std::string> encodings_;
  std::vector<IncidentRecord> records_;
};

// Stores run records in version-1 objects of at most `per_object` records each, then drill
// records in version-2 objects of at most kMaxDrillRecordsPerObject each, then incident records
// in version-3 objects of at most kMaxIncidentRecordsPerObject each.
Result<std::vector<Id>> WriteInChunks(Repository& repo, const std::vector<RunRecord>& runs,
                                      const std::vector<DrillRecord>& drills,
                                      const std::vector<IncidentRecord>& incidents,
                                      size_t per_object, const Context& context) {
  per_object = std::clamp<size_t>(per_object, 1, kMaxRunRecordsPerObject);
  std::vector<Id> written;
  for (size_t begin = 0; begin < runs.size(); begin += per_object) {
    const size_t end = std::min(runs.size(), begin + per_object);
    std::vector<RunRecord> chunk(runs.begin() + static_cast<ptrdiff_t>(begin),
                                 runs.begin() + static_cast<ptrdiff_t>(end));
    LB_ASSIGN_OR_RETURN(Id id, WriteRecordObject(repo, chunk, {}, context));
    written.push_back(id);
  }
  for (size_t begin = 0; begin < drills.size(); begin += kMaxDrillRecordsPerObject) {
    const size_t end = std::min(drills.size(), begin + kMaxDrillRecordsPerObject);
    std::vector<DrillRecord> chunk(drills.begin() + static_cast<ptrdiff_t>(begin),
                                   drills.begin() + static_cast<ptrdiff_t>(end));
    LB_ASSIGN_OR_RETURN(Id id, WriteRecordObject(repo, {}, chunk, context));
    written.push_back(id);
  }
  for (size_t begin = 0; begin < incidents.size(); begin += kMaxIncidentRecordsPerObject) {
    const size_t end = std::min(incidents.size(), begin + kMaxIncidentRecordsPerObject);
    std::vector<IncidentRecord> chunk(incidents.begin() + static_cast<ptrdiff_t>(begin),
                                      incidents.begin() + static_cast<ptrdiff_t>(end));
    LB_ASSIGN_OR_RETURN(Id id, WriteRecordObject(repo, {}, {}, context, chunk));
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

std::string NewRunRecordId() { return RandomId(); }
std::string NewRunId() { return RandomId(); }

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
  if (!UnknownFieldsValid(r.unknown_fields))
    return Status::InvalidArgument("run record " + r.id + ": unknown_fields is not a JSON object");
  return Status::Ok();
}

Result<Bytes> EncodeRunRecords(const std::vector<RunRecord>& records) {
  return EncodeRecordObject(records, {});
}

std::string RunRecordJson(const RunRecord& record) {
  return RunRecordToJson(record).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<RunRecord>> DecodeRunRecords(ByteView plaintext) {
  LB_ASSIGN_OR_RETURN(RecordObject o, DecodeRecordObject(plaintext));
  return std::move(o.runs);
}

Result<Id> WriteRunRecords(Repository& repo, const std::vector<RunRecord>& records,
                           const Context& context) {
  if (records.empty()) return Status::InvalidArgument("no run records to write");
  return WriteRecordObject(repo, records, {}, context);
}

Result<RunRecordListing> ListRunRecords(Repository& repo, const RunRecordFilter& filter,
                                        const Context& context) {
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadRecordObjects(repo, context));
  RunRecordListing out;
  std::unordered_set<std::string> seen;
  for (LoadedObject& o : loaded) {
    if (!o.content) {
      out.unreadable.push_back(Unreadable(o));
      continue;
    }
    out.objects.push_back(o.name);
    for (RunRecord& r : o.content->runs) {
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
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadRecordObjects(repo, context));
  CompactRunRecordsResult result;
  std::vector<const LoadedObject*> readable;
  for (const LoadedObject& o : loaded) {
    if (o.content) readable.push_back(&o);
    else result.left_alone.push_back(Unreadable(o));
  }
  const std::optional<int64_t> cutoff =
      options.max_age_ns ? std::optional<int64_t>(context.clock().WallNs() - *options.max_age_ns)
                         : std::nullopt;
  std::vector<RunRecord> merged;
  std::vector<DrillRecord> drills;
  IncidentSet incidents;
  std::unordered_set<std::string> seen, seen_drills;
  for (const LoadedObject* o : readable) {
    for (const RunRecord& r : o->content->runs) {
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
    // Drill records are evidence: never dropped by age (§12.1).
    for (const DrillRecord& d : o->content->drills) {
      if (!seen_drills.insert(d.id).second) {
        result.drill_duplicates++;
        continue;
      }
      drills.push_back(d);
    }
    // Incident records are the history of the disasters: every sequence kept, never by age.
    for (const IncidentRecord& r : o->content->incidents)
      if (!incidents.Add(r)) result.incident_duplicates++;
  }
  const bool enough = readable.size() >= std::max<size_t>(options.min_objects, 2);
  if (!enough && result.records_dropped == 0) return result;  // nothing worth doing
  std::sort(merged.begin(), merged.end(), RecordOrder);
  std::sort(drills.begin(), drills.end(), DrillRecordOrder);
  std::sort(incidents.records().begin(), incidents.records().end(), IncidentRecordOrder);
  result.compacted = true;
  result.objects_read = readable.size();
  result.records_kept = merged.size();
  result.drill_records_kept = drills.size();
  result.incident_records_kept = incidents.records().size();
  // 1. The merged objects, durably, before anything is removed.
  LB_ASSIGN_OR_RETURN(result.written, WriteInChunks(repo, merged, drills, incidents.records(),
                                                    options.max_records_per_object, context));
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
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> from, LoadRecordObjects(source, context));
  CopyRunRecordsResult result;
  std::vector<RunRecord> runs;
  std::vector<DrillRecord> drills;
  IncidentSet incidents;
  {
    std::unordered_set<std::string> seen, seen_drills;
    for (LoadedObject& o : from) {
      if (!o.content) {
        result.not_copied.push_back(Unreadable(o));
        continue;
      }
      for (RunRecord& r : o.content->runs)
        if (seen.insert(r.id).second) runs.push_back(std::move(r));
      for (DrillRecord& d : o.content->drills)
        if (seen_drills.insert(d.id).second) drills.push_back(std::move(d));
      for (const IncidentRecord& r : o.content->incidents) incidents.Add(r);
    }
  }
  if (runs.empty() && drills.empty() && incidents.records().empty()) return result;
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> to, LoadRecordObjects(target, context));
  std::unordered_set<std::string> present, present_drills;
  IncidentSet present_incidents;
  for (const LoadedObject& o : to) {
    if (!o.content) continue;  // left alone; its records may be copied again (one per id)
    for (const RunRecord& r : o.content->runs) present.insert(r.id);
    for (const DrillRecord& d : o.content->drills) present_drills.insert(d.id);
    for (const IncidentRecord& r : o.content->incidents) present_incidents.Add(r);
  }
  std::vector<RunRecord> missing;
  for (RunRecord& r : runs) {
    if (present.count(r.id)) {
      result.records_present++;
      continue;
    }
    missing.push_back(std::move(r));
  }
  std::vector<DrillRecord> missing_drills;
  for (DrillRecord& d : drills) {
    if (present_drills.count(d.id)) {
      result.drill_records_present++;
      continue;
    }
    missing_drills.push_back(std::move(d));
  }
  std::vector<IncidentRecord> missing_incidents;
  for (IncidentRecord& r : incidents.records()) {
    if (present_incidents.Has(r)) {
      result.incident_records_present++;
      continue;
    }
    missing_incidents.push_back(std::move(r));
  }
  if (missing.empty() && missing_drills.empty() && missing_incidents.empty()) return result;
  std::sort(missing.begin(), missing.end(), RecordOrder);
  std::sort(missing_drills.begin(), missing_drills.end(), DrillRecordOrder);
  std::sort(missing_incidents.begin(), missing_incidents.end(), IncidentRecordOrder);
  LB_ASSIGN_OR_RETURN(result.written,
                      WriteInChunks(target, missing, missing_drills, missing_incidents,
                                    kMaxRunRecordsPerObject, context));
  result.records_copied = missing.size();
  result.drill_records_copied = missing_drills.size();
  result.incident_records_copied = missing_incidents.size();
  return result;
}

}  // namespace lifeboat
