#include "backend/http/http_client.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>

#include "util/mutex.h"
#include "util/thread_annotations.h"
#include "util/thread_start.h"

namespace lifeboat {
namespace {

// curl_global_init is not thread-safe and must run once before any other curl call.
CURLcode GlobalInit() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// The URL as messages show it: no "user:password@", no query string (S3 presigned queries carry
// credentials), no fragment.
std::string UrlForMessages(std::string_view url) {
  const size_t cut = url.find_first_of("?#");
  if (cut != std::string_view::npos) url = url.substr(0, cut);
  const size_t slashes = url.find("://");
  if (slashes == std::string_view::npos) return std::string(url);
  const size_t authority = slashes + 3;
  size_t end = url.find('/', authority);
  if (end == std::string_view::npos) end = url.size();
  const size_t at = url.rfind('@', end);
  if (at == std::string_view::npos || at < authority) return std::string(url);
  return std::string(url.substr(0, authority)) + std::string(url.substr(at + 1));
}

void ReplaceAll(std::string* s, std::string_view needle, std::string_view with) {
  if (needle.empty()) return;
  for (size_t at = s->find(needle); at != std::string::npos; at = s->find(needle, at)) {
    s->replace(at, needle.size(), with);
    at += with.size();
  }
}

// Acknowledges what the connection of `curl` has received right away instead of after the
// kernel's delayed-ACK timer (40 ms on Linux). A server that writes a response's headers and its
// body separately with Nagle's algorithm on (Ceph RGW's beast frontend by default) holds the body
// back until the headers are acknowledged, and a client that sent its request moments earlier is
// in the kernel's "interactive" mode, which delays that acknowledgement: every response smaller
// than a TCP segment (64 KiB over loopback: a tree blob, an index file, a listing) then arrived
// 40 ms late on a reused connection, measured on RGW 16. TCP_QUICKACK sends the pending
// acknowledgement now; the kernel returns to delaying later, so it is set whenever data arrives.
void AcknowledgeNow(curl_socket_t fd) {
#ifdef TCP_QUICKACK
  if (fd == CURL_SOCKET_BAD) return;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);  // best effort
#else
  (void)fd;
#endif
}

// A pooled curl handle and the socket of its connection (curl keeps the connection across
// requests; CURLINFO_ACTIVESOCKET only answers after a transfer).
struct PooledHandle {
  CURL* curl = nullptr;
  curl_socket_t socket = CURL_SOCKET_BAD;
};

// CURLOPT_SOCKOPTFUNCTION: remembers each new connection's socket.
int RecordSocket(void* user, curl_socket_t fd, curlsocktype) {
  static_cast<PooledHandle*>(user)->socket = fd;
  return CURL_SOCKOPT_OK;
}

// The state of one request, shared with curl's callbacks.
struct Transfer {
  const PooledHandle* handle = nullptr;
  const Context* context = nullptr;
  // Request body.
  ByteParts body;
  size_t part = 0;    // the part being sent
  size_t offset = 0;  // within body[part]
  // Response.
  HttpResponse* response = nullptr;
  Bytes* body_out = nullptr;
  Bytes* destination = nullptr;  // set when the final response's headers are complete
  long block_status = 0;         // status of the header block being read
  // A failure inside a callback (out of memory), returned by Do instead of curl's code.
  Status callback_failure;
};

size_t ReadBody(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t capacity = size * count;
  size_t done = 0;
  while (done < capacity && t->part < t->body.size()) {
    ByteView part = t->body[t->part];
    const size_t n = std::min(capacity - done, part.size() - t->offset);
    if (n > 0) std::memcpy(buffer + done, part.data() + t->offset, n);
    done += n;
    t->offset += n;
    if (t->offset == part.size()) {
      ++t->part;
      t->offset = 0;
    }
  }
  return done;
}

// curl rewinds the body when it resends a request (a reused connection the server had closed).
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  uint64_t left = static_cast<uint64_t>(offset);
  t->part = 0;
  t->offset = 0;
  while (t->part < t->body.size() && left >= t->body[t->part].size()) {
    left -= t->body[t->part].size();
    ++t->part;
  }
  if (t->part == t->body.size()) return left == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
  t->offset = static_cast<size_t>(left);
  return CURL_SEEKFUNC_OK;
}

