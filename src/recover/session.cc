#include "recover/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "dr/sites.h"
#include "engine/multi_site.h"
#include "util/file_io.h"

namespace lifeboat::recover::internal {

Session::Session(const plan::Plan& plan, const RecoverOptions& options)
    : plan_(plan), options_(options), secret_variables_(dr::PlanSecretVariables(plan)) {}

Session::~Session() {
  StopAll(nullptr);
  guard_.reset();
  CloseSandbox(options_.keep).IgnoreError();
}

void Session::OpenForChecks() {
  if (failover()) {
    std::string root = options_.recovery_root;
    if (root.empty()) {
      const plan::Site* site = plan_.FindSite(options_.site);
      root = site != nullptr ? site->recovery_root : "/";
    }
    root = std::filesystem::path(root).lexically_normal().string();
    while (!root.empty() && root.back() == '/') root.pop_back();
    recovery_root_ = root;
  }
  start_wall_ns_ = options_.context.clock().WallNs();
  start_mono_ns_ = options_.context.clock().MonotonicNs();
}

std::string Session::WorkDir() const {
  return failover() ? recovery_root_ + "/var/lib/lifeboat" : sandbox_path_;
}

std::string Session::RestoreDir(const std::string& service) const {
  if (!failover()) return sandbox_path_ + "/services/" + service;
  return recovery_root_.empty() ? "/" : recovery_root_;
}

std::string Session::LogDir() const {
  return options_.log_dir.empty() ? recovery_root_ + "/var/log/lifeboat" : options_.log_dir;
}

std::string Session::LogPath(const std::string& name) const {
  return LogDir() + "/" + name + ".log";
}

void Session::BeginRestore(const std::string& service) {
  restore_mu_.Lock();
  MutexLock lock(&mu_);
  restoring_ = service;
}

void Session::EndRestore() {
  {
    MutexLock lock(&mu_);
    restoring_.clear();
  }
  restore_mu_.Unlock();
}

std::vector<std::string> Session::FallbackReads(const std::string& service) {
  MutexLock lock(&mu_);
  auto it = fallback_reads_.find(service);
  return it == fallback_reads_.end() ? std::vector<std::string>() : it->second;
}

Status Session::Open(RecoveryReport* report) {
  // The guard first: nothing is started before a kill -9 of this process would stop it.
  LB_ASSIGN_OR_RETURN(guard_, ProcessGuard::Start());
  if (failover()) {
    if (options_.site.empty()) {
      return Status::InvalidArgument("a failover recovery needs the recovery site");
    }
    OpenForChecks();
    // Directories made here get the usual modes (0755), so that a cluster's own user can pass
    // through to its directory; existing ones are left as they are.
    // Below `/` as a user other than root, the clusters' directory is made when a cluster is
    // (service.cc): a plan without postgres sources needs nothing of /var/lib.
    const bool system_root = recovery_root_.empty() || recovery_root_ == "/";
    std::vector<std::string> dirs = {LogDir()};
    if (!system_root || ::geteuid() == 0) dirs.push_back(WorkDir() + "/postgres");
    for (const std::string& dir : dirs) {
      std::vector<std::string> missing;
      for (std::filesystem::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
        if (std::filesystem::exists(p)) break;
        missing.push_back(p.string());
      }
      LB_RETURN_IF_ERROR(CreateDirectories(dir));
      for (const std::string& m : missing) ::chmod(m.c_str(), 0755);
    }
    // A cluster's own user (PostgreSQL refuses root) passes through to its directory.
    if (::geteuid() == 0) {
      ::chmod(WorkDir().c_str(), 0711);
      ::chmod((WorkDir() + "/postgres").c_str(), 0711);
    }
    // Joining the services that run here already: their clusters' lines stay in the password
    // file that their dependents' steps get (AddPgPass rewrites it whole).
    if (!options_.already_up.empty()) {
      Result<Bytes> pgpass = ReadWholeFile(WorkDir() + "/pgpass");
      if (pgpass.ok()) {
        MutexLock lock(&mu_);
        pgpass_.assign(pgpass->begin(), pgpass->end());
      }
    }
    report->recovery_root = recovery_root_.empty() ? "/" : recovery_root_;
    return Status::Ok();
  }
  // Absolute: steps run in their restore directory and get its path.
  std::error_code ec;
  std::string base =
      std::filesystem::absolute(
          options_.sandbox_base.empty() ? DefaultSandboxBase() : options_.sandbox_base, ec)
          .lexically_normal()
          .string();
  if (ec) return Status::InvalidArgument("sandbox directory: " + ec.message());
  if (base.size() > 1 && base.back() == '/') base.pop_back();
  for (const StaleSandbox& s : CleanStaleSandboxes(base)) {
    std::string line = "removed the sandbox " + s.path + " of an earlier session that did not end";
    if (s.owner_pid != 0)
      line += " (pid " + std::to_string(s.owner_pid) + ", started " + s.owner_started + ")";
    if (s.processes_stopped > 0) {
      line += "; stopped " + std::to_string(s.processes_stopped) + " process" +
              (s.processes_stopped == 1 ? "" : "es") + " still running in it";
    }
    if (!s.removed.ok()) {
      line = "could not remove the stale sandbox " + s.path + ": " + s.removed.message();
      report->warnings.push_back(line);
    } else {
      report->stale_sandboxes.push_back(line);
    }
    Line(line);
  }
  LB_ASSIGN_OR_RETURN(sandbox_, Sandbox::Create(base, std::string(RecoveryModeName(options_.mode)),
                                                options_.context.clock()));
  sandbox_path_ = sandbox_->path();
  // The recovery starts now: cleaning up after earlier drills is not part of it.
  start_wall_ns_ = options_.context.clock().WallNs();
  start_mono_ns_ = options_.context.clock().MonotonicNs();
  return Status::Ok();
}

OpenedSite& Session::Site(const std::string& name) {
  MutexLock open_lock(&site_open_mu_);
  {
    MutexLock lock(&mu_);
    auto it = sites_.find(name);
    if (it != sites_.end()) return *it->second;
  }
  auto s = std::make_unique<OpenedSite>();
  const plan::Site* site = plan_.FindSite(name);
  if (site == nullptr) {
    s->status = Status::InvalidArgument("no site named " + name + " in the plan");
  } else {
    Result<OpenOptions> o = dr::SiteOpenOptions(*site, ctx());
    if (o.ok()) {
      o->lock = LockKind::kShared;
      o->load_index = true;
      o->lock_wait.wait = std::chrono::minutes(1);
      if (options_.key_of) o->reuse_key_of = options_.key_of(name);
      if (options_.decorate_backend) {
        auto decorate = options_.decorate_backend;
        o->decorate_backend = [decorate, name](std::unique_ptr<Backend> b) {
          return decorate(name, std::move(b));
        };
      }
      Result<OpenedRepository> repo = OpenRepository(*o);
      if (repo.ok()) {
        s->repo = std::move(*repo);
        std::vector<DamagedSnapshot> damaged;
        Result<std::vector<std::pair<Id, Snapshot>>> list = s->repo.repo->ListSnapshots(&damaged);
        if (list.ok()) {
          if (failover()) OpenFallbacks(name, s.get());
          s->snapshots = std::move(*list);
          for (const DamagedSnapshot& d : damaged) {
            Line("site " + name + ": " + DescribeDamagedSnapshot(d));
          }
        } else {
          s->status = list.status();
        }
      } else {
        s->status = repo.status();
      }
    } else {
      s->status = o.status();
    }
    if (!s->status.ok()) {
      s->status = s->status.WithContext("site " + name + " (" + site->repository + ")");
    }
  }
  MutexLock lock(&mu_);
  OpenedSite& ref = *s;
  sites_[name] = std::move(s);
  return ref;
}

void Session::OpenFallbacks(const std::string& name, OpenedSite* s) {
  // Every other site that a service listing this one also lists, in the plan's order.
  std::vector<std::string> others;
  for (const plan::Service& svc : plan_.services) {
    const bool lists = std::any_of(svc.sites.begin(), svc.sites.end(),
                                   [&](const plan::NameRef& n) { return n.name == name; });
    if (!lists) continue;
    for (const plan::NameRef& n : svc.sites) {
      if (n.name != name && std::find(others.begin(), others.end(), n.name) == others.end()) {
        others.push_back(n.name);
      }
    }
  }
  s->site_of_location[s->repo.repo->backend().Location()] = name;
  std::vector<Repository*> replicas;
  for (const std::string& other : others) {
    const plan::Site* site = plan_.FindSite(other);
    if (site == nullptr) continue;
    if (auto gone = options_.unavailable_sites.find(other);
        gone != options_.unavailable_sites.end()) {
      Line("site " + other + " is not available to read from should a pack at site " + name +
           " be damaged or missing: " + gone->second);
      continue;
    }
    Result<ReplicaSite> replica = dr::SiteAsReplica(*site, ctx());
    Result<OpenedRepository> opened =
        replica.ok() ? OpenReplicaRepository(*replica, *s->repo.repo, LockKind::kShared,
                                             LockWaitOptions{}, ctx())
                     : Result<OpenedRepository>(replica.status());
    if (!opened.ok()) {
      Line("site " + other + " is not available to read from should a pack at site " + name +
           " be damaged or missing: " + opened.status().message());
      continue;
    }
    s->site_of_location[opened->repo->backend().Location()] = other;
    replicas.push_back(opened->repo.get());
    s->fallbacks.push_back(std::move(*opened));
  }
  if (replicas.empty()) return;
  const OpenedSite* site = s;
  s->repo.repo->SetFallbacks(replicas,
                             [this, site](const FallbackEvent& e) { OnFallback(e, site); });
}

void Session::OnFallback(const FallbackEvent& e, const OpenedSite* site) {
  auto name = [site](const std::string& location) {
    auto it = site->site_of_location.find(location);
    return it != site->site_of_location.end() ? "site " + it->second : location;
  };
  const std::string note =
      e.object + ": " +
      (e.damage.code() == StatusCode::kNotFound ? std::string("missing") : std::string("damaged")) +
      " at " + name(e.damaged_at) + " (" + e.damage.message() + "), read from " + name(e.served_by);
  std::string service;
  {
    MutexLock lock(&mu_);
    service = restoring_;
    fallback_reads_[service].push_back(note);
  }
  Line((service.empty() ? std::string() : service + ": ") + note);
}

Result<int> Session::FreePort() {
  for (int attempt = 0; attempt < 64; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return PosixError("finding a free port: socket");
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    Status st = port < 0 ? PosixError("finding a free port on 127.0.0.1") : Status::Ok();
    ::close(fd);
    LB_RETURN_IF_ERROR(st);
    MutexLock lock(&mu_);
    if (ports_.insert(port).second) return port;
  }
  return Status::Unavailable(
      "finding a free port on 127.0.0.1: the system kept handing out "
      "ports this session already uses");
}

void Session::Keep(const std::string& service, const std::string& what,
                   std::unique_ptr<ChildProcess> process) {
  MutexLock lock(&mu_);
  running_.push_back(Running{service, what, std::move(process), nullptr});
}

void Session::Keep(const std::string& service, const std::string& what,
                   std::unique_ptr<ScratchCluster> cluster) {
  MutexLock lock(&mu_);
  running_.push_back(Running{service, what, nullptr, std::move(cluster)});
}

void Session::KeepRunning(const LeftRunning& lr) {
  MutexLock lock(&mu_);
  left_running_.push_back(lr);
  if (options_.on_left_running) options_.on_left_running(lr);
}

std::vector<LeftRunning> Session::SettleLeftRunning(
    const std::set<std::string>& passed, std::vector<std::pair<std::string, std::string>>* notes) {
  std::vector<LeftRunning> all, keep, stop;
  {
    MutexLock lock(&mu_);
    all.swap(left_running_);
  }
  for (const LeftRunning& lr : all) (passed.count(lr.service) ? keep : stop).push_back(lr);
  for (const StopNote& n : StopLeftRunning(stop, std::chrono::seconds(10))) {
    notes->emplace_back(n.service, n.what + (n.was_running ? " was stopped" : " had exited") +
                                       " (the service did not pass)" +
                                       (n.status.ok() ? "" : ": " + n.status.message()));
  }
  for (const LeftRunning& lr : keep) {
    if (!StillRunning(lr)) {
      notes->emplace_back(
          lr.service, lr.what + " had exited before the session ended (its log: " + lr.log + ")");
    }
  }
  return keep;
}

Result<std::string> Session::AddPgPass(const std::string& host, int port, const std::string& user,
                                       const std::string& password) {
  MutexLock lock(&mu_);
  // The .pgpass format: host:port:database:user:password, ':' and '\' escaped.
  auto escape = [](const std::string& v) {
    std::string out;
    for (char c : v) {
      if (c == ':' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  pgpass_ += escape(host) + ":" + std::to_string(port) + ":*:" + escape(user) + ":" +
             escape(password) + "\n";
  const std::string path = WorkDir() + "/pgpass";
  LB_RETURN_IF_ERROR(WriteFileDurably(
      path, ByteView(reinterpret_cast<const uint8_t*>(pgpass_.data()), pgpass_.size()), true));
  return path;
}

void Session::StopAll(std::vector<std::pair<std::string, std::string>>* notes) {
  std::vector<Running> running;
  {
    MutexLock lock(&mu_);
    running.swap(running_);
  }
  for (auto it = running.rbegin(); it != running.rend(); ++it) {
    if (it->process) {
      const bool exited = !it->process->running();
      Status how = it->process->Stop(Status::Cancelled("stopped at the end of the session"));
      if (exited && notes != nullptr) {
        notes->emplace_back(it->service,
                            it->what + " had exited before the session ended (" +
                                (how.ok() ? std::string("exit status 0") : how.message()) + ")");
      }
      it->process.reset();
    }
    if (it->cluster) {
      if (!it->cluster->running() && notes != nullptr) {
        notes->emplace_back(it->service, it->what + " had exited before the session ended");
      }
      it->cluster.reset();
    }
  }
}

Status Session::CloseSandbox(bool keep) {
  if (!sandbox_) return Status::Ok();
  Status st = keep ? sandbox_->Keep() : sandbox_->Remove();
  sandbox_.reset();  // removes it (if not kept) when Remove failed above, and drops the lock
  return st;
}

void Session::Line(const std::string& line) {
  if (!options_.on_line) return;
  MutexLock lock(&line_mu_);
  options_.on_line(line);
}

bool IsNumericAddress(const std::string& host) {
  in6_addr buf;
  return !host.empty() && (::inet_pton(AF_INET, host.c_str(), &buf) == 1 ||
                           ::inet_pton(AF_INET6, host.c_str(), &buf) == 1);
}

RecoveredEndpoints RunningEndpoints(const Session& session, const plan::Service& svc) {
  RecoveredEndpoints out;
  out.restore_dir = session.RestoreDir(svc.name);
  for (const plan::RecoverStep& step : svc.recover) {
    for (const auto& p : step.ports) {
      const bool seen = std::any_of(out.ports.begin(), out.ports.end(),
                                    [&](const auto& q) { return q.first == p.first; });
      if (!seen) out.ports.push_back(p);
    }
    if (step.kind != plan::RecoverStep::Kind::kPostgresRestore) continue;
    for (const plan::Source& src : svc.sources) {
      if (src.kind != plan::SourceKind::kPostgres ||
          (!step.postgres_source.empty() && src.name != step.postgres_source)) {
        continue;
      }
      if (out.pg_ports.empty() && IsNumericAddress(src.postgres.host)) {
        out.pg_host = src.postgres.host;
      }
      out.pg_ports.emplace_back(src.name, src.postgres.port);
      break;
    }
  }
  return out;
}

}  // namespace lifeboat::recover::internal
