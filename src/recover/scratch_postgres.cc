#include "recover/scratch_postgres.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "crypto/random.h"
#include "recover/detached_process.h"
#include "sources/postgres_source.h"
#include "util/file_io.h"

namespace lifeboat::recover {

namespace {

namespace fs = std::filesystem;

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<UserIds> LookUpUser(const std::string& user) {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (::getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &res) != 0 || res == nullptr) {
    return Status::InvalidArgument("no system user " + user);
  }
  return UserIds{pw.pw_uid, pw.pw_gid};
}

// Major version of "postgres (PostgreSQL) 15.10 (...)": 15; 0 when not found.
int MajorOf(const std::string& version) {
  if (version.empty()) return 0;
  return std::atoi(version.c_str());
}

// The first directory from `dir` up to / that `ids` cannot pass through (no search permission
// for it), or "" when it can reach `dir`.
std::string Unreachable(const std::string& dir, const UserIds& ids) {
  fs::path p = fs::absolute(dir);
  std::vector<fs::path> chain;
  for (fs::path q = p; !q.empty(); q = q.parent_path()) {
    chain.push_back(q);
    if (q == q.root_path()) break;
  }
  std::reverse(chain.begin(), chain.end());
  for (const fs::path& q : chain) {
    struct stat st;
    if (::stat(q.c_str(), &st) != 0) return q.string();
    mode_t need = st.st_uid == ids.uid ? S_IXUSR : st.st_gid == ids.gid ? S_IXGRP : S_IXOTH;
    if ((st.st_mode & need) == 0) return q.string();
  }
  return "";
}

Status WritePrivateFile(const std::string& path, const std::string& text) {
  return WriteFileDurably(
      path, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()), true);
}

}  // namespace

std::string QuoteConninfo(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

Result<std::string> NewClusterPassword() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint8_t bytes[32];
  LB_RETURN_IF_ERROR(crypto::RandomBytes(bytes));
  std::string out;
  for (uint8_t b : bytes) out += kAlphabet[b % 62];
  return out;
}

Result<std::vector<std::string>> RunAsUser(const std::string& user, std::vector<std::string> argv) {
  if (user.empty()) return argv;
  LB_ASSIGN_OR_RETURN(UserIds ids, LookUpUser(user));
  std::vector<std::string> out = {"setpriv", "--reuid=" + std::to_string(ids.uid),
                                  "--regid=" + std::to_string(ids.gid), "--init-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Result<std::string> FindPostgresBinDir(int major, const std::string& configured) {
  auto has_initdb = [](const std::string& dir) {
    return ::access((dir + "/initdb").c_str(), X_OK) == 0 &&
           ::access((dir + "/postgres").c_str(), X_OK) == 0;
  };
  const std::string want =
      major > 0 ? "PostgreSQL " + std::to_string(major) + " or newer" : "PostgreSQL";
  const std::string package = major > 0 ? "postgresql-" + std::to_string(major) : "postgresql";
  if (!configured.empty()) {
    if (!has_initdb(configured)) {
      return Status::FailedPrecondition("no initdb and postgres in " + configured);
    }
    return configured;
  }
  // Debian's layout: one directory per major version.
  std::vector<int> versions;
  if (DIR* d = ::opendir("/usr/lib/postgresql")) {
    while (struct dirent* e = ::readdir(d)) {
      int v = std::atoi(e->d_name);
      if (v > 0 && has_initdb("/usr/lib/postgresql/" + std::to_string(v) + "/bin")) {
        versions.push_back(v);
      }
    }
    ::closedir(d);
  }
  std::sort(versions.begin(), versions.end());
  for (int v : versions) {
    if (v >= major) return "/usr/lib/postgresql/" + std::to_string(v) + "/bin";
  }
  // Anything else: initdb in PATH, if its version is new enough.
  const char* path = ::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    start = end + 1;
    if (dir.empty() || !has_initdb(dir)) continue;
    char real[PATH_MAX];
    std::string initdb = dir + "/initdb";
    if (::realpath(initdb.c_str(), real) != nullptr) dir = fs::path(real).parent_path().string();
    SubprocessOptions o;
    o.argv = {dir + "/postgres", "--version"};
    o.timeout = std::chrono::seconds(10);
    Result<std::string> version = RunAndCapture(o);
    const int found = version.ok() ? MajorOf(ParsePgToolVersion(*version)) : 0;
    if (found >= major) return dir;
    return Status::FailedPrecondition("the dump needs " + want + " to restore into, but " + dir +
                                      " has PostgreSQL " + std::to_string(found) + ": install " +
                                      package);
  }
  return Status::FailedPrecondition(
      "no PostgreSQL server found (initdb, postgres): the dump "
      "needs " +
      want + " to restore into: install " + package);
}

