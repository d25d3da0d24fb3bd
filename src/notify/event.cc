#include "notify/event.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace lifeboat::notify {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kRunStarted: return "run_started";
    case EventType::kRunSummary: return "run_summary";
    case EventType::kBackupFailed: return "backup_failed";
    case EventType::kBackupRecovered: return "backup_recovered";
    case EventType::kRpoAtRisk: return "rpo_at_risk";
    case EventType::kRpoViolated: return "rpo_violated";
    case EventType::kRpoRestored: return "rpo_restored";
    case EventType::kSiteUnreachable: return "site_unreachable";
    case EventType::kSiteRecovered: return "site_recovered";
    case EventType::kDrillFailed: return "drill_failed";
    case EventType::kDrillPassed: return "drill_passed";
    case EventType::kRtoRegressed: return "rto_regressed";
    case EventType::kFailoverStarted: return "failover_started";
    case EventType::kServiceRecovered: return "service_recovered";
    case EventType::kFailoverFailed: return "failover_failed";
    case EventType::kFailoverCommitted: return "failover_committed";
    case EventType::kFailoverRolledBack: return "failover_rolled_back";
    case EventType::kServiceDown: return "service_down";
    case EventType::kLeaseLost: return "lease_lost";
  }
  return "unknown";
}

Result<EventType> ParseEventType(std::string_view name) {
  std::string valid;
  for (EventType t : kAllEventTypes) {
    if (EventTypeName(t) == name) return t;
    if (!valid.empty()) valid += ", ";
    valid += EventTypeName(t);
  }
  return Status::InvalidArgument("unknown event '" + std::string(name) + "': use one of " + valid);
}

bool IsResolving(EventType type) {
  return type == EventType::kBackupRecovered || type == EventType::kRpoRestored ||
         type == EventType::kSiteRecovered || type == EventType::kDrillPassed;
}

bool IsOpening(EventType type) {
  return type == EventType::kBackupFailed || type == EventType::kRpoAtRisk ||
         type == EventType::kRpoViolated || type == EventType::kSiteUnreachable ||
         type == EventType::kDrillFailed || type == EventType::kRtoRegressed;
}

std::string_view EventTitle(EventType type) {
  switch (type) {
    case EventType::kRunStarted: return "Run started";
    case EventType::kRunSummary: return "Run summary";
    case EventType::kBackupFailed: return "Backup failed";
    case EventType::kBackupRecovered: return "Backup recovered";
    case EventType::kRpoAtRisk: return "RPO at risk";
    case EventType::kRpoViolated: return "RPO violated";
    case EventType::kRpoRestored: return "RPO restored";
    case EventType::kSiteUnreachable: return "Site unreachable";
    case EventType::kSiteRecovered: return "Site recovered";
    case EventType::kDrillFailed: return "Drill failed";
    case EventType::kDrillPassed: return "Drill passed";
    case EventType::kRtoRegressed: return "RTO regressed";
    case EventType::kFailoverStarted: return "Failover started";
    case EventType::kServiceRecovered: return "Service recovered";
    case EventType::kFailoverFailed: return "Failover failed";
    case EventType::kFailoverCommitted: return "Failover committed";
    case EventType::kFailoverRolledBack: return "Failover rolled back";
    case EventType::kServiceDown: return "Service down";
    case EventType::kLeaseLost: return "Lease lost";
  }
  return "Event";
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
    case Severity::kCritical: return "critical";
  }
  return "info";
}

Result<Severity> ParseSeverity(std::string_view name) {
  for (Severity s : {Severity::kInfo, Severity::kWarning, Severity::kError, Severity::kCritical}) {
    if (SeverityName(s) == name) return s;
  }
  return Status::InvalidArgument("unknown severity '" + std::string(name) +
                                 "': use info, warning, error or critical");
}

Severity DefaultSeverity(EventType type) {
  switch (type) {
    case EventType::kBackupFailed:
    case EventType::kSiteUnreachable:
    case EventType::kDrillFailed:
      return Severity::kError;
    case EventType::kRpoAtRisk:
    case EventType::kRtoRegressed:
      return Severity::kWarning;
    case EventType::kRpoViolated:
    case EventType::kFailoverStarted:
    case EventType::kFailoverFailed:
    case EventType::kServiceDown:
      return Severity::kCritical;
    case EventType::kLeaseLost:
      return Severity::kError;
    case EventType::kFailoverRolledBack:
      return Severity::kWarning;
    default:
      return Severity::kInfo;
  }
}

std::string_view ProblemKind(EventType type) {
  switch (type) {
    case EventType::kBackupFailed:
    case EventType::kBackupRecovered:
      return "backup";
    case EventType::kRpoAtRisk:
    case EventType::kRpoViolated:
    case EventType::kRpoRestored:
      return "rpo";
    case EventType::kSiteUnreachable:
    case EventType::kSiteRecovered:
      return "site";
    case EventType::kDrillFailed:
    case EventType::kDrillPassed:
    case EventType::kRtoRegressed:
      return "drill";
    case EventType::kFailoverStarted:
    case EventType::kServiceRecovered:
    case EventType::kFailoverFailed:
    case EventType::kFailoverCommitted:
    case EventType::kFailoverRolledBack:
      return "failover";
    case EventType::kServiceDown:
      return "health";
    case EventType::kLeaseLost:
      return "lease";
    default:
      return "";
  }
}

