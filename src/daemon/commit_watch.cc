#include "daemon/commit_watch.h"

#include "notify/event.h"

namespace lifeboat::daemon {

void CommitWatch::Say(CommitStep* step, const std::string& line) {
  if (line == last_line_) return;
  last_line_ = line;
  step->lines.push_back(line);
}

CommitStep CommitWatch::Observe(const std::optional<dr::IncidentState>& incident,
                                const std::map<std::string, ServiceHealth>& health,
                                std::chrono::seconds commit_after, int64_t now_ns, bool ours) {
  CommitStep step;
  if (!incident || !incident->open() || incident->kind != "failover" || !ours) {
    incident_.clear();
    healthy_since_ns_ = 0;
    asked_ = false;
    return step;
  }
  const dr::IncidentState& inc = *incident;
  if (inc.id != incident_) {
    incident_ = inc.id;
    healthy_since_ns_ = 0;
    asked_ = false;
    last_line_.clear();
  }
  if (asked_) return step;
  if (inc.end_ns == 0) return step;  // still recovering
  const std::string prefix = "incident " + inc.id.substr(0, 8) + ": ";
  for (const dr::IncidentService& s : inc.services) {
    if (s.result != "recovered") {
      healthy_since_ns_ = 0;
      Say(&step, prefix + "not committed automatically: service " + s.service + " is " + s.result +
                     " (commit or roll back by hand: lifeboat failover commit|rollback)");
      return step;
    }
    auto h = health.find(s.service);
    if (h == health.end()) continue;  // not health-checked: its recovery result counts
    if (h->second.state != HealthState::kHealthy || h->second.last_check_ns < inc.end_ns) {
      if (healthy_since_ns_ != 0) {
        Say(&step, prefix + "service " + s.service + " " +
                       (h->second.state == HealthState::kHealthy
                            ? std::string("not checked since the recovery")
                            : "failed a health check (" + h->second.last_error + ")") +
                       ": the wait of commit_after starts again");
      }
      healthy_since_ns_ = 0;
      return step;
    }
  }
  if (healthy_since_ns_ == 0) {
    healthy_since_ns_ = now_ns;
    Say(&step, prefix + "every service healthy: committed at " +
                   notify::FormatRfc3339Utc(now_ns + commit_after.count() * 1'000'000'000LL) +
                   " if it stays so (failover.commit_after)");
  }
  if (now_ns - healthy_since_ns_ >= commit_after.count() * 1'000'000'000LL) {
    asked_ = true;
    step.commit = true;
    Say(&step, prefix + "every service stayed healthy for commit_after: committing");
  }
  return step;
}

}  // namespace lifeboat::daemon
