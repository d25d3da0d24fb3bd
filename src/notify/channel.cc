#include "notify/channel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "notify/transport.h"
#include "util/file_io.h"
#include "util/subprocess.h"

namespace lifeboat::notify {
namespace {

TransportOptions Transport(const std::string& ca_file, const Attempt& attempt) {
  TransportOptions o;
  o.ca_file = ca_file;
  o.timeout = attempt.timeout;
  o.cancel = attempt.cancel;
  return o;
}

// POSTs and maps the reply; `what` is "<type> <origin>".
Status Post(const std::string& url, HeaderList headers, std::string body,
            const std::string& ca_file, const Attempt& attempt, std::string_view type) {
  HttpRequest request;
  request.url = url;
  request.headers = std::move(headers);
  request.body = std::move(body);
  Result<HttpReply> reply = SendHttp(request, Transport(ca_file, attempt));
  if (!reply.ok()) return reply.status().WithContext(type);
  if (attempt.retry_after != nullptr) *attempt.retry_after = reply->retry_after_seconds;
  return HttpReplyStatus(*reply, "POST " + UrlOrigin(url)).WithContext(type);
}

std::vector<std::string> UrlSecrets(const std::string& url) {
  std::vector<std::string> out = {url};
  const size_t slashes = url.find("://");
  if (slashes != std::string::npos) {
    const size_t path = url.find_first_of("/?#", slashes + 3);
    if (path != std::string::npos && url.size() - path > 1) {
      std::string tail = url.substr(path);
      while (!tail.empty() && (tail.front() == '/')) tail.erase(0, 1);
      // A short path ("/hook") is no secret, and scrubbing it would garble words.
      if (tail.size() >= 8) out.push_back(tail);
    }
  }
  return out;
}

const HeaderList kJson = {{"Content-Type", "application/json"}};

class WebhookChannel : public Channel {
 public:
  WebhookChannel(std::string name, WebhookConfig c) : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "webhook"; }
  Status Send(const Event& e, const Attempt& a) const override {
    HeaderList headers = kJson;
    headers.insert(headers.end(), c_.headers.begin(), c_.headers.end());
    return Post(c_.url, headers, WebhookDocument(e).dump(), c_.ca_file, a, type());
  }
  std::vector<std::string> Secrets() const override {
    std::vector<std::string> s = UrlSecrets(c_.url);
    for (const auto& [name, value] : c_.headers) s.push_back(value);
    return s;
  }

 private:
  const WebhookConfig c_;
};

class SlackChannel : public Channel {
 public:
  SlackChannel(std::string name, SlackConfig c) : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "slack"; }
  Status Send(const Event& e, const Attempt& a) const override {
    return Post(c_.webhook_url, kJson, SlackPayload(e).dump(), c_.ca_file, a, type());
  }
  std::vector<std::string> Secrets() const override { return UrlSecrets(c_.webhook_url); }

 private:
  const SlackConfig c_;
};

class NtfyChannel : public Channel {
 public:
  NtfyChannel(std::string name, NtfyConfig c) : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "ntfy"; }
  Status Send(const Event& e, const Attempt& a) const override {
    return Post(c_.topic_url, NtfyHeaders(e, c_.token), NtfyBody(e), c_.ca_file, a, type());
  }
  std::vector<std::string> Secrets() const override {
    std::vector<std::string> s = UrlSecrets(c_.topic_url);
    if (!c_.token.empty()) s.push_back(c_.token);
    return s;
  }

 private:
  const NtfyConfig c_;
};

class PagerDutyChannel : public Channel {
 public:
  PagerDutyChannel(std::string name, PagerDutyConfig c)
      : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "pagerduty"; }
  Status Send(const Event& e, const Attempt& a) const override {
    std::optional<nlohmann::json> body = PagerDutyPayload(e, c_.routing_key);
    if (!body.has_value()) {
      return Status::InvalidArgument("pagerduty: " + std::string(EventTypeName(e.type)) +
                                     " is not a problem and is not sent to PagerDuty");
    }
    return Post(c_.endpoint, kJson, body->dump(), c_.ca_file, a, type());
  }
  std::vector<std::string> Secrets() const override { return {c_.routing_key}; }

 private:
  const PagerDutyConfig c_;
};

