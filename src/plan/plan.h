// The DR plan as plain data: sites, services (tier, RPO/RTO/MTD, sources, schedule, retention,
// hooks, recover/verify), contacts and notifications, exactly as doc/plan.md describes the file.
// parse.h builds it from YAML, validate.h checks it; everything that acts on a plan (run, status,
// drills, the runbook) takes these structs. Everything is kept in the order of the file, and every
// node remembers where it was written (Position), so later layers can point at the plan line.
// Secrets are references (SecretRef), resolved only by whoever needs the value.
//
//   LB_ASSIGN_OR_RETURN(LoadedPlan loaded, LoadPlan("/etc/lifeboat/lifeboat.yaml"));
//   for (const Service& s : loaded.plan.services) ... s.rpo, s.schedule.cron ...
//
// Plain values: copy them freely; no method blocks, none does I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/password.h"
#include "retention/retention.h"

namespace lifeboat::plan {

// Where something was written: the plan file, 1-based line and column. line 0: not from a file
// (a default or a derived value).
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
  // "FILE:LINE:COLUMN", or FILE alone when line is 0.
  std::string ToString() const;
  bool operator==(const Position&) const = default;
};

// A secret given by reference: `X_file`, `X_command` or `X_env` in the file.
struct SecretRef {
  enum class Kind { kFile, kCommand, kEnv };
  Kind kind = Kind::kFile;
  std::string value;  // the path, the command (run by /bin/sh -c) or the variable's name
  Position position;  // of the X_* key
  // "file", "command", "env": the suffix in the file and the key in plan show's JSON.
  std::string_view KindName() const;
  bool operator==(const SecretRef& o) const { return kind == o.kind && value == o.value; }
};

// The PasswordSource that reads the secret (engine/password.h: ResolvePassword). Any secret of
// the plan is resolved this way, not only passwords.
PasswordSource ToPasswordSource(const SecretRef& secret);

// A command: a string in the file is run by /bin/sh -c (argv = {"/bin/sh", "-c", TEXT}, shell
// true); a list is the argument vector itself, run without a shell (shell false).
struct Command {
  std::vector<std::string> argv;
  bool shell = false;
  Position position;
  // The command as written: the shell text, or the argv joined by blanks (for messages).
  std::string Display() const;
};

// An environment variable given by reference: `NAME_file: /path` -> {name "NAME", secret}.
struct EnvEntry {
  std::string name;
  SecretRef secret;
};

// A backend -o option of a site.
struct SiteOption {
  std::string key;
  std::string value;
  Position position;
};

enum class SiteRole { kPrimary, kSecondary, kOffsite };
std::string_view SiteRoleName(SiteRole role);  // "primary", "secondary", "offsite"

struct Site {
  std::string name;
  Position position;  // of the name
  std::string repository;
  Position repository_position;
  SecretRef password;
  std::vector<EnvEntry> env;
  SiteRole role = SiteRole::kPrimary;
  std::string location;
  // The kind of storage for the 3-2-1 rule: the `media` key, else from the scheme (local:
  // "disk", sftp/rest: "server", s3: "object-storage").
  std::string media;
  bool media_derived = true;
  std::vector<SiteOption> options;
  bool immutable = false;
  // What one GiB (2^30 bytes) stored at the site costs per month, in `currency` (the BIA's cost
  // of protection). Unset: not known.
  std::optional<double> price_per_gib_month;
  Position price_position;  // of the price's value
  std::string currency;     // the site's `currency`, else the plan's (Plan::currency); may be ""
  // Where services failed over to this site are brought up: each restored source at its
  // original absolute path below it (doc/failover.md, "Words"). Absolute; "/" by default.
  std::string recovery_root = "/";
  Position recovery_root_position;
};

// "local", "s3", "sftp", "rest" or another scheme written as "<scheme>:" (lowercase letters).
std::string RepositoryScheme(std::string_view repository);
// The media kind a scheme implies (see Site::media).
std::string MediaForScheme(std::string_view scheme);

struct Impact {
  std::optional<double> downtime_cost_per_hour;
  std::optional<double> data_loss_cost_per_hour;
  std::string currency;  // the impact's `currency`, else the plan's (Plan::currency); may be ""
  std::string notes;
  Position position;  // of the `impact` key (line 0 when absent)
};

struct PathsSource {
  std::vector<std::string> paths;
  std::vector<std::string> exclude;
  std::vector<std::string> exclude_file;
  bool one_file_system = false;
};
struct CommandSource {
  Command command;
  std::string filename;  // default: the source's name
  std::chrono::seconds timeout{6 * 3600};
};
struct PostgresSource {
  std::string dsn;       // empty when host/port/... are used
  std::string host;      // empty: libpq's default
  int port = 5432;
  std::string database;  // "all": pg_dumpall
  std::string user;      // empty: libpq's default
  std::optional<SecretRef> password;
  std::chrono::seconds timeout{6 * 3600};
  bool all_databases() const { return database == "all"; }
};
struct SqliteSource {
  std::string path;
};

