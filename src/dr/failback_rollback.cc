// The rollback of a failback, its second half (failover_internal.h, RestartFailbackServices): the
// services the failback stopped at the recovery site recovered there again, from their final
// backups, so that a rolled-back failback leaves them running where they ran. Also MoveAside,
// which failback.cc shares.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "dr/failover_internal.h"
#include "recover/preconditions.h"
#include "recover/waves.h"
#include "util/file_io.h"

namespace lifeboat::dr::internal {

namespace {

namespace fs = std::filesystem;

// The services of `inc` to recover at the recovery site: those the failback stopped there and
// whose move back has a token, less any that depends on a service that is not among them (a
// recovery brings everything a service depends on up with it, and that one still runs there or
// was left alone). Every other service gets its RestartNote here.
std::vector<std::string> ServicesToRestart(const plan::Plan& plan, const IncidentState& inc,
                                           const std::map<std::string, uint64_t>& back_tokens,
                                           const std::string& site, IncidentActionOutcome* out) {
  std::set<std::string> chosen;
  for (const IncidentService& s : inc.services) {
    if (!back_tokens.count(s.service)) {
      out->restarted.push_back(
          {s.service, site, "skipped", "moved by another incident since: left where it is", {}});
    } else if (!s.stopped) {
      out->restarted.push_back(
          {s.service,
           site,
           "left_running",
           "the failback never stopped it at " + site + ": it still runs there, untouched",
           {}});
    } else {
      chosen.insert(s.service);
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const std::string& name : std::set<std::string>(chosen)) {
      Result<std::vector<recover::Wave>> waves = recover::RecoveryWaves(plan, {name});
      std::string missing = waves.ok() ? "" : waves.status().message();
      if (waves.ok()) {
        for (const recover::Wave& w : *waves) {
          for (const recover::WaveService& ws : w.services) {
            if (missing.empty() && !chosen.count(ws.name)) missing = ws.name;
          }
        }
      }
      if (missing.empty()) continue;
      chosen.erase(name);
      changed = true;
      const IncidentService* dep = waves.ok() ? inc.Find(missing) : nullptr;
      std::string why = missing;
      if (waves.ok()) {
        why = "it depends on " + missing +
              (dep != nullptr && dep->stopped ? ", which is not restarted either"
                                              : ", which the failback did not stop at " + site +
                                                    " (a recovery would start it a second time)") +
              "; start " + name + " there by hand (the runbook's recover steps)";
      }
      out->restarted.push_back({name, site, "failed", why, {}});
    }
  }
  std::vector<std::string> names;
  for (const IncidentService& s : inc.services) {
    if (chosen.count(s.service)) names.push_back(s.service);
  }
  return names;
}

// What runs at the recovery site after the rollback, recorded: in the failover `failback` ended
// (STATE_DIR/incidents/ID.json: the processes of `restarted`, which the failback stopped, replaced
// by `now_running`, so that a later failback stops the right ones) and in failback->left_running
// (`now_running` and what the failover left running for the services the failback never stopped:
// what `failover status` shows). Warnings when the failover's state cannot be read or written.
void RecordWhatRuns(const std::string& state_dir, IncidentState* failback,
                    const std::vector<std::string>& restarted,
                    const std::vector<recover::LeftRunning>& now_running, int64_t now_ns,
                    std::vector<std::string>* warnings) {
  failback->left_running = now_running;
  if (failback->ends_incident.empty()) return;
  Result<IncidentState> fo = LoadArchivedIncidentState(state_dir, failback->ends_incident);
  if (!fo.ok()) {
    warnings->push_back("what runs at " + failback->services.front().from_site +
                        " could not be recorded for failover " + failback->ends_incident + " (" +
                        fo.status().message() + "): a later failback does not stop it");
    return;
  }
  std::vector<recover::LeftRunning> kept;
  for (const recover::LeftRunning& lr : fo->left_running) {
    if (std::find(restarted.begin(), restarted.end(), lr.service) != restarted.end()) continue;
    kept.push_back(lr);
    const IncidentService* s = failback->Find(lr.service);
    if (s != nullptr && s->restart == "left_running") {
      failback->left_running.push_back(lr);
    }
  }
  if (restarted.empty()) return;
  for (const recover::LeftRunning& lr : now_running) kept.push_back(lr);
  fo->left_running = std::move(kept);
  fo->timeline.push_back(
      {now_ns,
       "what runs at " + fo->to_site + " restarted by the rollback of failback " + failback->id, "",
       fo->to_site});
  Status st = SaveArchivedIncidentState(state_dir, *fo);
  if (!st.ok()) warnings->push_back(st.message());
}

}  // namespace

Status MoveAside(const std::string& root, const std::string& aside, const std::string& path,
                 std::vector<std::string>* moved) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return Status::Ok();
  if (fs::is_directory(fs::symlink_status(path, ec)) && fs::is_empty(path, ec)) return Status::Ok();
  std::string relative = path.substr(root.size());
  while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
  const std::string to = aside + "/" + relative;
  LB_RETURN_IF_ERROR(CreateDirectories(fs::path(to).parent_path().string()));
  if (std::rename(path.c_str(), to.c_str()) != 0) return PosixError("moving " + path + " to " + to);
  LB_RETURN_IF_ERROR(SyncDirectory(fs::path(path).parent_path().string()));
  moved->push_back(path + " -> " + to);
  return Status::Ok();
}

