#include "backend/open_backend.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "backend/concurrency_limit_backend.h"
#include "backend/fault_backend.h"
#include "backend/local_backend.h"
#include "backend/rate_limit_backend.h"
#include "backend/rest/rest_backend.h"
#include "backend/s3/s3_backend.h"
#include "backend/sftp/sftp_backend.h"
#include "util/mutex.h"

namespace lifeboat {

namespace {
Mutex testing_faults_mu;
std::optional<FaultOptions> testing_faults GUARDED_BY(testing_faults_mu);
}  // namespace

void SetFaultOptionsForTesting(std::optional<FaultOptions> faults) {
  MutexLock lock(&testing_faults_mu);
  testing_faults = std::move(faults);
}

OpenBackendOptions DefaultOpenBackendOptions() {
  OpenBackendOptions options;
  MutexLock lock(&testing_faults_mu);
  options.faults = testing_faults;
  return options;
}

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create) {
  return OpenBackend(location, create, DefaultOpenBackendOptions());
}

namespace {

// The remote schemes: how each is opened and which -o keys it takes.
struct RemoteScheme {
  std::string_view name;
  Result<std::unique_ptr<Backend>> (*open)(const BackendOpenArgs& args);
  std::span<const BackendOptionSpec> (*specs)();
};

constexpr RemoteScheme kRemoteSchemes[] = {
    {"s3", OpenS3Backend, S3OptionSpecs},
    {"sftp", OpenSftpBackend, SftpOptionSpecs},
    {"rest", OpenRestBackend, RestOptionSpecs},
};

// Schemes restic knows that Lifeboat does not serve (yet).
constexpr std::string_view kUnsupportedSchemes[] = {"b2", "azure", "gs", "swift", "rclone"};

// True when `location` is "<scheme>:...".
bool HasScheme(const std::string& location, std::string_view scheme) {
  return location.size() > scheme.size() && location.starts_with(scheme) &&
         location[scheme.size()] == ':';
}

// The storage itself, without decorators.
Result<std::unique_ptr<Backend>> OpenStorage(const std::string& location, bool create,
                                             const OpenBackendOptions& options) {
  for (const RemoteScheme& scheme : kRemoteSchemes) {
    if (!HasScheme(location, scheme.name)) continue;
    LB_RETURN_IF_ERROR(options.options.CheckKnown(scheme.name, scheme.specs()));
    BackendOpenArgs args;
    args.location = location;
    args.address = location.substr(scheme.name.size() + 1);
    args.options = options.options;
    args.env = options.env;
    args.context = options.retry.context;
    args.create = create;
    // Opening talks to the server (the bucket and config probes, the SSH handshake): a
    // transient failure there (503 SlowDown, a reset, a server restarting) is retried with the
    // budget of every later call.
    std::unique_ptr<Backend> opened;
    LB_RETURN_IF_ERROR(RetryTransientFailures(
        options.retry, "open " + RedactLocation(location), [&](int) -> Status {
          LB_ASSIGN_OR_RETURN(opened, scheme.open(args));
          return Status::Ok();
        }));
    return opened;
  }
  for (std::string_view scheme : kUnsupportedSchemes) {
    if (HasScheme(location, scheme)) {
      return Status::InvalidArgument("repository \"" + RedactLocation(location) + "\": " +
                                     std::string(scheme) +
                                     " backends are not supported; use a local path, s3:, "
                                     "sftp: or rest: (rclone serve restic reaches " +
                                     std::string(scheme) + ")");
    }
  }
  if (location.starts_with("http://") || location.starts_with("https://")) {
    return Status::InvalidArgument(
        "repository \"" + RedactLocation(location) + "\" is a URL without a backend: write "
        "rest:" + RedactLocation(location) + " for a REST server or s3:" +
        RedactLocation(location) + " for S3-compatible storage");
  }
  LB_RETURN_IF_ERROR(options.options.CheckKnown("local", {}));
  std::string path = location;
  if (path.starts_with("local:")) path = path.substr(6);
  if (path.empty()) return Status::InvalidArgument("repository \"" + location + "\" has no path");
  std::unique_ptr<Backend> backend;
  if (create) {
    LB_ASSIGN_OR_RETURN(backend, LocalBackend::Create(path));
  } else {
    LB_ASSIGN_OR_RETURN(backend, LocalBackend::Open(path));
  }
  return backend;
}

}  // namespace

std::span<const BackendOptionSpec> BackendOptionSpecsFor(std::string_view scheme) {
  for (const RemoteScheme& s : kRemoteSchemes) {
    if (s.name == scheme) return s.specs();
  }
  return {};
}

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create,
                                             const OpenBackendOptions& options) {
  if (location.empty()) {
    return Status::InvalidArgument("no repository given; use --repo or set LIFEBOAT_REPOSITORY");
  }
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenStorage(location, create, options));
  RetryOptions retry = options.retry;
  if (options.faults && options.faults->enabled()) {
    backend = std::make_unique<FaultInjectingBackend>(std::move(backend), *options.faults);
    // Injected faults need no real backoff: keep the attempts, shorten the waits (tests).
    retry.initial_delay = std::chrono::milliseconds(5);
    retry.max_delay = std::chrono::milliseconds(50);
  }
  if (options.limit_upload > 0 || options.limit_download > 0) {
    RateLimitOptions limits;
    limits.upload_bytes_per_second = options.limit_upload;
    limits.download_bytes_per_second = options.limit_download;
    limits.context = options.retry.context;
    backend = std::make_unique<RateLimitBackend>(std::move(backend), limits);
  }
  // The remote backends size their own connection pools from `connections`; a local site is
  // capped here when asked to.
  const bool remote = std::any_of(std::begin(kRemoteSchemes), std::end(kRemoteSchemes),
                                  [&](const RemoteScheme& r) { return HasScheme(location, r.name); });
  if (!remote && (options.options.Find("connections") || options.options.Find("local.connections"))) {
    LB_ASSIGN_OR_RETURN(int connections, ConnectionsOption(options.options, "local", 1));
    backend = std::make_unique<ConcurrencyLimitBackend>(std::move(backend), connections,
                                                        options.retry.context);
  }
  return std::unique_ptr<Backend>(std::make_unique<RetryBackend>(std::move(backend), retry));
}

}  // namespace lifeboat
