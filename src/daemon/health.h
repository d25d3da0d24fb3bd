// The daemon's health checks (doc/daemon.md, "Health checks"): a service's `verify` checks run
// against its PRODUCTION endpoints (tcp/http at the check's host and the plan's port, `command`
// as written, `sql` against the service's postgres source; `files` checks skipped), one round
// every failover.interval, and the per-service count of failed rounds that declares a service
// failed after failover.failures_before_failover of them in a row.
//
//   Status round = RunHealthRound(plan, svc, ProbeProductionCheck, ctx);   // blocks
//   if (RecordRound(&health, round, ctx.clock().WallNs(), policy.failures_before_failover))
//     ...declared failed just now: notify, maybe fail over...
//
// RecordRound and ProductionPort are pure. RunHealthRound and ProbeProductionCheck block (network,
// child processes), each check bounded by the context's deadline; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "plan/plan.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::daemon {

enum class HealthState {
  kUnchecked,  // no round yet (or the service has no check that can run against production)
  kHealthy,    // the last round passed
  kFailing,    // 1 .. failures_before_failover - 1 failed rounds in a row
  kFailed,     // declared failed (failures_before_failover failed rounds in a row)
};
std::string_view HealthStateName(HealthState s);  // "unchecked", "healthy", "failing", "failed"

// One watched service's health as the daemon keeps it (times are wall ns; 0: never).
struct ServiceHealth {
  std::string service;
  HealthState state = HealthState::kUnchecked;
  int consecutive_failures = 0;
  int failures_before_failover = 3;  // the policy's (as Snapshot() reports it)
  std::string last_error;        // the failing check's error in the last failed round
  int64_t last_check_ns = 0;     // when the last round ended
  int64_t next_due_ns = 0;       // when the next round is due
  int64_t first_failure_ns = 0;  // the first failed round of the current series (0: none)
  int64_t declared_ns = 0;       // when it was declared failed (0: not declared)
  uint64_t rounds = 0;           // rounds so far
};

// Applies one round's result at wall time `now_ns`: a passing round resets the count (and a
// declaration); a failing one counts, and the round that reaches `failures_before_failover`
// declares the service failed. Returns true only for that round: a service is declared once per
// series of failures.
bool RecordRound(ServiceHealth* health, const Status& round, int64_t now_ns,
                 int failures_before_failover);

// Runs one check of `service` against production, bounded by ctx (the caller's timeout).
// A seam: tests give the daemon their own.
using CheckProbe = std::function<Status(const plan::Plan& plan, const plan::Service& service,
                                        const plan::VerifyCheck& check, const Context& ctx)>;

// The production probe: tcp connects to host:port; http GETs http://host:port/path and compares
// status and body; command runs it (the plan's secret variables emptied in its environment) and
// looks for expect_output; sql runs the query on the service's postgres source (host, port,
// database, user, password resolved with dr::ResolveSecret) and compares with expect. files:
// OK (not checkable without a restore). Errors say which check and endpoint failed.
Status ProbeProductionCheck(const plan::Plan& plan, const plan::Service& service,
                            const plan::VerifyCheck& check, const Context& ctx);

// The port a check means in production: its number, or the number a recover step declares for
// its name. InvalidArgument when no step declares the name.
Result<int> ProductionPort(const plan::Service& service, const plan::PortRef& port);

// True when the service has a check a round can run (anything but `files`).
bool HasProductionChecks(const plan::Service& service);

// One round: every check but `files`, in plan order, each with ctx.WithTimeout(timeout); stops at
// the first failure, whose error (prefixed with the check: "tcp 127.0.0.1:5432: ...") it
// returns. OK when every check passed (or there was none).
Status RunHealthRound(const plan::Plan& plan, const plan::Service& service,
                      std::chrono::nanoseconds timeout, const CheckProbe& probe,
                      const Context& ctx);

}  // namespace lifeboat::daemon
