// The pure parts of the dashboard: the page (escaping, sections), the metrics (the text format:
// every sample after its # TYPE), the JSON, the request bodies, the listen rules.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "dashboard/api_json.h"
#include "dashboard/metrics.h"
#include "dashboard/page.h"
#include "dashboard/requests.h"
#include "dashboard/sample_state.h"
#include "dashboard/server.h"

namespace lifeboat::dashboard {
namespace {

TEST(DashboardPageTest, EscapesEveryFreeText) {
  DashboardState st = SampleDashboardState(/*hostile_text=*/true);
  st.daemon.warnings.push_back("plan reload failed: <img src=x onerror=alert(1)>");
  st.incident->timeline.push_back({kSampleNowNs, "note: <b>bold</b> & \"quoted\""});
  const std::string html = DashboardHtml(st, 30);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("http check: &lt;script&gt;console.error(&quot;injected from an "
                      "error&quot;)&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("note: &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"), std::string::npos);
}

TEST(DashboardPageTest, ShowsEverySection) {
  const std::string html = DashboardHtml(SampleDashboardState(false), 30);
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"30\">"), std::string::npos);
  for (const char* text :
       {"<h2>Incident</h2>", "failover 20261205T0912Z-5c1e from main-site to dr-site: open",
        "<h2>RPO compliance</h2>", "<h2>Service health</h2>", "<h2>Last drills</h2>",
        "<h2>Next scheduled runs</h2>", "<h3>Timeline</h3>",
        "9m48s of 1h, met",    // billing-db's achieved RTO in the incident
        "at_risk, 52m of 1h",  // shop at dr-site
        "NOT ACTING", "not used"}) {
    if (std::string_view(text) == "NOT ACTING") {
      EXPECT_EQ(html.find(text), std::string::npos) << "the sample daemon acts";
      continue;
    }
    EXPECT_NE(html.find(text), std::string::npos) << text;
  }
  DashboardState quiet = SampleDashboardState(false);
  quiet.incident.reset();
  quiet.daemon.acting = false;
  quiet.daemon.acting_note = "lease not renewed for 21 s";
  quiet.status.reset();
  quiet.status_note = "computing the first status";
  const std::string h2 = DashboardHtml(quiet, 0);
  EXPECT_NE(h2.find("No open incident."), std::string::npos);
  EXPECT_NE(h2.find("NOT ACTING (no backup, failover or switch starts): lease not renewed"),
            std::string::npos);
  EXPECT_NE(h2.find("No plan status yet: computing the first status"), std::string::npos);
  EXPECT_EQ(h2.find("http-equiv"), std::string::npos);
}

// Parses the text exposition format strictly enough for the rules we keep: each sample's metric
// has a # TYPE (and # HELP) line before it, families are not interleaved, label values are
// quoted with only \\, \" and \n escapes, values are numbers.
void CheckPrometheusText(const std::string& text, std::map<std::string, int>* samples) {
  std::set<std::string> typed, helped, closed;
  std::string current;
  std::istringstream in(text);
  std::string line;
  const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\[\\"n])*",?)*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?))");
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty()) << "no blank lines";
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      ASSERT_TRUE(typed.insert(name).second) << "a second # TYPE for " << name;
      EXPECT_EQ(line, "# TYPE " + name + " gauge");
      EXPECT_TRUE(helped.count(name)) << name << " has no # HELP before its # TYPE";
      if (!current.empty()) closed.insert(current);
      current = name;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "not a sample line: " << line;
    const std::string name = m[1];
    EXPECT_TRUE(typed.count(name)) << name << " has no # TYPE before its samples";
    EXPECT_EQ(name, current) << "a sample of " << name << " outside its family";
    EXPECT_FALSE(closed.count(name)) << name << " interleaved";
    ++(*samples)[name];
  }
}

