// One service of a recovery (doc/drills.md, "What a drill does"): its snapshots chosen and
// restored into its restore directory, its recover steps, its checks, each timed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "notify/event.h"
#include "plan/duration.h"
#include "recover/checks.h"
#include "recover/detached_process.h"
#include "recover/session.h"
#include "restorer/restorer.h"
#include "util/file_io.h"
#include "util/units.h"

namespace lifeboat::recover::internal {

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

std::string EnvName(std::string_view name) { return EnvironmentName(name); }

void SetEnv(Env* env, const std::string& name, const std::string& value) {
  for (auto& e : *env) {
    if (e.first == name) {
      e.second = value;
      return;
    }
  }
  env->emplace_back(name, value);
}

// The chosen snapshot of one source.
struct Chosen {
  const plan::Source* source = nullptr;
  Id id;
  const Snapshot* snapshot = nullptr;
};

// The scratch cluster a postgres_restore step made, for the sql checks and the environment.
struct ClusterInfo {
  std::string source;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string user, password, database;
};

// StepRecord::label of a source's restore, a recover step and a check: what the plan declares,
// without what changes from one recovery to the next (snapshot ids, the ports of a drill).
std::string RestoreLabel(const plan::Source& src) {
  return "restore source " + src.name + " (" + std::string(plan::SourceKindName(src.kind)) + ")";
}

std::string RecoverStepLabel(const plan::RecoverStep& step) {
  if (step.kind == plan::RecoverStep::Kind::kPostgresRestore) {
    return "postgres_restore" + (step.postgres_source.empty() ? "" : " " + step.postgres_source);
  }
  return "command '" + step.command.Display() + "'" + (step.background ? " (background)" : "");
}

std::string CheckLabel(const plan::VerifyCheck& check) {
  const std::string port =
      check.port.name.empty() ? std::to_string(check.port.number) : check.port.name;
  switch (check.kind) {
    case plan::VerifyCheck::Kind::kTcp:
      return "tcp " + check.host + " port " + port;
    case plan::VerifyCheck::Kind::kHttp:
      return "http GET " + check.path + " on " + check.host + " port " + port;
    case plan::VerifyCheck::Kind::kCommand:
      return "command '" + check.run.Display() + "'";
    case plan::VerifyCheck::Kind::kSql:
      return "sql '" + check.query + "'" +
             (check.postgres_source.empty() ? "" : " on source " + check.postgres_source);
    case plan::VerifyCheck::Kind::kFiles:
      return "files";
  }
  return "check";
}

// One service's recovery in progress: the record being filled and what its steps share.
class ServiceRun {
 public:
  ServiceRun(Session& session, const WaveService& ws,
             const std::map<std::string, RecoveredEndpoints>& deps)
      : s_(session), ws_(ws), svc_(session.plan().services[ws.plan_index]), deps_(deps) {}

  ServiceRecovery Run(RecoveredEndpoints* endpoints);

 private:
  const Context& ctx() const { return s_.ctx(); }
  int64_t Wall() const { return ctx().clock().WallNs(); }
  int64_t Mono() const { return ctx().clock().MonotonicNs(); }

  // Starts a timeline entry.
  // Starts a timeline entry; `label` is the step as the plan declares it (empty: `name`).
  StepRecord& Begin(const std::string& phase, const std::string& kind, const std::string& name,
                    const plan::Position& position, const std::string& label = "");
  // Ends the last entry; prints its line. Returns ok.
  bool End(StepState state, const std::string& error, const std::string& output,
           const std::string& detail = "");
  void Fail(const StepRecord& step);
  // Notes an external program the service's recovery runs (ServiceRecovery::tools), once.
  void UseTool(const std::string& name, const std::string& path);
  // Entries for the steps and checks after a failure, not run.
  void NotRun(size_t first_recover, size_t first_check, const std::string& why);

  bool ChooseSnapshots(const std::vector<std::pair<Id, Snapshot>>& snapshots);
  Result<RestoreResult> RestoreSnapshot(Repository& repo, const Snapshot& snap, bool verify);
  bool RestoreSources(Repository& repo, bool verify);
  Status AllocatePorts();
  Env BaseEnvironment() const;
  bool RunPostgresRestore(const plan::RecoverStep& step);
  bool RunCommandStep(const plan::RecoverStep& step, size_t index);
  // Failover: a background step started detached and left running (detached_process.h).
  bool RunDetachedStep(const plan::RecoverStep& step, size_t index, const std::string& name,
                       const SubprocessOptions& o);
  bool RunCheck(const plan::VerifyCheck& check);
  int CheckPort(const plan::PortRef& port) const;
  SubprocessOptions StepProcess(const plan::Command& command, const std::string& description,
                                std::chrono::seconds timeout) const;

