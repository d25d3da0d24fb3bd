// One service of a run (doc/run.md, "What run does"): the due rule, the run lock, hooks, the
// sources' backups with sync or async replication, and retention.
#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "copier/copier.h"
#include "dr/run_internal.h"
#include "engine/multi_site.h"
#include "notify/event.h"
#include "plan/schedule.h"
#include "pruner/pruner.h"
#include "recover/failover_cluster.h"
#include "retention/forget.h"
#include "runlog/run_lock.h"
#include "sources/source.h"
#include "util/subprocess.h"

namespace lifeboat::dr::internal {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::ostringstream out;
  out.precision(u == 0 ? 0 : 1);
  out << std::fixed << v << " " << units[u];
  return out.str();
}

std::string ResultLine(const std::string& service, const SiteOutcome& o) {
  std::string line = "  " + service + (o.source.empty() ? "" : " " + o.source) + " at " + o.site +
                     " (" + o.what + "): ";
  switch (o.result) {
    case RunResult::kOk: line += "ok"; break;
    case RunResult::kFailed: line += "FAILED"; break;
    case RunResult::kIncomplete: line += "INCOMPLETE"; break;
    case RunResult::kSkipped: line += "skipped"; break;
  }
  if (o.snapshot) line += ", snapshot " + o.snapshot->Short();
  if (o.bytes_added > 0) line += ", " + Bytes(o.bytes_added) + " added";
  if (!o.error.empty()) line += ": " + o.error;
  return line;
}

void Add(RunState& st, ServiceReport* r, SiteOutcome o) {
  st.Line(ResultLine(r->name, o));
  r->outcomes.push_back(std::move(o));
}

std::string SiteList(const plan::Service& svc) {
  std::string s;
  for (const plan::NameRef& n : svc.sites) s += (s.empty() ? "" : ", ") + n.name;
  return s;
}

// Runs `commands` in order; the first failure stops them and is returned (redacted).
Status RunHooks(RunState& st, const plan::Service& svc, const std::vector<plan::Command>& commands,
                const char* kind, const std::string& error_text) {
  for (const plan::Command& cmd : commands) {
    SubprocessOptions o;
    o.argv = cmd.argv;
    o.description = std::string("hook ") + kind + " '" + cmd.Display() + "'";
    o.timeout = svc.hooks.timeout;
    o.cancel = st.ctx().cancel_flag();
    for (const std::string& var : st.secret_variables()) o.environment.emplace_back(var, "");
    o.environment.emplace_back("LIFEBOAT_SERVICE", svc.name);
    o.environment.emplace_back("LIFEBOAT_RUN_ID", st.run_id);
    if (!error_text.empty()) o.environment.emplace_back("LIFEBOAT_ERROR", error_text);
    st.Line(st.Redact("  " + svc.name + ": hook " + kind + ": " + cmd.Display()));
    Result<std::string> out = RunAndCapture(o);
    if (!out.ok()) return Status(out.status().code(), st.Redact(out.status().message()));
    std::istringstream lines(*out);
    for (std::string line; std::getline(lines, line);) st.Line("    | " + st.Redact(line));
  }
  return Status::Ok();
}

// The recovery root `svc` is backed up from (RunOptions::read_roots); null: where it is.
const std::string* ReadRootOf(const RunState& st, const plan::Service& svc) {
  auto it = st.options().read_roots.find(svc.name);
  return it == st.options().read_roots.end() ? nullptr : &it->second;
}

// The options of one source's backup: path sources and SQLite databases read below the
// service's read root (postgres sources are dumped from the cluster below it: ToSpec).
SourceOptions SourceBackupOptions(const RunState& st, const plan::Service& svc,
                                  const plan::Source& src, SourceOptions o) {
  const std::string* root = ReadRootOf(st, svc);
  if (root != nullptr &&
      (src.kind == plan::SourceKind::kPaths || src.kind == plan::SourceKind::kSqlite))
    o.backup.read_root = *root;
  return o;
}

