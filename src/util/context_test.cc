#include "util/context.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "util/clock.h"
#include "util/phase_timer.h"

namespace lifeboat {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ContextTest, DefaultIsNeverDoneAndUsesTheSystemClock) {
  Context ctx;
  EXPECT_FALSE(ctx.done());
  EXPECT_TRUE(ctx.Check("x").ok());
  EXPECT_FALSE(ctx.has_deadline());
  EXPECT_EQ(&ctx.clock(), &SystemClock());
}

TEST(ContextTest, CancelFlagStopsIt) {
  std::atomic<bool> flag{false};
  Context ctx = Context().WithCancel(&flag);
  EXPECT_TRUE(ctx.Check("backup").ok());
  flag = true;
  EXPECT_TRUE(ctx.cancelled());
  Status st = ctx.Check("backup");
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(st.message(), "backup interrupted");
}

TEST(ContextTest, DeadlineOnTheInjectedClock) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock).WithTimeout(seconds(10));
  EXPECT_TRUE(ctx.has_deadline());
  clock.Advance(9'000'000'000);
  EXPECT_FALSE(ctx.done());
  clock.Advance(1'000'000'000);
  EXPECT_TRUE(ctx.done());
  EXPECT_EQ(ctx.Check("drill").code(), StatusCode::kDeadlineExceeded);
}

TEST(ContextTest, TheEarlierDeadlineWins) {
  ManualClock clock;
  Context outer = Context().WithClock(clock).WithTimeout(seconds(5));
  Context inner = outer.WithTimeout(seconds(60));
  EXPECT_EQ(inner.deadline_ns(), outer.deadline_ns());
  Context tighter = outer.WithTimeout(seconds(1));
  EXPECT_LT(tighter.deadline_ns(), outer.deadline_ns());
}

TEST(ContextTest, HugeTimeoutDoesNotOverflow) {
  Context ctx = Context().WithTimeout(std::chrono::nanoseconds::max());
  EXPECT_FALSE(ctx.done());
  EXPECT_TRUE(ctx.has_deadline());
}

TEST(ContextTest, SleepOnAManualClockTakesNoRealTime) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ctx.SleepFor(std::chrono::hours(1), "waiting").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_EQ(clock.MonotonicNs(), 3600LL * 1'000'000'000);
  ASSERT_EQ(clock.sleeps().size(), 1u);
}

TEST(ContextTest, SleepIsCappedAtTheDeadline) {
  ManualClock clock;
  Context ctx = Context().WithClock(clock).WithTimeout(seconds(2));
  Status st = ctx.SleepFor(seconds(30), "waiting for the lock");
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(clock.MonotonicNs(), 2'000'000'000);
}

TEST(ContextTest, CancelledSleepReturnsAtOnce) {
  std::atomic<bool> flag{true};
  Context ctx = Context().WithCancel(&flag);  // the real clock
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ctx.SleepFor(std::chrono::hours(1), "x").code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(1));
}

TEST(ContextTest, CancelDuringARealSleepWakesIt) {
  std::atomic<bool> flag{false};
  Context ctx = Context().WithCancel(&flag);
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(50));
    flag = true;
  });
  const auto start = std::chrono::steady_clock::now();
  Status st = ctx.SleepFor(std::chrono::hours(1), "retry");
  canceller.join();
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(30));
}

TEST(ManualClockTest, WithoutAutoAdvanceASleeperWaitsForAdvance) {
  ManualClock clock(0, /*auto_advance=*/false);
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    EXPECT_TRUE(clock.SleepUntil(1000, nullptr));
    woke = true;
  });
  while (clock.sleeps().empty()) std::this_thread::yield();
  clock.Advance(999);
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_FALSE(woke);
  clock.Advance(1);
  sleeper.join();
  EXPECT_TRUE(woke);
}

TEST(ManualClockTest, WallCanJumpWithoutMovingMonotonicTime) {
  ManualClock clock(5'000);
  clock.SetWall(1'000);
  EXPECT_EQ(clock.WallNs(), 1'000);
  EXPECT_EQ(clock.MonotonicNs(), 0);
  clock.Advance(10);
  EXPECT_EQ(clock.WallNs(), 1'010);
  EXPECT_EQ(clock.MonotonicNs(), 10);
}

TEST(SystemClockTest, WallIsNearNowAndMonotonicMoves) {
  const int64_t wall = SystemClock().WallNs();
  EXPECT_GT(wall, 1'700'000'000LL * 1'000'000'000);  // after 2023
  const int64_t a = SystemClock().MonotonicNs();
  EXPECT_TRUE(SystemClock().SleepUntil(a + 1'000'000, nullptr));
  EXPECT_GE(SystemClock().MonotonicNs(), a + 1'000'000);
}

TEST(PhaseTimerTest, EachPhaseGetsItsTimeOnTheInjectedClock) {
  ManualClock clock;
  PhaseTimer phases(clock);
  phases.Start("index");
  clock.Advance(2'000'000'000);
  phases.Start("write");
  clock.Advance(5'000'000'000);
  phases.Stop();
  clock.Advance(1'000'000'000);  // between phases: counted for none
  phases.Start("index");         // again: adds to the first entry
  clock.Advance(500'000'000);
  std::vector<PhaseTime> got = phases.Finish();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].phase, "index");
  EXPECT_DOUBLE_EQ(got[0].seconds, 2.5);
  EXPECT_EQ(got[1].phase, "write");
  EXPECT_DOUBLE_EQ(got[1].seconds, 5.0);
  EXPECT_DOUBLE_EQ(TotalSeconds(got), 7.5);
  EXPECT_DOUBLE_EQ(phases.ElapsedSeconds(), 8.5);
}

TEST(PhaseTimerTest, TheHeadNamesTheRunningPhaseAndPhasesCountItUpToNow) {
  ManualClock clock;
  PhaseTimer phases(clock);
  EXPECT_EQ(phases.Head(false).phase, "");
  phases.Start("layout");
  clock.Advance(1'000'000'000);
  phases.Start("write");
  clock.Advance(3'000'000'000);
  ProgressHead head = phases.Head(false);
  EXPECT_EQ(head.phase, "write");
  EXPECT_DOUBLE_EQ(head.elapsed_seconds, 4.0);
  EXPECT_FALSE(head.final);
  std::vector<PhaseTime> so_far = phases.Phases();
  ASSERT_EQ(so_far.size(), 2u);
  EXPECT_DOUBLE_EQ(so_far[1].seconds, 3.0);  // the running phase, counted up to now
  phases.Stop();
  EXPECT_EQ(phases.Head(true).phase, "");
  EXPECT_TRUE(phases.Head(true).final);
}

}  // namespace
}  // namespace lifeboat
