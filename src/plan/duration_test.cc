#include "plan/duration.h"

#include <gtest/gtest.h>

namespace lifeboat::plan {
namespace {

using std::chrono::seconds;

TEST(PlanDurationTest, TheUnitsOfThePlan) {
  EXPECT_EQ(*ParsePlanDuration("15m"), seconds(900));
  EXPECT_EQ(*ParsePlanDuration("4h"), seconds(4 * 3600));
  EXPECT_EQ(*ParsePlanDuration("2d"), seconds(2 * 86400));
  EXPECT_EQ(*ParsePlanDuration("1h30m"), seconds(5400));
  EXPECT_EQ(*ParsePlanDuration("90s"), seconds(90));
  EXPECT_EQ(*ParsePlanDuration("1w"), seconds(7 * 86400));
  EXPECT_EQ(*ParsePlanDuration(" 30m1h "), seconds(5400));
}

TEST(PlanDurationTest, ClearErrors) {
  auto message = [](std::string_view text) { return ParsePlanDuration(text).status().message(); };
  EXPECT_EQ(message("0s"),
            "invalid duration \"0s\": it must be longer than zero (e.g. 90s, 15m, 4h, 1h30m, 2d, 1w)");
  EXPECT_EQ(message("15"),
            "invalid duration \"15\": the number 15 has no unit (expected whole numbers each "
            "followed by a unit: s = seconds, m = minutes, h = hours, d = days, w = weeks, each "
            "unit at most once; e.g. 90s, 15m, 1h30m, 7d)");
  for (const char* bad : {"", "1.5h", "15 m", "1y", "5M", "-5m", "1h1h", "15min"})
    EXPECT_EQ(ParsePlanDuration(bad).status().code(), StatusCode::kInvalidArgument) << bad;
}

TEST(PlanDurationTest, FormatRoundTrips) {
  for (int64_t s : {1, 59, 60, 90, 900, 3600, 5400, 86400, 90061, 604800, 1209600}) {
    const std::string text = FormatPlanDuration(seconds(s));
    EXPECT_EQ(*ParsePlanDuration(text), seconds(s)) << text;
  }
  EXPECT_EQ(FormatPlanDuration(seconds(5400)), "1h30m");
  EXPECT_EQ(FormatPlanDuration(seconds(604800)), "1w");
}

}  // namespace
}  // namespace lifeboat::plan