Status RestartFailbackServices(const plan::Plan& plan, const IncidentActionOptions& options,
                               const std::map<std::string, uint64_t>& back_tokens,
                               IncidentState* inc, IncidentActionOutcome* out,
                               std::vector<notify::Event>* events) {
  if (inc->services.empty()) return Status::Ok();
  const Context& ctx = options.context;
  const std::string host = options.host.empty() ? notify::HostName() : options.host;
  const std::string site = inc->services.front().from_site;  // the recovery site
  auto line = [&](const std::string& l) {
    if (options.on_line) options.on_line(l);
  };
  const size_t first_note = out->restarted.size();
  const std::vector<std::string> names = ServicesToRestart(plan, *inc, back_tokens, site, out);
  auto settle = [&](const RestartNote& n) {
    IncidentService* s = inc->Find(n.service);
    s->restart = n.result;
    s->restart_error = n.error;
    s->notes.push_back("rollback: " + (n.result == "restarted" ? "restarted at " + site
                                       : n.result == "failed"  ? "NOT running anywhere: " + n.error
                                                               : n.error));
    inc->timeline.push_back({ctx.clock().WallNs(),
                             n.result == "restarted"      ? "restarted at " + site
                             : n.result == "left_running" ? "left running at " + site
                             : n.result == "skipped"      ? "left alone: " + n.error
                                                          : "not restarted: " + n.error,
                             n.service, site});
    line(n.service + ": " +
         (n.result == "restarted" ? "restarted at " + site
          : n.result == "failed"  ? "NOT restarted at " + site + ": " + n.error
                                  : n.error));
    if (n.result == "failed") out->failed = true;
  };
  for (size_t i = first_note; i < out->restarted.size(); ++i) settle(out->restarted[i]);
  if (names.empty()) {
    RecordWhatRuns(options.state_dir, inc, {}, {}, ctx.clock().WallNs(), &out->warnings);
    return SaveIncidentState(options.state_dir, *inc);
  }

  // What is in the way below the recovery root moved aside, then the failover's checks.
  const plan::Site* s = plan.FindSite(site);
  recover::RecoverOptions ro;
  ro.mode = recover::RecoveryMode::kFailover;
  ro.site = site;
  ro.services = names;
  ro.context = ctx;
  ro.on_line = options.on_line;
  ro.postgres_bin_dir = options.postgres_bin_dir;
  ro.postgres_user = options.postgres_user;
  ro.recovery_root = s != nullptr ? s->recovery_root : "";
  Result<recover::PreconditionReport> pre =
      s != nullptr
          ? recover::CheckFailoverPreconditions(plan, ro)
          : Result<recover::PreconditionReport>(Status::NotFound("the plan has no site " + site));
  const std::string root =
      ro.recovery_root.empty() || ro.recovery_root == "/" ? std::string() : ro.recovery_root;
  const std::string aside = root + "/.lifeboat-rolled-back/" + inc->id;
  std::vector<std::string> moved;
  if (pre.ok()) {
    std::vector<std::string> paths = pre->cluster_dirs;
    for (const recover::PlannedSnapshot& p : pre->snapshots) {
      paths.insert(paths.end(), p.paths.begin(), p.paths.end());
    }
    for (const std::string& path : paths) {
      Status st = MoveAside(root, aside, path, &moved);
      if (!st.ok()) out->warnings.push_back(st.message());
    }
    for (const std::string& m : moved) line("moved aside " + m);
    if (!moved.empty()) {
      inc->timeline.push_back(
          {ctx.clock().WallNs(), "files in the way at " + site + " moved to " + aside, "", site});
    }
    out->moved.insert(out->moved.end(), moved.begin(), moved.end());
    pre = recover::CheckFailoverPreconditions(plan, ro);
  }
  std::string why = !pre.ok()    ? pre.status().message()
                    : !pre->ok() ? "a check at " + site + " failed:\n" + pre->Failures()
                                 : "";
  while (!why.empty() && why.back() == '\n') why.pop_back();
  if (!why.empty()) {
    for (const std::string& name : names) {
      out->restarted.push_back({name, site, "failed", why, {}});
      settle(out->restarted.back());
    }
    RecordWhatRuns(options.state_dir, inc, names, {}, ctx.clock().WallNs(), &out->warnings);
    return SaveIncidentState(options.state_dir, *inc);
  }

  // The recovery at the recovery site, switched towards it with the new tokens once verified.
  IncidentState re;
  re.id = inc->id;
  re.kind = inc->kind;
  re.ends_incident = inc->ends_incident;
  re.to_site = site;
  re.recovery_root = pre->recovery_root.empty() ? "/" : pre->recovery_root;
  re.start_ns = re.failure_ns = ctx.clock().WallNs();
  re.host = host;
  for (const std::string& name : names) {
    const IncidentService& was = *inc->Find(name);
    IncidentService x;
    x.service = name;
    x.tier = was.tier;
    x.wave = was.wave;
    x.result = "pending";
    x.from_site = inc->to_site;  // SITE: the switch steps go from there
    x.token = back_tokens.at(name);
    x.rto_target_seconds = was.rto_target_seconds;
    x.rpo_target_seconds = was.rpo_target_seconds;
    x.ports = was.ports;
    re.token = std::max(re.token, x.token);
    re.services.push_back(std::move(x));
  }
  // What runs is recorded in the failback's state as soon as it runs.
  inc->left_running.clear();
  std::vector<notify::Event> recovered_events;
  auto save = [&](const IncidentState& r) {
    inc->left_running = r.left_running;
    return SaveIncidentState(options.state_dir, *inc);
  };
  LB_ASSIGN_OR_RETURN(recover::RecoveryReport report,
                      RecoverIncidentSaving(plan, ro, &re, options.state_dir, save, host,
                                            &recovered_events, &out->warnings));
  out->warnings.insert(out->warnings.end(), report.warnings.begin(), report.warnings.end());
  for (const IncidentEvent& e : re.timeline) inc->timeline.push_back(e);
  for (const std::string& name : names) {
    const IncidentService& r = *re.Find(name);
    RestartNote n{name,
                  site,
                  r.result == "recovered" ? "restarted" : "failed",
                  r.result == "recovered" ? "" : r.result + ": " + r.error,
                  {}};
    if (const recover::ServiceRecovery* sr = report.Find(name)) n.steps = sr->steps;
    out->restarted.push_back(std::move(n));
    settle(out->restarted.back());
  }
  events->insert(events->end(), recovered_events.begin(), recovered_events.end());
  RecordWhatRuns(options.state_dir, inc, names, report.left_running, ctx.clock().WallNs(),
                 &out->warnings);
  return SaveIncidentState(options.state_dir, *inc);
}

}  // namespace lifeboat::dr::internal
