#include "dashboard/requests.h"

#include <nlohmann/json.hpp>

#include "plan/yaml_reader.h"
#include "repository/keys.h"

namespace lifeboat::dashboard {
namespace {

using json = nlohmann::json;

Result<json> ParseObject(std::string_view body, const std::vector<std::string>& allowed) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the body is not JSON");
  if (!j.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const std::string& a : allowed) known |= key == a;
    if (!known) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Status::InvalidArgument("unknown field \"" + key + "\" (the fields are " + list + ")");
    }
  }
  return j;
}

Status CheckName(const json& value, const std::string& field) {
  if (!value.is_string()) return Status::InvalidArgument(field + " must be a string");
  if (!plan::IsValidName(value.get<std::string>()))
    return Status::InvalidArgument(field + " \"" + value.get<std::string>() +
                                   "\" is not a name of the plan (letters, digits, _ . -)");
  return Status::Ok();
}

}  // namespace

Result<FailoverRequest> ParseFailoverRequest(std::string_view body) {
  LB_ASSIGN_OR_RETURN(json j, ParseObject(body, {"services", "all", "to", "at", "dry_run"}));
  FailoverRequest r;
  if (j.contains("all")) {
    if (!j["all"].is_boolean()) return Status::InvalidArgument("all must be true or false");
    r.all = j["all"].get<bool>();
  }
  if (j.contains("services")) {
    const json& s = j["services"];
    if (!s.is_array()) return Status::InvalidArgument("services must be a list of service names");
    for (const json& name : s) {
      LB_RETURN_IF_ERROR(CheckName(name, "a service"));
      r.services.push_back(name.get<std::string>());
    }
  }
  if (r.all && !r.services.empty())
    return Status::InvalidArgument("give either services or all: true, not both");
  if (!r.all && r.services.empty())
    return Status::InvalidArgument(
        "which services? give \"services\": [\"NAME\", ...] or \"all\": true");
  if (!j.contains("to"))
    return Status::InvalidArgument("\"to\" is missing: the recovery site to fail over to");
  LB_RETURN_IF_ERROR(CheckName(j["to"], "to"));
  r.to = j["to"].get<std::string>();
  if (j.contains("at")) {
    if (!j["at"].is_string()) return Status::InvalidArgument("at must be a string");
    r.at = j["at"].get<std::string>();
    Result<int64_t> t = ParseTime(r.at);
    if (!t.ok())
      return Status::InvalidArgument("at \"" + r.at +
                                     "\" is not an RFC 3339 UTC time like 2026-05-01T12:00:00Z");
    r.at_ns = *t;
  }
  if (j.contains("dry_run")) {
    if (!j["dry_run"].is_boolean()) return Status::InvalidArgument("dry_run must be true or false");
    r.dry_run = j["dry_run"].get<bool>();
  }
  return r;
}

Result<IncidentRequest> ParseIncidentRequest(std::string_view body) {
  LB_ASSIGN_OR_RETURN(json j, ParseObject(body, {"incident"}));
  IncidentRequest r;
  if (j.contains("incident")) {
    if (!j["incident"].is_string() || j["incident"].get<std::string>().empty())
      return Status::InvalidArgument("incident must be the id of the open incident (a string)");
    r.incident = j["incident"].get<std::string>();
  }
  return r;
}

}  // namespace lifeboat::dashboard
