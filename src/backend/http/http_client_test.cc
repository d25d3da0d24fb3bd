// HttpClient against a real HTTP/1.1 server on 127.0.0.1: a small keep-alive server written with
// plain sockets in this file (so each test decides exactly what the server answers and counts
// what it sees), and `openssl s_server` for TLS.
#include "backend/http/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "util/mutex.h"

extern char** environ;

namespace lifeboat {
namespace {

struct ServerRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

struct ServerResponse {
  int status = 200;
  std::string reason = "OK";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Waits this long before answering (the request looks stalled to the client).
  std::chrono::milliseconds delay{0};
  // Sends the headers and the body in two writes, Nagle's algorithm on (as Ceph RGW's beast
  // frontend does): the body waits until the client acknowledges the headers.
  bool split_writes = false;
};

// A keep-alive HTTP/1.1 server on 127.0.0.1, one thread per connection, answering with `handler`.
class TestServer {
 public:
  using Handler = std::function<void(const ServerRequest&, ServerResponse*)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 64) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestServer() {
    stopping_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    close(listen_fd_);
    MutexLock lock(&mu_);
    for (int fd : connection_fds_) shutdown(fd, SHUT_RDWR);
    std::vector<std::thread> threads = std::move(threads_);
    lock.Unlock();
    for (std::thread& t : threads) t.join();
  }

  int port() const { return port_; }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  int connections_accepted() const { return accepted_; }
  int most_in_flight() const { return most_in_flight_; }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      ++accepted_;
      MutexLock lock(&mu_);
      connection_fds_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    char chunk[65536];
    while (!stopping_) {
      size_t end;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      ServerRequest request;
      std::string_view head(buffer.data(), end);
      size_t line_end = head.find("\r\n");
      std::string_view first = head.substr(0, line_end);
      request.method = std::string(first.substr(0, first.find(' ')));
      first.remove_prefix(first.find(' ') + 1);
      request.target = std::string(first.substr(0, first.find(' ')));
      while (line_end != std::string_view::npos) {
        head.remove_prefix(line_end + 2);
        line_end = head.find("\r\n");
        std::string_view line = head.substr(0, line_end);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string name(line.substr(0, colon));
        for (char& c : name) c = static_cast<char>(std::tolower(c));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        request.headers[name] = std::string(value);
      }
      buffer.erase(0, end + 4);
      size_t length = 0;
      if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
        length = std::stoul(it->second);
      }
      while (buffer.size() < length) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      request.body = buffer.substr(0, length);
      buffer.erase(0, length);

      const int now = ++in_flight_;
      int seen = most_in_flight_;
      while (now > seen && !most_in_flight_.compare_exchange_weak(seen, now)) {
      }
      ServerResponse response;
      handler_(request, &response);
      for (auto waited = std::chrono::milliseconds(0); waited < response.delay && !stopping_;
           waited += std::chrono::milliseconds(10)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      --in_flight_;
      std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + response.reason +
                        "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n";
      for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
      out += "\r\n";
      if (response.split_writes) {
        if (!SendAll(fd, out)) return;
        out.clear();
      }
      if (request.method != "HEAD") out += response.body;
      if (!out.empty() && !SendAll(fd, out)) return;
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> most_in_flight_{0};
  std::thread accept_thread_;
  Mutex mu_;
  std::vector<int> connection_fds_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_ GUARDED_BY(mu_);
};

std::unique_ptr<HttpClient> MakeClient(HttpClientOptions options = {}) {
  Result<std::unique_ptr<HttpClient>> client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return std::move(client).value();
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

// A port nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(HttpClientTest, StreamsAMultiPartBodyWithoutExpectContinue) {
  Mutex mu;
  std::vector<ServerRequest> seen;
  TestServer server([&](const ServerRequest& r, ServerResponse* out) {
    MutexLock lock(&mu);
    seen.push_back(r);
    out->status = 201;
    out->reason = "Created";
    out->headers = {{"X-Echo-Length", std::to_string(r.body.size())}};
  });
  std::unique_ptr<HttpClient> http = MakeClient();
  const std::string big = Pattern(3 << 20);
  const std::vector<ByteView> parts = {AsBytes("head-"), AsBytes(""), AsBytes(big),
                                       AsBytes("-tail")};
  for (std::string method : {"PUT", "POST"}) {
    HttpRequest request;
    request.method = method;
    request.url = server.Url("/objects/one");
    request.headers = {{"Content-Type", "application/octet-stream"}};
    request.body = parts;
    Result<HttpResponse> response = http->Do(request);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 201);
    EXPECT_EQ(response->reason, "Created");
    EXPECT_EQ(response->Header("x-echo-length"), std::to_string(big.size() + 10));
    EXPECT_EQ(response->Header("X-ECHO-LENGTH"), std::to_string(big.size() + 10));
    EXPECT_TRUE(HttpStatusError(*response, "save").ok());
  }
  // An empty body is sent as Content-Length: 0.
  HttpRequest empty;
  empty.method = "POST";
  empty.url = server.Url("/?create=true");
  ASSERT_TRUE(http->Do(empty).ok());

  MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(seen[i].method, i == 0 ? "PUT" : "POST");
    EXPECT_EQ(seen[i].body, "head-" + big + "-tail");
    EXPECT_EQ(seen[i].headers.count("expect"), 0u) << "Expect: 100-continue costs a round trip";
    EXPECT_EQ(seen[i].headers["content-type"], "application/octet-stream");
  }
  EXPECT_EQ(seen[2].target, "/?create=true");
  EXPECT_EQ(seen[2].headers["content-length"], "0");
  // All of it on one kept-alive connection.
  EXPECT_EQ(server.connections_accepted(), 1);
}

// Serves a fixed object with Range support ("bytes=A-B" and "bytes=A-").
void ServeObject(const std::string& object, const ServerRequest& r, ServerResponse* out) {
  if (r.target != "/object") {
    out->status = 404;
    out->reason = "Not Found";
    out->body = "no such object\n";
    return;
  }
  auto it = r.headers.find("range");
  if (it == r.headers.end()) {
    out->body = object;
    return;
  }
  const std::string& range = it->second;  // bytes=A-B
  const size_t dash = range.find('-');
  const size_t from = std::stoul(range.substr(6, dash - 6));
  size_t to = object.size() - 1;
  if (dash + 1 < range.size()) to = std::min(to, std::stoul(range.substr(dash + 1)));
  out->status = 206;
  out->reason = "Partial Content";
  out->body = object.substr(from, to - from + 1);
}

TEST(HttpClientTest, RangedGetsReuseTheCallersBuffer) {
  const std::string object = Pattern(1 << 20);
  TestServer server([&](const ServerRequest& r, ServerResponse* out) { ServeObject(object, r, out); });
  std::unique_ptr<HttpClient> http = MakeClient();
  Bytes buffer;
  buffer.reserve(2 << 20);
  const uint8_t* const memory = buffer.data();
  HttpRequest request;
  request.url = server.Url("/object");
  for (auto [from, to] : {std::pair{0, 99}, {1000, 300000}, {(1 << 20) - 10, (1 << 20) - 1}}) {
    request.headers = {{"Range", "bytes=" + std::to_string(from) + "-" + std::to_string(to)}};
    Result<HttpResponse> response = http->Do(request, &buffer);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 206);
    EXPECT_TRUE(response->body.empty());
    EXPECT_EQ(AsString(buffer), object.substr(from, to - from + 1));
    EXPECT_EQ(buffer.data(), memory) << "the buffer's memory is reused";
  }
  // The whole object, into a buffer that holds something else first.
  request.headers.clear();
  Bytes whole = {1, 2, 3};
  ASSERT_TRUE(http->Do(request, &whole).ok());
  EXPECT_EQ(AsString(whole), object);
  EXPECT_GE(whole.capacity(), object.size());

  // HEAD: headers only; the caller's buffer is emptied.
  request.method = "HEAD";
  Result<HttpResponse> head = http->Do(request, &whole);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->Header("content-length"), std::to_string(object.size()));
  EXPECT_TRUE(whole.empty());

  // An error response never lands in the caller's buffer.
  request.method = "GET";
  request.url = server.Url("/missing");
  buffer.assign({9, 9});
  Result<HttpResponse> missing = http->Do(request, &buffer);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(AsString(missing->body), "no such object\n");
  EXPECT_EQ(buffer, Bytes({9, 9}));
  EXPECT_EQ(server.connections_accepted(), 1);
}

// A server that writes headers and body apart with Nagle on holds the body until the headers
// are acknowledged; the kernel delays that acknowledgement by 40 ms for a client that has just
// sent a request on a reused connection, unless the client acknowledges at once (TCP_QUICKACK).
// Without it, 20 small GETs took 20 x 44 ms here.
TEST(HttpClientTest, SmallResponsesWrittenInTwoPiecesAreNotDelayedByDelayedAcks) {
  TestServer server([](const ServerRequest&, ServerResponse* r) {
    r->body = "a small body";
    r->split_writes = true;
  });
  HttpClientOptions options;
  options.max_connections = 1;
  std::unique_ptr<HttpClient> client = MakeClient(options);
  HttpRequest request;
  request.url = server.Url("/small");
  ASSERT_TRUE(client->Do(request).ok());  // connects (a new connection acknowledges at once)
  constexpr int kRequests = 20;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    Result<HttpResponse> r = client->Do(request);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(AsString(r->body), "a small body");
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(server.connections_accepted(), 1);
  // 40 ms each when delayed; well under on loopback otherwise, even on a busy machine.
  EXPECT_LT(elapsed, kRequests * std::chrono::milliseconds(15))
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
}

