#include "dr/drill_history.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_set>

#include "dr/sites.h"
#include "engine/open.h"
#include "util/strings.h"

namespace lifeboat::dr {
namespace {

bool Selected(const std::vector<std::string>& wanted, const std::string& name) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end();
}

// The caller's context ended the read (Ctrl-C, a deadline): not a site's problem.
bool Stopped(const Status& st) {
  return st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded;
}

std::optional<int64_t> Ns(const std::optional<std::chrono::seconds>& s) {
  if (!s) return std::nullopt;
  return std::chrono::nanoseconds(*s).count();
}

}  // namespace

Status CheckDrillHistorySelection(const plan::Plan& plan, const DrillHistoryOptions& options) {
  std::vector<std::string> services, sites;
  for (const plan::Service& s : plan.services) services.push_back(s.name);
  for (const plan::Site& s : plan.sites) sites.push_back(s.name);
  for (const std::string& s : options.services)
    if (!plan.FindService(s))
      return Status::InvalidArgument("--service " + s + ": the plan has no such service (it has " +
                                     JoinStrings(services, ", ") + ")");
  for (const std::string& s : options.sites)
    if (!plan.FindSite(s))
      return Status::InvalidArgument("--site " + s + ": the plan has no such site (it has " +
                                     JoinStrings(sites, ", ") + ")");
  return Status::Ok();
}

DrillHistory BuildDrillHistory(const plan::Plan& plan, const DrillHistoryOptions& options,
                               const std::vector<DrillRecord>& records, int64_t now_ns) {
  DrillHistory h;
  h.now_ns = now_ns;
  // One record per id, whichever site it came from.
  std::vector<DrillRecord> unique;
  std::unordered_set<std::string> seen;
  std::set<std::string> unknown;
  for (const DrillRecord& r : records) {
    if (!seen.insert(r.id).second) {
      ++h.duplicates;
      continue;
    }
    if (!plan.FindService(r.service)) {
      unknown.insert(r.service);
      continue;
    }
    if (!Selected(options.sites, r.site)) continue;
    unique.push_back(r);
  }
  std::sort(unique.begin(), unique.end(), [](const DrillRecord& a, const DrillRecord& b) {
    if (a.start_ns != b.start_ns) return a.start_ns < b.start_ns;
    if (a.service != b.service) return a.service < b.service;
    return a.id < b.id;
  });
  if (!unknown.empty()) {
    h.warnings.push_back("drill records of services the plan does not have are left out: " +
                         JoinStrings({unknown.begin(), unknown.end()}, ", "));
  }
  for (const plan::Service& s : plan.services) {
    if (!Selected(options.services, s.name)) continue;
    ServiceDrills sd;
    sd.service = s.name;
    sd.tier = s.tier;
    sd.owner = s.owner;
    sd.rto_ns = Ns(s.rto);
    sd.rpo_ns = s.rpo.count() > 0 ? std::optional<int64_t>(Ns(s.rpo)) : std::nullopt;
    sd.drill_every_ns = Ns(s.drill_every);
    for (const DrillRecord& r : unique)
      if (r.service == s.name) sd.drills.push_back(r);
    for (const DrillRecord& r : sd.drills) sd.findings.push_back(AssessDrill(r, sd.drills, &s));
    sd.assessment = AssessService(s, sd.drills, now_ns);
    h.services.push_back(std::move(sd));
  }
  return h;
}

Result<DrillHistory> ReadDrillHistory(const plan::Plan& plan, const DrillHistoryOptions& options) {
  LB_RETURN_IF_ERROR(CheckDrillHistorySelection(plan, options));
  const Context& ctx = options.context;
  std::vector<DrillRecord> records;
  std::vector<std::string> warnings, read;
  for (const plan::Site& site : plan.sites) {
    if (!Selected(options.sites, site.name)) continue;
    // Only sites that hold a selected service: records are written where the service was
    // drilled from and copied along its sites.
    const bool holds = std::any_of(plan.services.begin(), plan.services.end(), [&](const auto& s) {
      return Selected(options.services, s.name) &&
             std::any_of(s.sites.begin(), s.sites.end(),
                         [&](const plan::NameRef& r) { return r.name == site.name; });
    });
    if (!holds) continue;
    LB_RETURN_IF_ERROR(ctx.Check("reading drill records"));
    Result<OpenOptions> open = SiteOpenOptions(site, ctx);
    if (!open.ok()) {
      warnings.push_back("site " + site.name + " cannot be opened (" + open.status().message() +
                         "): its drill records are left out");
      continue;
    }
    open->lock.reset();
    open->load_index = false;
    Result<std::unique_ptr<Repository>> repo = OpenRepositoryUnlocked(*open);
    if (!repo.ok()) {
      if (Stopped(repo.status())) return repo.status();
      warnings.push_back("site " + site.name + " cannot be opened (" + repo.status().message() +
                         "): its drill records are left out");
      continue;
    }
    DrillRecordFilter filter;
    filter.services = options.services;
    Result<DrillRecordListing> listing = ListDrillRecords(**repo, filter, ctx);
    if (!listing.ok()) {
      if (Stopped(listing.status())) return listing.status();
      warnings.push_back("the drill records of site " + site.name + " cannot be read (" +
                         listing.status().message() + "): they are left out");
      continue;
    }
    read.push_back(site.name);
    for (const UnreadableRunObject& u : listing->unreadable) {
      warnings.push_back("record object runs/" + u.name + " at site " + site.name +
                         " cannot be read (" + u.status.message() + "): its records are left out");
    }
    for (DrillRecord& r : listing->records) records.push_back(std::move(r));
  }
  DrillHistory h = BuildDrillHistory(plan, options, records, ctx.clock().WallNs());
  h.sites_read = std::move(read);
  warnings.insert(warnings.end(), h.warnings.begin(), h.warnings.end());
  h.warnings = std::move(warnings);
  return h;
}

}  // namespace lifeboat::dr
