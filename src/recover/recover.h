// Recovery of a plan's services (doc/drills.md): the one mechanism drills use now and failover
// will use. Each service, with everything it depends on, is restored from one site into a sandbox,
// brought up by its `recover` steps and proven by its `verify` checks, in waves (recover/waves.h):
// a service starts once everything it depends on is verified, at most `parallel` at a time; a
// service whose dependency failed is skipped, naming it; the others go on. Every step and check is
// timed on the context's clock, so the report is the timeline a drill record is made from.
//
//   RecoverOptions o;
//   o.services = {"shop"};  o.context = ctx;  o.parallel = 4;
//   o.on_line = [](const std::string& line) { std::cout << line << "\n"; };
//   LB_ASSIGN_OR_RETURN(RecoveryReport report, RecoverServices(loaded.plan, o));
//   return report.ExitCode();      // 0: every service passed; 3: one failed; 130: interrupted
//
// The session owns everything it starts (a RAII object: the sandbox, the background processes,
// the scratch clusters, a ProcessGuard for kill -9) and stops it on every path before
// RecoverServices returns; the sandbox is then removed unless `keep`. Sandboxes that a killed
// session left are cleaned up first (sandbox.h). Nothing is written to a repository (the sites
// are opened with a shared lock and only read) and no production path is touched: everything is
// restored below the sandbox, and a drill's ports are free loopback ports, never the plan's.
//
// Failover mode (doc/failover.md) differs: no sandbox; sources are restored below the recovery
// root at their original paths (restores one at a time, so that services sharing parent
// directories do not race); ports are the plan's; postgres_restore makes a durable cluster
// listening on the postgres source's port; background steps and clusters are started detached
// (detached_process.h) and left running for the services that passed (RecoveryReport::
// left_running; StopLeftRunning stops them); a pack damaged or missing at the site is read from
// the other sites that the recovered services list (Repository::SetFallbacks, as `restore
// --fallback`), each such read named in ServiceRecovery::fallback_reads.
//
// Steps and checks get the environment of doc/drills.md, "Environment", with the parent's minus
// Lifeboat's secrets (util/subprocess.h) and every variable the plan reads a secret from emptied.
//
// Blocks (restores, steps, checks). The caller's thread plus one thread per service being
// recovered; on_line is called from those threads, one call at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "plan/plan.h"
#include "recover/left_running.h"
#include "recover/waves.h"
#include "repository/repository.h"
#include "util/context.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat::recover {

enum class RecoveryMode {
  kDrill,     // a sandbox, free ports, throwaway scratch clusters (fsync off)
  kFailover,  // the recovery root, the plan's ports, durable clusters left running
};
std::string_view RecoveryModeName(RecoveryMode mode);  // "drill", "failover"

struct ServiceRecovery;
struct StepRecord;

struct RecoverOptions {
  RecoveryMode mode = RecoveryMode::kDrill;
  // Services to recover (with their dependencies); empty: every service of the plan.
  std::vector<std::string> services;
  // The site every service is restored from; empty: each service's first site. A service that
  // does not list the site fails (naming its sites).
  std::string site;
  // Which snapshots: empty: each source's newest complete snapshot; a time ("2026-05-01T12:00:00Z",
  // RFC 3339 in UTC): each source's newest complete snapshot taken at or before it; anything else
  // is a snapshot id (a unique prefix): that snapshot for its source, and for every other source
  // the newest taken at or before it.
  std::string at;
  // Where the session's sandbox is made (a fresh directory inside); empty: DefaultSandboxBase().
  std::string sandbox_base;
  // Keep the sandbox (restored data, cluster directories) after the session; processes are
  // stopped anyway.
  bool keep = false;
  // Services recovered at once (at least 1).
  int parallel = 4;
  // Cancel (Ctrl-C) and clock: timestamps are its WallNs, durations its MonotonicNs.
  Context context;
  // The PostgreSQL programs for scratch clusters; empty: FindPostgresBinDir.
  std::string postgres_bin_dir;
  // As root, the user scratch clusters run as (PostgreSQL refuses root).
  std::string postgres_user = "postgres";
  // Called with each line of human progress ("shop: restore source uploads ... ok 1.2 s").
  std::function<void(const std::string& line)> on_line;
  // Tests and fault injection: decorates a site's backend (OpenOptions::decorate_backend).
  std::function<std::unique_ptr<Backend>(const std::string& site, std::unique_ptr<Backend>)>
      decorate_backend;
  // Optional: a repository of the site open already (by the caller, e.g. to write the drill's
  // records there), whose key the session uses instead of resolving the site's password and
  // deriving the key again (OpenOptions::reuse_key_of); null: the session opens it itself. Called
  // once per site, from any of the session's threads; the repository must outlive the call.
  std::function<const Repository*(const std::string& site)> key_of;
  // Sites the caller could not open moments ago (site -> why): not tried again as sites to read
  // a damaged or missing pack from (failover mode), so that a site lost in the disaster does not
  // cost its retry budget inside the RTO. The session says each is not available, with the why.
  std::map<std::string, std::string> unavailable_sites;

