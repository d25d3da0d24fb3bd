// The daemon's dashboard and API over HTTP(S) (doc/daemon.md, "Dashboard and API"), on
// cpp-httplib: GET / (the HTML page), GET /metrics (Prometheus), GET /api/v1/status (JSON), and
// the operations POST /api/v1/failover, /api/v1/failover/commit, /api/v1/failover/rollback.
// Every answer is built from a DashboardState the `state` callback returns for that request;
// every operation calls its callback in `operations` (501 when the process has none).
//
//   ServerOptions o;
//   o.listen = "127.0.0.1:0";                          // port 0: a free one
//   o.state = [&] { return daemon.DashboardSnapshot(); };
//   Server server(std::move(o));
//   LB_RETURN_IF_ERROR(server.Start());                 // bound: server.port()
//   ...
//   server.Stop();                                      // or let the destructor stop it
//
// Access (doc/daemon.md, "Access"): with a read token every request needs it (or the operate
// token) as `Authorization: Bearer TOKEN` (401 otherwise); operations need the operate token
// (401 without a valid token, 403 with the read token, 403 when no operate token is set). Bound
// to an address that is not loopback, Start refuses to serve without TLS and a read token.
// Without a read token, only requests whose Host is a loopback name or address are answered
// (403 otherwise: a web page cannot reach the unauthenticated dashboard by DNS rebinding).
//
// Threads: Start binds, then serves on a thread of its own, with a fixed pool of
// `threads` workers (a connection waits for a free worker); each read and write of a request is
// bounded by `io_timeout`, an idle kept-alive connection by `keep_alive`. The callbacks run on
// the workers, several at once: they must be thread-safe. Start, Stop and port may be called
// from any thread except a callback's (Stop waits for the workers). Start and Stop block
// (binding; Stop until running requests ended).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "dashboard/auth.h"
#include "dashboard/requests.h"
#include "dashboard/state.h"
#include "util/mutex.h"
#include "util/status.h"

namespace httplib {
class Server;
}

namespace lifeboat::dashboard {

// The operations the API can start; an unset one answers 501 ("not available in this
// process"). Each returns the JSON body of a 200 answer, or an error the client is shown
// (InvalidArgument 400, NotFound 404, FailedPrecondition / AlreadyExists / Locked 409,
// PermissionDenied 403, Unavailable / Cancelled 503, DeadlineExceeded 504, else 500). A
// failover takes minutes: the callback should start it and answer at once (with the incident's
// id), not wait for it; the server does not limit how long a callback runs.
struct Operations {
  std::function<Result<nlohmann::ordered_json>(const FailoverRequest&)> failover;
  std::function<Result<nlohmann::ordered_json>(const IncidentRequest&)> commit;
  std::function<Result<nlohmann::ordered_json>(const IncidentRequest&)> rollback;
};

struct ServerOptions {
  // HOST:PORT ("127.0.0.1:8470", "[::1]:8470", "0.0.0.0:8470"); port 0 picks a free port.
  std::string listen = "127.0.0.1:8470";
  // PEM files: both set, HTTPS; both empty, HTTP.
  std::string tls_cert_file, tls_key_file;
  // The tokens themselves (already read from the plan's daemon.token / daemon.operate_token).
  Tokens tokens;
  // The state of each request. Required; thread-safe. An error answers 503 with its message.
  std::function<Result<DashboardState>()> state;
  Operations operations;
  size_t threads = 8;
  std::chrono::seconds io_timeout{10};
  std::chrono::seconds keep_alive{5};
  size_t max_body_bytes = 64 * 1024;  // larger request bodies are refused (413)
  int refresh_seconds = 30;           // the HTML page reloads itself this often
  // One line per refused request, failed state and operation (no token is ever in it); unset:
  // nothing is logged.
  std::function<void(const std::string&)> log;
};

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
};
// "HOST:PORT" or "[IPV6]:PORT", port 0..65535: InvalidArgument saying the form otherwise.
Result<ListenAddress> ParseListenAddress(std::string_view text);
// 127.0.0.0/8, ::1, "localhost" (any case). Anything else (0.0.0.0, ::, a host name) is not.
bool IsLoopbackHost(std::string_view host);
// The rule of the header: InvalidArgument naming daemon.tls_cert_file, daemon.tls_key_file and
// daemon.token when `options` would serve a non-loopback address without TLS and a read token;
// also a bad listen address, one TLS file without the other, or no state callback.
Status CheckServerOptions(const ServerOptions& options);

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Checks the options (CheckServerOptions), loads the certificate (InvalidArgument naming the
  // file when it cannot), binds (Unavailable naming the address when it cannot: in use, not
  // ours) and starts serving. FailedPrecondition when already started.
  Status Start();
  // Stops accepting, waits for the running requests, joins the threads. Idempotent.
  void Stop();
  // The bound port (0 before Start succeeded).
  int port() const;
  // "http://127.0.0.1:PORT" or "https://...": where it serves.
  std::string url() const;

 private:
  const ServerOptions options_;
  mutable Mutex mu_;
  std::unique_ptr<httplib::Server> http_ GUARDED_BY(mu_);
  std::thread thread_ GUARDED_BY(mu_);
  int port_ GUARDED_BY(mu_) = 0;
  bool started_ GUARDED_BY(mu_) = false;
};

}  // namespace lifeboat::dashboard
