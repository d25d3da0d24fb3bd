#include "backend/backend.h"

#include <algorithm>
#include <thread>

namespace lifeboat {

std::string_view ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kConfig:
      return "config";
    case ObjectType::kKey:
      return "key";
    case ObjectType::kPack:
      return "pack";
    case ObjectType::kIndex:
      return "index";
    case ObjectType::kSnapshot:
      return "snapshot";
    case ObjectType::kLock:
      return "lock";
    case ObjectType::kRun:
      return "run";
  }
  return "unknown";
}

std::string_view ObjectTypeDirectory(ObjectType type) {
  switch (type) {
    case ObjectType::kConfig:
      return "";
    case ObjectType::kKey:
      return "keys";
    case ObjectType::kPack:
      return "data";
    case ObjectType::kIndex:
      return "index";
    case ObjectType::kSnapshot:
      return "snapshots";
    case ObjectType::kLock:
      return "locks";
    case ObjectType::kRun:
      return "runs";
  }
  return "";
}

Status ValidateObjectHandle(const ObjectHandle& h) {
  if (h.type == ObjectType::kConfig) return Status::Ok();
  const std::string& name = h.name;
  std::string_view type = ObjectTypeName(h.type);
  if (name.empty()) return Status::InvalidArgument(std::string(type) + " name is empty");
  if (name.find_first_of(std::string_view("/.\0", 3)) != std::string::npos) {
    return Status::InvalidArgument("invalid " + std::string(type) + " name \"" + name +
                                   "\": names must not contain '/', '.' or NUL");
  }
  if (h.type == ObjectType::kPack && name.size() < 2) {
    return Status::InvalidArgument("invalid pack name \"" + name +
                                   "\": pack names have at least 2 characters");
  }
  return Status::Ok();
}

Status Backend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length, Bytes* out) {
  LB_ASSIGN_OR_RETURN(*out, Load(h, offset, length));
  return Status::Ok();
}

Status Backend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  if (parts.size() == 1) return Save(h, parts[0]);
  size_t total = 0;
  for (ByteView part : parts) total += part.size();
  Bytes joined;
  joined.reserve(total);
  for (ByteView part : parts) joined.insert(joined.end(), part.begin(), part.end());
  return Save(h, joined);
}

std::optional<Status> ListWithoutListing(Backend& backend, ObjectType type,
                                         std::string_view prefix,
                                         const std::function<Status(const ObjectInfo&)>& fn) {
  if (type == ObjectType::kConfig) {
    if (!prefix.empty()) return Status::Ok();
    Result<ObjectInfo> info = backend.Stat({ObjectType::kConfig, ""});
    if (info.status().IsNotFound()) return Status::Ok();
    LB_RETURN_IF_ERROR(info.status());
    return fn(*info);
  }
  if (prefix.find_first_of(std::string_view("/.\0", 3)) != std::string_view::npos) {
    return Status::Ok();
  }
  return std::nullopt;
}

Status PartsBackend::Save(const ObjectHandle& h, ByteView data) {
  const ByteView parts[] = {data};
  return SaveParts(h, parts);
}

Result<Bytes> PartsBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  Bytes out;
  LB_RETURN_IF_ERROR(LoadInto(h, offset, length, &out));
  return out;
}

std::string DescribeObject(const ObjectHandle& h) {
  if (h.type == ObjectType::kConfig) return "config";
  return std::string(ObjectTypeName(h.type)) + " " + h.name;
}

int WorkersFor(const Backend& backend, int requested) {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  return std::max(cores, backend.Hints().concurrent_requests);
}

}  // namespace lifeboat
