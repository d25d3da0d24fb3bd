// The payload builders field by field against doc/notifications.md.
#include "notify/payloads.h"

#include <gtest/gtest.h>

#include "notify/event.h"

namespace lifeboat::notify {
namespace {

constexpr int64_t kTime = 1'796'354'100'000'000'000;  // 2026-12-04T03:15:00Z

Event Violated() {
  Event e = MakeEvent(EventType::kRpoViolated, "billing", 0, "offsite",
                      "newest snapshot of billing at offsite is 5h 2m old; RPO 4h", kTime);
  e.host = "backup1";
  e.details = {{"rpo_seconds", 14400}, {"age_seconds", 18120}};
  return e;
}

TEST(EventTest, NamesRoundTripAndDefaults) {
  for (EventType t : kAllEventTypes) {
    Result<EventType> back = ParseEventType(EventTypeName(t));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, t);
  }
  EXPECT_FALSE(ParseEventType("rpo_broken").ok());
  EXPECT_NE(ParseEventType("rpo_broken").status().message().find("rpo_violated"),
            std::string::npos);
  EXPECT_EQ(DefaultSeverity(EventType::kRpoViolated), Severity::kCritical);
  EXPECT_EQ(DefaultSeverity(EventType::kRpoAtRisk), Severity::kWarning);
  EXPECT_EQ(DefaultSeverity(EventType::kBackupFailed), Severity::kError);
  EXPECT_EQ(DefaultSeverity(EventType::kRpoRestored), Severity::kInfo);
  EXPECT_TRUE(MakeEvent(EventType::kRpoRestored, "a", 0, "b", "", kTime).resolved);
  EXPECT_FALSE(Violated().resolved);
}

TEST(EventTest, TimesAndDedupKeys) {
  EXPECT_EQ(FormatRfc3339Utc(kTime), "2026-12-04T03:15:00Z");
  EXPECT_EQ(FormatRfc5322Date(kTime), "Fri, 04 Dec 2026 03:15:00 +0000");
  EXPECT_EQ(Violated().dedup_key, "lifeboat:rpo:billing:offsite");
  EXPECT_EQ(MakeEvent(EventType::kSiteRecovered, "", 1, "s3", "", kTime).dedup_key,
            "lifeboat:site::s3");
  // The opening and the resolving event of one problem share the key.
  EXPECT_EQ(MakeEvent(EventType::kBackupFailed, "a", 0, "b", "", kTime).dedup_key,
            MakeEvent(EventType::kBackupRecovered, "a", 0, "b", "", kTime).dedup_key);
  const std::string long_key = DedupKey("rpo", std::string(300, 's'), "site");
  EXPECT_EQ(long_key.size(), 255u);
  EXPECT_EQ(long_key[238], '~');
  EXPECT_NE(long_key, DedupKey("rpo", std::string(300, 's'), "other"));
}

TEST(EventTest, WebhookDocumentVersion1) {
  const nlohmann::json j = WebhookDocument(Violated());
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["event"], "rpo_violated");
  EXPECT_EQ(j["severity"], "critical");
  EXPECT_EQ(j["resolved"], false);
  EXPECT_EQ(j["escalated"], false);
  EXPECT_EQ(j["service"], "billing");
  EXPECT_EQ(j["tier"], 0);
  EXPECT_EQ(j["site"], "offsite");
  EXPECT_EQ(j["message"], "newest snapshot of billing at offsite is 5h 2m old; RPO 4h");
  EXPECT_EQ(j["time"], "2026-12-04T03:15:00Z");
  EXPECT_EQ(j["host"], "backup1");
  EXPECT_EQ(j["dedup_key"], "lifeboat:rpo:billing:offsite");
  EXPECT_EQ(j["details"]["rpo_seconds"], 14400);
  EXPECT_EQ(j.size(), 13u) << j.dump();
  // Absent fields are null, not missing.
  Event run = MakeEvent(EventType::kRunSummary, "", std::nullopt, "", "2 ok", kTime);
  const nlohmann::json r = WebhookDocument(run);
  EXPECT_TRUE(r["service"].is_null());
  EXPECT_TRUE(r["tier"].is_null());
  EXPECT_TRUE(r["site"].is_null());
  // And it reads back.
  nlohmann::json with_time = j;
  with_time["time_ns"] = kTime;
  Result<Event> back = EventFromDocument(with_time);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(WebhookDocument(*back), j);
}

