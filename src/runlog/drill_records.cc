#include "runlog/drill_records.h"

#include <algorithm>
#include <limits>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "repository/keys.h"
#include "runlog/record_object.h"
#include "util/trim_output.h"

namespace lifeboat {

namespace runlog_internal {
namespace {

const std::set<std::string>& KnownRecordFields() {
  static const std::set<std::string> kKnown = {
      "id",          "drill_id",       "service",         "site",          "start",
      "end",         "wave",           "snapshots",       "achieved_rto_ns", "achieved_rpo_ns",
      "rto_target_ns", "rpo_target_ns", "bytes_restored", "files_restored", "result",
      "error",       "steps",          "host",            "program_version", "tools"};
  return kKnown;
}
const std::set<std::string>& KnownStepFields() {
  static const std::set<std::string> kKnown = {"name", "kind", "start", "end", "result", "output"};
  return kKnown;
}
const std::set<std::string>& KnownSnapshotFields() {
  static const std::set<std::string> kKnown = {"source", "kind", "snapshot", "time"};
  return kKnown;
}

}  // namespace

bool StepFromJson(const json& j, DrillStep* s, bool allow_switch, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  std::string kind, result;
  if (!StringField(j, "name", true, &s->name, why) || !StringField(j, "kind", true, &kind, why) ||
      !TimeField(j, "start", &s->start_ns, why) || !TimeField(j, "end", &s->end_ns, why) ||
      !StringField(j, "result", true, &result, why) ||
      !StringField(j, "output", false, &s->output, why))
    return false;
  std::optional<DrillStepKind> k = ParseDrillStepKind(kind);
  if (!k || (*k == DrillStepKind::kSwitch && !allow_switch)) {
    *why = "\"kind\" is \"" + kind + "\", not restore, recover or verify" +
           (allow_switch ? " or switch" : "");
    return false;
  }
  std::optional<DrillResult> r = ParseDrillResult(result);
  if (!r) {
    *why = "\"result\" is \"" + result + "\", not passed, failed or skipped";
    return false;
  }
  if (s->name.empty()) {
    *why = "\"name\" must not be empty";
    return false;
  }
  s->kind = *k;
  s->result = *r;
  s->unknown_fields = UnknownFields(j, KnownStepFields());
  return true;
}

json StepToJson(const DrillStep& s) {
  json one = StartWithUnknown(s.unknown_fields);
  one["name"] = s.name;
  one["kind"] = std::string(DrillStepKindName(s.kind));
  one["start"] = FormatTime(s.start_ns);
  one["end"] = FormatTime(s.end_ns);
  one["result"] = std::string(DrillResultName(s.result));
  if (!s.output.empty())
    one["output"] = TrimOutput(s.output, kMaxDrillOutputBytes);
  else
    one.erase("output");
  return one;
}

namespace {

bool SnapshotFromJson(const json& j, DrillSnapshot* s, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  std::string hex;
  if (!StringField(j, "source", true, &s->source, why) ||
      !StringField(j, "kind", true, &s->kind, why) ||
      !StringField(j, "snapshot", true, &hex, why) || !TimeField(j, "time", &s->time_ns, why))
    return false;
  std::optional<Id> id = IsLowerHex(hex, 64) ? Id::FromHex(hex) : std::nullopt;
  if (!id) {
    *why = "\"snapshot\" must be 64 lowercase hex characters";
    return false;
  }
  s->snapshot = *id;
  s->unknown_fields = UnknownFields(j, KnownSnapshotFields());
  return true;
}

}  // namespace

json DrillRecordToJson(const DrillRecord& r) {
  json j = StartWithUnknown(r.unknown_fields);
  j["id"] = r.id;
  j["drill_id"] = r.drill_id;
  j["service"] = r.service;
  j["site"] = r.site;
  j["start"] = FormatTime(r.start_ns);
  j["end"] = FormatTime(r.end_ns);
  if (r.wave) j["wave"] = *r.wave;
  else j.erase("wave");
  json snapshots = json::array();
  for (const DrillSnapshot& s : r.snapshots) {
    json one = StartWithUnknown(s.unknown_fields);
    one["source"] = s.source;
    one["kind"] = s.kind;
    one["snapshot"] = s.snapshot.Hex();
    one["time"] = FormatTime(s.time_ns);
    snapshots.push_back(std::move(one));
  }
  j["snapshots"] = std::move(snapshots);
  PutOptional(&j, "achieved_rto_ns", r.achieved_rto_ns);
  PutOptional(&j, "achieved_rpo_ns", r.achieved_rpo_ns);
  PutOptional(&j, "rto_target_ns", r.rto_target_ns);
  PutOptional(&j, "rpo_target_ns", r.rpo_target_ns);
  j["bytes_restored"] = r.bytes_restored;
  j["files_restored"] = r.files_restored;
  j["result"] = std::string(DrillResultName(r.result));
  if (!r.error.empty()) j["error"] = TrimOutput(r.error, kMaxDrillOutputBytes);
  else j.erase("error");
  json steps = json::array();
  for (const DrillStep& s : r.steps) steps.push_back(StepToJson(s));
  j["steps"] = std::move(steps);
  j["host"] = r.host;
  j["program_version"] = r.program_version;
  if (!r.tools.empty()) {
    json tools = json::array();
    for (const ToolVersion& t : r.tools) tools.push_back({{"name", t.name}, {"version", t.version}});
    j["tools"] = std::move(tools);
  } else {
    j.erase("tools");
  }
  return j;
}

bool DrillRecordFromJson(const json& j, DrillRecord* r, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  std::string result;
  if (!StringField(j, "id", true, &r->id, why) ||
      !StringField(j, "drill_id", true, &r->drill_id, why) ||
      !StringField(j, "service", true, &r->service, why) ||
      !StringField(j, "site", true, &r->site, why) || !TimeField(j, "start", &r->start_ns, why) ||
      !TimeField(j, "end", &r->end_ns, why) ||
      !OptionalNs(j, "achieved_rto_ns", &r->achieved_rto_ns, why) ||
      !OptionalNs(j, "achieved_rpo_ns", &r->achieved_rpo_ns, why) ||
      !OptionalNs(j, "rto_target_ns", &r->rto_target_ns, why) ||
      !OptionalNs(j, "rpo_target_ns", &r->rpo_target_ns, why) ||
      !Uint64Field(j, "bytes_restored", &r->bytes_restored, why) ||
      !Uint64Field(j, "files_restored", &r->files_restored, why) ||
      !StringField(j, "result", true, &result, why) ||
      !StringField(j, "error", false, &r->error, why) ||
      !StringField(j, "host", true, &r->host, why) ||
      !StringField(j, "program_version", true, &r->program_version, why))
    return false;
  std::optional<DrillResult> parsed = ParseDrillResult(result);
  if (!parsed) {
    *why = "\"result\" is \"" + result + "\", not passed, failed or skipped";
    return false;
  }
  r->result = *parsed;
  if (j.contains("wave")) {
    uint32_t wave = 0;
    if (!Uint32Field(j, "wave", &wave, why) ||
        wave > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
      if (why->empty()) *why = "\"wave\" is too large";
      return false;
    }
    r->wave = static_cast<int>(wave);
  }
  if (!ArrayField(j, "snapshots", &r->snapshots, why, SnapshotFromJson) ||
      !ArrayField(j, "steps", &r->steps, why,
                  [](const json& one, DrillStep* s, std::string* w) {
                    return StepFromJson(one, s, /*allow_switch=*/false, w);
                  }) ||
      !ArrayField(j, "tools", &r->tools, why, [](const json& t, ToolVersion* v, std::string* w) {
        if (!t.is_object()) {
          *w = "is not a JSON object";
          return false;
        }
        return StringField(t, "name", true, &v->name, w) &&
               StringField(t, "version", true, &v->version, w);
      }))
    return false;
  if (!j.contains("snapshots") || !j.contains("steps")) {
    *why = "\"snapshots\" and \"steps\" are required";
    return false;
  }
  if (!IsLowerHex(r->id, 32) || !IsLowerHex(r->drill_id, 32)) {
    *why = "\"id\" and \"drill_id\" must be 32 lowercase hex characters";
    return false;
  }
  if (r->service.empty() || r->site.empty()) {
    *why = "\"service\" and \"site\" must not be empty";
    return false;
  }
  r->unknown_fields = UnknownFields(j, KnownRecordFields());
  return true;
}

}  // namespace runlog_internal

using namespace runlog_internal;  // NOLINT: this file implements them

std::string_view DrillResultName(DrillResult result) {
  switch (result) {
    case DrillResult::kPassed: return "passed";
    case DrillResult::kFailed: return "failed";
    case DrillResult::kSkipped: return "skipped";
  }
  return "unknown";
}

std::optional<DrillResult> ParseDrillResult(std::string_view text) {
  for (DrillResult r : {DrillResult::kPassed, DrillResult::kFailed, DrillResult::kSkipped})
    if (DrillResultName(r) == text) return r;
  return std::nullopt;
}

std::string_view DrillStepKindName(DrillStepKind kind) {
  switch (kind) {
    case DrillStepKind::kRestore: return "restore";
    case DrillStepKind::kRecover: return "recover";
    case DrillStepKind::kVerify: return "verify";
    case DrillStepKind::kSwitch:
      return "switch";
  }
  return "unknown";
}

std::optional<DrillStepKind> ParseDrillStepKind(std::string_view text) {
  for (DrillStepKind k : {DrillStepKind::kRestore, DrillStepKind::kRecover, DrillStepKind::kVerify,
                          DrillStepKind::kSwitch})
    if (DrillStepKindName(k) == text) return k;
  return std::nullopt;
}

const DrillStep* DrillRecord::SlowestStep() const {
  const DrillStep* slowest = nullptr;
  for (const DrillStep& s : steps)
    if (!slowest || s.end_ns - s.start_ns > slowest->end_ns - slowest->start_ns) slowest = &s;
  return slowest;
}

std::string NewDrillRecordId() { return RandomId(); }
std::string NewDrillId() { return RandomId(); }

Status ValidateDrillRecord(const DrillRecord& r) {
  if (!IsLowerHex(r.id, 32))
    return Status::InvalidArgument("drill record id \"" + r.id +
                                   "\" is not 32 lowercase hex characters (use NewDrillRecordId)");
  const std::string what = "drill record " + r.id + ": ";
  if (!IsLowerHex(r.drill_id, 32))
    return Status::InvalidArgument(what + "drill_id \"" + r.drill_id +
                                   "\" is not 32 lowercase hex characters (use NewDrillId)");
  if (r.service.empty()) return Status::InvalidArgument(what + "service is empty");
  if (r.site.empty()) return Status::InvalidArgument(what + "site is empty");
  if (r.wave && *r.wave < 0) return Status::InvalidArgument(what + "wave is negative");
  for (const auto* v : {&r.achieved_rto_ns, &r.achieved_rpo_ns, &r.rto_target_ns, &r.rpo_target_ns})
    if (*v && **v < 0)
      return Status::InvalidArgument(what + "a duration is negative (clamp clock skew to 0)");
  for (const DrillStep& s : r.steps) {
    if (s.name.empty()) return Status::InvalidArgument(what + "a step has no name");
    if (s.kind == DrillStepKind::kSwitch)
      return Status::InvalidArgument(what + "step " + s.name +
                                     ": switch steps belong to incident records, not drills");
    if (!UnknownFieldsValid(s.unknown_fields))
      return Status::InvalidArgument(what + "step " + s.name + ": unknown_fields is not a JSON object");
  }
  for (const DrillSnapshot& s : r.snapshots) {
    if (s.source.empty() || s.kind.empty())
      return Status::InvalidArgument(what + "snapshot source name and kind must be set");
    if (!UnknownFieldsValid(s.unknown_fields))
      return Status::InvalidArgument(what + "snapshot " + s.source +
                                     ": unknown_fields is not a JSON object");
  }
  for (const ToolVersion& t : r.tools)
    if (t.name.empty()) return Status::InvalidArgument(what + "a tool has no name");
  if (!UnknownFieldsValid(r.unknown_fields))
    return Status::InvalidArgument(what + "unknown_fields is not a JSON object");
  return Status::Ok();
}

std::string DrillRecordJson(const DrillRecord& record) {
  return DrillRecordToJson(record).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Id> WriteDrillRecords(Repository& repo, const std::vector<DrillRecord>& records,
                             const Context& context) {
  if (records.empty()) return Status::InvalidArgument("no drill records to write");
  if (records.size() > kMaxDrillRecordsPerObject)
    return Status::InvalidArgument("at most " + std::to_string(kMaxDrillRecordsPerObject) +
                                   " drill records go into one object");
  return WriteRecordObject(repo, {}, records, context);
}

Result<DrillRecordListing> ListDrillRecords(Repository& repo, const DrillRecordFilter& filter,
                                            const Context& context) {
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadRecordObjects(repo, context));
  DrillRecordListing out;
  std::unordered_set<std::string> seen;
  auto wanted = [](const std::vector<std::string>& list, const std::string& name) {
    return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
  };
  for (LoadedObject& o : loaded) {
    if (!o.content) {
      out.unreadable.push_back(Unreadable(o));
      continue;
    }
    out.objects.push_back(o.name);
    for (DrillRecord& r : o.content->drills) {
      if (!seen.insert(r.id).second) {
        out.duplicates++;
        continue;
      }
      if (!wanted(filter.services, r.service) || !wanted(filter.sites, r.site)) continue;
      if (filter.since_ns && r.end_ns < *filter.since_ns) continue;
      out.records.push_back(std::move(r));
    }
  }
  std::sort(out.records.begin(), out.records.end(), DrillRecordOrder);
  return out;
}

}  // namespace lifeboat
