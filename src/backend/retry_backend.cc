#include "backend/retry_backend.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace lifeboat {
namespace {

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.status();
}

// The wait after `failed_attempt` failed: initial_delay * multiplier^(failed_attempt - 1), at
// most max_delay, less a jitter fraction drawn from u in [0, 1).
std::chrono::milliseconds BackoffDelay(const RetryOptions& options, int failed_attempt, double u) {
  double base = static_cast<double>(options.initial_delay.count()) *
                std::pow(std::max(options.multiplier, 1.0), failed_attempt - 1);
  base = std::min(base, static_cast<double>(options.max_delay.count()));
  const double jitter = std::clamp(options.jitter, 0.0, 1.0);
  double delay = base * (1.0 - jitter * u);
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(delay)));
}

// The error of a call whose context stopped the retrying after `attempt` failed with `last`.
Status StoppedWhileRetrying(const Context& context, const std::string& what, int attempt,
                            const Status& last) {
  Status stop = context.Check(what);
  if (stop.ok()) stop = Status::Cancelled(what + " interrupted");  // cannot happen: done() held
  return Status(stop.code(), stop.message() + " while retrying (attempt " +
                                 std::to_string(attempt) + " failed: " + last.message() + ")");
}

}  // namespace

Status RetryTransientFailures(const RetryOptions& options, const std::string& what,
                              const std::function<Status(int attempt)>& call) {
  std::mt19937_64 rng(options.seed != 0
                          ? options.seed
                          : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
  const int max_attempts = std::max(options.max_attempts, 1);
  for (int attempt = 1;; ++attempt) {
    Status status = call(attempt);
    if (status.ok() || !status.IsRetryable()) return status;
    if (attempt >= max_attempts) {
      return status.WithContext(what + ": giving up after " + std::to_string(attempt) +
                                " attempts");
    }
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
    std::chrono::milliseconds delay = BackoffDelay(options, attempt, u);
    if (options.context.done()) return StoppedWhileRetrying(options.context, what, attempt, status);
    if (options.on_retry) options.on_retry(what, attempt, status, delay);
    if (!options.context.SleepFor(delay, what).ok()) {
      return StoppedWhileRetrying(options.context, what, attempt, status);
    }
  }
}

RetryBackend::RetryBackend(std::unique_ptr<Backend> inner, RetryOptions options)
    : inner_(std::move(inner)), options_(std::move(options)) {
  rng_.seed(options_.seed != 0 ? options_.seed
                               : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
}

std::string RetryBackend::Location() const { return inner_->Location(); }
BackendHints RetryBackend::Hints() const { return inner_->Hints(); }

std::chrono::milliseconds RetryBackend::Delay(int failed_attempt) {
  double u;
  {
    MutexLock lock(&mu_);
    u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;  // [0, 1)
  }
  return BackoffDelay(options_, failed_attempt, u);
}

template <typename Call>
auto RetryBackend::Run(const std::string& what, Call&& call, const bool* stop)
    -> decltype(call(1)) {
  const int max_attempts = std::max(options_.max_attempts, 1);
  for (int attempt = 1;; ++attempt) {
    auto result = call(attempt);
    Status status = StatusOf(result);
    if (status.ok() || !status.IsRetryable()) {
      // The backend answered: it is up (again).
      if (site_down_.load(std::memory_order_relaxed)) site_down_.store(false);
      return result;
    }
    if (stop != nullptr && *stop) return result;
    if (attempt >= max_attempts) {
      site_down_.store(true);
      return status.WithContext(what + ": giving up after " + std::to_string(attempt) +
                                " attempts");
    }
    if (site_down_.load()) {
      return status.WithContext(what + ": giving up after " + std::to_string(attempt) +
                                " attempt(s): an earlier call already gave up on " +
                                inner_->Location());
    }
    std::chrono::milliseconds delay = Delay(attempt);
    if (options_.context.done()) return StoppedAfter(what, attempt, status);
    if (options_.on_retry) options_.on_retry(what, attempt, status, delay);
    if (!options_.context.SleepFor(delay, what).ok()) return StoppedAfter(what, attempt, status);
  }
}

Status RetryBackend::StoppedAfter(const std::string& what, int attempt, const Status& last) const {
  return StoppedWhileRetrying(options_.context, what, attempt, last);
}

Status RetryBackend::VerifyExisting(const ObjectHandle& h, ByteParts parts) {
  LB_ASSIGN_OR_RETURN(ObjectInfo info, inner_->Stat(h));
  const std::string mismatch =
      DescribeObject(h) + " already exists with different content after a failed save";
  uint64_t size = 0;
  for (ByteView part : parts) size += part.size();
  if (info.size != size) return Status::Corruption(mismatch);
  if (info.size == 0) return Status::Ok();
  LB_ASSIGN_OR_RETURN(Bytes stored, inner_->Load(h, 0, info.size));
  if (stored.size() < info.size) {
    return Status::Unavailable("short read of " + DescribeObject(h) + " while verifying it");
  }
  size_t at = 0;
  for (ByteView part : parts) {
    if (!std::equal(part.begin(), part.end(), stored.begin() + static_cast<ptrdiff_t>(at))) {
      return Status::Corruption(mismatch);
    }
    at += part.size();
  }
  return Status::Ok();
}

Status RetryBackend::Save(const ObjectHandle& h, ByteView data) {
  return SaveParts(h, ByteParts(&data, 1));
}

Status RetryBackend::SaveParts(const ObjectHandle& h, ByteParts parts) {
  return Run("save " + DescribeObject(h), [&](int attempt) -> Status {
    Status st = inner_->SaveParts(h, parts);
    // Attempts after the first only happen after a retryable failure, which may have landed.
    if (st.code() == StatusCode::kAlreadyExists && attempt > 1) return VerifyExisting(h, parts);
    return st;
  });
}

Result<Bytes> RetryBackend::Load(const ObjectHandle& h, uint64_t offset, uint64_t length) {
  Bytes out;
  LB_RETURN_IF_ERROR(LoadInto(h, offset, length, &out));
  return out;
}

Status RetryBackend::LoadInto(const ObjectHandle& h, uint64_t offset, uint64_t length,
                              Bytes* out) {
  return Run("load " + DescribeObject(h), [&](int) -> Status {
    LB_RETURN_IF_ERROR(inner_->LoadInto(h, offset, length, out));
    const size_t got = out->size();
    if (length == 0) {
      // "To the end": the expected size comes from Stat, so a short read is caught here too
      // (one extra metadata call per whole-object load; packs are read by range).
      LB_ASSIGN_OR_RETURN(ObjectInfo info, inner_->Stat(h));
      if (info.size > offset && got < info.size - offset)
        return Status::Unavailable("short read of " + DescribeObject(h) + ": got " +
                                   std::to_string(got) + " of " +
                                   std::to_string(info.size - offset) + " bytes");
    }
    if (length > 0 && got != length) {
      if (got > length) {
        return Status::Internal("backend returned " + std::to_string(got) + " bytes of " +
                                DescribeObject(h) + " for " + std::to_string(length) +
                                " requested");
      }
      return Status::Unavailable("short read of " + DescribeObject(h) + ": got " +
                                 std::to_string(got) + " of " + std::to_string(length) +
                                 " bytes at offset " + std::to_string(offset));
    }
    return Status::Ok();
  });
}

Result<ObjectInfo> RetryBackend::Stat(const ObjectHandle& h) {
  return Run("stat " + DescribeObject(h),
             [&](int) -> Result<ObjectInfo> { return inner_->Stat(h); });
}

Status RetryBackend::List(ObjectType type, std::string_view prefix,
                          const std::function<Status(const ObjectInfo&)>& fn) {
  std::unordered_set<std::string> delivered;
  bool fn_failed = false;
  auto dedup = [&](const ObjectInfo& info) -> Status {
    if (!delivered.insert(info.name).second) return Status::Ok();
    Status st = fn(info);
    if (!st.ok()) fn_failed = true;
    return st;
  };
  return Run(
      "list " + std::string(ObjectTypeName(type)),
      [&](int) -> Status { return inner_->List(type, prefix, dedup); }, &fn_failed);
}

Status RetryBackend::Remove(const ObjectHandle& h) {
  return Run("remove " + DescribeObject(h), [&](int attempt) -> Status {
    Status st = inner_->Remove(h);
    if (st.IsNotFound() && attempt > 1) return Status::Ok();  // an earlier attempt removed it
    return st;
  });
}

}  // namespace lifeboat
