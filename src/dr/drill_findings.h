// Continuous improvement from drill results (doc/drill-history.md, "What is flagged"): pure
// functions of a service's drill history and the plan that say what needs attention. A drill is
// flagged when it failed, missed its RTO or RPO target, or took more than 20% longer than the
// median of the last 5 drills of the same service from the same site; a service when it was
// never drilled or its newest passed drill is older than its drill_every. The drill report,
// `drill history`, the runbook and the notifications (DrillObservation) all judge drills here.
//
//   ServiceAssessment a = AssessService(*plan.FindService("shop"), shop_records, now_ns);
//   for (const DrillFinding& f : a.findings) std::cout << f.message << "\n";
//
// Pure: no I/O, no clock (the caller passes the time). Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify/router.h"
#include "plan/plan.h"
#include "runlog/drill_records.h"

namespace lifeboat::dr {

// A drill regressed when its achieved RTO is more than this fraction above the median.
inline constexpr double kRtoRegressionThreshold = 0.20;
// The median is taken over at most this many earlier passed drills of the service from the site.
inline constexpr size_t kRtoMedianWindow = 5;
// Fewer earlier passed drills than this: no regression is judged (a median of one or two drills
// is noise, not a baseline).
inline constexpr size_t kRtoMedianMinimum = 3;

enum class FindingKind {
  kNeverDrilled,  // service: no drill record at all
  kOverdue,       // service: no passed drill within drill_every (or none passed at all)
  kFailed,        // drill: it failed or was skipped
  kRtoMissed,     // drill: achieved RTO above the target
  kRpoMissed,     // drill: achieved RPO above the target
  kRtoRegressed,  // drill: RTO more than 20% above the median of the last 5 drills
};
// "never_drilled", "overdue", "failed", "rto_missed", "rpo_missed", "rto_regressed".
std::string_view FindingKindName(FindingKind kind);

struct DrillFinding {
  FindingKind kind = FindingKind::kFailed;
  std::string record_id;  // the drill record judged; empty for service findings
  std::string message;    // one line for people, naming the values
  // The measured value and what it is compared with, in ns (RTO and median; RTO and target; the
  // newest passed drill's age and drill_every); 0 when not applicable.
  int64_t value_ns = 0;
  int64_t reference_ns = 0;
  // kRtoRegressed: the step that grew most against its own median, or "waiting for earlier
  // waves" when the wait before the first step did (empty when nothing compares).
  std::string step;
};

// The findings of one drill against the earlier drills of its service (any order; records of
// other services, and `drill` itself, are ignored; only those from the same site that started
// before it count for the median). Targets are the record's own (those of its day), else the
// service's current ones (`service` may be null: then only the record's).
std::vector<DrillFinding> AssessDrill(const DrillRecord& drill,
                                      const std::vector<DrillRecord>& history,
                                      const plan::Service* service);

// The median achieved RTO of up to kRtoMedianWindow passed drills of `service_name` from `site`
// that started before `before_ns`; nullopt when fewer than kRtoMedianMinimum exist.
std::optional<int64_t> MedianRto(const std::vector<DrillRecord>& history,
                                 std::string_view service_name, std::string_view site,
                                 int64_t before_ns);

struct ServiceAssessment {
  std::string service;
  size_t drills = 0;                          // records of the service
  std::optional<DrillRecord> newest;          // the newest drill (any site, any result)
  std::optional<DrillRecord> newest_passed;   // the newest passed drill
  // Service findings (never drilled, overdue) first, then those of the newest drill.
  std::vector<DrillFinding> findings;
};

// Judges `service` from its drill records (any order; others are ignored) at `now_ns`.
ServiceAssessment AssessService(const plan::Service& service,
                                const std::vector<DrillRecord>& history, int64_t now_ns);

// The router observation of one drill's outcome (doc/notifications.md, "Drills"): kFailed for a
// failed or skipped drill, kAtRisk when `findings` (AssessDrill's) hold kRtoRegressed, else kOk;
// the message and the documented details of drill_failed, rto_regressed and drill_passed.
notify::Observation DrillObservation(const DrillRecord& drill, int tier,
                                     const std::vector<DrillFinding>& findings);

// A finding as JSON (doc/drill-history.md, "JSON"): {kind, message} and, when they apply,
// record_id, value_ns and reference_ns, step.
nlohmann::ordered_json DrillFindingJson(const DrillFinding& finding);

// "1.5s" under a minute, else the plan's duration form of the rounded seconds ("24m10s", "1h").
std::string FormatDrillDuration(int64_t ns);

}  // namespace lifeboat::dr