Result<std::unique_ptr<ScratchCluster>> ScratchCluster::Start(const ScratchClusterOptions& options,
                                                              std::string* output) {
  std::unique_ptr<ScratchCluster> c(new ScratchCluster(options));
  std::string log;
  auto fail = [&](Status st) -> Status {
    if (output != nullptr) *output = TrimOutput(log);
    return st;
  };
  const std::string data = options.dir + "/data";
  LB_RETURN_IF_ERROR(CreateDirectories(options.dir));
  ::chmod(options.dir.c_str(), 0700);
  std::optional<UserIds> owner;
  if (!options.run_as.empty()) {
    Result<UserIds> ids = LookUpUser(options.run_as);
    if (!ids.ok()) {
      return fail(Status::FailedPrecondition(
          "PostgreSQL refuses to run as root and there is no system user " + options.run_as +
          " to run the scratch cluster as (Debian's postgresql package makes `postgres`)"));
    }
    owner = *ids;
    if (::chown(options.dir.c_str(), owner->uid, owner->gid) != 0) {
      return fail(PosixError("chown " + options.dir + " to " + options.run_as));
    }
    std::string blocked = Unreachable(options.dir, *owner);
    if (!blocked.empty()) {
      return fail(Status::FailedPrecondition(
          "the scratch cluster runs as user " + options.run_as +
          " (PostgreSQL refuses to run "
          "as root), which cannot enter " +
          blocked +
          ": put the sandbox where that user can "
          "reach it (--sandbox DIR below a directory others may enter, e.g. /var/tmp)"));
    }
  }
  const std::string pwfile = options.dir + "/pwfile";
  LB_RETURN_IF_ERROR(WritePrivateFile(pwfile, options.password + "\n"));
  if (owner) ::chown(pwfile.c_str(), owner->uid, owner->gid);

  auto sub = [&](std::vector<std::string> argv,
                 const std::string& what) -> Result<SubprocessOptions> {
    SubprocessOptions o;
    LB_ASSIGN_OR_RETURN(o.argv, RunAsUser(options.run_as, std::move(argv)));
    o.description = what;
    o.stderr_to_stdout = true;
    o.working_directory = options.dir;
    o.cancel = options.context.cancel_flag();
    if (options.context.has_deadline()) {
      int64_t left = options.context.deadline_ns() - options.context.clock().MonotonicNs();
      o.timeout = std::chrono::milliseconds(std::max<int64_t>(1, left / 1'000'000));
    }
    return o;
  };

  LB_RETURN_IF_ERROR(options.context.Check("the scratch cluster"));
  std::vector<std::string> initdb_argv = {options.bin_dir + "/initdb",
                                          "-D",
                                          data,
                                          "-U",
                                          options.superuser,
                                          "--pwfile=" + pwfile,
                                          "--auth-host=scram-sha-256",
                                          "--auth-local=scram-sha-256",
                                          "-E",
                                          "UTF8",
                                          "--no-locale"};
  if (!options.durable) initdb_argv.push_back("--no-sync");  // a throwaway cluster
  Result<SubprocessOptions> initdb = sub(initdb_argv, "initdb");
  if (!initdb.ok()) return fail(initdb.status());
  ForegroundResult init = RunForeground(*initdb, options.guard);
  ::unlink(pwfile.c_str());
  log += init.output;
  if (!init.status.ok()) return fail(init.status.WithContext("creating the scratch cluster"));

  std::vector<std::string> server = {options.bin_dir + "/postgres",
                                     "-D",
                                     data,
                                     "-p",
                                     std::to_string(options.port),
                                     "-c",
                                     "listen_addresses=" + options.listen_host,
                                     "-c",
                                     "unix_socket_directories=",
                                     "-c",
                                     "max_connections=20",
                                     "-c",
                                     "shared_buffers=32MB"};
  if (!options.durable) {
    for (const char* setting : {"fsync=off", "full_page_writes=off", "synchronous_commit=off"}) {
      server.push_back("-c");
      server.push_back(setting);
    }
  }
  Result<SubprocessOptions> so = sub(server, "the scratch PostgreSQL server");
  if (!so.ok()) return fail(so.status());
  so->timeout = std::chrono::milliseconds(0);  // it serves until the session ends
  so->cancel = nullptr;                        // stopped by the session, not by Ctrl-C
  so->kill_grace = std::chrono::seconds(5);
  if (!options.detached_log.empty()) {
    Result<LeftRunning> lr =
        StartDetached(*so, "", "PostgreSQL cluster " + data, options.detached_log);
    if (!lr.ok()) return fail(lr.status().WithContext("starting the cluster"));
    lr->cluster_dir = data;
    lr->bin_dir = options.bin_dir;
    lr->run_as = options.run_as;
    c->detached_ = std::move(*lr);
  } else {
    Result<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(*so, options.guard);
    if (!child.ok()) return fail(child.status().WithContext("starting the scratch cluster"));
    c->server_ = std::move(*child);
  }

  // Ready when it answers; a server that exits first failed to start.
  const std::string ping = "host=" + options.listen_host + " port=" + std::to_string(options.port) +
                           " dbname=postgres connect_timeout=2";
  for (;;) {
    if (PQping(ping.c_str()) == PQPING_OK) break;
    if (!c->running()) {
      Status how = c->server_ ? c->server_->Stop(Status::Ok()) : Status::Ok();
      log += c->output();
      c->Stop();
      return fail(Status::FailedPrecondition(
          "the scratch PostgreSQL server exited before accepting connections" +
          (how.ok() ? std::string() : " (" + how.message() + ")") + "; its log is in the output"));
    }
    Status wait = options.context.SleepFor(std::chrono::milliseconds(50),
                                           "waiting for the scratch cluster to accept connections");
    if (!wait.ok()) {
      log += c->output();
      c->Stop();
      return fail(wait);
    }
  }
  if (output != nullptr) *output = TrimOutput(log + c->output());
  return c;
}