// Called once per header line, status lines and the blank line ending each block included.
size_t ReadHeader(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(buffer, n);
  try {
    if (line.starts_with("HTTP/")) {
      AcknowledgeNow(t->handle->socket);
      // "HTTP/1.1 200 OK": a new block (after 100 Continue, say) replaces the previous one.
      t->response->headers.clear();
      t->response->reason.clear();
      t->block_status = 0;
      const size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        std::string_view rest = line.substr(sp + 1);
        std::from_chars(rest.data(), rest.data() + rest.size(), t->block_status);
        const size_t sp2 = rest.find(' ');
        if (sp2 != std::string_view::npos) t->response->reason = Trim(rest.substr(sp2 + 1));
      }
      return n;
    }
    if (Trim(line).empty()) {
      if (t->block_status >= 200 && t->destination == nullptr) {
        // The final response's headers are complete: choose where its body goes.
        const bool success = t->block_status < 300;
        t->destination = success && t->body_out != nullptr ? t->body_out : &t->response->body;
        t->destination->clear();
        if (success) {
          std::optional<std::string> length = t->response->Header("content-length");
          uint64_t value = 0;
          if (length.has_value() &&
              std::from_chars(length->data(), length->data() + length->size(), value).ec ==
                  std::errc() &&
              value <= (uint64_t{1} << 32)) {
            t->destination->reserve(static_cast<size_t>(value));
          }
        }
      }
      return n;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return n;  // a folded or malformed line: ignored
    t->response->headers.emplace_back(Lowercase(Trim(line.substr(0, colon))),
                                      std::string(Trim(line.substr(colon + 1))));
    return n;
  } catch (...) {
    t->callback_failure = StatusFromCurrentException("reading an HTTP response's headers");
    return 0;
  }
}

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  AcknowledgeNow(t->handle->socket);
  try {
    if (t->destination == nullptr) t->destination = &t->response->body;
    t->destination->insert(t->destination->end(), reinterpret_cast<const uint8_t*>(data),
                           reinterpret_cast<const uint8_t*>(data) + n);
    return n;
  } catch (...) {
    t->callback_failure = StatusFromCurrentException("reading an HTTP response's body");
    return 0;
  }
}

// Called about once a second, and on every chunk moved: a non-zero return aborts the request.
int CheckContext(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  return t->context->done() ? 1 : 0;
}

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(HttpClientOptions options) : options_(std::move(options)) {}

  ~CurlHttpClient() override {
    MutexLock lock(&mu_);
    for (const std::unique_ptr<PooledHandle>& handle : idle_) curl_easy_cleanup(handle->curl);
    idle_.clear();
    lock.Unlock();
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  Status Init() {
    // DNS answers and TLS sessions are shared by all handles (a new connection resumes the TLS
    // session); connections stay with their handle, which keeps its connection alive between
    // requests (the pool hands out handles, so connections are reused).
    share_ = curl_share_init();
    if (share_ == nullptr) return Status::Unavailable("HTTP client: out of memory");
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlHttpClient::LockShare);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlHttpClient::UnlockShare);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return Status::Ok();
  }

  Result<HttpResponse> Do(const HttpRequest& request, Bytes* body_out) override;

 private:
  static void LockShare(CURL*, curl_lock_data data, curl_lock_access, void* user)
      NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlHttpClient*>(user)->share_locks_[data].Lock();
  }
  static void UnlockShare(CURL*, curl_lock_data data, void* user) NO_THREAD_SAFETY_ANALYSIS {
    static_cast<CurlHttpClient*>(user)->share_locks_[data].Unlock();
  }

  // Waits for a free connection slot; returns a handle (an idle one, with its open connection,
  // or a new one). Cancelled / DeadlineExceeded when the context is done first.
  Result<std::unique_ptr<PooledHandle>> Acquire(std::string_view what, const Context& context);
  void Release(std::unique_ptr<PooledHandle> handle);

  Status MapCurlError(CURLcode rc, const char* error_buffer, std::string_view what) const;

  const HttpClientOptions options_;
  CURLSH* share_ = nullptr;
  Mutex share_locks_[CURL_LOCK_DATA_LAST];

  Mutex mu_;
  CondVar slot_free_cv_;
  std::vector<std::unique_ptr<PooledHandle>> idle_ GUARDED_BY(mu_);
  int in_flight_ GUARDED_BY(mu_) = 0;
};

