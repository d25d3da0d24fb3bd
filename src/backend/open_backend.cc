#include "backend/open_backend.h"

#include <string_view>

#include "backend/fault_backend.h"
#include "backend/local_backend.h"
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

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& location, bool create,
                                             const OpenBackendOptions& options) {
  if (location.empty()) {
    return Status::InvalidArgument("no repository given; use --repo or set LIFEBOAT_REPOSITORY");
  }
  static constexpr std::string_view kUnsupported[] = {"s3",    "sftp", "rest",  "b2",
                                                      "azure", "gs",   "swift", "rclone"};
  for (std::string_view scheme : kUnsupported) {
    if (location.size() > scheme.size() && location.starts_with(scheme) &&
        location[scheme.size()] == ':') {
      return Status::InvalidArgument("repository \"" + location + "\": " + std::string(scheme) +
                                     " backends are not supported yet; use a local path");
    }
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
  RetryOptions retry = options.retry;
  if (options.faults && options.faults->enabled()) {
    backend = std::make_unique<FaultInjectingBackend>(std::move(backend), *options.faults);
    // Injected faults need no real backoff: keep the attempts, shorten the waits (tests).
    retry.initial_delay = std::chrono::milliseconds(5);
    retry.max_delay = std::chrono::milliseconds(50);
  }
  return std::unique_ptr<Backend>(std::make_unique<RetryBackend>(std::move(backend), retry));
}

}  // namespace lifeboat
