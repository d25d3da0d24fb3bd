// The runbook as a library: its NIST SP 800-34 sections, the commands of each site and service
// (quoting, real CLI flags, no secret value anywhere), the wave order, the drill appendix with a
// site that cannot be read, and escaping of plan strings in Markdown and HTML. The commands
// themselves are run by tests/runbook_test.sh.
#include "dr/runbook.h"

#include <gtest/gtest.h>

#include "plan/validate.h"

namespace lifeboat::dr {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;  // 2026-11-30 00:53:20 UTC

// Two sites (one with a password command, S3 options and credentials), a postgres service, a web
// service after it, and a service whose name and owner hold markup and quotes.
const char* kPlan = R"(version: 1
sites:
  local:
    repository: /srv/lifeboat/repo
    password_file: "/etc/lifeboat/it's local.pass"
    location: rack 4
  offsite:
    repository: s3:https://s3.example.net/dr/lifeboat
    password_command: "pass show lifeboat/offsite"
    env:
      AWS_ACCESS_KEY_ID_file: /etc/lifeboat/aws.id
      AWS_SECRET_ACCESS_KEY_env: DR_AWS_SECRET
    role: offsite
    options: {s3.region: eu-central-1}
    immutable: true
services:
  billing-db:
    owner: finance-it
    tier: 0
    rpo: 15m
    rto: 1h
    mtd: 4h
    sources:
      - name: billing
        postgres: {host: 10.0.0.5, port: 5433, database: billing, user: backup,
                   password_file: /etc/lifeboat/pg.pass}
    sites: [local, offsite]
    recover:
      - postgres_restore: {}
    verify:
      - sql: {query: "select count(*) > 0 from invoices", expect: "t"}
  shop:
    owner: web-team
    tier: 1
    rpo: 1h
    rto: 2h
    depends_on: [billing-db]
    sources:
      - name: uploads
        paths: [/srv/shop/uploads]
    sites: [offsite]
    recover:
      - command: "exec shop --data $LIFEBOAT_RESTORE_DIR/srv/shop --port $LIFEBOAT_PORT_HTTP"
        background: true
        ports: {http: 8080}
        timeout: 2m
    verify:
      - files: {}
      - http: {port: http, path: /health, expect_body: "it's ok"}
      - command: {run: ["shop-selftest", "--say", "a b"], expect_output: "all good"}
  x-script:
    owner: "<script>alert('owner')</script>"
    tier: 3
    rpo: 1d
    sources:
      - paths: ["/srv/<script>alert(1)</script>"]
    sites: [local]
contacts:
  alice:
    role: DR coordinator
    email: alice@example.com
    phone: "+49 30 1234567"
    channels: [pager]
notifications:
  channels:
    pager: {type: pagerduty, routing_key_file: /etc/lifeboat/pd.key}
  routes:
    - events: [drill_failed]
      channels: [pager]
)";

plan::Plan LoadTestPlan(const std::string& text = kPlan) {
  plan::LoadedPlan loaded = plan::CheckPlanText(text, "/etc/lifeboat/lifeboat.yaml");
  EXPECT_EQ(loaded.errors, 0u);
  return loaded.plan;
}

DrillHistory History(const plan::Plan& plan, std::vector<DrillRecord> records) {
  return BuildDrillHistory(plan, {}, records, kT0 + 3600 * kSecond);
}

// The text of the command block with this marker ("" when there is none).
std::string Block(const Runbook& book, const std::string& marker) {
  for (const RunbookBlock& b : book.blocks)
    if (b.kind == RunbookBlock::Kind::kCommands && b.marker == marker) return b.text;
  return "";
}

std::vector<std::string> Headings(const Runbook& book, int level) {
  std::vector<std::string> out;
  for (const RunbookBlock& b : book.blocks)
    if (b.kind == RunbookBlock::Kind::kHeading && b.level == level) out.push_back(b.text);
  return out;
}

