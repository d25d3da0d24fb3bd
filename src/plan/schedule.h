// Cron schedules in a named time zone (doc/plan.md, "Schedules"): Vixie cron's five fields with
// ranges, steps, lists and month/day names, the @hourly-style macros, the day-of-month /
// day-of-week OR rule, and cronie's handling of daylight-saving changes. Time zones come from
// cctz (the system's tzdata); the default is UTC.
//
//   LB_ASSIGN_OR_RETURN(CronSchedule s, CronSchedule::Parse("30 2 * * mon-fri", "Europe/Berlin"));
//   std::optional<CronSchedule::TimePoint> next = s.NextAfter(now);
//   LB_ASSIGN_OR_RETURN(std::chrono::seconds gap, s.LongestGap(now));  // vs. the RPO
//
// A CronSchedule is immutable after Parse; its const methods may be called from any thread.
// Nothing blocks and nothing reads the clock: the caller passes the time.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <cctz/time_zone.h>

#include "util/status.h"

namespace lifeboat::plan {

class CronSchedule {
 public:
  using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;

  // Parses `expression` (five fields or a macro) in the IANA time zone `timezone` ("UTC",
  // "Europe/Berlin"). InvalidArgument saying which field is wrong and why (a value out of range,
  // an unknown name, a zero step, a reversed range, a wrong number of fields, @reboot), or that
  // the time zone is unknown. A schedule that never fires ("0 0 30 2 *") is also refused.
  static Result<CronSchedule> Parse(std::string_view expression, std::string_view timezone);

  // The first time the schedule fires strictly after `t`, or nullopt when it does not fire in the
  // next nine years. Daylight-saving changes (doc/plan.md): when the hour field starts with '*',
  // skipped wall times do not fire and repeated ones fire at both occurrences; otherwise a
  // skipped wall time fires once at the change and a repeated one at its first occurrence only.
  std::optional<TimePoint> NextAfter(TimePoint t) const;

  // The longest time between two consecutive firings from the first firing after `from` to the
  // first firing after `from` + 366 days (so a rare schedule's gap is measured in full).
  // Internal error only if the schedule stopped firing (Parse refuses those).
  Result<std::chrono::seconds> LongestGap(TimePoint from) const;

  const std::string& expression() const { return expression_; }
  const std::string& timezone() const { return timezone_name_; }

 private:
  CronSchedule() = default;
  bool DayMatches(const cctz::civil_day& d) const;
  // The first civil minute >= c that matches every field; nullopt after `limit`.
  std::optional<cctz::civil_minute> NextMatchingMinute(cctz::civil_minute c,
                                                       cctz::civil_minute limit) const;
  // Appends the instants the wall time c fires at (0, 1 or 2) to out[]; returns how many.
  int Instants(const cctz::civil_minute& c, TimePoint out[2]) const;

  std::string expression_;
  std::string timezone_name_;
  cctz::time_zone zone_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0 = Sunday
  bool day_of_month_star_ = false;  // the field starts with '*' (Vixie's DOM_STAR)
  bool day_of_week_star_ = false;
  bool hour_star_ = false;  // the hour field starts with '*': follow the clock across DST
};

// The standard intervals a schedule is derived from when the plan gives none, largest first
// among those at most rpo / 2 (doc/plan.md): 1..30 minutes dividing the hour, 1..12 hours
// dividing the day, 1 day, 1 week; 1 minute when the RPO is under 2 minutes. `salt` (the
// service's name) offsets the minute so that services do not all start at once; the same salt
// always gives the same expression. The expression is for UTC.
std::string DeriveCronFromRpo(std::chrono::seconds rpo, std::string_view salt);

// True when `name` is a time zone cctz can load.
bool IsKnownTimeZone(std::string_view name);

}  // namespace lifeboat::plan