  // --- failover mode only (doc/failover.md, "Failover", step 7) ---
  // Where sources are restored, each at its original absolute path below it (LIFEBOAT_RESTORE_DIR
  // of every service); clusters go to RECOVERY_ROOT/var/lib/lifeboat/postgres/SERVICE-SOURCE,
  // logs of what is left running to RECOVERY_ROOT/var/log/lifeboat/. Empty: the recovery_root of
  // `site` (which failover mode requires).
  std::string recovery_root;
  // Where the logs of what is left running go; empty: RECOVERY_ROOT/var/log/lifeboat. (dr's
  // failover and failback give STATE_DIR/logs when the root is `/` and they do not run as root:
  // /var/log is not theirs to write.)
  std::string log_dir;
  // Called once for each background process and cluster as soon as it runs (it will be left
  // running), so that the caller can record it durably before anything else happens; the final
  // list is RecoveryReport::left_running. From the session's threads, one call at a time.
  std::function<void(const LeftRunning&)> on_left_running;
  // Called on a service's thread once it is verified, before anything that depends on it
  // starts (failover: its switch steps). The steps it appends go into the service's timeline;
  // an error fails the service ("<error>"). The achieved RTO is taken after it. May be empty.
  std::function<Status(const ServiceRecovery& recovered, std::vector<StepRecord>* steps)>
      after_verify;
  // Services of the waves that run at the recovery site already (a failover that joins an open
  // incident: its first part recovered them, or an earlier failover there was committed): they
  // are not restored, started or checked and are not in the report (nor in its waves); they
  // count as dependencies that passed. Their dependents reach them as a failover left them: the
  // restore directory the recovery root, the plan's ports (LIFEBOAT_PORT_DEP_NAME), each
  // postgres_restore's cluster at its source's port (LIFEBOAT_PG_*_DEP; PGPASSFILE the recovery
  // root's, whose lines this session keeps and appends to). Names not in the waves are ignored.
  std::set<std::string> already_up;
};

enum class StepState { kOk, kFailed, kNotRun };
std::string_view StepStateName(StepState state);  // "ok", "failed", "not_run"

// One entry of a service's timeline: a source restored, a recover step, a check.
struct StepRecord {
  std::string phase;  // "restore", "recover", "verify"
  // restore: "restore"; recover: "postgres_restore", "command"; verify: "tcp", "http",
  // "command", "sql", "files".
  std::string kind;
  // For people: "restore source db (postgres) from snapshot 1a2b3c4d",
  // "command 'my-app --port $LIFEBOAT_PORT_HTTP' (background)", "http GET 127.0.0.1:41234/health".
  std::string name;
  // The step as the plan declares it, the same in every recovery (no snapshot id, no port
  // chosen for this drill): "restore source db (postgres)", "http GET /health (port http)",
  // "command 'my-app-selftest'". Drill records store it, so that a step's duration can be
  // compared across drills.
  std::string label;
  plan::Position position;  // where the plan declares it (restore: the source)
  StepState state = StepState::kNotRun;
  int64_t start_ns = 0, end_ns = 0;  // wall clock (the context's); 0 when not run
  double seconds = 0;                // monotonic
  std::string error;                 // failed: why; not run: why not
  std::string output;                // what it printed or answered, trimmed (TrimOutput)
  std::vector<PhaseTime> phases;     // restore: the restorer's phases
};

// A source restored into the service's restore directory.
struct RestoredSource {
  std::string name, kind;
  std::string snapshot;  // 64 hex
  int64_t snapshot_time_ns = 0;
  std::string method;  // the snapshot's restore method ("restore", "pg_restore", ...)
  uint64_t files = 0, bytes = 0;
  uint64_t verified_files = 0;  // with a `files` check
  std::vector<std::string> paths;  // the snapshot's paths (below the restore directory)
};