Result<SourceSpec> ToSpec(RunState& st, const plan::Service& svc, const plan::Source& src) {
  SourceSpec spec;
  spec.name = src.name;
  switch (src.kind) {
    case plan::SourceKind::kPaths: {
      PathsSource p;
      p.paths = src.paths.paths;
      p.exclude = src.paths.exclude;
      p.exclude_files = src.paths.exclude_file;
      p.one_file_system = src.paths.one_file_system;
      spec.config = p;
      break;
    }
    case plan::SourceKind::kCommand: {
      CommandSource c;
      c.argv = src.command.command.argv;
      c.filename = src.command.filename.empty() ? src.name : src.command.filename;
      c.timeout = src.command.timeout;
      for (const std::string& var : st.secret_variables()) c.environment.emplace_back(var, "");
      c.environment.emplace_back("LIFEBOAT_SERVICE", svc.name);
      spec.config = c;
      break;
    }
    case plan::SourceKind::kPostgres: {
      PostgresSource p;
      if (const std::string* root = ReadRootOf(st, svc)) {
        // The cluster a failover left running below the root, with its own login.
        LB_ASSIGN_OR_RETURN(recover::FailoverClusterLogin login,
                            recover::FailoverClusterLoginOf(*root, src.postgres));
        st.AddSecret(login.password);
        p.host = login.host;
        p.port = login.port;
        p.user = login.user;
        p.password = login.password;
        p.database = src.postgres.database;
        p.all_databases = src.postgres.all_databases();
        p.dump_timeout = src.postgres.timeout;
        spec.config = p;
        break;
      }
      p.dsn = src.postgres.dsn;
      p.host = src.postgres.host;
      p.port = src.postgres.port;
      p.database = src.postgres.database;
      p.user = src.postgres.user;
      p.all_databases = src.postgres.all_databases();
      p.dump_timeout = src.postgres.timeout;
      if (src.postgres.password) {
        LB_ASSIGN_OR_RETURN(p.password,
                            st.Resolve(*src.postgres.password, "service " + svc.name + ", source " +
                                                                   src.name + ": password"));
      }
      spec.config = p;
      break;
    }
    case plan::SourceKind::kSqlite: {
      SqliteSource s;
      s.path = src.sqlite.path;
      spec.config = s;
      break;
    }
  }
  return spec;
}

SourceOptions BaseSourceOptions(RunState& st, const plan::Service& svc) {
  SourceOptions o;
  o.service = svc.name;
  o.backup.host = st.host;
  o.backup.context = st.ctx();
  return o;
}

SiteOutcome SourceOutcome(const std::string& site, const plan::Source& src, const char* what) {
  SiteOutcome o;
  o.site = site;
  o.source = src.name;
  o.source_kind = std::string(plan::SourceKindName(src.kind));
  o.what = what;
  return o;
}

// The outcome of a backup at a site that got its snapshot.
SiteOutcome BackupOutcome(const std::string& site, const plan::Source& src,
                          const BackupResult& b) {
  SiteOutcome o = SourceOutcome(site, src, "backup");
  o.snapshot = b.snapshot_id;
  o.bytes_added = b.snapshot.summary.data_added;
  o.bytes_sent = b.snapshot.summary.data_added_packed;
  if (b.incomplete) {
    o.result = RunResult::kIncomplete;
    o.error = std::to_string(b.errors.size()) + " files or directories could not be read";
    if (!b.errors.empty()) o.error += " (first: " + b.errors[0].path + ": " + b.errors[0].message + ")";
  }
  return o;
}

SiteOutcome Failed(const std::string& site, const plan::Source* src, const std::string& what,
                   const std::string& error) {
  SiteOutcome o;
  o.site = site;
  if (src != nullptr) {
    o.source = src->name;
    o.source_kind = std::string(plan::SourceKindName(src->kind));
  }
  o.what = what;
  o.result = RunResult::kFailed;
  o.error = error;
  return o;
}

