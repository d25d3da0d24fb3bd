// The checks before a failover (doc/failover.md, "Failover", step 4): what `lifeboat failover
// --dry-run` shows and what every real failover passes before it changes anything. For the
// services to recover (with their dependencies) at the recovery site:
//   - the site opens (its key, its snapshots listed);
//   - each source has a complete snapshot there (at or before --at); its age, the data-loss
//     window if the failover happened now, against the service's RPO (a warning when above);
//   - every production port the recovery declares (recover steps' ports, postgres sources'
//     ports) is free on its address;
//   - every path the restore writes below the recovery root (the snapshots' paths, the
//     clusters' directories) is absent or an empty directory;
//   - every program a step needs is there (PostgreSQL's initdb, postgres and pg_ctl for a
//     postgres_restore; the program of each recover, check and switch command given as a list).
// A service of RecoverOptions::already_up is not checked (its ports are taken and its paths
// written by the recovery that runs it): one "active" check says so.
//
//   RecoverOptions o;  o.mode = RecoveryMode::kFailover;  o.site = "dr";  o.services = {"shop"};
//   LB_ASSIGN_OR_RETURN(PreconditionReport pre, CheckFailoverPreconditions(plan, o));
//   if (!pre.ok()) ... every pre.checks entry with level kFailed names what is wrong ...
//
// Changes nothing: the site is opened with a shared lock and read. Blocks (the site). Any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "recover/recover.h"
#include "recover/waves.h"
#include "util/status.h"

namespace lifeboat::recover {

struct Precondition {
  enum class Level { kOk, kWarning, kFailed };
  std::string service;  // "" for the site
  std::string check;    // "site", "snapshot", "port", "path", "program", "active"
  std::string message;  // for people: what was found
  Level level = Level::kOk;
};
std::string_view PreconditionLevelName(Precondition::Level level);  // "ok", "warning", "failed"

// The snapshot a source would be restored from.
struct PlannedSnapshot {
  std::string service, source, snapshot;  // snapshot: 64 hex
  int64_t time_ns = 0;
  double age_seconds = 0;  // at the check: the data-loss window if the failover happened now
  std::chrono::seconds rpo{0};
  std::vector<std::string> paths;  // where it is restored: the snapshot's paths below the root
};

struct PreconditionReport {
  std::string site;
  std::string recovery_root;
  std::vector<Wave> waves;
  std::vector<PlannedSnapshot> snapshots;
  std::vector<std::string> cluster_dirs;  // the clusters' directories a failover makes
  std::vector<Precondition> checks;
  // No check failed.
  bool ok() const;
  // The failed checks' messages, one per line.
  std::string Failures() const;
};

// Errors only for a request that cannot be checked: an unknown service or site, a dependency
// cycle, an --at that names nothing or is ambiguous. Everything else is a check of the report.
// options.mode must be kFailover and options.site set.
Result<PreconditionReport> CheckFailoverPreconditions(const plan::Plan& plan,
                                                      const RecoverOptions& options);

nlohmann::ordered_json PreconditionReportToJson(const PreconditionReport& report);

// True when nothing listens on host:port (a bind with SO_REUSEADDR succeeds).
bool PortFree(const std::string& host, int port);

}  // namespace lifeboat::recover