ScratchCluster::~ScratchCluster() { Stop(); }

bool ScratchCluster::running() const {
  if (detached_) return StillRunning(*detached_);
  return server_ && server_->running();
}

std::string ScratchCluster::output() const {
  if (detached_) return LogTail(detached_->log);
  return server_ ? server_->output() : std::string();
}

std::optional<LeftRunning> ScratchCluster::Release() {
  std::optional<LeftRunning> out = std::move(detached_);
  detached_.reset();
  return out;
}

void ScratchCluster::Stop() {
  if (detached_) {
    StopLeftRunning({*detached_}, std::chrono::seconds(5));
    detached_.reset();
  }
  if (!server_) return;
  // A fast shutdown (SIGINT to the postmaster: sessions ended, a checkpoint, every process gone),
  // then the group's stop for whatever is left. SIGTERM to the whole group, PostgreSQL's smart
  // shutdown, waits for auxiliary processes that ignore it.
  if (server_->running() && ::kill(server_->pid(), SIGINT) == 0) {
    for (int i = 0; i < 200 && server_->running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  server_->Stop(Status::Cancelled("the scratch cluster was stopped")).IgnoreError();
  server_.reset();
}

std::string ScratchCluster::Conninfo(const std::string& database,
                                     std::chrono::seconds connect_timeout) const {
  return "host=" + options_.listen_host + " port=" + std::to_string(options_.port) +
         " user=" + QuoteConninfo(options_.superuser) +
         " password=" + QuoteConninfo(options_.password) + " dbname=" + QuoteConninfo(database) +
         " connect_timeout=" + std::to_string(std::max<int64_t>(1, connect_timeout.count()));
}

}  // namespace lifeboat::recover
