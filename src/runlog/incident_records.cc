#include "runlog/incident_records.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "repository/keys.h"
#include "runlog/record_object.h"
#include "util/trim_output.h"

namespace lifeboat {

namespace runlog_internal {
namespace {

const std::set<std::string>& KnownRecordFields() {
  static const std::set<std::string> kKnown = {
      "id",     "sequence",      "kind",      "state",    "ends_incident", "declared_by",
      "reason", "fencing_token", "from_site", "to_site",  "host",          "program_version",
      "start",  "end",           "failure",   "services", "timeline"};
  return kKnown;
}
const std::set<std::string>& KnownServiceFields() {
  static const std::set<std::string> kKnown = {
      "service",       "tier",         "wave",          "result",
      "error",         "snapshots",    "snapshot_time", "achieved_rto_ns",
      "rto_target_ns", "data_loss_ns", "rpo_target_ns", "steps",
      "notes"};
  return kKnown;
}
const std::set<std::string>& KnownEventFields() {
  static const std::set<std::string> kKnown = {"time", "what", "service", "site"};
  return kKnown;
}

bool KnownServiceResult(std::string_view result) {
  return std::find(std::begin(kIncidentServiceResults), std::end(kIncidentServiceResults),
                   result) != std::end(kIncidentServiceResults);
}

// Seconds (a double) as whole nanoseconds, clamped to 0 .. 2^63-1.
int64_t SecondsToNs(double seconds) {
  const double ns = std::round(seconds * 1e9);
  if (!(ns > 0)) return 0;
  if (ns >= 9.2e18) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(ns);
}

std::optional<int64_t> SecondsToNs(const std::optional<double>& seconds) {
  if (!seconds) return std::nullopt;
  return SecondsToNs(*seconds);
}

std::optional<double> NsToSeconds(const std::optional<int64_t>& ns) {
  if (!ns) return std::nullopt;
  return static_cast<double>(*ns) / 1e9;
}

void PutTimeIfSet(json* j, const char* key, int64_t ns) {
  if (ns != 0)
    (*j)[key] = FormatTime(ns);
  else
    j->erase(key);
}

bool OptionalTime(const json& j, const char* key, int64_t* out, std::string* why) {
  if (!j.contains(key)) return true;
  return TimeField(j, key, out, why);
}

bool IntField(const json& j, const char* key, int* out, std::string* why) {
  uint32_t v = 0;
  if (!Uint32Field(j, key, &v, why)) return false;
  if (v > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    *why = std::string("\"") + key + "\" is too large";
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

json ServiceToJson(const IncidentService& s) {
  json j = StartWithUnknown(s.unknown_fields);
  j["service"] = s.service;
  j["tier"] = std::max(0, s.tier);
  j["wave"] = std::max(0, s.wave);
  j["result"] = s.result;
  if (!s.error.empty())
    j["error"] = TrimOutput(s.error, kMaxDrillOutputBytes);
  else
    j.erase("error");
  json snapshots = json::array();
  for (const auto& [source, id] : s.snapshots)
    snapshots.push_back({{"source", source}, {"snapshot", id}});
  j["snapshots"] = std::move(snapshots);
  PutTimeIfSet(&j, "snapshot_time", s.snapshot_time_ns);
  PutOptional(&j, "achieved_rto_ns", SecondsToNs(s.rto_seconds));
  PutOptional(&j, "rto_target_ns", SecondsToNs(s.rto_target_seconds));
  PutOptional(&j, "data_loss_ns", SecondsToNs(s.data_loss_seconds));
  j["rpo_target_ns"] = SecondsToNs(s.rpo_target_seconds);
  json steps = json::array();
  for (const DrillStep& step : s.steps) steps.push_back(StepToJson(step));
  j["steps"] = std::move(steps);
  if (!s.notes.empty()) {
    json notes = json::array();
    for (const std::string& n : s.notes) notes.push_back(TrimOutput(n, kMaxDrillOutputBytes));
    j["notes"] = std::move(notes);
  } else {
    j.erase("notes");
  }
  return j;
}

bool ServiceFromJson(const json& j, IncidentService* s, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  std::optional<int64_t> rto, rto_target, loss, rpo_target;
  if (!StringField(j, "service", true, &s->service, why) || !IntField(j, "tier", &s->tier, why) ||
      !IntField(j, "wave", &s->wave, why) || !StringField(j, "result", true, &s->result, why) ||
      !StringField(j, "error", false, &s->error, why) ||
      !OptionalTime(j, "snapshot_time", &s->snapshot_time_ns, why) ||
      !OptionalNs(j, "achieved_rto_ns", &rto, why) ||
      !OptionalNs(j, "rto_target_ns", &rto_target, why) ||
      !OptionalNs(j, "data_loss_ns", &loss, why) ||
      !OptionalNs(j, "rpo_target_ns", &rpo_target, why))
    return false;
  if (!rpo_target) {
    *why = "\"rpo_target_ns\" is missing";
    return false;
  }
  if (!j.contains("snapshots") || !j.contains("steps")) {
    *why = "\"snapshots\" and \"steps\" are required";
    return false;
  }
  using Snapshot = std::pair<std::string, std::string>;
  if (!ArrayField(j, "snapshots", &s->snapshots, why,
                  [](const json& one, Snapshot* out, std::string* w) {
                    if (!one.is_object()) {
                      *w = "is not a JSON object";
                      return false;
                    }
                    if (!StringField(one, "source", true, &out->first, w) ||
                        !StringField(one, "snapshot", true, &out->second, w))
                      return false;
                    if (out->first.empty()) {
                      *w = "\"source\" must not be empty";
                      return false;
                    }
                    if (!IsLowerHex(out->second, 64)) {
                      *w = "\"snapshot\" must be 64 lowercase hex characters";
                      return false;
                    }
                    return true;
                  }) ||
      !ArrayField(j, "steps", &s->steps, why,
                  [](const json& one, DrillStep* out, std::string* w) {
                    return StepFromJson(one, out, /*allow_switch=*/true, w);
                  }) ||
      !ArrayField(j, "notes", &s->notes, why,
                  [](const json& one, std::string* out, std::string* w) {
                    if (!one.is_string()) {
                      *w = "is not a string";
                      return false;
                    }
                    *out = one.get<std::string>();
                    return true;
                  }))
    return false;
  if (s->service.empty()) {
    *why = "\"service\" must not be empty";
    return false;
  }
  if (!KnownServiceResult(s->result)) {
    *why =
        "\"result\" is \"" + s->result + "\", not recovered, failed, skipped, cancelled or running";
    return false;
  }
  s->rto_seconds = NsToSeconds(rto);
  s->rto_target_seconds = NsToSeconds(rto_target);
  s->data_loss_seconds = NsToSeconds(loss);
  s->rpo_target_seconds = static_cast<double>(*rpo_target) / 1e9;
  s->unknown_fields = UnknownFields(j, KnownServiceFields());
  return true;
}

json EventToJson(const IncidentEvent& e) {
  json j = StartWithUnknown(e.unknown_fields);
  j["time"] = FormatTime(e.time_ns);
  j["what"] = e.what;
  if (!e.service.empty())
    j["service"] = e.service;
  else
    j.erase("service");
  if (!e.site.empty())
    j["site"] = e.site;
  else
    j.erase("site");
  return j;
}

bool EventFromJson(const json& j, IncidentEvent* e, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  if (!TimeField(j, "time", &e->time_ns, why) || !StringField(j, "what", true, &e->what, why) ||
      !StringField(j, "service", false, &e->service, why) ||
      !StringField(j, "site", false, &e->site, why))
    return false;
  if (e->what.empty()) {
    *why = "\"what\" must not be empty";
    return false;
  }
  e->unknown_fields = UnknownFields(j, KnownEventFields());
  return true;
}

}  // namespace

json IncidentRecordToJson(const IncidentRecord& r) {
  json j = StartWithUnknown(r.unknown_fields);
  j["id"] = r.id;
  j["sequence"] = r.sequence;
  j["kind"] = std::string(IncidentKindName(r.kind));
  j["state"] = std::string(IncidentStateName(r.state));
  if (!r.ends_incident.empty())
    j["ends_incident"] = r.ends_incident;
  else
    j.erase("ends_incident");
  j["declared_by"] = r.declared_by;
  if (!r.reason.empty())
    j["reason"] = TrimOutput(r.reason, kMaxDrillOutputBytes);
  else
    j.erase("reason");
  j["fencing_token"] = r.fencing_token;
  j["from_site"] = r.from_site;
  j["to_site"] = r.to_site;
  j["host"] = r.host;
  j["program_version"] = r.version;
  j["start"] = FormatTime(r.start_ns);
  PutTimeIfSet(&j, "end", r.end_ns);
  PutTimeIfSet(&j, "failure", r.failure_ns);
  json services = json::array();
  for (const IncidentService& s : r.services) services.push_back(ServiceToJson(s));
  j["services"] = std::move(services);
  json timeline = json::array();
  for (const IncidentEvent& e : r.timeline) timeline.push_back(EventToJson(e));
  j["timeline"] = std::move(timeline);
  return j;
}

bool IncidentRecordFromJson(const json& j, IncidentRecord* r, std::string* why) {
  if (!j.is_object()) {
    *why = "is not a JSON object";
    return false;
  }
  std::string kind, state;
  if (!StringField(j, "id", true, &r->id, why) || !Uint64Field(j, "sequence", &r->sequence, why) ||
      !StringField(j, "kind", true, &kind, why) || !StringField(j, "state", true, &state, why) ||
      !StringField(j, "ends_incident", false, &r->ends_incident, why) ||
      !StringField(j, "declared_by", true, &r->declared_by, why) ||
      !StringField(j, "reason", false, &r->reason, why) ||
      !Uint64Field(j, "fencing_token", &r->fencing_token, why) ||
      !StringField(j, "from_site", true, &r->from_site, why) ||
      !StringField(j, "to_site", true, &r->to_site, why) ||
      !StringField(j, "host", true, &r->host, why) ||
      !StringField(j, "program_version", true, &r->version, why) ||
      !TimeField(j, "start", &r->start_ns, why) || !OptionalTime(j, "end", &r->end_ns, why) ||
      !OptionalTime(j, "failure", &r->failure_ns, why))
    return false;
  std::optional<IncidentKind> k = ParseIncidentKind(kind);
  if (!k) {
    *why = "\"kind\" is \"" + kind + "\", not failover or failback";
    return false;
  }
  std::optional<IncidentState> s = ParseIncidentState(state);
  if (!s) {
    *why = "\"state\" is \"" + state + "\", not open, committed, rolled_back, failed or closed";
    return false;
  }
  r->kind = *k;
  r->state = *s;
  if (!j.contains("services") || !j.contains("timeline")) {
    *why = "\"services\" and \"timeline\" are required";
    return false;
  }
  if (!ArrayField(j, "services", &r->services, why, ServiceFromJson) ||
      !ArrayField(j, "timeline", &r->timeline, why, EventFromJson))
    return false;
  if (!IsLowerHex(r->id, 32) || (!r->ends_incident.empty() && !IsLowerHex(r->ends_incident, 32))) {
    *why = "\"id\" and \"ends_incident\" must be 32 lowercase hex characters";
    return false;
  }
  if (r->from_site.empty() || r->to_site.empty() || r->declared_by.empty()) {
    *why = "\"from_site\", \"to_site\" and \"declared_by\" must not be empty";
    return false;
  }
  r->unknown_fields = UnknownFields(j, KnownRecordFields());
  return true;
}

bool IncidentRecordOrder(const IncidentRecord& a, const IncidentRecord& b) {
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  if (a.id != b.id) return a.id < b.id;
  return a.sequence < b.sequence;
}

}  // namespace runlog_internal

using namespace runlog_internal;  // NOLINT: this file implements them

std::string_view IncidentKindName(IncidentKind kind) {
  switch (kind) {
    case IncidentKind::kFailover:
      return "failover";
    case IncidentKind::kFailback:
      return "failback";
  }
  return "unknown";
}

std::optional<IncidentKind> ParseIncidentKind(std::string_view text) {
  for (IncidentKind k : {IncidentKind::kFailover, IncidentKind::kFailback})
    if (IncidentKindName(k) == text) return k;
  return std::nullopt;
}

std::string_view IncidentStateName(IncidentState state) {
  switch (state) {
    case IncidentState::kOpen:
      return "open";
    case IncidentState::kCommitted:
      return "committed";
    case IncidentState::kRolledBack:
      return "rolled_back";
    case IncidentState::kFailed:
      return "failed";
    case IncidentState::kClosed:
      return "closed";
  }
  return "unknown";
}

std::optional<IncidentState> ParseIncidentState(std::string_view text) {
  for (IncidentState s :
       {IncidentState::kOpen, IncidentState::kCommitted, IncidentState::kRolledBack,
        IncidentState::kFailed, IncidentState::kClosed})
    if (IncidentStateName(s) == text) return s;
  return std::nullopt;
}

const IncidentService* IncidentRecord::FindService(std::string_view name) const {
  for (const IncidentService& s : services)
    if (s.service == name) return &s;
  return nullptr;
}

std::string NewIncidentId() { return RandomId(); }

Status ValidateIncidentRecord(const IncidentRecord& r) {
  if (!IsLowerHex(r.id, 32))
    return Status::InvalidArgument("incident id \"" + r.id +
                                   "\" is not 32 lowercase hex characters (use NewIncidentId)");
  const std::string what = "incident " + r.id + ": ";
  if (!r.ends_incident.empty() && !IsLowerHex(r.ends_incident, 32))
    return Status::InvalidArgument(what + "ends_incident \"" + r.ends_incident +
                                   "\" is not an incident id (32 lowercase hex characters)");
  if (r.declared_by.empty())
    return Status::InvalidArgument(what + "declared_by is empty: say who or what declared it");
  if (r.from_site.empty() || r.to_site.empty())
    return Status::InvalidArgument(what + "from_site and to_site must be set");
  for (const IncidentService& s : r.services) {
    if (s.service.empty()) return Status::InvalidArgument(what + "a service has no name");
    const std::string sw = what + "service " + s.service + ": ";
    if (!KnownServiceResult(s.result))
      return Status::InvalidArgument(sw + "result \"" + s.result +
                                     "\" is not recovered, failed, skipped, cancelled or running");
    if (s.tier < 0 || s.wave < 0) return Status::InvalidArgument(sw + "tier and wave must be >= 0");
    for (const auto& [source, id] : s.snapshots) {
      if (source.empty()) return Status::InvalidArgument(sw + "a snapshot has no source name");
      if (!IsLowerHex(id, 64))
        return Status::InvalidArgument(sw + "snapshot of " + source + " \"" + id +
                                       "\" is not 64 lowercase hex characters");
    }
    for (const std::optional<double>* v :
         {&s.rto_seconds, &s.rto_target_seconds, &s.data_loss_seconds})
      if (*v && !(**v >= 0))
        return Status::InvalidArgument(sw + "a duration is negative (clamp clock skew to 0)");
    if (!(s.rpo_target_seconds >= 0))
      return Status::InvalidArgument(sw + "rpo_target_seconds is negative");
    for (const DrillStep& step : s.steps) {
      if (step.name.empty()) return Status::InvalidArgument(sw + "a step has no name");
      if (!UnknownFieldsValid(step.unknown_fields))
        return Status::InvalidArgument(sw + "step " + step.name +
                                       ": unknown_fields is not a JSON object");
    }
    if (!UnknownFieldsValid(s.unknown_fields))
      return Status::InvalidArgument(sw + "unknown_fields is not a JSON object");
  }
  for (const IncidentEvent& e : r.timeline) {
    if (e.what.empty()) return Status::InvalidArgument(what + "a timeline event has no `what`");
    if (!UnknownFieldsValid(e.unknown_fields))
      return Status::InvalidArgument(what + "event " + e.what +
                                     ": unknown_fields is not a JSON object");
  }
  if (!UnknownFieldsValid(r.unknown_fields))
    return Status::InvalidArgument(what + "unknown_fields is not a JSON object");
  return Status::Ok();
}

std::string IncidentRecordEncoding(const IncidentRecord& record) {
  return IncidentRecordToJson(record).dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IncidentSupersedes(const IncidentRecord& a, const IncidentRecord& b) {
  if (a.sequence != b.sequence) return a.sequence > b.sequence;
  return IncidentRecordEncoding(a) > IncidentRecordEncoding(b);
}

Result<Id> WriteIncidentRecord(Repository& repo, const IncidentRecord& record,
                               const Context& context) {
  return WriteRecordObject(repo, {}, {}, context, {record});
}

std::vector<IncidentRecord> LatestIncidents(std::vector<IncidentRecord> records,
                                            uint64_t* superseded) {
  // Per id, the encoding that counts and its record; identical copies (several objects, several
  // sites) are one record.
  struct Best {
    std::string encoding;
    IncidentRecord record;
  };
  std::map<std::string, Best> best;
  std::set<std::string> distinct;
  for (IncidentRecord& r : records) {
    std::string encoding = IncidentRecordEncoding(r);
    if (!distinct.insert(encoding).second) continue;
    auto it = best.find(r.id);
    if (it == best.end()) {
      std::string id = r.id;
      best.emplace(std::move(id), Best{std::move(encoding), std::move(r)});
      continue;
    }
    const IncidentRecord& b = it->second.record;
    if (r.sequence > b.sequence || (r.sequence == b.sequence && encoding > it->second.encoding))
      it->second = Best{std::move(encoding), std::move(r)};
  }
  std::vector<IncidentRecord> out;
  out.reserve(best.size());
  for (auto& [id, b] : best) out.push_back(std::move(b.record));
  std::sort(out.begin(), out.end(), IncidentRecordOrder);
  if (superseded) *superseded = distinct.size() - out.size();
  return out;
}

Result<IncidentListing> ListIncidents(Repository& repo, const Context& context) {
  LB_ASSIGN_OR_RETURN(std::vector<LoadedObject> loaded, LoadRecordObjects(repo, context));
  IncidentListing out;
  std::vector<IncidentRecord> all;
  for (LoadedObject& o : loaded) {
    if (!o.content) {
      out.unreadable.push_back(Unreadable(o));
      continue;
    }
    for (IncidentRecord& r : o.content->incidents) all.push_back(std::move(r));
  }
  out.incidents = LatestIncidents(std::move(all), &out.superseded);
  return out;
}

}  // namespace lifeboat
