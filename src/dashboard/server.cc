#include "dashboard/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <cstring>

#include "dashboard/api_json.h"
#include "dashboard/metrics.h"
#include "dashboard/page.h"

namespace lifeboat::dashboard {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kJsonType = "application/json";
// The page is self-contained: nothing may be loaded, no script may run, even if some text
// escaped the escaping.
constexpr const char* kPagePolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

void Error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(Dump(json{{"error", message}}), kJsonType);
}

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
    case StatusCode::kLocked:
      return 409;
    case StatusCode::kUnavailable:
    case StatusCode::kCancelled:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

// The host of a Host header ("127.0.0.1:8470", "[::1]:8470", "localhost").
std::string HostOfHeader(std::string_view h) {
  if (!h.empty() && h.front() == '[') {
    const size_t end = h.find(']');
    return std::string(h.substr(1, end == std::string_view::npos ? end : end - 1));
  }
  return std::string(h.substr(0, h.find(':')));
}

bool IsOperation(const httplib::Request& req) {
  return req.method != "GET" && req.method != "HEAD";
}

// Access (server.h): true when the request may go on; else the answer is set.
bool Admit(const ServerOptions& o, const httplib::Request& req, httplib::Response& res) {
  auto refuse = [&](int status, const std::string& why) {
    if (status == 401) {
      res.set_header("WWW-Authenticate", "Bearer realm=\"lifeboat\"");
      res.set_header("WWW-Authenticate", "Basic realm=\"lifeboat\", charset=\"UTF-8\"");
    }
    Error(res, status, why);
    if (o.log)
      o.log("dashboard: refused " + req.method + " " + req.path + " from " + req.remote_addr +
            " (" + std::to_string(status) + "): " + why);
    return false;
  };
  const Role role = RoleOf(req.get_header_value("Authorization"), o.tokens);
  const bool has_header = req.has_header("Authorization");
  if (!o.tokens.read.empty()) {
    if (role == Role::kNone)
      return refuse(401, has_header ? "the token is not valid"
                                    : "this dashboard needs a token: send Authorization: Bearer "
                                      "TOKEN (the plan's daemon.token)");
  } else if (!IsLoopbackHost(HostOfHeader(req.get_header_value("Host")))) {
    return refuse(403,
                  "without a read token (daemon.token) only loopback names are served; "
                  "open it as 127.0.0.1 or localhost, or set daemon.token");
  }
  if (!IsOperation(req)) return true;
  if (o.tokens.operate.empty())
    return refuse(403, "operations are disabled: the plan sets no daemon.operate_token");
  if (role == Role::kOperate) return true;
  if (role == Role::kRead)
    return refuse(403,
                  "this token may only read: operations need the operate token "
                  "(daemon.operate_token) as Authorization: Bearer TOKEN");
  return refuse(401, has_header ? "the token is not valid"
                                : "operations need Authorization: Bearer TOKEN (the plan's "
                                  "daemon.operate_token)");
}

// Runs an operation: checks the body's type, parses it, calls the callback.
template <typename Request, typename Callback>
void Operate(const ServerOptions& o, const char* what, const httplib::Request& req,
             httplib::Response& res, Result<Request> (*parse)(std::string_view),
             const Callback& callback) {
  if (!callback) {
    Error(res, 501,
          std::string(what) +
              " is not available in this process (only the daemon "
              "serves operations)");
    return;
  }
  if (!req.body.empty() && req.get_header_value("Content-Type").rfind(kJsonType, 0) != 0) {
    Error(res, 415, "send the body as Content-Type: application/json");
    return;
  }
  Result<Request> parsed = parse(req.body);
  if (!parsed.ok()) {
    Error(res, 400, parsed.status().message());
    return;
  }
  parsed->requested_by = "API client " + req.remote_addr;
  if (o.log) o.log("dashboard: " + std::string(what) + " requested by " + parsed->requested_by);
  Result<json> answer = callback(*parsed);
  if (!answer.ok()) {
    res.status = HttpStatusOf(answer.status().code());
    res.set_content(Dump(json{{"error", answer.status().message()},
                              {"code", std::string(StatusCodeName(answer.status().code()))}}),
                    kJsonType);
    if (o.log) o.log("dashboard: " + std::string(what) + " failed: " + answer.status().ToString());
    return;
  }
  res.set_content(Dump(*answer), kJsonType);
}

