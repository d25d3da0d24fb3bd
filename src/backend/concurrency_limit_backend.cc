#include "backend/concurrency_limit_backend.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace lifeboat {

ConcurrencyLimitBackend::ConcurrencyLimitBackend(std::unique_ptr<Backend> inner,
                                                 int max_in_flight, Context context)
    : ForwardingBackend(std::move(inner)),
      max_in_flight_(std::max(max_in_flight, 1)),
      context_(std::move(context)) {}

BackendHints ConcurrencyLimitBackend::Hints() const {
  BackendHints hints = ForwardingBackend::Hints();
  hints.concurrent_requests = std::min(hints.concurrent_requests, max_in_flight_);
  return hints;
}

Status ConcurrencyLimitBackend::Acquire(std::string_view what) {
  MutexLock lock(&mu_);
  while (in_flight_ >= max_in_flight_) {
    if (context_.done()) {
      Status stop = context_.Check(std::string(what) + " (waiting for one of " +
                                   std::to_string(max_in_flight_) + " connections)");
      if (!stop.ok()) return stop;
    }
    // Polled: the context's flag and deadline have no way to wake us.
    slot_freed_.WaitFor(&mu_, std::chrono::nanoseconds(kCancelPollIntervalNs));
  }
  ++in_flight_;
  return Status::Ok();
}

void ConcurrencyLimitBackend::Release() {
  {
    MutexLock lock(&mu_);
    --in_flight_;
  }
  slot_freed_.NotifyOne();
}

template <typename Call>
auto ConcurrencyLimitBackend::WithSlot(std::string_view what, Call&& call) -> decltype(call()) {
  LB_RETURN_IF_ERROR(Acquire(what));
  auto result = call();
  Release();
  return result;
}

Status ConcurrencyLimitBackend::Save(const ObjectHandle& h, ByteView data) {
  return WithSlot("save " + DescribeObject(h), [&] { return ForwardingBackend::Save(h, data); });
}

Status ConcurrencyLimitBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  return WithSlot("save " + DescribeObject(h),
                  [&] { return ForwardingBackend::SaveParts(h, parts); });
}

Result<Bytes> ConcurrencyLimitBackend::Load(const ObjectHandle& h, uint64_t offset,
                                            uint64_t length) {
  return WithSlot("load " + DescribeObject(h),
                  [&] { return ForwardingBackend::Load(h, offset, length); });
}

Status ConcurrencyLimitBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                                         Bytes* out) {
  return WithSlot("load " + DescribeObject(h),
                  [&] { return ForwardingBackend::LoadInto(h, offset, length, out); });
}

Result<ObjectInfo> ConcurrencyLimitBackend::Stat(const ObjectHandle& h) {
  return WithSlot("stat " + DescribeObject(h), [&] { return ForwardingBackend::Stat(h); });
}

Status ConcurrencyLimitBackend::Remove(const ObjectHandle& h) {
  return WithSlot("remove " + DescribeObject(h), [&] { return ForwardingBackend::Remove(h); });
}

Status ConcurrencyLimitBackend::List(ObjectType type, std::string_view prefix,
                                     const std::function<Status(const ObjectInfo&)>& fn) {
  const std::string what = "list " + std::string(ObjectTypeName(type));
  LB_RETURN_IF_ERROR(Acquire(what));
  bool held = true;
  Status st = ForwardingBackend::List(type, prefix, [&](const ObjectInfo& info) -> Status {
    Release();
    held = false;
    LB_RETURN_IF_ERROR(fn(info));  // the listing stops: no need for the slot again
    LB_RETURN_IF_ERROR(Acquire(what));
    held = true;
    return Status::Ok();
  });
  if (held) Release();
  return st;
}

}  // namespace lifeboat
