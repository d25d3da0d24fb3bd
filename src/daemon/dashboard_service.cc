#include "daemon/dashboard_service.h"

#include <chrono>
#include <future>

#include "daemon/daemon.h"
#include "daemon/dashboard_state.h"
#include "dr/incident_state.h"

namespace lifeboat::daemon {

namespace {

using json = nlohmann::ordered_json;

// How long POST /api/v1/failover waits for the incident to open before answering that the
// failover is queued or still checking its preconditions.
constexpr auto kFailoverAnswerWait = std::chrono::seconds(10);

// Runs `fn` as a job on the daemon's worker and returns a future of its result. The future is
// broken (std::future_error) when the daemon drops the job (stopping).
template <class T>
Result<std::future<Result<T>>> SubmitJob(Daemon* daemon, const std::string& what,
                                         std::function<Result<T>(const Context&)> fn) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future = promise->get_future();
  Status st = daemon->Submit(
      what, [promise, fn = std::move(fn)](const Context& ctx) { promise->set_value(fn(ctx)); });
  if (!st.ok()) return st;
  return future;
}

template <class T>
Result<T> Get(std::future<Result<T>>& future) {
  try {
    return future.get();
  } catch (const std::future_error&) {
    return Status::Unavailable("the daemon is stopping: the job was dropped");
  }
}

}  // namespace

DaemonDashboard::DaemonDashboard(Daemon* daemon, DaemonDashboardOptions options)
    : daemon_(daemon),
      options_(std::move(options)),
      refresher_(StatusRefresherOptions{[daemon] { return daemon->CurrentPlan(); },
                                        options_.cache_path, options_.context,
                                        options_.status_min_age_ns}) {}

DaemonDashboard::~DaemonDashboard() { Stop(); }

Status DaemonDashboard::Start() {
  dashboard::ServerOptions o;
  o.listen = options_.listen;
  o.tls_cert_file = options_.tls_cert_file;
  o.tls_key_file = options_.tls_key_file;
  o.tokens = options_.tokens;
  o.state = [this] { return State(); };
  if (options_.fence != nullptr) {
    o.operations.failover = [this](const dashboard::FailoverRequest& r) { return Failover(r); };
    o.operations.commit = [this](const dashboard::IncidentRequest& r) {
      return IncidentAction(r, "commit");
    };
    o.operations.rollback = [this](const dashboard::IncidentRequest& r) {
      return IncidentAction(r, "rollback");
    };
  }
  o.log = options_.log;
  server_ = std::make_unique<dashboard::Server>(std::move(o));
  return server_->Start();
}

void DaemonDashboard::Stop() {
  if (server_) server_->Stop();
  refresher_.Stop();
}

std::string DaemonDashboard::url() const { return server_ ? server_->url() : ""; }
int DaemonDashboard::port() const { return server_ ? server_->port() : 0; }

Result<dashboard::DashboardState> DaemonDashboard::State() {
  DashboardInputs in;
  in.snapshot = daemon_->Snapshot();
  in.now_ns = options_.context.clock().WallNs();
  StatusView view = refresher_.Get();
  in.status = std::move(view.status);
  in.status_note = std::move(view.note);
  in.drills = std::move(view.drills);
  in.warnings = std::move(view.warnings);
  Result<std::optional<dr::IncidentState>> incident = dr::LoadIncidentState(options_.state_dir);
  if (incident.ok()) {
    in.incident = std::move(*incident);
  } else {
    in.warnings.push_back("the incident state cannot be read: " + incident.status().message());
  }
  if (options_.fence != nullptr) {
    // Lock file: no I/O; etcd: one range request, bounded.
    Result<std::vector<fence::Member>> members = options_.fence->Members(
        Context().WithClock(options_.context.clock()).WithTimeout(std::chrono::seconds(3)));
    if (members.ok()) {
      in.members = std::move(*members);
    } else {
      in.warnings.push_back("the fence's members cannot be read: " + members.status().message());
    }
  }
  return MakeDashboardState(in);
}

