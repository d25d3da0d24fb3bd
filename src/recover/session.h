// Internal to lb_recover: the state one recovery shares between the services it recovers. It owns
// everything the recovery starts, and its destructor stops it all, on every path: background
// processes, scratch clusters (most recent first), then the guard, then the sandbox (removed
// unless kept). Not part of the DR layer's API (recover.h is).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/open.h"
#include "plan/plan.h"
#include "recover/child_process.h"
#include "recover/process_guard.h"
#include "recover/recover.h"
#include "recover/sandbox.h"
#include "recover/scratch_postgres.h"
#include "repository/snapshot.h"
#include "util/mutex.h"

namespace lifeboat::recover::internal {

// A site opened for the session: shared lock, index loaded, snapshots listed once.
struct OpenedSite {
  Status status;  // why it could not be opened
  OpenedRepository repo;
  std::vector<std::pair<Id, Snapshot>> snapshots;
};

// The snapshot every recovery resolved --at to (an id given).
struct PinnedSnapshot {
  std::string site;
  Id id;
  Snapshot snapshot;
};

// How steps of dependents reach a service that was recovered.
struct RecoveredEndpoints {
  std::string restore_dir;
  std::vector<std::pair<std::string, int>> ports;
  std::vector<std::pair<std::string, int>> pg_ports;  // source name -> scratch cluster port
};

class Session {
 public:
  Session(const plan::Plan& plan, const RecoverOptions& options);
  // Stops everything (background processes and clusters, newest first), then the guard, then
  // the sandbox (removed unless kept).
  ~Session();

  // The guard, the stale clean-up, the sandbox; then the session's start time is taken (the
  // origin of every achieved RTO and RPO). Once.
  Status Open(RecoveryReport* report);

  const plan::Plan& plan() const { return plan_; }
  const RecoverOptions& options() const { return options_; }
  const Context& ctx() const { return options_.context; }
  const std::string& sandbox() const { return sandbox_path_; }
  ProcessGuard* guard() const { return guard_.get(); }
  int64_t start_wall_ns() const { return start_wall_ns_; }
  int64_t start_mono_ns() const { return start_mono_ns_; }
  const std::vector<std::string>& secret_variables() const { return secret_variables_; }

  // The site, opened on first use (thread-safe; a site is opened once).
  OpenedSite& Site(const std::string& name);

  // A free TCP port on 127.0.0.1 not handed out before in this session.
  Result<int> FreePort();

  // Takes ownership of something that runs until the session ends; `service` and `what` name it
  // in the note StopAll makes when it had exited by then.
  void Keep(const std::string& service, const std::string& what,
            std::unique_ptr<ChildProcess> process);
  void Keep(const std::string& service, const std::string& what,
            std::unique_ptr<ScratchCluster> cluster);
  // Adds the cluster's line to the session's password file and returns the file's path (set as
  // PGPASSFILE for steps).
  Result<std::string> AddPgPass(int port, const std::string& user, const std::string& password);

  // Stops everything the session started (also done by the destructor), newest first. What had
  // exited before is noted in `notes` (service -> note; may be null). Idempotent.
  void StopAll(std::vector<std::pair<std::string, std::string>>* notes);
  // Keeps or removes the sandbox now. Idempotent.
  Status CloseSandbox(bool keep);

  void Line(const std::string& line);

  // The --at pin, when options.at is a snapshot id.
  std::optional<PinnedSnapshot> pin;
  std::optional<int64_t> at_time_ns;  // snapshots at or before this time

 private:
  const plan::Plan& plan_;
  const RecoverOptions& options_;
  const std::vector<std::string> secret_variables_;
  int64_t start_wall_ns_ = 0, start_mono_ns_ = 0;
  std::unique_ptr<ProcessGuard> guard_;
  std::unique_ptr<Sandbox> sandbox_;
  std::string sandbox_path_;

  Mutex mu_;
  std::map<std::string, std::unique_ptr<OpenedSite>> sites_ GUARDED_BY(mu_);
  std::set<int> ports_ GUARDED_BY(mu_);
  // In the order they were started.
  struct Running {
    std::string service, what;
    std::unique_ptr<ChildProcess> process;
    std::unique_ptr<ScratchCluster> cluster;
  };
  std::vector<Running> running_ GUARDED_BY(mu_);
  std::string pgpass_ GUARDED_BY(mu_);
  Mutex line_mu_;
  Mutex site_open_mu_;  // one site opened at a time
};

// One service, on a worker thread: restore, recover steps, checks. `deps` are the endpoints of
// the services it depends on (all passed).
ServiceRecovery RecoverOneService(Session& session, const WaveService& ws,
                                  const std::map<std::string, RecoveredEndpoints>& deps,
                                  RecoveredEndpoints* endpoints);

}  // namespace lifeboat::recover::internal
