// OpenBackend: turns a repository location ("/srv/repo", "local:/srv/repo") into a ready Backend
// with the standard decorators. This is the one place where decorators are stacked:
//
//   LocalBackend                  the storage itself
//     -> FaultInjectingBackend    only when a test asks for it (options.faults, or
//                                 SetFaultOptionsForTesting: tests/lifeboat_testing_main.cc)
//       -> RetryBackend           outermost, so injected transient faults are retried exactly
//                                 like real ones, and callers only ever see what retry left
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, OpenBackend(repo, /*create=*/false));
//   if (!be->HasConfig()) ...
#pragma once

#include <memory>
#include <string>

#include <optional>

#include "backend/backend.h"
#include "backend/fault_backend.h"
#include "backend/retry_backend.h"

namespace lifeboat {

struct OpenBackendOptions {
  RetryOptions retry;
  // Insert a FaultInjectingBackend with these options (tests only). Retries then back off for
  // milliseconds instead of seconds.
  std::optional<FaultOptions> faults;
};

// For tests only: every later OpenBackend(location, create) injects these faults (nullopt: none,
// the default). The test executable sets it from LIFEBOAT_FAULT_*; the release binary never
// calls it, so nothing in its environment can inject faults. Thread-safe.
void SetFaultOptionsForTesting(std::optional<FaultOptions> faults);

// create=false opens an existing repository: NoRepository ("... is not a Lifeboat repository ...")
// if it is missing. create=true prepares an empty one (see LocalBackend::Create): AlreadyExists
// if it already holds a config. Schemes not implemented yet (s3:, sftp:, rest:, b2:, azure:,
// gs:, swift:, rclone:) give InvalidArgument "... not supported yet"; an empty location gives
// InvalidArgument. The caller owns the result. Thread-safe. The two-argument form uses default
// options plus the faults of SetFaultOptionsForTesting.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create);
// The options the two-argument OpenBackend uses: the defaults plus the faults of
// SetFaultOptionsForTesting. Callers that build their own options start from these.
OpenBackendOptions DefaultOpenBackendOptions();
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create,
                                             const OpenBackendOptions& options);

}  // namespace lifeboat
