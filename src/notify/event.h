// Event: one thing Lifeboat tells people about (doc/notifications.md, "Events"), and the
// versioned JSON document the webhook and command channels send.
//
//   Event e = MakeEvent(EventType::kRpoViolated, "billing", 0, "offsite", "RPO 4h broken", now);
//   std::string body = WebhookDocument(e).dump();
//
// Pure values and functions: no I/O, any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/status.h"

namespace lifeboat::notify {

enum class EventType {
  kRunStarted,
  kRunSummary,
  kBackupFailed,
  kBackupRecovered,
  kRpoAtRisk,
  kRpoViolated,
  kRpoRestored,
  kSiteUnreachable,
  kSiteRecovered,
  kDrillFailed,
  kDrillPassed,
  kRtoRegressed,
  // Failover (doc/failover.md) and the daemon (doc/daemon.md).
  kFailoverStarted,
  kServiceRecovered,
  kFailoverFailed,
  kFailoverCommitted,
  kFailoverRolledBack,
  kServiceDown,
  kLeaseLost,
};
inline constexpr EventType kAllEventTypes[] = {
    EventType::kRunStarted,         EventType::kRunSummary,        EventType::kBackupFailed,
    EventType::kBackupRecovered,    EventType::kRpoAtRisk,         EventType::kRpoViolated,
    EventType::kRpoRestored,        EventType::kSiteUnreachable,   EventType::kSiteRecovered,
    EventType::kDrillFailed,        EventType::kDrillPassed,       EventType::kRtoRegressed,
    EventType::kFailoverStarted,    EventType::kServiceRecovered,  EventType::kFailoverFailed,
    EventType::kFailoverCommitted,  EventType::kFailoverRolledBack, EventType::kServiceDown,
    EventType::kLeaseLost,
};

// "rpo_violated", ...
std::string_view EventTypeName(EventType type);
// InvalidArgument naming the valid names when `name` is none of them.
Result<EventType> ParseEventType(std::string_view name);
// True for backup_recovered, rpo_restored, site_recovered, drill_passed.
bool IsResolving(EventType type);
// True for backup_failed, rpo_at_risk, rpo_violated, site_unreachable, drill_failed,
// rto_regressed.
bool IsOpening(EventType type);
// "RPO violated", "Backup failed", ...
std::string_view EventTitle(EventType type);

enum class Severity { kInfo, kWarning, kError, kCritical };
std::string_view SeverityName(Severity s);  // "info", ...
Result<Severity> ParseSeverity(std::string_view name);
Severity DefaultSeverity(EventType type);

struct Event {
  EventType type = EventType::kRunSummary;
  Severity severity = Severity::kInfo;
  bool resolved = false;   // closes a problem (IsResolving(type))
  bool escalated = false;  // sent to escalate_to channels
  std::string service;     // empty: none (JSON null)
  std::optional<int> tier;
  std::string site;        // empty: none
  std::string message;     // one line for people
  int64_t time_ns = 0;     // wall clock, ns since the epoch
  std::string host;
  std::string dedup_key;
  nlohmann::json details = nlohmann::json::object();  // never a secret
};

// An event with the default severity, `resolved` from its type, the dedup key of its problem
// (or of the run: details["run_id"]) and the host name.
Event MakeEvent(EventType type, std::string service, std::optional<int> tier, std::string site,
                std::string message, int64_t time_ns);

// "backup" / "rpo" / "site" / "drill" for the types that open or resolve a problem; empty for run
// events.
std::string_view ProblemKind(EventType type);
// lifeboat:<kind>:<service>:<site>, limited to 255 characters (doc/notifications.md).
std::string DedupKey(std::string_view kind, std::string_view service, std::string_view site);
// Cuts a key to 255 characters: the first 238, "~", 16 hex digits of its FNV-1a 64 hash.
std::string LimitDedupKey(std::string key);

// "2026-12-04T03:15:00Z".
std::string FormatRfc3339Utc(int64_t time_ns);
// "Thu, 04 Dec 2026 03:15:00 +0000" (RFC 5322 date).
std::string FormatRfc5322Date(int64_t time_ns);
// This machine's name ("localhost" when gethostname fails).
std::string HostName();

// "RPO violated: billing at offsite", "Site unreachable: offsite", "Run summary";
// prefixed "Escalated: " when escalated.
std::string EventHeadline(const Event& e);

// The webhook document, version 1 (doc/notifications.md).
inline constexpr int kWebhookDocumentVersion = 1;
nlohmann::json WebhookDocument(const Event& e);
// Reads a document written by WebhookDocument back (the router's state keeps pending resolves
// this way). InvalidArgument saying which field is wrong.
Result<Event> EventFromDocument(const nlohmann::json& doc);

}  // namespace lifeboat::notify
