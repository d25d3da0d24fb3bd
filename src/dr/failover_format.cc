// The forms of failover, commit, rollback and status: JSON (doc/failover.md, "JSON") and text.
#include <cmath>

#include "dr/failover.h"
#include "notify/event.h"

namespace lifeboat::dr {

namespace {

using J = nlohmann::ordered_json;

std::string Time(int64_t ns) { return ns == 0 ? "" : notify::FormatRfc3339Utc(ns); }

J Seconds(const std::optional<double>& v) { return v ? J(*v) : J(nullptr); }

J ServicesJson(const IncidentState& s) {
  J out = J::array();
  for (const IncidentService& x : s.services) {
    J snaps = J::object();
    for (const auto& [source, id] : x.snapshots) snaps[source] = id;
    out.push_back(
        J{{"service", x.service},
          {"tier", x.tier},
          {"wave", x.wave},
          {"result", x.result},
          {"error", x.error.empty() ? J(nullptr) : J(x.error)},
          {"from", x.from_site},
          {"token", x.token},
          {"switched", x.switched},
          {"snapshots", snaps},
          {"snapshot_time", x.snapshot_time_ns ? J(Time(x.snapshot_time_ns)) : J(nullptr)},
          {"rto_seconds", Seconds(x.rto_seconds)},
          {"rto_target_seconds", Seconds(x.rto_target_seconds)},
          {"data_loss_seconds", Seconds(x.data_loss_seconds)},
          {"rpo_target_seconds", x.rpo_target_seconds},
          {"joined", x.joined_ns ? J(Time(x.joined_ns)) : J(nullptr)},
          {"notes", x.notes},
          {"restart", x.restart.empty() ? J(nullptr) : J(x.restart)},
          {"restart_error", x.restart_error.empty() ? J(nullptr) : J(x.restart_error)}});
  }
  return out;
}

J RunningJson(const IncidentState& s) {
  J out = J::array();
  for (const recover::LeftRunning& lr : s.left_running) {
    J j = recover::LeftRunningToJson(lr);
    j["running"] = recover::StillRunning(lr);
    out.push_back(j);
  }
  return out;
}

std::string Line(const IncidentService& x) {
  std::string l = "  " + x.service + " (tier " + std::to_string(x.tier) + ", wave " +
                  std::to_string(x.wave) + "): " + x.result;
  if (x.rto_seconds) l += ", RTO " + recover::FormatSeconds(*x.rto_seconds);
  if (x.rto_target_seconds) l += " (target " + recover::FormatSeconds(*x.rto_target_seconds) + ")";
  if (x.data_loss_seconds)
    l += ", data-loss window " + recover::FormatSeconds(*x.data_loss_seconds);
  l += ", from " + x.from_site + ", token " + std::to_string(x.token);
  if (x.joined_ns) l += ", joined " + Time(x.joined_ns);
  if (!x.error.empty()) l += "\n    " + x.error;
  for (const std::string& n : x.notes) l += "\n    note: " + n;
  return l + "\n";
}

}  // namespace

nlohmann::ordered_json IncidentStatusToJson(const IncidentState& s) {
  J timeline = J::array();
  for (const IncidentEvent& e : s.timeline) {
    timeline.push_back(J{{"time", Time(e.time_ns)},
                         {"what", e.what},
                         {"service", e.service.empty() ? J(nullptr) : J(e.service)},
                         {"site", e.site.empty() ? J(nullptr) : J(e.site)}});
  }
  return J{{"incident", s.id},
           {"kind", s.kind},
           {"state", s.state},
           {"declared_by", s.declared_by},
           {"to", s.to_site},
           {"recovery_root", s.recovery_root},
           {"token", s.token},
           {"started", Time(s.start_ns)},
           {"ended", s.end_ns ? J(Time(s.end_ns)) : J(nullptr)},
           {"failure", Time(s.failure_ns)},
           {"services", ServicesJson(s)},
           {"left_running", RunningJson(s)},
           {"moved_aside_to", s.moved_aside_to.empty() ? J(nullptr) : J(s.moved_aside_to)},
           {"timeline", timeline}};
}

std::string FormatIncidentStatus(const IncidentState& s) {
  std::string out = "incident " + s.id + " (" + s.kind + " to " + s.to_site + "): " + s.state +
                    "\n  declared by " + s.declared_by + ", started " + Time(s.start_ns) +
                    ", recovery root " + s.recovery_root + "\n";
  for (const IncidentService& x : s.services) out += Line(x);
  if (!s.left_running.empty()) out += "left running:\n";
  for (const recover::LeftRunning& lr : s.left_running) {
    out += "  " + lr.service + ": " + lr.what + ", pid " + std::to_string(lr.pid) + " (" +
           (recover::StillRunning(lr) ? "running" : "not running") + "), log " + lr.log + "\n";
  }
  if (!s.moved_aside_to.empty()) out += "files moved aside to " + s.moved_aside_to + "\n";
  out += "timeline:\n";
  for (const IncidentEvent& e : s.timeline) {
    out +=
        "  " + Time(e.time_ns) + " " + (e.service.empty() ? "" : e.service + ": ") + e.what + "\n";
  }
  return out;
}

nlohmann::ordered_json FailoverOutcomeToJson(const FailoverOutcome& o) {
  static constexpr const char* kResults[] = {"done", "dry_run", "refused", "fenced_out"};
  J j{{"result", kResults[static_cast<int>(o.result)]},
      {"refusal", o.refusal.empty() ? J(nullptr) : J(o.refusal)},
      {"joined", o.joined.empty() ? J(nullptr) : J(o.joined)},
      {"preconditions", recover::PreconditionReportToJson(o.preconditions)}};
  if (o.result == FailoverOutcome::Result::kDone || !o.incident.id.empty()) {
    j["incident"] = IncidentStatusToJson(o.incident);
  } else {
    j["incident"] = nullptr;
  }
  j["recovery"] = o.report ? J(recover::RecoveryReportToJson(*o.report)) : J(nullptr);
  J notes = J::array();
  for (const notify::DeliveryOutcome& n : o.notifications) {
    notes.push_back(J{{"event", notify::EventTypeName(n.event)},
                      {"channel", n.channel},
                      {"result", n.result == notify::OutcomeResult::kFailed ? "failed" : "sent"},
                      {"error", n.error}});
  }
  j["notifications"] = notes;
  j["warnings"] = o.warnings;
  j["exit_status"] = o.ExitCode();
  return j;
}

std::string FormatFailoverOutcome(const FailoverOutcome& o) {
  std::string out;
  const recover::PreconditionReport& p = o.preconditions;
  if (!p.site.empty()) {
    out += "failover to " + p.site + " (recovery root " + p.recovery_root + ")";
    if (!o.joined.empty()) {
      out += o.result == FailoverOutcome::Result::kDone ? ", joined incident " + o.joined
                                                        : ", joining incident " + o.joined;
    }
    out += "\n";
    for (const recover::Wave& w : p.waves) {
      out += "  wave " + std::to_string(w.number) + ":";
      for (const recover::WaveService& s : w.services) out += " " + s.name;
      out += "\n";
    }
    out += "preconditions:\n";
    for (const recover::Precondition& c : p.checks) {
      out += std::string("  ") +
             (c.level == recover::Precondition::Level::kOk        ? "ok   "
              : c.level == recover::Precondition::Level::kWarning ? "WARN "
                                                                  : "FAIL ") +
             (c.service.empty() ? "" : c.service + ": ") + c.message + "\n";
    }
  }
  switch (o.result) {
    case FailoverOutcome::Result::kDryRun:
      out += p.ok() ? "dry run: every precondition holds; nothing was changed\n"
                    : "dry run: a precondition failed; nothing was changed\n";
      if (!o.joined.empty()) {
        out += "it would join the open incident " + o.joined + " (what runs at " + p.site +
               " already is not recovered again)\n";
      }
      break;
    case FailoverOutcome::Result::kRefused:
    case FailoverOutcome::Result::kFencedOut:
      out += "refused: " + o.refusal + "\n";
      break;
    case FailoverOutcome::Result::kDone:
      if (o.report) out += recover::FormatRecoveryReport(*o.report);
      if (!o.joined.empty()) out += "this failover joined incident " + o.joined + "\n";
      out += FormatIncidentStatus(o.incident);
      out += o.ExitCode() == 0
                 ? "every service recovered and switched: check it, then lifeboat failover commit "
                   "(or rollback)\n"
                 : "not every service recovered: the others stay up; lifeboat failover rollback "
                   "undoes the failover\n";
      break;
  }
  for (const std::string& w : o.warnings) out += "warning: " + w + "\n";
  return out;
}

nlohmann::ordered_json IncidentActionToJson(const IncidentActionOutcome& o,
                                            std::string_view action) {
  J stopped = J::array();
  for (const recover::StopNote& n : o.stopped) {
    stopped.push_back(J{{"service", n.service},
                        {"what", n.what},
                        {"was_running", n.was_running},
                        {"error", n.status.ok() ? J(nullptr) : J(n.status.message())}});
  }
  J switched = J::array();
  for (const auto& [service, steps] : o.switched) {
    for (const recover::StepRecord& st : steps) {
      switched.push_back(J{{"service", service},
                           {"step", st.name},
                           {"state", recover::StepStateName(st.state)},
                           {"error", st.error.empty() ? J(nullptr) : J(st.error)}});
    }
  }
  J restarted = J::array();
  for (const RestartNote& n : o.restarted) {
    J steps = J::array();
    for (const recover::StepRecord& st : n.steps) {
      steps.push_back(J{{"phase", st.phase},
                        {"step", st.name},
                        {"state", recover::StepStateName(st.state)},
                        {"error", st.error.empty() ? J(nullptr) : J(st.error)}});
    }
    restarted.push_back(J{{"service", n.service},
                          {"site", n.site},
                          {"result", n.result},
                          {"error", n.error.empty() ? J(nullptr) : J(n.error)},
                          {"steps", steps}});
  }
  return J{{"action", action},       {"incident", IncidentStatusToJson(o.incident)},
           {"stopped", stopped},     {"switched_back", switched},
           {"restarted", restarted}, {"moved", o.moved},
           {"warnings", o.warnings}, {"exit_status", o.ExitCode()}};
}

std::string FormatIncidentAction(const IncidentActionOutcome& o, std::string_view action) {
  std::string out;
  if (o.fenced_out) out += std::string(action) + " refused: fenced out\n";
  for (const recover::StopNote& n : o.stopped) {
    out += "stopped " + n.service + ": " + n.what + (n.was_running ? "" : " (had exited)") +
           (n.status.ok() ? "" : ": " + n.status.message()) + "\n";
  }
  for (const auto& [service, steps] : o.switched) {
    for (const recover::StepRecord& st : steps) {
      out += service + ": " + st.name + ": " + std::string(recover::StepStateName(st.state)) +
             (st.error.empty() ? "" : ": " + st.error) + "\n";
    }
  }
  for (const std::string& m : o.moved) out += "moved " + m + "\n";
  for (const RestartNote& n : o.restarted) {
    for (const recover::StepRecord& st : n.steps) {
      if (st.state == recover::StepState::kOk) continue;
      out += n.service + ": " + st.name + ": " + std::string(recover::StepStateName(st.state)) +
             (st.error.empty() ? "" : ": " + st.error) + "\n";
    }
    out += n.result == "restarted"      ? n.service + ": restarted at " + n.site + "\n"
           : n.result == "left_running" ? n.service + ": " + n.error + "\n"
           : n.result == "skipped"      ? n.service + ": " + n.error + "\n"
                                        : n.service + ": NOT RUNNING anywhere: " + n.error + "\n";
  }
  if (!o.incident.moved_aside_to.empty()) {
    out += "the " + o.incident.kind + "'s files are in " + o.incident.moved_aside_to +
           " (nothing was deleted)\n";
  }
  out += "incident " + o.incident.id + ": " + o.incident.state + "\n";
  for (const std::string& w : o.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace lifeboat::dr
