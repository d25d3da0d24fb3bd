// HttpClient: the HTTP(S) transport the S3 and REST backends share, on libcurl (Debian's
// libcurl4-openssl-dev). It keeps a pool of connections to one server, streams request bodies
// from the caller's buffers (a pack is never copied to send it), reads response bodies into a
// caller's buffer, verifies TLS by default, and stops a request in flight when its context is
// done (noticed within about a second: curl's progress callback).
//
// Connections: each of at most max_connections curl handles keeps its connection alive between
// requests (a pool of handles, so 50 requests from 10 threads with max_connections 3 open 3
// connections); DNS answers and TLS sessions are shared by all handles.
//
//   HttpClientOptions o;
//   o.context = args.context;
//   o.max_connections = 16;
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, HttpClient::Create(o));
//   HttpRequest r;
//   r.method = "GET";
//   r.url = "http://127.0.0.1:8000/repo/data/01ab...";
//   r.headers = {{"Range", "bytes=0-99"}};
//   LB_ASSIGN_OR_RETURN(HttpResponse resp, http->Do(r, &buffer));
//   LB_RETURN_IF_ERROR(HttpStatusError(resp, "load pack 01ab..."));   // OK for 2xx
//
// HTTP status codes are not transport errors: Do returns the response whatever its status, and
// the caller decides what a 404 means (a missing object on Load, nothing on Remove...). Do fails
// only when no complete response arrived.
//
// Thread safety: Do may be called from any number of threads at once; at most max_connections
// requests are on the wire at a time, the others wait for a connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "util/bytes.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat {

struct HttpClientOptions {
  // Requests stop when it is done: Cancelled / DeadlineExceeded from Do.
  Context context = {};
  // Connections kept open to the server, and the most requests in flight at once.
  int max_connections = 8;
  // TLS: certificates are always verified against the system's CAs, or against this PEM bundle
  // when set (a private CA, a self-signed test server). There is no way to turn verification off.
  std::string ca_file;
  // The option that sets ca_file ("s3.ca-file", "rest.ca-file"): named in the error for a
  // certificate that failed verification, so that it says what to fix.
  std::string ca_file_option = "ca-file";
  // Basic authentication (REST servers); empty user: none. Never logged or put in messages.
  std::string user;
  std::string password;
  std::chrono::milliseconds connect_timeout{15000};
  // A request that moves fewer than `stall_bytes_per_second` for `stall_time` fails as stalled
  // (Unavailable, so the retry layer tries again).
  uint64_t stall_bytes_per_second = 1024;
  std::chrono::seconds stall_time{60};
  // Sent as User-Agent.
  std::string user_agent = "lifeboat";
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  // The full, already percent-encoded URL.
  std::string url;
  // Sent as given, in this order (names as given; HTTP names are case-insensitive).
  std::vector<std::pair<std::string, std::string>> headers;
  // The body, sent as the concatenation of the parts with a Content-Length; none when empty
  // (PUT and POST then send Content-Length: 0). The parts must stay valid until Do returns.
  ByteParts body;
  // When set, this request is bounded by it instead of HttpClientOptions::context (one client
  // shared by calls with deadlines of their own, e.g. etcd requests bounded by retry_timeout).
  // Must stay valid until Do returns.
  const Context* context = nullptr;
};

struct HttpResponse {
  long status = 0;  // 200, 404, ...
  std::string reason;  // the status line's reason phrase ("Not Found"); may be empty (HTTP/2)
  // Response headers, names lowercased, in arrival order (of the final response, not of
  // 100-continue or redirects).
  std::vector<std::pair<std::string, std::string>> headers;
  // The body when Do was given no buffer of its own. Error responses (status >= 300) always
  // land here, never in the caller's buffer, so that they can be quoted.
  Bytes body;

  // The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // InvalidArgument when ca_file does not exist or cannot be read.
  static Result<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);

  // Sends `request` and returns the response. A 2xx body goes into *body_out when it is given
  // (its contents are replaced and its memory reused), else into HttpResponse::body.
  // Errors (messages name the method and the URL without its query string or credentials):
  //  - Unavailable: connection refused or reset, DNS failure, timeout, a stalled transfer, a
  //    response cut short: the transient failures a retry may fix;
  //  - PermissionDenied: the server's TLS certificate failed verification (says so, and names
  //    the option HttpClientOptions::ca_file_option);
  //  - InvalidArgument: a malformed URL;
  //  - Cancelled / DeadlineExceeded: the context stopped the request.
  virtual Result<HttpResponse> Do(const HttpRequest& request, Bytes* body_out = nullptr) = 0;
};

// What a non-2xx response means for the call `what` ("load pack 01ab..."):
//   2xx -> OK; 404 -> NotFound; 401, 403 -> PermissionDenied; 412 -> FailedPrecondition;
//   408, 429, 500, 502, 503, 504 -> Unavailable (S3's SlowDown is a 503); anything else ->
//   IOError (permanent).
// The message names `what`, the status and reason, and quotes at most 300 bytes of the body
// (S3's <Code> and <Message> when it is an S3 error document).
Status HttpStatusError(const HttpResponse& response, std::string_view what);

}  // namespace lifeboat
