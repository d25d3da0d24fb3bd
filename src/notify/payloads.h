// What each channel sends, as pure functions of an Event (doc/notifications.md, "Channels:
// exactly what is sent"). No I/O: the channels (channel.h) put these on the wire, and the tests
// check them field by field.
//
//   nlohmann::json body = SlackPayload(event);
//   std::string url = HealthchecksUrl(event, "https://hc-ping.com/UUID");
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/event.h"

namespace lifeboat::notify {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Text helpers.
bool IsAscii(std::string_view s);
// At most `max_chars` UTF-8 characters of `s` (cut at a character boundary; "..." replaces the
// last three when cut).
std::string CutChars(std::string_view s, size_t max_chars);
// At most `max_bytes` bytes of `s`, cut at a UTF-8 character boundary.
std::string CutBytes(std::string_view s, size_t max_bytes);
// "=?UTF-8?B?...?=" for a non-ASCII header value; ASCII is returned unchanged. CR and LF are
// replaced by spaces either way (no header injection).
std::string HeaderValue(std::string_view s);
// Slack mrkdwn escaping: & < > as &amp; &lt; &gt;.
std::string SlackEscape(std::string_view s);
std::string Base64(std::string_view data);

// "[CRITICAL] RPO violated: billing at offsite: <message>".
std::string EventSummary(const Event& e);
// "severity: critical\nservice: billing\ntier: 0\nsite: offsite\ntime: ...\nhost: ...\n
// dedup key: ...\n" (only the fields the event has).
std::string FieldLines(const Event& e);

// Slack incoming webhook: {"text": ..., "blocks": [header, section, fields, context]}.
nlohmann::json SlackPayload(const Event& e);

// ntfy: the text/plain body and the headers (Title, Priority, Tags, Content-Type, and
// Authorization when `token` is not empty).
std::string NtfyBody(const Event& e);
HeaderList NtfyHeaders(const Event& e, const std::string& token);
int NtfyPriority(Severity s);

// PagerDuty Events API v2: the trigger or resolve document; nullopt for run events, which are
// not sent to PagerDuty.
std::optional<nlohmann::json> PagerDutyPayload(const Event& e, const std::string& routing_key);

// healthchecks.io: the URL to POST (ping url + "/start", "/fail", "/<exit status>" or nothing)
// and the body (at most 10,000 bytes).
std::string HealthchecksUrl(const Event& e, std::string_view ping_url);
std::string HealthchecksBody(const Event& e);
inline constexpr size_t kHealthchecksBodyLimit = 10'000;

// E-mail: the RFC 5322 message (CRLF line ends) libcurl sends after the SMTP envelope.
struct EmailEnvelope {
  std::string from;
  std::vector<std::string> to;
  std::string message_id;  // "<...@host>"
};
std::string EmailSubject(const Event& e);
std::string EmailMessage(const Event& e, const EmailEnvelope& envelope);

// Command: the LIFEBOAT_EVENT* variables, in the documented order.
HeaderList CommandEnvironment(const Event& e);
// The /bin/sh script that exports them, takes stdin from `stdin_path` and runs `command`.
std::string CommandScript(const Event& e, std::string_view command, std::string_view stdin_path);

// Which channel types send an event of this type at all (PagerDuty takes problems only).
bool ChannelAccepts(std::string_view channel_type, EventType type);

}  // namespace lifeboat::notify
