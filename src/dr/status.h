// Plan status: does every promise of the plan hold now (doc/status.md)? For each service at each
// of its sites: the newest complete snapshot (per source; the service's is the oldest of its
// sources' newest), its age against the RPO (ok, at_risk, violated, missing, unreachable), the
// last run from the run records, the next due run, and the copies against the 3-2-1 rule. Then
// the same as notify observations, and the text `lifeboat status` prints (human, JSON,
// Prometheus).
//
//   StatusOptions o;  o.context = ctx;  o.cache_path = *DefaultStatusCachePath();
//   PlanStatus st = ComputePlanStatus(loaded.plan, o);
//   std::cout << PrometheusText(st);
//   return st.holds ? 0 : 1;
//
// Sites are opened in parallel, one thread each, without a lock and without loading the index,
// each bounded by StatusOptions::site_time_limit (a site that does not answer is `unreachable`,
// never a hang). ComputePlanStatus blocks until every site answered or was given up; it may be
// called from any thread; the formatting functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "notify/router.h"
#include "plan/plan.h"
#include "runlog/run_records.h"
#include "util/context.h"

namespace lifeboat::dr {

enum class RpoState { kOk, kAtRisk, kViolated, kMissing, kUnreachable };
// "ok", "at_risk", "violated", "missing", "unreachable".
std::string_view RpoStateName(RpoState state);
// True for kOk and kAtRisk: the promise holds.
bool RpoHolds(RpoState state);
// The state of a snapshot `age_ns` old against `rpo` (doc/status.md, "Thresholds"): kViolated when
// age > rpo, kAtRisk when 5 * age > 4 * rpo, else kOk. A negative age counts as 0.
RpoState RpoStateForAge(int64_t age_ns, std::chrono::seconds rpo);

struct StatusOptions {
  // Wall-clock time (ns since the epoch) that ages are measured at; 0: the context clock's
  // WallNs() when ComputePlanStatus starts.
  int64_t now_ns = 0;
  // Cancels everything; its clock measures the site time limit and the durations.
  Context context = {};
  // Each site's open and listings must end within this (its context's deadline); a site whose
  // thread is still busy kAbandonGrace later is given up as unreachable.
  std::chrono::nanoseconds site_time_limit = std::chrono::seconds(20);
  // The status cache (runlog/cache.h); empty: no cache, every object is read.
  std::string cache_path;
  // Only these services (and the sites they use); empty: every service. A name not in the plan
  // is an error of ComputePlanStatus.
  std::vector<std::string> services;
  // Tests and fault injection: decorates each site's backend (see OpenOptions::decorate_backend);
  // given the site's name. Called on the site's thread.
  std::function<std::unique_ptr<Backend>(const std::string& site, std::unique_ptr<Backend>)>
      decorate_backend;
  // Sites the caller has open already (`lifeboat run`: no second key derivation). Given a site's
  // name: its repository (unlocked; the index is not needed), null to open it here, or an error
  // when the caller knows the site cannot be reached (it is then `unreachable` with that error,
  // without a second attempt). A caller's repository is listed on the calling thread, within
  // the same deadline, and is not used after ComputePlanStatus returns.
  std::function<Result<Repository*>(const std::string& site)> opened_site;
};

// How long ComputePlanStatus waits past a site's deadline before abandoning its thread.
inline constexpr std::chrono::seconds kAbandonGrace{2};

// The newest complete snapshot of one source (or of the service: the oldest of its sources').
struct SnapshotRef {
  std::string id;        // 64 hex
  int64_t time_ns = 0;   // the snapshot's time
  int64_t age_ns = 0;    // now - time, at least 0
};

struct SourceStatus {
  std::string name;  // the plan's source name
  std::string kind;  // "paths", "command", "postgres", "sqlite"
  std::optional<SnapshotRef> newest;  // unset: no complete snapshot of the source there
  RpoState state = RpoState::kMissing;  // kUnreachable when the site is
};

struct LastRun {
  std::string run_id;
  int64_t start_ns = 0, end_ns = 0;
  RunResult result = RunResult::kOk;
  std::string error;  // the first error of a failed or incomplete record; "" when none
  size_t records = 0;
};

// One service at one of its sites.
struct ServiceSiteStatus {
  std::string site;
  RpoState state = RpoState::kMissing;
  std::optional<SnapshotRef> newest;  // the oldest of the sources' newest; unset: none
  std::vector<SourceStatus> sources;  // in plan order
  std::optional<LastRun> last_run;
  std::string error;  // kUnreachable: why (the site's error)
};

struct CopiesStatus {
  int copies = 1;  // the live data + the sites with a fresh snapshot (ok or at_risk)
  std::vector<std::string> media;  // distinct media kinds of those sites, sorted
  bool offsite = false;            // one of them has role offsite
  std::vector<std::string> warnings;  // the 3-2-1 shortfalls, one line each
};

struct ServiceStatus {
  std::string name;
  int tier = 3;
  std::chrono::seconds rpo{0};
  std::vector<ServiceSiteStatus> sites;  // in the order of the service's sites
  std::optional<LastRun> last_run;       // the newest of the sites' last runs
  // When the next run is due: the schedule's NextAfter(last run start), or now without a run.
  // Unset only when the schedule does not parse or never fires again (a warning says so).
  std::optional<int64_t> next_run_ns;
  bool due = false;  // next_run_ns <= now
  CopiesStatus copies;
  bool holds = true;  // every site ok or at_risk
};

struct SiteStatus {
  std::string name;
  std::string role;   // "primary", "secondary", "offsite"
  std::string media;
  bool reachable = false;
  std::string error;  // unreachable: why (no secret: errors of the engine never hold one)
  size_t snapshots = 0;  // snapshot objects listed
  size_t run_records = 0;
  int64_t duration_ns = 0;  // opening and listing, on the context's clock
  std::vector<std::string> warnings;  // immutability, damaged objects, the cache
  int most_critical_tier = 3;          // among the selected services using the site
};

struct PlanStatus {
  int64_t now_ns = 0;
  std::vector<SiteStatus> sites;        // the sites the selected services use, in plan order
  std::vector<ServiceStatus> services;  // the selected services, in plan order
  std::vector<std::string> warnings;    // every warning: sites', services' 3-2-1, the cache
  bool holds = true;                    // every RPO at every listed site holds
  int64_t duration_ns = 0;
};

// Computes the status (see the top of this file and doc/status.md). Fails only for an unknown
// service in options.services (InvalidArgument) or a cancelled context (Cancelled); every
// problem of a site is in its SiteStatus.
Result<PlanStatus> ComputePlanStatus(const plan::Plan& plan, const StatusOptions& options);

// The observations `run` and `status --notify` give notify::Notify: per service and reachable
// site an rpo observation (ok / at risk / failed for violated and missing, with rpo_seconds,
// age_seconds, newest_snapshot, newest_snapshot_time), per site a site observation (reachable or
// not, with the error and the most critical tier of its services).
std::vector<notify::Observation> ObservationsFromStatus(const PlanStatus& status);

// The Prometheus text exposition format of doc/status.md (every metric with # HELP and # TYPE).
std::string PrometheusText(const PlanStatus& status);
// A label value escaped for the text format: \ -> \\, " -> \", newline -> \n.
std::string EscapePrometheusLabel(std::string_view value);
// The --json document (doc/json.md, "Status").
nlohmann::ordered_json StatusJson(const PlanStatus& status, const std::string& plan_file);
// The table and lines for people (doc/status.md, "Output for people"); `problems_only` for
// --quiet. Times in the local time zone.
std::string HumanStatus(const PlanStatus& status, bool problems_only);

}  // namespace lifeboat::dr