TEST(RunbookTest, FollowsTheContingencyPlanStructure) {
  plan::Plan plan = LoadTestPlan();
  Result<Runbook> book = BuildRunbook(plan, History(plan, {}), {});
  ASSERT_TRUE(book.ok()) << book.status().ToString();
  EXPECT_EQ(Headings(*book, 2),
            (std::vector<std::string>{
                "1. Supporting information", "2. Activation and notification", "3. Recovery",
                "4. Reconstitution", "Appendix A. Drill results",
                "Appendix B. Where every secret comes from", "Appendix C. Incidents"}));
  const std::vector<std::string> h3 = Headings(*book, 3);
  for (const char* want : {"2.1 Activation criteria and who declares a disaster",
                           "2.2 Notification procedures", "2.3 Outage assessment",
                           "3.1 Sequence of recovery activities", "3.3 Recovery procedures",
                           "4.1 Validation data testing", "4.2 Validation functionality testing",
                           "4.3 Recovery declaration", "4.5 Cleanup",
                           "4.6 Backup of the restored system", "4.7 Event documentation"})
    EXPECT_NE(std::find(h3.begin(), h3.end(), want), h3.end()) << want;
  // Services in wave order: billing-db and x-script in wave 1 (billing first: tier 0), shop after.
  std::vector<std::string> services;
  for (const std::string& h : Headings(*book, 4))
    if (h.starts_with("Wave ")) services.push_back(h.substr(0, h.find(" (")));
  EXPECT_EQ(services, (std::vector<std::string>{"Wave 1: billing-db",
                                                "Wave 1: x-script", "Wave 2: shop"}));
}

TEST(RunbookTest, TheCoordinatorDeclaresElseTheMostCriticalOwners) {
  plan::Plan plan = LoadTestPlan();
  std::string md = RunbookMarkdown(*BuildRunbook(plan, History(plan, {}), {}));
  EXPECT_NE(md.find("- alice (DR coordinator), phone +49 30 1234567, e-mail alice@example.com"),
            std::string::npos);
  plan.contacts.clear();
  md = RunbookMarkdown(*BuildRunbook(plan, History(plan, {}), {}));
  EXPECT_NE(md.find("the owners of the most critical (tier-0) services"), std::string::npos);
  EXPECT_NE(md.find("- finance-it (owner of tier-0 services)"), std::string::npos);
}

TEST(RunbookTest, SitePreparationNamesWhereSecretsComeFromNeverTheirValues) {
  plan::Plan plan = LoadTestPlan();
  Result<Runbook> book = BuildRunbook(plan, History(plan, {}), {.recovery_dir = "/var/tmp/r"});
  ASSERT_TRUE(book.ok());
  const std::string local = Block(*book, "site=local part=prepare");
  EXPECT_NE(local.find("[ -n \"${RECOVERY_DIR:-}\" ] || RECOVERY_DIR='/var/tmp/r'\n"),
            std::string::npos);
  EXPECT_NE(local.find("export LIFEBOAT_PASSWORD_FILE='/etc/lifeboat/it'\\''s local.pass'\n"),
            std::string::npos)
      << local;
  EXPECT_NE(local.find("lifeboat snapshots --repo '/srv/lifeboat/repo'\n"), std::string::npos);
  const std::string offsite = Block(*book, "site=offsite part=prepare");
  EXPECT_NE(offsite.find("export LIFEBOAT_PASSWORD_COMMAND='pass show lifeboat/offsite'\n"),
            std::string::npos);
  EXPECT_NE(offsite.find("export AWS_ACCESS_KEY_ID=\"$(head -n 1 '/etc/lifeboat/aws.id')\"\n"),
            std::string::npos);
  EXPECT_NE(offsite.find("export AWS_SECRET_ACCESS_KEY=\"$DR_AWS_SECRET\"\n"), std::string::npos);
  EXPECT_NE(offsite.find("lifeboat snapshots --repo 's3:https://s3.example.net/dr/lifeboat' -o "
                         "'s3.region=eu-central-1'\n"),
            std::string::npos)
      << offsite;
}