  Session& s_;
  const WaveService& ws_;
  const plan::Service& svc_;
  const std::map<std::string, RecoveredEndpoints>& deps_;
  ServiceRecovery r_;
  int64_t step_mono_ = 0;
  std::vector<Chosen> chosen_;
  std::map<std::string, int> ports_;  // declared name -> port
  std::vector<ClusterInfo> clusters_;
  Env env_;
  bool files_recorded_ = false;
};

StepRecord& ServiceRun::Begin(const std::string& phase, const std::string& kind,
                              const std::string& name, const plan::Position& position,
                              const std::string& label) {
  StepRecord rec;
  rec.phase = phase;
  rec.kind = kind;
  rec.name = name;
  rec.label = label.empty() ? name : label;
  rec.position = position;
  rec.start_ns = Wall();
  step_mono_ = Mono();
  r_.steps.push_back(std::move(rec));
  return r_.steps.back();
}

bool ServiceRun::End(StepState state, const std::string& error, const std::string& output,
                     const std::string& detail) {
  StepRecord& rec = r_.steps.back();
  rec.state = state;
  rec.end_ns = Wall();
  rec.seconds = static_cast<double>(Mono() - step_mono_) / 1e9;
  rec.error = error;
  rec.output = TrimOutput(output);
  std::string line =
      svc_.name + ": " + rec.name + ": " + (state == StepState::kOk ? "ok" : "FAILED") +
      (detail.empty() ? "" : ", " + detail) + " (" + FormatSeconds(rec.seconds) + ")";
  if (state != StepState::kOk) line += ": " + error;
  s_.Line(line);
  if (state == StepState::kFailed) Fail(rec);
  return state == StepState::kOk;
}

void ServiceRun::UseTool(const std::string& name, const std::string& path) {
  for (const ToolUsed& t : r_.tools) {
    if (t.path == path) return;
  }
  r_.tools.push_back({name, path, ""});
}

void ServiceRun::Fail(const StepRecord& step) {
  if (r_.state == ServiceState::kFailed) return;
  r_.state = ServiceState::kFailed;
  r_.failure = step.name + ": " + step.error;
  r_.failure_output = step.output;
}

void ServiceRun::NotRun(size_t first_recover, size_t first_check, const std::string& why) {
  auto add = [&](const std::string& phase, const std::string& kind, const std::string& name,
                 const plan::Position& pos, const std::string& label) {
    StepRecord rec;
    rec.phase = phase;
    rec.kind = kind;
    rec.name = name;
    rec.label = label;
    rec.position = pos;
    rec.state = StepState::kNotRun;
    rec.error = why;
    r_.steps.push_back(std::move(rec));
  };
  for (size_t i = first_recover; i < svc_.recover.size(); ++i) {
    const plan::RecoverStep& st = svc_.recover[i];
    if (st.kind == plan::RecoverStep::Kind::kPostgresRestore) {
      add("recover", "postgres_restore", "postgres_restore", st.position, RecoverStepLabel(st));
    } else {
      add("recover", "command", "command '" + st.command.Display() + "'", st.position,
          RecoverStepLabel(st));
    }
  }
  for (size_t i = first_check; i < svc_.verify.size(); ++i) {
    const plan::VerifyCheck& c = svc_.verify[i];
    if (c.kind == plan::VerifyCheck::Kind::kFiles && files_recorded_) continue;
    add("verify", std::string(plan::VerifyKindName(c.kind)),
        std::string(plan::VerifyKindName(c.kind)) + " check", c.position, CheckLabel(c));
  }
}

bool ServiceRun::ChooseSnapshots(const std::vector<std::pair<Id, Snapshot>>& snapshots) {
  for (const plan::Source& src : svc_.sources) {
    Chosen c;
    c.source = &src;
    if (const auto* e = ChooseSnapshot(s_, snapshots, r_.site, svc_, src)) {
      c = Chosen{&src, e->first, &e->second};
    }
    if (c.snapshot == nullptr) {
      Begin("restore", "restore", RestoreLabel(src), src.position);
      std::string why = "no complete snapshot of source " + src.name + " of service " + svc_.name +
                        " at site " + r_.site;
      if (s_.at_time_ns) why += " taken at or before " + notify::FormatRfc3339Utc(*s_.at_time_ns);
      End(StepState::kFailed, why + " (lifeboat snapshots --service " + svc_.name + " lists them)",
          "");
      return false;
    }
    chosen_.push_back(c);
  }
  int64_t oldest = 0;
  for (const Chosen& c : chosen_) {
    if (oldest == 0 || c.snapshot->time_ns < oldest) oldest = c.snapshot->time_ns;
  }
  if (!chosen_.empty()) {
    r_.rpo_seconds = static_cast<double>(std::max<int64_t>(0, s_.start_wall_ns() - oldest)) / 1e9;
  }
  return true;
}

namespace {

// `path` as a restore pattern that matches it alone (path_filter.h: glob characters escaped).
std::string LiteralPattern(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

// A drill restores the snapshot's whole tree into its sandbox. A failover restores each of the
// snapshot's paths below the recovery root on its own (subtree: the path's parent, which becomes
// the target, included: the path itself), so that the directories above the paths (/home, /srv,
// the root itself), which exist there already and belong to others, keep their owners, modes and
// times: the restorer never changes a target's own metadata. Their results are summed.
Result<RestoreResult> ServiceRun::RestoreSnapshot(Repository& repo, const Snapshot& snap,
                                                  bool verify) {
  RestoreOptions o;
  o.target = r_.restore_dir;
  o.verify = verify;
  o.context = ctx();
  // A snapshot that names no paths (none of ours; a foreign or hand-made one) is restored whole.
  if (!s_.failover() || snap.paths.empty()) return RestoreTree(repo, snap.tree, o);
  const std::string root = r_.restore_dir == "/" ? "" : r_.restore_dir;
  RestoreResult sum;
  for (const std::string& path : snap.paths) {
    RestoreOptions one = o;
    if (path.empty() || path == "/") {
      one.target = root.empty() ? "/" : root;
    } else {
      const std::string parent = std::filesystem::path(path).parent_path().string();
      one.subtree = parent;
      one.target = root + parent;
      one.includes = {LiteralPattern(path)};
    }
    LB_ASSIGN_OR_RETURN(RestoreResult r, RestoreTree(repo, snap.tree, one));
    sum.files += r.files;
    sum.dirs += r.dirs;
    sum.other += r.other;
    sum.bytes += r.bytes;
    sum.hardlinks += r.hardlinks;
    sum.skipped += r.skipped;
    sum.verified_files += r.verified_files;
    sum.setid_dropped += r.setid_dropped;
    sum.errors.insert(sum.errors.end(), r.errors.begin(), r.errors.end());
    sum.warnings.insert(sum.warnings.end(), r.warnings.begin(), r.warnings.end());
    for (const PhaseTime& p : r.phases) {
      auto it = std::find_if(sum.phases.begin(), sum.phases.end(),
                             [&](const PhaseTime& q) { return q.phase == p.phase; });
      if (it == sum.phases.end()) {
        sum.phases.push_back(p);
      } else {
        it->seconds += p.seconds;
      }
    }
  }
  return sum;
}

bool ServiceRun::RestoreSources(Repository& repo, bool verify) {
  uint64_t verified = 0, examined = 0;
  double verify_seconds = 0;
  int64_t first_start = 0, last_end = 0;
  for (const Chosen& c : chosen_) {
    const Snapshot& snap = *c.snapshot;
    RestoredSource rs;
    rs.name = c.source->name;
    rs.kind = std::string(plan::SourceKindName(c.source->kind));
    rs.snapshot = c.id.Hex();
    rs.snapshot_time_ns = snap.time_ns;
    rs.method = snap.source ? snap.source->restore.method : "";
    rs.paths = snap.paths;
    StepRecord& step = Begin("restore", "restore",
                             "restore source " + rs.name + " (" + rs.kind + ") from snapshot " +
                                 c.id.Short() + " of " + notify::FormatRfc3339Utc(snap.time_ns),
                             c.source->position, RestoreLabel(*c.source));
    if (first_start == 0) first_start = step.start_ns;
    Result<RestoreResult> res = RestoreSnapshot(repo, snap, verify);
    if (!res.ok()) {
      End(StepState::kFailed, res.status().message(), "");
      return false;
    }
    r_.steps.back().phases = res->phases;
    rs.files = res->files;
    rs.bytes = res->bytes;
    rs.verified_files = res->verified_files;
    r_.files_restored += res->files;
    r_.bytes_restored += res->bytes;
    for (const PhaseTime& p : res->phases) {
      if (p.phase == "verify") verify_seconds += p.seconds;
    }
    verified += res->verified_files;
    examined += res->files;
    r_.sources.push_back(rs);
    const std::string detail = std::to_string(res->files) + " files, " + FormatBytes(res->bytes);
    if (!res->errors.empty()) {
      std::string listing;
      for (size_t i = 0; i < res->errors.size() && i < 20; ++i) {
        listing += res->errors[i].path + ": " + res->errors[i].message + "\n";
      }
      if (res->errors.size() > 20) {
        listing += "... and " + std::to_string(res->errors.size() - 20) + " more\n";
      }
      End(StepState::kFailed,
          std::to_string(res->errors.size()) + " of the snapshot's entries could not be restored " +
              "(first: " + res->errors[0].path + ": " + res->errors[0].message + ")",
          listing, detail);
      return false;
    }
    End(StepState::kOk, "", "", detail);
    last_end = r_.steps.back().end_ns;
  }
  if (verify) {
    // Done by the restore itself (restore --verify: every file read back after it was written);
    // shown at the restores' time, with the verify phases' duration.
    const plan::VerifyCheck* files = nullptr;
    for (const plan::VerifyCheck& c : svc_.verify) {
      if (c.kind == plan::VerifyCheck::Kind::kFiles) files = &c;
    }
    StepRecord rec;
    rec.phase = "verify";
    rec.kind = "files";
    rec.name = "files: every restored file read back and compared with its snapshot";
    rec.label = CheckLabel(*files);
    rec.position = files->position;
    rec.start_ns = first_start;
    rec.end_ns = last_end;
    rec.seconds = verify_seconds;
    rec.state = verified == examined ? StepState::kOk : StepState::kFailed;
    rec.output = std::to_string(verified) + " of " + std::to_string(examined) + " files verified";
    if (rec.state != StepState::kOk) rec.error = rec.output;
    r_.steps.push_back(rec);
    files_recorded_ = true;
    s_.Line(svc_.name + ": " + rec.name + ": " +
            (rec.state == StepState::kOk ? "ok, " : "FAILED, ") + rec.output + " (" +
            FormatSeconds(rec.seconds) + ")");
    if (rec.state != StepState::kOk) {
      Fail(r_.steps.back());
      return false;
    }
  }
  return true;
}

}  // namespace

const std::pair<Id, Snapshot>* ChooseSnapshot(const Session& session,
                                              const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                              const std::string& site, const plan::Service& svc,
                                              const plan::Source& src) {
  const bool pinned_here =
      session.pin && session.pin->site == site && session.pin->snapshot.service == svc.name &&
      session.pin->snapshot.source && session.pin->snapshot.source->name == src.name;
  const std::pair<Id, Snapshot>* chosen = nullptr;
  for (const auto& entry : snapshots) {
    const Snapshot& snap = entry.second;
    if (pinned_here) {
      if (entry.first == session.pin->id) chosen = &entry;
      continue;
    }
    if (snap.service != svc.name || !snap.source || snap.source->name != src.name ||
        snap.incomplete) {
      continue;
    }
    if (session.at_time_ns && snap.time_ns > *session.at_time_ns) continue;
    if (chosen == nullptr || snap.time_ns >= chosen->second.time_ns) chosen = &entry;
  }
  return chosen;
}

namespace {

Status ServiceRun::AllocatePorts() {
  for (const plan::RecoverStep& st : svc_.recover) {
    for (const auto& p : st.ports) {
      if (ports_.count(p.first)) continue;
      if (s_.options().mode == RecoveryMode::kFailover) {
        ports_[p.first] = p.second;
      } else {
        LB_ASSIGN_OR_RETURN(ports_[p.first], s_.FreePort());
      }
      r_.ports.emplace_back(p.first, ports_[p.first]);
    }
  }
  return Status::Ok();
}

Env ServiceRun::BaseEnvironment() const {
  Env env;
  for (const std::string& var : s_.secret_variables()) env.emplace_back(var, "");
  env.emplace_back("LIFEBOAT_RECOVERY", std::string(RecoveryModeName(s_.options().mode)));
  env.emplace_back("LIFEBOAT_SERVICE", svc_.name);
  env.emplace_back("LIFEBOAT_RESTORE_DIR", r_.restore_dir);
  std::string ids;
  for (const Chosen& c : chosen_) {
    ids += (ids.empty() ? "" : " ") + c.id.Hex();
    env.emplace_back("LIFEBOAT_SNAPSHOT_" + EnvName(c.source->name), c.id.Hex());
  }
  env.emplace_back("LIFEBOAT_SNAPSHOT", ids);
  for (const auto& p : r_.ports) {
    env.emplace_back("LIFEBOAT_PORT_" + EnvName(p.first), std::to_string(p.second));
  }
  bool dep_cluster = false;
  for (const std::string& dep : ws_.depends_on) {
    auto it = deps_.find(dep);
    if (it == deps_.end()) continue;
    const std::string d = EnvName(dep);
    env.emplace_back("LIFEBOAT_RESTORE_DIR_" + d, it->second.restore_dir);
    for (const auto& p : it->second.ports) {
      env.emplace_back("LIFEBOAT_PORT_" + d + "_" + EnvName(p.first), std::to_string(p.second));
    }
    if (!it->second.pg_ports.empty()) {
      dep_cluster = true;
      env.emplace_back("LIFEBOAT_PG_HOST_" + d, it->second.pg_host);
      env.emplace_back("LIFEBOAT_PG_PORT_" + d, std::to_string(it->second.pg_ports[0].second));
      env.emplace_back("LIFEBOAT_PG_USER_" + d, "lifeboat");
    }
  }
  if (dep_cluster) env.emplace_back("PGPASSFILE", s_.WorkDir() + "/pgpass");
  return env;
}

SubprocessOptions ServiceRun::StepProcess(const plan::Command& command,
                                          const std::string& description,
                                          std::chrono::seconds timeout) const {
  SubprocessOptions o;
  o.argv = command.argv;
  o.description = description;
  o.timeout = timeout;
  o.cancel = ctx().cancel_flag();
  o.environment = env_;
  o.stderr_to_stdout = true;
  o.working_directory = r_.restore_dir;
  return o;
}

// The database a restored postgres source is reached at.
std::string DatabaseOf(const plan::Source& src, const Snapshot& snap) {
  if (src.postgres.all_databases()) return "postgres";
  if (!src.postgres.database.empty()) return src.postgres.database;
  if (snap.source && !snap.source->restore.files.empty()) {
    std::string f = std::filesystem::path(snap.source->restore.files[0]).filename().string();
    if (f.ends_with(".pgdump")) return f.substr(0, f.size() - 7);
  }
  return "postgres";
}

bool ServiceRun::RunPostgresRestore(const plan::RecoverStep& step) {
  const Chosen* chosen = nullptr;
  for (const Chosen& c : chosen_) {
    if (c.source->kind != plan::SourceKind::kPostgres) continue;
    if (step.postgres_source.empty() || c.source->name == step.postgres_source) {
      chosen = &c;
      break;
    }
  }
  const std::string source = chosen != nullptr ? chosen->source->name : step.postgres_source;
  Begin("recover", "postgres_restore", "postgres_restore " + source, step.position,
        RecoverStepLabel(step));
  if (chosen == nullptr) {
    return End(StepState::kFailed, "the service has no postgres source " + source, "");
  }
  const SourceRestore restore =
      chosen->snapshot->source ? chosen->snapshot->source->restore : SourceRestore();
  if (restore.method != "pg_restore" && restore.method != "psql") {
    return End(StepState::kFailed,
               "snapshot " + chosen->id.Short() + " of source " + source +
                   " holds no PostgreSQL "
                   "dump (its restore method is \"" +
                   restore.method + "\")",
               "");
  }
  const Context step_ctx = ctx().WithTimeout(step.timeout);
  const int64_t num = restore.server_version_num;
  const int major = num >= 100000 ? static_cast<int>(num / 10000) : num > 0 ? 9 : 0;
  Result<std::string> bin = FindPostgresBinDir(major, s_.options().postgres_bin_dir);
  if (!bin.ok()) return End(StepState::kFailed, bin.status().message(), "");
  // A failover's cluster listens where the source's server did: its port, its host when that is
  // a numeric address (else 127.0.0.1).
  const plan::PostgresSource& pg_source = chosen->source->postgres;
  std::string host = "127.0.0.1";
  Result<int> port = s_.failover() ? Result<int>(pg_source.port) : s_.FreePort();
  if (s_.failover() && IsNumericAddress(pg_source.host)) host = pg_source.host;
  Result<std::string> password = NewClusterPassword();
  if (!port.ok() || !password.ok()) {
    return End(StepState::kFailed, (!port.ok() ? port.status() : password.status()).message(), "");
  }
  ScratchClusterOptions co;
  co.dir = s_.WorkDir() + "/postgres/" + svc_.name + "-" + source;
  co.listen_host = host;
  if (s_.failover()) co.detached_log = s_.LogPath(svc_.name + "-" + source + "-postgres");
  co.bin_dir = *bin;
  co.port = *port;
  co.password = *password;
  co.run_as = ::geteuid() == 0 ? s_.options().postgres_user : "";
  co.durable = s_.options().mode == RecoveryMode::kFailover;
  co.guard = s_.guard();
  co.context = step_ctx;
  if (Status st = CreateDirectories(s_.WorkDir() + "/postgres"); !st.ok()) {
    return End(StepState::kFailed, st.message(), "");
  }
  if (!co.run_as.empty()) ::chmod((s_.WorkDir() + "/postgres").c_str(), 0711);
  std::string output = std::string(s_.failover() ? "cluster: " : "scratch cluster: ") + *bin +
                       "/postgres on " + host + ":" + std::to_string(*port) +
                       (co.run_as.empty() ? "" : " as " + co.run_as) + "\n";
  std::string start_output;
  Result<std::unique_ptr<ScratchCluster>> cluster = ScratchCluster::Start(co, &start_output);
  output += start_output;
  if (!cluster.ok()) return End(StepState::kFailed, cluster.status().message(), output);
  ScratchCluster* c = cluster->get();
  const std::string superuser = c->superuser();
  if (std::optional<LeftRunning> lr = c->Release()) {
    lr->service = svc_.name;
    lr->what = "PostgreSQL cluster of source " + source + " (" + co.dir + "/data, " + host + ":" +
               std::to_string(*port) + ")";
    s_.KeepRunning(*lr);
    cluster->reset();  // runs on; the object no longer owns it
  } else {
    s_.Keep(svc_.name, "the scratch cluster of source " + source, std::move(*cluster));
  }
  Result<std::string> pgpass = s_.AddPgPass(host, *port, superuser, *password);
  if (!pgpass.ok()) return End(StepState::kFailed, pgpass.status().message(), output);

  const std::string file =
      r_.restore_dir + (restore.files.empty() ? std::string("/") : restore.files[0]);
  std::vector<std::string> argv = restore.command;
  if (argv.empty()) {
    argv =
        restore.method == "psql"
            ? std::vector<std::string>{"psql", "--no-psqlrc", "--dbname=postgres", "--file={file}"}
            : std::vector<std::string>{"pg_restore",      "--create",        "--no-owner",
                                       "--no-privileges", "--exit-on-error", "--dbname=postgres",
                                       "{file}"};
  }
  for (std::string& a : argv) {
    for (size_t pos; (pos = a.find("{file}")) != std::string::npos;) a.replace(pos, 6, file);
  }
  if (argv[0].find('/') == std::string::npos &&
      ::access((*bin + "/" + argv[0]).c_str(), X_OK) == 0) {
    argv[0] = *bin + "/" + argv[0];
  }
  UseTool("postgres", *bin + "/postgres");
  UseTool(std::filesystem::path(argv[0]).filename().string(), argv[0]);
  SubprocessOptions o;
  o.argv = argv;
  o.description = restore.method + " into the scratch cluster";
  o.cancel = ctx().cancel_flag();
  o.stderr_to_stdout = true;
  o.working_directory = r_.restore_dir;
  for (const std::string& var : s_.secret_variables()) o.environment.emplace_back(var, "");
  o.environment.emplace_back("PGHOST", host);
  o.environment.emplace_back("PGPORT", std::to_string(*port));
  o.environment.emplace_back("PGUSER", superuser);
  o.environment.emplace_back("PGPASSFILE", *pgpass);
  const int64_t left_ns = step_ctx.deadline_ns() - ctx().clock().MonotonicNs();
  if (left_ns <= 0) {
    return End(StepState::kFailed,
               "the step's timeout (" + plan::FormatPlanDuration(step.timeout) + ") passed",
               output);
  }
  o.timeout = std::chrono::milliseconds(std::max<int64_t>(1, left_ns / 1'000'000));
  output += "$ " + argv[0];
  for (size_t i = 1; i < argv.size(); ++i) output += " " + argv[i];
  output += "\n";
  ForegroundResult run = RunForeground(o, s_.guard());
  output += run.output;
  if (!run.status.ok()) return End(StepState::kFailed, run.status.message(), output);

  ClusterInfo info;
  info.source = source;
  info.port = *port;
  info.host = host;
  info.user = superuser;
  info.password = *password;
  info.database = DatabaseOf(*chosen->source, *chosen->snapshot);
  if (clusters_.empty()) {
    SetEnv(&env_, "LIFEBOAT_PG_HOST", info.host);
    SetEnv(&env_, "LIFEBOAT_PG_PORT", std::to_string(info.port));
    SetEnv(&env_, "LIFEBOAT_PG_USER", info.user);
    SetEnv(&env_, "PGHOST", info.host);
    SetEnv(&env_, "PGPORT", std::to_string(info.port));
    SetEnv(&env_, "PGUSER", info.user);
    SetEnv(&env_, "PGDATABASE", info.database);
  }
  SetEnv(&env_, "LIFEBOAT_PG_PORT_" + EnvName(source), std::to_string(info.port));
  SetEnv(&env_, "PGPASSFILE", *pgpass);
  clusters_.push_back(info);
  return End(StepState::kOk, "", output,
             "database " + info.database + " on " + info.host + ":" + std::to_string(info.port));
}

bool ServiceRun::RunCommandStep(const plan::RecoverStep& step, size_t index) {
  const std::string name =
      "command '" + step.command.Display() + "'" + (step.background ? " (background)" : "");
  Begin("recover", "command", name, step.position, RecoverStepLabel(step));
  const std::string description = "recover step " + std::to_string(index + 1) + " of " + svc_.name +
                                  " ('" + step.command.Display() + "')";
  if (!step.background) {
    ForegroundResult run =
        RunForeground(StepProcess(step.command, description, step.timeout), s_.guard());
    return End(run.status.ok() ? StepState::kOk : StepState::kFailed, run.status.message(),
               run.output);
  }
  SubprocessOptions o = StepProcess(step.command, description, std::chrono::seconds(0));
  o.cancel = nullptr;  // serves until the session ends; the session stops it
  if (s_.failover()) return RunDetachedStep(step, index, name, o);
  Result<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(o, s_.guard());
  if (!child.ok()) return End(StepState::kFailed, child.status().message(), "");
  ChildProcess* p = child->get();
  s_.Keep(svc_.name, name, std::move(*child));
  // Ready when every port it declares accepts connections on 127.0.0.1.
  const Context step_ctx = ctx().WithTimeout(step.timeout);
  std::string ports;
  for (const auto& decl : step.ports) {
    const int port = ports_[decl.first];
    ports += (ports.empty() ? "" : ", ") + decl.first + " " + std::to_string(port);
    Status ready = WaitForTcp("127.0.0.1", port, step_ctx, [p] { return p->running(); });
    if (!ready.ok()) {
      std::string why = ready.message();
      if (!p->running()) {
        Status how = p->Stop(Status::Ok());
        why = "it exited before port " + decl.first + " (" + std::to_string(port) +
              ") accepted connections" + (how.ok() ? "" : " (" + how.message() + ")");
      } else if (ready.code() == StatusCode::kDeadlineExceeded) {
        why = "port " + decl.first + " (" + std::to_string(port) +
              ") accepted no connection within the step's timeout (" +
              plan::FormatPlanDuration(step.timeout) + ")";
      }
      return End(StepState::kFailed, why, p->output());
    }
  }
  return End(StepState::kOk, "", p->output(), ports.empty() ? "started" : "serving on " + ports);
}

bool ServiceRun::RunDetachedStep(const plan::RecoverStep& step, size_t index,
                                 const std::string& name, const SubprocessOptions& o) {
  const std::string log = s_.LogPath(svc_.name + "-step" + std::to_string(index + 1));
  Result<LeftRunning> lr = StartDetached(o, svc_.name, name, log);
  if (!lr.ok()) return End(StepState::kFailed, lr.status().message(), "");
  s_.KeepRunning(*lr);
  const Context step_ctx = ctx().WithTimeout(step.timeout);
  std::string ports;
  for (const auto& decl : step.ports) {
    const int port = ports_[decl.first];
    ports += (ports.empty() ? "" : ", ") + decl.first + " " + std::to_string(port);
    const LeftRunning running = *lr;
    Status ready =
        WaitForTcp("127.0.0.1", port, step_ctx, [running] { return StillRunning(running); });
    if (!ready.ok()) {
      std::string why = ready.message();
      if (!StillRunning(*lr)) {
        why = "it exited before port " + decl.first + " (" + std::to_string(port) +
              ") accepted connections";
      } else if (ready.code() == StatusCode::kDeadlineExceeded) {
        why = "port " + decl.first + " (" + std::to_string(port) +
              ") accepted no connection within the step's timeout (" +
              plan::FormatPlanDuration(step.timeout) + ")";
      }
      return End(StepState::kFailed, why, "its log " + log + ":\n" + LogTail(log));
    }
  }
  return End(StepState::kOk, "", "",
             (ports.empty() ? "started" : "serving on " + ports) + ", pid " +
                 std::to_string(lr->pid) + ", log " + log);
}

int ServiceRun::CheckPort(const plan::PortRef& port) const {
  if (!port.name.empty()) {
    auto it = ports_.find(port.name);
    return it == ports_.end() ? 0 : it->second;
  }
  // A number the service declares for one of its ports means that port (a drill moves it).
  for (const plan::RecoverStep& st : svc_.recover) {
    for (const auto& p : st.ports) {
      if (p.second == port.number) return ports_.at(p.first);
    }
  }
  return port.number;
}

bool ServiceRun::RunCheck(const plan::VerifyCheck& check) {
  const Context check_ctx = ctx().WithTimeout(check.timeout);
  const std::string timeout = plan::FormatPlanDuration(check.timeout);
  switch (check.kind) {
    case plan::VerifyCheck::Kind::kTcp: {
      const int port = CheckPort(check.port);
      Begin("verify", "tcp",
            "tcp " + check.host + ":" + std::to_string(port) +
                (check.port.name.empty() ? "" : " (port " + check.port.name + ")"),
            check.position, CheckLabel(check));
      Status st = WaitForTcp(check.host, port, check_ctx, nullptr);
      if (st.code() == StatusCode::kDeadlineExceeded) {
        st = Status::Unavailable("no connection within " + timeout + ": " + st.message());
      }
      return End(st.ok() ? StepState::kOk : StepState::kFailed, st.message(), "");
    }
    case plan::VerifyCheck::Kind::kHttp: {
      const int port = CheckPort(check.port);
      const std::string url = "http://" + check.host + ":" + std::to_string(port) + check.path;
      Begin("verify", "http", "http GET " + url, check.position, CheckLabel(check));
      HttpCheckResult res = CheckHttp(url, check.expect_status, check.expect_body, check_ctx);
      return End(res.status.ok() ? StepState::kOk : StepState::kFailed, res.status.message(),
                 res.answer);
    }
    case plan::VerifyCheck::Kind::kCommand: {
      Begin("verify", "command", "command '" + check.run.Display() + "'", check.position,
            CheckLabel(check));
      ForegroundResult run = RunForeground(
          StepProcess(check.run, "check '" + check.run.Display() + "' of " + svc_.name,
                      check.timeout),
          s_.guard());
      if (run.status.ok() && check.expect_output &&
          run.output.find(*check.expect_output) == std::string::npos) {
        run.status = Status::FailedPrecondition("its output does not contain \"" +
                                                *check.expect_output + "\"");
      }
      return End(run.status.ok() ? StepState::kOk : StepState::kFailed, run.status.message(),
                 run.output);
    }
    case plan::VerifyCheck::Kind::kSql: {
      const ClusterInfo* cluster = nullptr;
      for (const ClusterInfo& c : clusters_) {
        if (check.postgres_source.empty() || c.source == check.postgres_source) {
          cluster = &c;
          break;
        }
      }
      Begin("verify", "sql",
            "sql '" + check.query + "'" +
                (cluster != nullptr ? " on database " + cluster->database : std::string()),
            check.position, CheckLabel(check));
      if (cluster == nullptr) {
        return End(StepState::kFailed,
                   "no scratch cluster to query: the service's recover steps have no "
                   "postgres_restore" +
                       (check.postgres_source.empty() ? std::string()
                                                      : " for source " + check.postgres_source),
                   "");
      }
      SqlTarget t{cluster->host, cluster->port, cluster->user, cluster->password,
                  cluster->database};
      SqlCheckResult res = CheckSql(t, check.query, check.expect, check_ctx);
      return End(res.status.ok() ? StepState::kOk : StepState::kFailed, res.status.message(),
                 res.value, res.status.ok() ? "\"" + res.value + "\"" : "");
    }
    case plan::VerifyCheck::Kind::kFiles:
      return true;  // done with the restore (RestoreSources)
  }
  return true;
}

ServiceRecovery ServiceRun::Run(RecoveredEndpoints* endpoints) {
  r_.service = svc_.name;
  r_.tier = ws_.tier;
  r_.priority_tier = ws_.priority_tier;
  r_.selected = ws_.selected;
  r_.depends_on = ws_.depends_on;
  r_.rto_target = svc_.rto;
  r_.rpo_target = svc_.rpo;
  r_.start_ns = Wall();
  r_.state = ServiceState::kPassed;
  const std::string& wanted = s_.options().site;
  r_.site = wanted.empty() ? svc_.sites.front().name : wanted;
  auto finish = [&]() -> ServiceRecovery {
    r_.end_ns = Wall();
    if (r_.state == ServiceState::kFailed && ctx().cancelled()) r_.state = ServiceState::kCancelled;
    return std::move(r_);
  };
  auto fail_early = [&](const std::string& phase, const std::string& what, const std::string& why) {
    Begin(phase, what == "open site " + r_.site ? "restore" : "prepare", what, svc_.position);
    End(StepState::kFailed, why, "");
    NotRun(0, 0, "not run: " + why);
  };
  const bool listed = std::any_of(svc_.sites.begin(), svc_.sites.end(),
                                  [&](const plan::NameRef& n) { return n.name == r_.site; });
  if (!listed) {
    std::string sites;
    for (const plan::NameRef& n : svc_.sites) sites += (sites.empty() ? "" : ", ") + n.name;
    fail_early("restore", "open site " + r_.site,
               "service " + svc_.name + " is not backed up to site " + r_.site +
                   " (its sites: " + sites + ")");
    return finish();
  }
  OpenedSite& site = s_.Site(r_.site);
  if (!site.status.ok()) {
    fail_early("restore", "open site " + r_.site, site.status.message());
    return finish();
  }
  r_.restore_dir = s_.RestoreDir(svc_.name);
  if (Status st = CreateDirectories(r_.restore_dir); !st.ok()) {
    fail_early("restore", "make the restore directory", st.message());
    return finish();
  }
  const bool verify_files = std::any_of(
      svc_.verify.begin(), svc_.verify.end(),
      [](const plan::VerifyCheck& c) { return c.kind == plan::VerifyCheck::Kind::kFiles; });
  bool restored;
  if (s_.failover()) {
    // One restore at a time below the shared recovery root; what other sites served meanwhile
    // is this service's.
    s_.BeginRestore(svc_.name);
    restored = ChooseSnapshots(site.snapshots) && RestoreSources(*site.repo.repo, verify_files);
    s_.EndRestore();
    r_.fallback_reads = s_.FallbackReads(svc_.name);
  } else {
    restored = ChooseSnapshots(site.snapshots) && RestoreSources(*site.repo.repo, verify_files);
  }
  if (!restored) {
    NotRun(0, 0, "not run: " + r_.failure);
    return finish();
  }
  if (Status st = AllocatePorts(); !st.ok()) {
    fail_early("recover", "allocate ports", st.message());
    return finish();
  }
  env_ = BaseEnvironment();
  for (size_t i = 0; i < svc_.recover.size(); ++i) {
    const plan::RecoverStep& step = svc_.recover[i];
    const bool ok = step.kind == plan::RecoverStep::Kind::kPostgresRestore
                        ? RunPostgresRestore(step)
                        : RunCommandStep(step, i);
    if (!ok) {
      NotRun(i + 1, 0, "not run: " + r_.failure);
      return finish();
    }
  }
  for (size_t i = 0; i < svc_.verify.size(); ++i) {
    if (!RunCheck(svc_.verify[i])) {
      NotRun(svc_.recover.size(), i + 1, "not run: " + r_.failure);
      return finish();
    }
  }
  if (ctx().cancelled()) {
    r_.state = ServiceState::kCancelled;
    r_.failure = "interrupted";
    return finish();
  }
  if (s_.options().after_verify) {
    std::vector<StepRecord> more;
    Status st = s_.options().after_verify(r_, &more);
    for (StepRecord& step : more) r_.steps.push_back(std::move(step));
    if (!st.ok()) {
      r_.state = ServiceState::kFailed;
      r_.failure = st.message();
      for (const StepRecord& step : r_.steps) {
        if (step.state == StepState::kFailed && step.phase == "switch") {
          r_.failure_output = step.output;
        }
      }
      return finish();
    }
  }
  r_.rto_seconds = static_cast<double>(Mono() - s_.start_mono_ns()) / 1e9;
  if (svc_.verify.empty()) {
    r_.notes.push_back(
        "the service has no verify checks: it was restored and its recover "
        "steps ran, but nothing proved that it works");
  }
  endpoints->restore_dir = r_.restore_dir;
  endpoints->ports = r_.ports;
  for (const ClusterInfo& c : clusters_) endpoints->pg_ports.emplace_back(c.source, c.port);
  if (!clusters_.empty()) endpoints->pg_host = clusters_.front().host;
  return finish();
}

}  // namespace

ServiceRecovery RecoverOneService(Session& session, const WaveService& ws,
                                  const std::map<std::string, RecoveredEndpoints>& deps,
                                  RecoveredEndpoints* endpoints) {
  ServiceRun run(session, ws, deps);
  return run.Run(endpoints);
}

}  // namespace lifeboat::recover::internal