void BackupSync(RunState& st, const plan::Service& svc, ServiceReport* r) {
  const std::string& first = svc.sites.front().name;
  for (const plan::Source& src : svc.sources) {
    if (st.ctx().cancelled()) return;
    Result<SourceSpec> spec = ToSpec(st, svc, src);
    Result<OpenOptions> primary = st.JobOpenOptions(first, LockKind::kShared);
    Status early = !spec.ok() ? spec.status() : primary.status();
    if (!early.ok()) {
      for (const plan::NameRef& s : svc.sites) {
        Add(st, r, Failed(s.name, &src, "backup", st.Redact(early.message())));
      }
      continue;
    }
    MultiSiteOptions mo;
    mo.primary = *primary;
    mo.primary_name = first;
    std::vector<SiteOutcome> down;
    for (size_t i = 1; i < svc.sites.size(); ++i) {
      SiteHandle& h = st.Site(svc.sites[i].name);
      if (!h.status.ok()) {
        down.push_back(Failed(svc.sites[i].name, &src, "backup", st.Redact(h.status.message())));
        continue;
      }
      ReplicaSite rs;
      rs.name = svc.sites[i].name;
      rs.location = h.open.location;
      rs.backend = h.open.backend;
      mo.replicas.push_back(std::move(rs));
    }
    SourceOptions so = BaseSourceOptions(st, svc);
    Result<MultiSiteResult> m =
        RunMultiSiteBackup(mo, [&](Repository& repo, RepositoryLock* lock) -> Result<BackupResult> {
          SourceOptions o = SourceBackupOptions(st, svc, src, so);
          o.backup.lock = lock;
          LB_ASSIGN_OR_RETURN(SourceResult sr, BackupSource(repo, *spec, o));
          return sr.backup;
        });
    if (!m.ok()) {
      for (const plan::NameRef& s : svc.sites) {
        Add(st, r, Failed(s.name, &src, "backup", st.Redact(m.status().message())));
      }
      continue;
    }
    for (const SiteReport& site : m->sites) {
      if (site.snapshot_landed) {
        SiteOutcome o = BackupOutcome(site.name, src, m->backup);
        o.bytes_sent = site.bytes_sent;
        Add(st, r, o);
      } else {
        std::string err = site.error.ok() ? "the snapshot did not reach this site"
                                          : site.error.message();
        Add(st, r, Failed(site.name, &src, "backup", st.Redact(err)));
      }
    }
    for (SiteOutcome& o : down) Add(st, r, std::move(o));
  }
}

