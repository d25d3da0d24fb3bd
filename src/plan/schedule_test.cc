#include "plan/schedule.h"

#include <gtest/gtest.h>

#include <regex>

#include <cctz/civil_time.h>

namespace lifeboat::plan {
namespace {

using TP = CronSchedule::TimePoint;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TP Utc(int y, int mo, int d, int h, int mi) {
  return cctz::convert(cctz::civil_second(y, mo, d, h, mi, 0), cctz::utc_time_zone());
}

std::string Show(std::optional<TP> t) {
  if (!t) return "never";
  return cctz::format("%Y-%m-%dT%H:%M:%SZ", *t, cctz::utc_time_zone());
}

CronSchedule Must(std::string_view expr, std::string_view tz = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expr, tz);
  EXPECT_TRUE(s.ok()) << expr << ": " << s.status().ToString();
  return std::move(s).value();
}

std::string Error(std::string_view expr, std::string_view tz = "UTC") {
  Result<CronSchedule> s = CronSchedule::Parse(expr, tz);
  return s.ok() ? "ok" : s.status().message();
}

// The next n firings after `from`, as UTC strings.
std::vector<std::string> Next(const CronSchedule& s, TP from, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::optional<TP> t = s.NextAfter(from);
    out.push_back(Show(t));
    if (!t) break;
    from = *t;
  }
  return out;
}

TEST(CronScheduleTest, FieldsRangesStepsListsAndNames) {
  EXPECT_EQ(Next(Must("*/20 9-10 * * *"), Utc(2026, 1, 1, 9, 30), 4),
            (std::vector<std::string>{"2026-01-01T09:40:00Z", "2026-01-01T10:00:00Z",
                                      "2026-01-01T10:20:00Z", "2026-01-01T10:40:00Z"}));
  // a/n is a-MAX/n; lists mix values, ranges and steps.
  EXPECT_EQ(Next(Must("50/5 0 1 1 *"), Utc(2026, 1, 1, 0, 0), 3),
            (std::vector<std::string>{"2026-01-01T00:50:00Z", "2026-01-01T00:55:00Z",
                                      "2027-01-01T00:50:00Z"}));
  EXPECT_EQ(Next(Must("0 6,12-13,20-23/3 * * *"), Utc(2026, 1, 1, 0, 0), 5),
            (std::vector<std::string>{"2026-01-01T06:00:00Z", "2026-01-01T12:00:00Z",
                                      "2026-01-01T13:00:00Z", "2026-01-01T20:00:00Z",
                                      "2026-01-01T23:00:00Z"}));
  // Month and day names, case-insensitive; 7 is Sunday. 2026-01-04 is a Sunday.
  EXPECT_EQ(Next(Must("0 12 * FEB-mar Sun"), Utc(2026, 1, 1, 0, 0), 2),
            (std::vector<std::string>{"2026-02-01T12:00:00Z", "2026-02-08T12:00:00Z"}));
  EXPECT_EQ(Next(Must("0 0 * * 7"), Utc(2026, 1, 1, 0, 0), 1),
            (std::vector<std::string>{"2026-01-04T00:00:00Z"}));
  // Strictly after: a firing time itself is not returned.
  EXPECT_EQ(Show(Must("0 * * * *").NextAfter(Utc(2026, 1, 1, 5, 0))), "2026-01-01T06:00:00Z");
}

TEST(CronScheduleTest, Macros) {
  const TP from = Utc(2026, 1, 1, 0, 30);  // a Thursday
  EXPECT_EQ(Show(Must("@hourly").NextAfter(from)), "2026-01-01T01:00:00Z");
  EXPECT_EQ(Show(Must("@daily").NextAfter(from)), "2026-01-02T00:00:00Z");
  EXPECT_EQ(Show(Must("@midnight").NextAfter(from)), "2026-01-02T00:00:00Z");
  EXPECT_EQ(Show(Must("@weekly").NextAfter(from)), "2026-01-04T00:00:00Z");
  EXPECT_EQ(Show(Must("@monthly").NextAfter(from)), "2026-02-01T00:00:00Z");
  EXPECT_EQ(Show(Must("@yearly").NextAfter(from)), "2027-01-01T00:00:00Z");
  EXPECT_EQ(Show(Must("@ANNUALLY").NextAfter(from)), "2027-01-01T00:00:00Z");
}

