// Every channel against real receivers on 127.0.0.1 (run through tests/servers/run_with.sh
// notify smtp; ctest does so in the release build): the captured requests are checked field by
// field against doc/notifications.md; receivers that fail, stall or are down give bounded,
// retried, clearly failed outcomes; no secret appears in any outcome.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "notify/channel.h"
#include "notify/deliver.h"
#include "notify/notify.h"
#include "notify/payloads.h"
#include "notify/transport.h"
#include "util/clock.h"

namespace lifeboat::notify {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name
                  << " is not set: run this test through `bash tests/servers/run_with.sh notify "
                     "smtp -- <this binary>` (ctest does so in the release build)";
    return "";
  }
  return v;
}

std::vector<nlohmann::json> ReadJsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

void Control(const std::string& what) {
  HttpRequest r;
  r.method = "GET";
  r.url = Env("LIFEBOAT_TEST_NOTIFY_URL") + "/_control/" + what;
  Result<HttpReply> reply = SendHttp(r, TransportOptions{});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_EQ(reply->status, 200);
}

constexpr int64_t kTime = 1'796'354'100'000'000'000;
const std::string kWebhookToken = "whk-T0KEN-5e3cr3t";
const std::string kRoutingKey = "R0UTINGKEY0123456789abcdefSECRET";
const std::string kNtfyToken = "tk_ntfy5ecr3ttoken";
const std::string kSlackPath = "/services/T000/B000/SLACKs3cr3tPATH";
const std::string kHcUuid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

Event Violated() {
  Event e = MakeEvent(EventType::kRpoViolated, "billing", 0, "offsite",
                      "newest snapshot of billing at offsite is 5h 2m old; RPO 4h", kTime);
  e.details = {{"rpo_seconds", 14400}, {"age_seconds", 18120}};
  return e;
}

class NotifyServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = Env("LIFEBOAT_TEST_NOTIFY_URL");
    tls_url_ = Env("LIFEBOAT_TEST_NOTIFY_TLS_URL");
    ca_ = Env("LIFEBOAT_TEST_NOTIFY_CA");
    log_ = Env("LIFEBOAT_TEST_NOTIFY_LOG");
    ASSERT_FALSE(url_.empty());
    Control("reset");
    policy_.jitter_seed = 1;
    policy_.request_timeout = std::chrono::seconds(5);
  }

  // Delivers `e` to one channel on a ManualClock (backoff without sleeping).
  DeliveryOutcome DeliverTo(const ChannelConfig& config, const Event& e) {
    Result<std::unique_ptr<Channel>> ch = MakeChannel(config);
    EXPECT_TRUE(ch.ok()) << ch.status().ToString();
    if (!ch.ok()) return {};
    ChannelMap channels;
    channels[config.name] = std::move(ch).value();
    std::vector<DeliveryOutcome> out =
        Deliver({{e, {config.name}}}, channels, policy_, Context().WithClock(clock_));
    EXPECT_EQ(out.size(), 1u);
    all_outcomes_.push_back(OutcomeJson(out[0]).dump());
    return out[0];
  }

  std::vector<nlohmann::json> Requests() { return ReadJsonl(log_); }

  void TearDown() override {
    for (const std::string& text : all_outcomes_) {
      for (const std::string& secret : {kWebhookToken, kRoutingKey, kNtfyToken,
                                        std::string("SLACKs3cr3tPATH"), kHcUuid,
                                        std::getenv("LIFEBOAT_TEST_SMTP_PASSWORD")
                                            ? std::string(std::getenv("LIFEBOAT_TEST_SMTP_PASSWORD"))
                                            : std::string("unset-password")}) {
        EXPECT_EQ(text.find(secret), std::string::npos) << "a secret in an outcome: " << text;
      }
    }
  }

  std::string url_, tls_url_, ca_, log_;
  ManualClock clock_;
  RetryPolicy policy_;
  std::vector<std::string> all_outcomes_;
};