void BackupAsync(RunState& st, const plan::Service& svc, ServiceReport* r) {
  const std::string& first = svc.sites.front().name;
  Result<OpenOptions> oo = st.JobOpenOptions(first, LockKind::kShared);
  Result<OpenedRepository> primary =
      oo.ok() ? OpenRepository(*oo) : Result<OpenedRepository>(oo.status());
  if (!primary.ok() && oo.ok()) {
    primary = primary.status().WithContext("site " + first);
  }
  std::map<std::string, Id> made;  // source name -> snapshot at the first site
  std::map<std::string, std::string> source_error;
  for (const plan::Source& src : svc.sources) {
    if (st.ctx().cancelled()) return;
    if (!primary.ok()) {
      source_error[src.name] = st.Redact(primary.status().message());
      Add(st, r, Failed(first, &src, "backup", source_error[src.name]));
      continue;
    }
    Result<SourceSpec> spec = ToSpec(st, svc, src);
    SourceOptions so = SourceBackupOptions(st, svc, src, BaseSourceOptions(st, svc));
    so.backup.lock = primary->lock.get();
    Result<SourceResult> res =
        spec.ok() ? BackupSource(*primary->repo, *spec, so) : Result<SourceResult>(spec.status());
    if (!res.ok()) {
      source_error[src.name] = st.Redact(res.status().message());
      Add(st, r, Failed(first, &src, "backup", source_error[src.name]));
      continue;
    }
    if (res->backup.snapshot_id) made[src.name] = *res->backup.snapshot_id;
    Add(st, r, BackupOutcome(first, src, res->backup));
  }
  for (size_t i = 1; i < svc.sites.size(); ++i) {
    if (st.ctx().cancelled()) return;
    const std::string& site = svc.sites[i].name;
    if (made.empty()) {
      for (const plan::Source& src : svc.sources) {
        Add(st, r, Failed(site, &src, "copy", "not copied: the backup to " + first + " failed"));
      }
      continue;
    }
    Result<OpenOptions> to = st.JobOpenOptions(site, LockKind::kShared);
    Result<OpenedRepository> target =
        to.ok() ? OpenRepository(*to) : Result<OpenedRepository>(to.status());
    std::map<Id, Id> copied;  // source id -> target id
    CopyResult cr;
    Status copy_status = target.status();
    if (target.ok()) {
      CopyOptions co;
      co.filter.services = {svc.name};
      co.source_lock = primary->lock.get();
      co.target_lock = target->lock.get();
      co.context = st.ctx();
      co.run_records = false;
      co.on_copied = [&](const CopiedSnapshot& c) { copied[c.source_id] = c.target_id; };
      Result<CopyResult> res = CopySnapshots(*primary->repo, *target->repo, co);
      copy_status = res.status();
      if (res.ok()) {
        cr = *res;
        for (const auto& [from, to_id] : res->skipped) copied[from] = to_id;
      }
    } else {
      copy_status = copy_status.WithContext("site " + site);
    }
    bool first_ok = true;
    for (const plan::Source& src : svc.sources) {
      auto it = made.find(src.name);
      if (it == made.end()) {
        Add(st, r, Failed(site, &src, "copy", "not copied: the backup to " + first + " failed"));
        continue;
      }
      auto c = copied.find(it->second);
      if (c == copied.end()) {
        Add(st, r, Failed(site, &src, "copy",
                          copy_status.ok() ? "the snapshot was not copied"
                                           : st.Redact(copy_status.message())));
        continue;
      }
      SiteOutcome o = SourceOutcome(site, src, cr.replica ? "copy (replica)" : "copy");
      o.snapshot = c->second;
      if (first_ok) {
        o.bytes_sent = cr.stats.pack_bytes_copied + cr.stats.bytes_reencrypted_stored;
        first_ok = false;
      }
      Add(st, r, o);
    }
  }
}

void ApplyRetention(RunState& st, const plan::Service& svc, ServiceReport* r) {
  if (!svc.retention) return;
  bool any = false;
  for (const SiteOutcome& o : r->outcomes) any = any || (o.snapshot.has_value());
  if (!any) return;
  for (const plan::NameRef& ref : svc.sites) {
    if (st.ctx().cancelled()) return;
    const plan::Site* site = st.plan().FindSite(ref.name);
    if (site != nullptr && site->immutable) {
      std::string note = "retention not run at " + ref.name + ": the site is immutable";
      st.Line("  " + svc.name + ": " + note);
      r->retention_notes.push_back(note);
      continue;
    }
    Result<OpenOptions> oo = st.JobOpenOptions(ref.name, LockKind::kExclusive);
    if (oo.ok()) oo->lock_wait.wait = st.options().retention_lock_wait;
    Result<OpenedRepository> repo =
        oo.ok() ? OpenRepository(*oo) : Result<OpenedRepository>(oo.status());
    if (!repo.ok()) {
      Add(st, r, Failed(ref.name, nullptr, "retention", st.Redact(repo.status().message())));
      continue;
    }
    retention::ForgetRequest req;
    req.filter.services = {svc.name};
    req.policy = *svc.retention;
    req.now_ns = st.WallNs();
    retention::ForgetOptions fo;
    fo.ctx = st.ctx();
    Result<retention::ForgetResult> f = retention::Forget(*repo->repo, repo->lock.get(), req, fo);
    std::string error;
    if (!f.ok()) {
      error = f.status().message();
    } else if (!f->stopped.ok()) {
      error = "forget stopped: " + f->stopped.message();
    } else if (!f->failed.empty()) {
      error = std::to_string(f->failed.size()) + " snapshots could not be forgotten (first " +
              f->failed[0].first.Short() + ": " + f->failed[0].second.message() + ")";
    }
    std::string summary;
    if (f.ok()) summary = "kept " + std::to_string(f->plan.kept()) + ", forgot " +
                          std::to_string(f->removed.size());
    if (error.empty() && f.ok() && !f->removed.empty()) {
      PruneOptions po;
      po.lock = repo->lock.get();
      po.context = st.ctx();
      Result<PruneStats> p = Prune(*repo->repo, po);
      if (!p.ok()) {
        error = "prune: " + p.status().message();
      } else {
        summary += ", pruned " + std::to_string(p->delete_packs) + " packs (" +
                   Bytes(p->delete_bytes) + ")";
      }
    }
    SiteOutcome o;
    o.site = ref.name;
    o.what = "retention";
    o.result = error.empty() ? RunResult::kOk : RunResult::kFailed;
    o.error = st.Redact(error);
    st.Line("  " + svc.name + " at " + ref.name + ": retention " + summary);
    Add(st, r, std::move(o));
  }
}

