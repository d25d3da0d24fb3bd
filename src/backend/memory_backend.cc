#include "backend/memory_backend.h"

#include <vector>

namespace lifeboat {

MemoryBackend::Key MemoryBackend::KeyOf(const ObjectHandle& h) {
  return {h.type, h.type == ObjectType::kConfig ? std::string() : h.name};
}

std::string MemoryBackend::Location() const { return "memory:"; }

Status MemoryBackend::Save(const ObjectHandle& h, ByteView data) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  Bytes copy(data.begin(), data.end());
  MutexLock lock(&mu_);
  auto [it, inserted] = objects_.try_emplace(KeyOf(h), std::move(copy));
  if (!inserted) {
    return Status::AlreadyExists(DescribeObject(h) + " already exists; refusing to overwrite");
  }
  return Status::Ok();
}

Result<Bytes> MemoryBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  MutexLock lock(&mu_);
  auto it = objects_.find(KeyOf(h));
  if (it == objects_.end()) return Status::NotFound(DescribeObject(h) + " does not exist");
  const Bytes& data = it->second;
  const uint64_t size = data.size();
  if (offset > size || (length > 0 && length > size - offset)) {
    return Status::Corruption(DescribeObject(h) + " has " + std::to_string(size) +
                              " bytes; cannot read " +
                              (length == 0 ? std::string("to the end") : std::to_string(length)) +
                              " at offset " + std::to_string(offset));
  }
  const uint64_t n = length == 0 ? size - offset : length;
  return Bytes(data.begin() + static_cast<ptrdiff_t>(offset),
               data.begin() + static_cast<ptrdiff_t>(offset + n));
}

Result<ObjectInfo> MemoryBackend::Stat(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  MutexLock lock(&mu_);
  auto it = objects_.find(KeyOf(h));
  if (it == objects_.end()) return Status::NotFound(DescribeObject(h) + " does not exist");
  return ObjectInfo{it->first.second, it->second.size()};
}

Status MemoryBackend::List(ObjectType type, std::string_view prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> found;
  {
    MutexLock lock(&mu_);
    for (auto it = objects_.lower_bound({type, std::string(prefix)});
         it != objects_.end() && it->first.first == type && it->first.second.starts_with(prefix);
         ++it) {
      found.push_back(ObjectInfo{it->first.second, it->second.size()});
    }
  }
  for (const ObjectInfo& info : found) LB_RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

Status MemoryBackend::Remove(const ObjectHandle& h) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  MutexLock lock(&mu_);
  if (objects_.erase(KeyOf(h)) == 0) {
    return Status::NotFound(DescribeObject(h) + " does not exist");
  }
  return Status::Ok();
}

Status MemoryBackend::ReplaceForTesting(const ObjectHandle& h, ByteView data) {
  LB_RETURN_IF_ERROR(ValidateObjectHandle(h));
  MutexLock lock(&mu_);
  objects_[KeyOf(h)] = Bytes(data.begin(), data.end());
  return Status::Ok();
}

size_t MemoryBackend::ObjectCount() const {
  MutexLock lock(&mu_);
  return objects_.size();
}

}  // namespace lifeboat
