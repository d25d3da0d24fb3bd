#include "dr/drill_findings.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "plan/duration.h"

namespace lifeboat::dr {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

int64_t Median(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2;
}

// Up to kRtoMedianWindow passed drills of the service from the site that started before
// `before_ns`, newest first.
std::vector<const DrillRecord*> Baseline(const std::vector<DrillRecord>& history,
                                         std::string_view service, std::string_view site,
                                         int64_t before_ns) {
  std::vector<const DrillRecord*> earlier;
  for (const DrillRecord& r : history) {
    if (r.service != service || r.site != site || r.start_ns >= before_ns) continue;
    if (r.result != DrillResult::kPassed || !r.achieved_rto_ns) continue;
    earlier.push_back(&r);
  }
  std::sort(earlier.begin(), earlier.end(), [](const DrillRecord* a, const DrillRecord* b) {
    return a->start_ns != b->start_ns ? a->start_ns > b->start_ns : a->id > b->id;
  });
  if (earlier.size() > kRtoMedianWindow) earlier.resize(kRtoMedianWindow);
  return earlier;
}

std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", fraction * 100.0);
  return buf;
}

// What a drill's time went into: each step by name, and the wait for earlier waves (drill start
// to the first step) as kWaitStep.
constexpr const char* kWaitStep = "waiting for earlier waves";
std::vector<std::pair<std::string, int64_t>> Parts(const DrillRecord& r) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (!r.steps.empty() && r.steps.front().start_ns > r.start_ns)
    out.emplace_back(kWaitStep, r.steps.front().start_ns - r.start_ns);
  for (const DrillStep& s : r.steps) out.emplace_back(s.name, s.end_ns - s.start_ns);
  return out;
}

// The part of `drill` (a step, or the wait for earlier waves) whose duration grew most against
// the median of the same part in `baseline`, with that growth as a fraction of its median; empty
// when none grew. "Most" is in time, not in proportion: the RTO grew by time, and a part of a few
// milliseconds that took ten times as long explains nothing of a drill that took seconds longer.
std::pair<std::string, double> GrownStep(const DrillRecord& drill,
                                         const std::vector<const DrillRecord*>& baseline) {
  std::string best;
  int64_t best_added = 0;
  double best_growth = 0;
  for (const auto& [name, duration] : Parts(drill)) {
    std::vector<int64_t> before;
    for (const DrillRecord* r : baseline)
      for (const auto& [other, d] : Parts(*r))
        if (other == name) before.push_back(d);
    if (before.empty()) continue;
    const int64_t median = Median(before);
    if (median <= 0) continue;
    const int64_t added = duration - median;
    if (added > best_added) {
      best_added = added;
      best = name;
      best_growth = static_cast<double>(added) / static_cast<double>(median);
    }
  }
  return {best, best_growth};
}

}  // namespace

std::string_view FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kNeverDrilled: return "never_drilled";
    case FindingKind::kOverdue: return "overdue";
    case FindingKind::kFailed: return "failed";
    case FindingKind::kRtoMissed: return "rto_missed";
    case FindingKind::kRpoMissed: return "rpo_missed";
    case FindingKind::kRtoRegressed: return "rto_regressed";
  }
  return "unknown";
}

nlohmann::ordered_json DrillFindingJson(const DrillFinding& f) {
  nlohmann::ordered_json j{{"kind", FindingKindName(f.kind)}, {"message", f.message}};
  if (!f.record_id.empty()) j["record_id"] = f.record_id;
  if (f.value_ns != 0 || f.reference_ns != 0) {
    j["value_ns"] = f.value_ns;
    j["reference_ns"] = f.reference_ns;
  }
  if (!f.step.empty()) j["step"] = f.step;
  return j;
}

std::string FormatDrillDuration(int64_t ns) {
  if (ns < 60 * kNsPerSecond) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(std::max<int64_t>(ns, 0)) / 1e9);
    return buf;
  }
  return plan::FormatPlanDuration(std::chrono::seconds((ns + kNsPerSecond / 2) / kNsPerSecond));
}

std::optional<int64_t> MedianRto(const std::vector<DrillRecord>& history,
                                 std::string_view service_name, std::string_view site,
                                 int64_t before_ns) {
  std::vector<const DrillRecord*> baseline = Baseline(history, service_name, site, before_ns);
  if (baseline.size() < kRtoMedianMinimum) return std::nullopt;
  std::vector<int64_t> rtos;
  for (const DrillRecord* r : baseline) rtos.push_back(*r->achieved_rto_ns);
  return Median(rtos);
}

std::vector<DrillFinding> AssessDrill(const DrillRecord& drill,
                                      const std::vector<DrillRecord>& history,
                                      const plan::Service* service) {
  std::vector<DrillFinding> out;
  const std::string where = drill.service + " from " + drill.site;
  if (drill.result != DrillResult::kPassed) {
    DrillFinding f;
    f.kind = FindingKind::kFailed;
    f.record_id = drill.id;
    f.message = "the drill of " + where + " " + std::string(DrillResultName(drill.result)) +
                (drill.error.empty() ? "" : ": " + drill.error);
    if (const size_t nl = f.message.find('\n'); nl != std::string::npos) f.message.resize(nl);
    out.push_back(std::move(f));
  }
  std::optional<int64_t> rto_target = drill.rto_target_ns, rpo_target = drill.rpo_target_ns;
  if (service != nullptr && !rto_target && service->rto)
    rto_target = std::chrono::nanoseconds(*service->rto).count();
  if (service != nullptr && !rpo_target && service->rpo.count() > 0)
    rpo_target = std::chrono::nanoseconds(service->rpo).count();
  if (drill.achieved_rto_ns && rto_target && *drill.achieved_rto_ns > *rto_target) {
    out.push_back({FindingKind::kRtoMissed, drill.id,
                   "the RTO target of " + drill.service + " was missed: recovery from " +
                       drill.site + " took " + FormatDrillDuration(*drill.achieved_rto_ns) +
                       ", the target is " + FormatDrillDuration(*rto_target),
                   *drill.achieved_rto_ns, *rto_target, ""});
  }
  if (drill.achieved_rpo_ns && rpo_target && *drill.achieved_rpo_ns > *rpo_target) {
    out.push_back({FindingKind::kRpoMissed, drill.id,
                   "the RPO target of " + drill.service + " was missed: the data restored from " +
                       drill.site + " was " + FormatDrillDuration(*drill.achieved_rpo_ns) +
                       " old, the target is " + FormatDrillDuration(*rpo_target),
                   *drill.achieved_rpo_ns, *rpo_target, ""});
  }
  if (drill.result == DrillResult::kPassed && drill.achieved_rto_ns) {
    const std::vector<const DrillRecord*> baseline =
        Baseline(history, drill.service, drill.site, drill.start_ns);
    std::optional<int64_t> median = MedianRto(history, drill.service, drill.site, drill.start_ns);
    if (median && *median > 0) {
      const double above =
          static_cast<double>(*drill.achieved_rto_ns - *median) / static_cast<double>(*median);
      if (above > kRtoRegressionThreshold) {
        DrillFinding f{FindingKind::kRtoRegressed, drill.id, "", *drill.achieved_rto_ns, *median, ""};
        auto [step, growth] = GrownStep(drill, baseline);
        f.step = step;
        f.message = "the RTO of " + where + " regressed: " +
                    FormatDrillDuration(*drill.achieved_rto_ns) + " is " + Percent(above) +
                    " above the median of the last " + std::to_string(baseline.size()) +
                    " drills (" + FormatDrillDuration(*median) + ")" +
                    (step.empty() ? ""
                     : step == kWaitStep
                         ? "; the wait for earlier waves took " + Percent(growth) +
                               " longer than its median"
                         : "; step " + step + " took " + Percent(growth) +
                               " longer than its median");
        out.push_back(std::move(f));
      }
    }
  }
  return out;
}

ServiceAssessment AssessService(const plan::Service& service,
                                const std::vector<DrillRecord>& history, int64_t now_ns) {
  ServiceAssessment a;
  a.service = service.name;
  for (const DrillRecord& r : history) {
    if (r.service != service.name) continue;
    ++a.drills;
    auto newer = [&](const std::optional<DrillRecord>& than) {
      return !than || r.start_ns > than->start_ns ||
             (r.start_ns == than->start_ns && r.id > than->id);
    };
    if (newer(a.newest)) a.newest = r;
    if (r.result == DrillResult::kPassed && newer(a.newest_passed)) a.newest_passed = r;
  }
  if (a.drills == 0) {
    a.findings.push_back({FindingKind::kNeverDrilled, "",
                          "service " + service.name + " was never drilled: nobody knows whether "
                              "it can be recovered",
                          0, 0, ""});
  }
  if (service.drill_every) {
    const int64_t every = std::chrono::nanoseconds(*service.drill_every).count();
    if (!a.newest_passed && a.drills > 0) {
      a.findings.push_back({FindingKind::kOverdue, "",
                            "service " + service.name + " has no passed drill; drill_every is " +
                                FormatDrillDuration(every),
                            0, every, ""});
    } else if (a.newest_passed && now_ns - a.newest_passed->start_ns > every) {
      const int64_t age = now_ns - a.newest_passed->start_ns;
      a.findings.push_back({FindingKind::kOverdue, "",
                            "service " + service.name + " is overdue for a drill: the newest "
                                "passed drill is " + FormatDrillDuration(age) +
                                " old, drill_every is " + FormatDrillDuration(every),
                            age, every, ""});
    }
  }
  if (a.newest) {
    for (DrillFinding& f : AssessDrill(*a.newest, history, &service))
      a.findings.push_back(std::move(f));
  }
  return a;
}

notify::Observation DrillObservation(const DrillRecord& drill, int tier,
                                     const std::vector<DrillFinding>& findings) {
  notify::Observation o;
  o.condition = notify::Condition::kDrill;
  o.service = drill.service;
  o.tier = tier;
  o.site = drill.site;
  nlohmann::json d = nlohmann::json::object();
  d["drill_id"] = drill.drill_id;
  auto seconds = [](int64_t ns) { return (ns + kNsPerSecond / 2) / kNsPerSecond; };
  if (drill.rto_target_ns) d["rto_seconds"] = seconds(*drill.rto_target_ns);
  if (drill.rpo_target_ns) d["rpo_seconds"] = seconds(*drill.rpo_target_ns);
  if (drill.achieved_rpo_ns) d["achieved_rpo_seconds"] = seconds(*drill.achieved_rpo_ns);
  const auto regressed = std::find_if(findings.begin(), findings.end(), [](const DrillFinding& f) {
    return f.kind == FindingKind::kRtoRegressed;
  });
  const std::string where = drill.service + " from " + drill.site;
  if (drill.result != DrillResult::kPassed) {
    o.state = notify::Observed::kFailed;
    d["error"] = drill.error;
    for (const DrillStep& s : drill.steps)
      if (s.result == DrillResult::kFailed) {
        d["failed_step"] = s.name;
        break;
      }
    d["started"] = notify::FormatRfc3339Utc(drill.start_ns);
    d["ended"] = notify::FormatRfc3339Utc(drill.end_ns);
    o.message = "drill of " + where + " " + std::string(DrillResultName(drill.result)) +
                (d.contains("failed_step") ? " at step " + d["failed_step"].get<std::string>() : "") +
                (drill.error.empty() ? "" : ": " + drill.error);
    if (const size_t nl = o.message.find('\n'); nl != std::string::npos) o.message.resize(nl);
  } else {
    if (drill.achieved_rto_ns) d["achieved_rto_seconds"] = seconds(*drill.achieved_rto_ns);
    if (regressed != findings.end()) {
      o.state = notify::Observed::kAtRisk;
      d["median_rto_seconds"] = seconds(regressed->reference_ns);
      d["regression_percent"] =
          std::lround(100.0 * static_cast<double>(regressed->value_ns - regressed->reference_ns) /
                      static_cast<double>(std::max<int64_t>(regressed->reference_ns, 1)));
      if (const DrillStep* slowest = drill.SlowestStep()) d["slowest_step"] = slowest->name;
      if (!regressed->step.empty()) d["grown_step"] = regressed->step;
      o.message = regressed->message;
    } else {
      o.state = notify::Observed::kOk;
      o.message = "drill of " + where + " passed" +
                  (drill.achieved_rto_ns ? ": RTO " + FormatDrillDuration(*drill.achieved_rto_ns) +
                                               (drill.rto_target_ns
                                                    ? " of " + FormatDrillDuration(*drill.rto_target_ns)
                                                    : "")
                                         : "") +
                  (drill.achieved_rpo_ns ? ", RPO " + FormatDrillDuration(*drill.achieved_rpo_ns) +
                                               (drill.rpo_target_ns
                                                    ? " of " + FormatDrillDuration(*drill.rpo_target_ns)
                                                    : "")
                                         : "");
    }
  }
  o.details = std::move(d);
  return o;
}

}  // namespace lifeboat::dr