TEST(RunbookTest, RestoresEverySourceWithTheRealFlags) {
  plan::Plan plan = LoadTestPlan();
  Result<Runbook> book = BuildRunbook(plan, History(plan, {}), {});
  ASSERT_TRUE(book.ok());
  EXPECT_EQ(Block(*book, "service=billing-db site=local part=restore"),
            "# the service's snapshots at site local (for an older state, use an id from this "
            "list instead of latest)\n"
            "lifeboat snapshots --repo '/srv/lifeboat/repo' --service 'billing-db'\n"
            "# source billing (postgres) (/etc/lifeboat/lifeboat.yaml:24:9)\n"
            "lifeboat restore latest --repo '/srv/lifeboat/repo' --service 'billing-db' --source "
            "'billing' --target \"$LIFEBOAT_RESTORE_DIR\"\n");
  // shop has a files check: its restore verifies; it is kept at offsite only.
  const std::string shop = Block(*book, "service=shop site=offsite part=restore");
  EXPECT_NE(shop.find("--service 'shop' --source 'uploads' --target \"$LIFEBOAT_RESTORE_DIR\" "
                      "--verify\n"),
            std::string::npos)
      << shop;
  EXPECT_EQ(Block(*book, "service=shop site=local part=restore"), "");
}

TEST(RunbookTest, RecoverStepsAndChecksAsCommands) {
  plan::Plan plan = LoadTestPlan();
  Result<Runbook> book = BuildRunbook(plan, History(plan, {}), {});
  ASSERT_TRUE(book.ok());
  const std::string db = Block(*book, "service=billing-db part=start");
  EXPECT_NE(db.find("[ -n \"${PGHOST:-}\" ] || PGHOST='10.0.0.5'\n"), std::string::npos) << db;
  EXPECT_NE(db.find("export PGPASSWORD=\"$(head -n 1 '/etc/lifeboat/pg.pass')\"\n"),
            std::string::npos);
  EXPECT_NE(db.find("timeout 600 pg_restore --create --no-owner --no-privileges "
                    "--exit-on-error --dbname=postgres \"$LIFEBOAT_RESTORE_DIR\"/"
                    "'billing.pgdump'\n"),
            std::string::npos)
      << db;
  EXPECT_NE(Block(*book, "service=billing-db part=verify")
                .find("test \"$(timeout 60 psql --no-psqlrc --no-align --tuples-only --set "
                      "ON_ERROR_STOP=1 --dbname='billing' --command 'select count(*) > 0 from "
                      "invoices' | sed -n 1p | cut -d '|' -f 1)\" = 't'\n"),
            std::string::npos);

  const std::string env = Block(*book, "service=shop part=env");
  EXPECT_NE(env.find("export LIFEBOAT_PORT_HTTP=8080\n"), std::string::npos) << env;
  EXPECT_NE(env.find("export LIFEBOAT_RESTORE_DIR_BILLING_DB=\"$RECOVERY_DIR/services/\""
                     "'billing-db'\n"),
            std::string::npos);
  EXPECT_NE(env.find("export LIFEBOAT_PG_HOST_BILLING_DB='10.0.0.5' LIFEBOAT_PG_PORT_BILLING_DB=5433"),
            std::string::npos);
  const std::string start = Block(*book, "service=shop part=start");
  // The step runs without the repository's secrets: the offsite site's password command, its
  // credentials and every _env variable of the plan are removed from its environment.
  EXPECT_NE(start.find("nohup env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u DR_AWS_SECRET "
                       "-u LIFEBOAT_PASSWORD_COMMAND '/bin/sh' '-c' 'exec shop --data "
                       "$LIFEBOAT_RESTORE_DIR/srv/shop --port $LIFEBOAT_PORT_HTTP' </dev/null "
                       ">\"$RECOVERY_DIR/logs/\"'shop.step1'.log 2>&1 &\n"),
            std::string::npos)
      << start;
  EXPECT_NE(start.find("timeout 120 bash -c"), std::string::npos);
  const std::string verify = Block(*book, "service=shop part=verify");
  EXPECT_NE(verify.find("\"http://\"'127.0.0.1'\":\"\"$LIFEBOAT_PORT_HTTP\"'/health' | grep -x 200\n"),
            std::string::npos)
      << verify;
  EXPECT_NE(verify.find("grep -F -- 'it'\\''s ok' "), std::string::npos);
  EXPECT_NE(verify.find("timeout 60 'shop-selftest' '--say' 'a b' | grep -F -- 'all good'\n"),
            std::string::npos);
}