Result<std::unique_ptr<PooledHandle>> CurlHttpClient::Acquire(std::string_view what,
                                                              const Context& context) {
  MutexLock lock(&mu_);
  while (in_flight_ >= options_.max_connections) {
    LB_RETURN_IF_ERROR(context.Check(what));
    // Woken by Release; the timeout only makes a cancelled context noticed.
    slot_free_cv_.WaitFor(&mu_, std::chrono::milliseconds(50));
  }
  ++in_flight_;
  std::unique_ptr<PooledHandle> handle;
  if (!idle_.empty()) {
    handle = std::move(idle_.back());
    idle_.pop_back();
  }
  lock.Unlock();
  if (handle == nullptr) {
    handle = std::make_unique<PooledHandle>();
    handle->curl = curl_easy_init();
  }
  if (handle->curl == nullptr) {
    lock.Lock();
    --in_flight_;
    slot_free_cv_.NotifyOne();
    return Status::Unavailable(std::string(what) + ": out of memory for an HTTP connection");
  }
  return handle;
}

void CurlHttpClient::Release(std::unique_ptr<PooledHandle> handle) {
  MutexLock lock(&mu_);
  idle_.push_back(std::move(handle));
  --in_flight_;
  slot_free_cv_.NotifyOne();
}

Status CurlHttpClient::MapCurlError(CURLcode rc, const char* error_buffer,
                                    std::string_view what) const {
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  // curl's messages name hosts, not URLs; still, a password never leaves this function.
  ReplaceAll(&detail, options_.password, "***");
  std::string message = std::string(what) + ": " + detail;
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_AGAIN:
    case CURLE_HTTP3:
      if (rc == CURLE_OPERATION_TIMEDOUT) message += " (the server stalled or was too slow)";
      return Status::Unavailable(std::move(message));
    case CURLE_PEER_FAILED_VERIFICATION:
#if CURLE_SSL_CACERT != CURLE_PEER_FAILED_VERIFICATION
    case CURLE_SSL_CACERT:
#endif
      return Status::PermissionDenied(
          message + ": the server's TLS certificate failed verification; if it is signed by a "
                    "private CA or self-signed, give that certificate (PEM) with -o " +
          options_.ca_file_option + "=FILE");
    case CURLE_SSL_CACERT_BADFILE:
      return Status::InvalidArgument(message + ": cannot use the CA file given with -o " +
                                     options_.ca_file_option);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument(message + ": check the repository URL");
    case CURLE_LOGIN_DENIED:
      return Status::PermissionDenied(std::move(message));
    default:
      return Status::IOError(std::move(message));
  }
}

Result<HttpResponse> CurlHttpClient::Do(const HttpRequest& request, Bytes* body_out) {
  const std::string what = request.method + " " + UrlForMessages(request.url);
  const Context& context = request.context != nullptr ? *request.context : options_.context;
  LB_RETURN_IF_ERROR(context.Check(what));
  LB_ASSIGN_OR_RETURN(std::unique_ptr<PooledHandle> pooled, Acquire(what, context));
  CURL* const curl = pooled->curl;
  // Back into the pool on every path; an easy handle stays usable after a failed transfer (curl
  // closes the connection it could not trust).
  struct Releaser {
    CurlHttpClient* client;
    std::unique_ptr<PooledHandle>& handle;
    ~Releaser() { client->Release(std::move(handle)); }
  } releaser{this, pooled};

  // Resets the options, keeping the handle's open connections, DNS and TLS session caches.
  curl_easy_reset(curl);

  HttpResponse response;
  Transfer transfer;
  transfer.handle = pooled.get();
  transfer.context = &context;
  transfer.body = request.body;
  transfer.response = &response;
  transfer.body_out = body_out;
  uint64_t body_size = 0;
  for (ByteView part : request.body) body_size += part.size();

  char error_buffer[CURL_ERROR_SIZE];
  error_buffer[0] = '\0';
  struct curl_slist* headers = nullptr;
  struct HeaderList {
    curl_slist** list;
    ~HeaderList() { curl_slist_free_all(*list); }
  } free_headers{&headers};
  auto add_header = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers, line.c_str());
    if (next == nullptr) return false;
    headers = next;
    return true;
  };
  for (const auto& [name, value] : request.headers) {
    // "Name;" is curl's way to send a header with an empty value ("Name:" removes it).
    if (!add_header(value.empty() ? name + ";" : name + ": " + value)) {
      return Status::Unavailable(what + ": out of memory");
    }
  }

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SHARE, share_);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, &RecordSocket);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, pooled.get());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // Larger buffers than curl's defaults (16 KiB down, 64 KiB up) move packs faster.
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.password.c_str());
  }

  long connect_timeout_ms = static_cast<long>(options_.connect_timeout.count());
  if (context.has_deadline()) {
    const int64_t left_ms =
        std::max<int64_t>(1, (context.deadline_ns() - context.clock().MonotonicNs()) / 1'000'000);
    connect_timeout_ms = static_cast<long>(std::min<int64_t>(connect_timeout_ms, left_ms));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(left_ms));
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options_.stall_bytes_per_second));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_time.count()));

  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &CheckContext);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &ReadHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);

  const std::string& method = request.method;
  const bool sends_body = method == "PUT" || method == "POST";
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_size));
  } else if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_size));
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (body_size > 0) {
      return Status::InvalidArgument(what + ": a " + method + " request cannot carry a body");
    }
  }
  if (sends_body) {
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &SeekBody);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &transfer);
    // curl waits for "100 Continue" (up to a second) before sending a large body: a round trip
    // for nothing, since the body is sent anyway.
    if (!add_header("Expect:")) return Status::Unavailable(what + ": out of memory");
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  const CURLcode rc = curl_easy_perform(curl);
  if (!transfer.callback_failure.ok()) return transfer.callback_failure.WithContext(what);
  if (rc != CURLE_OK) {
    if (context.done()) {
      Status stopped = context.Check(what);
      if (!stopped.ok()) return stopped;
    }
    // CURLOPT_TIMEOUT_MS (the deadline) fires a few milliseconds early, in curl's own clock.
    if (rc == CURLE_OPERATION_TIMEDOUT && context.has_deadline() &&
        context.clock().MonotonicNs() >= context.deadline_ns() - 100'000'000) {
      return Status::DeadlineExceeded(what + ": the deadline passed");
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) return Status::Cancelled(what + " interrupted");
    return MapCurlError(rc, error_buffer, what);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  if (transfer.destination == nullptr && status >= 200 && status < 300 && body_out != nullptr) {
    body_out->clear();  // a response without a body (HEAD, 204)
  }
  return response;
}

