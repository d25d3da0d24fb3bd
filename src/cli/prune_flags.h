// Prune's command-line flags, shared by `prune` and `forget --prune` (cmd_prune.cc).
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"

namespace lifeboat::cli {

struct PruneFlags {
  std::string max_unused = "5%";
  std::string max_repack_size;  // empty: no limit
};

void AddPruneFlags(CLI::App* cmd, PruneFlags* flags);
// Prunes the opened repository (which must hold the exclusive lock) and prints what happened.
// Returns the exit code: 3 (kExitIncomplete) when the site's Object Lock kept objects prune would
// have removed (not in a dry run).
// `assume_removed` (dry runs only): snapshots to plan as if they were gone.
int RunPrune(const GlobalOptions& g, OpenedRepository& opened, const PruneFlags& flags,
             bool dry_run, std::vector<Id> assume_removed = {});

// A site's Object Lock (BackendHints::object_lock) for --json: {"days": N, "mode": "GOVERNANCE"},
// or null when the backend advertises none.
nlohmann::json ObjectLockJson(const Backend& backend);
// Says once, before `verb` ("prune", "forget") changes anything, that the site locks objects and
// what that means for the run (nothing with --json or without a lock).
void AnnounceObjectLock(const GlobalOptions& g, const Backend& backend, const std::string& verb);

}  // namespace lifeboat::cli
