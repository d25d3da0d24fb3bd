// DrillHistoryText, DrillHistoryMarkdown, DrillHistoryJson (drill_history.h).
#include <algorithm>
#include <ctime>

#include "dr/drill_history.h"
#include "dr/drill_history_internal.h"
#include "notify/event.h"

namespace lifeboat::dr {

namespace internal {

std::string DrillTimeUtc(int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string AchievedAgainstTarget(const std::optional<int64_t>& achieved,
                                  const std::optional<int64_t>& target) {
  return (achieved ? FormatDrillDuration(*achieved) : "-") + " / " +
         (target ? FormatDrillDuration(*target) : "-");
}

std::string SlowestStepText(const DrillRecord& r) {
  const DrillStep* s = r.SlowestStep();
  if (!s) return "-";
  return s->name + " (" + FormatDrillDuration(s->end_ns - s->start_ns) + ")";
}

}  // namespace internal

namespace {

using J = nlohmann::ordered_json;
using internal::AchievedAgainstTarget;
using internal::DrillTimeUtc;
using internal::SlowestStepText;

std::string Flags(const std::vector<DrillFinding>& findings) {
  std::string out;
  for (const DrillFinding& f : findings) {
    std::string word;
    switch (f.kind) {
      case FindingKind::kFailed: continue;  // the result column says it
      case FindingKind::kRtoMissed: word = "RTO missed"; break;
      case FindingKind::kRpoMissed: word = "RPO missed"; break;
      case FindingKind::kRtoRegressed: {
        const double above = f.reference_ns > 0 ? 100.0 * static_cast<double>(f.value_ns - f.reference_ns) /
                                                      static_cast<double>(f.reference_ns)
                                                : 0.0;
        word = "RTO regressed +" + std::to_string(static_cast<int>(above + 0.5)) + "%";
        break;
      }
      default: word = std::string(FindingKindName(f.kind));
    }
    out += (out.empty() ? "" : ", ") + word;
  }
  return out;
}

std::string Heading(const ServiceDrills& s) {
  std::string h = s.service + " (tier " + std::to_string(s.tier) +
                  (s.owner.empty() ? "" : ", owner " + s.owner) + ")";
  std::string targets;
  if (s.rto_ns) targets += "RTO target " + FormatDrillDuration(*s.rto_ns);
  if (s.rpo_ns) targets += (targets.empty() ? "" : ", ") + std::string("RPO target ") +
                           FormatDrillDuration(*s.rpo_ns);
  if (s.drill_every_ns)
    targets += (targets.empty() ? "" : ", ") + std::string("drill_every ") +
               FormatDrillDuration(*s.drill_every_ns);
  const size_t n = s.drills.size();
  h += ": " + (n == 0 ? std::string("never drilled")
                      : std::to_string(n) + (n == 1 ? " drill" : " drills"));
  if (!targets.empty()) h += "; " + targets;
  return h;
}

const std::vector<std::string> kColumns = {"date (UTC)",   "site",         "result",
                                           "RTO / target", "RPO / target", "slowest step",
                                           "flags"};

std::vector<std::string> Row(const DrillRecord& r, const std::vector<DrillFinding>& findings) {
  return {DrillTimeUtc(r.start_ns),
          r.site,
          std::string(DrillResultName(r.result)),
          AchievedAgainstTarget(r.achieved_rto_ns, r.rto_target_ns),
          AchievedAgainstTarget(r.achieved_rpo_ns, r.rpo_target_ns),
          SlowestStepText(r),
          Flags(findings)};
}

// Control characters (a newline in a step name) would break a table line.
std::string OneLine(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

J OptNs(const std::optional<int64_t>& ns) {
  return ns ? J(*ns / 1'000'000'000) : J(nullptr);
}

}  // namespace

std::string DrillHistoryText(const DrillHistory& history) {
  std::string out;
  for (const ServiceDrills& s : history.services) {
    out += Heading(s) + "\n";
    if (!s.drills.empty()) {
      std::vector<std::vector<std::string>> rows = {kColumns};
      for (size_t i = 0; i < s.drills.size(); ++i) rows.push_back(Row(s.drills[i], s.findings[i]));
      std::vector<size_t> width(kColumns.size(), 0);
      for (auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c) {
          row[c] = OneLine(row[c]);
          width[c] = std::max(width[c], row[c].size());
        }
      for (const auto& row : rows) {
        std::string line = " ";
        for (size_t c = 0; c < row.size(); ++c) {
          line += " " + row[c];
          if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 1, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
      }
    }
    for (const DrillFinding& f : s.assessment.findings) out += "  ! " + OneLine(f.message) + "\n";
    if (s.assessment.findings.empty()) out += "  ok: nothing to flag\n";
  }
  return out;
}

std::string DrillHistoryMarkdown(const DrillHistory& history) {
  auto cell = [](const std::string& s) {
    std::string out;
    for (char c : OneLine(s)) {
      if (c == '|') out += "\\|";
      else out += c;
    }
    return out;
  };
  std::string out = "# Drill history\n\nAs of " + DrillTimeUtc(history.now_ns) + " UTC";
  if (!history.sites_read.empty()) {
    out += ", from the sites ";
    for (size_t i = 0; i < history.sites_read.size(); ++i)
      out += (i ? ", " : "") + cell(history.sites_read[i]);
  }
  out += ".\n";
  for (const ServiceDrills& s : history.services) {
    out += "\n## " + cell(Heading(s)) + "\n\n";
    for (const DrillFinding& f : s.assessment.findings) out += "- **" + cell(f.message) + "**\n";
    if (s.assessment.findings.empty()) out += "- nothing to flag\n";
    if (s.drills.empty()) continue;
    out += "\n|";
    for (const std::string& c : kColumns) out += " " + c + " |";
    out += "\n|";
    for (size_t i = 0; i < kColumns.size(); ++i) out += "---|";
    out += "\n";
    for (size_t i = 0; i < s.drills.size(); ++i) {
      out += "|";
      for (const std::string& c : Row(s.drills[i], s.findings[i])) out += " " + cell(c) + " |";
      out += "\n";
    }
  }
  return out;
}

nlohmann::ordered_json DrillHistoryJson(const DrillHistory& history) {
  J services = J::array();
  for (const ServiceDrills& s : history.services) {
    J drills = J::array();
    for (size_t i = 0; i < s.drills.size(); ++i) {
      J d = J::parse(DrillRecordJson(s.drills[i]));
      J findings = J::array();
      for (const DrillFinding& f : s.findings[i]) findings.push_back(DrillFindingJson(f));
      d["findings"] = findings;
      drills.push_back(std::move(d));
    }
    J findings = J::array();
    for (const DrillFinding& f : s.assessment.findings) findings.push_back(DrillFindingJson(f));
    services.push_back(J{
        {"service", s.service},
        {"tier", s.tier},
        {"owner", s.owner},
        {"rto_seconds", OptNs(s.rto_ns)},
        {"rpo_seconds", OptNs(s.rpo_ns)},
        {"drill_every_seconds", OptNs(s.drill_every_ns)},
        {"newest_drill", s.assessment.newest ? J(s.assessment.newest->id) : J(nullptr)},
        {"newest_passed_drill",
         s.assessment.newest_passed ? J(s.assessment.newest_passed->id) : J(nullptr)},
        {"findings", findings},
        {"drills", drills},
    });
  }
  return J{{"message_type", "drill_history"},
           {"time", notify::FormatRfc3339Utc(history.now_ns)},
           {"sites_read", history.sites_read},
           {"warnings", history.warnings},
           {"duplicates", history.duplicates},
           {"services", services}};
}

}  // namespace lifeboat::dr
