// OpenBackend: turns a repository location ("/srv/repo", "local:/srv/repo") into a ready Backend
// with the standard decorators. This is the one place where decorators are stacked:
//
//   LocalBackend                  the storage itself
//     -> FaultInjectingBackend    only if LIFEBOAT_FAULT_* asks for it (tests, crash harness)
//       -> RetryBackend           outermost, so injected transient faults are retried exactly
//                                 like real ones, and callers only ever see what retry left
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, OpenBackend(repo, /*create=*/false));
//   if (!be->HasConfig()) ...
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/retry_backend.h"

namespace lifeboat {

struct OpenBackendOptions {
  RetryOptions retry;
  // Read FaultOptions::FromEnvironment() and insert a FaultInjectingBackend when it asks.
  bool faults_from_environment = true;
};

// create=false opens an existing repository: NotFound ("... is not a Lifeboat repository ...")
// if it is missing. create=true prepares an empty one (see LocalBackend::Create): AlreadyExists
// if it already holds a config. Schemes not implemented yet (s3:, sftp:, rest:, b2:, azure:,
// gs:, swift:, rclone:) give InvalidArgument "... not supported yet"; an empty location gives
// InvalidArgument; a malformed LIFEBOAT_FAULT_* variable gives InvalidArgument. The caller owns
// the result. Thread-safe (reads the environment).
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create);
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create,
                                             const OpenBackendOptions& options);

}  // namespace lifeboat
