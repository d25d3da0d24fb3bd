#include "util/status.h"

#include <gtest/gtest.h>

#include "util/status_detail.h"

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
  EXPECT_EQ(StatusCodeName(StatusCode::kAborted), "ABORTED");
  EXPECT_FALSE(Status::Locked("x").IsRetryable());
}

TEST(StatusTest, NoDetailByDefault) {
  EXPECT_EQ(Status::Ok().lock_conflict(), nullptr);
  EXPECT_EQ(Status::Locked("x").lock_conflict(), nullptr);
  EXPECT_EQ(Status::Corruption("x").damage(), nullptr);
}

TEST(StatusTest, LockConflictSurvivesContextAndCopies) {
  LockConflict held;
  held.lock_id = std::string(64, 'a');
  held.hostname = "db1";
  held.username = "backup";
  held.pid = 4242;
  held.exclusive = true;
  held.time_ns = 1000;
  held.age_ns = 5000000000;
  Status st = Status::Locked("repository is already locked").WithDetail(held);
  ASSERT_NE(st.lock_conflict(), nullptr);
  EXPECT_EQ(st.damage(), nullptr);
  Status wrapped = st.WithContext("source repository").WithContext("copy");
  EXPECT_EQ(wrapped.message(), "copy: source repository: repository is already locked");
  EXPECT_EQ(wrapped.code(), StatusCode::kLocked);
  ASSERT_NE(wrapped.lock_conflict(), nullptr);
  EXPECT_EQ(wrapped.lock_conflict()->hostname, "db1");
  EXPECT_EQ(wrapped.lock_conflict()->pid, 4242);
  EXPECT_TRUE(wrapped.lock_conflict()->exclusive);
  EXPECT_EQ(wrapped.lock_conflict()->age_ns, 5000000000);

  // Copies share the detail; the original outlives nothing it needs.
  Status copy = wrapped;
  wrapped = Status::Ok();
  st = Status::Ok();
  ASSERT_NE(copy.lock_conflict(), nullptr);
  EXPECT_EQ(copy.lock_conflict()->lock_id, std::string(64, 'a'));

  // Through a Result and LB_RETURN_IF_ERROR.
  Result<int> r = copy;
  ASSERT_NE(r.status().lock_conflict(), nullptr);
  auto pass = [&]() -> Status {
    LB_ASSIGN_OR_RETURN(int v, r);
    (void)v;
    return Status::Ok();
  };
  ASSERT_NE(pass().lock_conflict(), nullptr);
  EXPECT_EQ(pass().lock_conflict()->username, "backup");
}

TEST(StatusTest, DamageDetailReplacesAndOkStaysPlain) {
  Damage d;
  d.object_type = "tree";
  d.object = std::string(64, 'b');
  d.pack = std::string(64, 'c');
  d.snapshots.push_back(Id{});
  Status st = Status::Corruption("tree is damaged").WithDetail(d);
  ASSERT_NE(st.damage(), nullptr);
  EXPECT_EQ(st.lock_conflict(), nullptr);
  EXPECT_EQ(st.WithContext("restore").damage()->pack, std::string(64, 'c'));
  EXPECT_EQ(st.damage()->snapshots.size(), 1u);
  // A second detail replaces the first.
  Status other = st.WithDetail(LockConflict{});
  EXPECT_EQ(other.damage(), nullptr);
  EXPECT_NE(other.lock_conflict(), nullptr);
  EXPECT_NE(st.damage(), nullptr);  // the original is unchanged
  // OK carries nothing.
  EXPECT_EQ(Status::Ok().WithDetail(d).damage(), nullptr);
  EXPECT_TRUE(Status::Ok().WithDetail(d).ok());
}

}  // namespace
}  // namespace lifeboat
