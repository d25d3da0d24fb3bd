#include "daemon/failover_rule.h"

#include <algorithm>

namespace lifeboat::daemon {

std::string ReportedState(const nlohmann::json& health, const std::string& service) {
  if (!health.is_object()) return "";
  auto services = health.find("services");
  if (services == health.end() || !services->is_array()) return "";
  for (const nlohmann::json& s : *services) {
    if (!s.is_object()) continue;
    auto name = s.find("service");
    auto state = s.find("state");
    if (name == s.end() || state == s.end() || !name->is_string() || !state->is_string()) continue;
    if (name->get<std::string>() == service) return state->get<std::string>();
  }
  return "";
}

FailoverDecision DecideFailover(const std::string& service, const std::string& active_site,
                                const std::vector<std::string>& our_sites,
                                const Result<std::vector<fence::Member>>& members) {
  FailoverDecision d;
  if (std::find(our_sites.begin(), our_sites.end(), active_site) != our_sites.end()) {
    d.fail_over = true;
    d.why = "site " + active_site + " is one of this daemon's sites, whose checks declared it";
    return d;
  }
  if (!members.ok()) {
    d.why = "the fence cannot say whether site " + active_site +
            " still has a daemon: " + members.status().message();
    return d;
  }
  const fence::Member* member = nullptr;
  for (const fence::Member& m : *members) {
    if (m.site == active_site) member = &m;
  }
  if (member == nullptr) {
    d.fail_over = true;
    d.why = "site " + active_site + " has no daemon (its member key is gone)";
    d.guard = fence::MemberGuard{active_site, 0};
    return d;
  }
  const std::string state = ReportedState(member->health, service);
  if (state == "failed") {
    d.fail_over = true;
    d.why = "site " + active_site + "'s daemon (" + member->actor + ") reports it failed too";
    d.guard = fence::MemberGuard{active_site, member->revision};
    return d;
  }
  d.why = "site " + active_site + " still sees it " +
          (state.empty() ? std::string("unchecked (no health view of it yet)") : state) + " (" +
          member->actor + ")";
  return d;
}

}  // namespace lifeboat::daemon