std::string FailureText(const ServiceReport& r) {
  std::string text;
  for (const SiteOutcome& o : r.outcomes) {
    if (o.result != RunResult::kFailed && o.result != RunResult::kIncomplete) continue;
    text += (text.empty() ? "" : "\n") + (o.source.empty() ? o.what : "source " + o.source) +
            " at " + o.site + ": " + o.error;
  }
  for (const std::string& h : r.hook_errors) text += (text.empty() ? "" : "\n") + h;
  return text;
}

std::string AbsolutePlanPath(const RunState& st) {
  std::string p = st.options().plan_path.empty() ? st.plan().file : st.options().plan_path;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(p, ec);
  return ec ? p : abs.lexically_normal().string();
}

// One "skipped" outcome per site of the service, each with `error`.
void AddSkippedOutcomes(const plan::Service& svc, const std::string& error, ServiceReport* r) {
  for (const plan::NameRef& s : svc.sites) {
    SiteOutcome o;
    o.site = s.name;
    o.what = "skipped";
    o.result = RunResult::kSkipped;
    o.error = error;
    r->outcomes.push_back(std::move(o));
  }
}

}  // namespace

bool IsDue(RunState& st, const plan::Service& svc, ServiceReport* r) {
  const std::string& first = svc.sites.front().name;
  SiteHandle& h = st.Site(first);
  int64_t last = 0;
  if (!h.status.ok()) {
    r->note = "first site " + first + " cannot be read (" + st.Redact(h.status.message()) +
              "): taken as due";
    return true;
  }
  RunRecordFilter filter;
  filter.services = {svc.name};
  StatusCache* cache = st.cache();
  Result<RunRecordListing> listing = cache != nullptr
                                         ? ListRunRecordsCached(*h.repo, *cache, filter, st.ctx())
                                         : ListRunRecords(*h.repo, filter, st.ctx());
  if (!listing.ok()) {
    r->note = "run records of " + first + " cannot be read (" +
              st.Redact(listing.status().message()) + "): taken as due";
    return true;
  }
  for (const RunRecord& rec : listing->records) {
    if (rec.result != RunResult::kSkipped) last = std::max(last, rec.start_ns);
  }
  r->last_start_ns = last;
  if (st.options().now || last == 0) return true;
  return ScheduleDue(st, svc.schedule, last, "schedule", &r->next_due_ns, &r->note);
}

bool ScheduleDue(const RunState& st, const plan::Schedule& schedule, int64_t last_start_ns,
                 const std::string& what, int64_t* next_due_ns, std::string* note) {
  Result<plan::CronSchedule> sched = plan::CronSchedule::Parse(schedule.cron, schedule.timezone);
  if (!sched.ok()) {
    *note = what + ": " + sched.status().message() + ": taken as due";
    return true;
  }
  auto next = sched->NextAfter(
      plan::CronSchedule::TimePoint(std::chrono::seconds(last_start_ns / kNsPerSecond)));
  if (!next) {
    *note = "the " + what + " does not fire again";
    return false;
  }
  *next_due_ns = static_cast<int64_t>(next->time_since_epoch().count()) * kNsPerSecond;
  return *next_due_ns <= st.WallNs();
}

void SkipService(RunState& st, const plan::Service& svc, const std::string& reason,
                 ServiceReport* r) {
  const std::string why = st.Redact(reason);  // a fence's error may name an endpoint
  r->state = ServiceState::kSkipped;
  r->note = why;
  r->start_ns = r->end_ns = st.WallNs();
  st.Line("service " + svc.name + ": SKIPPED: " + why);
  if (st.options().dry_run) return;
  AddSkippedOutcomes(svc, "not backed up: " + why, r);
}