Result<json> DaemonDashboard::Failover(const dashboard::FailoverRequest& request) {
  Result<std::optional<dr::IncidentState>> before = dr::LoadIncidentState(options_.state_dir);
  if (!before.ok()) return before.status();
  const std::string before_id = *before ? (*before)->id : "";
  // A failover to the open failover's site joins it: the same id, more services.
  const size_t before_services = *before && (*before)->open() ? (*before)->services.size() : 0;
  const IncidentJobOptions jobs = options_.jobs;
  const std::shared_ptr<const plan::Plan> plan = daemon_->CurrentPlan();
  std::string what = "failover (API) to " + request.to;
  LB_ASSIGN_OR_RETURN(
      std::future<Result<dr::FailoverOutcome>> future,
      SubmitJob<dr::FailoverOutcome>(daemon_, what, [plan, request, jobs](const Context& ctx) {
        return PerformRequestedFailover(*plan, request, jobs, ctx);
      }));
  const auto deadline = std::chrono::steady_clock::now() + kFailoverAnswerWait;
  for (;;) {
    const bool last = std::chrono::steady_clock::now() >= deadline;
    if (request.dry_run ||
        future.wait_for(std::chrono::milliseconds(100)) == std::future_status::ready) {
      Result<dr::FailoverOutcome> outcome = Get(future);
      if (!outcome.ok()) return outcome.status();
      if (outcome->result == dr::FailoverOutcome::Result::kRefused ||
          outcome->result == dr::FailoverOutcome::Result::kFencedOut) {
        return Status::FailedPrecondition(outcome->refusal);
      }
      return dr::FailoverOutcomeToJson(*outcome);
    }
    Result<std::optional<dr::IncidentState>> now = dr::LoadIncidentState(options_.state_dir);
    if (now.ok() && *now && (*now)->open() &&
        ((*now)->id != before_id || (*now)->services.size() > before_services)) {
      return json{{"result", "started"},
                  {"incident", (*now)->id},
                  {"note", "the failover runs in the daemon: follow it with GET /api/v1/status"}};
    }
    if (last) {
      return json{{"result", "queued"},
                  {"incident", nullptr},
                  {"note",
                   "the failover waits for the daemon's job in progress or checks its "
                   "preconditions: follow it with GET /api/v1/status"}};
    }
  }
}

Result<json> DaemonDashboard::IncidentAction(const dashboard::IncidentRequest& request,
                                             const std::string& action) {
  if (!request.incident.empty()) {
    LB_ASSIGN_OR_RETURN(std::optional<dr::IncidentState> open,
                        dr::LoadIncidentState(options_.state_dir));
    if (!open || !open->open() || open->id != request.incident) {
      return Status::FailedPrecondition(
          "incident " + request.incident + " is not the open incident" +
          (open ? " (incident " + open->id + " is " + open->state + ")" : std::string()));
    }
  }
  const IncidentJobOptions jobs = options_.jobs;
  const std::shared_ptr<const plan::Plan> plan = daemon_->CurrentPlan();
  LB_ASSIGN_OR_RETURN(std::future<Result<dr::IncidentActionOutcome>> future,
                      SubmitJob<dr::IncidentActionOutcome>(
                          daemon_, action + " (API)", [plan, action, jobs](const Context& ctx) {
                            return RunIncidentAction(*plan, action, jobs, ctx);
                          }));
  Result<dr::IncidentActionOutcome> outcome = Get(future);
  if (!outcome.ok()) return outcome.status();
  if (outcome->fenced_out) {
    std::string why = "fenced out";
    for (const std::string& w : outcome->warnings) why += ": " + w;
    return Status::FailedPrecondition(why);
  }
  return dr::IncidentActionToJson(*outcome, action);
}

}  // namespace lifeboat::daemon
