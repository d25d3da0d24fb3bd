#include "dr/sites.h"

#include <algorithm>
#include <optional>
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

namespace {

// The repository at `open` by its proof in `proofs` (KeyProofs); null when there is no proof, it
// does not hold, or no opened site shares the key material.
std::unique_ptr<Repository> OpenByProof(const OpenOptions& open, const std::string& password,
                                        const KeyProofs& proofs) {
  Result<std::optional<StatusCache::KeyProof>> known = proofs.cache->FindKeyProof(open.location);
  if (!known.ok() || !known->has_value()) return nullptr;
  const StatusCache::KeyProof& proof = **known;
  for (const Repository* material : proofs.opened) {
    if (material == nullptr || material->key_name().empty()) continue;
    Result<std::unique_ptr<Backend>> backend = OpenRepositoryBackend(open);
    if (!backend.ok()) return nullptr;
    Result<std::unique_ptr<Repository>> repo = Repository::OpenWithPasswordProof(
        std::move(*backend), *material, proof.key_name, password, proof.proof);
    if (repo.ok() && (*repo)->config().id.Hex() == proof.repo_id) return std::move(*repo);
  }
  return nullptr;
}

}  // namespace

Result<RecordSite> OpenRecordSite(const plan::Site& site, const Context& ctx,
                                  std::vector<std::string>* secrets, const KeyProofs* proofs) {
  RecordSite out;
  LB_ASSIGN_OR_RETURN(out.open, SiteOpenOptions(site, ctx));
  if (secrets != nullptr) {
    for (const auto& [var, value] : out.open.backend.env) secrets->push_back(value);
  }
  LB_ASSIGN_OR_RETURN(std::string password,
                      ResolveSecret(site.password, "site " + site.name + ": password", ctx));
  if (secrets != nullptr) secrets->push_back(password);
  out.open.password = PasswordSource::Value(password);
  out.open.lock.reset();
  out.open.load_index = false;
  const bool with_proofs = proofs != nullptr && proofs->cache != nullptr;
  if (with_proofs) {
    out.repo = OpenByProof(out.open, password, *proofs);
    if (out.repo != nullptr) return out;
  }
  Result<std::unique_ptr<Repository>> repo = OpenRepositoryUnlocked(out.open);
  if (!repo.ok()) {
    return repo.status().WithContext("site " + site.name + " (" + site.repository + ")");
  }
  out.repo = std::move(*repo);
  const std::string proof = out.repo->PasswordProof(password);
  if (with_proofs && !proof.empty()) {
    // Only a cache: when it cannot be written, the next open derives the key again.
    proofs->cache
        ->RememberKeyProof(out.open.location,
                           {out.repo->config().id.Hex(), out.repo->key_name(), proof})
        .IgnoreError();
  }
  return out;
}

Result<ReplicaSite> SiteAsReplica(const plan::Site& site, const Context& ctx) {
  ReplicaSite r;
  r.name = site.name;
  r.location = site.repository;
  LB_ASSIGN_OR_RETURN(r.backend, SiteBackendOptions(site, ctx));
  return r;
}

namespace {

void CollectEnvSecret(const plan::SecretRef& s, std::vector<std::string>* out) {
  if (s.kind == plan::SecretRef::Kind::kEnv) out->push_back(s.value);
}
void CollectEnvSecret(const std::optional<plan::SecretRef>& s, std::vector<std::string>* out) {
  if (s) CollectEnvSecret(*s, out);
}

}  // namespace

std::vector<std::string> PlanSecretVariables(const plan::Plan& plan) {
  std::vector<std::string> out;
  for (const plan::Site& s : plan.sites) {
    CollectEnvSecret(s.password, &out);
    for (const plan::EnvEntry& e : s.env) CollectEnvSecret(e.secret, &out);
  }
  for (const plan::Service& svc : plan.services) {
    for (const plan::Source& src : svc.sources) {
      if (src.kind == plan::SourceKind::kPostgres) CollectEnvSecret(src.postgres.password, &out);
    }
  }
  for (const plan::Channel& c : plan.channels) {
    for (const plan::EnvEntry& e : c.headers) CollectEnvSecret(e.secret, &out);
    CollectEnvSecret(c.webhook_url, &out);
    CollectEnvSecret(c.token, &out);
    CollectEnvSecret(c.routing_key, &out);
    CollectEnvSecret(c.ping_url, &out);
    CollectEnvSecret(c.password, &out);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace lifeboat::dr
