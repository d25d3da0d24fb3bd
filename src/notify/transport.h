// The wire under the channels: one HTTP(S) request, or one e-mail over SMTP, through a fresh
// libcurl easy handle. Notifications are rare and small, so there is no connection pool; what
// matters is that every request is bounded in time, verifies TLS, and that no message names a
// secret: a URL is shown only as scheme://host:port (Slack, ntfy and healthchecks URLs carry their
// secret in the path), and credentials are never logged.
//
// Why not backend/http/http_client.h: it belongs to the storage layer (it links lb_backend, and
// the notification layer sits above the engine), its messages show URL paths, and it has no
// SMTP. This file is the small curl wrapper the notifications need, nothing more.
//
//   TransportOptions o;  o.timeout = std::chrono::seconds(10);
//   LB_ASSIGN_OR_RETURN(HttpReply reply, SendHttp(request, o));
//   LB_RETURN_IF_ERROR(HttpReplyStatus(reply, "POST https://hooks.slack.com"));
//
// Thread safety: every function may be called from any thread at once.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notify/payloads.h"
#include "util/status.h"

namespace lifeboat::notify {

struct TransportOptions {
  // PEM bundle to verify servers against instead of the system's CAs (a private CA). TLS is
  // always verified.
  std::string ca_file;
  // The whole request, connect included.
  std::chrono::milliseconds timeout{10'000};
  // Capped by `timeout`.
  std::chrono::milliseconds connect_timeout{5'000};
  // When it becomes true the request stops (Cancelled). May be null.
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;
  HeaderList headers;
  std::string body;
};

struct HttpReply {
  long status = 0;
  std::string body;  // at most 64 KiB kept
  // Retry-After in seconds, when the answer had one in that form.
  std::optional<int64_t> retry_after_seconds;
};

// "https://hooks.slack.com:443" -> "https://hooks.slack.com:443"; path, query, fragment and
// user:password@ are dropped. What messages show of a URL.
std::string UrlOrigin(std::string_view url);

// Sends the request (http and https only; redirects are not followed). Errors:
//  - Unavailable: connection refused or reset, DNS failure, timeout, TLS handshake failure,
//    an answer cut short: the transient failures a retry may fix;
//  - PermissionDenied: the server's certificate failed verification (says to set ca_file);
//  - InvalidArgument: a malformed URL or another scheme, an unreadable ca_file;
//  - Cancelled: options.cancel was set.
// Any HTTP status is a reply, not an error: see HttpReplyStatus.
Result<HttpReply> SendHttp(const HttpRequest& request, const TransportOptions& options);

// 2xx -> OK; 408, 425, 429, 5xx -> Unavailable (retry); 401, 403 -> PermissionDenied; anything
// else -> InvalidArgument (a 4xx: the request is wrong, retrying cannot help). The message names
// `what`, the status and at most 200 bytes of the body.
Status HttpReplyStatus(const HttpReply& reply, std::string_view what);

struct MailRequest {
  std::string url;  // smtp://host:port or smtps://host:port
  bool require_starttls = true;  // smtp:// only: CURLUSESSL_ALL (true) or no TLS (false)
  std::string user;              // empty: no login
  std::string password;
  std::string from;
  std::vector<std::string> to;
  std::string message;  // RFC 5322, CRLF line ends
};

// Sends one message. Errors as SendHttp, plus PermissionDenied for a refused login and
// InvalidArgument for refused recipients or sender (5xx SMTP answers), Unavailable for 4xx
// SMTP answers (temporary).
Status SendMail(const MailRequest& request, const TransportOptions& options);

}  // namespace lifeboat::notify