TEST_F(NotifyServerTest, WebhookPostsTheVersion1Document) {
  const Event e = Violated();
  const DeliveryOutcome o =
      DeliverTo({"hook", WebhookConfig{url_ + "/hook", {{"Authorization", "Bearer " + kWebhookToken}}, ""}}, e);
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  EXPECT_EQ(o.attempts, 1);
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["method"], "POST");
  EXPECT_EQ(reqs[0]["path"], "/hook");
  EXPECT_EQ(reqs[0]["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(reqs[0]["headers"]["Authorization"], "Bearer " + kWebhookToken);
  EXPECT_EQ(reqs[0]["headers"]["User-Agent"].get<std::string>().rfind("lifeboat/", 0), 0u);
  const nlohmann::json body = nlohmann::json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(body, WebhookDocument(e));
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["event"], "rpo_violated");
  EXPECT_EQ(body["dedup_key"], "lifeboat:rpo:billing:offsite");
  EXPECT_EQ(body["time"], "2026-12-04T03:15:00Z");
}

TEST_F(NotifyServerTest, SlackPostsTextAndBlocks) {
  const DeliveryOutcome o = DeliverTo({"slack", SlackConfig{url_ + kSlackPath, ""}}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["path"], kSlackPath);
  EXPECT_EQ(reqs[0]["headers"]["Content-Type"], "application/json");
  const nlohmann::json body = nlohmann::json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(body, SlackPayload(Violated()));
  EXPECT_EQ(body["blocks"][0]["text"]["text"], "RPO violated: billing at offsite");
  EXPECT_EQ(body["text"].get<std::string>().rfind("[CRITICAL] RPO violated", 0), 0u);
}

