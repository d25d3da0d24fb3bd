// OpenBackend: turns a repository location ("/srv/repo", "s3:https://host/bucket",
// "sftp:user@host:/srv/repo", "rest:http://host:8000/repo") into a ready Backend with the
// standard decorators. This is the one place where decorators are stacked:
//
//   Local / S3 / SFTP / REST      the storage itself (remote ones pool `connections` requests)
//     -> FaultInjectingBackend    only when a test asks for it (options.faults, or
//                                 SetFaultOptionsForTesting: tests/lifeboat_testing_main.cc)
//       -> RateLimitBackend       with --limit-upload / --limit-download
//         -> ConcurrencyLimitBackend   a local site with -o connections=N
//           -> RetryBackend       outermost, so injected transient faults are retried exactly
//                                 like real ones, and callers only ever see what retry left;
//                                 a backoff wait holds no connection or bandwidth
//
//   LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> be, OpenBackend(repo, /*create=*/false));
//   if (!be->HasConfig()) ...
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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

// The -o keys a scheme ("s3", "sftp", "rest") takes; empty for others. For --help, the
// documentation and the plan's schema.
std::span<const BackendOptionSpec> BackendOptionSpecsFor(std::string_view scheme);

// create=false opens an existing repository: NoRepository ("... is not a Lifeboat repository ...")
// if it is missing. create=true prepares an empty one (see LocalBackend::Create, and each remote
// backend's Open<X>Backend): AlreadyExists if it already holds a config. Locations:
// "/path", "local:/path", "s3:..." (s3/s3_backend.h), "sftp:..." (sftp/sftp_backend.h),
// "rest:..." (rest/rest_backend.h); the schemes restic has and Lifeboat does not (b2:, azure:,
// gs:, swift:, rclone:) and an empty location give InvalidArgument, and so does an -o key that
// no backend of the scheme knows (BackendOptions::CheckKnown). The caller owns the result. Thread-safe. The two-argument form uses default
// options plus the faults of SetFaultOptionsForTesting.
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create);
// The options the two-argument OpenBackend uses: the defaults plus the faults of
// SetFaultOptionsForTesting. Callers that build their own options start from these.
OpenBackendOptions DefaultOpenBackendOptions();
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create,
                                             const OpenBackendOptions& options);

}  // namespace lifeboat