// "<Code>SlowDown</Code>" -> "SlowDown"; empty when absent.
std::string XmlElement(std::string_view body, std::string_view name) {
  const std::string open = "<" + std::string(name) + ">";
  const std::string close = "</" + std::string(name) + ">";
  const size_t begin = body.find(open);
  if (begin == std::string_view::npos) return "";
  const size_t from = begin + open.size();
  const size_t end = body.find(close, from);
  if (end == std::string_view::npos) return "";
  return std::string(body.substr(from, end - from));
}

// At most `limit` bytes of `text`, control characters replaced, on one line.
std::string Quote(std::string_view text, size_t limit) {
  text = Trim(text);
  std::string out;
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  }
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  if (GlobalInit() != CURLE_OK) return Status::Internal("curl_global_init failed");
  if (options.max_connections < 1) {
    return Status::InvalidArgument("HTTP client: max_connections must be at least 1");
  }
  if (!options.ca_file.empty()) {
    std::FILE* f = std::fopen(options.ca_file.c_str(), "r");
    if (f == nullptr) {
      return Status::InvalidArgument("cannot read the CA file " + options.ca_file +
                                     " given with -o " + options.ca_file_option + ": " +
                                     std::strerror(errno));
    }
    std::fclose(f);
  }
  auto client = std::make_unique<CurlHttpClient>(std::move(options));
  LB_RETURN_IF_ERROR(client->Init());
  return std::unique_ptr<HttpClient>(std::move(client));
}

Status HttpStatusError(const HttpResponse& response, std::string_view what) {
  const long status = response.status;
  if (status >= 200 && status < 300) return Status::Ok();
  std::string message = std::string(what) + ": HTTP " + std::to_string(status);
  if (!response.reason.empty()) message += " " + response.reason;
  const std::string_view body = AsString(response.body);
  const std::string code = XmlElement(body, "Code");
  if (!code.empty()) {
    message += ": " + Quote(code, 100);
    const std::string text = XmlElement(body, "Message");
    if (!text.empty()) message += ": " + Quote(text, 200);
  } else if (!Trim(body).empty()) {
    message += ": " + Quote(body, 300);
  }
  switch (status) {
    case 404:
      return Status::NotFound(std::move(message));
    case 401:
    case 403:
      return Status::PermissionDenied(std::move(message));
    case 412:
      return Status::FailedPrecondition(std::move(message));
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return Status::Unavailable(std::move(message));
    default:
      return Status::IOError(std::move(message));
  }
}

}  // namespace lifeboat
