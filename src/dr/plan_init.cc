#include "dr/plan_init.h"

#include <memory>
#include <utility>

#include "copier/copier.h"
#include "dr/sites.h"
#include "engine/open.h"

namespace lifeboat::dr {

std::string_view SiteInitActionName(SiteInitAction a) {
  switch (a) {
    case SiteInitAction::kCreated: return "created";
    case SiteInitAction::kCreatedReplica: return "created_replica";
    case SiteInitAction::kExists: return "exists";
    case SiteInitAction::kExistsUnrelated: return "exists_unrelated";
    case SiteInitAction::kRefused: return "refused";
    case SiteInitAction::kFailed: return "failed";
  }
  return "unknown";
}

bool PlanInitReport::ok() const {
  for (const SiteInitOutcome& s : sites) {
    if (s.action == SiteInitAction::kRefused || s.action == SiteInitAction::kFailed) return false;
  }
  return true;
}

namespace {

// The first service that writes to `site` with replication: sync together with other sites.
const plan::Service* SyncServiceUsing(const plan::Plan& plan, const std::string& site) {
  for (const plan::Service& s : plan.services) {
    if (s.replication != plan::Replication::kSync || s.sites.size() < 2) continue;
    for (const plan::NameRef& n : s.sites) {
      if (n.name == site) return &s;
    }
  }
  return nullptr;
}

}  // namespace

Result<PlanInitReport> InitPlanSites(const plan::Plan& plan, const PlanInitOptions& options) {
  if (plan.sites.empty()) return Status::InvalidArgument("the plan has no site");
  PlanInitReport report;
  std::unique_ptr<Repository> origin;
  std::string origin_location;
  for (const plan::Site& site : plan.sites) {
    SiteInitOutcome out;
    out.site = site.name;
    out.location = site.repository;
    Result<OpenOptions> open = SiteOpenOptions(site, options.context);
    if (!open.ok()) {
      out.message = open.status().message();
      report.sites.push_back(std::move(out));
      continue;
    }
    Result<std::unique_ptr<Repository>> existing = OpenRepositoryUnlocked(*open);
    if (existing.ok()) {
      Repository& repo = **existing;
      out.repository_id = repo.config().id.Hex();
      if (!origin) {
        out.action = SiteInitAction::kExists;
        out.origin = true;
        out.message = "exists (the origin: the other sites are its replicas)";
        origin = std::move(*existing);
        origin_location = site.repository;
        report.origin = site.name;
      } else if (SharesKeyMaterial(*origin, repo)) {
        out.action = SiteInitAction::kExists;
        out.message = "exists, a replica of " + report.origin;
      } else if (const plan::Service* svc = SyncServiceUsing(plan, site.name)) {
        out.action = SiteInitAction::kRefused;
        out.message =
            "exists but is not a replica of " + report.origin + " (" + origin_location +
            "), and service " + svc->name +
            " writes to it with replication: sync, which needs sites sharing one key. Either "
            "re-create it as a replica (`lifeboat init --replica-of " + origin_location +
            "` at " + site.repository + ", after copying its snapshots elsewhere with `lifeboat "
            "copy`), or set `replication: async` for " + svc->name + " in the plan";
      } else {
        out.action = SiteInitAction::kExistsUnrelated;
        out.message = "exists, not a replica of " + report.origin +
                      " (fine: no service writes to it with replication: sync; copies to it "
                      "are re-encrypted)";
      }
      report.sites.push_back(std::move(out));
      continue;
    }
    if (existing.status().code() != StatusCode::kNoRepository) {
      out.message = existing.status().message();
      report.sites.push_back(std::move(out));
      continue;
    }
    InitOptions init = options.init;
    if (origin) {
      init.replica_of =
          ReplicaSource{origin->config().id, origin->master_key(), origin->config().chunker};
    } else {
      init.replica_of.reset();
    }
    Result<std::unique_ptr<Repository>> created = CreateRepository(*open, init);
    if (!created.ok()) {
      out.message = created.status().message();
      report.sites.push_back(std::move(out));
      continue;
    }
    out.repository_id = (*created)->config().id.Hex();
    if (origin) {
      out.action = SiteInitAction::kCreatedReplica;
      out.message = "created as a replica of " + report.origin;
    } else {
      out.action = SiteInitAction::kCreated;
      out.origin = true;
      out.message = "created (the origin: the other sites are created as its replicas)";
      origin = std::move(*created);
      origin_location = site.repository;
      report.origin = site.name;
    }
    report.sites.push_back(std::move(out));
  }
  return report;
}

}  // namespace lifeboat::dr
