#include "notify/state_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace lifeboat::notify {
namespace {

nlohmann::json EventJson(const Event& e) {
  nlohmann::json j = WebhookDocument(e);
  j["time_ns"] = e.time_ns;
  return j;
}

nlohmann::json Retries(const std::map<std::string, ChannelRetry>& failing) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [c, r] : failing) j[c] = {{"failures", r.failures}, {"retry_ns", r.retry_ns}};
  return j;
}

nlohmann::json Names(const std::set<std::string>& names) {
  nlohmann::json j = nlohmann::json::array();
  for (const std::string& n : names) j.push_back(n);
  return j;
}

Status Bad(const std::string& what) { return Status::InvalidArgument(what); }

Result<std::set<std::string>> ReadNames(const nlohmann::json& j, const char* key,
                                        const std::string& where) {
  std::set<std::string> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) return Bad(where + ": '" + key + "' is not an array");
  for (const nlohmann::json& n : j[key]) {
    if (!n.is_string()) return Bad(where + ": '" + key + "' holds a non-string");
    out.insert(n.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, ChannelRetry>> ReadRetries(const nlohmann::json& j,
                                                        const std::string& where) {
  std::map<std::string, ChannelRetry> out;
  if (!j.contains("failing")) return out;
  if (!j["failing"].is_object()) return Bad(where + ": 'failing' is not an object");
  for (const auto& [c, r] : j["failing"].items()) {
    if (!r.is_object() || !r.contains("failures") || !r["failures"].is_number_integer() ||
        !r.contains("retry_ns") || !r["retry_ns"].is_number_integer()) {
      return Bad(where + ": 'failing' entry for " + c + " is malformed");
    }
    out[c] = {r["failures"].get<int>(), r["retry_ns"].get<int64_t>()};
  }
  return out;
}

Result<int64_t> ReadNs(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_number_integer()) {
    return Bad(where + ": '" + key + "' is missing or not an integer");
  }
  return j[key].get<int64_t>();
}

Result<Event> ReadEvent(const nlohmann::json& j, const std::string& where) {
  Result<Event> e = EventFromDocument(j);
  if (!e.ok()) return Bad(where + ": " + e.status().message());
  return e;
}

}  // namespace

nlohmann::json NotifyStateToJson(const NotifyState& state) {
  nlohmann::json problems = nlohmann::json::object();
  for (const auto& [key, p] : state.problems) {
    problems[key] = {{"event", EventJson(p.event)},     {"opened_ns", p.opened_ns},
                     {"since_ns", p.since_ns},          {"told", Names(p.told)},
                     {"informed", Names(p.informed)},   {"escalated_routes", Names(p.escalated_routes)},
                     {"failing", Retries(p.failing)}};
  }
  nlohmann::json resolving = nlohmann::json::object();
  for (const auto& [key, r] : state.resolving) {
    resolving[key] = {{"event", EventJson(r.event)},
                      {"since_ns", r.since_ns},
                      {"pending", Names(r.pending)},
                      {"failing", Retries(r.failing)}};
  }
  return {{"version", kNotifyStateVersion}, {"problems", problems}, {"resolving", resolving}};
}

Result<NotifyState> NotifyStateFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Bad("not a JSON object");
  if (!j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int>() != kNotifyStateVersion) {
    return Bad("version is not " + std::to_string(kNotifyStateVersion));
  }
  NotifyState state;
  for (const char* section : {"problems", "resolving"}) {
    if (j.contains(section) && !j[section].is_object()) {
      return Bad(std::string("'") + section + "' is not an object");
    }
  }
  if (j.contains("problems")) {
    for (const auto& [key, p] : j["problems"].items()) {
      const std::string where = "problem " + key;
      if (!p.is_object() || !p.contains("event")) return Bad(where + ": no event");
      Problem problem;
      LB_ASSIGN_OR_RETURN(problem.event, ReadEvent(p["event"], where));
      if (!IsOpening(problem.event.type)) return Bad(where + ": its event does not open a problem");
      LB_ASSIGN_OR_RETURN(problem.opened_ns, ReadNs(p, "opened_ns", where));
      LB_ASSIGN_OR_RETURN(problem.since_ns, ReadNs(p, "since_ns", where));
      LB_ASSIGN_OR_RETURN(problem.told, ReadNames(p, "told", where));
      LB_ASSIGN_OR_RETURN(problem.informed, ReadNames(p, "informed", where));
      LB_ASSIGN_OR_RETURN(problem.escalated_routes, ReadNames(p, "escalated_routes", where));
      LB_ASSIGN_OR_RETURN(problem.failing, ReadRetries(p, where));
      state.problems[key] = std::move(problem);
    }
  }
  if (j.contains("resolving")) {
    for (const auto& [key, r] : j["resolving"].items()) {
      const std::string where = "resolve " + key;
      if (!r.is_object() || !r.contains("event")) return Bad(where + ": no event");
      Resolving resolving;
      LB_ASSIGN_OR_RETURN(resolving.event, ReadEvent(r["event"], where));
      if (!IsResolving(resolving.event.type)) return Bad(where + ": its event resolves nothing");
      LB_ASSIGN_OR_RETURN(resolving.since_ns, ReadNs(r, "since_ns", where));
      LB_ASSIGN_OR_RETURN(resolving.pending, ReadNames(r, "pending", where));
      LB_ASSIGN_OR_RETURN(resolving.failing, ReadRetries(r, where));
      state.resolving[key] = std::move(resolving);
    }
  }
  return state;
}

Result<NotifyStateFile> NotifyStateFile::Lock(const std::string& path, const Context& context) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    LB_RETURN_IF_ERROR(CreateDirectories(path.substr(0, slash)));
  }
  const std::string lock_path = path + ".lock";
  FileDescriptor fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return PosixError("opening the notification state lock " + lock_path);
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return PosixError("locking the notification state " + lock_path);
    }
    LB_RETURN_IF_ERROR(context.SleepFor(std::chrono::milliseconds(50),
                                        "waiting for the notification state lock " + lock_path));
  }
  return NotifyStateFile(path, std::move(fd));
}

NotifyStateFile::Loaded NotifyStateFile::Load() const {
  Loaded loaded;
  Result<Bytes> data = ReadWholeFile(path_);
  if (!data.ok()) {
    if (!data.status().IsNotFound()) {
      loaded.warnings.push_back("cannot read the notification state " + path_ + " (" +
                                data.status().message() +
                                "): starting from an empty state; open problems are notified "
                                "once more");
    }
    return loaded;
  }
  nlohmann::json j = nlohmann::json::parse(data->begin(), data->end(), nullptr,
                                           /*allow_exceptions=*/false);
  Result<NotifyState> state =
      j.is_discarded() ? Result<NotifyState>(Bad("not valid JSON")) : NotifyStateFromJson(j);
  if (!state.ok()) {
    loaded.warnings.push_back("the notification state " + path_ + " is damaged (" +
                              state.status().message() +
                              "): rebuilt from an empty state; open problems are notified once "
                              "more");
    return loaded;
  }
  loaded.state = std::move(state).value();
  return loaded;
}

Status NotifyStateFile::Save(const NotifyState& state) const {
  const std::string text = NotifyStateToJson(state).dump(2) + "\n";
  return WriteFileDurably(path_, AsBytes(text), /*overwrite=*/true)
      .WithContext("saving the notification state");
}

}  // namespace lifeboat::notify