TEST(PayloadTest, Slack) {
  Event e = Violated();
  e.message = "a <b> & c";
  const nlohmann::json j = SlackPayload(e);
  EXPECT_EQ(j["text"], "[CRITICAL] RPO violated: billing at offsite: a &lt;b&gt; &amp; c");
  ASSERT_EQ(j["blocks"].size(), 4u);
  EXPECT_EQ(j["blocks"][0]["type"], "header");
  EXPECT_EQ(j["blocks"][0]["text"]["type"], "plain_text");
  EXPECT_EQ(j["blocks"][0]["text"]["text"], "RPO violated: billing at offsite");
  EXPECT_EQ(j["blocks"][1]["type"], "section");
  EXPECT_EQ(j["blocks"][1]["text"]["type"], "mrkdwn");
  EXPECT_EQ(j["blocks"][1]["text"]["text"], "a &lt;b&gt; &amp; c");
  const nlohmann::json& fields = j["blocks"][2]["fields"];
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0]["text"], "*Severity*\ncritical");
  EXPECT_EQ(fields[1]["text"], "*Service*\nbilling");
  EXPECT_EQ(fields[2]["text"], "*Tier*\n0");
  EXPECT_EQ(fields[3]["text"], "*Site*\noffsite");
  EXPECT_EQ(j["blocks"][3]["type"], "context");
  EXPECT_EQ(j["blocks"][3]["elements"][0]["text"],
            "lifeboat on backup1 · 2026-12-04T03:15:00Z · lifeboat:rpo:billing:offsite");
  // Block Kit limits: header 150 characters, section 3000.
  e.service = std::string(200, 'x');
  e.message = std::string(5000, 'm');
  const nlohmann::json big = SlackPayload(e);
  EXPECT_EQ(big["blocks"][0]["text"]["text"].get<std::string>().size(), 150u);
  EXPECT_EQ(big["blocks"][1]["text"]["text"].get<std::string>().size(), 3000u);
  // A site event lists no service; an escalation says so.
  Event site = MakeEvent(EventType::kSiteUnreachable, "", 1, "s3", "timeout", kTime);
  site.escalated = true;
  const nlohmann::json s = SlackPayload(site);
  EXPECT_EQ(s["blocks"][0]["text"]["text"], "Escalated: Site unreachable: s3");
  EXPECT_EQ(s["blocks"][2]["fields"].size(), 3u);
}

TEST(PayloadTest, Ntfy) {
  const Event e = Violated();
  const HeaderList h = NtfyHeaders(e, "tk_secret");
  const HeaderList want = {{"Content-Type", "text/plain; charset=utf-8"},
                           {"Title", "RPO violated: billing at offsite"},
                           {"Priority", "5"},
                           {"Tags", "rotating_light,lifeboat,rpo_violated"},
                           {"Authorization", "Bearer tk_secret"}};
  EXPECT_EQ(h, want);
  EXPECT_EQ(NtfyHeaders(e, "").size(), 4u);  // no token, no Authorization
  EXPECT_EQ(NtfyPriority(Severity::kError), 4);
  EXPECT_EQ(NtfyPriority(Severity::kWarning), 3);
  EXPECT_EQ(NtfyPriority(Severity::kInfo), 2);
  const Event ok = MakeEvent(EventType::kRpoRestored, "billing", 0, "offsite", "fine", kTime);
  EXPECT_EQ(NtfyHeaders(ok, "")[3].second, "white_check_mark,lifeboat,rpo_restored");
  EXPECT_EQ(NtfyBody(e).substr(0, e.message.size() + 2), e.message + "\n\n");
  EXPECT_NE(NtfyBody(e).find("\nsite: offsite\n"), std::string::npos);
  // A non-ASCII title is an RFC 2047 encoded word; no header injection.
  EXPECT_EQ(HeaderValue("Sauvegarde échouée"), "=?UTF-8?B?U2F1dmVnYXJkZSDDqWNob3XDqWU=?=");
  EXPECT_EQ(HeaderValue("a\r\nX-Evil: 1"), "a  X-Evil: 1");
}

