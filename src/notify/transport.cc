#include "notify/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <mutex>

namespace lifeboat::notify {
namespace {

constexpr size_t kMaxReplyBody = 64 * 1024;

CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct Transfer {
  const TransportOptions* options = nullptr;
  // Request body (HTTP POST and SMTP upload).
  std::string_view upload;
  size_t sent = 0;
  // Reply.
  HttpReply* reply = nullptr;
};

size_t ReadUpload(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, t->upload.size() - t->sent);
  std::memcpy(buffer, t->upload.data() + t->sent, n);
  t->sent += n;
  return n;
}

size_t WriteReply(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->reply != nullptr && t->reply->body.size() < kMaxReplyBody) {
    t->reply->body.append(data, std::min(n, kMaxReplyBody - t->reply->body.size()));
  }
  return n;
}

size_t ReadHeader(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(buffer, n);
  if (t->reply == nullptr) return n;
  if (line.starts_with("HTTP/")) {
    t->reply->retry_after_seconds.reset();
    return n;
  }
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == kName) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
      if (ec == std::errc() && seconds >= 0) t->reply->retry_after_seconds = seconds;
    }
  }
  return n;
}

int CheckCancel(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  const std::atomic<bool>* cancel = t->options->cancel;
  return cancel != nullptr && cancel->load(std::memory_order_relaxed) ? 1 : 0;
}

struct EasyHandle {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  curl_slist* recipients = nullptr;
  ~EasyHandle() {
    curl_slist_free_all(headers);
    curl_slist_free_all(recipients);
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

void SetCommon(CURL* curl, Transfer* t, const TransportOptions& o, char* error_buffer) {
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
  const long timeout_ms = std::max<long>(1, static_cast<long>(o.timeout.count()));
  const long connect_ms =
      std::max<long>(1, std::min<long>(timeout_ms, static_cast<long>(o.connect_timeout.count())));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &CheckCancel);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadUpload);
  curl_easy_setopt(curl, CURLOPT_READDATA, t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteReply);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
}

// One place where curl's codes become our kinds. `what` names the request without secrets.
Status CurlError(CURLcode rc, const char* error_buffer, const std::string& what,
                 long protocol_status) {
  std::string message =
      what + ": " + (error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
      return Status::Cancelled(what + " interrupted");
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_AGAIN:
      // An SMTP server's answer arrives as a send/receive error: its code says what it meant.
      if (protocol_status >= 500 && protocol_status < 600) {
        return Status::InvalidArgument(message + " (the server answered " +
                                       std::to_string(protocol_status) + ")");
      }
      return Status::Unavailable(std::move(message));
    case CURLE_OPERATION_TIMEDOUT:
      return Status::Unavailable(message + " (the server did not answer in time)");
    case CURLE_PEER_FAILED_VERIFICATION:
#if CURLE_SSL_CACERT != CURLE_PEER_FAILED_VERIFICATION
    case CURLE_SSL_CACERT:
#endif
      return Status::PermissionDenied(
          message + ": the server's TLS certificate failed verification; if it is signed by a "
                    "private CA or self-signed, give that certificate (PEM) as the channel's ca_file");
    case CURLE_SSL_CACERT_BADFILE:
      return Status::InvalidArgument(message + ": cannot use the channel's ca_file");
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument(message + ": check the channel's URL");
    case CURLE_LOGIN_DENIED:
      return Status::PermissionDenied(message + ": check the channel's user and password");
    case CURLE_USE_SSL_FAILED:
      return Status::FailedPrecondition(
          message + ": the server does not offer STARTTLS, which the channel requires (use "
                    "smtps:// or a server with STARTTLS)");
    default:
      if (protocol_status >= 400 && protocol_status < 500) return Status::Unavailable(message);
      return Status::IOError(std::move(message));
  }
}

std::string Quote(std::string_view text, size_t limit) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace

std::string UrlOrigin(std::string_view url) {
  const size_t slashes = url.find("://");
  if (slashes == std::string_view::npos) return "(a URL without a scheme)";
  const size_t authority = slashes + 3;
  size_t end = url.find_first_of("/?#", authority);
  if (end == std::string_view::npos) end = url.size();
  std::string_view host = url.substr(authority, end - authority);
  const size_t at = host.rfind('@');
  if (at != std::string_view::npos) host = host.substr(at + 1);
  return std::string(url.substr(0, authority)) + std::string(host);
}

