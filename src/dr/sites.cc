#include "dr/sites.h"

#include <utility>

#include "engine/password.h"

namespace lifeboat::dr {

Result<std::string> ResolveSecret(const plan::SecretRef& secret, const std::string& owner,
                                  const Context& ctx) {
  Result<std::string> value = ResolvePassword(plan::ToPasswordSource(secret), ctx);
  if (value.ok()) return value;
  const plan::Position& at = secret.position;
  return value.status().WithContext(owner + " (" + at.file + ":" + std::to_string(at.line) + ":" +
                                    std::to_string(at.column) + ")");
}

Result<OpenBackendOptions> SiteBackendOptions(const plan::Site& site, const Context& ctx) {
  OpenBackendOptions o = DefaultOpenBackendOptions();
  for (const plan::SiteOption& opt : site.options) o.options.Set(opt.key, opt.value);
  for (const plan::EnvEntry& e : site.env) {
    LB_ASSIGN_OR_RETURN(std::string value,
                        ResolveSecret(e.secret, "site " + site.name + ": env " + e.name, ctx));
    o.env[e.name] = std::move(value);
  }
  return o;
}

Result<OpenOptions> SiteOpenOptions(const plan::Site& site, const Context& ctx) {
  OpenOptions o;
  o.location = site.repository;
  o.password = plan::ToPasswordSource(site.password);
  o.context = ctx;
  LB_ASSIGN_OR_RETURN(o.backend, SiteBackendOptions(site, ctx));
  return o;
}

Result<ReplicaSite> SiteAsReplica(const plan::Site& site, const Context& ctx) {
  ReplicaSite r;
  r.name = site.name;
  r.location = site.repository;
  LB_ASSIGN_OR_RETURN(r.backend, SiteBackendOptions(site, ctx));
  return r;
}

}  // namespace lifeboat::dr