void DescribeDryRun(RunState& st, const plan::Service& svc, ServiceReport* r) {
  r->state = ServiceState::kDryRun;
  st.Line("service " + svc.name + " (tier " + std::to_string(svc.tier) + "): would run" +
          (r->note.empty() ? "" : " (" + r->note + ")"));
  if (!r->read_from.empty()) st.Line("  would read its sources " + r->read_from);
  for (const plan::Source& src : svc.sources) {
    st.Line("  would back up source " + src.name + " (" +
            std::string(plan::SourceKindName(src.kind)) + ") to " +
            (svc.replication == plan::Replication::kSync ? SiteList(svc) + " (sync)"
                                                         : svc.sites.front().name +
                                                               (svc.sites.size() > 1
                                                                    ? ", then copy to the others (async)"
                                                                    : "")));
  }
  if (svc.retention) {
    for (const plan::NameRef& ref : svc.sites) {
      const plan::Site* site = st.plan().FindSite(ref.name);
      st.Line(site != nullptr && site->immutable
                  ? "  retention not run at " + ref.name + ": the site is immutable"
                  : "  would apply retention (forget + prune) at " + ref.name);
    }
  }
}

void RunService(RunState& st, const plan::Service& svc, ServiceReport* r) {
  r->start_ns = st.WallNs();
  Result<RunLock> lock = RunLock::TryAcquire(st.options().state_dir, AbsolutePlanPath(st), svc.name);
  if (!lock.ok()) {
    const std::string why = st.Redact(lock.status().message());
    if (lock.status().code() == StatusCode::kLocked) {
      r->state = ServiceState::kLocked;
      r->note = why;
      st.Line("service " + svc.name + ": skipped: " + why);
      AddSkippedOutcomes(svc, "another run holds the service: " + why, r);
    } else {
      r->state = ServiceState::kRan;
      st.Line("service " + svc.name + ": FAILED: run lock: " + why);
      for (const plan::NameRef& s : svc.sites) {
        r->outcomes.push_back(Failed(s.name, nullptr, "run lock", "run lock: " + why));
      }
    }
    r->end_ns = st.WallNs();
    return;
  }
  r->state = ServiceState::kRan;
  st.Line("service " + svc.name + " (tier " + std::to_string(svc.tier) +
          "): " + std::to_string(svc.sources.size()) + " source(s) to " + SiteList(svc) + " (" +
          std::string(plan::ReplicationName(svc.replication)) + ")" +
          (r->read_from.empty() ? "" : ", read " + r->read_from));
  Status before = RunHooks(st, svc, svc.hooks.before, "before", "");
  if (!before.ok()) {
    const std::string err = "not backed up: " + before.message();
    for (const plan::Source& src : svc.sources) {
      for (const plan::NameRef& s : svc.sites) Add(st, r, Failed(s.name, &src, "backup", err));
    }
  } else {
    if (svc.replication == plan::Replication::kSync) {
      BackupSync(st, svc, r);
    } else {
      BackupAsync(st, svc, r);
    }
    ApplyRetention(st, svc, r);
    if (!r->failed() && !st.ctx().cancelled()) {
      Status after = RunHooks(st, svc, svc.hooks.after, "after", "");
      if (!after.ok()) {
        r->hook_errors.push_back(after.message());
        for (const plan::NameRef& s : svc.sites) {
          Add(st, r, Failed(s.name, nullptr, "hook after", after.message()));
        }
      }
    }
  }
  if (r->failed() && !svc.hooks.on_error.empty()) {
    Status on_error = RunHooks(st, svc, svc.hooks.on_error, "on_error", FailureText(*r));
    if (!on_error.ok()) {
      r->hook_errors.push_back(on_error.message());
      st.Line("  " + svc.name + ": " + on_error.message());
    }
  }
  r->end_ns = st.WallNs();
}

}  // namespace lifeboat::dr::internal
