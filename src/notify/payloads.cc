#include "notify/payloads.h"

#include "util/subprocess.h"

namespace lifeboat::notify {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

std::string CutBytes(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  size_t end = max_bytes;
  while (end > 0 && IsContinuation(static_cast<unsigned char>(s[end]))) --end;
  return std::string(s.substr(0, end));
}

std::string CutChars(std::string_view s, size_t max_chars) {
  size_t chars = 0;
  std::vector<size_t> starts;  // byte offset of each character
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsContinuation(static_cast<unsigned char>(s[i]))) {
      starts.push_back(i);
      ++chars;
    }
  }
  if (chars <= max_chars) return std::string(s);
  if (max_chars < 3) return std::string(s.substr(0, starts[max_chars]));
  return std::string(s.substr(0, starts[max_chars - 3])) + "...";
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                       (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    const uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string HeaderValue(std::string_view s) {
  const std::string line = OneLine(s);
  if (IsAscii(line)) return line;
  // RFC 2047: encoded words of at most 75 characters, split at character boundaries, separated
  // by a space (which decoders drop between adjacent encoded words).
  std::string out;
  size_t pos = 0;
  while (pos < line.size()) {
    std::string chunk = CutBytes(std::string_view(line).substr(pos), 45);
    if (chunk.empty()) chunk = line.substr(pos, 1);
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + Base64(chunk) + "?=";
    pos += chunk.size();
  }
  return out;
}

std::string SlackEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EventSummary(const Event& e) {
  std::string s = "[" + Upper(SeverityName(e.severity)) + "] " + EventHeadline(e);
  if (!e.message.empty()) s += ": " + OneLine(e.message);
  return s;
}

std::string FieldLines(const Event& e) {
  std::string s = "severity: " + std::string(SeverityName(e.severity)) + "\n";
  if (!e.service.empty()) s += "service: " + e.service + "\n";
  if (e.tier.has_value()) s += "tier: " + std::to_string(*e.tier) + "\n";
  if (!e.site.empty()) s += "site: " + e.site + "\n";
  s += "time: " + FormatRfc3339Utc(e.time_ns) + "\n";
  s += "host: " + e.host + "\n";
  if (!e.dedup_key.empty()) s += "dedup key: " + e.dedup_key + "\n";
  if (e.escalated) s += "escalated: true\n";
  return s;
}

nlohmann::json SlackPayload(const Event& e) {
  using nlohmann::json;
  auto mrkdwn = [](std::string text) { return json{{"type", "mrkdwn"}, {"text", std::move(text)}}; };
  json fields = json::array();
  fields.push_back(mrkdwn("*Severity*\n" + std::string(SeverityName(e.severity))));
  if (!e.service.empty()) fields.push_back(mrkdwn("*Service*\n" + SlackEscape(e.service)));
  if (e.tier.has_value()) fields.push_back(mrkdwn("*Tier*\n" + std::to_string(*e.tier)));
  if (!e.site.empty()) fields.push_back(mrkdwn("*Site*\n" + SlackEscape(e.site)));
  std::string context = "lifeboat on " + e.host + " · " + FormatRfc3339Utc(e.time_ns);
  if (!e.dedup_key.empty()) context += " · " + e.dedup_key;
  json blocks = json::array();
  blocks.push_back({{"type", "header"},
                    {"text", {{"type", "plain_text"}, {"text", CutChars(EventHeadline(e), 150)}}}});
  blocks.push_back({{"type", "section"},
                    {"text", mrkdwn(CutChars(SlackEscape(e.message.empty() ? EventHeadline(e)
                                                                           : e.message),
                                             3000))}});
  blocks.push_back({{"type", "section"}, {"fields", fields}});
  blocks.push_back({{"type", "context"}, {"elements", json::array({mrkdwn(SlackEscape(context))})}});
  return json{{"text", CutChars(SlackEscape(EventSummary(e)), 3000)}, {"blocks", blocks}};
}

int NtfyPriority(Severity s) {
  switch (s) {
    case Severity::kCritical: return 5;
    case Severity::kError: return 4;
    case Severity::kWarning: return 3;
    case Severity::kInfo: return 2;
  }
  return 3;
}

std::string NtfyBody(const Event& e) {
  return (e.message.empty() ? EventHeadline(e) : e.message) + "\n\n" + FieldLines(e);
}

HeaderList NtfyHeaders(const Event& e, const std::string& token) {
  std::string emoji;
  if (e.resolved) {
    emoji = "white_check_mark";
  } else {
    switch (e.severity) {
      case Severity::kCritical: emoji = "rotating_light"; break;
      case Severity::kError: emoji = "x"; break;
      case Severity::kWarning: emoji = "warning"; break;
      case Severity::kInfo: emoji = "information_source"; break;
    }
  }
  HeaderList h = {
      {"Content-Type", "text/plain; charset=utf-8"},
      {"Title", HeaderValue(EventHeadline(e))},
      {"Priority", std::to_string(NtfyPriority(e.severity))},
      {"Tags", emoji + ",lifeboat," + std::string(EventTypeName(e.type))},
  };
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return h;
}

bool ChannelAccepts(std::string_view channel_type, EventType type) {
  if (channel_type == "pagerduty") return IsOpening(type) || IsResolving(type);
  return true;
}

std::optional<nlohmann::json> PagerDutyPayload(const Event& e, const std::string& routing_key) {
  using nlohmann::json;
  if (!ChannelAccepts("pagerduty", e.type)) return std::nullopt;
  if (e.resolved) {
    return json{{"routing_key", routing_key}, {"event_action", "resolve"}, {"dedup_key", e.dedup_key}};
  }
  json payload = {
      {"summary", CutChars(EventSummary(e), 1024)},
      {"source", !e.service.empty() ? e.service : !e.site.empty() ? "site:" + e.site : e.host},
      {"severity", SeverityName(e.severity)},
      {"timestamp", FormatRfc3339Utc(e.time_ns)},
      {"class", EventTypeName(e.type)},
  };
  if (!e.site.empty()) payload["component"] = e.site;
  if (e.tier.has_value()) payload["group"] = "tier-" + std::to_string(*e.tier);
  json custom = {{"message", e.message}, {"host", e.host}, {"escalated", e.escalated},
                 {"details", e.details}};
  if (!e.service.empty()) custom["service"] = e.service;
  if (e.tier.has_value()) custom["tier"] = *e.tier;
  if (!e.site.empty()) custom["site"] = e.site;
  payload["custom_details"] = custom;
  return json{{"routing_key", routing_key},
              {"event_action", "trigger"},
              {"dedup_key", e.dedup_key},
              {"client", "Lifeboat"},
              {"payload", payload}};
}

std::string HealthchecksUrl(const Event& e, std::string_view ping_url) {
  std::string base(ping_url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  switch (e.type) {
    case EventType::kRunStarted:
      return base + "/start";
    case EventType::kRunSummary: {
      int status = e.severity == Severity::kInfo ? 0 : 1;
      if (e.details.is_object() && e.details.contains("exit_status") &&
          e.details["exit_status"].is_number_integer()) {
        status = e.details["exit_status"].get<int>();
      }
      if (status < 0 || status > 255) status = 1;
      return base + "/" + std::to_string(status);
    }
    case EventType::kBackupFailed:
    case EventType::kRpoViolated:
    case EventType::kSiteUnreachable:
    case EventType::kDrillFailed:
    case EventType::kFailoverFailed:
    case EventType::kServiceDown:
      return base + "/fail";
    default:
      return base;
  }
}

std::string HealthchecksBody(const Event& e) {
  std::string body = EventHeadline(e) + "\n";
  if (!e.message.empty()) body += e.message + "\n";
  body += "\n" + FieldLines(e) + "details: " + e.details.dump() + "\n";
  return CutBytes(body, kHealthchecksBodyLimit);
}

std::string EmailSubject(const Event& e) {
  return "[Lifeboat] " + Upper(SeverityName(e.severity)) + " " + EventHeadline(e);
}

std::string EmailMessage(const Event& e, const EmailEnvelope& envelope) {
  std::string text = (e.message.empty() ? EventHeadline(e) : e.message) + "\n\n" + FieldLines(e) +
                     "details: " + e.details.dump() + "\n";
  // CRLF line ends; decide the transfer encoding.
  std::string crlf;
  bool long_line = false;
  size_t line_length = 0;
  for (char c : text) {
    if (c == '\r') continue;
    if (c == '\n') {
      crlf += "\r\n";
      line_length = 0;
      continue;
    }
    crlf += c;
    if (++line_length > 900) long_line = true;
  }
  const bool base64 = !IsAscii(crlf) || long_line;
  std::string to;
  for (const std::string& r : envelope.to) to += (to.empty() ? "" : ", ") + OneLine(r);
  std::string m;
  m += "Date: " + FormatRfc5322Date(e.time_ns) + "\r\n";
  m += "From: " + OneLine(envelope.from) + "\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: " + HeaderValue(EmailSubject(e)) + "\r\n";
  m += "Message-ID: " + OneLine(envelope.message_id) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (base64 ? "base64" : "7bit") + "\r\n";
  m += "X-Lifeboat-Event: " + std::string(EventTypeName(e.type)) + "\r\n";
  if (!e.dedup_key.empty()) m += "X-Lifeboat-Dedup-Key: " + HeaderValue(e.dedup_key) + "\r\n";
  m += "\r\n";
  if (!base64) return m + crlf;
  const std::string encoded = Base64(crlf);
  for (size_t i = 0; i < encoded.size(); i += 76) m += encoded.substr(i, 76) + "\r\n";
  return m;
}

HeaderList CommandEnvironment(const Event& e) {
  return {
      {"LIFEBOAT_EVENT", std::string(EventTypeName(e.type))},
      {"LIFEBOAT_EVENT_SEVERITY", std::string(SeverityName(e.severity))},
      {"LIFEBOAT_EVENT_SERVICE", e.service},
      {"LIFEBOAT_EVENT_TIER", e.tier.has_value() ? std::to_string(*e.tier) : ""},
      {"LIFEBOAT_EVENT_SITE", e.site},
      {"LIFEBOAT_EVENT_MESSAGE", e.message},
      {"LIFEBOAT_EVENT_TIME", FormatRfc3339Utc(e.time_ns)},
      {"LIFEBOAT_EVENT_DEDUP_KEY", e.dedup_key},
      {"LIFEBOAT_EVENT_RESOLVED", e.resolved ? "true" : "false"},
      {"LIFEBOAT_EVENT_ESCALATED", e.escalated ? "true" : "false"},
  };
}

std::string CommandScript(const Event& e, std::string_view command, std::string_view stdin_path) {
  std::string script;
  for (const auto& [name, value] : CommandEnvironment(e)) {
    script += "export " + name + "=" + ShellQuote(value) + "\n";
  }
  script += "exec 0<" + ShellQuote(stdin_path) + " || exit 125\n";
  script += command;
  script += "\n";
  return script;
}

}  // namespace lifeboat::notify
