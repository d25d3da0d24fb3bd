#include "dr/drill_evidence.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "dr/run.h"

namespace lifeboat::dr {
namespace {

DrillStepKind KindOfPhase(const std::string& phase) {
  if (phase == "recover") return DrillStepKind::kRecover;
  if (phase == "verify") return DrillStepKind::kVerify;
  return DrillStepKind::kRestore;
}

DrillResult ResultOfStep(recover::StepState state) {
  switch (state) {
    case recover::StepState::kOk: return DrillResult::kPassed;
    case recover::StepState::kFailed: return DrillResult::kFailed;
    case recover::StepState::kNotRun: return DrillResult::kSkipped;
  }
  return DrillResult::kSkipped;
}

DrillResult ResultOfService(recover::ServiceState state) {
  switch (state) {
    case recover::ServiceState::kPassed: return DrillResult::kPassed;
    case recover::ServiceState::kFailed: return DrillResult::kFailed;
    case recover::ServiceState::kSkipped:
    case recover::ServiceState::kCancelled: return DrillResult::kSkipped;
  }
  return DrillResult::kSkipped;
}

int64_t SecondsToNs(double seconds) {
  return std::max<int64_t>(0, std::llround(seconds * 1e9));
}

DrillRecord RecordOf(const recover::RecoveryReport& report, const recover::ServiceRecovery& s,
                     const DrillEvidenceOptions& options) {
  auto redact = [&](const std::string& text) { return RedactSecrets(text, options.secrets); };
  DrillRecord r;
  r.id = NewDrillRecordId();
  r.drill_id = options.drill_id;
  r.service = s.service;
  r.site = s.site;
  r.start_ns = report.start_ns;
  r.end_ns = std::max(s.end_ns != 0 ? s.end_ns : report.end_ns, r.start_ns);
  r.wave = std::max(0, s.wave - 1);
  for (const recover::RestoredSource& src : s.sources) {
    std::optional<Id> id = Id::FromHex(src.snapshot);
    if (!id) continue;  // recover always gives 64 hex; nothing else is worth storing
    r.snapshots.push_back({src.name, src.kind, *id, src.snapshot_time_ns});
  }
  if (s.passed() && s.rto_seconds) r.achieved_rto_ns = SecondsToNs(*s.rto_seconds);
  if (s.rpo_seconds) r.achieved_rpo_ns = SecondsToNs(*s.rpo_seconds);
  if (s.rto_target) r.rto_target_ns = std::chrono::nanoseconds(*s.rto_target).count();
  if (s.rpo_target.count() > 0) r.rpo_target_ns = std::chrono::nanoseconds(s.rpo_target).count();
  r.bytes_restored = s.bytes_restored;
  r.files_restored = s.files_restored;
  r.result = ResultOfService(s.state);
  if (r.result != DrillResult::kPassed) {
    r.error = redact(!s.failure.empty() ? s.failure
                     : s.state == recover::ServiceState::kCancelled ? "interrupted"
                                                                    : "not drilled");
  }
  // Opening the site (and listing its snapshots) happens before the first step; recover names
  // it as a step only when it failed. Either way the record shows it from the service's start.
  const std::string open_site = "open site " + s.site;
  const bool open_failed = !s.steps.empty() && s.steps.front().label == open_site;
  if (s.start_ns != 0 && !s.steps.empty() && !open_failed &&
      s.steps.front().start_ns > s.start_ns) {
    DrillStep open;
    open.name = open_site;
    open.kind = DrillStepKind::kRestore;
    open.start_ns = s.start_ns;
    open.end_ns = s.steps.front().start_ns;
    open.result = DrillResult::kPassed;
    r.steps.push_back(std::move(open));
  }
  int64_t previous_end = s.start_ns != 0 ? s.start_ns : r.end_ns;
  for (const recover::StepRecord& st : s.steps) {
    DrillStep d;
    d.name = !st.label.empty() ? st.label : !st.name.empty() ? st.name : st.kind;
    d.kind = KindOfPhase(st.phase);
    d.result = ResultOfStep(st.state);
    if (st.state == recover::StepState::kNotRun || st.start_ns == 0) {
      d.start_ns = d.end_ns = previous_end;
    } else {
      d.start_ns = open_failed && &st == &s.steps.front() && s.start_ns != 0
                       ? std::min(s.start_ns, st.start_ns)
                       : st.start_ns;
      d.end_ns = std::max(st.end_ns, st.start_ns);
      d.output = redact(st.output);
      previous_end = d.end_ns;
    }
    r.steps.push_back(std::move(d));
  }
  r.host = options.host;
  r.program_version = options.program_version;
  for (const recover::ToolUsed& t : s.tools) {
    r.tools.push_back({t.name, t.version.empty() ? "unknown" : redact(t.version)});
  }
  return r;
}

}  // namespace

std::vector<DrillRecord> DrillRecordsFromReport(const recover::RecoveryReport& report,
                                                const DrillEvidenceOptions& options) {
  std::vector<DrillRecord> out;
  for (const recover::ServiceRecovery& s : report.services) {
    out.push_back(RecordOf(report, s, options));
  }
  return out;
}

std::vector<DrillRecordBatch> DrillRecordBatches(const std::vector<DrillRecord>& records) {
  std::vector<DrillRecordBatch> out;
  std::map<std::string, size_t> open;  // site -> index of its batch being filled
  for (const DrillRecord& r : records) {
    auto it = open.find(r.site);
    if (it == open.end() || out[it->second].records.size() >= kMaxDrillRecordsPerObject) {
      out.push_back({r.site, {}});
      open[r.site] = out.size() - 1;
      it = open.find(r.site);
    }
    out[it->second].records.push_back(r);
  }
  // Sites in the order they first appear: a site's later batches go after its first.
  std::stable_sort(out.begin(), out.end(), [&](const DrillRecordBatch& a, const DrillRecordBatch& b) {
    auto first = [&](const std::string& site) {
      for (size_t i = 0; i < records.size(); ++i)
        if (records[i].site == site) return i;
      return records.size();
    };
    return first(a.site) < first(b.site);
  });
  return out;
}

}  // namespace lifeboat::dr
