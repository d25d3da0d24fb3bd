// The recovery report's two forms (doc/drills.md, "The report" and "JSON").
#include <cmath>
#include <cstdio>

#include "notify/event.h"
#include "plan/duration.h"
#include "recover/recover.h"
#include "util/units.h"

namespace lifeboat::recover {

namespace {

using Json = nlohmann::ordered_json;

Json Time(int64_t ns) { return ns == 0 ? Json() : Json(notify::FormatRfc3339Utc(ns)); }

Json Optional(const std::optional<double>& v) { return v ? Json(*v) : Json(); }
Json Optional(const std::optional<bool>& v) { return v ? Json(*v) : Json(); }

Json StepJson(const StepRecord& s) {
  Json phases = Json::array();
  for (const PhaseTime& p : s.phases)
    phases.push_back({{"phase", p.phase}, {"seconds", p.seconds}});
  return {{"phase", s.phase},
          {"kind", s.kind},
          {"name", s.name},
          {"line", s.position.line},
          {"column", s.position.column},
          {"result", std::string(StepStateName(s.state))},
          {"started", Time(s.start_ns)},
          {"ended", Time(s.end_ns)},
          {"seconds", s.seconds},
          {"error", s.error},
          {"output", s.output},
          {"phases", phases}};
}

Json ServiceJson(const ServiceRecovery& s) {
  Json sources = Json::array();
  for (const RestoredSource& r : s.sources) {
    sources.push_back({{"source", r.name},
                       {"kind", r.kind},
                       {"snapshot", r.snapshot},
                       {"snapshot_time", Time(r.snapshot_time_ns)},
                       {"method", r.method},
                       {"files", r.files},
                       {"bytes", r.bytes},
                       {"verified_files", r.verified_files}});
  }
  Json ports = Json::object();
  for (const auto& p : s.ports) ports[p.first] = p.second;
  Json steps = Json::array();
  for (const StepRecord& st : s.steps) steps.push_back(StepJson(st));
  return {{"service", s.service},
          {"tier", s.tier},
          {"priority_tier", s.priority_tier},
          {"wave", s.wave},
          {"selected", s.selected},
          {"depends_on", s.depends_on},
          {"site", s.site},
          {"result", std::string(ServiceStateName(s.state))},
          {"failure", s.failure},
          {"failure_output", s.failure_output},
          {"started", Time(s.start_ns)},
          {"ended", Time(s.end_ns)},
          {"rto",
           {{"achieved_seconds", Optional(s.rto_seconds)},
            {"target_seconds", s.rto_target ? Json(s.rto_target->count()) : Json()},
            {"met", Optional(s.rto_met())}}},
          {"rpo",
           {{"achieved_seconds", Optional(s.rpo_seconds)},
            {"target_seconds", s.rpo_target.count()},
            {"met", Optional(s.rpo_met())}}},
          {"restored", {{"files", s.files_restored}, {"bytes", s.bytes_restored}}},
          {"sources", sources},
          {"restore_dir", s.restore_dir},
          {"ports", ports},
          {"steps", steps},
          {"notes", s.notes}};
}

std::string Target(const std::optional<std::chrono::seconds>& t) {
  return t ? plan::FormatPlanDuration(*t) : std::string("none");
}

void Indent(std::string* out, const std::string& text, const std::string& prefix) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    *out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
}

}  // namespace

std::string FormatSeconds(double seconds) {
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600) {
    const long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ld m %02ld s", s / 60, s % 60);
  } else {
    const long m = std::lround(seconds / 60);
    std::snprintf(buf, sizeof buf, "%ld h %02ld m", m / 60, m % 60);
  }
  return buf;
}

