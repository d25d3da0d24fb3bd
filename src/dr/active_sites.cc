// The placement of a run's services after a failover (dr/active_sites.h): which site each is
// backed up from and to first, and which cannot be backed up now.
#include "dr/active_sites.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "util/file_io.h"

namespace lifeboat::dr {

namespace {

bool IncidentEnded(const IncidentState& s) {
  return s.state != kIncidentOpen && s.state != kIncidentFailed;
}

// Why a service the incident moved to `site` is not backed up from there; "" when it was
// recovered there (or the incident does not concern it).
std::string IncidentSkip(const IncidentState* incident, const std::string& service,
                         const std::string& site, const std::string& root) {
  if (incident == nullptr || IncidentEnded(*incident) || incident->to_site != site) return "";
  const IncidentService* s = nullptr;
  for (const IncidentService& candidate : incident->services) {
    if (candidate.service == service) s = &candidate;
  }
  if (s == nullptr || s->result == "recovered") return "";
  const std::string what = s->result == "pending"
                               ? "its recovery there has not ended"
                               : "it was not recovered there (" + s->result +
                                     (s->error.empty() ? "" : ": " + s->error) + ")";
  return "active at " + site + " since incident " + incident->id + ", but " + what + ": " +
         (root == "/" ? std::string("what is at its paths") : "what lies below " + root) +
         " is not its data, so it is not backed up from there. Finish the incident first: "
         "`lifeboat failover rollback` (back to " +
         (s->from_site.empty() ? std::string("its original site") : s->from_site) +
         "), or recover it at " + site + " by hand and `lifeboat failover commit`";
}

// The services an incident of `state_dir` (open or archived) names.
std::set<std::string> ServicesOfIncidents(const std::string& state_dir,
                                          const std::optional<IncidentState>& open) {
  std::set<std::string> out;
  if (open) {
    for (const IncidentService& s : open->services) out.insert(s.service);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir + "/incidents", ec)) {
    if (entry.path().extension() != ".json") continue;
    Result<Bytes> data = ReadWholeFile(entry.path().string());
    if (!data.ok()) continue;
    nlohmann::json j = nlohmann::json::parse(data->begin(), data->end(), nullptr, false);
    if (j.is_discarded()) continue;
    Result<IncidentState> s = IncidentStateFromJson(j);
    if (!s.ok()) continue;
    for (const IncidentService& svc : s->services) out.insert(svc.service);
  }
  return out;
}

}  // namespace

void RunPlacement::ApplyTo(RunOptions* options) const {
  options->read_roots = read_roots;
  options->skip = skip;
}

RunPlacement PlaceServicesForRun(std::shared_ptr<const plan::Plan> plan,
                                 const std::map<std::string, std::string>& active,
                                 const std::string& state_dir) {
  Result<std::optional<IncidentState>> loaded = LoadIncidentState(state_dir);
  const IncidentState* incident = loaded.ok() && loaded->has_value() ? &**loaded : nullptr;
  RunPlacement p;
  for (const plan::Service& s : plan->services) {
    auto a = active.find(s.name);
    if (a == active.end() || a->second.empty() || s.sites.empty()) continue;
    const plan::Site* at = plan->FindSite(a->second);
    if (at == nullptr) continue;
    const std::string root = at->recovery_root.empty() ? "/" : at->recovery_root;
    // The incident's rule holds also for a service active at its first site (a failback home
    // whose recovery there failed): what is at the original paths is not its data either.
    std::string why = IncidentSkip(incident, s.name, a->second, root);
    if (!why.empty()) p.skip[s.name] = std::move(why);
    if (s.sites.front().name == a->second) continue;
    p.moved[s.name] = a->second;
    if (root != "/") p.read_roots[s.name] = root;
  }
  if (!loaded.ok()) {
    const std::string why = "the incident state cannot be read (" + loaded.status().message() + ")";
    for (const auto& [service, site] : p.moved) {
      p.skip[service] = "active at " + site + " since a failover, but " + why +
                        ": whether its recovery there succeeded is unknown, so it is not backed "
                        "up. Repair the incident state (`lifeboat failover status`) and run again";
    }
    p.warnings.push_back(why);
  }
  if (p.moved.empty()) {
    p.plan = std::move(plan);
    return p;
  }
  auto copy = std::make_shared<plan::Plan>(*plan);
  for (plan::Service& s : copy->services) {
    auto m = p.moved.find(s.name);
    if (m == p.moved.end()) continue;
    auto it = std::find_if(s.sites.begin(), s.sites.end(),
                           [&](const plan::NameRef& n) { return n.name == m->second; });
    if (it != s.sites.end()) std::rotate(s.sites.begin(), it, it + 1);  // else: not its site
  }
  p.plan = std::move(copy);
  return p;
}

RunPlacement ReadRunPlacement(std::shared_ptr<const plan::Plan> plan, const std::string& state_dir,
                              const Context& ctx) {
  Result<std::unique_ptr<fence::Fence>> fence =
      fence::OpenFence(plan->daemon, state_dir, fence::ActorIdentity(), ctx);
  Result<std::vector<fence::ActiveSite>> stored =
      fence.ok() ? (*fence)->ReadActiveSites(ctx)
                 : Result<std::vector<fence::ActiveSite>>(fence.status());
  if (!stored.ok()) {
    Result<std::optional<IncidentState>> incident = LoadIncidentState(state_dir);
    const std::string fence_name =
        plan->daemon.etcd ? "the etcd fence" : "the fence in " + state_dir;
    const std::string why = fence_name + " cannot be read (" + stored.status().message() + ")";
    const std::set<std::string> named =
        ServicesOfIncidents(state_dir, incident.ok() ? *incident : std::optional<IncidentState>());
    RunPlacement p;
    p.plan = plan;
    for (const plan::Service& s : plan->services) {
      if (!s.failover && !named.count(s.name)) continue;
      p.skip[s.name] =
          "where it runs is unknown: " + why +
          ", and it may run at another site since a failover. It is not backed up from a guess "
          "(its original paths may hold a stale copy). Make the fence reachable from this machine "
          "and run again (`lifeboat run --service " +
          s.name + " --now`)";
    }
    p.warnings.push_back(why + ": " +
                         (p.skip.empty() ? std::string("no service of the plan could have moved")
                                         : std::to_string(p.skip.size()) +
                                               " service(s) that may have moved are skipped"));
    return p;
  }
  std::map<std::string, std::string> active;
  for (const fence::ActiveSite& a : *stored) {
    if (a.stored) active[a.service] = a.site;
  }
  return PlaceServicesForRun(std::move(plan), active, state_dir);
}

}  // namespace lifeboat::dr
