#include "backend/multi_site_backend.h"

#include <algorithm>

#include "backend/backend_options.h"
#include "util/parallel_for.h"

namespace lifeboat {

namespace {

// The objects a backup writes that every site must get.
bool Replicated(ObjectType type) {
  return type == ObjectType::kPack || type == ObjectType::kIndex || type == ObjectType::kSnapshot;
}

}  // namespace

MultiSiteBackend::MultiSiteBackend(std::unique_ptr<Backend> primary, std::string primary_name,
                                   Clock& clock)
    : ForwardingBackend(std::move(primary)), clock_(clock), start_ns_(clock.MonotonicNs()) {
  Site site;
  site.report.name = std::move(primary_name);
  site.report.location = RedactLocation(inner()->Location());
  site.report.primary = true;
  site.backend = inner();
  MutexLock lock(&mu_);
  sites_.push_back(std::move(site));
}

void MultiSiteBackend::AddReplica(std::string name, Backend* replica,
                                  std::function<Status()> before_snapshot) {
  Site site;
  site.report.name = std::move(name);
  site.report.location = RedactLocation(replica->Location());
  site.backend = replica;
  site.before_snapshot = std::move(before_snapshot);
  MutexLock lock(&mu_);
  sites_.push_back(std::move(site));
}

void MultiSiteBackend::AddFailedReplica(std::string name, std::string location, Status error) {
  Site site;
  site.report.name = std::move(name);
  site.report.location = RedactLocation(location);
  site.report.error = std::move(error);
  MutexLock lock(&mu_);
  sites_.push_back(std::move(site));
}

BackendHints MultiSiteBackend::Hints() const {
  BackendHints hints = inner()->Hints();
  MutexLock lock(&mu_);
  for (const Site& site : sites_) {
    if (site.backend != nullptr) {
      hints.concurrent_requests =
          std::max(hints.concurrent_requests, site.backend->Hints().concurrent_requests);
    }
  }
  return hints;
}

Status MultiSiteBackend::Save(const ObjectHandle& h, ByteView data) {
  const ByteView parts[] = {data};
  return SaveParts(h, parts);
}

Status MultiSiteBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  if (!Replicated(h.type)) return inner()->SaveParts(h, parts);
  uint64_t size = 0;
  for (ByteView part : parts) size += part.size();
  size_t count;
  {
    MutexLock lock(&mu_);
    count = sites_.size();
  }
  std::vector<Status> results(count);
  ParallelFor(count, static_cast<int>(count), nullptr, [&](size_t i) {
    if (i == 0 || Healthy(i)) results[i] = SaveTo(i, h, parts, size);
  });
  // The primary's outcome is the call's: the backup goes on while the primary does. A replica's
  // failure was recorded by SaveTo and leaves the others alone.
  return results[0];
}

Status MultiSiteBackend::SaveTo(size_t i, const ObjectHandle& h, ByteParts parts, uint64_t size) {
  Backend* backend;
  std::function<Status()> before_snapshot;
  {
    MutexLock lock(&mu_);
    backend = sites_[i].backend;
    before_snapshot = sites_[i].before_snapshot;
  }
  Status status;
  if (h.type == ObjectType::kSnapshot && before_snapshot) status = before_snapshot();
  if (status.ok()) status = backend->SaveParts(h, parts);
  if (status.code() == StatusCode::kAlreadyExists && i > 0 && h.type != ObjectType::kSnapshot) {
    // Left by an earlier, interrupted run: the name is the hash of the stored bytes.
    Result<ObjectInfo> stored = backend->Stat(h);
    if (!stored.ok()) {
      status = stored.status();
    } else if (stored->size == size) {
      status = Status::Ok();
    } else {
      status = Status::Corruption(DescribeObject(h) + " is already stored with " +
                                  std::to_string(stored->size) + " bytes instead of " +
                                  std::to_string(size) + ": the site holds a damaged copy "
                                  "(run `lifeboat check` there)");
    }
  }
  if (!status.ok()) {
    if (i > 0) Fail(i, status);
    return status;
  }
  MutexLock lock(&mu_);
  SiteReport& report = sites_[i].report;
  report.objects_sent++;
  report.bytes_sent += size;
  if (h.type == ObjectType::kSnapshot) report.snapshot_landed = true;
  report.seconds = static_cast<double>(clock_.MonotonicNs() - start_ns_) / 1e9;
  return Status::Ok();
}

bool MultiSiteBackend::Healthy(size_t i) const {
  MutexLock lock(&mu_);
  return sites_[i].backend != nullptr && sites_[i].report.error.ok();
}

void MultiSiteBackend::Fail(size_t i, const Status& error) {
  MutexLock lock(&mu_);
  if (sites_[i].report.error.ok()) sites_[i].report.error = error;
}

std::vector<SiteReport> MultiSiteBackend::Reports() const {
  MutexLock lock(&mu_);
  std::vector<SiteReport> reports;
  for (const Site& site : sites_) reports.push_back(site.report);
  return reports;
}

}  // namespace lifeboat