nlohmann::ordered_json RecoveryReportToJson(const RecoveryReport& r) {
  Json waves = Json::array();
  for (const Wave& w : r.waves) {
    Json names = Json::array();
    for (const WaveService& s : w.services) names.push_back(s.name);
    waves.push_back({{"wave", w.number}, {"services", names}});
  }
  Json services = Json::array();
  for (const ServiceRecovery& s : r.services) services.push_back(ServiceJson(s));
  return {{"message_type", std::string(RecoveryModeName(r.mode))},
          {"plan", r.plan_file},
          {"site", r.site.empty() ? Json() : Json(r.site)},
          {"at", r.at.empty() ? Json() : Json(r.at)},
          {"started", Time(r.start_ns)},
          {"ended", Time(r.end_ns)},
          {"sandbox", r.sandbox},
          {"kept", r.kept},
          {"parallel", r.parallel},
          {"passed", r.passed()},
          {"cancelled", r.cancelled},
          {"exit_status", r.ExitCode()},
          {"waves", waves},
          {"services", services},
          {"stale_sandboxes", r.stale_sandboxes},
          {"warnings", r.warnings}};
}

std::string FormatRecoveryReport(const RecoveryReport& r) {
  std::string out;
  for (const ServiceRecovery& s : r.services) {
    std::string state = s.state == ServiceState::kPassed    ? "PASSED"
                        : s.state == ServiceState::kFailed  ? "FAILED"
                        : s.state == ServiceState::kSkipped ? "SKIPPED"
                                                            : "CANCELLED";
    out += "\n" + s.service + " (tier " + std::to_string(s.tier) + ", wave " +
           std::to_string(s.wave) + (s.selected ? "" : ", as a dependency") + ") from site " +
           s.site + ": " + state + "\n";
    for (const StepRecord& st : s.steps) {
      std::string line = "  " + std::string(st.state == StepState::kOk       ? "ok     "
                                            : st.state == StepState::kFailed ? "FAILED "
                                                                             : "-      ");
      line += st.state == StepState::kNotRun ? "          " : FormatSeconds(st.seconds);
      line.resize(std::max<size_t>(line.size(), 19), ' ');
      out += line + " " + st.phase + ": " + st.name + "\n";
    }
    if (s.state == ServiceState::kPassed) {
      out += "  RTO " + FormatSeconds(*s.rto_seconds) + " (plan " + Target(s.rto_target) + ")" +
             (s.rto_met() ? (*s.rto_met() ? ": met" : ": MISSED") : "") + "\n";
    }
    if (s.rpo_seconds) {
      out += "  RPO " + FormatSeconds(*s.rpo_seconds) + " (plan " +
             plan::FormatPlanDuration(s.rpo_target) + ")" +
             (s.rpo_met() ? (*s.rpo_met() ? ": met" : ": MISSED") : "") + "\n";
    }
    if (s.files_restored > 0 || s.bytes_restored > 0) {
      out += "  restored " + std::to_string(s.files_restored) + " files, " +
             FormatBytes(s.bytes_restored) + "\n";
    }
    if (!s.failure.empty()) out += "  " + s.failure + "\n";
    if (!s.failure_output.empty()) Indent(&out, s.failure_output, "    | ");
    for (const std::string& n : s.notes) out += "  note: " + n + "\n";
  }
  size_t count[4] = {0, 0, 0, 0};
  for (const ServiceRecovery& s : r.services) ++count[static_cast<int>(s.state)];
  out += "\n" + std::string(RecoveryModeName(r.mode)) + ": " +
         std::to_string(count[static_cast<int>(ServiceState::kPassed)]) + " passed, " +
         std::to_string(count[static_cast<int>(ServiceState::kFailed)]) + " failed, " +
         std::to_string(count[static_cast<int>(ServiceState::kSkipped)]) + " skipped" +
         (r.cancelled ? ", interrupted (" +
                            std::to_string(count[static_cast<int>(ServiceState::kCancelled)]) +
                            " not finished)"
                      : "") +
         " in " + FormatSeconds(static_cast<double>(r.end_ns - r.start_ns) / 1e9) +
         (r.sandbox.empty() ? "; recovered below " + r.recovery_root
                            : "; sandbox " + r.sandbox + (r.kept ? " kept" : " removed")) +
         "\n";
  return out;
}

}  // namespace lifeboat::recover
