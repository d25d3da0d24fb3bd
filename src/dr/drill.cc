// PerformDrill: sites opened once, the recovery, its records written per site, each drill judged
// against the site's history, the notifications. The report's forms are drill_format.cc's.
#include "dr/drill.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "dr/drill_evidence.h"
#include "dr/notify_config.h"
#include "dr/run.h"
#include "dr/run_internal.h"
#include "dr/sites.h"
#include "notify/notify.h"
#include "recover/waves.h"

namespace lifeboat::dr {

bool DrillOutcome::recorded() const {
  return std::all_of(drills.begin(), drills.end(), [](const JudgedDrill& d) { return d.recorded; });
}

int DrillOutcome::ExitCode() const {
  if (report.cancelled) return 130;
  if (!report.passed() || !recorded()) return 3;
  return 0;
}

std::vector<DrillFinding> DrillOutcome::Findings() const {
  std::vector<DrillFinding> out;
  for (const JudgedDrill& d : drills) out.insert(out.end(), d.findings.begin(), d.findings.end());
  return out;
}

namespace {

// A site the drill reads and writes: opened once, before the recovery.
struct DrillSite {
  Status status;
  std::unique_ptr<Repository> repo;
};

// The sites the recovery will read: `site`, or the first site of every service it recovers.
std::vector<std::string> SitesToRead(const plan::Plan& plan, const recover::RecoverOptions& o) {
  if (!o.site.empty()) return {o.site};
  std::vector<std::string> out;
  Result<std::vector<recover::Wave>> waves = recover::RecoveryWaves(plan, o.services);
  if (!waves.ok()) return out;  // RecoverServices reports it
  for (const recover::Wave& w : *waves) {
    for (const recover::WaveService& s : w.services) {
      const plan::Service& svc = plan.services[s.plan_index];
      if (svc.sites.empty()) continue;
      const std::string& first = svc.sites.front().name;
      if (std::find(out.begin(), out.end(), first) == out.end()) out.push_back(first);
    }
  }
  return out;
}

// The postgres passwords of the services the drill recovers: never given to a step, but a
// restored file may hold one, so outputs are redacted of them too. Unresolvable ones are skipped
// (the drill does not need them).
void AddServiceSecrets(const plan::Plan& plan, const recover::RecoveryReport& report,
                       const Context& ctx, std::vector<std::string>* secrets) {
  for (const recover::ServiceRecovery& r : report.services) {
    const plan::Service* svc = plan.FindService(r.service);
    if (svc == nullptr) continue;
    for (const plan::Source& src : svc->sources) {
      if (src.kind != plan::SourceKind::kPostgres || !src.postgres.password) continue;
      Result<std::string> value = ResolveSecret(*src.postgres.password,
                                                "service " + svc->name + ", source " + src.name,
                                                ctx);
      if (value.ok() && !value->empty()) secrets->push_back(*value);
    }
  }
}

void RedactReport(recover::RecoveryReport* report, const std::vector<std::string>& secrets) {
  auto redact = [&](std::string* text) { *text = RedactSecrets(std::move(*text), secrets); };
  for (recover::ServiceRecovery& s : report->services) {
    redact(&s.failure);
    redact(&s.failure_output);
    for (std::string& n : s.notes) redact(&n);
    for (recover::StepRecord& st : s.steps) {
      redact(&st.error);
      redact(&st.output);
    }
  }
  for (std::string& w : report->warnings) redact(&w);
  for (std::string& w : report->stale_sandboxes) redact(&w);
}

// The caller's context ended the work (Ctrl-C, a deadline).
bool Stopped(const Status& st) {
  return st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace

Result<DrillOutcome> PerformDrill(const plan::Plan& plan, const DrillOptions& options) {
  const Context& ctx = options.recover.context;
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  std::vector<std::string> secrets;

  // The sites first, once: their records are written there, and the recovery reuses the keys.
  std::map<std::string, DrillSite> sites;
  for (const std::string& name : SitesToRead(plan, options.recover)) {
    const plan::Site* site = plan.FindSite(name);
    if (site == nullptr) continue;  // RecoverServices names it
    DrillSite& d = sites[name];
    Result<RecordSite> opened = OpenRecordSite(*site, ctx, &secrets);
    if (opened.ok()) {
      d.repo = std::move(opened->repo);
    } else {
      d.status = opened.status();
    }
  }
  recover::RecoverOptions ro = options.recover;
  ro.key_of = [&sites](const std::string& name) -> const Repository* {
    auto it = sites.find(name);
    return it != sites.end() ? it->second.repo.get() : nullptr;
  };

  DrillOutcome out;
  out.drill_id = NewDrillId();
  LB_ASSIGN_OR_RETURN(out.report, recover::RecoverServices(plan, ro));

  // Everything the records and messages must not show is known before the first is made.
  std::optional<PlanNotifyConfig> notify_config;
  const bool notify = !plan.channels.empty() && !out.report.cancelled;
  if (notify && !options.notify_state_path.empty()) {
    notify_config = NotifyConfigWithPolicy(plan, options.notify_state_path,
                                           Context().WithClock(ctx.clock()).WithCancel(
                                               ctx.cancel_flag()),
                                           options.notify_retry, host);
    secrets.insert(secrets.end(), notify_config->secrets.begin(), notify_config->secrets.end());
  }
  AddServiceSecrets(plan, out.report, ctx, &secrets);
  RedactReport(&out.report, secrets);
  auto redact = [&](const std::string& text) { return RedactSecrets(text, secrets); };
  out.warnings = out.report.warnings;

  DrillEvidenceOptions evidence;
  evidence.drill_id = out.drill_id;
  evidence.host = host;
  evidence.program_version = internal::ProgramVersion();
  evidence.secrets = secrets;
  for (DrillRecord& r : DrillRecordsFromReport(out.report, evidence)) {
    JudgedDrill d;
    d.record = std::move(r);
    out.drills.push_back(std::move(d));
  }

  // Written also after Ctrl-C (what was drilled is evidence), on a context that is not cancelled.
  const Context records_ctx = Context().WithClock(ctx.clock());
  std::vector<DrillRecord> records;
  for (const JudgedDrill& d : out.drills) records.push_back(d.record);
  std::set<std::string> stored;  // record ids
  for (const DrillRecordBatch& batch : DrillRecordBatches(records)) {
    DrillRecordWrite w;
    w.site = batch.site;
    for (const DrillRecord& r : batch.records) w.services.push_back(r.service);
    auto it = sites.find(batch.site);
    if (it == sites.end()) {
      w.error = "site " + batch.site + " was not opened";
    } else if (!it->second.status.ok()) {
      w.error = redact(it->second.status.message());
    } else {
      Result<Id> id = WriteDrillRecords(*it->second.repo, batch.records, records_ctx);
      if (id.ok()) {
        w.object = *id;
        for (const DrillRecord& r : batch.records) stored.insert(r.id);
      } else {
        w.error = redact(id.status().message());
      }
    }
    if (!w.error.empty()) {
      std::string names;
      for (const std::string& s : w.services) names += (names.empty() ? "" : ", ") + s;
      out.warnings.push_back("the drill records of " + names + " could not be stored at site " +
                             w.site + ": " + w.error + "; this drill left no evidence there");
    }
    out.writes.push_back(std::move(w));
  }
  for (JudgedDrill& d : out.drills) d.recorded = stored.count(d.record.id) > 0;

  // Each drill against its service's earlier drills from the same site.
  std::map<std::string, std::vector<DrillRecord>> history;  // by site
  std::set<std::string> history_read;
  for (auto& [name, site] : sites) {
    if (!site.status.ok()) continue;
    DrillRecordFilter filter;
    for (const JudgedDrill& d : out.drills) {
      if (d.record.site == name) filter.services.push_back(d.record.service);
    }
    if (filter.services.empty()) continue;
    Result<DrillRecordListing> listing = ListDrillRecords(*site.repo, filter, records_ctx);
    if (!listing.ok()) {
      out.warnings.push_back("the earlier drills at site " + name + " cannot be read (" +
                             redact(listing.status().message()) +
                             "): these drills are not compared with them");
      continue;
    }
    history_read.insert(name);
    history[name] = std::move(listing->records);
  }
  for (JudgedDrill& d : out.drills) {
    const std::vector<DrillRecord>& h = history[d.record.site];
    d.history_read = history_read.count(d.record.site) > 0;
    for (const DrillRecord& r : h) {
      if (r.service == d.record.service && r.id != d.record.id && r.start_ns < d.record.start_ns)
        ++d.earlier_drills;
    }
    d.findings = AssessDrill(d.record, h, plan.FindService(d.record.service));
  }

  // The routes (drill_failed, rto_regressed, drill_passed), as run and status send.
  if (!plan.channels.empty()) {
    if (out.report.cancelled) {
      out.warnings.push_back("interrupted: no notification sent");
    } else if (!notify_config) {
      out.warnings.push_back("no notification state file given: no notification sent");
    } else {
      for (const std::string& w : notify_config->warnings) out.warnings.push_back(redact(w));
      std::vector<notify::Observation> observations;
      for (const JudgedDrill& d : out.drills) {
        const plan::Service* svc = plan.FindService(d.record.service);
        notify::Observation o = DrillObservation(d.record, svc != nullptr ? svc->tier : 3,
                                                 d.findings);
        o.message = redact(o.message);
        observations.push_back(std::move(o));
      }
      Result<notify::NotifyResult> result = notify::Notify(notify_config->options, observations, {});
      if (!result.ok()) {
        if (!Stopped(result.status())) {
          out.warnings.push_back("notifications not sent: " + redact(result.status().message()));
        }
      } else {
        for (notify::DeliveryOutcome& o : result->outcomes) {
          o.error = redact(o.error);
          out.notifications.push_back(std::move(o));
        }
        for (const std::string& w : result->warnings) out.warnings.push_back(redact(w));
      }
    }
  }
  return out;
}

}  // namespace lifeboat::dr
