#include "util/status.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd");
  return v / 2;
}

Status UseHalf(int v, int* out) {
  LB_ASSIGN_OR_RETURN(*out, Half(v));
  return Status::Ok();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Status::NotFound("snapshot abc");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.WithContext("restore").message(), "restore: snapshot abc");
  EXPECT_TRUE(Status::Unavailable("x").IsRetryable());
  EXPECT_FALSE(Status::Corruption("x").IsRetryable());
}

TEST(StatusTest, ResultPropagates) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = UseHalf(3, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, PosixErrorMapsErrno) {
  EXPECT_EQ(PosixError("open x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(PosixError("open x", EACCES).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(PosixError("open x", EIO).code(), StatusCode::kIOError);
}

TEST(StatusTest, LockedAndNoRepositoryAreKindsOfTheirOwn) {
  // Issue 11, item 17: the CLI chose exit codes by searching messages for "locked" and "not a
  // Lifeboat repository"; these kinds say it instead.
  EXPECT_EQ(Status::Locked("x").code(), StatusCode::kLocked);
  EXPECT_EQ(Status::NoRepository("x").code(), StatusCode::kNoRepository);
  EXPECT_EQ(Status::Locked("held by pid 7").ToString(), "LOCKED: held by pid 7");
  EXPECT_EQ(StatusCodeName(StatusCode::kNoRepository), "NO_REPOSITORY");
  EXPECT_FALSE(Status::Locked("x").IsRetryable());
}

}  // namespace
}  // namespace lifeboat
