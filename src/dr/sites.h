// The plan's sites as the engine opens them: a plan::Site (src/plan/plan.h) becomes the
// OpenOptions of the engine's library API (engine/open.h), or a ReplicaSite for a backup written
// to several sites at once (engine/multi_site.h). Everything the DR layer does to a site (run,
// status, plan init, drills, failover) opens it through here, so secrets are resolved one way.
//
//   LB_ASSIGN_OR_RETURN(OpenOptions open, dr::SiteOpenOptions(site, ctx));
//   open.lock = LockKind::kShared;
//   LB_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepository(open));
//
// Secrets: the password stays a PasswordSource (resolved by the engine only when a key is
// opened); the `env` entries (backend credentials) are resolved here, when the site is about to
// be opened, with ResolvePassword's rules (file: first line; command: /bin/sh -c, first line,
// no Lifeboat secret in its environment, stopped with the context; env: the variable). Their
// values go only into OpenBackendOptions::env and never into a message.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/multi_site.h"
#include "engine/open.h"
#include "plan/plan.h"
#include "runlog/cache.h"
#include "util/context.h"
#include "util/status.h"

namespace lifeboat::dr {

// The value a plan secret reference names, now. Errors name the site or channel (`owner`) and
// the reference's kind and file position, never the value: "site offsite: env AWS_SECRET_ACCESS_KEY
// (lifeboat.yaml:12:7): environment variable S3_SECRET is not set".
Result<std::string> ResolveSecret(const plan::SecretRef& secret, const std::string& owner,
                                  const Context& ctx);

// The site's backend options: its `options` (-o keys; a key its scheme does not take fails when
// the site is opened, and plan validate reports it first) and resolved `env`.
Result<OpenBackendOptions> SiteBackendOptions(const plan::Site& site, const Context& ctx);

// Location, password source, backend options and context of the site. Lock and index are left
// at OpenOptions' defaults (a shared lock, index loaded): the caller sets what its job needs.
Result<OpenOptions> SiteOpenOptions(const plan::Site& site, const Context& ctx);

// A site opened for record objects (run and drill records, runlog/): no lock (records are
// immutable objects), no index, the password resolved once (ResolveSecret) and kept as a value,
// so that later opens of the same site can reuse the key (OpenOptions::reuse_key_of).
struct RecordSite {
  OpenOptions open;  // SiteOpenOptions with the password as a resolved value
  std::unique_ptr<Repository> repo;
};

// Password proofs (doc/run.md, "Password proofs"): a site that shares key material with a
// site opened before it (a replica) is opened with the proof the status cache keeps for it
// instead of a second key derivation (Repository::OpenWithPasswordProof); a site opened with its
// password leaves its proof there.
struct KeyProofs {
  StatusCache* cache = nullptr;            // null: every site is opened with its password
  std::vector<const Repository*> opened;  // sites opened already, with their key material
};

// Opens `site` as RecordSite says. Every secret value resolved on the way (the env entries, the
// password) is appended to *secrets (may be null), also when the open then fails, for the
// caller's redaction. With `proofs` (may be null) as KeyProofs says. Errors: the secret's
// (naming the reference, never the value); the open's, with the context "site NAME
// (REPOSITORY)". Blocks (key derivation, the backend).
Result<RecordSite> OpenRecordSite(const plan::Site& site, const Context& ctx,
                                  std::vector<std::string>* secrets,
                                  const KeyProofs* proofs = nullptr);

// The site as a replica of a multi-site backup (name, location, backend options).
Result<ReplicaSite> SiteAsReplica(const plan::Site& site, const Context& ctx);

// The environment variables the plan reads secrets from (every `X_env: VARIABLE` of sites, their
// `env`, postgres sources and channels), sorted, each once. Children the DR layer starts (hooks,
// command sources, recover steps) get them set to the empty string, so that a secret the plan
// takes from Lifeboat's environment never reaches them.
std::vector<std::string> PlanSecretVariables(const plan::Plan& plan);

}  // namespace lifeboat::dr
