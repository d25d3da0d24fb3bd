// Internal to RunPlan (run.cc, run_service.cc, run_notify.cc): the state one run shares between
// its steps. Not part of the DR layer's API.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dr/run.h"
#include "engine/open.h"
#include "notify/notify.h"
#include "plan/plan.h"
#include "runlog/cache.h"

namespace lifeboat::dr::internal {

// One site of the plan as this run uses it: resolved once (password and env), opened once
// without a lock (run records, the due rule). `status` is why it could not be.
struct SiteHandle {
  const plan::Site* site = nullptr;
  bool tried = false;
  Status status;
  OpenOptions open;  // password as a resolved Value; backend env resolved
  std::unique_ptr<Repository> repo;  // unlocked, no index
};

class RunState {
 public:
  RunState(const plan::Plan& plan, const RunOptions& options);

  const plan::Plan& plan() const { return plan_; }
  const RunOptions& options() const { return options_; }
  const Context& ctx() const { return options_.context; }
  int64_t WallNs() const { return ctx().clock().WallNs(); }

  // The site, resolved and opened on first use (see SiteHandle).
  SiteHandle& Site(const std::string& name);
  // OpenOptions of the site for a job: its resolved options, with `lock`.
  Result<OpenOptions> JobOpenOptions(const std::string& name, std::optional<LockKind> lock);

  // Text with every secret resolved so far replaced by "***".
  std::string Redact(const std::string& text) const;
  std::string Redact(const Status& status) const { return Redact(status.ToString()); }
  void AddSecret(const std::string& value);
  // The plan's secret value (ResolveSecret), remembered for redaction.
  Result<std::string> Resolve(const plan::SecretRef& secret, const std::string& owner);
  // Variables that plan secrets are read from (`*_env`): emptied for hooks and commands.
  const std::vector<std::string>& secret_variables() const { return secret_variables_; }

  // The status cache (null when none or it could not be opened: a warning was added).
  StatusCache* cache();

  void Line(const std::string& line) const {
    if (options_.on_line) options_.on_line(line);
  }

  std::string run_id;
  std::string host;
  std::vector<std::string> warnings;

 private:
  const plan::Plan& plan_;
  const RunOptions& options_;
  std::map<std::string, SiteHandle> sites_;
  std::vector<std::string> secrets_;
  std::vector<std::string> secret_variables_;
  bool cache_tried_ = false;
  std::unique_ptr<StatusCache> cache_;
};

// The program version written into the records ("lifeboat 0.1.0").
std::string ProgramVersion();

// Decides whether `service` is due (fills last_start_ns, next_due_ns, note). True: due.
bool IsDue(RunState& state, const plan::Service& service, ServiceReport* report);

// Whether `schedule` fired between `last_start_ns` and now: NextAfter(last start) <= now. Fills
// *next_due_ns (that next firing); a schedule that cannot be parsed is due (with a *note naming
// `what`), one that never fires again is not.
bool ScheduleDue(const RunState& state, const plan::Schedule& schedule, int64_t last_start_ns,
                 const std::string& what, int64_t* next_due_ns, std::string* note);

// The drills the considered services' drill_schedule asks for (doc/run.md, "Scheduled drills"):
// decides which are due (fills each ServiceReport's drill), then drills them all in one
// PerformDrill (its records, findings and notifications), after the run's backups. A dry run
// says what it would drill; an interrupted run drills nothing.
void RunScheduledDrills(RunState& state, RunReport* report);

// Runs one due service under its run lock: hooks, backups, replication, retention.
void RunService(RunState& state, const plan::Service& service, ServiceReport* report);

// A service of RunOptions::skip: state kSkipped, `why` as its note and (unless a dry run) a
// skipped outcome per site, so that its records show the gap.
void SkipService(RunState& state, const plan::Service& service, const std::string& why,
                 ServiceReport* report);

// Prints what a due service would do (--dry-run).
void DescribeDryRun(RunState& state, const plan::Service& service, ServiceReport* report);

// Sends run_started (healthchecks /start) when the plan has channels: one attempt per channel.
void NotifyRunStarted(RunState& state, RunReport* report);

// Sends the run's observations (backups, sites, the RPO of its services after it) and its
// run_summary (when the plan has channels).
void NotifyRun(RunState& state, RunReport* report);

}  // namespace lifeboat::dr::internal
