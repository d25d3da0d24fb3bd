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

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "backend/backend_options.h"
#include "backend/fault_backend.h"
#include "backend/retry_backend.h"

namespace lifeboat {

struct OpenBackendOptions {
  // -o KEY=VALUE options (backend/backend_options.h; a plan site's `options`): each backend takes
  // its own keys; a key no backend of the location's scheme knows is an error.
  BackendOptions options;
  // Environment variables for this site (a plan site's `env`), looked up before the process
  // environment (credentials: BackendOpenArgs::LookupEnv).
  std::map<std::string, std::string, std::less<>> env;
  // Bandwidth limits in bytes per second for what is stored (upload) and loaded (download), shared
  // by all of the job's transfers to this site; 0: none (--limit-upload / --limit-download).
  uint64_t limit_upload = 0;
  uint64_t limit_download = 0;
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