enum class SourceKind { kPaths, kCommand, kPostgres, kSqlite };
std::string_view SourceKindName(SourceKind kind);  // "paths", "command", "postgres", "sqlite"

struct Source {
  SourceKind kind = SourceKind::kPaths;
  std::string name;  // unique within the service; default the kind, then kind-2, kind-3, ...
  bool name_derived = false;
  Position position;  // of the list item
  PathsSource paths;        // kPaths
  CommandSource command;    // kCommand
  PostgresSource postgres;  // kPostgres
  SqliteSource sqlite;      // kSqlite
};

struct Schedule {
  std::string cron;              // as written, or the derived expression
  std::string timezone = "UTC";  // IANA name
  bool derived = false;          // true: absent in the file, derived from the RPO (schedule.h)
  Position position;             // of the schedule (derived: of the rpo)
};

struct Hooks {
  std::vector<Command> before, after, on_error;
  std::chrono::seconds timeout{15 * 60};
};

enum class Replication { kAsync, kSync };
std::string_view ReplicationName(Replication r);  // "async", "sync"

// A recover step (the drills issue gives it meaning; the plan checks its shape).
struct RecoverStep {
  enum class Kind { kPostgresRestore, kCommand };
  Kind kind = Kind::kCommand;
  Position position;
  std::string postgres_source;  // kPostgresRestore: the source's name (empty: the only one)
  Command command;              // kCommand
  bool background = false;
  std::vector<std::pair<std::string, int>> ports;  // name -> port, in file order
  std::chrono::seconds timeout{10 * 60};
};

// A port of a check: a number, or the name of a port a recover step declares.
struct PortRef {
  int number = 0;    // 0 when `name` is used
  std::string name;  // empty when `number` is used
};

struct VerifyCheck {
  enum class Kind { kTcp, kHttp, kCommand, kSql, kFiles };
  Kind kind = Kind::kFiles;
  Position position;
  PortRef port;                       // tcp, http
  std::string host = "127.0.0.1";     // tcp, http
  std::string path = "/";             // http
  int expect_status = 200;            // http
  std::optional<std::string> expect_body;    // http
  Command run;                               // command
  std::optional<std::string> expect_output;  // command
  std::string query;                         // sql
  std::optional<std::string> expect;         // sql
  std::string postgres_source;               // sql (empty: the only one)
  std::chrono::seconds timeout{60};
};
std::string_view VerifyKindName(VerifyCheck::Kind kind);  // "tcp", "http", ...

// A switch step (doc/failover.md, "Switch steps"): a command that points clients at a site
// (LIFEBOAT_SWITCH_TO), run after the service is verified at it; must exit 0 within timeout.
struct SwitchStep {
  Command command;
  std::chrono::seconds timeout{2 * 60};
  Position position;
};

// A service's failover policy (doc/plan.md, "Failover"; doc/daemon.md, "Health checks").
struct FailoverPolicy {
  Position position;  // of the `failover` key
  std::string to;     // the recovery site; default the service's second site
  Position to_position;
  bool automatic = true;  // false: a failed service is only announced (service_down)
  std::chrono::seconds interval{30};  // one round of health checks every interval
  std::chrono::seconds timeout{10};   // each check's timeout in a round
  int failures_before_failover = 3;   // failed rounds in a row that declare the service failed
};

// A name in a list (depends_on, sites, channels, ...) with where it was written.
struct NameRef {
  std::string name;
  Position position;
};

struct Service {
  std::string name;
  Position position;
  std::string owner;
  int tier = 3;
  Position tier_position;
  std::chrono::seconds rpo{0};
  Position rpo_position;
  std::optional<std::chrono::seconds> rto, mtd;
  Position rto_position;
  std::vector<NameRef> depends_on;
  Impact impact;
  std::vector<Source> sources;
  Schedule schedule;
  std::optional<retention::RetentionPolicy> retention;
  std::vector<NameRef> sites;  // first: where backups are written
  Position sites_position;
  Replication replication = Replication::kAsync;
  Hooks hooks;
  std::vector<RecoverStep> recover;
  std::vector<VerifyCheck> verify;
  // Drills (doc/plan.md, "Drills"): a drill is overdue when the newest passed drill is older
  // than drill_every; drill_schedule is when `lifeboat run` performs one. Either may be unset.
  std::optional<std::chrono::seconds> drill_every;
  Position drill_every_position;
  std::optional<Schedule> drill_schedule;  // never derived (Schedule::derived is false)
  // Failover (doc/failover.md): the `switch` steps, and the daemon's policy (unset: the daemon
  // neither watches nor fails the service over; `lifeboat failover` still can).
  std::vector<SwitchStep> switch_steps;
  std::optional<FailoverPolicy> failover;
};

