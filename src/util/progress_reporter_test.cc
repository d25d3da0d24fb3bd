#include "util/progress_reporter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <new>
#include <thread>

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

}  // namespace
}  // namespace lifeboat
