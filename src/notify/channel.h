// Channels: where notifications go (doc/notifications.md, "Channels"). One config struct per
// channel type, filled by the caller from the plan with secrets already resolved; one Channel
// class per type (made by MakeChannel) that sends one event in ONE attempt. Retries, backoff and
// the time budget are deliver.h's job.
//
//   ChannelConfig c{.name = "oncall", .spec = PagerDutyConfig{.routing_key = key}};
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Channel> ch, MakeChannel(c));
//   Status st = ch->Send(event, attempt);   // one request, bounded by attempt.timeout
//
// Thread safety: Send may be called from several threads at once (channels hold only their
// immutable config).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "notify/event.h"
#include "notify/payloads.h"
#include "util/status.h"

namespace lifeboat::notify {

// `webhook`: POST of the webhook document. Header values are secrets.
struct WebhookConfig {
  std::string url;
  HeaderList headers;
  std::string ca_file;
};
// `slack`: incoming webhook; the URL is the secret.
struct SlackConfig {
  std::string webhook_url;
  std::string ca_file;
};
// `ntfy`: the topic URL (https://ntfy.sh/<topic>; the topic is a secret) and an access token.
struct NtfyConfig {
  std::string topic_url;
  std::string token;  // empty: none
  std::string ca_file;
};
// `pagerduty`: Events API v2.
inline constexpr std::string_view kPagerDutyEndpoint = "https://events.pagerduty.com/v2/enqueue";
struct PagerDutyConfig {
  std::string routing_key;
  std::string endpoint = std::string(kPagerDutyEndpoint);
  std::string ca_file;
};
// `healthchecks`: the check's ping URL (it holds the check's UUID: a secret).
struct HealthchecksConfig {
  std::string ping_url;
  std::string ca_file;
};
// `email`: SMTP through libcurl.
struct EmailConfig {
  std::string url;        // smtp://host:587 (STARTTLS) or smtps://host:465
  bool starttls = true;   // smtp:// only: require STARTTLS (CURLUSESSL_ALL); false: clear text
  std::string user;       // empty: no login
  std::string password;
  std::string from;
  std::vector<std::string> to;
  std::string ca_file;
};
// `command`: /bin/sh -c <command>, the webhook document on stdin, LIFEBOAT_EVENT* variables.
struct CommandConfig {
  std::string command;
  std::chrono::milliseconds timeout{60'000};
};

struct ChannelConfig {
  std::string name;  // the plan's channel name: in outcomes and messages
  std::variant<WebhookConfig, SlackConfig, NtfyConfig, PagerDutyConfig, HealthchecksConfig,
               EmailConfig, CommandConfig>
      spec;
};

// "webhook", "slack", "ntfy", "pagerduty", "healthchecks", "email", "command".
std::string_view ChannelTypeName(const ChannelConfig& config);

// What one attempt may use.
struct Attempt {
  // One HTTP request or SMTP session.
  std::chrono::milliseconds timeout{10'000};
  // What is left of the delivery's budget: a command runs for min(its timeout, this).
  std::chrono::milliseconds budget_left{60'000};
  const std::atomic<bool>* cancel = nullptr;
  // When not null, set to the seconds of a Retry-After the receiver answered (429, 503).
  std::optional<int64_t>* retry_after = nullptr;
};

class Channel {
 public:
  virtual ~Channel() = default;
  const std::string& name() const { return name_; }
  virtual std::string_view type() const = 0;
  // False when this channel type does not take events of this type (PagerDuty: run events).
  bool Accepts(EventType type) const { return ChannelAccepts(this->type(), type); }
  // Sends `event` once. OK when the receiver accepted it. Unavailable for a transient failure
  // (retry may help); any other code is permanent. Messages start with "<type> <origin>" and
  // never contain a secret. Blocks for at most about attempt.timeout.
  virtual Status Send(const Event& event, const Attempt& attempt) const = 0;
  // The secrets of this channel (URLs, keys, tokens, passwords): deliver.h replaces each by
  // "***" in every error text as a last guard.
  virtual std::vector<std::string> Secrets() const = 0;

 protected:
  explicit Channel(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

// InvalidArgument (naming the channel and what to fix) for a config that cannot work: an empty
// URL or key, a URL whose scheme does not fit, an email without from/to, an unreadable ca_file.
Result<std::unique_ptr<Channel>> MakeChannel(const ChannelConfig& config);

}  // namespace lifeboat::notify
