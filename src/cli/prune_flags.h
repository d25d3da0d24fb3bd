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
// Returns the exit code.
// `assume_removed` (dry runs only): snapshots to plan as if they were gone.
int RunPrune(const GlobalOptions& g, OpenedRepository& opened, const PruneFlags& flags,
             bool dry_run, std::vector<Id> assume_removed = {});

}  // namespace lifeboat::cli
