#include "recover/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "dr/sites.h"
#include "util/file_io.h"

namespace lifeboat::recover::internal {

Session::Session(const plan::Plan& plan, const RecoverOptions& options)
    : plan_(plan), options_(options), secret_variables_(dr::PlanSecretVariables(plan)) {}

Session::~Session() {
  StopAll(nullptr);
  guard_.reset();
  CloseSandbox(options_.keep).IgnoreError();
}

Status Session::Open(RecoveryReport* report) {
  // The guard first: nothing is started before a kill -9 of this process would stop it.
  LB_ASSIGN_OR_RETURN(guard_, ProcessGuard::Start());
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

Result<std::string> Session::AddPgPass(int port, const std::string& user,
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
  pgpass_ +=
      "127.0.0.1:" + std::to_string(port) + ":*:" + escape(user) + ":" + escape(password) + "\n";
  const std::string path = sandbox_path_ + "/pgpass";
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

}  // namespace lifeboat::recover::internal
