#include "backend/rate_limit_backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <utility>

namespace lifeboat {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kBurstNs = kSecondNs;  // the bucket holds one second's worth of bytes

}  // namespace

int64_t RateLimitBackend::Bucket::Take(uint64_t bytes, int64_t now_ns) {
  // Nanoseconds of sending time these bytes cost, saturated for absurd sizes.
  const double cost = std::ceil(static_cast<double>(bytes) * static_cast<double>(kSecondNs) /
                                static_cast<double>(bytes_per_second_));
  const int64_t cost_ns = cost >= 1e18 ? int64_t{1'000'000'000'000'000'000} :
                                         static_cast<int64_t>(cost);
  MutexLock lock(&mu_);
  // A bucket that has been idle is full, not fuller: unused time does not pile up beyond the
  // burst.
  paid_off_ns_ = std::max(paid_off_ns_, now_ns - kBurstNs) + cost_ns;
  return paid_off_ns_;
}

RateLimitBackend::RateLimitBackend(std::unique_ptr<Backend> inner, RateLimitOptions options)
    : ForwardingBackend(std::move(inner)),
      context_(std::move(options.context)),
      upload_(options.upload_bytes_per_second),
      download_(options.download_bytes_per_second) {}

Status RateLimitBackend::Throttle(Bucket& bucket, uint64_t bytes, std::string_view what) {
  if (bucket.unlimited() || bytes == 0) return Status::Ok();
  const int64_t now = context_.clock().MonotonicNs();
  const int64_t until = bucket.Take(bytes, now);
  if (until <= now) return Status::Ok();
  // Until the moment the bucket is paid off, not for (until - now): other threads' waits may end
  // between the clock read above and this sleep, and a duration from the older reading would
  // overshoot by that much.
  const std::string waiting = std::string(what) + " (waiting for the bandwidth limit)";
  LB_RETURN_IF_ERROR(context_.Check(waiting));
  context_.clock().SleepUntil(
      context_.has_deadline() ? std::min(until, context_.deadline_ns()) : until,
      context_.cancel_flag());
  return context_.Check(waiting);
}

Status RateLimitBackend::Save(const ObjectHandle& h, ByteView data) {
  LB_RETURN_IF_ERROR(Throttle(upload_, data.size(), "save " + DescribeObject(h)));
  return ForwardingBackend::Save(h, data);
}

Status RateLimitBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  uint64_t size = 0;
  for (ByteView part : parts) size += part.size();
  LB_RETURN_IF_ERROR(Throttle(upload_, size, "save " + DescribeObject(h)));
  return ForwardingBackend::SaveParts(h, parts);
}

Result<Bytes> RateLimitBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  LB_ASSIGN_OR_RETURN(Bytes data, ForwardingBackend::Load(h, offset, length));
  LB_RETURN_IF_ERROR(Throttle(download_, data.size(), "load " + DescribeObject(h)));
  return data;
}

Status RateLimitBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                                  Bytes* out) {
  LB_RETURN_IF_ERROR(ForwardingBackend::LoadInto(h, offset, length, out));
  return Throttle(download_, out->size(), "load " + DescribeObject(h));
}

}  // namespace lifeboat
