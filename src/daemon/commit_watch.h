// failover.commit_after (doc/daemon.md, "Committing a failover"): the daemon of the recovery site
// commits an open failover once every service of it has stayed healthy for commit_after. The
// services it health-checks (those with a failover policy) count by its health rounds against
// production (which the switch steps pointed at the recovered copies); the others by their
// recovery result alone. The wait starts with the first tick at which the recovery has ended,
// every service of the incident was recovered and every watched one passed a round since; a
// failed round (or a service not recovered) restarts it.
//
//   CommitWatch watch;
//   CommitStep step = watch.Observe(incident, health, *plan.failover.commit_after, now, ours);
//   for (const std::string& line : step.lines) Log(line);
//   if (step.commit) ...dr::CommitFailover on the worker...
//
// Not thread-safe: the daemon's loop thread owns it. Pure (no I/O).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/health.h"
#include "dr/incident_state.h"

namespace lifeboat::daemon {

struct CommitStep {
  bool commit = false;             // commit the incident now
  std::vector<std::string> lines;  // for the log (each said once per change)
};

class CommitWatch {
 public:
  // `incident`: STATE_DIR/incident.json as read now (nullopt: none). `health`: the daemon's
  // watched services. `ours`: the incident's recovery site is one of this daemon's sites (else it
  // is not this daemon's to commit).
  CommitStep Observe(const std::optional<dr::IncidentState>& incident,
                     const std::map<std::string, ServiceHealth>& health,
                     std::chrono::seconds commit_after, int64_t now_ns, bool ours);
  // The time the current wait started (0: not waiting), for the snapshot.
  int64_t healthy_since_ns() const { return healthy_since_ns_; }
  // The commit job ended (in success or not): the next Observe may ask again.
  void CommitDone() { asked_ = false; }

 private:
  void Say(CommitStep* step, const std::string& line);

  std::string incident_;  // the incident being watched
  int64_t healthy_since_ns_ = 0;
  bool asked_ = false;     // a commit was asked for and has not ended
  std::string last_line_;  // the last thing said (not repeated)
};

}  // namespace lifeboat::daemon