enum class ServiceState { kPassed, kFailed, kSkipped, kCancelled };
// "passed", "failed", "skipped", "cancelled".
std::string_view ServiceStateName(ServiceState state);

// An external program a recovery ran (postgres_restore: the server, pg_restore or psql).
struct ToolUsed {
  std::string name;     // "postgres", "pg_restore"
  std::string path;     // the program run
  std::string version;  // the first line of `path --version` ("pg_restore (PostgreSQL) 15.6"),
                        // read once the session has ended; "" when it could not be read
};

struct ServiceRecovery {
  std::string service;
  int tier = 3, priority_tier = 3, wave = 1;
  bool selected = true;  // false: recovered because a selected service depends on it
  std::vector<std::string> depends_on;
  std::string site;
  ServiceState state = ServiceState::kCancelled;
  // failed: "<step name>: <error>"; skipped: which dependency failed and why; cancelled: why.
  std::string failure;
  std::string failure_output;  // the failing step's output (also in its StepRecord)
  std::vector<RestoredSource> sources;
  std::vector<StepRecord> steps;     // the timeline, in order
  int64_t start_ns = 0, end_ns = 0;  // wall clock; 0 when it never started
  // Achieved RTO: session start -> the service verified (passed only).
  std::optional<double> rto_seconds;
  // Achieved RPO: the age, at session start, of the oldest snapshot restored.
  std::optional<double> rpo_seconds;
  std::optional<std::chrono::seconds> rto_target;  // the plan's rto
  std::chrono::seconds rpo_target{0};              // the plan's rpo
  uint64_t files_restored = 0, bytes_restored = 0;
  std::string restore_dir;                         // LIFEBOAT_RESTORE_DIR (below the sandbox)
  std::vector<std::pair<std::string, int>> ports;  // name -> port, as the steps got them
  std::vector<std::string> notes;  // e.g. "no verify checks", "background step ... exited"
  std::vector<ToolUsed> tools;     // each program once, in the order first run
  // Failover: objects damaged or missing at the recovery site that another site of the service
  // served ("data blob 1a2b.. in pack 3c4d..: damaged at site b (...), read from site a").
  std::vector<std::string> fallback_reads;

  bool passed() const { return state == ServiceState::kPassed; }
  // Achieved against target; nullopt when either is missing.
  std::optional<bool> rto_met() const;
  std::optional<bool> rpo_met() const;
};

struct RecoveryReport {
  RecoveryMode mode = RecoveryMode::kDrill;
  std::string plan_file;
  std::string site;  // as asked ("": each service's first)
  std::string at;    // as asked
  int64_t start_ns = 0, end_ns = 0;
  std::string sandbox;
  bool kept = false;
  int parallel = 1;
  std::vector<Wave> waves;
  std::vector<ServiceRecovery> services;  // wave order, then priority
  // Sandboxes of killed sessions removed before this one started (path, and what was stopped).
  std::vector<std::string> stale_sandboxes;
  std::vector<std::string> warnings;
  bool cancelled = false;
  // Failover: the recovery root, and what runs on after the session: the processes and clusters
  // of the services that passed, in the order they were started (those of a service that failed
  // or was interrupted are stopped before RecoverServices returns).
  std::string recovery_root;
  std::vector<LeftRunning> left_running;

  // Every service passed (and the session was not interrupted).
  bool passed() const;
  // 0 every service passed; 3 one failed or was skipped; 130 interrupted.
  int ExitCode() const;
  const ServiceRecovery* Find(std::string_view service) const;
};

// Recovers the services (see the top of this file). Errors only for a request that cannot start:
// an unknown service or site (InvalidArgument), an `at` that names no snapshot (NotFound) or is
// ambiguous (InvalidArgument), a dependency cycle, a sandbox that cannot be made. Everything
// else (a site that cannot be opened, a missing snapshot, a failing step) is in the report.
Result<RecoveryReport> RecoverServices(const plan::Plan& plan, const RecoverOptions& options);

// The report as doc/drills.md ("JSON") describes it.
nlohmann::ordered_json RecoveryReportToJson(const RecoveryReport& report);

// The report for people (doc/drills.md, "The report"): per service its steps with their times,
// RTO and RPO against the plan's, the result and the failing step's output. Lines end in '\n'.
std::string FormatRecoveryReport(const RecoveryReport& report);

// "1.2 s", "3 m 04 s", "2 h 05 m": durations in reports.
std::string FormatSeconds(double seconds);

}  // namespace lifeboat::recover