TEST(CronScheduleTest, DayOfMonthOrDayOfWeekAsVixieCron) {
  // Both restricted: either matches. 2026-01-05, 12, 19 are Mondays.
  EXPECT_EQ(Next(Must("0 0 1,15 * mon"), Utc(2026, 1, 1, 0, 0), 4),
            (std::vector<std::string>{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z",
                                      "2026-01-15T00:00:00Z", "2026-01-19T00:00:00Z"}));
  // Day of month starting with '*' (also */2): both must match (odd days that are Mondays).
  EXPECT_EQ(Next(Must("0 0 */2 * mon"), Utc(2026, 1, 1, 0, 0), 2),
            (std::vector<std::string>{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"}));
  EXPECT_EQ(Next(Must("0 0 13 * *"), Utc(2026, 1, 1, 0, 0), 2),
            (std::vector<std::string>{"2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z"}));
}

TEST(CronScheduleTest, EuropeBerlinSpringForward) {
  // 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
  // Fixed hour: the skipped 02:30 fires once at the change, then 02:30 CEST as usual.
  EXPECT_EQ(Next(Must("30 2 * * *", "Europe/Berlin"), Utc(2026, 3, 28, 12, 0), 2),
            (std::vector<std::string>{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
  // Several skipped times of a fixed hour fire only once.
  EXPECT_EQ(Next(Must("0,15,30,45 2 * * *", "Europe/Berlin"), Utc(2026, 3, 28, 12, 0), 2),
            (std::vector<std::string>{"2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}));
  // Hour field '*': the clock runs on; skipped wall times do not fire, the interval holds.
  EXPECT_EQ(Next(Must("*/30 * * * *", "Europe/Berlin"), Utc(2026, 3, 29, 0, 15), 3),
            (std::vector<std::string>{"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z",
                                      "2026-03-29T01:30:00Z"}));
}

TEST(CronScheduleTest, EuropeBerlinFallBack) {
  // 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-02:59 happen twice.
  // Fixed hour: the first occurrence only.
  EXPECT_EQ(Next(Must("30 2 * * *", "Europe/Berlin"), Utc(2026, 10, 24, 12, 0), 2),
            (std::vector<std::string>{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}));
  // Hour field '*': both occurrences, also when asked from inside the first one.
  EXPECT_EQ(Next(Must("*/30 * * * *", "Europe/Berlin"), Utc(2026, 10, 24, 23, 45), 5),
            (std::vector<std::string>{"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
                                      "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z",
                                      "2026-10-25T02:00:00Z"}));
  EXPECT_EQ(Show(Must("*/30 * * * *", "Europe/Berlin").NextAfter(Utc(2026, 10, 25, 0, 45))),
            "2026-10-25T01:00:00Z");
  EXPECT_EQ(Show(Must("*/30 * * * *", "Europe/Berlin").NextAfter(Utc(2026, 10, 25, 1, 10))),
            "2026-10-25T01:30:00Z");
}

TEST(CronScheduleTest, AmericaNewYork) {
  // 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).
  EXPECT_EQ(Next(Must("30 2 * * *", "America/New_York"), Utc(2026, 3, 7, 12, 0), 2),
            (std::vector<std::string>{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}));
  EXPECT_EQ(Next(Must("30 1 * * *", "America/New_York"), Utc(2026, 10, 31, 12, 0), 2),
            (std::vector<std::string>{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  EXPECT_EQ(Next(Must("0 * * * *", "America/New_York"), Utc(2026, 11, 1, 4, 30), 3),
            (std::vector<std::string>{"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                                      "2026-11-01T07:00:00Z"}));
}

TEST(CronScheduleTest, LongestGap) {
  const TP from = Utc(2026, 1, 1, 0, 0);
  EXPECT_EQ(*Must("0 2 * * *").LongestGap(from), hours(24));
  EXPECT_EQ(*Must("*/5 * * * *").LongestGap(from), minutes(5));
  EXPECT_EQ(*Must("0 0 1 * *").LongestGap(from), hours(24 * 31));
  EXPECT_EQ(*Must("@weekly").LongestGap(from), hours(24 * 7));
  // Frequent schedules keep their interval across both DST changes of the year.
  EXPECT_EQ(*Must("*/5 * * * *", "Europe/Berlin").LongestGap(from), minutes(5));
  EXPECT_EQ(*Must("0 * * * *", "America/New_York").LongestGap(from), hours(1));
  // A fixed daily time in a DST zone: 25 hours across the fall-back night.
  EXPECT_EQ(*Must("30 2 * * *", "Europe/Berlin").LongestGap(from), hours(25));
  // A rare schedule's gap is measured in full: Feb 29 of 2028 and 2032.
  EXPECT_EQ(*Must("0 0 29 2 *").LongestGap(from), hours(24 * 1461));
  // Working days only: Friday to Monday.
  EXPECT_EQ(*Must("0 8 * * mon-fri").LongestGap(from), hours(72));
}

// LongestGap (day by day) against the plain definition: every firing of the year found by
// NextAfter, one after the other.
TEST(CronScheduleTest, LongestGapMatchesFiringOneByOne) {
  const char* expressions[] = {"0,30 * * * *", "*/5 * * * *", "15 1-4 * * *", "*/20 2 * * 0", "30 2 * * *",
                               "0 0 * * 1-5",  "45 */5 1,15 * *"};
  const char* zones[] = {"UTC", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe",
                         "Asia/Kolkata"};
  for (const TP from : {Utc(2026, 1, 1, 0, 0), Utc(2026, 3, 28, 23, 59), Utc(2026, 12, 5, 3, 7)}) {
    for (const char* zone : zones) {
      for (const char* expression : expressions) {
        CronSchedule s = Must(expression, zone);
        const TP end = from + hours(24 * 366);
        std::optional<TP> t = s.NextAfter(from);
        ASSERT_TRUE(t.has_value());
        seconds longest{0};
        while (true) {
          std::optional<TP> next = s.NextAfter(*t);
          ASSERT_TRUE(next.has_value());
          longest = std::max(longest, std::chrono::duration_cast<seconds>(*next - *t));
          if (*next > end) break;
          t = next;
        }
        EXPECT_EQ(*s.LongestGap(from), longest) << expression << " in " << zone;
      }
    }
  }
}

TEST(CronScheduleTest, ErrorsSayWhichFieldAndWhy) {
  EXPECT_EQ(Error("61 * * * *"),
            "invalid cron expression \"61 * * * *\": minute field \"61\": 61 is out of range (0-59)");
  EXPECT_EQ(Error("* * *"),
            "invalid cron expression \"* * *\": it has 3 fields; a cron expression has five: "
            "minute hour day-of-month month day-of-week (e.g. \"30 2 * * *\"), or is a macro such "
            "as @daily");
  EXPECT_EQ(Error("0 0 * foo *"),
            "invalid cron expression \"0 0 * foo *\": month field \"foo\": unknown value \"foo\" "
            "(use 1-12 or jan..dec)");
  EXPECT_EQ(Error("*/0 * * * *"),
            "invalid cron expression \"*/0 * * * *\": minute field \"*/0\": a step of 0");
  EXPECT_EQ(Error("0 5-2 * * *"),
            "invalid cron expression \"0 5-2 * * *\": hour field \"5-2\": range \"5-2\" is reversed");
  EXPECT_EQ(Error("0 0 1,,2 * *"),
            "invalid cron expression \"0 0 1,,2 * *\": day-of-month field \"1,,2\": an empty list "
            "element");
  EXPECT_EQ(Error("0 0 30 2 *"),
            "invalid cron expression \"0 0 30 2 *\": it never fires (no day matches the "
            "day-of-month, month and day-of-week fields)");
  EXPECT_EQ(Error("@reboot"),
            "invalid cron expression \"@reboot\": @reboot is not a schedule (a plan runs from a timer)");
  EXPECT_EQ(Error("@fortnightly"),
            "invalid cron expression \"@fortnightly\": unknown macro (use @hourly, @daily, "
            "@weekly, @monthly, @yearly or five fields)");
  EXPECT_EQ(Error("@daily", "Europe/Berln"),
            "unknown time zone \"Europe/Berln\" (an IANA name such as UTC, Europe/Berlin, "
            "America/New_York; see /usr/share/zoneinfo)");
  EXPECT_EQ(Error("0 0 * * 8"),
            "invalid cron expression \"0 0 * * 8\": day-of-week field \"8\": 8 is out of range (0-7)");
  EXPECT_TRUE(IsKnownTimeZone("UTC"));
  EXPECT_FALSE(IsKnownTimeZone(""));
}

TEST(CronScheduleTest, DerivedFromTheRpoAtMostHalfOfIt) {
  struct Case {
    int64_t rpo_seconds;
    seconds interval;
  };
  const Case cases[] = {
      {90, minutes(1)},      {15 * 60, minutes(6)},   {3600, minutes(30)},
      {4 * 3600, hours(2)},  {24 * 3600, hours(12)},  {2 * 86400, hours(24)},
      {30 * 86400, hours(24 * 7)},
  };
  const std::regex shape(R"(^(\*|[0-9]+-59)/[0-9]+ \* \* \* \*$|^\* \* \* \* \*$|^[0-9]+ (\*|\*/[0-9]+|0) \* \* (\*|0)$)");
  for (const Case& c : cases) {
    for (const char* salt : {"db", "web", "billing-db"}) {
      const std::string cron = DeriveCronFromRpo(seconds(c.rpo_seconds), salt);
      EXPECT_TRUE(std::regex_match(cron, shape)) << cron;
      EXPECT_EQ(cron, DeriveCronFromRpo(seconds(c.rpo_seconds), salt)) << "deterministic";
      CronSchedule s = Must(cron);
      EXPECT_EQ(*s.LongestGap(Utc(2026, 1, 1, 0, 0)), c.interval) << c.rpo_seconds << " " << cron;
    }
  }
  // Different services get different minutes (with these names).
  EXPECT_NE(DeriveCronFromRpo(hours(48), "db"), DeriveCronFromRpo(hours(48), "web"));
}

}  // namespace
}  // namespace lifeboat::plan