TEST(DashboardMetricsTest, ParsesAsPrometheusText) {
  DashboardState st = SampleDashboardState(/*hostile_text=*/true);
  st.daemon.members.push_back({"main-site", "odd \"actor\"\\\nname", "h", 0});
  std::map<std::string, int> samples;
  const std::string text = DashboardMetrics(st);
  CheckPrometheusText(text, &samples);
  EXPECT_EQ(samples["lifeboat_rpo_state"], 7 * 5);  // from dr::PrometheusText
  EXPECT_EQ(samples["lifeboat_daemon_acting"], 1);
  EXPECT_EQ(samples["lifeboat_lease_holder"], 2);
  EXPECT_EQ(samples["lifeboat_service_active_site"], 4);
  EXPECT_EQ(samples["lifeboat_service_health_failures"], 3);
  EXPECT_EQ(samples["lifeboat_failover_state"], 6);
  EXPECT_EQ(samples["lifeboat_last_drill_rto_seconds"], 3);  // wiki's failed drill has none
  EXPECT_EQ(samples["lifeboat_last_drill_passed"], 4);
  EXPECT_EQ(samples["lifeboat_daemon_next_run_timestamp_seconds"], 5);
  for (const char* line :
       {"lifeboat_failover_state{state=\"open\"} 1\n",
        "lifeboat_failover_state{state=\"none\"} 0\n",
        "lifeboat_service_active_site{service=\"billing-db\",site=\"dr-site\"} 1\n",
        "lifeboat_service_health_failures{service=\"shop\"} 3\n",
        "lifeboat_last_drill_rto_seconds{service=\"billing-db\",site=\"dr-site\"} 552.000\n",
        "lifeboat_lease_holder{site=\"main-site\",actor=\"odd \\\"actor\\\"\\\\\\nname\"} 1\n",
        "lifeboat_daemon_acting 1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line;

  // Without a status and an incident: still valid, "none" is the state.
  DashboardState bare;
  samples.clear();
  const std::string t2 = DashboardMetrics(bare);
  CheckPrometheusText(t2, &samples);
  EXPECT_EQ(samples.count("lifeboat_rpo_state"), 0u);
  EXPECT_NE(t2.find("lifeboat_failover_state{state=\"none\"} 1\n"), std::string::npos);
}

TEST(DashboardJsonTest, StatusPlusDaemonDrillsIncident) {
  const nlohmann::ordered_json j = DashboardJson(SampleDashboardState(true));
  EXPECT_EQ(j["message_type"], "status");
  EXPECT_EQ(j["holds"], false);
  EXPECT_EQ(j["services"].size(), 4u);
  EXPECT_EQ(j["daemon"]["fence"], "etcd");
  EXPECT_EQ(j["daemon"]["health"][1]["last_error"], kSampleHostileError);
  EXPECT_EQ(j["daemon"]["active_sites"][0]["site"], "dr-site");
  EXPECT_EQ(j["daemon"]["next_runs"][0]["time"], "2026-12-05T09:34:00Z");
  EXPECT_EQ(j["drills"][0]["achieved_rto_seconds"], 552.0);
  EXPECT_EQ(j["incident"]["services"][0]["data_loss_seconds"], 423.0);
  EXPECT_EQ(j["incident"]["timeline"].size(), 7u);
  DashboardState bare;
  bare.status_note = "computing the first status";
  const nlohmann::ordered_json b = DashboardJson(bare);
  EXPECT_TRUE(b["incident"].is_null());
  EXPECT_TRUE(b["holds"].is_null());
  EXPECT_EQ(b["status_note"], "computing the first status");
  EXPECT_TRUE(b["services"].is_array());
}

TEST(DashboardRequestsTest, Failover) {
  Result<FailoverRequest> r = ParseFailoverRequest(
      R"({"services": ["shop", "billing-db"], "to": "dr-site", "at": "2026-05-01T12:00:00Z"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->services, (std::vector<std::string>{"shop", "billing-db"}));
  EXPECT_EQ(r->to, "dr-site");
  EXPECT_EQ(*r->at_ns, 1777636800LL * 1000000000);
  EXPECT_FALSE(r->dry_run);
  ASSERT_TRUE(ParseFailoverRequest(R"({"all": true, "to": "dr", "dry_run": true})").ok());

  const std::pair<const char*, const char*> bad[] = {
      {"", "which services?"},
      {"[1]", "must be a JSON object"},
      {"{", "not JSON"},
      {R"({"services": "shop", "to": "dr"})", "services must be a list"},
      {R"({"services": [], "to": "dr"})", "which services?"},
      {R"({"services": ["a b"], "to": "dr"})", "\"a b\" is not a name"},
      {R"({"services": ["shop"]})", "\"to\" is missing"},
      {R"({"services": ["shop"], "all": true, "to": "dr"})", "not both"},
      {R"({"services": ["shop"], "to": "dr", "at": "yesterday"})", "RFC 3339"},
      {R"({"services": ["shop"], "to": "dr", "force": true})", "unknown field \"force\""},
      {R"({"services": ["shop"], "to": 3})", "to must be a string"},
  };
  for (const auto& [body, message] : bad) {
    Result<FailoverRequest> e = ParseFailoverRequest(body);
    ASSERT_FALSE(e.ok()) << body;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(e.status().message().find(message), std::string::npos)
        << body << ": " << e.status().message();
  }
}

TEST(DashboardRequestsTest, Incident) {
  EXPECT_EQ(ParseIncidentRequest("").value().incident, "");
  EXPECT_EQ(ParseIncidentRequest("{}").value().incident, "");
  EXPECT_EQ(ParseIncidentRequest(R"({"incident": "abc"})").value().incident, "abc");
  EXPECT_FALSE(ParseIncidentRequest(R"({"incident": ""})").ok());
  EXPECT_FALSE(ParseIncidentRequest(R"({"id": "abc"})").ok());
}

TEST(DashboardListenTest, AddressesAndLoopback) {
  EXPECT_EQ(ParseListenAddress("127.0.0.1:8470").value().port, 8470);
  EXPECT_EQ(ParseListenAddress("[::1]:0").value().host, "::1");
  EXPECT_EQ(ParseListenAddress("example.com:443").value().host, "example.com");
  for (const char* bad :
       {"8470", "127.0.0.1", ":80", "127.0.0.1:", "127.0.0.1:70000", "::1:80", "[::1]80", "h:8x"})
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  for (const char* yes : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "LocalHost"})
    EXPECT_TRUE(IsLoopbackHost(yes)) << yes;
  for (const char* no : {"0.0.0.0", "::", "10.0.0.1", "127.0.0", "127.0.0.1.5", "127.0.0.256",
                         "localhost.example.com", "128.0.0.1", ""})
    EXPECT_FALSE(IsLoopbackHost(no)) << no;
}

TEST(DashboardListenTest, NonLoopbackNeedsTlsAndToken) {
  ServerOptions o;
  o.state = [] { return DashboardState{}; };
  o.listen = "0.0.0.0:8470";
  Status s = CheckServerOptions(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("set daemon.tls_cert_file, daemon.tls_key_file and daemon.token"),
            std::string::npos)
      << s.message();
  o.tls_cert_file = "c.pem";
  o.tls_key_file = "k.pem";
  s = CheckServerOptions(o);
  EXPECT_NE(s.message().find("set daemon.token"), std::string::npos) << s.message();
  o.tokens.read = "r";
  EXPECT_TRUE(CheckServerOptions(o).ok());
  o.tls_key_file = "";
  EXPECT_FALSE(CheckServerOptions(o).ok());
  ServerOptions local;
  local.state = o.state;
  local.listen = "127.0.0.1:0";
  EXPECT_TRUE(CheckServerOptions(local).ok());
  local.state = nullptr;
  EXPECT_FALSE(CheckServerOptions(local).ok());
}

}  // namespace
}  // namespace lifeboat::dashboard
