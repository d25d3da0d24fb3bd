#include "runlog/record_object.h"

#include <algorithm>
#include <limits>

#include "crypto/random.h"
#include "repository/keys.h"
#include "util/parallel_for.h"
#include "util/status_detail.h"

namespace lifeboat::runlog_internal {
namespace {

constexpr int kListAttempts = 5;

template <typename T>
bool UnsignedField(const json& obj, const char* key, T* out, std::string* why) {
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

Result<std::vector<std::string>> ListObjectNames(Repository& repo) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().List(ObjectType::kRun, "", [&](const ObjectInfo& info) {
    names.push_back(info.name);
    return Status::Ok();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

// Loads and decodes every object in `names` in parallel.
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
    Result<RecordObject> content = DecodeRecordObject(*plain);
    if (!content.ok()) {
      Status st = content.status().WithContext("run " + o.name);
      o.status = st.IsCorruption() ? Damaged(o.name, st) : st;
      return Status::Ok();
    }
    o.content = std::move(*content);
    return Status::Ok();
  }));
  return out;
}

}  // namespace

std::string RandomId() {
  uint8_t b[16];
  if (!crypto::RandomBytes(b).ok()) std::abort();  // no safe fallback for an identity
  return HexEncode(ByteView(b, sizeof b));
}

