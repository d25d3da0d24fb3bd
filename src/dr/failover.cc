// PerformFailover: fence, preconditions, the incident opened, the recovery in waves with the
// switch steps, the incident's state and notifications. Commit, rollback and status are
// failover_incident.cc's; the forms failover_format.cc's.
#include "dr/failover.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "dr/failover_internal.h"
#include "dr/run_internal.h"
#include "dr/sites.h"
#include "dr/switch_steps.h"
#include "notify/event.h"

namespace lifeboat::dr {

int FailoverOutcome::ExitCode() const {
  switch (result) {
    case Result::kDryRun:
      return preconditions.ok() ? 0 : 2;
    case Result::kRefused:
      return 2;
    case Result::kFencedOut:
      return 4;
    case Result::kDone:
      break;
  }
  if (!report) return 3;
  return report->ExitCode();
}

namespace {

// The production ports of a service: its recover steps' ports.
std::vector<std::pair<std::string, int>> PortsOf(const plan::Service& svc) {
  std::vector<std::pair<std::string, int>> out;
  for (const plan::RecoverStep& st : svc.recover) {
    for (const auto& p : st.ports) out.push_back(p);
  }
  return out;
}

// Joining `open`: whether `service`, active at `a`, lets the failover join it. A service of the
// incident must have been recovered there and still be active there: one that failed is no
// dependency its dependents can reach.
Status JoinableService(IncidentState& open, const std::string& service,
                       const fence::ActiveSite& a) {
  const IncidentService* s = open.Find(service);
  if (s == nullptr) return Status::Ok();
  if (s->result != "recovered") {
    return Status::FailedPrecondition(
        "service " + service + " was not recovered in the open incident " + open.id + " (" +
        s->result + (s->error.empty() ? "" : ": " + s->error) +
        "): a failover that needs it cannot join that incident; roll it back (lifeboat failover "
        "rollback), then fail over again");
  }
  if (a.site != open.to_site) {
    return Status::FailedPrecondition("service " + service + " of the open incident " + open.id +
                                      " is active at site " + a.site + " now, not at " +
                                      open.to_site + ": commit or roll back the incident first");
  }
  return Status::Ok();
}

}  // namespace

Result<FailoverOutcome> PerformFailover(const plan::Plan& plan, const FailoverOptions& options) {
  if (options.fence == nullptr) return Status::InvalidArgument("a failover needs a fence");
  if (options.state_dir.empty())
    return Status::InvalidArgument("a failover needs a state directory");
  const Context& ctx = options.recover.context;
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  const std::string& to = options.recover.site;
  if (to.empty()) return Status::InvalidArgument("name the recovery site: --to SITE");
  const plan::Site* to_site = plan.FindSite(to);
  if (to_site == nullptr) {
    std::string names;
    for (const plan::Site& s : plan.sites) names += (names.empty() ? "" : ", ") + s.name;
    return Status::InvalidArgument("no site named \"" + to + "\" in the plan " + plan.file +
                                   " (its sites: " + names + ")");
  }
  LB_ASSIGN_OR_RETURN(std::vector<recover::Wave> waves,
                      recover::RecoveryWaves(plan, options.recover.services));
  FailoverOutcome out;
  auto refuse = [&](FailoverOutcome::Result why, std::string message) {
    out.result = why;
    out.refusal = std::move(message);
    return out;
  };

  // An open incident: a failover to its recovery site joins it (doc/failover.md, "Joining an
  // open incident"); any other is refused (commit or roll it back first).
  LB_ASSIGN_OR_RETURN(std::optional<IncidentState> open, LoadIncidentState(options.state_dir));
  auto joinable = [&](const std::optional<IncidentState>& s) {
    return s && s->open() && s->kind == "failover" && s->to_site == to;
  };
  if (open && open->open() && !joinable(open)) {
    return refuse(FailoverOutcome::Result::kRefused,
                  "incident " + open->id + " (a " + open->kind + " to " + open->to_site +
                      ") is still open: commit it (lifeboat failover commit) or roll it back "
                      "(lifeboat failover rollback) first");
  }

  // The fence, held for the whole failover; each service's active site now.
  Result<std::unique_ptr<fence::FenceAction>> action = options.fence->BeginAction(ctx);
  if (!action.ok()) {
    return refuse(
        FailoverOutcome::Result::kFencedOut,
        "fenced out (" + std::string(options.fence->Kind()) + "): " + action.status().message());
  }
  const bool join = joinable(open);
  if (join) {
    // Read again under the fence: another actor may have ended or joined it meanwhile.
    const std::string id = open->id;
    LB_ASSIGN_OR_RETURN(open, LoadIncidentState(options.state_dir));
    if (!joinable(open) || open->id != id) {
      return refuse(FailoverOutcome::Result::kRefused,
                    "incident " + id + " changed while this failover waited for the fence (" +
                        (open ? "now " + open->id + ", " + open->state : std::string("gone")) +
                        "): fail over again");
    }
    out.joined = open->id;
  }
  std::map<std::string, fence::ActiveSite> active;
  std::set<std::string> up;  // joining: active at `to` already, not recovered again
  std::string up_notes;
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      LB_ASSIGN_OR_RETURN(fence::ActiveSite a, (*action)->Active(ws.name));
      const plan::Service& svc = plan.services[ws.plan_index];
      if (!a.stored || a.site.empty()) a.site = svc.sites.front().name;
      if (join) {
        if (Status st = JoinableService(*open, ws.name, a); !st.ok()) {
          return refuse(FailoverOutcome::Result::kRefused, st.message());
        }
      }
      if (a.site == to) {
        const std::string note = "service " + ws.name + " is active at site " + to + " already" +
                                 (a.incident.empty() ? "" : " (incident " + a.incident + ")");
        if (!join) return refuse(FailoverOutcome::Result::kRefused, note);
        up.insert(ws.name);
        up_notes += (up_notes.empty() ? "" : "; ") + note;
        continue;
      }
      active[ws.name] = a;
    }
  }
  if (active.empty()) {
    return refuse(FailoverOutcome::Result::kRefused, up_notes + ": nothing to fail over");
  }

  // The preconditions: what a dry run shows, and what must hold before anything changes (of the
  // services to recover only: what runs already holds its ports and paths).
  recover::RecoverOptions ro = options.recover;
  ro.mode = recover::RecoveryMode::kFailover;
  ro.recovery_root = to_site->recovery_root;
  ro.already_up = up;
  LB_ASSIGN_OR_RETURN(out.preconditions, recover::CheckFailoverPreconditions(plan, ro));
  if (options.dry_run) {
    out.result = FailoverOutcome::Result::kDryRun;
    return out;
  }
  if (!out.preconditions.ok()) {
    return refuse(FailoverOutcome::Result::kRefused,
                  "a precondition failed; nothing was changed:\n" + out.preconditions.Failures());
  }
  if (options.confirm && !options.confirm(out.preconditions)) {
    return refuse(FailoverOutcome::Result::kRefused, "not confirmed; nothing was changed");
  }

  // The incident: each service moved here under the fence, the state written, the news sent. A
  // closed incident's state makes room (STATE_DIR/incidents/ID.json); an open one to this site
  // is joined: this failover's services are appended to it.
  IncidentState& inc = out.incident;
  const std::string declared_by =
      options.declared_by.empty() ? internal::OperatorName(host) : options.declared_by;
  if (join) {
    inc = std::move(*open);
    inc.end_ns = 0;  // recovering again (the daemon's commit_after waits for the end)
  } else {
    if (open) LB_RETURN_IF_ERROR(ArchiveIncidentState(options.state_dir, *open));
    LB_ASSIGN_OR_RETURN(inc.id, NewIncidentId());
    inc.plan_file = plan.file;
    inc.declared_by = declared_by;
    inc.reason = options.reason;
    inc.to_site = to;
    inc.recovery_root = out.preconditions.recovery_root;
    inc.host = host;
    inc.version = internal::ProgramVersion();
  }
  const size_t first_new = inc.services.size();  // this failover's services: from here on
  for (const recover::PlannedSnapshot& p : out.preconditions.snapshots) {
    for (const std::string& path : p.paths) inc.written_paths.push_back(path);
  }
  for (const std::string& path : out.preconditions.cluster_dirs) inc.written_paths.push_back(path);
  std::string names;  // this failover's services, for people
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      if (up.count(ws.name)) continue;
      const plan::Service& svc = plan.services[ws.plan_index];
      IncidentService s;
      s.service = ws.name;
      s.tier = ws.tier;
      s.wave = w.number;
      s.result = "pending";
      s.from_site = active[ws.name].site;
      s.rpo_target_seconds = static_cast<double>(svc.rpo.count());
      if (svc.rto) s.rto_target_seconds = static_cast<double>(svc.rto->count());
      s.ports = PortsOf(svc);
      inc.services.push_back(std::move(s));
      names += (names.empty() ? "" : ", ") + ws.name;
    }
  }
  // The sites opened once, before the incident's clock starts (as a drill opens its sites before
  // its own): the records and the recovery reuse them (key_of), so that no key is derived inside
  // the RTO (doc/failover.md, "Failover", step 5).
  internal::IncidentSites sites;
  internal::OpenIncidentSites(plan, inc, ctx, &sites);
  ro.key_of = [&sites](const std::string& name) { return sites.Find(name); };
  ro.unavailable_sites = sites.Unavailable();
  const int64_t start_ns = ctx.clock().WallNs();
  const int64_t failure_ns = options.failure_ns != 0 ? options.failure_ns : start_ns;
  if (join) {
    // The first services' clocks stay theirs; these count from their own join and failure.
    for (size_t i = first_new; i < inc.services.size(); ++i) {
      inc.services[i].joined_ns = start_ns;
      inc.services[i].failure_ns = failure_ns;
    }
  } else {
    inc.start_ns = start_ns;
    inc.failure_ns = failure_ns;
  }
  for (size_t i = first_new; i < inc.services.size(); ++i) {
    IncidentService& s = inc.services[i];
    const fence::ActiveSite& from = active[s.service];
    Result<uint64_t> token =
        options.guard && options.guard->site == from.site
            ? (*action)->MoveActiveGuarded(s.service, from, to, inc.id, *options.guard)
            : (*action)->MoveActive(s.service, from, to, inc.id);
    if (!token.ok()) {
      const int64_t now = ctx.clock().WallNs();
      const std::string why = "fenced out moving " + s.service + ": " + token.status().message();
      if (join) {
        // The incident stays open for what it holds: this failover's services moved already
        // stay in it (failed; rollback moves them back), the others leave it.
        inc.services.erase(inc.services.begin() + static_cast<std::ptrdiff_t>(i),
                           inc.services.end());
        for (size_t j = first_new; j < inc.services.size(); ++j) {
          inc.services[j].result = "failed";
          inc.services[j].error = why;
        }
        inc.end_ns = now;
      } else {
        // Services moved already stay moved under this incident: rollback moves them back.
        inc.state = std::string(kIncidentFailed);
        inc.end_ns = now;
      }
      inc.timeline.push_back({now, why, s.service, to});
      SaveIncidentState(options.state_dir, inc).IgnoreError();
      return refuse(FailoverOutcome::Result::kFencedOut, "fenced out moving " + s.service + " to " +
                                                             to + ": " + token.status().message());
    }
    s.token = *token;
    inc.token = std::max(inc.token, *token);
  }
  inc.timeline.push_back({start_ns,
                          join ? "failover of " + names + " joined (" + declared_by + ")"
                               : "failover started (" + declared_by + ")",
                          "", to});
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::WriteFailoverRecords(plan, &inc, ctx, &out.warnings, &sites);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  // failover_started goes out while the recovery runs: a slow or failing channel (retried for
  // its whole budget) must not hold the services back. Joined before the other events are sent
  // (one writer of the notification state at a time).
  std::vector<notify::DeliveryOutcome> started_outcomes;
  std::vector<std::string> started_warnings;
  std::thread started_sender(
      [&, event = internal::FailoverEvent(
              notify::EventType::kFailoverStarted, inc, nullptr,
              join ? "failover of " + names + " to " + to + " joined incident " + inc.id
                   : "failover to " + to + " started (incident " + inc.id + ")",
              start_ns, host)] {
        internal::SendFailoverEvents(plan, options.state_dir, ctx, options.notify_retry, host,
                                     {event}, &started_outcomes, &started_warnings);
      });
  auto join_started = [&] {
    if (!started_sender.joinable()) return;
    started_sender.join();
    out.notifications.insert(out.notifications.begin(), started_outcomes.begin(),
                             started_outcomes.end());
    out.warnings.insert(out.warnings.end(), started_warnings.begin(), started_warnings.end());
  };

  // The recovery, with the switch steps once a service is verified.
  std::vector<notify::Event> events;
  Result<recover::RecoveryReport> recovered =
      internal::RecoverIncident(plan, ro, &inc, options.state_dir, host, &events, &out.warnings);
  join_started();
  if (!recovered.ok()) return recovered.status();
  recover::RecoveryReport report = std::move(*recovered);
  inc.end_ns = ctx.clock().WallNs();
  if (report.cancelled) inc.timeline.push_back({inc.end_ns, "interrupted", "", to});
  out.warnings.insert(out.warnings.end(), report.warnings.begin(), report.warnings.end());
  out.report = std::move(report);
  internal::WriteFailoverRecords(plan, &inc, ctx, &out.warnings, &sites);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::SendFailoverEvents(plan, options.state_dir, ctx, options.notify_retry, host, events,
                               &out.notifications, &out.warnings);
  return out;
}

}  // namespace lifeboat::dr
