#include "fence/internal.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <random>

namespace lifeboat::fence {

namespace internal {

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

std::string UtcTime(int64_t unix_ns) {
  const time_t t = static_cast<time_t>(unix_ns / 1'000'000'000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Seconds(int64_t ns) {
  char buf[32];
  if (ns < 10'000'000'000) {
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ns) / 1e9);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld s", static_cast<long long>(ns / 1'000'000'000));
  }
  return buf;
}

nlohmann::json MemberToJson(const Member& m) {
  return nlohmann::json{
      {"actor", m.actor}, {"host", m.host}, {"since_ns", m.since_ns}, {"health", m.health}};
}

Result<Member> MemberFromJson(const nlohmann::json& j, const std::string& site,
                              const std::string& where) {
  if (!j.is_object() || !j.contains("actor") || !j["actor"].is_string() || !j.contains("host") ||
      !j["host"].is_string() || !j.contains("since_ns") || !j["since_ns"].is_number_integer()) {
    return Status::Corruption(where +
                              " is not a Lifeboat member record (actor, host, since_ns): "
                              "was it written by something else? remove it with etcdctl");
  }
  Member m;
  m.site = site;
  m.actor = j["actor"].get<std::string>();
  m.host = j["host"].get<std::string>();
  m.since_ns = j["since_ns"].get<int64_t>();
  if (j.contains("health")) m.health = j["health"];
  return m;
}

std::string DescribeMember(const Member& m) {
  return "actor " + m.actor + " on host " + m.host + " since " + UtcTime(m.since_ns);
}

}  // namespace internal

std::string ActorIdentity() {
  static const std::string suffix = [] {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(rd()));
    return std::string(buf);
  }();
  return internal::HostName() + ":" + std::to_string(::getpid()) + ":" + suffix;
}

}  // namespace lifeboat::fence