TEST_F(NotifyServerTest, NtfyOverTlsWithACaFile) {
  const DeliveryOutcome o = DeliverTo(
      {"phone", NtfyConfig{tls_url_ + "/lifeboat-alerts", kNtfyToken, ca_}}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_TRUE(reqs[0]["tls"].get<bool>());
  EXPECT_EQ(reqs[0]["path"], "/lifeboat-alerts");
  EXPECT_EQ(reqs[0]["headers"]["Title"], "RPO violated: billing at offsite");
  EXPECT_EQ(reqs[0]["headers"]["Priority"], "5");
  EXPECT_EQ(reqs[0]["headers"]["Tags"], "rotating_light,lifeboat,rpo_violated");
  EXPECT_EQ(reqs[0]["headers"]["Authorization"], "Bearer " + kNtfyToken);
  EXPECT_EQ(reqs[0]["headers"]["Content-Type"], "text/plain; charset=utf-8");
  EXPECT_EQ(reqs[0]["body"], NtfyBody(Violated()));
}

TEST_F(NotifyServerTest, TlsWithoutTheCaFileFailsVerificationAndIsNotRetried) {
  const DeliveryOutcome o =
      DeliverTo({"phone", NtfyConfig{tls_url_ + "/lifeboat-alerts", kNtfyToken, ""}}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_NE(o.error.find("certificate failed verification"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("ca_file"), std::string::npos) << o.error;
  EXPECT_TRUE(Requests().empty());
}

TEST_F(NotifyServerTest, PagerDutyTriggersThenResolvesWithTheSameDedupKey) {
  const ChannelConfig pd{"pd", PagerDutyConfig{kRoutingKey, url_ + "/v2/enqueue", ""}};
  Control("status/202");
  EXPECT_EQ(DeliverTo(pd, Violated()).result, OutcomeResult::kDelivered);
  Event restored = MakeEvent(EventType::kRpoRestored, "billing", 0, "offsite", "ok", kTime + 1);
  EXPECT_EQ(DeliverTo(pd, restored).result, OutcomeResult::kDelivered);
  Event summary = MakeEvent(EventType::kRunSummary, "", std::nullopt, "", "done", kTime);
  EXPECT_EQ(DeliverTo(pd, summary).result, OutcomeResult::kSkipped);
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r["method"], "POST");
    EXPECT_EQ(r["path"], "/v2/enqueue");
    EXPECT_EQ(r["headers"]["Content-Type"], "application/json");
  }
  const nlohmann::json trigger = nlohmann::json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(trigger, *PagerDutyPayload(Violated(), kRoutingKey));
  EXPECT_EQ(trigger["routing_key"], kRoutingKey);
  EXPECT_EQ(trigger["event_action"], "trigger");
  EXPECT_EQ(trigger["payload"]["severity"], "critical");
  EXPECT_EQ(trigger["payload"]["source"], "billing");
  EXPECT_EQ(trigger["payload"]["timestamp"], "2026-12-04T03:15:00Z");
  const nlohmann::json resolve = nlohmann::json::parse(reqs[1]["body"].get<std::string>());
  EXPECT_EQ(resolve, (nlohmann::json{{"routing_key", kRoutingKey},
                                     {"event_action", "resolve"},
                                     {"dedup_key", trigger["dedup_key"]}}));
}

TEST_F(NotifyServerTest, DrillsTriggerAndResolvePagerDutyAndPingHealthchecks) {
  const ChannelConfig pd{"pd", PagerDutyConfig{kRoutingKey, url_ + "/v2/enqueue", ""}};
  const ChannelConfig hc{"hc", HealthchecksConfig{url_ + "/ping/" + kHcUuid, ""}};
  Control("status/202");
  Event failed = MakeEvent(EventType::kDrillFailed, "billing", 0, "offsite",
                           "drill failed at verify step sql", kTime);
  failed.details = {{"failed_step", "sql"}};
  Event regressed = MakeEvent(EventType::kRtoRegressed, "billing", 0, "offsite",
                              "RTO 31% above the median", kTime + 1);
  Event passed = MakeEvent(EventType::kDrillPassed, "billing", 0, "offsite", "passed", kTime + 2);
  for (const Event* e : {&failed, &regressed, &passed})
    EXPECT_EQ(DeliverTo(pd, *e).result, OutcomeResult::kDelivered);
  Control("status/200");
  for (const Event* e : {&failed, &regressed, &passed})
    EXPECT_EQ(DeliverTo(hc, *e).result, OutcomeResult::kDelivered);
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 6u);
  const nlohmann::json trigger = nlohmann::json::parse(reqs[0]["body"].get<std::string>());
  EXPECT_EQ(trigger, *PagerDutyPayload(failed, kRoutingKey));
  EXPECT_EQ(trigger["event_action"], "trigger");
  EXPECT_EQ(trigger["dedup_key"], "lifeboat:drill:billing:offsite");
  EXPECT_EQ(trigger["payload"]["severity"], "error");
  EXPECT_EQ(trigger["payload"]["class"], "drill_failed");
  const nlohmann::json warning = nlohmann::json::parse(reqs[1]["body"].get<std::string>());
  EXPECT_EQ(warning["event_action"], "trigger");
  EXPECT_EQ(warning["payload"]["severity"], "warning");
  EXPECT_EQ(warning["dedup_key"], trigger["dedup_key"]);
  const nlohmann::json resolve = nlohmann::json::parse(reqs[2]["body"].get<std::string>());
  EXPECT_EQ(resolve, (nlohmann::json{{"routing_key", kRoutingKey},
                                     {"event_action", "resolve"},
                                     {"dedup_key", trigger["dedup_key"]}}));
  const std::string base = "/ping/" + kHcUuid;
  EXPECT_EQ(reqs[3]["path"], base + "/fail");
  EXPECT_EQ(reqs[4]["path"], base);
  EXPECT_EQ(reqs[5]["path"], base);
  EXPECT_EQ(reqs[3]["body"], HealthchecksBody(failed));
}

