// RunPlan: `lifeboat run` as a library call (doc/run.md). Performs the plan's due backups in tier
// order (a service after the services it depends on), with the listed replication (sync: one
// backup to all sites; async: backup to the first, copy to the others), retention (forget +
// prune, never on an immutable site) and hooks; writes the run records to the sites; notifies.
//
//   RunOptions o;  o.now = true;  o.state_dir = dir;  o.cache_path = cache;  o.context = ctx;
//   o.on_line = [](const std::string& line) { std::cout << line << "\n"; };
//   RunReport r = RunPlan(loaded.plan, o);
//   return r.ExitCode();      // 0 all succeeded, 3 something failed or is incomplete, 130 cancelled
//
// One failing service never stops the others; every failure is in the report, the records and
// (when channels are configured) a notification. Error texts in the report, the records and the
// notifications have every secret this run resolved replaced by "***".
//
// Blocks (backups, hooks, network). The caller's thread; callbacks run on it too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dr/drill.h"
#include "notify/deliver.h"
#include "plan/plan.h"
#include "runlog/run_records.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

struct RunOptions {
  // Services to consider, by name (empty: all). An unknown name: RunPlan's InvalidArgument.
  std::vector<std::string> services;
  // Every considered service is due.
  bool now = false;
  // Decide and print; run nothing, write nothing, notify nobody.
  bool dry_run = false;
  // Cancel (SIGINT) and clock. The clock's wall time is "now" for the due rule and the records.
  Context context;
  // Where the run locks live (DefaultRunStateDirectory()). Required unless dry_run.
  std::string state_dir;
  // The status cache (DefaultStatusCachePath()); empty: the run records are read without one.
  std::string cache_path;
  // The notification state file; empty: <state_dir>/notify-state.json.
  std::string notify_state_path;
  // The plan's path as the run lock knows it (made absolute here); empty: plan.file.
  std::string plan_path;
  // The snapshots' and records' host (empty: this machine's name).
  std::string host;
  // Delivery of notifications (tests shorten it).
  notify::RetryPolicy notify_retry;
  // Retention's wait for the exclusive lock.
  std::chrono::nanoseconds retention_lock_wait = std::chrono::minutes(2);
  // Where scheduled drills make their sandbox (empty: recover::DefaultSandboxBase()).
  std::string drill_sandbox;
  // Services backed up as they run at a recovery site after a failover (doc/run.md, "After a
  // failover"; dr/active_sites.h decides it): service name -> that site's recovery root. Its path
  // and sqlite sources are read below the root and recorded at their original paths (the engine's
  // BackupOptions::read_root); its postgres sources are dumped from the cluster the failover
  // left running there (recover/failover_cluster.h: the source's port, the cluster's superuser
  // and password); its command sources as always. A service not named: backed up where it is.
  std::map<std::string, std::string> read_roots;
  // Services not backed up this run, with why and what to do (dr/active_sites.h: where one runs
  // is unknown, or its recovery at its active site failed): state kSkipped, a skipped record
  // per site, exit status 3. Decided before the due rule.
  std::map<std::string, std::string> skip;
  // Called with each line of human output as it happens ("billing-db: backing up ...").
  std::function<void(const std::string& line)> on_line;
};

// What happened to one source (or the service as a whole) at one site: exactly the record
// written for it.
struct SiteOutcome {
  std::string site;
  std::string source;  // empty: the service as a whole (hook, retention, skipped)
  std::string source_kind;
  RunResult result = RunResult::kOk;
  std::string error;  // redacted
  std::optional<Id> snapshot;
  uint64_t bytes_added = 0;
  uint64_t bytes_sent = 0;
  std::string what;  // "backup", "copy", "retention", "hook", "skipped"
};

enum class ServiceState {
  kNotDue,     // nothing done, no record
  kLocked,     // another run holds it: skipped records
  kRan,        // hooks and backups ran: `outcomes`
  kDryRun,     // would run
  kCancelled,  // not started: the run was interrupted
  kSkipped,    // RunOptions::skip: not backed up (`note` says why): skipped records
};
std::string_view ServiceStateName(ServiceState s);  // "not_due", "locked", "ran", ...

// A service's drill_schedule as this run judged it (doc/run.md, "Scheduled drills").
struct ScheduledDrill {
  bool due = false;
  int64_t last_start_ns = 0;  // the newest drill of the service (0: never drilled)
  int64_t next_due_ns = 0;    // when not due: the schedule's next firing
  std::string note;           // e.g. why it was taken as due
};

struct ServiceReport {
  std::string name;
  int tier = 0;
  ServiceState state = ServiceState::kNotDue;
  // kNotDue: the next time it is due (wall ns); 0 when unknown.
  int64_t next_due_ns = 0;
  // kNotDue/kRan: the last start the due rule used (0: never ran).
  int64_t last_start_ns = 0;
  std::string note;  // kLocked: the holder; kNotDue: why; kSkipped: why and what to do; ...
  // Set when the service is read below a recovery root (RunOptions::read_roots): the root, and
  // for people "below /srv/dr (active at dr since the failover)".
  std::string read_root, read_from;
  std::vector<SiteOutcome> outcomes;     // kRan, kLocked, kSkipped (not in a dry run)
  std::vector<std::string> hook_errors;  // redacted; on_error failures too
  std::vector<std::string> retention_notes;  // "retention not run at X: the site is immutable"
  int64_t start_ns = 0, end_ns = 0;
  // Set when the service has a drill_schedule (and the run was not interrupted before it).
  std::optional<ScheduledDrill> drill;
  // Ok when every outcome is ok (or skipped).
  bool failed() const;
};

// Where the run records of this run went.
struct RecordWrite {
  std::string site;
  size_t records = 0;  // records in the object written there
  std::optional<Id> object;
  std::string error;  // redacted; empty when written
  std::vector<std::string> carried_for;  // down sites whose records this object carries
};

struct RunReport {
  std::string run_id;
  int64_t start_ns = 0, end_ns = 0;
  bool dry_run = false;
  bool cancelled = false;
  std::vector<ServiceReport> services;  // in the order they were considered
  std::vector<RecordWrite> record_writes;
  // Records that could be written to no site (every site of the run was down).
  size_t records_lost = 0;
  std::vector<notify::DeliveryOutcome> notifications;
  std::vector<std::string> warnings;  // redacted: notification problems, compaction, ...
  // The scheduled drill of the services whose drill_schedule was due (null: none was due, a dry
  // run, or interrupted before it), with its own records and notifications; drill_error when it
  // could not start (redacted).
  std::optional<DrillOutcome> drill;
  std::string drill_error;
  // 0: everything that ran succeeded; 3: something failed, is incomplete or was skipped
  // (RunOptions::skip), records were lost, or a scheduled drill failed, was not recorded or
  // could not start; 130: cancelled.
  int ExitCode() const;
};

// Runs the plan (see the top of this file). Errors only for a request that cannot start: an
// unknown service in options.services (InvalidArgument), no state_dir (InvalidArgument).
// Everything else is in the report.
Result<RunReport> RunPlan(const plan::Plan& plan, const RunOptions& options);

// The order services are considered in (doc/run.md): tier ascending, ties in plan order, and
// every service after the services it depends on. Indexes into plan.services.
std::vector<size_t> ServiceOrder(const plan::Plan& plan);

// Replaces every occurrence of each non-empty secret of `secrets` (longest first) by "***".
std::string RedactSecrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace lifeboat::dr
