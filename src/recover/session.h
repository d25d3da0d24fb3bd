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

// A site opened for the session: shared lock, index loaded, snapshots listed once. In failover
// mode, with the replicas that serve what is damaged or missing in it.
struct OpenedSite {
  Status status;  // why it could not be opened
  OpenedRepository repo;
  std::vector<std::pair<Id, Snapshot>> snapshots;
  std::vector<OpenedRepository> fallbacks;
  std::map<std::string, std::string> site_of_location;  // repository location -> site name
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
  std::string pg_host = "127.0.0.1";                  // where the first cluster listens
};

class Session {
 public:
  Session(const plan::Plan& plan, const RecoverOptions& options);
  // Stops everything (background processes and clusters, newest first), then the guard, then
  // the sandbox (removed unless kept).
  ~Session();

  // The guard, the stale clean-up, the sandbox (failover mode: the recovery root's directories
  // instead); then the session's start time is taken (the origin of every achieved RTO and
  // RPO). Once.
  Status Open(RecoveryReport* report);
  // Only the start time and the recovery root, changing nothing (failover preconditions).
  void OpenForChecks();

  bool failover() const { return options_.mode == RecoveryMode::kFailover; }
  // Failover: the recovery root (no trailing '/', "" for "/"); drill: "".
  const std::string& recovery_root() const { return recovery_root_; }
  // Where the session keeps its files (the password file of clusters, clusters' directories):
  // the sandbox, or RECOVERY_ROOT/var/lib/lifeboat.
  std::string WorkDir() const;
  // The restore directory of `service`: SANDBOX/services/SERVICE, or the recovery root ("/"
  // for the root itself).
  std::string RestoreDir(const std::string& service) const;
  // Failover: the log file of something left running ("shop-step2" ->
  // RECOVERY_ROOT/var/log/lifeboat/shop-step2.log).
  std::string LogPath(const std::string& name) const;
  // The directory of LogPath: RecoverOptions::log_dir, else RECOVERY_ROOT/var/log/lifeboat.
  std::string LogDir() const;
  // Failover: restores one at a time (shared parent directories); the fallback reads made while
  // it is held are the service's.
  void BeginRestore(const std::string& service) ACQUIRE(restore_mu_);
  void EndRestore() RELEASE(restore_mu_);
  std::vector<std::string> FallbackReads(const std::string& service);

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
  // Failover: something that runs on after the session (options.on_left_running is told).
  void KeepRunning(const LeftRunning& lr);
  // Failover: what runs on, for the services in `passed`; the others' are stopped now (their
  // notes go to `notes`).
  std::vector<LeftRunning> SettleLeftRunning(
      const std::set<std::string>& passed, std::vector<std::pair<std::string, std::string>>* notes);
  // Adds the cluster's line to the session's password file and returns the file's path (set as
  // PGPASSFILE for steps).
  Result<std::string> AddPgPass(const std::string& host, int port, const std::string& user,
                                const std::string& password);

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
  std::string recovery_root_;

  void OpenFallbacks(const std::string& name, OpenedSite* s);
  void OnFallback(const FallbackEvent& e, const OpenedSite* site);

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
  std::vector<LeftRunning> left_running_ GUARDED_BY(mu_);
  Mutex restore_mu_;
  std::string restoring_ GUARDED_BY(mu_);  // the service restoring (failover)
  std::map<std::string, std::vector<std::string>> fallback_reads_ GUARDED_BY(mu_);
  Mutex line_mu_;
  Mutex site_open_mu_;  // one site opened at a time
};

// One service, on a worker thread: restore, recover steps, checks. `deps` are the endpoints of
// the services it depends on (all passed).
// The snapshot of `src` a recovery from `site` restores: the pinned one (--at ID) for its source,
// else the newest complete one at or before the session's --at time; null when none.
const std::pair<Id, Snapshot>* ChooseSnapshot(const Session& session,
                                              const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                              const std::string& site, const plan::Service& svc,
                                              const plan::Source& src);

// The site names a recovery reads from: `site`, or the first site of each service of `waves`.
std::vector<std::string> SitesUsed(const plan::Plan& plan, const std::vector<Wave>& waves,
                                   const std::string& site);
// Resolves options.at into session.pin / at_time_ns (recover.cc).
Status ResolveAt(Session& session, const std::vector<Wave>& waves,
                 const std::vector<std::string>& sites);

// "10.0.0.5", "::1": an address, not a name.
bool IsNumericAddress(const std::string& host);

// How dependents reach `svc` when it runs at the recovery site already (RecoverOptions::
// already_up): the restore directory, the plan's ports of its recover steps, and each
// postgres_restore's cluster at its source's port and host (127.0.0.1 unless numeric).
RecoveredEndpoints RunningEndpoints(const Session& session, const plan::Service& svc);

ServiceRecovery RecoverOneService(Session& session, const WaveService& ws,
                                  const std::map<std::string, RecoveredEndpoints>& deps,
                                  RecoveredEndpoints* endpoints);

}  // namespace lifeboat::recover::internal
