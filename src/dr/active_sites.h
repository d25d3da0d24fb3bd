// Where each service of a plan runs now, and how a backup run follows it there: the one rule
// that `lifeboat run` and the daemon share (doc/run.md, "After a failover"; doc/daemon.md, "Sites
// and active sites").
//
// A service active at a site other than its first one (a failover moved it there) is backed up
// as it runs at that site: its paths and SQLite databases read below the site's recovery root
// and recorded at their original paths, its postgres sources dumped from the cluster the
// failover left running there (RunOptions::read_roots), and to that site first (the plan copy
// lists it first: RunPlan backs up to a service's first site and copies to the others, so the
// backups land where it runs even while the site it left is gone). A service that the open
// incident moved to its active site but did not recover there (failed, skipped, cancelled, or
// still under way) is not backed up at all: what lies below the recovery root is not the
// service's data (RunOptions::skip, with a note saying what to do).
//
//   RunPlacement p = PlaceServicesForRun(plan, {{"shop", "dr"}}, state_dir);  // the daemon
//   RunPlacement p = ReadRunPlacement(plan, state_dir, ctx);                   // lifeboat run
//   RunOptions o;  p.ApplyTo(&o);
//   RunPlan(*p.plan, o);
//
// Plain functions, any thread. Both read the state directory's incident; ReadRunPlacement also
// reads the fence (read only: Fence::ReadActiveSites; etcd bounded by its retry_timeout).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dr/incident_state.h"
#include "dr/run.h"
#include "fence/fence.h"
#include "plan/plan.h"
#include "util/context.h"

namespace lifeboat::dr {

struct RunPlacement {
  // The plan with each moved service's active site listed first (the input itself when none
  // moved). Outlives the run: RunPlan takes it by reference.
  std::shared_ptr<const plan::Plan> plan;
  // Service -> the recovery root it is read below (RunOptions::read_roots): moved services
  // whose active site has a recovery root other than "/".
  std::map<std::string, std::string> read_roots;
  // Service -> why it is not backed up this time, and what to do (RunOptions::skip).
  std::map<std::string, std::string> skip;
  // Service -> its active site, for the services active at a site other than their first.
  std::map<std::string, std::string> moved;
  // Problems worth a line that skipped nothing (e.g. the fence could not be read, but no
  // service could have moved).
  std::vector<std::string> warnings;

  // Sets options->read_roots and options->skip.
  void ApplyTo(RunOptions* options) const;
};

// The placement of `plan`'s services given where each is active: `active` maps a service to
// its active site (absent or empty, or a site the plan does not have: its first site; a site
// the service does not list is read below but not put first: it has no repository of it). Reads
// STATE_DIR/incident.json: the incident matters only while it has not ended (state open or
// failed), for the services it moved to its recovery site that are still active there; when it
// cannot be read, the moved services are skipped (whether they were recovered is unknown).
RunPlacement PlaceServicesForRun(std::shared_ptr<const plan::Plan> plan,
                                 const std::map<std::string, std::string>& active,
                                 const std::string& state_dir);

// `lifeboat run`'s placement: the active sites read from the plan's fence (fence::OpenFence with
// `state_dir`: the lock file there, or etcd; read only: Fence::ReadActiveSites), then
// PlaceServicesForRun. When the fence cannot be read (etcd unreachable),
// the services that may have moved — those with a `failover` policy (the daemon may move them)
// and those an incident of this state directory names — are skipped with a note (nobody can say
// where they run; a guess could back up a stale copy as the newest snapshot); the others are
// placed at their first site. Never fails: every problem is a skip or a warning.
RunPlacement ReadRunPlacement(std::shared_ptr<const plan::Plan> plan, const std::string& state_dir,
                              const Context& ctx);

}  // namespace lifeboat::dr
