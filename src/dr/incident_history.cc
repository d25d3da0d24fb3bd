// ReadIncidentHistory, BuildIncidentHistory and the formats (incident_history.h).
#include "dr/incident_history.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "dr/drill_findings.h"
#include "dr/drill_history_internal.h"
#include "dr/run.h"
#include "dr/sites.h"
#include "repository/keys.h"
#include "util/strings.h"

namespace lifeboat::dr {
namespace {

using J = nlohmann::ordered_json;

bool Selected(const std::vector<std::string>& wanted, const std::string& name) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end();
}

// The caller's context ended the read (Ctrl-C, a deadline): not a site's problem.
bool Stopped(const Status& st) {
  return st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded;
}

std::optional<int64_t> Ns(const std::optional<double>& seconds) {
  if (!seconds) return std::nullopt;
  return static_cast<int64_t>(std::llround(*seconds * 1e9));
}

}  // namespace

std::string IncidentRtoText(const IncidentService& s) {
  return internal::AchievedAgainstTarget(Ns(s.rto_seconds), Ns(s.rto_target_seconds));
}

std::string IncidentDataLossText(const IncidentService& s) {
  return internal::AchievedAgainstTarget(
      Ns(s.data_loss_seconds), s.rpo_target_seconds > 0 ? Ns(s.rpo_target_seconds) : std::nullopt);
}

Status CheckIncidentHistorySelection(const plan::Plan& plan,
                                     const IncidentHistoryOptions& options) {
  std::vector<std::string> sites;
  for (const plan::Site& s : plan.sites) sites.push_back(s.name);
  for (const std::string& s : options.sites)
    if (!plan.FindSite(s))
      return Status::InvalidArgument("--site " + s + ": the plan has no such site (it has " +
                                     JoinStrings(sites, ", ") + ")");
  return Status::Ok();
}

IncidentHistory BuildIncidentHistory(const std::vector<SiteIncidentRecords>& sites,
                                     int64_t now_ns) {
  IncidentHistory h;
  h.now_ns = now_ns;
  std::vector<IncidentRecord> all;
  std::map<std::string, std::vector<std::string>> found_at;  // id -> sites, in the given order
  for (const SiteIncidentRecords& s : sites) {
    for (const IncidentRecord& r : s.records) {
      all.push_back(r);
      std::vector<std::string>& at = found_at[r.id];
      if (std::find(at.begin(), at.end(), s.site) == at.end()) at.push_back(s.site);
    }
  }
  std::vector<IncidentRecord> latest = LatestIncidents(std::move(all), &h.superseded);
  // Newest first.
  std::sort(latest.begin(), latest.end(), [](const IncidentRecord& a, const IncidentRecord& b) {
    if (a.start_ns != b.start_ns) return a.start_ns > b.start_ns;
    return a.id < b.id;
  });
  for (IncidentRecord& r : latest) {
    IncidentEntry e;
    e.sites = found_at[r.id];
    e.record = std::move(r);
    h.incidents.push_back(std::move(e));
  }
  return h;
}

Result<IncidentHistory> ReadIncidentHistory(const plan::Plan& plan,
                                            const IncidentHistoryOptions& options) {
  LB_RETURN_IF_ERROR(CheckIncidentHistorySelection(plan, options));
  const Context& ctx = options.context;
  std::vector<SiteIncidentRecords> per_site;
  std::vector<std::string> warnings, read, secrets;
  for (const plan::Site& site : plan.sites) {
    if (!Selected(options.sites, site.name)) continue;
    LB_RETURN_IF_ERROR(ctx.Check("reading incident records"));
    Result<RecordSite> opened = OpenRecordSite(site, ctx, &secrets);
    if (!opened.ok()) {
      if (Stopped(opened.status())) return opened.status();
      warnings.push_back("site " + site.name + " cannot be opened (" +
                         RedactSecrets(opened.status().message(), secrets) +
                         "): its incident records are left out");
      continue;
    }
    Result<IncidentListing> listing = ListIncidents(*opened->repo, ctx);
    if (!listing.ok()) {
      if (Stopped(listing.status())) return listing.status();
      warnings.push_back("the incident records of site " + site.name + " cannot be read (" +
                         RedactSecrets(listing.status().message(), secrets) +
                         "): they are left out");
      continue;
    }
    read.push_back(site.name);
    for (const UnreadableRunObject& u : listing->unreadable) {
      warnings.push_back("record object runs/" + u.name + " at site " + site.name +
                         " cannot be read (" + RedactSecrets(u.status.message(), secrets) +
                         "): its records are left out");
    }
    // Only the record that counts per id at this site: an earlier state that this site holds
    // alone is superseded by it anyway (sequences only grow).
    per_site.push_back({site.name, std::move(listing->incidents)});
  }
  IncidentHistory h = BuildIncidentHistory(per_site, ctx.clock().WallNs());
  h.sites_read = std::move(read);
  h.warnings = std::move(warnings);
  return h;
}

std::string IncidentHistoryText(const IncidentHistory& history) {
  std::string out;
  if (history.incidents.empty()) {
    out += "No incident recorded at " +
           (history.sites_read.empty() ? std::string("any site")
                                       : "the sites " + JoinStrings(history.sites_read, ", ")) +
           ".\n";
  }
  for (const IncidentEntry& e : history.incidents) {
    const IncidentRecord& r = e.record;
    out += internal::DrillTimeUtc(r.start_ns) + " UTC  " + std::string(IncidentKindName(r.kind)) +
           "  " + std::string(IncidentStateName(r.state)) + "  " + r.from_site + " -> " +
           r.to_site + "  declared by " + r.declared_by + "\n";
    out += "  incident " + r.id + ", sequence " + std::to_string(r.sequence) + ", fencing token " +
           std::to_string(r.fencing_token) + ", at sites " + JoinStrings(e.sites, ", ") + "\n";
    if (!r.ends_incident.empty()) out += "  ends incident " + r.ends_incident + "\n";
    if (!r.reason.empty()) out += "  reason: " + r.reason + "\n";
    if (r.failure_ns != 0) out += "  failure: " + internal::DrillTimeUtc(r.failure_ns) + " UTC\n";
    if (r.end_ns != 0) out += "  ended: " + internal::DrillTimeUtc(r.end_ns) + " UTC\n";
    for (const IncidentService& s : r.services) {
      out += "  " + s.service + "  tier " + std::to_string(s.tier) + ", wave " +
             std::to_string(s.wave) + "  " + s.result + "  RTO " + IncidentRtoText(s) +
             "  data loss " + IncidentDataLossText(s);
      if (!s.error.empty()) out += "  error: " + s.error;
      out += "\n";
    }
  }
  for (const std::string& w : history.warnings) out += "warning: " + w + "\n";
  return out;
}

J IncidentHistoryJson(const IncidentHistory& history) {
  J incidents = J::array();
  for (const IncidentEntry& e : history.incidents) {
    incidents.push_back(
        {{"record", J::parse(IncidentRecordEncoding(e.record))}, {"sites", e.sites}});
  }
  return J{{"now", FormatTime(history.now_ns)},
           {"sites_read", history.sites_read},
           {"warnings", history.warnings},
           {"superseded", history.superseded},
           {"incidents", std::move(incidents)}};
}

}  // namespace lifeboat::dr
