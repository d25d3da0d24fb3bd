// The dashboard served on a free loopback port and asked with httplib's client: the access
// matrix, the operations, TLS with a certificate made by `openssl req` here, refusals.
#include "dashboard/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "dashboard/sample_state.h"

namespace lifeboat::dashboard {
namespace {

using json = nlohmann::ordered_json;

ServerOptions Options(std::string read, std::string operate) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tokens = {std::move(read), std::move(operate)};
  o.state = [] { return SampleDashboardState(true); };
  o.threads = 2;
  return o;
}

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

int Get(Server& s, const std::string& path, const httplib::Headers& h = {}) {
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result r = c.Get(path, h);
  return r ? r->status : -1;
}

int Post(Server& s, const std::string& path, const httplib::Headers& h,
         const std::string& body = "{}", std::string* answer = nullptr) {
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result r = c.Post(path, h, body, "application/json");
  if (r && answer) *answer = r->body;
  return r ? r->status : -1;
}

TEST(DashboardServerTest, ServesThePagesOnAFreePort) {
  Server s(Options("", ""));
  ASSERT_TRUE(s.Start().ok());
  ASSERT_GT(s.port(), 0);
  EXPECT_EQ(s.url(), "http://127.0.0.1:" + std::to_string(s.port()));
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_EQ(page->body.find("<script"), std::string::npos);
  EXPECT_NE(page->body.find("&lt;script&gt;console.error(&quot;injected from an error"),
            std::string::npos);
  httplib::Result metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("text/plain; version=0.0.4"),
            std::string::npos);
  EXPECT_NE(metrics->body.find("lifeboat_failover_state{state=\"open\"} 1"), std::string::npos);
  httplib::Result status = c.Get("/api/v1/status");
  ASSERT_TRUE(status);
  const json j = json::parse(status->body);
  EXPECT_EQ(j["incident"]["to"], "dr-site");
  EXPECT_EQ(j["daemon"]["health"][1]["last_error"], kSampleHostileError);
  httplib::Result missing = c.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("no such page: /nothing"), std::string::npos);
  s.Stop();
  EXPECT_EQ(s.port(), 0);
  s.Stop();  // idempotent
}

TEST(DashboardServerTest, AccessMatrix) {
  struct Case {
    std::string read, operate;  // configured
    std::string header;         // the Authorization header sent ("" none)
    int get, post;              // expected answers to GET /api/v1/status and POST commit
  };
  const std::string basic_read = "Basic " + std::string("dXNlcjpyZWFkLXRva2Vu");  // user:read-token
  const std::string basic_operate = "Basic dXNlcjpvcGVyYXRlLXRva2Vu";  // user:operate-token
  const Case cases[] = {
      // No token configured: anyone on loopback reads; nobody operates.
      {"", "", "", 200, 403},
      {"", "", "Bearer anything", 200, 403},
      // Read token only.
      {"read-token", "", "", 401, 401},
      {"read-token", "", "Bearer wrong", 401, 401},
      {"read-token", "", "Bearer read-token", 200, 403},
      {"read-token", "", basic_read, 200, 403},
      {"read-token", "", "Token read-token", 401, 401},
      // Both tokens.
      {"read-token", "operate-token", "", 401, 401},
      {"read-token", "operate-token", "Bearer wrong", 401, 401},
      {"read-token", "operate-token", "Bearer read-token", 200, 403},
      {"read-token", "operate-token", "Bearer operate-token", 200, 200},
      {"read-token", "operate-token", "bearer  operate-token ", 200, 200},
      {"read-token", "operate-token", basic_operate, 200, 403},  // Basic never operates
      {"read-token", "operate-token", "Bearer operate-token-and-more", 401, 401},
      // Operate token only: reading is open, operating needs it.
      {"", "operate-token", "", 200, 401},
      {"", "operate-token", "Bearer wrong", 200, 401},
      {"", "operate-token", "Bearer operate-token", 200, 200},
  };
  for (const Case& c : cases) {
    ServerOptions o = Options(c.read, c.operate);
    o.operations.commit = [](const IncidentRequest& r) -> Result<json> {
      return json{{"committed", r.incident.empty() ? "the open incident" : r.incident}};
    };
    Server s(std::move(o));
    ASSERT_TRUE(s.Start().ok());
    httplib::Headers h;
    if (!c.header.empty()) h.emplace("Authorization", c.header);
    const std::string what =
        "read='" + c.read + "' operate='" + c.operate + "' header='" + c.header + "'";
    EXPECT_EQ(Get(s, "/api/v1/status", h), c.get) << what;
    EXPECT_EQ(Get(s, "/metrics", h), c.get) << what;
    EXPECT_EQ(Get(s, "/", h), c.get) << what;
    EXPECT_EQ(Post(s, "/api/v1/failover/commit", h), c.post) << what;
  }
}

TEST(DashboardServerTest, UnauthorizedAnswersSayWhatToSend) {
  Server s(Options("read-token", "operate-token"));
  ASSERT_TRUE(s.Start().ok());
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("Authorization: Bearer TOKEN"), std::string::npos) << r->body;
  EXPECT_EQ(r->get_header_value_count("WWW-Authenticate"), 2u);
  std::string answer;
  EXPECT_EQ(Post(s, "/api/v1/failover", Bearer("read-token"), "{}", &answer), 403);
  EXPECT_NE(answer.find("this token may only read"), std::string::npos) << answer;
}