TEST_F(NotifyServerTest, PagerDutyA400IsNotRetriedAndTheKeyNeverShows) {
  const DeliveryOutcome o =
      DeliverTo({"pd", PagerDutyConfig{kRoutingKey, url_ + "/v2/enqueue/status/400", ""}},
                Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_NE(o.error.find("HTTP 400"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("not retried"), std::string::npos) << o.error;
  EXPECT_EQ(Requests().size(), 1u);
}

TEST_F(NotifyServerTest, HealthchecksPingsStartFailAndExitStatus) {
  const ChannelConfig hc{"hc", HealthchecksConfig{url_ + "/ping/" + kHcUuid, ""}};
  Event started = MakeEvent(EventType::kRunStarted, "", std::nullopt, "", "run 7", kTime);
  Event failed = MakeEvent(EventType::kBackupFailed, "billing", 0, "primary", "disk full", kTime);
  Event summary = MakeEvent(EventType::kRunSummary, "", std::nullopt, "", "1 of 2 failed", kTime);
  summary.details = {{"exit_status", 2}};
  Event recovered = MakeEvent(EventType::kBackupRecovered, "billing", 0, "primary", "", kTime);
  for (const Event* e : {&started, &failed, &summary, &recovered}) {
    EXPECT_EQ(DeliverTo(hc, *e).result, OutcomeResult::kDelivered);
  }
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 4u);
  const std::string base = "/ping/" + kHcUuid;
  EXPECT_EQ(reqs[0]["path"], base + "/start");
  EXPECT_EQ(reqs[1]["path"], base + "/fail");
  EXPECT_EQ(reqs[2]["path"], base + "/2");
  EXPECT_EQ(reqs[3]["path"], base);
  EXPECT_EQ(reqs[1]["method"], "POST");
  EXPECT_EQ(reqs[1]["headers"]["Content-Type"], "text/plain; charset=utf-8");
  EXPECT_EQ(reqs[1]["body"], HealthchecksBody(failed));
  EXPECT_NE(reqs[1]["body"].get<std::string>().find("disk full"), std::string::npos);
}

TEST_F(NotifyServerTest, A503IsRetriedWithBackoffThenDelivered) {
  Control("fail/2");
  const DeliveryOutcome o = DeliverTo({"hook", WebhookConfig{url_ + "/hook", {}, ""}}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  EXPECT_EQ(o.attempts, 3);
  EXPECT_EQ(Requests().size(), 3u);
  EXPECT_EQ(clock_.sleeps().size(), 2u);  // on the injected clock: no real sleeping
}

TEST_F(NotifyServerTest, AReceiverThatKeepsFailingGivesAFailedOutcome) {
  Control("fail/100");
  policy_.max_attempts = 4;
  const DeliveryOutcome o =
      DeliverTo({"slack", SlackConfig{url_ + kSlackPath, ""}}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 4);
  EXPECT_NE(o.error.find("HTTP 503"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("gave up after 4 attempts"), std::string::npos) << o.error;
  EXPECT_EQ(Requests().size(), 4u);
}

TEST_F(NotifyServerTest, AReceiverThatIsDownGivesAFailedOutcomeWithinTheBudget) {
  const std::string closed = Env("LIFEBOAT_TEST_NOTIFY_CLOSED_URL");
  policy_.budget = std::chrono::seconds(20);
  const auto start = std::chrono::steady_clock::now();
  const DeliveryOutcome o = DeliverTo(
      {"hook", WebhookConfig{closed + "/hook", {{"X-Token", kWebhookToken}}, ""}}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_GE(o.attempts, 2);  // refused is transient: retried
  EXPECT_NE(o.error.find("webhook"), std::string::npos) << o.error;
  EXPECT_NE(o.error.find("127.0.0.1"), std::string::npos) << o.error;
  EXPECT_LE(o.duration_ns, 20'000'000'000);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(NotifyServerTest, AStallingReceiverIsBoundedInRealTime) {
  Control("stall/30");
  RetryPolicy p;
  p.request_timeout = std::chrono::milliseconds(400);
  p.budget = std::chrono::milliseconds(1500);
  p.base_delay = std::chrono::milliseconds(50);
  ChannelMap channels;
  channels["hook"] = std::move(MakeChannel({"hook", WebhookConfig{url_ + "/hook", {}, ""}})).value();
  channels["slack"] =
      std::move(MakeChannel({"slack", SlackConfig{url_ + kSlackPath, ""}})).value();
  const auto start = std::chrono::steady_clock::now();
  const std::vector<DeliveryOutcome> out =
      Deliver({{Violated(), {"hook", "slack"}}}, channels, p, Context());  // the real clock
  const auto took = std::chrono::steady_clock::now() - start;
  Control("stall/0");
  ASSERT_EQ(out.size(), 2u);
  for (const DeliveryOutcome& o : out) {
    EXPECT_EQ(o.result, OutcomeResult::kFailed);
    EXPECT_NE(o.error.find("did not answer in time"), std::string::npos) << o.error;
    all_outcomes_.push_back(OutcomeJson(o).dump());
  }
  // Both in parallel, each within its 1.5 s budget (plus one request timeout at most).
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

class EmailServerTest : public NotifyServerTest {
 protected:
  EmailConfig Mail() {
    EmailConfig c;
    c.url = Env("LIFEBOAT_TEST_SMTP_URL");
    c.user = Env("LIFEBOAT_TEST_SMTP_USER");
    c.password = Env("LIFEBOAT_TEST_SMTP_PASSWORD");
    c.ca_file = Env("LIFEBOAT_TEST_SMTP_CA");
    c.from = "lifeboat@example.com";
    c.to = {"oncall@example.com", "dba@example.com"};
    return c;
  }
  std::vector<nlohmann::json> Messages() { return ReadJsonl(Env("LIFEBOAT_TEST_SMTP_LOG")); }
};

TEST_F(EmailServerTest, SendsOverStartTlsWithLogin) {
  const size_t before = Messages().size();
  const DeliveryOutcome o = DeliverTo({"mail", Mail()}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  const auto msgs = Messages();
  ASSERT_EQ(msgs.size(), before + 1);
  const nlohmann::json& m = msgs.back();
  EXPECT_EQ(m["port_kind"], "starttls");
  EXPECT_TRUE(m["tls"].get<bool>());
  EXPECT_EQ(m["login"], Env("LIFEBOAT_TEST_SMTP_USER"));
  EXPECT_EQ(m["mail_from"], "lifeboat@example.com");
  EXPECT_EQ(m["rcpt_tos"], (nlohmann::json{"oncall@example.com", "dba@example.com"}));
  const std::string data = m["data"];
  for (const std::string& line :
       {std::string("Date: Fri, 04 Dec 2026 03:15:00 +0000\r\n"),
        std::string("From: lifeboat@example.com\r\n"),
        std::string("To: oncall@example.com, dba@example.com\r\n"),
        std::string("Subject: [Lifeboat] CRITICAL RPO violated: billing at offsite\r\n"),
        std::string("MIME-Version: 1.0\r\n"), std::string("Content-Type: text/plain; charset=utf-8\r\n"),
        std::string("X-Lifeboat-Event: rpo_violated\r\n"),
        std::string("\r\n\r\nnewest snapshot of billing at offsite is 5h 2m old; RPO 4h\r\n")}) {
    EXPECT_NE(data.find(line), std::string::npos) << line << " not in:\n" << data;
  }
  EXPECT_NE(data.find("Message-ID: <lifeboat."), std::string::npos);
}

TEST_F(EmailServerTest, RefusesAServerWithoutStartTls) {
  EmailConfig c = Mail();
  c.url = Env("LIFEBOAT_TEST_SMTP_PLAIN_URL");
  const size_t before = Messages().size();
  const DeliveryOutcome o = DeliverTo({"mail", c}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.attempts, 1);
  EXPECT_NE(o.error.find("STARTTLS"), std::string::npos) << o.error;
  EXPECT_EQ(Messages().size(), before);  // nothing sent in clear
}

TEST_F(EmailServerTest, AWrongPasswordFailsWithoutShowingIt) {
  EmailConfig c = Mail();
  c.password = "wrong-" + c.password;
  const size_t before = Messages().size();
  const DeliveryOutcome o = DeliverTo({"mail", c}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_EQ(o.error.find(c.password), std::string::npos) << o.error;
  EXPECT_EQ(Messages().size(), before);
  all_outcomes_.push_back(o.error);
}

TEST_F(EmailServerTest, WithoutTheCaFileTheCertificateIsRefused) {
  EmailConfig c = Mail();
  c.ca_file.clear();
  const DeliveryOutcome o = DeliverTo({"mail", c}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kFailed);
  EXPECT_NE(o.error.find("certificate"), std::string::npos) << o.error;
}

TEST_F(NotifyServerTest, CommandGetsTheDocumentOnStdinAndTheVariables) {
  const std::string out = ::testing::TempDir() + "/notify-command-" + std::to_string(getpid());
  CommandConfig c;
  c.command = "cat > '" + out + ".json'; env | grep '^LIFEBOAT_EVENT' | sort > '" + out + ".env'";
  const DeliveryOutcome o = DeliverTo({"cmd", c}, Violated());
  EXPECT_EQ(o.result, OutcomeResult::kDelivered) << o.error;
  std::ifstream json_in(out + ".json");
  const nlohmann::json doc = nlohmann::json::parse(json_in);
  EXPECT_EQ(doc, WebhookDocument(Violated()));
  std::ifstream env_in(out + ".env");
  const std::string env((std::istreambuf_iterator<char>(env_in)), {});
  EXPECT_NE(env.find("LIFEBOAT_EVENT=rpo_violated\n"), std::string::npos) << env;
  EXPECT_NE(env.find("LIFEBOAT_EVENT_SERVICE=billing\n"), std::string::npos) << env;
  EXPECT_NE(env.find("LIFEBOAT_EVENT_TIER=0\n"), std::string::npos) << env;
  EXPECT_NE(env.find("LIFEBOAT_EVENT_DEDUP_KEY=lifeboat:rpo:billing:offsite\n"),
            std::string::npos);
  std::filesystem::remove(out + ".json");
  std::filesystem::remove(out + ".env");
  CommandConfig bad;
  bad.command = "exit 3";
  const DeliveryOutcome f = DeliverTo({"cmd", bad}, Violated());
  EXPECT_EQ(f.result, OutcomeResult::kFailed);
  EXPECT_EQ(f.attempts, 1);
  EXPECT_NE(f.error.find("exit status 3"), std::string::npos) << f.error;
}

TEST_F(NotifyServerTest, NotifyEndToEndDeduplicatesAcrossCalls) {
  std::string dir = ::testing::TempDir() + "/notify-e2e-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  NotifyOptions o;
  o.state_path = dir + "/state.json";
  o.channels = {{"hook", WebhookConfig{url_ + "/hook", {}, ""}},
                {"pd", PagerDutyConfig{kRoutingKey, url_ + "/v2/enqueue", ""}},
                {"down", WebhookConfig{Env("LIFEBOAT_TEST_NOTIFY_CLOSED_URL") + "/x", {}, ""}}};
  Route r;
  r.id = "0";
  r.channels = {"hook", "pd", "down"};
  o.router.routes = {r};
  o.retry.max_attempts = 2;
  o.context = Context().WithClock(clock_);
  Observation obs;
  obs.condition = Condition::kBackup;
  obs.service = "billing";
  obs.tier = 0;
  obs.site = "primary";
  obs.state = Observed::kFailed;
  obs.message = "disk full";
  Result<NotifyResult> first = Notify(o, {obs}, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->outcomes.size(), 3u);
  std::map<std::string, OutcomeResult> results;
  for (const DeliveryOutcome& d : first->outcomes) results[d.channel] = d.result;
  EXPECT_EQ(results["hook"], OutcomeResult::kDelivered);
  EXPECT_EQ(results["pd"], OutcomeResult::kDelivered);
  EXPECT_EQ(results["down"], OutcomeResult::kFailed);  // "down" never blocks the rest
  EXPECT_EQ(Requests().size(), 2u);
  // The same observation again: nothing to the receivers that got it ("down" waits for its
  // retry time).
  Result<NotifyResult> second = Notify(o, {obs}, {});
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->outcomes.empty());
  EXPECT_EQ(Requests().size(), 2u);
  // Recovered: resolves reach the two that heard of it (and "down" is tried again).
  clock_.Advance(120'000'000'000);
  obs.state = Observed::kOk;
  Result<NotifyResult> third = Notify(o, {obs}, {});
  ASSERT_TRUE(third.ok());
  const auto reqs = Requests();
  ASSERT_EQ(reqs.size(), 4u);
  // The two resolves go out in parallel: find PagerDuty's by its path.
  const nlohmann::json& pd_request = reqs[2]["path"] == "/v2/enqueue" ? reqs[2] : reqs[3];
  ASSERT_EQ(pd_request["path"], "/v2/enqueue");
  const nlohmann::json resolve = nlohmann::json::parse(pd_request["body"].get<std::string>());
  EXPECT_EQ(resolve["event_action"], "resolve");
  EXPECT_EQ(resolve["dedup_key"], "lifeboat:backup:billing:primary");
  for (const auto* r : {&first, &second, &third}) {
    for (const DeliveryOutcome& d : (*r)->outcomes) all_outcomes_.push_back(OutcomeJson(d).dump());
  }
  std::ifstream state_in(o.state_path);
  const std::string state((std::istreambuf_iterator<char>(state_in)), {});
  EXPECT_EQ(state.find(kRoutingKey), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::notify