TEST(HttpClientTest, StatusErrorsMapToCodes) {
  TestServer server([](const ServerRequest& r, ServerResponse* out) {
    out->status = std::stoi(r.target.substr(1));
    out->reason = "Reason";
    if (out->status == 503) {
      out->body =
          "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your "
          "request rate.</Message></Error>";
    } else {
      out->body = std::string(1000, 'x');
    }
  });
  std::unique_ptr<HttpClient> http = MakeClient();
  const std::map<int, StatusCode> expected = {
      {200, StatusCode::kOk},          {204, StatusCode::kOk},
      {404, StatusCode::kNotFound},    {401, StatusCode::kPermissionDenied},
      {403, StatusCode::kPermissionDenied}, {412, StatusCode::kFailedPrecondition},
      {408, StatusCode::kUnavailable}, {429, StatusCode::kUnavailable},
      {500, StatusCode::kUnavailable}, {502, StatusCode::kUnavailable},
      {503, StatusCode::kUnavailable}, {504, StatusCode::kUnavailable},
      {400, StatusCode::kIOError},     {409, StatusCode::kIOError},
      {301, StatusCode::kIOError},
  };
  for (const auto& [code, status_code] : expected) {
    HttpRequest request;
    request.url = server.Url("/" + std::to_string(code));
    Result<HttpResponse> response = http->Do(request);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, code);
    Status st = HttpStatusError(*response, "load pack 01ab");
    EXPECT_EQ(st.code(), status_code) << code << ": " << st.ToString();
    if (!st.ok()) {
      EXPECT_NE(st.message().find("load pack 01ab: HTTP " + std::to_string(code) + " Reason"),
                std::string::npos)
          << st.message();
      EXPECT_LT(st.message().size(), 400u) << "the body is quoted, not copied";
    }
    if (code == 503) {
      EXPECT_NE(st.message().find("SlowDown: Please reduce your request rate."),
                std::string::npos)
          << st.message();
    }
  }
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableAndMessagesHoldNoSecrets) {
  HttpClientOptions options;
  options.user = "alice";
  options.password = "s3cr3t-pass";
  std::unique_ptr<HttpClient> http = MakeClient(options);
  HttpRequest request;
  request.url = "http://alice:s3cr3t-pass@127.0.0.1:" + std::to_string(ClosedPort()) +
                "/repo/data/ab?X-Amz-Signature=topsecret";
  Result<HttpResponse> response = http->Do(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
  const std::string message = response.status().message();
  EXPECT_NE(message.find("GET http://127.0.0.1:"), std::string::npos) << message;
  EXPECT_NE(message.find("/repo/data/ab"), std::string::npos) << message;
  EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
  EXPECT_EQ(message.find("topsecret"), std::string::npos) << message;
  EXPECT_EQ(message.find("X-Amz"), std::string::npos) << message;
}

TEST(HttpClientTest, MalformedUrlAndMissingCaFileAreInvalidArgument) {
  std::unique_ptr<HttpClient> http = MakeClient();
  HttpRequest request;
  request.url = "http://[::1";
  Result<HttpResponse> response = http->Do(request);
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument)
      << response.status().ToString();
  request.url = "ftp://127.0.0.1/x";
  EXPECT_EQ(http->Do(request).status().code(), StatusCode::kInvalidArgument);

  HttpClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  options.ca_file_option = "rest.ca-file";
  Result<std::unique_ptr<HttpClient>> bad = HttpClient::Create(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("rest.ca-file"), std::string::npos);
}

TEST(HttpClientTest, CancellingTheContextStopsASlowResponse) {
  TestServer server([](const ServerRequest&, ServerResponse* out) {
    out->delay = std::chrono::seconds(20);
  });
  std::atomic<bool> cancel{false};
  HttpClientOptions options;
  options.context = Context().WithCancel(&cancel);
  std::unique_ptr<HttpClient> http = MakeClient(options);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  HttpRequest request;
  request.url = server.Url("/slow");
  Result<HttpResponse> response = http->Do(request);
  const auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(response.status().code(), StatusCode::kCancelled) << response.status().ToString();
  EXPECT_LT(took, std::chrono::seconds(5));
  // A cancelled context stops requests before they start.
  EXPECT_EQ(http->Do(request).status().code(), StatusCode::kCancelled);
}