TEST(RunbookTest, AppendixShowsTheNewestDrillAndNamesUnreadableSites) {
  plan::Plan plan = LoadTestPlan();
  DrillRecord r;
  r.id = NewDrillRecordId();
  r.drill_id = NewDrillId();
  r.service = "billing-db";
  r.site = "offsite";
  r.start_ns = kT0;
  r.end_ns = kT0 + 90 * kSecond;
  r.achieved_rto_ns = 90 * kSecond;
  r.achieved_rpo_ns = 240 * kSecond;
  r.rto_target_ns = 3600 * kSecond;
  r.rpo_target_ns = 900 * kSecond;
  r.steps = {{"restore billing", DrillStepKind::kRestore, kT0, r.end_ns, DrillResult::kPassed,
              "", ""}};
  DrillHistory history = History(plan, {r});
  history.warnings.push_back("site local could not be read: no repository at /srv/lifeboat/repo");
  Result<Runbook> book = BuildRunbook(plan, history, {});
  ASSERT_TRUE(book.ok());
  const std::string md = RunbookMarkdown(*book);
  EXPECT_NE(md.find("| billing-db | 0 | 1 | 2026-11-30 00:53:20 from offsite | passed | 1m30s / 1h "
                    "| 4m / 15m |"),
            std::string::npos)
      << md.substr(md.find("Appendix A"));
  EXPECT_NE(md.find("| shop | 1 | 0 | never drilled |"), std::string::npos);
  EXPECT_NE(md.find("- site local could not be read: no repository at /srv/lifeboat/repo"),
            std::string::npos);
  EXPECT_EQ(book->warnings, history.warnings);
}

IncidentRecord Incident(IncidentKind kind, IncidentState state, int64_t start_ns,
                        const std::string& from, const std::string& to) {
  IncidentRecord r;
  r.id = NewIncidentId();
  r.sequence = 2;
  r.kind = kind;
  r.state = state;
  r.declared_by = "daemon offsite: 3 failed health checks of <shop>";
  r.from_site = from;
  r.to_site = to;
  r.host = "dr1";
  r.version = "lifeboat test";
  r.start_ns = start_ns;
  IncidentService db;
  db.service = "billing-db";
  db.tier = 0;
  db.wave = 0;
  db.result = "recovered";
  db.rto_seconds = 245;
  db.rto_target_seconds = 3600;
  db.data_loss_seconds = 450;
  db.rpo_target_seconds = 900;
  IncidentService shop = db;
  shop.service = "shop";
  shop.result = "failed";
  shop.error = "switch step vip failed";
  shop.rto_seconds.reset();
  shop.rto_target_seconds = 7200;
  r.services = {db, shop};
  return r;
}

