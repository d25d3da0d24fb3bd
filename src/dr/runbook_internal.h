// The runbook's parts (runbook.h), shared by its files: the shell commands of each site and
// service (runbook_commands.cc) and the renderers (runbook_render.cc). Pure. Any thread.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.h"
#include "recover/waves.h"

namespace lifeboat::dr::runbook_internal {

// Where a secret comes from, for people, never its value: "the first line of the file
// /etc/lifeboat/a.pass", "the first line printed by `pass show x`", "the environment variable
// DR_PASS".
std::string SecretOrigin(const plan::SecretRef& secret);

// `--repo LOCATION [-o KEY=VALUE]...` of the site, quoted for sh.
std::string RepoArguments(const plan::Site& site);

// Block `site=S part=prepare`: RECOVERY_DIR, the repository password source and the backend's
// credentials as the site gives them (references only), and `lifeboat snapshots` to prove the
// repository opens.
std::string SitePrepareCommands(const plan::Site& site, const std::string& recovery_dir);

// Block `service=N part=env`: the step environment of doc/drills.md, "Environment", in failover
// form (the plan's ports; dependencies' restore directories and ports).
std::string ServiceEnvironmentCommands(const plan::Plan& plan, const plan::Service& service,
                                       const recover::WaveService& wave_service);

// Block `service=N site=S part=restore`: the service's snapshots at the site, then each source
// restored (`restore latest --service N --source X`, `--verify` when the service has a `files`
// check) into $LIFEBOAT_RESTORE_DIR.
std::string ServiceRestoreCommands(const plan::Site& site, const plan::Service& service);

// Block `service=N part=start`: the recover steps, in order (empty when the service has none).
std::string ServiceStartCommands(const plan::Plan& plan, const plan::Service& service);

// Block `service=N part=verify`: the checks, in order (empty when it has none).
std::string ServiceVerifyCommands(const plan::Plan& plan, const plan::Service& service);

// The variables a recover step or check must not see (`env -u`): the password variables and
// backend credentials the service's sites set, every `X_env` variable of the plan, PGPASSWORD
// when a postgres source sets it. Sorted, each once.
std::vector<std::string> StepSecretVariables(const plan::Plan& plan,
                                             const plan::Service& service);

// The source a postgres_restore step or sql check means (its `source`, else the service's only
// postgres source); null when there is none.
const plan::Source* PostgresSourceOf(const plan::Service& service, const std::string& name);

}  // namespace lifeboat::dr::runbook_internal
