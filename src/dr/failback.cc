// PerformFailback (dr/failback.h): the failover to end, the checks, the failback incident, the
// final backups and stops in reverse waves, the recovery at the original site. The forms are
// failback_format.cc's.
#include "dr/failback.h"

#include <algorithm>
#include <map>
#include <memory>

#include "dr/failover_internal.h"
#include "dr/run.h"
#include "dr/run_internal.h"
#include "dr/sites.h"
#include "notify/event.h"
#include "recover/failover_cluster.h"
#include "util/file_io.h"

namespace lifeboat::dr {

int FailbackOutcome::ExitCode() const {
  const int base = failback.ExitCode();
  if (base != 0) return base;
  return failed ? 3 : 0;
}

namespace {

using Level = recover::Precondition::Level;

// The failover a failback ends: the incident in the state directory (open or committed), or the
// failover a rolled-back failback ended (from STATE_DIR/incidents/). `*refusal` says why none.
Result<std::optional<IncidentState>> FailoverToEnd(const std::string& state_dir,
                                                   std::optional<IncidentState>* current,
                                                   std::string* refusal) {
  LB_ASSIGN_OR_RETURN(*current, LoadIncidentState(state_dir));
  if (!current->has_value()) {
    *refusal = "no failover incident in " + state_dir + ": nothing to fail back from";
    return std::optional<IncidentState>();
  }
  const IncidentState& s = **current;
  if (s.kind == "failback") {
    if (s.state != kIncidentRolledBack || s.ends_incident.empty()) {
      *refusal = "the last incident is failback " + s.id + " (" + s.state + ")" +
                 (s.open() ? ": commit it (lifeboat failover commit) or roll it back first"
                           : ": there is no failover to fail back from");
      return std::optional<IncidentState>();
    }
    for (const IncidentService& x : s.services) {
      if (x.restart != "failed") continue;
      // Its files at the recovery site are aside: a final backup there would find nothing.
      *refusal = "service " + x.service + " did not run at " + x.from_site + " after failback " +
                 s.id + " was rolled back (" + x.restart_error + "): fail it over to " + s.to_site +
                 " from its final backups instead (lifeboat failover " + x.service + " --to " +
                 s.to_site + ")";
      return std::optional<IncidentState>();
    }
    LB_ASSIGN_OR_RETURN(IncidentState fo, LoadArchivedIncidentState(state_dir, s.ends_incident));
    return std::optional<IncidentState>(std::move(fo));
  }
  if (s.state != kIncidentOpen && s.state != kIncidentCommitted) {
    *refusal = "the last failover, " + s.id + ", is " + s.state + ": nothing to fail back from";
    return std::optional<IncidentState>();
  }
  return std::optional<IncidentState>(s);
}

// The checks before anything changes (step 3 of failback.h).
void CheckFailback(const plan::Plan& plan, const IncidentState& failover,
                   const std::vector<std::string>& services, const std::string& to,
                   const Context& ctx, recover::PreconditionReport* pre) {
  for (const std::string& site : {to, failover.to_site}) {
    const plan::Site* s = plan.FindSite(site);
    Result<RecordSite> opened = s != nullptr ? OpenRecordSite(*s, ctx, nullptr)
                                             : Result<RecordSite>(Status::NotFound("no such site"));
    pre->checks.push_back(
        {"", "site",
         opened.ok()
             ? "the repository of site " + site + " opens"
             : "the repository of site " + site + " does not open: " + opened.status().message() +
                   (site == to ? " (if it was lost, lifeboat plan init recreates it)" : ""),
         opened.ok() ? Level::kOk : Level::kFailed});
  }
  for (const std::string& name : services) {
    const plan::Service* svc = plan.FindService(name);
    if (svc == nullptr) continue;
    for (const plan::Source& src : svc->sources) {
      if (src.kind != plan::SourceKind::kPostgres) continue;
      Result<recover::FailoverClusterLogin> login =
          recover::FailoverClusterLoginOf(failover.recovery_root, src.postgres);
      bool running = false;
      for (const recover::LeftRunning& lr : failover.left_running) {
        if (lr.service == name && !lr.cluster_dir.empty() && recover::StillRunning(lr)) {
          running = true;
        }
      }
      const bool ok = login.ok() && running;
      pre->checks.push_back(
          {name, "cluster",
           ok ? "the failover's cluster of source " + src.name + " runs on " + login->host + ":" +
                    std::to_string(login->port) + " (its final backup dumps it)"
              : "the failover's cluster of source " + src.name + " cannot be dumped: " +
                    (login.ok() ? std::string("it does not run") : login.status().message()),
           ok ? Level::kOk : Level::kFailed});
    }
  }
}

}  // namespace

Result<FailbackOutcome> PerformFailback(const plan::Plan& plan, const FailbackOptions& options) {
  if (options.fence == nullptr) return Status::InvalidArgument("a failback needs a fence");
  if (options.state_dir.empty())
    return Status::InvalidArgument("a failback needs a state directory");
  if (options.to.empty())
    return Status::InvalidArgument("name the original site to fail back to: --to SITE");
  const plan::Site* to_site = plan.FindSite(options.to);
  if (to_site == nullptr)
    return Status::InvalidArgument("no site named \"" + options.to + "\" in the plan " + plan.file);
  const Context& ctx = options.recover.context;
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  const std::string& to = options.to;
  FailbackOutcome out;
  FailoverOutcome& fb_out = out.failback;
  auto refuse = [&](FailoverOutcome::Result why, std::string message) {
    fb_out.result = why;
    fb_out.refusal = std::move(message);
    return out;
  };

  // 1. The failover to end.
  std::optional<IncidentState> current;
  std::string refusal;
  LB_ASSIGN_OR_RETURN(std::optional<IncidentState> found,
                      FailoverToEnd(options.state_dir, &current, &refusal));
  if (!found) return refuse(FailoverOutcome::Result::kRefused, refusal);
  IncidentState fo = std::move(*found);
  std::vector<std::string> names;
  for (const IncidentService& s : fo.services) {
    if (s.from_site != to) {
      return refuse(FailoverOutcome::Result::kRefused,
                    "service " + s.service + " of failover " + fo.id + " came from site " +
                        s.from_site + ", not " + to + ": fail back to " + s.from_site);
    }
    if (s.result != "recovered") {
      return refuse(FailoverOutcome::Result::kRefused,
                    "service " + s.service + " was not recovered at " + fo.to_site + " (" +
                        s.result +
                        "): roll the failover back instead (lifeboat failover rollback)");
    }
    names.push_back(s.service);
  }
  LB_ASSIGN_OR_RETURN(std::vector<recover::Wave> waves, recover::RecoveryWaves(plan, names));

  // 2. The fence; every service still at the recovery site.
  Result<std::unique_ptr<fence::FenceAction>> action = options.fence->BeginAction(ctx);
  if (!action.ok()) {
    return refuse(
        FailoverOutcome::Result::kFencedOut,
        "fenced out (" + std::string(options.fence->Kind()) + "): " + action.status().message());
  }
  std::map<std::string, fence::ActiveSite> active;
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      LB_ASSIGN_OR_RETURN(fence::ActiveSite a, (*action)->Active(ws.name));
      if (a.site != fo.to_site) {
        return refuse(FailoverOutcome::Result::kRefused,
                      "service " + ws.name + " is active at site " +
                          (a.site.empty() ? "(none recorded)" : a.site) + ", not at " + fo.to_site +
                          " where failover " + fo.id + " brought it");
      }
      active[ws.name] = a;
    }
  }

  // 3. The checks.
  recover::PreconditionReport& pre = fb_out.preconditions;
  pre.site = to;
  pre.recovery_root = to_site->recovery_root.empty() ? "/" : to_site->recovery_root;
  pre.waves = waves;
  CheckFailback(plan, fo, names, to, ctx, &pre);
  if (options.dry_run) {
    fb_out.result = FailoverOutcome::Result::kDryRun;
    return out;
  }
  if (!pre.ok()) {
    return refuse(FailoverOutcome::Result::kRefused,
                  "a check failed; nothing was changed:\n" + pre.Failures());
  }
  if (options.confirm && !options.confirm(pre)) {
    return refuse(FailoverOutcome::Result::kRefused, "not confirmed; nothing was changed");
  }

  // 4. The failback opened, each service moved to SITE, the failover closed.
  IncidentState& inc = fb_out.incident;
  LB_ASSIGN_OR_RETURN(inc.id, NewIncidentId());
  inc.kind = "failback";
  inc.ends_incident = fo.id;
  inc.plan_file = plan.file;
  inc.declared_by =
      options.declared_by.empty() ? internal::OperatorName(host) : options.declared_by;
  inc.reason = options.reason;
  inc.to_site = to;
  inc.recovery_root = pre.recovery_root;
  inc.host = host;
  inc.version = internal::ProgramVersion();
  inc.start_ns = ctx.clock().WallNs();
  inc.failure_ns = inc.start_ns;
  for (const recover::Wave& w : waves) {
    for (const recover::WaveService& ws : w.services) {
      const plan::Service& svc = plan.services[ws.plan_index];
      const IncidentService* was = fo.Find(ws.name);
      IncidentService s;
      s.service = ws.name;
      s.tier = ws.tier;
      s.wave = w.number;
      s.result = "pending";
      s.from_site = fo.to_site;
      s.rpo_target_seconds = static_cast<double>(svc.rpo.count());
      if (svc.rto) s.rto_target_seconds = static_cast<double>(svc.rto->count());
      if (was != nullptr) s.ports = was->ports;
      inc.services.push_back(std::move(s));
    }
  }
  for (IncidentService& s : inc.services) {
    Result<uint64_t> token = (*action)->MoveActive(s.service, active[s.service], to, inc.id);
    if (!token.ok()) {
      return refuse(FailoverOutcome::Result::kFencedOut, "fenced out moving " + s.service + " to " +
                                                             to + ": " + token.status().message());
    }
    s.token = *token;
    inc.token = std::max(inc.token, *token);
  }
  inc.timeline.push_back(
      {inc.start_ns, "failback started (" + inc.declared_by + "), ends failover " + fo.id, "", to});
  if (fo.state != kIncidentClosed) {
    const bool was_open = fo.open();
    fo.state = std::string(kIncidentClosed);
    if (was_open || fo.end_ns == 0) fo.end_ns = inc.start_ns;
    fo.timeline.push_back(
        {inc.start_ns,
         std::string(was_open ? "committed and closed" : "closed") + " by failback " + inc.id, "",
         to});
    internal::WriteFailoverRecords(plan, &fo, ctx, &fb_out.warnings);
    LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, fo));
    if (was_open) {
      fb_out.warnings.push_back("failover " + fo.id +
                                " was still open: the failback committed and closed it");
    }
  }
  LB_RETURN_IF_ERROR(ArchiveIncidentState(options.state_dir, *current));
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  internal::WriteFailoverRecords(plan, &inc, ctx, &fb_out.warnings);
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  out.ended = fo;
  internal::SendFailoverEvents(
      plan, options.state_dir, ctx, options.notify_retry, host,
      {internal::FailoverEvent(
          notify::EventType::kFailoverStarted, inc, nullptr,
          "failback to " + to + " started (incident " + inc.id + ", ends failover " + fo.id + ")",
          inc.start_ns, host)},
      &fb_out.notifications, &fb_out.warnings);
  auto line = [&](const std::string& l) {
    if (options.recover.on_line) options.recover.on_line(l);
  };
  auto finish = [&](std::vector<notify::Event> events) -> Result<FailbackOutcome> {
    inc.end_ns = ctx.clock().WallNs();
    internal::WriteFailoverRecords(plan, &inc, ctx, &fb_out.warnings);
    LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
    internal::SendFailoverEvents(plan, options.state_dir, ctx, options.notify_retry, host, events,
                                 &fb_out.notifications, &fb_out.warnings);
    return out;
  };

  // 5. Reverse waves: each service's final backup as it runs at the recovery site, then stopped.
  for (auto w = waves.rbegin(); w != waves.rend(); ++w) {
    for (const recover::WaveService& ws : w->services) {
      IncidentService* s = inc.Find(ws.name);
      line(ws.name + ": final backup at " + fo.to_site + " (below " + fo.recovery_root + ")");
      RunOptions ro;
      ro.services = {ws.name};
      ro.now = true;
      ro.context = ctx;
      ro.state_dir = options.state_dir;
      ro.host = host;
      ro.notify_retry = options.notify_retry;
      ro.read_roots[ws.name] = fo.recovery_root;
      ro.on_line = options.recover.on_line;
      Result<RunReport> run = RunPlan(plan, ro);
      std::string error = run.ok() ? "" : run.status().message();
      const plan::Service& svc = plan.services[ws.plan_index];
      if (run.ok()) {
        for (const ServiceReport& r : run->services) {
          for (const SiteOutcome& o : r.outcomes) {
            if (o.source.empty()) continue;
            out.backups.push_back(
                {ws.name, o.source, o.site,
                 o.snapshot && o.result == RunResult::kOk ? o.snapshot->Hex() : "",
                 o.result == RunResult::kOk ? "" : o.error});
          }
        }
        for (const plan::Source& src : svc.sources) {
          bool landed = false;
          for (const FinalBackup& b : out.backups) {
            landed = landed || (b.service == ws.name && b.source == src.name && b.site == to &&
                                !b.snapshot.empty());
          }
          if (!landed && error.empty()) {
            error = "the final backup of source " + src.name + " did not reach site " + to;
          }
        }
      }
      if (!error.empty() || ctx.cancelled()) {
        if (error.empty()) error = "interrupted";
        out.failed = true;
        s->result = "failed";
        s->error = "final backup: " + error;
        inc.timeline.push_back({ctx.clock().WallNs(), s->error, ws.name, fo.to_site});
        fb_out.warnings.push_back(
            ws.name + ": " + s->error + "; the failback stopped here: " + ws.name +
            " and what it depends on still run at " + fo.to_site +
            "; what depends on it was stopped there (its final backup is at both sites): fix "
            "the cause and roll the failback back (lifeboat failover rollback)");
        return finish({internal::FailoverEvent(
            notify::EventType::kFailoverFailed, inc, s,
            ws.name + " not failed back to " + to + ": " + s->error, ctx.clock().WallNs(), host)});
      }
      inc.timeline.push_back({ctx.clock().WallNs(), "final backup at " + fo.to_site + " and " + to,
                              ws.name, fo.to_site});
      std::vector<recover::LeftRunning> mine;
      for (const recover::LeftRunning& lr : fo.left_running) {
        if (lr.service == ws.name) mine.push_back(lr);
      }
      s->stopped = true;  // unless a stop failed: then it may still run there
      for (recover::StopNote& n : recover::StopLeftRunning(mine, options.stop_grace)) {
        line(n.service + ": " + n.what + ": " + (n.was_running ? "stopped" : "had exited") +
             (n.status.ok() ? "" : " (" + n.status.message() + ")"));
        if (!n.status.ok()) {
          out.failed = true;
          s->stopped = false;
          fb_out.warnings.push_back(n.service + ": " + n.what + " may still run at " + fo.to_site +
                                    ": " + n.status.message());
        }
        out.stopped.push_back(std::move(n));
      }
      inc.timeline.push_back(
          {ctx.clock().WallNs(), "stopped at " + fo.to_site, ws.name, fo.to_site});
      LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
    }
  }

  // 6. At SITE: what is in the way moved aside, the failover checks, the recovery.
  recover::RecoverOptions rro = options.recover;
  rro.mode = recover::RecoveryMode::kFailover;
  rro.site = to;
  rro.services = names;
  rro.at.clear();
  rro.recovery_root = to_site->recovery_root;
  LB_ASSIGN_OR_RETURN(recover::PreconditionReport at_site,
                      recover::CheckFailoverPreconditions(plan, rro));
  const std::string root = inc.recovery_root == "/" ? "" : inc.recovery_root;
  const std::string aside = root + "/.lifeboat-failback/" + inc.id;
  for (const recover::PlannedSnapshot& p : at_site.snapshots) {
    for (const std::string& path : p.paths) inc.written_paths.push_back(path);
  }
  for (const std::string& path : at_site.cluster_dirs) inc.written_paths.push_back(path);
  for (const std::string& path : inc.written_paths) {
    Status st = internal::MoveAside(root, aside, path, &out.moved);
    if (!st.ok()) fb_out.warnings.push_back(st.message());
  }
  if (!out.moved.empty()) {
    inc.moved_aside_to = aside;
    for (const std::string& m : out.moved) line("moved aside " + m);
    inc.timeline.push_back({ctx.clock().WallNs(), "files in the way moved to " + aside, "", to});
  }
  LB_ASSIGN_OR_RETURN(at_site, recover::CheckFailoverPreconditions(plan, rro));
  for (const recover::Precondition& c : at_site.checks) pre.checks.push_back(c);
  pre.snapshots = at_site.snapshots;
  pre.cluster_dirs = at_site.cluster_dirs;
  if (!at_site.ok()) {
    out.failed = true;
    const std::string why = "a check at " + to + " failed after the services were stopped at " +
                            fo.to_site + ":\n" + at_site.Failures();
    for (IncidentService& s : inc.services) {
      s.result = "failed";
      s.error = "not restored: a check at " + to + " failed";
    }
    inc.timeline.push_back({ctx.clock().WallNs(), why, "", to});
    fb_out.warnings.push_back(why +
                              "\nfix it and roll the failback back (lifeboat failover rollback)");
    return finish({internal::FailoverEvent(notify::EventType::kFailoverFailed, inc, nullptr,
                                           "failback to " + to + " failed: " + why,
                                           ctx.clock().WallNs(), host)});
  }
  LB_RETURN_IF_ERROR(SaveIncidentState(options.state_dir, inc));
  std::vector<notify::Event> events;
  LB_ASSIGN_OR_RETURN(recover::RecoveryReport report,
                      internal::RecoverIncident(plan, rro, &inc, options.state_dir, host, &events,
                                                &fb_out.warnings));
  if (report.cancelled) inc.timeline.push_back({ctx.clock().WallNs(), "interrupted", "", to});
  fb_out.warnings.insert(fb_out.warnings.end(), report.warnings.begin(), report.warnings.end());
  fb_out.report = std::move(report);
  return finish(std::move(events));
}

}  // namespace lifeboat::dr