struct Contact {
  std::string name;
  Position position;
  std::string role, email, phone;
  std::vector<NameRef> channels;
};

enum class ChannelType { kWebhook, kSlack, kNtfy, kPagerDuty, kHealthchecks, kEmail, kCommand };
// "webhook", "slack", "ntfy", "pagerduty", "healthchecks", "email", "command".
std::string_view ChannelTypeName(ChannelType type);

struct Channel {
  std::string name;
  Position position;
  ChannelType type = ChannelType::kWebhook;
  std::chrono::seconds timeout{10};
  std::string url;                          // webhook, ntfy, pagerduty (endpoint)
  std::vector<EnvEntry> headers;            // webhook: header name -> secret
  std::optional<SecretRef> webhook_url;     // slack
  std::optional<SecretRef> token;           // ntfy
  std::optional<SecretRef> routing_key;     // pagerduty
  std::optional<SecretRef> ping_url;        // healthchecks
  std::string smtp_url;                     // email
  std::string username;                     // email
  std::optional<SecretRef> password;        // email
  std::string from;                         // email
  std::vector<std::string> to;              // email
  bool starttls = true;                     // email
  Command command;                          // command
};

enum class Event {
  kBackupFailed,
  kBackupRecovered,
  kRpoAtRisk,
  kRpoViolated,
  kRpoRestored,
  kSiteUnreachable,
  kRunSummary,
  kDrillFailed,
  kDrillPassed,
  kRtoRegressed,
  // Failover (doc/failover.md) and the daemon (doc/daemon.md).
  kFailoverStarted,
  kServiceRecovered,
  kFailoverFailed,
  kFailoverCommitted,
  kFailoverRolledBack,
  kServiceDown,
  kLeaseLost,
};
inline constexpr Event kAllEvents[] = {
    Event::kBackupFailed,     Event::kBackupRecovered,     Event::kRpoAtRisk,
    Event::kRpoViolated,      Event::kRpoRestored,         Event::kSiteUnreachable,
    Event::kRunSummary,       Event::kDrillFailed,         Event::kDrillPassed,
    Event::kRtoRegressed,     Event::kFailoverStarted,     Event::kServiceRecovered,
    Event::kFailoverFailed,   Event::kFailoverCommitted,   Event::kFailoverRolledBack,
    Event::kServiceDown,      Event::kLeaseLost};
std::string_view EventName(Event e);  // "backup_failed", ...

struct Route {
  Position position;
  std::vector<Event> events;  // default: every event
  std::vector<int> tiers;     // default: 0, 1, 2, 3
  std::vector<NameRef> channels;
  std::optional<std::chrono::seconds> escalate_after;
  std::vector<NameRef> escalate_to;
};

// The top-level `failover` (doc/plan.md, "Failover").
struct FailoverSettings {
  Position position;
  // The daemon commits an open failover once every service of it stayed healthy this long;
  // unset: only `lifeboat failover commit` does.
  std::optional<std::chrono::seconds> commit_after;
};

// `daemon.fencing.etcd` (doc/daemon.md, "Fencing").
struct EtcdFencing {
  Position position;
  std::vector<std::string> endpoints;  // http(s)://HOST:PORT, at least one
  std::string prefix = "/lifeboat";    // keys live below it (no trailing '/')
  std::chrono::seconds ttl{30};
  std::chrono::seconds retry_timeout{10};  // one request to etcd, retries included
  std::string ca_file;                     // empty: the system's CAs
};

// The top-level `daemon` (doc/daemon.md).
struct DaemonSettings {
  Position position;  // line 0: absent (every default)
  std::string listen = "127.0.0.1:8470";  // HOST:PORT of the dashboard and API
  std::string tls_cert_file, tls_key_file;
  std::optional<SecretRef> token;          // read access (required off loopback)
  std::optional<SecretRef> operate_token;  // read and operate (failover, commit, rollback)
  std::chrono::seconds loop_wait{10};      // the daemon's loop: schedules, lease, commit_after
  std::optional<EtcdFencing> etcd;         // unset: the lock file (doc/daemon.md, "Fencing")
};

struct Plan {
  std::string file;  // the path it was read from
  int version = 1;
  std::string currency;  // the top-level `currency`: the default of sites' and impacts'; may be ""
  std::vector<Site> sites;
  std::vector<Service> services;
  std::vector<Contact> contacts;
  std::vector<Channel> channels;
  std::vector<Route> routes;
  FailoverSettings failover;
  DaemonSettings daemon;

  // Lookups by name; null when absent.
  const Site* FindSite(std::string_view name) const;
  const Service* FindService(std::string_view name) const;
  const Channel* FindChannel(std::string_view name) const;
  const Contact* FindContact(std::string_view name) const;
};

}  // namespace lifeboat::plan