TEST(PayloadTest, PagerDutyTriggerAndResolve) {
  const std::optional<nlohmann::json> t = PagerDutyPayload(Violated(), "R0UT1NGKEY");
  ASSERT_TRUE(t.has_value());
  const nlohmann::json& j = *t;
  EXPECT_EQ(j["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(j["event_action"], "trigger");
  EXPECT_EQ(j["dedup_key"], "lifeboat:rpo:billing:offsite");
  EXPECT_EQ(j["client"], "Lifeboat");
  const nlohmann::json& p = j["payload"];
  EXPECT_EQ(p["summary"],
            "[CRITICAL] RPO violated: billing at offsite: newest snapshot of billing at offsite "
            "is 5h 2m old; RPO 4h");
  EXPECT_EQ(p["source"], "billing");
  EXPECT_EQ(p["severity"], "critical");
  EXPECT_EQ(p["timestamp"], "2026-12-04T03:15:00Z");
  EXPECT_EQ(p["component"], "offsite");
  EXPECT_EQ(p["group"], "tier-0");
  EXPECT_EQ(p["class"], "rpo_violated");
  EXPECT_EQ(p["custom_details"]["service"], "billing");
  EXPECT_EQ(p["custom_details"]["details"]["rpo_seconds"], 14400);
  Event long_event = Violated();
  long_event.message = std::string(2000, 'm');
  EXPECT_EQ((*PagerDutyPayload(long_event, "k"))["payload"]["summary"].get<std::string>().size(),
            1024u);

  const Event restored = MakeEvent(EventType::kRpoRestored, "billing", 0, "offsite", "", kTime);
  const nlohmann::json r = *PagerDutyPayload(restored, "R0UT1NGKEY");
  EXPECT_EQ(r, (nlohmann::json{{"routing_key", "R0UT1NGKEY"},
                               {"event_action", "resolve"},
                               {"dedup_key", "lifeboat:rpo:billing:offsite"}}));
  // Run events are not problems.
  EXPECT_FALSE(PagerDutyPayload(MakeEvent(EventType::kRunSummary, "", {}, "", "", kTime), "k"));
  EXPECT_FALSE(ChannelAccepts("pagerduty", EventType::kRunStarted));
  EXPECT_TRUE(ChannelAccepts("slack", EventType::kRunStarted));
  // Site events: the source names the site.
  EXPECT_EQ((*PagerDutyPayload(MakeEvent(EventType::kSiteUnreachable, "", 1, "s3", "", kTime),
                               "k"))["payload"]["source"],
            "site:s3");
}

TEST(PayloadTest, Healthchecks) {
  const std::string url = "https://hc-ping.com/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
  auto at = [&](EventType t, nlohmann::json details = nlohmann::json::object(),
                Severity s = Severity::kInfo) {
    Event e = MakeEvent(t, "billing", 0, "offsite", "m", kTime);
    e.details = details;
    e.severity = s;
    return HealthchecksUrl(e, url + "/");
  };
  EXPECT_EQ(at(EventType::kRunStarted), url + "/start");
  EXPECT_EQ(at(EventType::kRunSummary, {{"exit_status", 0}}), url + "/0");
  EXPECT_EQ(at(EventType::kRunSummary, {{"exit_status", 3}}), url + "/3");
  EXPECT_EQ(at(EventType::kRunSummary, {}, Severity::kError), url + "/1");
  EXPECT_EQ(at(EventType::kRunSummary, {{"exit_status", 300}}), url + "/1");
  EXPECT_EQ(at(EventType::kBackupFailed), url + "/fail");
  EXPECT_EQ(at(EventType::kRpoViolated), url + "/fail");
  EXPECT_EQ(at(EventType::kSiteUnreachable), url + "/fail");
  EXPECT_EQ(at(EventType::kRpoRestored), url);
  EXPECT_EQ(at(EventType::kRpoAtRisk), url);
  Event e = Violated();
  e.message = std::string(20000, 'x');
  EXPECT_LE(HealthchecksBody(e).size(), kHealthchecksBodyLimit);
  EXPECT_EQ(HealthchecksBody(Violated()).substr(0, 33), "RPO violated: billing at offsite\n");
  EXPECT_EQ(CutBytes("aé", 2), "a");  // never half a character
}

TEST(PayloadTest, Email) {
  EmailEnvelope env{"lifeboat@example.com", {"oncall@example.com", "dba@example.com"},
                    "<id@backup1>"};
  const std::string m = EmailMessage(Violated(), env);
  EXPECT_EQ(m.substr(0, m.find("\r\n\r\n") + 4),
            "Date: Fri, 04 Dec 2026 03:15:00 +0000\r\n"
            "From: lifeboat@example.com\r\n"
            "To: oncall@example.com, dba@example.com\r\n"
            "Subject: [Lifeboat] CRITICAL RPO violated: billing at offsite\r\n"
            "Message-ID: <id@backup1>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n"
            "X-Lifeboat-Event: rpo_violated\r\n"
            "X-Lifeboat-Dedup-Key: lifeboat:rpo:billing:offsite\r\n\r\n");
  const std::string body = m.substr(m.find("\r\n\r\n") + 4);
  EXPECT_EQ(body.find("newest snapshot of billing at offsite is 5h 2m old; RPO 4h\r\n\r\n"), 0u);
  EXPECT_NE(body.find("\r\nservice: billing\r\n"), std::string::npos);
  EXPECT_EQ(body.find('\n', 0), body.find("\r\n") + 1);  // CRLF only
  // Non-ASCII: the subject is encoded, the body base64.
  Event u = Violated();
  u.service = "paie-données";
  const std::string mu = EmailMessage(u, env);
  EXPECT_NE(mu.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(mu.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
}

TEST(PayloadTest, Command) {
  Event e = Violated();
  e.message = "it's broken";
  const HeaderList env = CommandEnvironment(e);
  ASSERT_EQ(env.size(), 10u);
  EXPECT_EQ(env[0], (std::pair<std::string, std::string>{"LIFEBOAT_EVENT", "rpo_violated"}));
  EXPECT_EQ(env[3].second, "0");
  EXPECT_EQ(env[8], (std::pair<std::string, std::string>{"LIFEBOAT_EVENT_RESOLVED", "false"}));
  const std::string script = CommandScript(e, "cat > out", "/tmp/ev");
  EXPECT_NE(script.find("export LIFEBOAT_EVENT_MESSAGE='it'\\''s broken'\n"), std::string::npos);
  EXPECT_NE(script.find("exec 0<'/tmp/ev' || exit 125\ncat > out\n"), std::string::npos);
}

// The drill events (doc/notifications.md, "Drills") on every channel, field by field.
Event DrillEvent(EventType type, nlohmann::json details) {
  Event e = MakeEvent(type, "billing-db", 0, "offsite",
                      type == EventType::kDrillFailed
                          ? "drill of billing-db from offsite failed at verify step sql: expected t, got f"
                      : type == EventType::kRtoRegressed
                          ? "drill of billing-db passed in 31m; RTO 31% above the median of the last 5 drills (23m40s)"
                          : "drill of billing-db from offsite passed: RTO 24m of 1h, RPO 4m of 15m",
                      kTime);
  e.host = "backup1";
  e.details = std::move(details);
  return e;
}

TEST(EventTest, DrillEventsOpenAndResolveOneProblem) {
  EXPECT_EQ(EventTypeName(EventType::kDrillFailed), "drill_failed");
  EXPECT_EQ(EventTypeName(EventType::kDrillPassed), "drill_passed");
  EXPECT_EQ(EventTypeName(EventType::kRtoRegressed), "rto_regressed");
  EXPECT_EQ(DefaultSeverity(EventType::kDrillFailed), Severity::kError);
  EXPECT_EQ(DefaultSeverity(EventType::kRtoRegressed), Severity::kWarning);
  EXPECT_EQ(DefaultSeverity(EventType::kDrillPassed), Severity::kInfo);
  EXPECT_TRUE(IsOpening(EventType::kDrillFailed));
  EXPECT_TRUE(IsOpening(EventType::kRtoRegressed));
  EXPECT_TRUE(IsResolving(EventType::kDrillPassed));
  EXPECT_FALSE(IsOpening(EventType::kDrillPassed));
  const std::string key = "lifeboat:drill:billing-db:offsite";
  for (EventType t : {EventType::kDrillFailed, EventType::kDrillPassed, EventType::kRtoRegressed})
    EXPECT_EQ(MakeEvent(t, "billing-db", 0, "offsite", "", kTime).dedup_key, key);
  EXPECT_TRUE(MakeEvent(EventType::kDrillPassed, "a", 0, "b", "", kTime).resolved);
  EXPECT_FALSE(MakeEvent(EventType::kRtoRegressed, "a", 0, "b", "", kTime).resolved);
}

TEST(PayloadTest, DrillEventsOnEveryChannel) {
  const Event failed = DrillEvent(EventType::kDrillFailed,
                                  {{"drill_id", "5f0c2d13a9e1b7c4"}, {"failed_step", "sql"},
                                   {"error", "expected t, got f"}});
  const Event passed = DrillEvent(EventType::kDrillPassed,
                                  {{"drill_id", "77aa"}, {"achieved_rto_seconds", 1440},
                                   {"rto_seconds", 3600}});
  const Event regressed = DrillEvent(EventType::kRtoRegressed,
                                     {{"achieved_rto_seconds", 1860}, {"median_rto_seconds", 1420}});
  // Webhook / command document.
  const nlohmann::json w = WebhookDocument(failed);
  EXPECT_EQ(w["event"], "drill_failed");
  EXPECT_EQ(w["severity"], "error");
  EXPECT_EQ(w["resolved"], false);
  EXPECT_EQ(w["service"], "billing-db");
  EXPECT_EQ(w["tier"], 0);
  EXPECT_EQ(w["site"], "offsite");
  EXPECT_EQ(w["dedup_key"], "lifeboat:drill:billing-db:offsite");
  EXPECT_EQ(w["details"]["failed_step"], "sql");
  EXPECT_EQ(w.size(), 13u);
  EXPECT_EQ(WebhookDocument(passed)["resolved"], true);
  EXPECT_EQ(WebhookDocument(regressed)["severity"], "warning");
  // Slack.
  const nlohmann::json sl = SlackPayload(failed);
  EXPECT_EQ(sl["text"], "[ERROR] Drill failed: billing-db at offsite: " + failed.message);
  EXPECT_EQ(sl["blocks"][0]["text"]["text"], "Drill failed: billing-db at offsite");
  EXPECT_EQ(sl["blocks"][1]["text"]["text"], failed.message);
  EXPECT_EQ(sl["blocks"][2]["fields"][0]["text"], "*Severity*\nerror");
  EXPECT_EQ(sl["blocks"][2]["fields"].size(), 4u);
  EXPECT_EQ(sl["blocks"][3]["elements"][0]["text"],
            "lifeboat on backup1 · 2026-12-04T03:15:00Z · lifeboat:drill:billing-db:offsite");
  EXPECT_EQ(SlackPayload(regressed)["blocks"][0]["text"]["text"],
            "RTO regressed: billing-db at offsite");
  EXPECT_EQ(SlackPayload(passed)["blocks"][0]["text"]["text"], "Drill passed: billing-db at offsite");
  // ntfy.
  EXPECT_EQ(NtfyHeaders(failed, ""),
            (HeaderList{{"Content-Type", "text/plain; charset=utf-8"},
                        {"Title", "Drill failed: billing-db at offsite"},
                        {"Priority", "4"},
                        {"Tags", "x,lifeboat,drill_failed"}}));
  EXPECT_EQ(NtfyHeaders(regressed, "")[2].second, "3");
  EXPECT_EQ(NtfyHeaders(regressed, "")[3].second, "warning,lifeboat,rto_regressed");
  EXPECT_EQ(NtfyHeaders(passed, "")[2].second, "2");
  EXPECT_EQ(NtfyHeaders(passed, "")[3].second, "white_check_mark,lifeboat,drill_passed");
  EXPECT_EQ(NtfyBody(failed).substr(0, failed.message.size() + 2), failed.message + "\n\n");
  // PagerDuty: a failed drill triggers, a regression triggers as a warning under the same key,
  // a passed drill resolves it.
  const nlohmann::json pt = *PagerDutyPayload(failed, "K");
  EXPECT_EQ(pt["event_action"], "trigger");
  EXPECT_EQ(pt["dedup_key"], "lifeboat:drill:billing-db:offsite");
  EXPECT_EQ(pt["payload"]["severity"], "error");
  EXPECT_EQ(pt["payload"]["class"], "drill_failed");
  EXPECT_EQ(pt["payload"]["source"], "billing-db");
  EXPECT_EQ(pt["payload"]["component"], "offsite");
  EXPECT_EQ(pt["payload"]["group"], "tier-0");
  EXPECT_EQ(pt["payload"]["summary"], "[ERROR] Drill failed: billing-db at offsite: " + failed.message);
  EXPECT_EQ(pt["payload"]["custom_details"]["details"]["failed_step"], "sql");
  const nlohmann::json pw = *PagerDutyPayload(regressed, "K");
  EXPECT_EQ(pw["event_action"], "trigger");
  EXPECT_EQ(pw["payload"]["severity"], "warning");
  EXPECT_EQ(pw["payload"]["class"], "rto_regressed");
  EXPECT_EQ(pw["dedup_key"], pt["dedup_key"]);
  EXPECT_EQ(*PagerDutyPayload(passed, "K"),
            (nlohmann::json{{"routing_key", "K"},
                            {"event_action", "resolve"},
                            {"dedup_key", "lifeboat:drill:billing-db:offsite"}}));
  EXPECT_TRUE(ChannelAccepts("pagerduty", EventType::kDrillFailed));
  EXPECT_TRUE(ChannelAccepts("pagerduty", EventType::kDrillPassed));
  EXPECT_TRUE(ChannelAccepts("pagerduty", EventType::kRtoRegressed));
  // healthchecks: a failed drill fails the check; a passed one (also slowly) succeeds.
  const std::string hc = "https://hc-ping.com/5bf66975";
  EXPECT_EQ(HealthchecksUrl(failed, hc), hc + "/fail");
  EXPECT_EQ(HealthchecksUrl(passed, hc), hc);
  EXPECT_EQ(HealthchecksUrl(regressed, hc), hc);
  EXPECT_EQ(HealthchecksBody(failed).substr(0, 37), "Drill failed: billing-db at offsite\n" + failed.message.substr(0, 1));
  // E-mail.
  const std::string m = EmailMessage(failed, EmailEnvelope{"lb@example.com", {"dr@example.com"}, "<i@h>"});
  EXPECT_NE(m.find("\r\nSubject: [Lifeboat] ERROR Drill failed: billing-db at offsite\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("\r\nX-Lifeboat-Event: drill_failed\r\n"), std::string::npos);
  EXPECT_NE(m.find("\r\nX-Lifeboat-Dedup-Key: lifeboat:drill:billing-db:offsite\r\n"),
            std::string::npos);
  EXPECT_NE(m.find("\r\ndetails: {\"drill_id\":\"5f0c2d13a9e1b7c4\",\"error\":\"expected t, got f\","
                   "\"failed_step\":\"sql\"}\r\n"),
            std::string::npos);
  EXPECT_EQ(EmailSubject(regressed), "[Lifeboat] WARNING RTO regressed: billing-db at offsite");
  // Command.
  const HeaderList env = CommandEnvironment(passed);
  EXPECT_EQ(env[0].second, "drill_passed");
  EXPECT_EQ(env[1].second, "info");
  EXPECT_EQ(env[2].second, "billing-db");
  EXPECT_EQ(env[4].second, "offsite");
  EXPECT_EQ(env[7].second, "lifeboat:drill:billing-db:offsite");
  EXPECT_EQ(env[8].second, "true");
  EXPECT_EQ(CommandEnvironment(failed)[8].second, "false");
}

}  // namespace
}  // namespace lifeboat::notify
