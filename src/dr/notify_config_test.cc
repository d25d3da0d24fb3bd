#include "dr/notify_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <variant>

#include "plan/validate.h"

namespace lifeboat::dr {
namespace {

TEST(NotifyConfigTest, ChannelsAndRoutesFromThePlan) {
  setenv("NOTIFY_CONFIG_TEST_AUTH", "Bearer tok-Qr5-s3cr3t", 1);
  unsetenv("NOTIFY_CONFIG_TEST_UNSET");
  const std::string text =
      "version: 1\n"
      "sites:\n"
      "  a: {repository: /srv/a, password_file: /etc/pw}\n"
      "services:\n"
      "  db: {tier: 0, rpo: 1h, sources: [{paths: [/srv]}], sites: [a]}\n"
      "notifications:\n"
      "  channels:\n"
      "    hook: {type: webhook, url: \"http://127.0.0.1:1/x\", timeout: 30s,\n"
      "           headers: {Authorization_env: NOTIFY_CONFIG_TEST_AUTH}}\n"
      "    chat: {type: slack, webhook_url_env: NOTIFY_CONFIG_TEST_UNSET}\n"
      "    run: {type: command, command: [/bin/echo, \"it's\"]}\n"
      "  routes:\n"
      "    - {events: [rpo_violated, site_unreachable], tiers: [0], channels: [hook],\n"
      "       escalate_after: 30m, escalate_to: [run]}\n"
      "    - {channels: [chat, run]}\n";
  plan::LoadedPlan loaded = plan::CheckPlanText(text, "p.yaml");
  ASSERT_EQ(loaded.errors, 0u);
  PlanNotifyConfig n = NotifyConfigFromPlan(loaded.plan, "/tmp/state.json", Context());
  EXPECT_EQ(n.options.state_path, "/tmp/state.json");
  // chat's secret is not set: left out, with a warning that names it but holds no value.
  ASSERT_EQ(n.warnings.size(), 1u);
  EXPECT_NE(n.warnings[0].find("channel chat"), std::string::npos) << n.warnings[0];
  EXPECT_NE(n.warnings[0].find("NOTIFY_CONFIG_TEST_UNSET"), std::string::npos) << n.warnings[0];
  ASSERT_EQ(n.options.channels.size(), 2u);
  const auto& hook = std::get<notify::WebhookConfig>(n.options.channels[0].spec);
  EXPECT_EQ(hook.url, "http://127.0.0.1:1/x");
  ASSERT_EQ(hook.headers.size(), 1u);
  EXPECT_EQ(hook.headers[0].first, "Authorization");
  EXPECT_EQ(hook.headers[0].second, "Bearer tok-Qr5-s3cr3t");
  const auto& run = std::get<notify::CommandConfig>(n.options.channels[1].spec);
  EXPECT_EQ(run.command, "'/bin/echo' 'it'\\''s'");
  EXPECT_EQ(n.options.retry.request_timeout, std::chrono::seconds(30));
  ASSERT_EQ(n.options.router.routes.size(), 2u);
  const notify::Route& r1 = n.options.router.routes[0];
  EXPECT_EQ(r1.id, "route-1");
  EXPECT_EQ(r1.events, (std::vector<notify::EventType>{notify::EventType::kRpoViolated,
                                                       notify::EventType::kSiteUnreachable}));
  EXPECT_EQ(r1.tiers, std::vector<int>{0});
  EXPECT_EQ(r1.escalate_after, std::chrono::minutes(30));
  EXPECT_EQ(r1.escalate_to, std::vector<std::string>{"run"});
  // No events given: every event (run_started and site_recovered included).
  EXPECT_TRUE(n.options.router.routes[1].events.empty());
  EXPECT_EQ(n.options.router.routes[1].channels, (std::vector<std::string>{"chat", "run"}));
}

}  // namespace
}  // namespace lifeboat::dr
