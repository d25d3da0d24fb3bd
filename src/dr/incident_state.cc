#include "dr/incident_state.h"

#include <cstdio>
#include <filesystem>

#include "crypto/random.h"
#include "util/bytes.h"
#include "util/file_io.h"

namespace lifeboat::dr {

namespace {

using J = nlohmann::ordered_json;

J Opt(const std::optional<double>& v) { return v ? J(*v) : J(nullptr); }

std::optional<double> OptFrom(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<double>();
}

}  // namespace

IncidentService* IncidentState::Find(const std::string& service) {
  for (IncidentService& s : services) {
    if (s.service == service) return &s;
  }
  return nullptr;
}

const IncidentService* IncidentState::Find(const std::string& service) const {
  for (const IncidentService& s : services) {
    if (s.service == service) return &s;
  }
  return nullptr;
}

nlohmann::ordered_json IncidentStateToJson(const IncidentState& s) {
  J services = J::array();
  for (const IncidentService& x : s.services) {
    J snaps = J::object(), ports = J::object();
    for (const auto& [source, id] : x.snapshots) snaps[source] = id;
    for (const auto& [name, port] : x.ports) ports[name] = port;
    J steps = J::array();
    for (const IncidentStep& st : x.steps) {
      steps.push_back(J{{"name", st.name},
                        {"phase", st.phase},
                        {"state", st.state},
                        {"start_ns", st.start_ns},
                        {"end_ns", st.end_ns},
                        {"output", st.output}});
    }
    services.push_back(J{{"service", x.service},
                         {"tier", x.tier},
                         {"wave", x.wave},
                         {"result", x.result},
                         {"error", x.error},
                         {"from_site", x.from_site},
                         {"token", x.token},
                         {"switched", x.switched},
                         {"snapshots", snaps},
                         {"snapshot_time_ns", x.snapshot_time_ns},
                         {"rto_seconds", Opt(x.rto_seconds)},
                         {"rto_target_seconds", Opt(x.rto_target_seconds)},
                         {"data_loss_seconds", Opt(x.data_loss_seconds)},
                         {"rpo_target_seconds", x.rpo_target_seconds},
                         {"ports", ports},
                         {"notes", x.notes},
                         {"steps", steps},
                         {"stopped", x.stopped},
                         {"restart", x.restart},
                         {"restart_error", x.restart_error},
                         {"joined_ns", x.joined_ns},
                         {"failure_ns", x.failure_ns}});
  }
  J running = J::array();
  for (const recover::LeftRunning& lr : s.left_running) running.push_back(LeftRunningToJson(lr));
  J timeline = J::array();
  for (const IncidentEvent& e : s.timeline) {
    timeline.push_back(
        J{{"time_ns", e.time_ns}, {"what", e.what}, {"service", e.service}, {"site", e.site}});
  }
  return J{{"version", 1},
           {"id", s.id},
           {"kind", s.kind},
           {"ends_incident", s.ends_incident},
           {"state", s.state},
           {"plan_file", s.plan_file},
           {"declared_by", s.declared_by},
           {"reason", s.reason},
           {"to_site", s.to_site},
           {"recovery_root", s.recovery_root},
           {"token", s.token},
           {"start_ns", s.start_ns},
           {"end_ns", s.end_ns},
           {"failure_ns", s.failure_ns},
           {"host", s.host},
           {"version_of_lifeboat", s.version},
           {"services", services},
           {"left_running", running},
           {"written_paths", s.written_paths},
           {"moved_aside_to", s.moved_aside_to},
           {"timeline", timeline},
           {"record_sequence", s.record_sequence}};
}

Result<IncidentState> IncidentStateFromJson(const nlohmann::json& j) {
  try {
    IncidentState s;
    s.id = j.at("id").get<std::string>();
    s.kind = j.value("kind", "failover");
    s.ends_incident = j.value("ends_incident", "");
    s.state = j.at("state").get<std::string>();
    s.plan_file = j.value("plan_file", "");
    s.declared_by = j.value("declared_by", "");
    s.reason = j.value("reason", "");
    s.to_site = j.at("to_site").get<std::string>();
    s.recovery_root = j.value("recovery_root", "/");
    s.token = j.value("token", uint64_t{0});
    s.start_ns = j.value("start_ns", int64_t{0});
    s.end_ns = j.value("end_ns", int64_t{0});
    s.failure_ns = j.value("failure_ns", int64_t{0});
    s.host = j.value("host", "");
    s.version = j.value("version_of_lifeboat", "");
    for (const auto& x : j.at("services")) {
      IncidentService v;
      v.service = x.at("service").get<std::string>();
      v.tier = x.value("tier", 3);
      v.wave = x.value("wave", 1);
      v.result = x.value("result", "");
      v.error = x.value("error", "");
      v.from_site = x.value("from_site", "");
      v.token = x.value("token", uint64_t{0});
      v.switched = x.value("switched", false);
      if (x.contains("snapshots")) {
        for (const auto& [source, id] : x["snapshots"].items()) {
          v.snapshots.emplace_back(source, id.get<std::string>());
        }
      }
      v.snapshot_time_ns = x.value("snapshot_time_ns", int64_t{0});
      v.rto_seconds = OptFrom(x, "rto_seconds");
      v.rto_target_seconds = OptFrom(x, "rto_target_seconds");
      v.data_loss_seconds = OptFrom(x, "data_loss_seconds");
      v.rpo_target_seconds = x.value("rpo_target_seconds", 0.0);
      if (x.contains("ports")) {
        for (const auto& [name, port] : x["ports"].items())
          v.ports.emplace_back(name, port.get<int>());
      }
      v.notes = x.value("notes", std::vector<std::string>{});
      for (const auto& st : x.value("steps", nlohmann::json::array())) {
        v.steps.push_back({st.value("name", ""), st.value("phase", ""), st.value("state", ""),
                           st.value("start_ns", int64_t{0}), st.value("end_ns", int64_t{0}),
                           st.value("output", "")});
      }
      v.stopped = x.value("stopped", false);
      v.restart = x.value("restart", "");
      v.restart_error = x.value("restart_error", "");
      v.joined_ns = x.value("joined_ns", int64_t{0});
      v.failure_ns = x.value("failure_ns", int64_t{0});
      s.services.push_back(std::move(v));
    }
    for (const auto& x : j.value("left_running", nlohmann::json::array())) {
      LB_ASSIGN_OR_RETURN(recover::LeftRunning lr, recover::LeftRunningFromJson(x));
      s.left_running.push_back(std::move(lr));
    }
    s.written_paths = j.value("written_paths", std::vector<std::string>{});
    s.moved_aside_to = j.value("moved_aside_to", "");
    for (const auto& x : j.value("timeline", nlohmann::json::array())) {
      s.timeline.push_back({x.value("time_ns", int64_t{0}), x.value("what", ""),
                            x.value("service", ""), x.value("site", "")});
    }
    s.record_sequence = j.value("record_sequence", uint64_t{0});
    return s;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("the incident state: ") + e.what());
  }
}