TEST(RunbookTest, AppendixListsTheIncidentsNewestFirst) {
  plan::Plan plan = LoadTestPlan();
  IncidentRecord failover =
      Incident(IncidentKind::kFailover, IncidentState::kClosed, kT0, "local", "offsite");
  IncidentRecord failback = Incident(IncidentKind::kFailback, IncidentState::kCommitted,
                                     kT0 + 86400 * kSecond, "offsite", "local");
  failback.services.pop_back();
  IncidentHistory incidents = BuildIncidentHistory(
      {{"offsite", {failover}}, {"local", {failback, failover}}}, kT0 + 2 * 86400 * kSecond);
  incidents.sites_read = {"local", "offsite"};
  incidents.warnings = {"site gone cannot be opened: its incident records are left out"};
  Result<Runbook> book = BuildRunbook(plan, History(plan, {}), {}, incidents);
  ASSERT_TRUE(book.ok()) << book.status().ToString();
  const std::string md = RunbookMarkdown(*book);
  const std::string appendix = md.substr(md.find("## Appendix C. Incidents"));
  const std::string back_row =
      "| 2026-12-01 00:53:20 | failback | committed | offsite → local | daemon offsite: 3 failed "
      "health checks of &lt;shop&gt; | billing-db | recovered | 4m5s / 1h | 7m30s / 15m |";
  const std::string over_row =
      "| 2026-11-30 00:53:20 | failover | closed | local → offsite | daemon offsite: 3 failed "
      "health checks of &lt;shop&gt; | billing-db | recovered | 4m5s / 1h | 7m30s / 15m |";
  const std::string shop_row =
      "|  |  |  |  |  | shop | failed: switch step vip failed | - / 2h | 7m30s / 15m |";
  ASSERT_NE(appendix.find(back_row), std::string::npos) << appendix;
  ASSERT_NE(appendix.find(over_row), std::string::npos) << appendix;
  ASSERT_NE(appendix.find(shop_row), std::string::npos) << appendix;
  EXPECT_LT(appendix.find(back_row), appendix.find(over_row));  // newest first
  EXPECT_LT(appendix.find(over_row), appendix.find(shop_row));
  EXPECT_NE(appendix.find("recorded in the sites local, offsite"), std::string::npos);
  EXPECT_NE(appendix.find("- site gone cannot be opened"), std::string::npos);
  EXPECT_EQ(book->warnings, incidents.warnings);
  // The same in HTML, escaped.
  const std::string html = RunbookHtml(*book);
  EXPECT_NE(html.find("Appendix C. Incidents"), std::string::npos);
  EXPECT_NE(html.find("local → offsite"), std::string::npos);
  EXPECT_NE(html.find("health checks of &lt;shop&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<shop>"), std::string::npos);
  EXPECT_NE(html.find("failed: switch step vip failed"), std::string::npos);
  // Without incidents the appendix says so.
  const std::string none = RunbookMarkdown(*BuildRunbook(plan, History(plan, {}), {}));
  EXPECT_NE(none.find("No failover or failback is recorded in no site."), std::string::npos);
}

TEST(RunbookTest, PlanStringsAreEscapedInMarkdownAndHtml) {
  plan::Plan plan = LoadTestPlan();
  Result<Runbook> book = BuildRunbook(plan, History(plan, {}), {});
  ASSERT_TRUE(book.ok());
  const std::string md = RunbookMarkdown(*book);
  const std::string html = RunbookHtml(*book);
  // Outside command blocks, no markup from the plan survives.
  std::string prose;
  bool in_block = false;
  for (size_t i = 0, j; i < md.size(); i = j + 1) {
    j = md.find('\n', i);
    if (j == std::string::npos) j = md.size();
    const std::string line = md.substr(i, j - i);
    if (line.starts_with("```")) in_block = !in_block;
    else if (!in_block) prose += line + "\n";
  }
  EXPECT_EQ(prose.find("<script"), std::string::npos);
  EXPECT_NE(prose.find("&lt;script&gt;alert('owner')&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;owner&#39;)&lt;/script&gt;"), std::string::npos);
  // The commands are the same text in both, behind the same marker line.
  const std::string text = "# lifeboat-runbook: service=shop part=verify\n";
  EXPECT_NE(md.find("```sh\n" + text), std::string::npos);
  EXPECT_NE(html.find("<pre class=\"commands\"><code>" + text), std::string::npos);
}

TEST(RunbookTest, NoSecretValueEverAppears) {
  // Secrets never reach the plan structs (references only); the rendered runbook holds the
  // references and nothing that could be resolved from them.
  plan::Plan plan = LoadTestPlan();
  const std::string md = RunbookMarkdown(*BuildRunbook(plan, History(plan, {}), {}));
  EXPECT_NE(md.find("the first line printed by `pass show lifeboat/offsite`"), std::string::npos);
  EXPECT_NE(md.find("the environment variable DR_AWS_SECRET"), std::string::npos);
  EXPECT_NE(md.find("routing key: secret from the first line of the file /etc/lifeboat/pd.key"),
            std::string::npos);
}

}  // namespace
}  // namespace lifeboat::dr