class HealthchecksChannel : public Channel {
 public:
  HealthchecksChannel(std::string name, HealthchecksConfig c)
      : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "healthchecks"; }
  Status Send(const Event& e, const Attempt& a) const override {
    return Post(HealthchecksUrl(e, c_.ping_url), {{"Content-Type", "text/plain; charset=utf-8"}},
                HealthchecksBody(e), c_.ca_file, a, type());
  }
  std::vector<std::string> Secrets() const override { return UrlSecrets(c_.ping_url); }

 private:
  const HealthchecksConfig c_;
};

std::string RandomHex(size_t bytes) {
  std::random_device rd;
  std::string out;
  char buf[3];
  for (size_t i = 0; i < bytes; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(rd() & 0xff));
    out += buf;
  }
  return out;
}

class EmailChannel : public Channel {
 public:
  EmailChannel(std::string name, EmailConfig c) : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "email"; }
  Status Send(const Event& e, const Attempt& a) const override {
    EmailEnvelope envelope;
    envelope.from = c_.from;
    envelope.to = c_.to;
    envelope.message_id =
        "<lifeboat." + std::to_string(e.time_ns) + "." + RandomHex(8) + "@" + e.host + ">";
    MailRequest m;
    m.url = c_.url;
    m.require_starttls = c_.starttls;
    m.user = c_.user;
    m.password = c_.password;
    m.from = c_.from;
    m.to = c_.to;
    m.message = EmailMessage(e, envelope);
    return SendMail(m, Transport(c_.ca_file, a)).WithContext(type());
  }
  std::vector<std::string> Secrets() const override {
    if (c_.password.empty()) return {};
    return {c_.password};
  }

 private:
  const EmailConfig c_;
};

class CommandChannel : public Channel {
 public:
  CommandChannel(std::string name, CommandConfig c) : Channel(std::move(name)), c_(std::move(c)) {}
  std::string_view type() const override { return "command"; }
  Status Send(const Event& e, const Attempt& a) const override {
    // The document goes to a private temporary file that becomes the command's stdin.
    const char* tmpdir = std::getenv("TMPDIR");
    std::string path = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") +
                       "/lifeboat-event-XXXXXX";
    FileDescriptor fd(mkstemp(path.data()));
    if (!fd.valid()) return PosixError("command: creating the event file " + path);
    struct Remove {
      std::string path;
      ~Remove() { ::unlink(path.c_str()); }
    } remove{path};
    const std::string doc = WebhookDocument(e).dump() + "\n";
    LB_RETURN_IF_ERROR(WriteAll(fd.get(), AsBytes(doc), "command: writing the event file"));
    LB_RETURN_IF_ERROR(fd.Close("command: the event file"));
    SubprocessOptions o;
    o.argv = {"/bin/sh", "-c", CommandScript(e, c_.command, path)};
    o.description = "notification command";
    o.timeout = std::min(c_.timeout, std::max(std::chrono::milliseconds(1), a.budget_left));
    o.cancel = a.cancel;
    Result<std::string> out = RunAndCapture(o);
    return out.status().WithContext(type());
  }
  std::vector<std::string> Secrets() const override { return {}; }

 private:
  const CommandConfig c_;
};

Status CheckUrl(const std::string& channel, const char* key, const std::string& url,
                std::initializer_list<std::string_view> schemes) {
  if (url.empty()) return Status::InvalidArgument("channel '" + channel + "': " + key + " is empty");
  for (std::string_view s : schemes) {
    if (url.starts_with(std::string(s) + "://")) return Status::Ok();
  }
  std::string list;
  for (std::string_view s : schemes) list += (list.empty() ? "" : " or ") + std::string(s) + "://";
  return Status::InvalidArgument("channel '" + channel + "': " + key + " must start with " + list);
}