std::string LimitDedupKey(std::string key) {
  constexpr size_t kMax = 255;
  if (key.size() <= kMax) return key;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return key.substr(0, kMax - 17) + "~" + hex;
}

std::string DedupKey(std::string_view kind, std::string_view service, std::string_view site) {
  return LimitDedupKey("lifeboat:" + std::string(kind) + ":" + std::string(service) + ":" +
                       std::string(site));
}

namespace {
std::tm UtcTm(int64_t time_ns) {
  int64_t secs = time_ns / 1'000'000'000;
  if (time_ns < 0 && time_ns % 1'000'000'000 != 0) --secs;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string FormatRfc3339Utc(int64_t time_ns) {
  const std::tm tm = UtcTm(time_ns);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatRfc5322Date(int64_t time_ns) {
  // strftime's %a and %b follow the locale; RFC 5322 needs the English names.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::tm tm = UtcTm(time_ns);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

Event MakeEvent(EventType type, std::string service, std::optional<int> tier, std::string site,
                std::string message, int64_t time_ns) {
  Event e;
  e.type = type;
  e.severity = DefaultSeverity(type);
  e.resolved = IsResolving(type);
  e.service = std::move(service);
  e.tier = tier;
  e.site = std::move(site);
  e.message = std::move(message);
  e.time_ns = time_ns;
  e.host = HostName();
  const std::string_view kind = ProblemKind(type);
  if (!kind.empty()) e.dedup_key = DedupKey(kind, e.service, e.site);
  return e;
}

std::string EventHeadline(const Event& e) {
  std::string h = e.escalated ? "Escalated: " : "";
  h += EventTitle(e.type);
  if (!e.service.empty() && !e.site.empty()) {
    h += ": " + e.service + " at " + e.site;
  } else if (!e.service.empty()) {
    h += ": " + e.service;
  } else if (!e.site.empty()) {
    h += ": " + e.site;
  }
  return h;
}

nlohmann::json WebhookDocument(const Event& e) {
  nlohmann::json j;
  j["version"] = kWebhookDocumentVersion;
  j["event"] = EventTypeName(e.type);
  j["severity"] = SeverityName(e.severity);
  j["resolved"] = e.resolved;
  j["escalated"] = e.escalated;
  j["service"] = e.service.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.service);
  j["tier"] = e.tier.has_value() ? nlohmann::json(*e.tier) : nlohmann::json(nullptr);
  j["site"] = e.site.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.site);
  j["message"] = e.message;
  j["time"] = FormatRfc3339Utc(e.time_ns);
  j["host"] = e.host;
  j["dedup_key"] = e.dedup_key;
  j["details"] = e.details.is_object() ? e.details : nlohmann::json::object();
  return j;
}

Result<Event> EventFromDocument(const nlohmann::json& doc) {
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("event document: " + what);
  };
  if (!doc.is_object()) return bad("not a JSON object");
  if (!doc.contains("version") || doc["version"] != kWebhookDocumentVersion) {
    return bad("version is not 1");
  }
  auto str = [&](const char* key, std::string* out, bool nullable) -> Status {
    if (!doc.contains(key)) return bad(std::string("missing '") + key + "'");
    const nlohmann::json& v = doc[key];
    if (v.is_null() && nullable) return Status::Ok();
    if (!v.is_string()) return bad(std::string("'") + key + "' is not a string");
    *out = v.get<std::string>();
    return Status::Ok();
  };
  Event e;
  std::string name, severity, time;
  LB_RETURN_IF_ERROR(str("event", &name, false));
  LB_ASSIGN_OR_RETURN(e.type, ParseEventType(name));
  LB_RETURN_IF_ERROR(str("severity", &severity, false));
  LB_ASSIGN_OR_RETURN(e.severity, ParseSeverity(severity));
  LB_RETURN_IF_ERROR(str("service", &e.service, true));
  LB_RETURN_IF_ERROR(str("site", &e.site, true));
  LB_RETURN_IF_ERROR(str("message", &e.message, false));
  LB_RETURN_IF_ERROR(str("host", &e.host, false));
  LB_RETURN_IF_ERROR(str("dedup_key", &e.dedup_key, false));
  if (!doc.contains("resolved") || !doc["resolved"].is_boolean()) return bad("bad 'resolved'");
  e.resolved = doc["resolved"].get<bool>();
  if (doc.contains("escalated") && doc["escalated"].is_boolean()) {
    e.escalated = doc["escalated"].get<bool>();
  }
  if (doc.contains("tier") && doc["tier"].is_number_integer()) e.tier = doc["tier"].get<int>();
  if (doc.contains("details") && doc["details"].is_object()) e.details = doc["details"];
  if (doc.contains("time_ns") && doc["time_ns"].is_number_integer()) {
    e.time_ns = doc["time_ns"].get<int64_t>();
  }
  return e;
}

}  // namespace lifeboat::notify