TEST(DashboardServerTest, WithoutReadTokenOnlyLoopbackHostsAreServed) {
  Server s(Options("", ""));
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(Get(s, "/", {{"Host", "localhost:1"}}), 200);
  EXPECT_EQ(Get(s, "/", {{"Host", "[::1]:8470"}}), 200);
  EXPECT_EQ(Get(s, "/", {{"Host", "evil.example.com"}}), 403);  // DNS rebinding
}

TEST(DashboardServerTest, Operations) {
  ServerOptions o = Options("", "op");
  std::atomic<int> calls{0};
  o.operations.failover = [&](const FailoverRequest& r) -> Result<json> {
    ++calls;
    if (r.to == "nowhere") return Status::InvalidArgument("site nowhere is not in the plan");
    if (r.to == "busy") return Status::FailedPrecondition("an incident is open: commit it first");
    EXPECT_NE(r.requested_by.find("API client 127.0.0.1"), std::string::npos);
    return json{{"incident", "inc-1"}, {"services", r.services}, {"dry_run", r.dry_run}};
  };
  Server s(std::move(o));
  ASSERT_TRUE(s.Start().ok());
  std::string answer;
  EXPECT_EQ(Post(s, "/api/v1/failover", Bearer("op"),
                 R"({"services": ["shop"], "to": "dr-site", "dry_run": true})", &answer),
            200);
  EXPECT_EQ(json::parse(answer)["incident"], "inc-1");
  EXPECT_EQ(Post(s, "/api/v1/failover", Bearer("op"), R"({"services": ["shop"]})", &answer), 400);
  EXPECT_NE(answer.find("\\\"to\\\" is missing"), std::string::npos) << answer;
  EXPECT_EQ(Post(s, "/api/v1/failover", Bearer("op"), "not json", &answer), 400);
  EXPECT_EQ(Post(s, "/api/v1/failover", Bearer("op"), R"({"services": ["shop"], "to": "nowhere"})",
                 &answer),
            400);
  EXPECT_NE(answer.find("site nowhere is not in the plan"), std::string::npos) << answer;
  EXPECT_EQ(
      Post(s, "/api/v1/failover", Bearer("op"), R"({"services": ["shop"], "to": "busy"})", &answer),
      409);
  EXPECT_EQ(json::parse(answer)["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(calls.load(), 3);
  // No callback for commit and rollback in this process: 501, saying so.
  EXPECT_EQ(Post(s, "/api/v1/failover/commit", Bearer("op"), "{}", &answer), 501);
  EXPECT_NE(answer.find("not available in this process"), std::string::npos) << answer;
  EXPECT_EQ(Post(s, "/api/v1/failover/rollback", Bearer("op"), "", &answer), 501);
  // A body that is not declared JSON.
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result r = c.Post("/api/v1/failover", Bearer("op"), "{}", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  // Too large.
  r = c.Post("/api/v1/failover", Bearer("op"), std::string(100 * 1024, ' '), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(DashboardServerTest, StateErrorsAre503) {
  ServerOptions o = Options("", "");
  o.state = []() -> Result<DashboardState> { return Status::Unavailable("plan reloading"); };
  Server s(std::move(o));
  ASSERT_TRUE(s.Start().ok());
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result r = c.Get("/api/v1/status");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("plan reloading"), std::string::npos);
}

TEST(DashboardServerTest, RefusesNonLoopbackWithoutTlsAndToken) {
  ServerOptions o = Options("", "");
  o.listen = "0.0.0.0:0";
  Server s(std::move(o));
  const Status st = s.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("daemon.tls_cert_file, daemon.tls_key_file and daemon.token"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(s.port(), 0);
}

TEST(DashboardServerTest, PortInUseIsAnError) {
  Server a(Options("", ""));
  ASSERT_TRUE(a.Start().ok());
  ServerOptions o = Options("", "");
  o.listen = "127.0.0.1:" + std::to_string(a.port());
  Server b(std::move(o));
  const Status st = b.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("cannot listen on 127.0.0.1:"), std::string::npos);
  EXPECT_FALSE(a.Start().ok()) << "a second Start";
}

class TempDir {
 public:
  TempDir() {
    const char* tmp = getenv("TMPDIR");
    std::string tpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/lifeboat-dashboard-XXXXXX";
    path_ = mkdtemp(tpl.data()) ? tpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(DashboardServerTest, Tls) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
      "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(make_cert.c_str()), 0) << "openssl req failed";

  ServerOptions o = Options("read-token", "");
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  Server s(std::move(o));
  ASSERT_TRUE(s.Start().ok());
  EXPECT_EQ(s.url(), "https://127.0.0.1:" + std::to_string(s.port()));

  httplib::SSLClient c("127.0.0.1", s.port());
  c.set_ca_cert_path(cert.c_str());
  c.enable_server_certificate_verification(true);
  httplib::Result r = c.Get("/api/v1/status", Bearer("read-token"));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["incident"]["state"], "open");
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // Plain HTTP to the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", s.port());
  plain.set_read_timeout(2, 0);
  httplib::Result p = plain.Get("/api/v1/status", Bearer("read-token"));
  EXPECT_TRUE(!p || p->status != 200);

  // Missing or unusable files: errors naming them.
  ServerOptions bad = Options("read-token", "");
  bad.tls_cert_file = dir.path() + "/absent.pem";
  bad.tls_key_file = key;
  Server b(std::move(bad));
  Status st = b.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("absent.pem (daemon.tls_cert_file)"), std::string::npos)
      << st.message();
  ServerOptions swapped = Options("read-token", "");
  swapped.tls_cert_file = key;
  swapped.tls_key_file = cert;
  Server w(std::move(swapped));
  st = w.Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("as TLS certificate and key"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace lifeboat::dashboard
