// The daemon's dashboard and API (doc/daemon.md, "Dashboard and API"): a dashboard::Server whose
// state is made for each request from the daemon's Snapshot(), the StatusRefresher's newest plan
// status and drills, STATE_DIR/incident.json and the fence's members, and whose operations
// (failover, commit, rollback) run as jobs on the daemon's worker (one job at a time, after the
// one in progress) and answer with their JSON. Daemon::Start starts it (when
// DaemonOptions::serve_dashboard), Daemon::Shutdown stops it before the fence is left.
//
//   DaemonDashboard dash(daemon, options);     // options: listen, tokens, state dir, fence...
//   LB_RETURN_IF_ERROR(dash.Start());          // dash.url(): where it serves
//
// Threads: the server's workers call the state provider and the operations, several at once;
// each operation waits for its job (a failover: until the incident is opened, or 10 s). Start
// and Stop from the daemon's loop thread.
#pragma once

#include <memory>
#include <string>

#include "daemon/failover_job.h"
#include "daemon/status_refresher.h"
#include "dashboard/server.h"
#include "fence/fence.h"

namespace lifeboat::daemon {

class Daemon;

struct DaemonDashboardOptions {
  std::string listen;  // HOST:PORT
  std::string tls_cert_file, tls_key_file;
  dashboard::Tokens tokens;
  std::string state_dir;
  std::string cache_path;
  fence::Fence* fence = nullptr;  // may be null (no members, no operations)
  IncidentJobOptions jobs;        // the operations' fence, state directory, log
  Context context;                // clock; and what stops the status computations
  int64_t status_min_age_ns = 10'000'000'000;
  std::function<void(const std::string&)> log;
};

class DaemonDashboard {
 public:
  DaemonDashboard(Daemon* daemon, DaemonDashboardOptions options);
  ~DaemonDashboard();
  DaemonDashboard(const DaemonDashboard&) = delete;
  DaemonDashboard& operator=(const DaemonDashboard&) = delete;

  // Binds and serves (dashboard::Server::Start's errors: a bad address or TLS file, the port in
  // use, off loopback without TLS and a read token).
  Status Start();
  // Stops serving (running requests end first) and the status computations. Idempotent.
  void Stop();
  std::string url() const;
  int port() const;

 private:
  Result<dashboard::DashboardState> State();
  Result<nlohmann::ordered_json> Failover(const dashboard::FailoverRequest& request);
  Result<nlohmann::ordered_json> IncidentAction(const dashboard::IncidentRequest& request,
                                                const std::string& action);

  Daemon* const daemon_;
  const DaemonDashboardOptions options_;
  StatusRefresher refresher_;
  std::unique_ptr<dashboard::Server> server_;
};

}  // namespace lifeboat::daemon