TEST(HttpClientTest, DeadlineStopsASlowResponse) {
  TestServer server([](const ServerRequest&, ServerResponse* out) {
    out->delay = std::chrono::seconds(20);
  });
  HttpClientOptions options;
  options.context = Context().WithTimeout(std::chrono::milliseconds(300));
  std::unique_ptr<HttpClient> http = MakeClient(options);
  HttpRequest request;
  request.url = server.Url("/slow");
  const auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> response = http->Do(request);
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded)
      << response.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpClientTest, APerRequestContextBoundsThatRequestOnly) {
  TestServer server([](const ServerRequest& in, ServerResponse* out) {
    if (in.target == "/slow") out->delay = std::chrono::seconds(20);
  });
  std::unique_ptr<HttpClient> http = MakeClient(HttpClientOptions{});
  const Context bounded = Context().WithTimeout(std::chrono::milliseconds(300));
  HttpRequest request;
  request.url = server.Url("/slow");
  request.context = &bounded;
  const auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> response = http->Do(request);
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded)
      << response.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The client's own context (none) still governs the others.
  HttpRequest fast;
  fast.url = server.Url("/fast");
  Result<HttpResponse> ok = http->Do(fast);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
}

TEST(HttpClientTest, AStalledResponseIsUnavailable) {
  TestServer server([](const ServerRequest&, ServerResponse* out) {
    out->delay = std::chrono::seconds(20);
  });
  HttpClientOptions options;
  options.stall_bytes_per_second = 1;
  options.stall_time = std::chrono::seconds(1);
  std::unique_ptr<HttpClient> http = MakeClient(options);
  HttpRequest request;
  request.url = server.Url("/stalls");
  Result<HttpResponse> response = http->Do(request);
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status().ToString();
}

TEST(HttpClientTest, AtMostMaxConnectionsRequestsInFlightOnReusedConnections) {
  TestServer server([](const ServerRequest&, ServerResponse* out) {
    out->delay = std::chrono::milliseconds(50);
    out->body = "ok";
  });
  HttpClientOptions options;
  options.max_connections = 3;
  std::unique_ptr<HttpClient> http = MakeClient(options);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        HttpRequest request;
        request.url = server.Url("/x");
        Result<HttpResponse> response = http->Do(request);
        if (!response.ok() || response->status != 200 || AsString(response->body) != "ok") {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(server.most_in_flight(), 3);
  EXPECT_LE(server.connections_accepted(), 3) << "50 requests on at most 3 kept-alive connections";
}

// TLS against `openssl s_server` with a self-signed certificate for 127.0.0.1.
class TlsServer {
 public:
  explicit TlsServer(const std::filesystem::path& dir) : dir_(dir) {
    cert_ = (dir / "cert.pem").string();
    const std::string key = (dir / "key.pem").string();
    const std::string make_cert = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
                                  "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                                  key + " -out " + cert_ + " >/dev/null 2>&1";
    if (std::system(make_cert.c_str()) != 0) {
      ADD_FAILURE() << "openssl req failed";
      return;
    }
    port_ = ClosedPort();
    const std::string accept = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args = {"openssl", "s_server", "-quiet", "-www", "-accept", accept,
                                     "-cert",   cert_,      "-key",   key};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    // Wait until it accepts connections.
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      const bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      close(fd);
      if (up) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "openssl s_server did not come up";
  }
  ~TlsServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string Url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
  const std::string& cert() const { return cert_; }

 private:
  std::filesystem::path dir_;
  std::string cert_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(HttpClientTest, TlsIsVerifiedAgainstTheSystemCasOrTheGivenCaFile) {
  char dir_template[] = "/tmp/http_client_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  {
    TlsServer server(dir);
    HttpRequest request;
    request.url = server.Url();

    HttpClientOptions options;
    options.ca_file_option = "rest.ca-file";
    Result<HttpResponse> untrusted = MakeClient(options)->Do(request);
    ASSERT_FALSE(untrusted.ok());
    EXPECT_EQ(untrusted.status().code(), StatusCode::kPermissionDenied)
        << untrusted.status().ToString();
    EXPECT_NE(untrusted.status().message().find("-o rest.ca-file="), std::string::npos)
        << untrusted.status().message();

    options.ca_file = server.cert();
    Result<HttpResponse> trusted = MakeClient(options)->Do(request);
    ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
    EXPECT_EQ(trusted->status, 200);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat
