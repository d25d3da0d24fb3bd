// The forms of a DrillOutcome (doc/drills.md, "The report", "JSON", "Evidence and findings"):
// the recovery report's, with where its records went and what the drills were found to be.
#include "dr/drill.h"
#include "notify/event.h"
#include "util/strings.h"

namespace lifeboat::dr {

nlohmann::ordered_json DrillOutcomeToJson(const DrillOutcome& o) {
  nlohmann::ordered_json j = recover::RecoveryReportToJson(o.report);
  j["drill_id"] = o.drill_id;
  j["exit_status"] = o.ExitCode();
  j["recorded"] = o.recorded();
  auto& services = j["services"];
  for (size_t i = 0; i < o.drills.size() && i < services.size(); ++i) {
    const JudgedDrill& d = o.drills[i];
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const DrillFinding& f : d.findings) findings.push_back(DrillFindingJson(f));
    services[i]["record_id"] = d.record.id;
    services[i]["recorded"] = d.recorded;
    services[i]["earlier_drills"] =
        d.history_read ? nlohmann::ordered_json(d.earlier_drills) : nlohmann::ordered_json();
    services[i]["findings"] = std::move(findings);
  }
  nlohmann::ordered_json writes = nlohmann::ordered_json::array();
  for (const DrillRecordWrite& w : o.writes) {
    writes.push_back({{"site", w.site},
                      {"services", w.services},
                      {"object", w.object ? nlohmann::ordered_json(w.object->Hex())
                                          : nlohmann::ordered_json()},
                      {"error", w.error}});
  }
  j["records"] = std::move(writes);
  nlohmann::ordered_json notes = nlohmann::ordered_json::array();
  for (const notify::DeliveryOutcome& n : o.notifications) {
    notes.push_back(nlohmann::ordered_json(notify::OutcomeJson(n)));
  }
  j["notifications"] = std::move(notes);
  j["warnings"] = o.warnings;
  return j;
}

std::string FormatDrillOutcome(const DrillOutcome& o) {
  std::string out = recover::FormatRecoveryReport(o.report);
  for (const DrillRecordWrite& w : o.writes) {
    if (w.object) {
      out += "recorded at site " + w.site + " (drill " + o.drill_id.substr(0, 8) + ", object " +
             w.object->Short() + "): " + JoinStrings(w.services, ", ") + "\n";
    } else {
      out += "NOT RECORDED at site " + w.site + ": " + JoinStrings(w.services, ", ") + ": " +
             w.error + "\n";
    }
  }
  const std::vector<DrillFinding> findings = o.Findings();
  for (const DrillFinding& f : findings) out += "! " + f.message + "\n";
  if (findings.empty() && !o.drills.empty()) {
    std::string compared;
    for (const JudgedDrill& d : o.drills) {
      if (!d.history_read) continue;
      compared += (compared.empty() ? "" : ", ") + d.record.service + " with " +
                  std::to_string(d.earlier_drills) + " earlier";
    }
    out += "ok: nothing to flag" + (compared.empty() ? "" : " (compared " + compared + ")") + "\n";
  }
  for (const notify::DeliveryOutcome& n : o.notifications) {
    out += "notification " + std::string(notify::EventTypeName(n.event)) + " to " + n.channel +
           ": " + std::string(notify::OutcomeResultName(n.result)) +
           (n.error.empty() ? "" : ": " + n.error) + "\n";
  }
  return out;
}

}  // namespace lifeboat::dr