Result<HttpReply> SendHttp(const HttpRequest& request, const TransportOptions& options) {
  const std::string what = request.method + " " + UrlOrigin(request.url);
  if (GlobalInit() != CURLE_OK) return Status::Internal("curl_global_init failed");
  if (request.method != "POST" && request.method != "GET") {
    return Status::InvalidArgument(what + ": only POST and GET are sent");
  }
  EasyHandle h;
  if (h.curl == nullptr) return Status::Unavailable(what + ": out of memory");
  HttpReply reply;
  Transfer t;
  t.options = &options;
  t.upload = request.body;
  t.reply = &reply;
  char error_buffer[CURL_ERROR_SIZE];
  error_buffer[0] = '\0';
  SetCommon(h.curl, &t, options, error_buffer);
  curl_easy_setopt(h.curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h.curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h.curl, CURLOPT_USERAGENT, "lifeboat/" LIFEBOAT_NOTIFY_VERSION);
  curl_easy_setopt(h.curl, CURLOPT_HEADERFUNCTION, &ReadHeader);
  curl_easy_setopt(h.curl, CURLOPT_HEADERDATA, &t);
  if (request.method == "POST") {
    curl_easy_setopt(h.curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h.curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else {
    curl_easy_setopt(h.curl, CURLOPT_HTTPGET, 1L);
  }
  for (const auto& [name, value] : request.headers) {
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* next = curl_slist_append(h.headers, line.c_str());
    if (next == nullptr) return Status::Unavailable(what + ": out of memory");
    h.headers = next;
  }
  curl_slist* next = curl_slist_append(h.headers, "Expect:");
  if (next == nullptr) return Status::Unavailable(what + ": out of memory");
  h.headers = next;
  curl_easy_setopt(h.curl, CURLOPT_HTTPHEADER, h.headers);
  const CURLcode rc = curl_easy_perform(h.curl);
  if (rc != CURLE_OK) return CurlError(rc, error_buffer, what, 0);
  curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Status HttpReplyStatus(const HttpReply& reply, std::string_view what) {
  const long s = reply.status;
  if (s >= 200 && s < 300) return Status::Ok();
  std::string message = std::string(what) + ": HTTP " + std::to_string(s);
  const std::string body = Quote(reply.body, 200);
  if (!body.empty()) message += ": " + body;
  if (s == 408 || s == 425 || s == 429 || (s >= 500 && s < 600)) {
    return Status::Unavailable(std::move(message));
  }
  if (s == 401 || s == 403) {
    return Status::PermissionDenied(message + " (check the channel's key or token)");
  }
  return Status::InvalidArgument(message + " (the receiver refused the request: not retried)");
}

Status SendMail(const MailRequest& request, const TransportOptions& options) {
  const std::string what = "SMTP " + UrlOrigin(request.url);
  if (GlobalInit() != CURLE_OK) return Status::Internal("curl_global_init failed");
  if (!request.url.starts_with("smtp://") && !request.url.starts_with("smtps://")) {
    return Status::InvalidArgument(what + ": the URL must start with smtp:// or smtps://");
  }
  if (request.to.empty()) return Status::InvalidArgument(what + ": no recipient");
  EasyHandle h;
  if (h.curl == nullptr) return Status::Unavailable(what + ": out of memory");
  Transfer t;
  t.options = &options;
  t.upload = request.message;
  char error_buffer[CURL_ERROR_SIZE];
  error_buffer[0] = '\0';
  SetCommon(h.curl, &t, options, error_buffer);
  curl_easy_setopt(h.curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h.curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  if (request.url.starts_with("smtp://")) {
    curl_easy_setopt(h.curl, CURLOPT_USE_SSL,
                     static_cast<long>(request.require_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
  }
  if (!request.user.empty()) {
    curl_easy_setopt(h.curl, CURLOPT_USERNAME, request.user.c_str());
    curl_easy_setopt(h.curl, CURLOPT_PASSWORD, request.password.c_str());
  }
  const std::string from = "<" + request.from + ">";
  curl_easy_setopt(h.curl, CURLOPT_MAIL_FROM, from.c_str());
  for (const std::string& r : request.to) {
    const std::string rcpt = "<" + r + ">";
    curl_slist* next = curl_slist_append(h.recipients, rcpt.c_str());
    if (next == nullptr) return Status::Unavailable(what + ": out of memory");
    h.recipients = next;
  }
  curl_easy_setopt(h.curl, CURLOPT_MAIL_RCPT, h.recipients);
  curl_easy_setopt(h.curl, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h.curl, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(request.message.size()));
  const CURLcode rc = curl_easy_perform(h.curl);
  if (rc == CURLE_OK) return Status::Ok();
  long code = 0;
  curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &code);
  return CurlError(rc, error_buffer, what, code);
}

}  // namespace lifeboat::notify
