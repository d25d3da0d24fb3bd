#include "util/status.h"

#include <cstring>
#include <variant>

#include "util/status_detail.h"

namespace lifeboat {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kCorruption: return "CORRUPTION";
    case StatusCode::kIOError: return "IO_ERROR";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kLocked: return "LOCKED";
    case StatusCode::kNoRepository: return "NO_REPOSITORY";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kAborted: return "ABORTED";
  }
  return "UNKNOWN";
}

struct StatusDetail {
  std::variant<LockConflict, Damage> value;
};

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  Status out(code_, std::string(context) + ": " + message_);
  out.detail_ = detail_;
  return out;
}

const LockConflict* Status::lock_conflict() const {
  return detail_ ? std::get_if<LockConflict>(&detail_->value) : nullptr;
}

const Damage* Status::damage() const {
  return detail_ ? std::get_if<Damage>(&detail_->value) : nullptr;
}

Status Status::WithDetail(LockConflict detail) const {
  if (ok()) return *this;
  Status out = *this;
  out.detail_ = std::make_shared<const StatusDetail>(StatusDetail{std::move(detail)});
  return out;
}

Status Status::WithDetail(Damage detail) const {
  if (ok()) return *this;
  Status out = *this;
  out.detail_ = std::make_shared<const StatusDetail>(StatusDetail{std::move(detail)});
  return out;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

Status PosixError(std::string_view context, int err) {
  std::string msg = std::string(context) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Status::NotFound(std::move(msg));
    case EEXIST:
      return Status::AlreadyExists(std::move(msg));
    case EACCES:
    case EPERM:
    case EROFS:
      return Status::PermissionDenied(std::move(msg));
    case EAGAIN:
    case EINTR:
    case EBUSY:
    case ETIMEDOUT:
    case ECONNRESET:
    case ECONNREFUSED:
      return Status::Unavailable(std::move(msg));
    case EINVAL:
    case ENAMETOOLONG:
      return Status::InvalidArgument(std::move(msg));
    default:
      return Status::IOError(std::move(msg));
  }
}

}  // namespace lifeboat
