#include "util/progress_reporter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <thread>

#include "util/address_space_limit_for_test.h"
#include "util/clock.h"

namespace lifeboat {
namespace {

using std::chrono::milliseconds;

TEST(ProgressReporterTest, ReportsEveryIntervalAndOnceAtTheEnd) {
  std::atomic<int> periodic{0}, final_reports{0};
  std::atomic<bool> other_thread{true};
  const auto owner = std::this_thread::get_id();
  ProgressReporter reporter(milliseconds(5), [&](bool final) {
    if (std::this_thread::get_id() == owner) other_thread = false;
    (final ? final_reports : periodic)++;
  });
  ASSERT_TRUE(reporter.running());
  std::this_thread::sleep_for(milliseconds(100));
  reporter.Stop();
  EXPECT_GE(periodic.load(), 2);
  EXPECT_EQ(final_reports.load(), 1);
  EXPECT_TRUE(other_thread.load());
  reporter.Stop();  // once only
  EXPECT_EQ(final_reports.load(), 1);
}

TEST(ProgressReporterTest, TheDestructorMakesTheFinalReport) {
  std::atomic<int> final_reports{0};
  {
    ProgressReporter reporter(milliseconds(1000), [&](bool final) { final_reports += final; });
  }
  EXPECT_EQ(final_reports.load(), 1);
}

TEST(ProgressReporterTest, StopWithoutAFinalReport) {
  std::atomic<int> final_reports{0};
  ProgressReporter reporter(milliseconds(1000), [&](bool final) { final_reports += final; });
  reporter.Stop(ProgressReporter::FinalReport::kNo);
  EXPECT_EQ(final_reports.load(), 0);
}

TEST(ProgressReporterTest, AReportThatThrowsIsSkipped) {
  std::atomic<int> calls{0};
  ProgressReporter reporter(milliseconds(2), [&](bool) {
    calls++;
    throw std::bad_alloc();
  });
  std::this_thread::sleep_for(milliseconds(50));
  reporter.Stop();
  EXPECT_GE(calls.load(), 2);  // went on after the first
}

TEST(ProgressReporterTest, NoCallbackStartsNoThread) {
  ProgressReporter reporter(milliseconds(1), nullptr);
  EXPECT_FALSE(reporter.running());
  reporter.Stop();
}

// Runs in a child process (EXPECT_EXIT): the address space limit stays there.
[[noreturn]] void ReportWithoutAThread() {
  int periodic = 0, final_reports = 0;                    // no thread: plain ints are safe
  if (!LimitAddressSpaceForTest(1 << 20)) std::_Exit(0);  // cannot limit: nothing to test
  ProgressReporter reporter(milliseconds(1),
                            [&](bool final) { ++(final ? final_reports : periodic); });
  if (reporter.running()) std::_Exit(0);  // the thread started after all: nothing to check
  reporter.Stop();
  reporter.Stop();  // once only
  std::_Exit(periodic == 0 && final_reports == 1 ? 0 : 3);
}

TEST(ProgressReporterTest, WithoutAThreadTheFinalReportIsStillMadeByStop) {
  if (kBuiltWithAddressSanitizer) GTEST_SKIP() << kAddressSanitizerSkipReason;
  EXPECT_EXIT(ReportWithoutAThread(), ::testing::ExitedWithCode(0), "");
}

// The interval is on the injected clock: on a ManualClock no periodic report comes until the
// time moves past it, however long the wait in real time.
TEST(ProgressReporterTest, ThePeriodicReportsFollowTheInjectedClock) {
  ManualClock clock(1'767'225'600'000'000'000, /*auto_advance=*/false);
  std::atomic<int> periodic{0}, final_reports{0};
  ProgressReporter reporter(
      milliseconds(1000), [&](bool final) { (final ? final_reports : periodic)++; }, clock);
  ASSERT_TRUE(reporter.running());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(periodic.load(), 0) << "no time passed on the operation's clock";
  clock.Advance(1'000'000'000);
  // Well before the interval would end in real time (1 s): the report follows the clock.
  for (int i = 0; i < 150 && periodic.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(2));
  EXPECT_EQ(periodic.load(), 1);
  reporter.Stop();
  EXPECT_EQ(final_reports.load(), 1);
}

}  // namespace
}  // namespace lifeboat
