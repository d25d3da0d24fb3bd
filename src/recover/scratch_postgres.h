// A scratch PostgreSQL cluster for the `postgres_restore` recover step (doc/drills.md,
// "postgres_restore"): initdb in a directory of the sandbox, the server on 127.0.0.1 and a port
// of the session's, then the dump a postgres source stored restored into it with the command the
// snapshot records (doc/sources.md).
//
//   ScratchClusterOptions o;  o.dir = sandbox + "/postgres/billing-db-billing";  o.port = 41234;
//   o.bin_dir = *FindPostgresBinDir(15, "");  o.password = generated;  o.guard = guard;
//   LB_ASSIGN_OR_RETURN(auto cluster, ScratchCluster::Start(o, &output));
//   ... cluster->port() ...;  cluster->Stop();   // or destroy it
//
// The server runs as a child of the session (ChildProcess: its own process group, watched by the
// ProcessGuard), started as `postgres -D ...` rather than through `pg_ctl start`, which would
// move it into a session of its own (setsid) where the drill's process-group clean-up could not
// reach it. Only TCP on 127.0.0.1 (no Unix socket), scram-sha-256 for the superuser `lifeboat`
// with a password made for this cluster. PostgreSQL refuses to run as root: as root, initdb and
// the server run as `run_as` (default `postgres`) through setpriv.
//
// Blocks; one thread per object.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "recover/child_process.h"
#include "recover/left_running.h"
#include "recover/process_guard.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::recover {

// Where the PostgreSQL programs of major version >= `major` are (0: any): `configured` when not
// empty (it must hold initdb), else Debian's /usr/lib/postgresql/<N>/bin with N = major or the
// smallest newer one, else the directory of `initdb` in PATH when its version is new enough.
// FailedPrecondition naming the package to install otherwise.
Result<std::string> FindPostgresBinDir(int major, const std::string& configured);

struct ScratchClusterOptions {
  std::string dir;      // made; holds data/ and the server's files. Must not exist or be empty.
  std::string bin_dir;  // initdb, postgres
  int port = 0;
  std::string superuser = "lifeboat";
  std::string password;  // the superuser's; never in a message
  // Empty: this process's user; must be set when running as root (PostgreSQL refuses root).
  std::string run_as;
  // fsync and full_page_writes on (a failover's cluster); off for a drill's throwaway cluster.
  bool durable = false;
  // The address it listens on (a failover: the postgres source's numeric host).
  std::string listen_host = "127.0.0.1";
  // Non-empty (a failover): the server is started detached (detached_process.h) with its output
  // appended to this file, and Release() hands it over to run on after the session.
  std::string detached_log;
  ProcessGuard* guard = nullptr;
  // Cancel and deadline: initdb and the wait for the server stop with it.
  Context context;
};

class ScratchCluster {
 public:
  // initdb, start, wait until it accepts connections. `output` (may be null) gets what initdb and
  // the server printed, trimmed, also on failure. Errors name the phase ("initdb failed: ...",
  // "the server exited before accepting connections: ...", DeadlineExceeded, Cancelled), and for
  // a run_as user that cannot enter the directory, which directory to fix.
  static Result<std::unique_ptr<ScratchCluster>> Start(const ScratchClusterOptions& options,
                                                       std::string* output);
  // Stops the server (Stop).
  ~ScratchCluster();

  int port() const { return options_.port; }
  const std::string& host() const { return options_.listen_host; }
  const std::string& superuser() const { return options_.superuser; }
  const std::string& dir() const { return options_.dir; }
  // A libpq connection string for `database` (with the password: never show it).
  std::string Conninfo(const std::string& database, std::chrono::seconds connect_timeout) const;
  // True while the server runs.
  bool running() const;
  // The server's output (log), trimmed.
  std::string output() const;
  // A detached server (detached_log): what stops it later; the object no longer stops it.
  // nullopt when the server is not detached or was stopped.
  std::optional<LeftRunning> Release();
  // Stops the server: a fast shutdown (SIGINT to the postmaster), and after 5 s what is left of
  // its process group is stopped (SIGTERM, then SIGKILL after 5 s more). Idempotent.
  void Stop();

 private:
  explicit ScratchCluster(const ScratchClusterOptions& options) : options_(options) {}

  const ScratchClusterOptions options_;
  std::unique_ptr<ChildProcess> server_;
  std::optional<LeftRunning> detached_;
};

// argv that runs `argv` as `user` (setpriv with the user's uid, gid and groups); `argv` itself
// when user is empty. InvalidArgument for a user that does not exist.
Result<std::vector<std::string>> RunAsUser(const std::string& user, std::vector<std::string> argv);

// A password for a scratch cluster: 32 characters of [A-Za-z0-9].
Result<std::string> NewClusterPassword();

// "'text'" quoted for a libpq connection string.
std::string QuoteConninfo(const std::string& value);

}  // namespace lifeboat::recover