std::string IncidentStatePath(const std::string& state_dir) { return state_dir + "/incident.json"; }

Result<std::optional<IncidentState>> LoadIncidentState(const std::string& state_dir) {
  const std::string path = IncidentStatePath(state_dir);
  Result<Bytes> data = ReadWholeFile(path);
  if (!data.ok()) {
    if (data.status().code() == StatusCode::kNotFound) return std::optional<IncidentState>();
    return data.status().WithContext("reading " + path);
  }
  nlohmann::json j = nlohmann::json::parse(data->begin(), data->end(), nullptr, false);
  if (j.is_discarded()) {
    return Status::Corruption(path +
                              " is not JSON: repair or move it away (it holds what the "
                              "open incident left running)");
  }
  Result<IncidentState> s = IncidentStateFromJson(j);
  if (!s.ok()) return Status::Corruption(path + ": " + s.status().message());
  return std::optional<IncidentState>(std::move(*s));
}

Status SaveIncidentState(const std::string& state_dir, const IncidentState& state) {
  const std::string text = IncidentStateToJson(state).dump(2) + "\n";
  return WriteFileDurably(IncidentStatePath(state_dir),
                          ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                          /*overwrite=*/true)
      .WithContext("saving the incident state in " + state_dir);
}

Status ArchiveIncidentState(const std::string& state_dir, const IncidentState& state) {
  const std::string dir = state_dir + "/incidents";
  LB_RETURN_IF_ERROR(CreateDirectories(dir));
  const std::string to = dir + "/" + state.id + ".json";
  if (std::rename(IncidentStatePath(state_dir).c_str(), to.c_str()) != 0) {
    return PosixError("moving the closed incident " + state.id + " to " + to);
  }
  LB_RETURN_IF_ERROR(SyncDirectory(dir));
  return SyncDirectory(state_dir);
}

Result<IncidentState> LoadArchivedIncidentState(const std::string& state_dir,
                                                const std::string& id) {
  const std::string path = state_dir + "/incidents/" + id + ".json";
  LB_ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path));
  nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (j.is_discarded()) return Status::Corruption(path + " is not JSON");
  Result<IncidentState> s = IncidentStateFromJson(j);
  if (!s.ok()) return Status::Corruption(path + ": " + s.status().message());
  return s;
}

Status SaveArchivedIncidentState(const std::string& state_dir, const IncidentState& state) {
  const std::string text = IncidentStateToJson(state).dump(2) + "\n";
  return WriteFileDurably(state_dir + "/incidents/" + state.id + ".json",
                          ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                          /*overwrite=*/true)
      .WithContext("saving the archived incident state in " + state_dir + "/incidents");
}

Result<std::string> NewIncidentId() {
  uint8_t bytes[16];
  LB_RETURN_IF_ERROR(crypto::RandomBytes(bytes));
  return HexEncode(ByteView(bytes, sizeof bytes));
}

}  // namespace lifeboat::dr
