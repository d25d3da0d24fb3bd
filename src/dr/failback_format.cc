// The forms of `lifeboat failback`: JSON (doc/failover.md, "Failback") and text.
#include "dr/failback.h"

namespace lifeboat::dr {

namespace {

using J = nlohmann::ordered_json;

std::string Level(recover::Precondition::Level level) {
  switch (level) {
    case recover::Precondition::Level::kOk:
      return "ok   ";
    case recover::Precondition::Level::kWarning:
      return "WARN ";
    case recover::Precondition::Level::kFailed:
      break;
  }
  return "FAIL ";
}

}  // namespace

nlohmann::ordered_json FailbackOutcomeToJson(const FailbackOutcome& o) {
  J j = FailoverOutcomeToJson(o.failback);
  j["ends_incident"] = o.ended ? J(IncidentStatusToJson(*o.ended)) : J(nullptr);
  J backups = J::array();
  for (const FinalBackup& b : o.backups) {
    backups.push_back(J{{"service", b.service},
                        {"source", b.source},
                        {"site", b.site},
                        {"snapshot", b.snapshot.empty() ? J(nullptr) : J(b.snapshot)},
                        {"error", b.error.empty() ? J(nullptr) : J(b.error)}});
  }
  j["final_backups"] = backups;
  J stopped = J::array();
  for (const recover::StopNote& n : o.stopped) {
    stopped.push_back(J{{"service", n.service},
                        {"what", n.what},
                        {"was_running", n.was_running},
                        {"error", n.status.ok() ? J(nullptr) : J(n.status.message())}});
  }
  j["stopped"] = stopped;
  j["moved"] = o.moved;
  j["exit_status"] = o.ExitCode();
  return j;
}

std::string FormatFailbackOutcome(const FailbackOutcome& o) {
  const FailoverOutcome& f = o.failback;
  const recover::PreconditionReport& p = f.preconditions;
  std::string out;
  if (!p.site.empty()) {
    out += "failback to " + p.site + " (recovery root " + p.recovery_root + ")\n";
    for (const recover::Wave& w : p.waves) {
      out += "  wave " + std::to_string(w.number) + ":";
      for (const recover::WaveService& s : w.services) out += " " + s.name;
      out += "\n";
    }
    out += "checks:\n";
    for (const recover::Precondition& c : p.checks) {
      out += "  " + Level(c.level) + (c.service.empty() ? "" : c.service + ": ") + c.message + "\n";
    }
  }
  for (const FinalBackup& b : o.backups) {
    out += "final backup " + b.service + " " + b.source + " at " + b.site + ": " +
           (b.snapshot.empty() ? "FAILED: " + b.error : "snapshot " + b.snapshot.substr(0, 8)) +
           "\n";
  }
  for (const recover::StopNote& n : o.stopped) {
    out += "stopped " + n.service + ": " + n.what + (n.was_running ? "" : " (had exited)") +
           (n.status.ok() ? "" : " (" + n.status.message() + ")") + "\n";
  }
  for (const std::string& m : o.moved) out += "moved aside " + m + "\n";
  switch (f.result) {
    case FailoverOutcome::Result::kDryRun:
      out += p.ok() ? "dry run: every check holds; nothing was changed\n"
                    : "dry run: a check failed; nothing was changed\n";
      break;
    case FailoverOutcome::Result::kRefused:
    case FailoverOutcome::Result::kFencedOut:
      out += "refused: " + f.refusal + "\n";
      break;
    case FailoverOutcome::Result::kDone:
      if (f.report) out += recover::FormatRecoveryReport(*f.report);
      if (o.ended) {
        out += "failover " + o.ended->id + " to " + o.ended->to_site + ": " + o.ended->state + "\n";
      }
      out += FormatIncidentStatus(f.incident);
      out += o.ExitCode() == 0 ? "every service is back at " + p.site +
                                     " and switched: check it, then lifeboat failover commit\n"
                               : "the failback did not complete (see the warnings)\n";
      break;
  }
  for (const std::string& w : f.warnings) out += "warning: " + w + "\n";
  return out;
}

}  // namespace lifeboat::dr