void Install(httplib::Server& http, const ServerOptions& o) {
  http.set_default_headers({{"Cache-Control", "no-store"},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"}});
  http.set_pre_routing_handler([&o](const httplib::Request& req, httplib::Response& res) {
    return Admit(o, req, res) ? httplib::Server::HandlerResponse::Unhandled
                              : httplib::Server::HandlerResponse::Handled;
  });
  // Called for every answer >= 400: fills only those that have no body yet (404, 413, ...).
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string why = "HTTP " + std::to_string(res.status);
        if (res.status == 404)
          why = "no such page: " + req.path + " (there are /, /metrics, /api/v1/status)";
        else if (res.status == 413)
          why = "the request body is too large";
        Error(res, res.status, why);
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [&o](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        if (o.log) o.log("dashboard: internal error: " + what);
        Error(res, 500, "internal error: " + what);
      });
  // The state of this request, or the answer saying why there is none.
  auto state = [&o](httplib::Response& res) -> std::optional<DashboardState> {
    Result<DashboardState> s = o.state();
    if (!s.ok()) {
      Error(res, 503, "no state to show: " + s.status().ToString());
      if (o.log) o.log("dashboard: no state: " + s.status().ToString());
      return std::nullopt;
    }
    return std::move(*s);
  };
  http.Get("/", [&o, state](const httplib::Request&, httplib::Response& res) {
    if (std::optional<DashboardState> s = state(res)) {
      res.set_header("Content-Security-Policy", kPagePolicy);
      res.set_header("X-Frame-Options", "DENY");
      res.set_content(DashboardHtml(*s, o.refresh_seconds), "text/html; charset=utf-8");
    }
  });
  http.Get("/metrics", [state](const httplib::Request&, httplib::Response& res) {
    if (std::optional<DashboardState> s = state(res))
      res.set_content(DashboardMetrics(*s), "text/plain; version=0.0.4; charset=utf-8");
  });
  http.Get("/api/v1/status", [state](const httplib::Request&, httplib::Response& res) {
    if (std::optional<DashboardState> s = state(res))
      res.set_content(Dump(DashboardJson(*s)), kJsonType);
  });
  http.Post("/api/v1/failover", [&o](const httplib::Request& req, httplib::Response& res) {
    Operate(o, "failover", req, res, &ParseFailoverRequest, o.operations.failover);
  });
  http.Post("/api/v1/failover/commit", [&o](const httplib::Request& req, httplib::Response& res) {
    Operate(o, "failover commit", req, res, &ParseIncidentRequest, o.operations.commit);
  });
  http.Post("/api/v1/failover/rollback", [&o](const httplib::Request& req, httplib::Response& res) {
    Operate(o, "failover rollback", req, res, &ParseIncidentRequest, o.operations.rollback);
  });
}

bool Readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

}  // namespace

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("listen address \"" + std::string(text) +
                                   "\" is not HOST:PORT (e.g. 127.0.0.1:8470, [::1]:8470, "
                                   "0.0.0.0:8470; port 0 picks a free one)");
  };
  ListenAddress a;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t end = text.find(']');
    if (end == std::string_view::npos || end + 1 >= text.size() || text[end + 1] != ':')
      return bad();
    a.host = std::string(text.substr(1, end - 1));
    port = text.substr(end + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad();
    a.host = std::string(text.substr(0, colon));
    if (a.host.find(':') != std::string::npos) return bad();  // IPv6 needs brackets
    port = text.substr(colon + 1);
  }
  if (a.host.empty() || port.empty() || port.size() > 5) return bad();
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (ec != std::errc() || end != port.data() + port.size() || a.port < 0 || a.port > 65535)
    return bad();
  return a;
}

bool IsLoopbackHost(std::string_view host) {
  std::string h;
  for (char c : host) h += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
  // 127.0.0.0/8 written as a dotted quad.
  if (h.rfind("127.", 0) != 0) return false;
  int parts = 0;
  size_t i = 0;
  while (i <= h.size()) {
    const size_t dot = std::min(h.find('.', i), h.size());
    std::string_view part(h.data() + i, dot - i);
    int v = -1;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || part.size() > 3 || ec != std::errc() || end != part.data() + part.size() ||
        v > 255)
      return false;
    ++parts;
    i = dot + 1;
  }
  return parts == 4;
}