bool IsLowerHex(std::string_view s, size_t length) {
  return s.size() == length && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool Uint64Field(const json& obj, const char* key, uint64_t* out, std::string* why) {
  return UnsignedField(obj, key, out, why);
}

bool Uint32Field(const json& obj, const char* key, uint32_t* out, std::string* why) {
  return UnsignedField(obj, key, out, why);
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

bool OptionalNs(const json& obj, const char* key, std::optional<int64_t>* out, std::string* why) {
  if (!obj.contains(key)) return true;
  uint64_t v = 0;
  if (!Uint64Field(obj, key, &v, why)) return false;
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    *why = std::string("\"") + key + "\" is too large";
    return false;
  }
  *out = static_cast<int64_t>(v);
  return true;
}

void PutOptional(json* j, const char* key, const std::optional<int64_t>& v) {
  if (v)
    (*j)[key] = *v;
  else
    j->erase(key);
}

std::string UnknownFields(const json& obj, const std::set<std::string>& known) {
  json extra = json::object();
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (!known.count(it.key())) extra[it.key()] = it.value();
  return extra.empty() ? std::string() : extra.dump();
}

json StartWithUnknown(const std::string& unknown) {
  if (!unknown.empty()) {
    json extra = json::parse(unknown, nullptr, false);
    if (extra.is_object()) return extra;
  }
  return json::object();
}

bool UnknownFieldsValid(const std::string& unknown) {
  return unknown.empty() || json::parse(unknown, nullptr, false).is_object();
}

Result<Bytes> EncodeRecordObject(const std::vector<RunRecord>& runs,
                                 const std::vector<DrillRecord>& drills,
                                 const std::vector<IncidentRecord>& incidents) {
  json records = json::array();
  for (const RunRecord& r : runs) {
    LB_RETURN_IF_ERROR(ValidateRunRecord(r));
    records.push_back(RunRecordToJson(r));
  }
  // The lowest version that holds the records (§12.2): older readers keep reading the rest.
  const uint32_t version = !incidents.empty() ? kIncidentRecordsVersion
                           : !drills.empty()  ? kDrillRecordsVersion
                                              : kRunRecordsVersion;
  json j = {{"version", version}, {"records", std::move(records)}};
  if (version >= kDrillRecordsVersion) {
    json arr = json::array();
    for (const DrillRecord& d : drills) {
      LB_RETURN_IF_ERROR(ValidateDrillRecord(d));
      arr.push_back(DrillRecordToJson(d));
    }
    j["drills"] = std::move(arr);
  }
  if (version >= kIncidentRecordsVersion) {
    json arr = json::array();
    for (const IncidentRecord& r : incidents) {
      LB_RETURN_IF_ERROR(ValidateIncidentRecord(r));
      arr.push_back(IncidentRecordToJson(r));
    }
    j["incidents"] = std::move(arr);
  }
  // Invalid UTF-8 in a name or message becomes U+FFFD rather than an exception.
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return Bytes(text.begin(), text.end());
}

Result<RecordObject> DecodeRecordObject(ByteView plaintext) {
  json j = json::parse(plaintext.begin(), plaintext.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Corruption("run records are not a JSON object");
  RecordObject out;
  std::string why;
  if (!Uint32Field(j, "version", &out.version, &why))
    return Status::Corruption("run records: " + why);
  if (out.version > kRecordObjectVersion)
    return Status::FailedPrecondition("run records of version " + std::to_string(out.version) +
                                      " need a newer Lifeboat (this one reads versions up to " +
                                      std::to_string(kRecordObjectVersion) + ")");
  if (out.version == 0) return Status::Corruption("run records: version 0 does not exist");
  auto it = j.find("records");
  if (it == j.end() || !it->is_array())
    return Status::Corruption("run records: \"records\" is missing or not an array");
  out.runs.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    RunRecord r;
    why.clear();
    if (!RunRecordFromJson((*it)[i], &r, &why))
      return Status::Corruption("run record " + std::to_string(i) + " is malformed: " + why);
    out.runs.push_back(std::move(r));
  }
  if (out.version < 2) return out;  // version 1 has no room for drills (§12)
  auto d = j.find("drills");
  if (d == j.end() || !d->is_array())
    return Status::Corruption("run records of version " + std::to_string(out.version) +
                              ": \"drills\" is missing or not an array");
  out.drills.reserve(d->size());
  for (size_t i = 0; i < d->size(); ++i) {
    DrillRecord r;
    why.clear();
    if (!DrillRecordFromJson((*d)[i], &r, &why))
      return Status::Corruption("drill record " + std::to_string(i) + " is malformed: " + why);
    out.drills.push_back(std::move(r));
  }
  if (out.version < kIncidentRecordsVersion) return out;  // no room for incidents before 3
  auto inc = j.find("incidents");
  if (inc == j.end() || !inc->is_array())
    return Status::Corruption("run records of version " + std::to_string(out.version) +
                              ": \"incidents\" is missing or not an array");
  out.incidents.reserve(inc->size());
  for (size_t i = 0; i < inc->size(); ++i) {
    IncidentRecord r;
    why.clear();
    if (!IncidentRecordFromJson((*inc)[i], &r, &why))
      return Status::Corruption("incident record " + std::to_string(i) + " is malformed: " + why);
    out.incidents.push_back(std::move(r));
  }
  return out;
}

Result<Id> WriteRecordObject(Repository& repo, const std::vector<RunRecord>& runs,
                             const std::vector<DrillRecord>& drills, const Context& context,
                             const std::vector<IncidentRecord>& incidents) {
  if (runs.empty() && drills.empty() && incidents.empty())
    return Status::InvalidArgument("no records to write");
  LB_ASSIGN_OR_RETURN(Bytes plain, EncodeRecordObject(runs, drills, incidents));
  const std::string what = !incidents.empty() ? "incident records"
                           : !drills.empty()  ? "drill records"
                                              : "run records";
  LB_RETURN_IF_ERROR(context.Check("writing " + what));
  Result<Id> id = repo.SaveUnpacked(ObjectType::kRun, plain);
  if (!id.ok())
    return id.status().WithContext("storing " + what + " in " + repo.backend().Location());
  return id;
}

Result<std::vector<LoadedObject>> LoadRecordObjects(Repository& repo, const Context& context) {
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

bool DrillRecordOrder(const DrillRecord& a, const DrillRecord& b) {
  if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
  if (a.service != b.service) return a.service < b.service;
  return a.id < b.id;
}

Status Damaged(const std::string& name, const Status& status) {
  Damage d;
  d.object_type = "run";
  d.object = name;
  return status.WithDetail(std::move(d));
}

}  // namespace lifeboat::runlog_internal
