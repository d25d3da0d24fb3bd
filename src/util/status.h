// Status and Result<T>: the one error type of Lifeboat.
//
// Every fallible function returns a Status (or Result<T> when it also produces a value). Both are
// [[nodiscard]], so an error cannot be dropped silently. The code tells the caller whether a retry
// can help (kUnavailable: yes; everything else: no), and it alone decides the CLI's exit code
// (cli::ExitCodeFor; doc/exit-codes.md): the message is for people and is never searched.
// What a program needs beyond the code (who holds a lock, which object is damaged) travels as a
// typed detail (util/status_detail.h): `st.lock_conflict()`, `st.damage()`.
//
//   Result<Bytes> data = backend.Load(handle, 0, 0);
//   if (!data.ok()) return data.status().WithContext("loading snapshot " + id);
#pragma once

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lifeboat {

// Typed details (util/status_detail.h; include it to read or attach one).
struct LockConflict;
struct Damage;
struct StatusDetail;  // which one a Status holds (status.cc)

enum class StatusCode {
  kOk = 0,
  kNotFound,            // the named object, file or snapshot does not exist
  kAlreadyExists,       // refused to overwrite an existing object
  kInvalidArgument,     // bad user input; message says what to do
  kCorruption,          // data failed authentication, hashing or parsing: data loss, alert
  kIOError,             // local I/O failed permanently
  kUnavailable,         // transient: a retry may help (network, EAGAIN, busy)
  kPermissionDenied,    // OS or policy refused (e.g. append-only)
  kFailedPrecondition,  // state does not allow the operation (e.g. append-only repository)
  kUnauthenticated,     // no key matches the password
  kCancelled,           // interrupted by the user (Ctrl-C, SIGTERM, a cancel flag)
  kInternal,            // a bug
  kLocked,              // another process holds the repository lock, or ours was lost
  kNoRepository,        // the location holds no Lifeboat repository (nothing, or another tool's)
  kDeadlineExceeded,    // the caller's deadline passed before the work was done (util/context.h)
  kAborted,             // a compare-and-swap lost: the state changed since it was read (fence/)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status Locked(std::string m) { return {StatusCode::kLocked, std::move(m)}; }
  static Status NoRepository(std::string m) { return {StatusCode::kNoRepository, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) {
    return {StatusCode::kDeadlineExceeded, std::move(m)};
  }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  // True when repeating the same call may succeed.
  bool IsRetryable() const { return code_ == StatusCode::kUnavailable; }

  // Returns a copy whose message is "context: message", with the same detail. OK stays OK.
  Status WithContext(std::string_view context) const;

  // The typed detail, or null when the status carries none of that kind (always null when OK).
  // The pointer stays valid as long as this Status or a copy of it exists.
  const LockConflict* lock_conflict() const;
  const Damage* damage() const;
  // Returns a copy carrying `detail` instead of any detail it had. OK stays OK, without detail.
  // Copies of a Status share one immutable detail: copying costs a reference count, and nothing
  // when there is no detail.
  Status WithDetail(LockConflict detail) const;
  Status WithDetail(Damage detail) const;
  // "CODE: message", for logs and tests.
  std::string ToString() const;
  // Explicitly discards a status whose failure is acceptable (best-effort cleanup).
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::shared_ptr<const StatusDetail> detail_;  // null: no detail
};

// Maps an errno value to a Status; the one place where errno meets our codes.
Status PosixError(std::string_view context, int err);
inline Status PosixError(std::string_view context) { return PosixError(context, errno); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lifeboat

#define LB_CONCAT_INNER_(a, b) a##b
#define LB_CONCAT_(a, b) LB_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define LB_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::lifeboat::Status lb_status_ = (expr);      \
    if (!lb_status_.ok()) return lb_status_;     \
  } while (0)

// `LB_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its error.
#define LB_ASSIGN_OR_RETURN(lhs, expr) \
  LB_ASSIGN_OR_RETURN_IMPL_(LB_CONCAT_(lb_result_, __LINE__), lhs, expr)
#define LB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