Status CheckServerOptions(const ServerOptions& o) {
  LB_ASSIGN_OR_RETURN(ListenAddress a, ParseListenAddress(o.listen));
  if (!o.state) return Status::InvalidArgument("the dashboard has no state callback");
  if (o.tls_cert_file.empty() != o.tls_key_file.empty())
    return Status::InvalidArgument(
        "TLS needs both daemon.tls_cert_file and daemon.tls_key_file (one is set)");
  if (!IsLoopbackHost(a.host)) {
    std::vector<std::string> missing;
    if (o.tls_cert_file.empty()) missing.push_back("daemon.tls_cert_file");
    if (o.tls_key_file.empty()) missing.push_back("daemon.tls_key_file");
    if (o.tokens.read.empty()) missing.push_back("daemon.token");
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i)
        list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
      return Status::InvalidArgument(
          "refusing to serve the dashboard on " + o.listen +
          ", which is not a loopback address, without TLS and a read token: set " + list +
          " (or listen on 127.0.0.1)");
    }
  }
  return Status::Ok();
}

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  LB_RETURN_IF_ERROR(CheckServerOptions(options_));
  LB_ASSIGN_OR_RETURN(ListenAddress a, ParseListenAddress(options_.listen));
  MutexLock lock(&mu_);
  if (started_) return Status::FailedPrecondition("the dashboard is already started");
  std::unique_ptr<httplib::Server> http;
  if (!options_.tls_cert_file.empty()) {
    for (const std::string* f : {&options_.tls_cert_file, &options_.tls_key_file})
      if (!Readable(*f))
        return Status::InvalidArgument(
            "cannot read " + *f + " (daemon." +
            (f == &options_.tls_cert_file ? "tls_cert_file" : "tls_key_file") +
            "): " + strerror(errno));
    auto tls = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                    options_.tls_key_file.c_str());
    if (!tls->is_valid())
      return Status::InvalidArgument(
          "cannot use " + options_.tls_cert_file + " and " + options_.tls_key_file +
          " as TLS certificate and key (daemon.tls_cert_file, daemon.tls_key_file): they must "
          "be PEM files, the key without a passphrase and matching the certificate");
    http = std::move(tls);
  } else {
    http = std::make_unique<httplib::Server>();
  }
  const size_t threads = std::max<size_t>(1, options_.threads);
  http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http->set_read_timeout(options_.io_timeout.count(), 0);
  http->set_write_timeout(options_.io_timeout.count(), 0);
  http->set_keep_alive_timeout(options_.keep_alive.count());
  http->set_keep_alive_max_count(100);
  http->set_payload_max_length(options_.max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, with which a second daemon would bind the same
  // port and share its connections: only SO_REUSEADDR (a restart need not wait for TIME_WAIT).
  http->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  Install(*http, options_);

  const int port = a.port == 0                          ? http->bind_to_any_port(a.host)
                   : http->bind_to_port(a.host, a.port) ? a.port
                                                        : -1;
  if (port <= 0)
    return Status::Unavailable("cannot listen on " + options_.listen +
                               ": the port is in use or the address is not one of this "
                               "machine's (daemon.listen, --listen)");
  httplib::Server* raw = http.get();
  auto ended = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([raw, ended] {
    raw->listen_after_bind();
    ended->store(true);
  });
  // Stop() before the thread began listening would be lost (httplib's stop() acts only on a
  // running server): wait until it runs (or ended at once).
  while (!raw->is_running() && !ended->load())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (ended->load()) {
    thread_.join();
    return Status::Unavailable("the dashboard on " + options_.listen + " stopped at once");
  }
  http_ = std::move(http);
  port_ = port;
  started_ = true;
  return Status::Ok();
}

void Server::Stop() {
  MutexLock lock(&mu_);
  if (!started_) return;
  http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
  started_ = false;
  port_ = 0;
}

int Server::port() const {
  MutexLock lock(&mu_);
  return port_;
}

std::string Server::url() const {
  MutexLock lock(&mu_);
  Result<ListenAddress> a = ParseListenAddress(options_.listen);
  std::string host = a.ok() ? a->host : "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(options_.tls_cert_file.empty() ? "http" : "https") + "://" + host + ":" +
         std::to_string(port_);
}

}  // namespace lifeboat::dashboard
