// `lifeboat plan init` as a library call (doc/run.md, "lifeboat plan init"): creates every site
// repository of the plan that does not exist yet. The first site (in plan order) that exists or
// is created is the origin; every other site is created as a replica of it (InitOptions'
// replica_of: the same key material and chunker, as `init --replica-of`), so `replication: sync`
// can store each pack once for all sites.
//
//   LB_ASSIGN_OR_RETURN(PlanInitReport r, InitPlanSites(loaded.plan, {.context = ctx}));
//   for (const SiteInitOutcome& s : r.sites) ... s.action, s.error ...
//
// Secrets come from the plan's references (dr/sites.h) and appear in no message. Blocks (key
// derivation, the backends); the caller's thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"
#include "repository/repository.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

struct PlanInitOptions {
  Context context;
  // Settings of the repositories created (compression, pack size, KDF). replica_of is set here.
  InitOptions init;
};

enum class SiteInitAction {
  kCreated,          // created as the origin
  kCreatedReplica,   // created as a replica of the origin
  kExists,           // existed; a replica of the origin, or the origin itself
  kExistsUnrelated,  // existed, not a replica of the origin; used by no sync service with it
  kRefused,          // existed, not a replica, and a sync service needs it to be one (error)
  kFailed,           // could not be opened or created (error)
};
// "created", "created_replica", "exists", "exists_unrelated", "refused", "failed".
std::string_view SiteInitActionName(SiteInitAction a);

struct SiteInitOutcome {
  std::string site;
  std::string location;  // redacted (no credentials)
  SiteInitAction action = SiteInitAction::kFailed;
  bool origin = false;
  std::string repository_id;  // hex, when known
  std::string message;        // for people: what was done, or what to do
};

struct PlanInitReport {
  std::string origin;  // the origin site's name; empty when no site could be used
  std::vector<SiteInitOutcome> sites;  // in plan order
  bool ok() const;  // no site refused or failed
};

// Creates what is missing (see the top of this file). Never stops at a failing site: each is
// reported. An error only when the plan has no site.
Result<PlanInitReport> InitPlanSites(const plan::Plan& plan, const PlanInitOptions& options);

}  // namespace lifeboat::dr