Status CheckCaFile(const std::string& channel, const std::string& ca_file) {
  if (ca_file.empty()) return Status::Ok();
  if (::access(ca_file.c_str(), R_OK) != 0) {
    return Status::InvalidArgument("channel '" + channel + "': cannot read ca_file " + ca_file +
                                   ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string_view ChannelTypeName(const ChannelConfig& config) {
  static constexpr std::string_view kNames[] = {"webhook",      "slack", "ntfy",   "pagerduty",
                                                "healthchecks", "email", "command"};
  return kNames[config.spec.index()];
}

Result<std::unique_ptr<Channel>> MakeChannel(const ChannelConfig& config) {
  const std::string& n = config.name;
  if (n.empty()) return Status::InvalidArgument("a notification channel needs a name");
  if (const auto* c = std::get_if<WebhookConfig>(&config.spec)) {
    LB_RETURN_IF_ERROR(CheckUrl(n, "url", c->url, {"https", "http"}));
    LB_RETURN_IF_ERROR(CheckCaFile(n, c->ca_file));
    return std::unique_ptr<Channel>(new WebhookChannel(n, *c));
  }
  if (const auto* c = std::get_if<SlackConfig>(&config.spec)) {
    LB_RETURN_IF_ERROR(CheckUrl(n, "webhook_url", c->webhook_url, {"https", "http"}));
    LB_RETURN_IF_ERROR(CheckCaFile(n, c->ca_file));
    return std::unique_ptr<Channel>(new SlackChannel(n, *c));
  }
  if (const auto* c = std::get_if<NtfyConfig>(&config.spec)) {
    LB_RETURN_IF_ERROR(CheckUrl(n, "topic_url", c->topic_url, {"https", "http"}));
    LB_RETURN_IF_ERROR(CheckCaFile(n, c->ca_file));
    return std::unique_ptr<Channel>(new NtfyChannel(n, *c));
  }
  if (const auto* c = std::get_if<PagerDutyConfig>(&config.spec)) {
    if (c->routing_key.empty()) {
      return Status::InvalidArgument("channel '" + n + "': routing_key is empty");
    }
    LB_RETURN_IF_ERROR(CheckUrl(n, "endpoint", c->endpoint, {"https", "http"}));
    LB_RETURN_IF_ERROR(CheckCaFile(n, c->ca_file));
    return std::unique_ptr<Channel>(new PagerDutyChannel(n, *c));
  }
  if (const auto* c = std::get_if<HealthchecksConfig>(&config.spec)) {
    LB_RETURN_IF_ERROR(CheckUrl(n, "ping_url", c->ping_url, {"https", "http"}));
    LB_RETURN_IF_ERROR(CheckCaFile(n, c->ca_file));
    return std::unique_ptr<Channel>(new HealthchecksChannel(n, *c));
  }
  if (const auto* c = std::get_if<EmailConfig>(&config.spec)) {
    LB_RETURN_IF_ERROR(CheckUrl(n, "url", c->url, {"smtp", "smtps"}));
    LB_RETURN_IF_ERROR(CheckCaFile(n, c->ca_file));
    if (c->from.empty()) return Status::InvalidArgument("channel '" + n + "': from is empty");
    if (c->to.empty()) return Status::InvalidArgument("channel '" + n + "': to lists nobody");
    if (!c->user.empty() && c->password.empty()) {
      return Status::InvalidArgument("channel '" + n + "': user is set but the password is empty");
    }
    return std::unique_ptr<Channel>(new EmailChannel(n, *c));
  }
  const auto& c = std::get<CommandConfig>(config.spec);
  if (c.command.empty()) return Status::InvalidArgument("channel '" + n + "': command is empty");
  if (c.timeout.count() <= 0) {
    return Status::InvalidArgument("channel '" + n + "': the command timeout must be positive");
  }
  return std::unique_ptr<Channel>(new CommandChannel(n, c));
}

}  // namespace lifeboat::notify
