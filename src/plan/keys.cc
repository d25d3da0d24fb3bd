#include "plan/keys.h"

#include <algorithm>

#include "util/nearest_name.h"

namespace lifeboat::plan {

namespace {

using VT = ValueType;
using SV = std::string_view;

constexpr SV kRoles[] = {"primary", "secondary", "offsite"};
constexpr SV kReplications[] = {"async", "sync"};
constexpr SV kEvents[] = {"backup_failed",  "backup_recovered", "rpo_at_risk",
                          "rpo_violated",   "rpo_restored",     "site_unreachable",
                          "run_summary",    "drill_failed",     "drill_passed",
                          "rto_regressed",  "failover_started", "service_recovered",
                          "failover_failed", "failover_committed", "failover_rolled_back",
                          "service_down",   "lease_lost"};
constexpr SV kChannelTypes[] = {"webhook", "slack", "ntfy", "pagerduty",
                                "healthchecks", "email", "command"};
constexpr SV kGroupBy[] = {"host", "paths", "tags"};

// ---- sites
constexpr KeySpec kSiteKeys[] = {
    {"repository", VT::kString, "the repository location, as --repo takes it", nullptr, {}, true},
    {"password", VT::kSecret, "the repository password", nullptr, {}, true},
    {"env", VT::kSecretMap, "environment variables for the backend: NAME_file, NAME_command, NAME_env"},
    {"role", VT::kEnum, "what the site is for", nullptr, kRoles, false, "\"primary\""},
    {"location", VT::kString, "where the site is, for people", nullptr, {}, false, "\"\""},
    {"media", VT::kString, "the kind of storage for the 3-2-1 rule (default: from the scheme)"},
    {"options", VT::kStringMap, "the backend's -o options"},
    {"immutable", VT::kBoolean, "append-only or object-locked: never forgotten or pruned",
     nullptr, {}, false, "false"},
    {"price_per_gib_month", VT::kNumber,
     "what one GiB stored at the site costs per month (the BIA's cost of protection)", nullptr, {},
     false, {}, 0},
    {"currency", VT::kString, "the currency of price_per_gib_month (default: the plan's currency)"},
    {"recovery_root", VT::kString,
     "where a failover to this site restores sources, at their absolute paths below it", nullptr,
     {}, false, "\"/\""},
};
constexpr ObjectSpec kSite{"site", "site", "Sites", kSiteKeys};

// ---- retention (the keys of retention::PolicyFromJson)
constexpr int64_t kMinCount = -1;
constexpr KeySpec kRetentionKeys[] = {
    {"keep_last", VT::kInteger, "the N newest snapshots", nullptr, {}, false, {}, kMinCount},
    {"keep_hourly", VT::kInteger, "one per hour for N hours", nullptr, {}, false, {}, kMinCount},
    {"keep_daily", VT::kInteger, "one per day for N days", nullptr, {}, false, {}, kMinCount},
    {"keep_weekly", VT::kInteger, "one per ISO week for N weeks", nullptr, {}, false, {}, kMinCount},
    {"keep_monthly", VT::kInteger, "one per month for N months", nullptr, {}, false, {}, kMinCount},
    {"keep_yearly", VT::kInteger, "one per year for N years", nullptr, {}, false, {}, kMinCount},
    {"keep_within", VT::kCalendarDuration, "every snapshot within D of the newest"},
    {"keep_within_hourly", VT::kCalendarDuration, "one per hour within D"},
    {"keep_within_daily", VT::kCalendarDuration, "one per day within D"},
    {"keep_within_weekly", VT::kCalendarDuration, "one per week within D"},
    {"keep_within_monthly", VT::kCalendarDuration, "one per month within D"},
    {"keep_within_yearly", VT::kCalendarDuration, "one per year within D"},
    {"keep_tags", VT::kStringListList, "every snapshot with all tags of one set"},
    {"group_by", VT::kEnumList, "what snapshots of one group share", nullptr, kGroupBy, false,
     "[\"host\",\"paths\"]"},
};
constexpr ObjectSpec kRetention{"retention", "retention", "Retention", kRetentionKeys};

// ---- sources
constexpr KeySpec kSourcePathsKeys[] = {
    {"name", VT::kName, "the source's name (default: the kind)"},
    {"paths", VT::kStringList, "absolute paths to back up", nullptr, {}, true, {}, 0, 0, true},
    {"exclude", VT::kStringList, "patterns, as backup --exclude", nullptr, {}, false, "[]"},
    {"exclude_file", VT::kStringList, "files of patterns, as backup --exclude-file", nullptr, {},
     false, "[]"},
    {"one_file_system", VT::kBoolean, "as backup --one-file-system", nullptr, {}, false, "false"},
};
constexpr KeySpec kSourceCommandKeys[] = {
    {"name", VT::kName, "the source's name (default: the kind)"},
    {"command", VT::kCommand, "its standard output becomes one file of the snapshot", nullptr, {},
     true},
    {"filename", VT::kString, "the file name in the snapshot (default: the source's name)"},
    {"timeout", VT::kDuration, "stopped after this long", nullptr, {}, false, "\"6h\""},
};
constexpr KeySpec kPostgresKeys[] = {
    {"dsn", VT::kString, "a libpq connection string or URI, without a password"},
    {"host", VT::kString, "server host (default: libpq's)"},
    {"port", VT::kInteger, "server port", nullptr, {}, false, "5432", 1, 65535},
    {"database", VT::kString, "the database, or \"all\" for pg_dumpall"},
    {"user", VT::kString, "the role to connect as (default: libpq's)"},
    {"password", VT::kSecret, "the role's password (default: ~/.pgpass, PGPASSWORD)"},
    {"timeout", VT::kDuration, "the dump is stopped after this long", nullptr, {}, false, "\"6h\""},
};
constexpr ObjectSpec kPostgres{"postgres", "postgres source", "Sources", kPostgresKeys};
constexpr KeySpec kSqliteKeys[] = {
    {"path", VT::kString, "the database file (absolute)", nullptr, {}, true},
};
constexpr ObjectSpec kSqlite{"sqlite", "sqlite source", "Sources", kSqliteKeys};
constexpr KeySpec kSourcePostgresKeys[] = {
    {"name", VT::kName, "the source's name (default: the kind)"},
    {"postgres", VT::kObject, "a PostgreSQL database", &kPostgres, {}, true},
};
constexpr KeySpec kSourceSqliteKeys[] = {
    {"name", VT::kName, "the source's name (default: the kind)"},
    {"sqlite", VT::kObject, "an SQLite database", &kSqlite, {}, true},
};
constexpr ObjectSpec kSourcePaths{"source_paths", "source", "Sources", kSourcePathsKeys};
constexpr ObjectSpec kSourceCommand{"source_command", "source", "Sources", kSourceCommandKeys};
constexpr ObjectSpec kSourcePostgres{"source_postgres", "source", "Sources", kSourcePostgresKeys};
constexpr ObjectSpec kSourceSqlite{"source_sqlite", "source", "Sources", kSourceSqliteKeys};
constexpr VariantSpec kSourceVariants[] = {{"paths", &kSourcePaths},
                                           {"command", &kSourceCommand},
                                           {"postgres", &kSourcePostgres},
                                           {"sqlite", &kSourceSqlite}};
constexpr ObjectSpec kSource{"source", "source", "Sources", {}, ObjectSpec::VariantBy::kKey,
                             kSourceVariants};

// ---- schedule, impact, hooks
constexpr KeySpec kScheduleKeys[] = {
    {"cron", VT::kString, "a cron expression or @hourly-style macro", nullptr, {}, true},
    {"timezone", VT::kString, "an IANA time zone", nullptr, {}, false, "\"UTC\""},
};
constexpr ObjectSpec kSchedule{"schedule", "schedule", "Schedules", kScheduleKeys,
                               ObjectSpec::VariantBy::kNone, {}, "cron"};
constexpr KeySpec kImpactKeys[] = {
    {"downtime_cost_per_hour", VT::kNumber, "cost of one hour of outage", nullptr, {}, false, {}, 0},
    {"data_loss_cost_per_hour", VT::kNumber, "cost of losing one hour of data", nullptr, {}, false,
     {}, 0},
    {"currency", VT::kString, "the currency of both (default: the plan's currency)"},
    {"notes", VT::kString, "anything else the BIA should say", nullptr, {}, false, "\"\""},
};
constexpr ObjectSpec kImpact{"impact", "impact", "Impact", kImpactKeys};
constexpr KeySpec kHooksKeys[] = {
    {"before", VT::kCommandList, "run before the backup", nullptr, {}, false, "[]"},
    {"after", VT::kCommandList, "run after a successful backup", nullptr, {}, false, "[]"},
    {"on_error", VT::kCommandList, "run when the backup or a hook failed", nullptr, {}, false, "[]"},
    {"timeout", VT::kDuration, "each hook command is stopped after this long", nullptr, {}, false,
     "900"},
};
constexpr ObjectSpec kHooks{"hooks", "hooks", "Hooks", kHooksKeys};

// ---- recover steps and verify checks
constexpr KeySpec kPostgresRestoreKeys[] = {
    {"source", VT::kName, "the postgres source to restore (default: the only one)"},
};
constexpr ObjectSpec kPostgresRestore{"postgres_restore", "postgres_restore step",
                                      "Recover and verify", kPostgresRestoreKeys};
constexpr KeySpec kRecoverPostgresKeys[] = {
    {"postgres_restore", VT::kObject, "restore a postgres source into a scratch cluster",
     &kPostgresRestore, {}, true},
    {"timeout", VT::kDuration, "the step fails after this long", nullptr, {}, false, "\"10m\""},
};
constexpr KeySpec kRecoverCommandKeys[] = {
    {"command", VT::kCommand, "a command run with the step's environment", nullptr, {}, true},
    {"background", VT::kBoolean, "serves until the drill or failover ends", nullptr, {}, false,
     "false"},
    {"ports", VT::kPortMap, "LIFEBOAT_PORT_<NAME>: this port in a failover, a free one in a drill"},
    {"timeout", VT::kDuration, "the step fails after this long", nullptr, {}, false, "\"10m\""},
};
constexpr ObjectSpec kRecoverPostgres{"recover_postgres_restore", "recover step",
                                      "Recover and verify", kRecoverPostgresKeys};
constexpr ObjectSpec kRecoverCommand{"recover_command", "recover step", "Recover and verify",
                                     kRecoverCommandKeys};
constexpr VariantSpec kRecoverVariants[] = {{"postgres_restore", &kRecoverPostgres},
                                            {"command", &kRecoverCommand}};
constexpr ObjectSpec kRecoverStep{"recover_step", "recover step", "Recover and verify", {},
                                  ObjectSpec::VariantBy::kKey, kRecoverVariants};

constexpr KeySpec kTcpKeys[] = {
    {"port", VT::kPort, "a port number or a port name of a recover step", nullptr, {}, true},
    {"host", VT::kString, "the host to connect to", nullptr, {}, false, "\"127.0.0.1\""},
};
constexpr KeySpec kHttpKeys[] = {
    {"port", VT::kPort, "a port number or a port name of a recover step", nullptr, {}, true},
    {"host", VT::kString, "the host to connect to", nullptr, {}, false, "\"127.0.0.1\""},
    {"path", VT::kString, "the path to GET", nullptr, {}, false, "\"/\""},
    {"expect_status", VT::kInteger, "the expected HTTP status", nullptr, {}, false, "200", 100,
     599},
    {"expect_body", VT::kString, "a text the body must contain"},
};
constexpr KeySpec kCheckCommandKeys[] = {
    {"run", VT::kCommand, "the command; must exit 0", nullptr, {}, true},
    {"expect_output", VT::kString, "a text its output must contain"},
};
constexpr KeySpec kSqlKeys[] = {
    {"query", VT::kString, "the query", nullptr, {}, true},
    {"expect", VT::kString, "the first column of the first row, as text"},
    {"source", VT::kName, "the postgres source (default: the only one)"},
};
constexpr ObjectSpec kTcp{"tcp", "tcp check", "Recover and verify", kTcpKeys};
constexpr ObjectSpec kHttp{"http", "http check", "Recover and verify", kHttpKeys};
constexpr ObjectSpec kCheckCommand{"check_command", "command check", "Recover and verify",
                                   kCheckCommandKeys};
constexpr ObjectSpec kSql{"sql", "sql check", "Recover and verify", kSqlKeys};
constexpr ObjectSpec kFiles{"files", "files check", "Recover and verify", {}};
constexpr SV kCheckTimeout = "\"1m\"";
constexpr KeySpec kVerifyTcpKeys[] = {
    {"tcp", VT::kObject, "a TCP connection succeeds", &kTcp, {}, true},
    {"timeout", VT::kDuration, "the check fails after this long", nullptr, {}, false, kCheckTimeout}};
constexpr KeySpec kVerifyHttpKeys[] = {
    {"http", VT::kObject, "an HTTP GET answers as expected", &kHttp, {}, true},
    {"timeout", VT::kDuration, "the check fails after this long", nullptr, {}, false, kCheckTimeout}};
constexpr KeySpec kVerifyCommandKeys[] = {
    {"command", VT::kObject, "a command succeeds", &kCheckCommand, {}, true},
    {"timeout", VT::kDuration, "the check fails after this long", nullptr, {}, false, kCheckTimeout}};
constexpr KeySpec kVerifySqlKeys[] = {
    {"sql", VT::kObject, "a query against the restored PostgreSQL", &kSql, {}, true},
    {"timeout", VT::kDuration, "the check fails after this long", nullptr, {}, false, kCheckTimeout}};
constexpr KeySpec kVerifyFilesKeys[] = {
    {"files", VT::kObject, "every restored file verified against the snapshot", &kFiles, {}, true},
    {"timeout", VT::kDuration, "the check fails after this long", nullptr, {}, false, kCheckTimeout}};
constexpr ObjectSpec kVerifyTcp{"verify_tcp", "verify check", "Recover and verify", kVerifyTcpKeys};
constexpr ObjectSpec kVerifyHttp{"verify_http", "verify check", "Recover and verify",
                                 kVerifyHttpKeys};
constexpr ObjectSpec kVerifyCommand{"verify_command", "verify check", "Recover and verify",
                                    kVerifyCommandKeys};
constexpr ObjectSpec kVerifySql{"verify_sql", "verify check", "Recover and verify", kVerifySqlKeys};
constexpr ObjectSpec kVerifyFiles{"verify_files", "verify check", "Recover and verify",
                                  kVerifyFilesKeys};
constexpr VariantSpec kVerifyVariants[] = {{"tcp", &kVerifyTcp},
                                           {"http", &kVerifyHttp},
                                           {"command", &kVerifyCommand},
                                           {"sql", &kVerifySql},
                                           {"files", &kVerifyFiles}};
constexpr ObjectSpec kVerifyCheck{"verify_check", "verify check", "Recover and verify", {},
                                  ObjectSpec::VariantBy::kKey, kVerifyVariants};

// ---- failover (doc/failover.md)
constexpr KeySpec kSwitchStepKeys[] = {
    {"command", VT::kCommand, "points clients at LIFEBOAT_SWITCH_TO; must exit 0", nullptr, {},
     true},
    {"timeout", VT::kDuration, "the step fails after this long", nullptr, {}, false, "\"2m\""},
};
constexpr ObjectSpec kSwitchStep{"switch_step", "switch step", "Failover", kSwitchStepKeys};
constexpr KeySpec kFailoverPolicyKeys[] = {
    {"to", VT::kName, "the recovery site (default: the service's second site)"},
    {"automatic", VT::kBoolean, "false: the daemon only announces a failed service", nullptr, {},
     false, "true"},
    {"interval", VT::kDuration, "one round of health checks every interval", nullptr, {}, false,
     "\"30s\""},
    {"timeout", VT::kDuration, "each check's timeout in a round (less than interval)", nullptr, {},
     false, "\"10s\""},
    {"failures_before_failover", VT::kInteger, "failed rounds in a row that declare it failed",
     nullptr, {}, false, "3", 1, 1000},
};
constexpr ObjectSpec kFailoverPolicy{"failover_policy", "failover policy", "Failover",
                                     kFailoverPolicyKeys};
constexpr KeySpec kFailoverSettingsKeys[] = {
    {"commit_after", VT::kDuration,
     "the daemon commits a failover once every service stayed healthy this long"},
};
constexpr ObjectSpec kFailoverSettings{"failover_settings", "failover settings", "Failover",
                                       kFailoverSettingsKeys};

// ---- services
constexpr KeySpec kServiceKeys[] = {
    {"owner", VT::kString, "who answers for the service", nullptr, {}, false, "\"\""},
    {"tier", VT::kInteger, "criticality: 0 most critical ... 3", nullptr, {}, true, {}, 0, 3},
    {"rpo", VT::kDuration, "recovery point objective", nullptr, {}, true},
    {"rto", VT::kDuration, "recovery time objective"},
    {"mtd", VT::kDuration, "maximum tolerable downtime"},
    {"depends_on", VT::kNameList, "services that must be recovered first", nullptr, {}, false,
     "[]"},
    {"impact", VT::kObject, "the cost of downtime and data loss", &kImpact},
    {"sources", VT::kListOfObjects, "the service's data", &kSource, {}, true, {}, 0, 0, true},
    {"schedule", VT::kObject, "when backups are due (default: derived from the RPO)", &kSchedule},
    {"retention", VT::kObject, "which snapshots forget keeps (default: all)", &kRetention},
    {"sites", VT::kNameList, "where backups go; the first is written to", nullptr, {}, true, {}, 0,
     0, true},
    {"replication", VT::kEnum, "sync: every site in one backup; async: copy afterwards", nullptr,
     kReplications, false, "\"async\""},
    {"hooks", VT::kObject, "commands around each backup", &kHooks},
    {"recover", VT::kListOfObjects, "how to bring the service up from restored data",
     &kRecoverStep, {}, false, "[]"},
    {"verify", VT::kListOfObjects, "how to prove the recovered service works", &kVerifyCheck, {},
     false, "[]"},
    {"drill_every", VT::kDuration, "a drill is overdue when the newest passed drill is older"},
    {"drill_schedule", VT::kObject, "when lifeboat run performs a drill of the service",
     &kSchedule},
    {"switch", VT::kListOfObjects, "commands that point clients at the site it runs at",
     &kSwitchStep, {}, false, "[]"},
    {"failover", VT::kObject, "the daemon's health-check and failover policy", &kFailoverPolicy},
};
constexpr ObjectSpec kService{"service", "service", "Services", kServiceKeys};

// ---- contacts
constexpr KeySpec kContactKeys[] = {
    {"role", VT::kString, "the contact's role in a disaster", nullptr, {}, false, "\"\""},
    {"email", VT::kString, "e-mail address", nullptr, {}, false, "\"\""},
    {"phone", VT::kString, "phone number", nullptr, {}, false, "\"\""},
    {"channels", VT::kNameList, "notification channels that reach this person", nullptr, {}, false,
     "[]"},
};
constexpr ObjectSpec kContact{"contact", "contact", "Contacts", kContactKeys};

// ---- channels
#define LB_CHANNEL_COMMON                                                                  \
  {"type", VT::kEnum, "the channel's type", nullptr, kChannelTypes, true},                 \
  {"timeout", VT::kDuration, "one delivery attempt is stopped after this long", nullptr, {}, \
   false, "\"10s\""}
constexpr KeySpec kWebhookKeys[] = {
    LB_CHANNEL_COMMON,
    {"url", VT::kString, "receives the event JSON by POST", nullptr, {}, true},
    {"headers", VT::kSecretMap, "extra headers, values by reference"},
};
constexpr KeySpec kSlackKeys[] = {
    LB_CHANNEL_COMMON,
    {"webhook_url", VT::kSecret, "a Slack incoming-webhook URL", nullptr, {}, true},
};
constexpr KeySpec kNtfyKeys[] = {
    LB_CHANNEL_COMMON,
    {"url", VT::kString, "server and topic", nullptr, {}, true},
    {"token", VT::kSecret, "an access token"},
};
constexpr KeySpec kPagerDutyKeys[] = {
    LB_CHANNEL_COMMON,
    {"routing_key", VT::kSecret, "the Events API v2 integration key", nullptr, {}, true},
    {"url", VT::kString, "the Events API endpoint", nullptr, {}, false,
     "\"https://events.pagerduty.com/v2/enqueue\""},
};
constexpr KeySpec kHealthchecksKeys[] = {
    LB_CHANNEL_COMMON,
    {"ping_url", VT::kSecret, "the check's ping URL", nullptr, {}, true},
};
constexpr KeySpec kEmailKeys[] = {
    LB_CHANNEL_COMMON,
    {"smtp_url", VT::kString, "smtp://host:587 (STARTTLS) or smtps://host:465", nullptr, {}, true},
    {"username", VT::kString, "SMTP user"},
    {"password", VT::kSecret, "SMTP password"},
    {"from", VT::kString, "sender address", nullptr, {}, true},
    {"to", VT::kStringList, "recipients", nullptr, {}, true, {}, 0, 0, true},
    {"starttls", VT::kBoolean, "require STARTTLS on smtp://", nullptr, {}, false, "true"},
};
constexpr KeySpec kCommandChannelKeys[] = {
    LB_CHANNEL_COMMON,
    {"command", VT::kCommand, "run with the event as JSON on standard input", nullptr, {}, true},
};
#undef LB_CHANNEL_COMMON
constexpr ObjectSpec kWebhook{"channel_webhook", "channel", "Channels", kWebhookKeys};
constexpr ObjectSpec kSlack{"channel_slack", "channel", "Channels", kSlackKeys};
constexpr ObjectSpec kNtfy{"channel_ntfy", "channel", "Channels", kNtfyKeys};
constexpr ObjectSpec kPagerDuty{"channel_pagerduty", "channel", "Channels", kPagerDutyKeys};
constexpr ObjectSpec kHealthchecks{"channel_healthchecks", "channel", "Channels",
                                   kHealthchecksKeys};
constexpr ObjectSpec kEmail{"channel_email", "channel", "Channels", kEmailKeys};
constexpr ObjectSpec kCommandChannel{"channel_command", "channel", "Channels", kCommandChannelKeys};
constexpr VariantSpec kChannelVariants[] = {
    {"webhook", &kWebhook},           {"slack", &kSlack}, {"ntfy", &kNtfy},
    {"pagerduty", &kPagerDuty},       {"healthchecks", &kHealthchecks},
    {"email", &kEmail},               {"command", &kCommandChannel}};
constexpr ObjectSpec kChannel{"channel", "channel", "Channels", {},
                              ObjectSpec::VariantBy::kTypeField, kChannelVariants};

constexpr KeySpec kRouteKeys[] = {
    {"events", VT::kEnumList, "the events this route sends (default: all)", nullptr, kEvents, false,
     {}, 0, 0, true},
    {"tiers", VT::kIntegerList, "the tiers of the services (default: all)", nullptr, {}, false,
     "[0,1,2,3]", 0, 3, true},
    {"channels", VT::kNameList, "where matching events go", nullptr, {}, true, {}, 0, 0, true},
    {"escalate_after", VT::kDuration, "while the problem persists this long, also escalate_to"},
    {"escalate_to", VT::kNameList, "the escalation channels", nullptr, {}, false, "[]", 0, 0,
     true},
};
constexpr ObjectSpec kRoute{"route", "route", "Routes", kRouteKeys};

constexpr KeySpec kNotificationsKeys[] = {
    {"channels", VT::kMapOfObjects, "named notification channels", &kChannel},
    {"routes", VT::kListOfObjects, "which events go to which channels", &kRoute, {}, false, "[]"},
};
constexpr ObjectSpec kNotifications{"notifications", "notifications", "Notifications",
                                    kNotificationsKeys};

// ---- daemon (doc/daemon.md)
constexpr KeySpec kEtcdKeys[] = {
    {"endpoints", VT::kStringList,
     "etcd client URLs, http(s)://HOST:PORT; the next is tried when one does not answer", nullptr,
     {}, true, {}, 0, 0, true},
    {"prefix", VT::kString, "the keys live below it", nullptr, {}, false, "\"/lifeboat\""},
    {"ttl", VT::kDuration,
     "the daemon's lease: its member keys vanish this long after it stops renewing", nullptr, {},
     false, "\"30s\""},
    {"retry_timeout", VT::kDuration, "one request to etcd, retries over the endpoints included",
     nullptr, {}, false, "\"10s\""},
    {"ca_file", VT::kString,
     "PEM bundle that verifies the endpoints' TLS certificates (default: the system's CAs)"},
};
constexpr ObjectSpec kEtcd{"etcd_fencing", "etcd fencing", "Daemon", kEtcdKeys};
constexpr KeySpec kFencingKeys[] = {
    {"etcd", VT::kObject, "fence through etcd 3.4 (default: the lock file STATE_DIR/fence.lock)",
     &kEtcd},
};
constexpr ObjectSpec kFencing{"fencing", "fencing", "Daemon", kFencingKeys};
constexpr KeySpec kDaemonKeys[] = {
    {"listen", VT::kString, "HOST:PORT of the dashboard and API", nullptr, {}, false,
     "\"127.0.0.1:8470\""},
    {"tls_cert_file", VT::kString, "PEM certificate of the dashboard (required off loopback)"},
    {"tls_key_file", VT::kString, "PEM private key of the dashboard (required off loopback)"},
    {"token", VT::kSecret, "bearer token for read access (required off loopback)"},
    {"operate_token", VT::kSecret, "bearer token for read access and failover, commit, rollback"},
    {"loop_wait", VT::kDuration, "the daemon's loop: schedules, lease, commit_after", nullptr, {}, false,
     "\"10s\""},
    {"fencing", VT::kObject, "how actors agree on where services are active", &kFencing},
};
constexpr ObjectSpec kDaemon{"daemon", "daemon", "Daemon", kDaemonKeys};

constexpr KeySpec kTopKeys[] = {
    {"version", VT::kInteger, "the plan format version", nullptr, {}, true, {}, 1, 1},
    {"currency", VT::kString, "the default currency of sites' prices and services' impact",
     nullptr, {}, false, "\"\""},
    {"sites", VT::kMapOfObjects, "where copies are kept", &kSite, {}, true, {}, 0, 0, true},
    {"services", VT::kMapOfObjects, "what is protected", &kService, {}, true, {}, 0, 0, true},
    {"contacts", VT::kMapOfObjects, "who is responsible, who is told", &kContact},
    {"notifications", VT::kObject, "channels and routes", &kNotifications},
    {"failover", VT::kObject, "settings of every failover", &kFailoverSettings},
    {"daemon", VT::kObject, "lifeboat daemon: dashboard, API, fencing", &kDaemon},
};
constexpr ObjectSpec kTop{"plan", "plan", "Top level", kTopKeys};

}  // namespace

const KeySpec* ObjectSpec::Find(std::string_view key) const {
  for (const KeySpec& k : keys)
    if (k.name == key) return &k;
  return nullptr;
}

const ObjectSpec& TopLevelSpec() { return kTop; }
const ObjectSpec& RetentionSpec() { return kRetention; }

std::vector<std::string> AcceptedKeyNames(const KeySpec& key) {
  if (key.type != ValueType::kSecret) return {std::string(key.name)};
  return {std::string(key.name) + "_file", std::string(key.name) + "_command",
          std::string(key.name) + "_env"};
}

std::string NearestName(std::string_view name, const std::vector<std::string>& names) {
  const std::vector<std::string_view> candidates(names.begin(), names.end());
  return lifeboat::NearestName(name, candidates,
                               std::min<size_t>(3, std::max<size_t>(1, name.size() / 2)));
}

}  // namespace lifeboat::plan
