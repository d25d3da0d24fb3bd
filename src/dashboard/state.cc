#include "dashboard/state.h"

namespace lifeboat::dashboard {

std::vector<DrillSummary> RecentDrills(const dr::DrillHistory& history, size_t per_service) {
  std::vector<DrillSummary> out;
  for (const dr::ServiceDrills& s : history.services) {
    size_t taken = 0;
    // Oldest first in the history: walk it backwards.
    for (auto it = s.drills.rbegin(); it != s.drills.rend() && taken < per_service; ++it, ++taken) {
      const DrillRecord& r = *it;
      DrillSummary d;
      d.service = r.service;
      d.site = r.site;
      d.start_ns = r.start_ns;
      d.result = r.result;
      d.achieved_rto_ns = r.achieved_rto_ns;
      d.rto_target_ns = r.rto_target_ns ? r.rto_target_ns : s.rto_ns;
      d.achieved_rpo_ns = r.achieved_rpo_ns;
      d.rpo_target_ns = r.rpo_target_ns ? r.rpo_target_ns : s.rpo_ns;
      d.error = r.error;
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::string_view HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kUnknown:
      return "unknown";
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kFailing:
      return "failing";
    case HealthState::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace lifeboat::dashboard
