#include "daemon/health.h"

#include "dr/sites.h"
#include "recover/checks.h"
#include "util/subprocess.h"
#include "util/trim_output.h"

namespace lifeboat::daemon {

std::string_view HealthStateName(HealthState s) {
  switch (s) {
    case HealthState::kUnchecked:
      return "unchecked";
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kFailing:
      return "failing";
    case HealthState::kFailed:
      return "failed";
  }
  return "unchecked";
}

bool RecordRound(ServiceHealth* h, const Status& round, int64_t now_ns,
                 int failures_before_failover) {
  ++h->rounds;
  h->last_check_ns = now_ns;
  if (round.ok()) {
    h->state = HealthState::kHealthy;
    h->consecutive_failures = 0;
    h->first_failure_ns = 0;
    h->declared_ns = 0;
    return false;
  }
  h->last_error = round.message();
  if (h->consecutive_failures == 0) h->first_failure_ns = now_ns;
  ++h->consecutive_failures;
  if (h->state == HealthState::kFailed) return false;  // declared already: once per series
  if (h->consecutive_failures >= std::max(1, failures_before_failover)) {
    h->state = HealthState::kFailed;
    h->declared_ns = now_ns;
    return true;
  }
  h->state = HealthState::kFailing;
  return false;
}

Result<int> ProductionPort(const plan::Service& service, const plan::PortRef& port) {
  if (port.name.empty()) return port.number;
  for (const plan::RecoverStep& step : service.recover) {
    for (const auto& [name, number] : step.ports) {
      if (name == port.name) return number;
    }
  }
  return Status::InvalidArgument("no recover step of service " + service.name +
                                 " declares the port \"" + port.name + "\"");
}

bool HasProductionChecks(const plan::Service& service) {
  for (const plan::VerifyCheck& c : service.verify) {
    if (c.kind != plan::VerifyCheck::Kind::kFiles) return true;
  }
  return false;
}

namespace {

Status ProbeCommand(const plan::Plan& plan, const plan::VerifyCheck& check, const Context& ctx) {
  SubprocessOptions o;
  o.argv = check.run.argv;
  o.description = "check '" + check.run.Display() + "'";
  o.cancel = ctx.cancel_flag();
  if (ctx.has_deadline()) {
    const int64_t left = ctx.deadline_ns() - ctx.clock().MonotonicNs();
    o.timeout = std::chrono::milliseconds(std::max<int64_t>(1, left / 1'000'000));
  }
  o.stderr_to_stdout = true;
  // A secret the plan takes from Lifeboat's environment never reaches a check.
  for (const std::string& var : dr::PlanSecretVariables(plan)) o.environment.emplace_back(var, "");
  Result<std::string> out = RunAndCapture(o);
  if (!out.ok()) return out.status();
  if (check.expect_output && out->find(*check.expect_output) == std::string::npos) {
    return Status::FailedPrecondition("its output does not contain \"" + *check.expect_output +
                                      "\": " + TrimOutput(*out, 512));
  }
  return Status::Ok();
}

Status ProbeSql(const plan::Service& service, const plan::VerifyCheck& check, const Context& ctx) {
  const plan::Source* source = nullptr;
  for (const plan::Source& s : service.sources) {
    if (s.kind != plan::SourceKind::kPostgres) continue;
    if (check.postgres_source.empty() || s.name == check.postgres_source) {
      source = &s;
      break;
    }
  }
  if (source == nullptr) {
    return Status::InvalidArgument(
        "service " + service.name + " has no postgres source" +
        (check.postgres_source.empty() ? std::string() : " named " + check.postgres_source) +
        " to run the sql check against");
  }
  const plan::PostgresSource& pg = source->postgres;
  if (!pg.dsn.empty()) {
    return Status::InvalidArgument("source " + source->name + " of service " + service.name +
                                   " is given as a dsn: the daemon's sql check needs host, port, "
                                   "database and user");
  }
  recover::SqlTarget t;
  t.host = pg.host.empty() ? "127.0.0.1" : pg.host;
  t.port = pg.port;
  t.user = pg.user;
  t.database = pg.all_databases() ? "postgres" : pg.database;
  if (pg.password) {
    Result<std::string> pw =
        dr::ResolveSecret(*pg.password, "service " + service.name + " source " + source->name, ctx);
    if (!pw.ok()) return pw.status();
    t.password = *pw;
  }
  recover::SqlCheckResult r = recover::CheckSql(t, check.query, check.expect, ctx);
  return r.status;
}

std::string Label(const plan::Service& service, const plan::VerifyCheck& check) {
  switch (check.kind) {
    case plan::VerifyCheck::Kind::kTcp:
    case plan::VerifyCheck::Kind::kHttp: {
      Result<int> port = ProductionPort(service, check.port);
      const std::string p = port.ok() ? std::to_string(*port) : check.port.name;
      return std::string(check.kind == plan::VerifyCheck::Kind::kTcp ? "tcp " : "http GET ") +
             check.host + ":" + p +
             (check.kind == plan::VerifyCheck::Kind::kHttp ? check.path : std::string());
    }
    case plan::VerifyCheck::Kind::kCommand:
      return "command '" + check.run.Display() + "'";
    case plan::VerifyCheck::Kind::kSql:
      return "sql '" + check.query + "'";
    case plan::VerifyCheck::Kind::kFiles:
      return "files";
  }
  return "check";
}

}  // namespace

Status ProbeProductionCheck(const plan::Plan& plan, const plan::Service& service,
                            const plan::VerifyCheck& check, const Context& ctx) {
  switch (check.kind) {
    case plan::VerifyCheck::Kind::kTcp: {
      LB_ASSIGN_OR_RETURN(int port, ProductionPort(service, check.port));
      return recover::WaitForTcp(check.host, port, ctx, nullptr);
    }
    case plan::VerifyCheck::Kind::kHttp: {
      LB_ASSIGN_OR_RETURN(int port, ProductionPort(service, check.port));
      const std::string url = "http://" + check.host + ":" + std::to_string(port) + check.path;
      return recover::CheckHttp(url, check.expect_status, check.expect_body, ctx).status;
    }
    case plan::VerifyCheck::Kind::kCommand:
      return ProbeCommand(plan, check, ctx);
    case plan::VerifyCheck::Kind::kSql:
      return ProbeSql(service, check, ctx);
    case plan::VerifyCheck::Kind::kFiles:
      return Status::Ok();
  }
  return Status::Ok();
}

Status RunHealthRound(const plan::Plan& plan, const plan::Service& service,
                      std::chrono::nanoseconds timeout, const CheckProbe& probe,
                      const Context& ctx) {
  for (const plan::VerifyCheck& check : service.verify) {
    if (check.kind == plan::VerifyCheck::Kind::kFiles) continue;
    if (ctx.cancelled())
      return Status::Cancelled("health check of " + service.name + " interrupted");
    Status st = probe(plan, service, check, ctx.WithTimeout(timeout));
    if (!st.ok()) {
      if (ctx.cancelled())
        return Status::Cancelled("health check of " + service.name + " interrupted");
      return Status(st.code(), Label(service, check) + ": " + st.message());
    }
  }
  return Status::Ok();
}

}  // namespace lifeboat::daemon
