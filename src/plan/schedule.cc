#include "plan/schedule.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <vector>

#include <cctz/civil_time.h>

namespace lifeboat::plan {

namespace {

struct FieldSpec {
  std::string_view name;  // for messages
  int min, max;
  const std::string_view* names;  // names[i] is value min+i... (months: 1.., days: 0..)
  int name_base;
  int name_count;
};

constexpr std::string_view kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::string_view kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, 0},
    {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0},
    {"month", 1, 12, kMonthNames, 1, 12},
    {"day-of-week", 0, 7, kDayNames, 0, 7},
};

struct Macro {
  std::string_view name, expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A number or (where the field has names) a name. Error text is the reason only.
Result<int> ParseValue(std::string_view text, const FieldSpec& f) {
  if (text.empty()) return Status::InvalidArgument("a value is missing");
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return Status::InvalidArgument("\"" + std::string(text) + "\" is not a number");
      v = v * 10 + (c - '0');
      if (v > 1000) break;
    }
    if (v < f.min || v > f.max)
      return Status::InvalidArgument(std::to_string(v) + " is out of range (" +
                                     std::to_string(f.min) + "-" + std::to_string(f.max) + ")");
    return v;
  }
  const std::string lower = Lower(text);
  for (int i = 0; i < f.name_count; ++i)
    if (f.names[i] == lower) return f.name_base + i;
  std::string hint = f.name_count > 0 ? " (use " + std::to_string(f.min) + "-" +
                                            std::to_string(f.max) + " or " +
                                            std::string(f.names[0]) + ".." +
                                            std::string(f.names[f.name_count - 1]) + ")"
                                      : " (use " + std::to_string(f.min) + "-" +
                                            std::to_string(f.max) + ")";
  return Status::InvalidArgument("unknown value \"" + std::string(text) + "\"" + hint);
}

// Parses one field into bits[min..max]. Error text is the reason only.
Status ParseField(std::string_view text, const FieldSpec& f, std::vector<bool>* bits) {
  bits->assign(f.max + 1, false);
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) return Status::InvalidArgument("an empty list element");
    int step = 1;
    const size_t slash = item.find('/');
    std::string_view range = item.substr(0, slash);
    bool has_step = slash != std::string_view::npos;
    if (has_step) {
      std::string_view step_text = item.substr(slash + 1);
      if (step_text.empty() ||
          !std::all_of(step_text.begin(), step_text.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
        return Status::InvalidArgument("step \"" + std::string(step_text) +
                                       "\" is not a positive number");
      step = step_text.size() > 3 ? 1000 : std::stoi(std::string(step_text));
      if (step == 0) return Status::InvalidArgument("a step of 0");
      if (step > f.max) return Status::InvalidArgument("step " + std::to_string(step) +
                                                       " is larger than the field's range");
    }
    int lo, hi;
    if (range == "*") {
      lo = f.min;
      hi = f.max;
    } else {
      const size_t dash = range.find('-');
      LB_ASSIGN_OR_RETURN(lo, ParseValue(range.substr(0, dash), f));
      if (dash != std::string_view::npos) {
        LB_ASSIGN_OR_RETURN(hi, ParseValue(range.substr(dash + 1), f));
        if (hi < lo)
          return Status::InvalidArgument("range \"" + std::string(range) + "\" is reversed");
      } else {
        hi = has_step ? f.max : lo;  // "a/n" is "a-MAX/n"
      }
    }
    for (int v = lo; v <= hi; v += step) (*bits)[v] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::Ok();
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

bool IsKnownTimeZone(std::string_view name) {
  cctz::time_zone tz;
  return !name.empty() && cctz::load_time_zone(std::string(name), &tz);
}

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view timezone) {
  CronSchedule s;
  s.expression_ = std::string(expression);
  s.timezone_name_ = std::string(timezone);
  auto fail = [&](const std::string& why) {
    return Status::InvalidArgument("invalid cron expression \"" + std::string(expression) +
                                   "\": " + why);
  };
  if (!IsKnownTimeZone(timezone) || !cctz::load_time_zone(s.timezone_name_, &s.zone_)) {
    return Status::InvalidArgument("unknown time zone \"" + std::string(timezone) +
                                   "\" (an IANA name such as UTC, Europe/Berlin, "
                                   "America/New_York; see /usr/share/zoneinfo)");
  }
  std::string text(expression);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  if (!text.empty() && text[0] == '@') {
    const std::string lower = Lower(text);
    if (lower == "@reboot") return fail("@reboot is not a schedule (a plan runs from a timer)");
    bool found = false;
    for (const Macro& m : kMacros)
      if (m.name == lower) {
        text = std::string(m.expansion);
        found = true;
      }
    if (!found)
      return fail("unknown macro (use @hourly, @daily, @weekly, @monthly, @yearly or five fields)");
  }
  std::vector<std::string> fields;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return fail("it has " + std::to_string(fields.size()) +
                " fields; a cron expression has five: minute hour day-of-month month "
                "day-of-week (e.g. \"30 2 * * *\"), or is a macro such as @daily");
  }
  std::vector<bool> bits[5];
  for (int i = 0; i < 5; ++i) {
    Status st = ParseField(fields[i], kFields[i], &bits[i]);
    if (!st.ok())
      return fail(std::string(kFields[i].name) + " field \"" + fields[i] + "\": " + st.message());
  }
  for (int v = 0; v < 60; ++v) s.minutes_[v] = bits[0][v];
  for (int v = 0; v < 24; ++v) s.hours_[v] = bits[1][v];
  for (int v = 1; v <= 31; ++v) s.days_of_month_[v] = bits[2][v];
  for (int v = 1; v <= 12; ++v) s.months_[v] = bits[3][v];
  for (int v = 0; v <= 7; ++v)
    if (bits[4][v]) s.days_of_week_[v % 7] = true;
  s.hour_star_ = fields[1][0] == '*';
  s.day_of_month_star_ = fields[2][0] == '*';
  s.day_of_week_star_ = fields[4][0] == '*';
  // Fields are calendar-only: a schedule that matches no minute in nine years (Feb 29 recurs
  // within eight) never matches.
  const cctz::civil_minute from(2000, 1, 1, 0, 0);
  if (!s.NextMatchingMinute(from, cctz::civil_minute(2009, 1, 1, 0, 0))) {
    return fail("it never fires (no day matches the day-of-month, month and day-of-week fields)");
  }
  return s;
}

bool CronSchedule::DayMatches(const cctz::civil_day& d) const {
  const bool dom = days_of_month_[d.day()];
  int dow = 0;
  switch (cctz::get_weekday(d)) {
    case cctz::weekday::sunday: dow = 0; break;
    case cctz::weekday::monday: dow = 1; break;
    case cctz::weekday::tuesday: dow = 2; break;
    case cctz::weekday::wednesday: dow = 3; break;
    case cctz::weekday::thursday: dow = 4; break;
    case cctz::weekday::friday: dow = 5; break;
    case cctz::weekday::saturday: dow = 6; break;
  }
  const bool wd = days_of_week_[dow];
  // Vixie cron: both restricted -> either; otherwise both (the '*' one matches every day).
  if (!day_of_month_star_ && !day_of_week_star_) return dom || wd;
  return dom && wd;
}

std::optional<cctz::civil_minute> CronSchedule::NextMatchingMinute(cctz::civil_minute c,
                                                                   cctz::civil_minute limit) const {
  while (c <= limit) {
    if (!months_[c.month()]) {
      c = cctz::civil_minute(cctz::civil_month(c) + 1);
      continue;
    }
    if (!DayMatches(cctz::civil_day(c))) {
      c = cctz::civil_minute(cctz::civil_day(c) + 1);
      continue;
    }
    if (!hours_[c.hour()]) {
      c = cctz::civil_minute(cctz::civil_hour(c) + 1);
      continue;
    }
    if (!minutes_[c.minute()]) {
      c += 1;
      continue;
    }
    return c;
  }
  return std::nullopt;
}

int CronSchedule::Instants(const cctz::civil_minute& c, TimePoint out[2]) const {
  const cctz::time_zone::civil_lookup cl = zone_.lookup(cctz::civil_second(c));
  switch (cl.kind) {
    case cctz::time_zone::civil_lookup::UNIQUE:
      out[0] = cl.pre;
      return 1;
    case cctz::time_zone::civil_lookup::SKIPPED:
      if (hour_star_) return 0;
      out[0] = cl.trans;
      return 1;
    case cctz::time_zone::civil_lookup::REPEATED:
      out[0] = cl.pre;
      if (!hour_star_) return 1;
      out[1] = cl.post;
      return 2;
  }
  return 0;
}

namespace {
// Wall times are searched from this far before the wall time of `t`, and a candidate is final
// once the wall clock is this far past it: more than any daylight-saving shift.
constexpr int kShiftMinutes = 180;
}  // namespace

std::optional<CronSchedule::TimePoint> CronSchedule::NextAfter(TimePoint t) const {
  const cctz::civil_minute start = cctz::civil_minute(cctz::convert(t, zone_)) - kShiftMinutes;
  const cctz::civil_minute limit(cctz::civil_year(start) + 9);
  std::optional<TimePoint> best;
  cctz::civil_minute best_wall;
  cctz::civil_minute c = start;
  while (true) {
    std::optional<cctz::civil_minute> m = NextMatchingMinute(c, limit);
    if (!m) break;
    if (best && *m >= best_wall + kShiftMinutes) break;
    TimePoint inst[2];
    const int n = Instants(*m, inst);
    for (int i = 0; i < n; ++i) {
      if (inst[i] > t && (!best || inst[i] < *best)) {
        best = inst[i];
        best_wall = cctz::civil_minute(cctz::convert(*best, zone_));
      }
    }
    c = *m + 1;
  }
  return best;
}

Result<std::chrono::seconds> CronSchedule::LongestGap(TimePoint from) const {
  std::optional<TimePoint> first = NextAfter(from);
  if (!first) return Status::Internal("schedule \"" + expression_ + "\" never fires");
  const TimePoint window_end = from + std::chrono::hours(24 * 366);

  // The wall-clock minutes of a matching day (every matching day has the same ones), and the
  // longest gap between two of them.
  std::vector<int> day_minutes;
  for (int h = 0; h < 24; ++h) {
    if (!hours_[h]) continue;
    for (int m = 0; m < 60; ++m)
      if (minutes_[m]) day_minutes.push_back(h * 60 + m);
  }
  std::chrono::seconds longest{0};
  for (size_t i = 1; i < day_minutes.size(); ++i)
    longest = std::max(longest, std::chrono::seconds(60 * (day_minutes[i] - day_minutes[i - 1])));

  // The firings in [first, window_end], in order, day by day. A day whose wall clock keeps one
  // offset to UTC fires at its minutes shifted by that offset: only its first and last firing
  // matter for the gaps between days (its own gaps are `longest` above). A day with a
  // daylight-saving change, and the two days at the ends of the window, go minute by minute.
  TimePoint prev = *first;
  auto fire = [&](TimePoint t) {
    if (t < *first || t > window_end) return;
    if (t > prev) longest = std::max(longest, std::chrono::duration_cast<std::chrono::seconds>(t - prev));
    prev = std::max(prev, t);
  };
  const cctz::civil_day first_day(cctz::convert(*first, zone_));
  const cctz::civil_day last_day(cctz::convert(window_end, zone_));
  const cctz::civil_day begin =
      cctz::civil_day(cctz::civil_minute(cctz::convert(*first, zone_)) - kShiftMinutes);
  const cctz::civil_day end =
      cctz::civil_day(cctz::civil_minute(cctz::convert(window_end, zone_)) + kShiftMinutes);
  for (cctz::civil_day d = begin; d <= end; ++d) {
    if (!months_[d.month()] || !DayMatches(d)) continue;
    // A change of offset that skips or repeats wall times of this day: the next change after
    // the day's first instant touches the wall times between its `from` and `to`.
    const TimePoint day_start = cctz::convert(cctz::civil_second(d), zone_);
    cctz::time_zone::civil_transition change;
    const bool changes =
        zone_.next_transition(day_start - std::chrono::seconds(1), &change) &&
        std::min(change.from, change.to) < cctz::civil_second(d + 1);
    if (!changes && d > first_day && d < last_day) {
      const cctz::civil_minute wall(d);
      TimePoint at[2];
      if (Instants(wall + day_minutes.front(), at) == 1) {
        fire(at[0]);
        // The gaps inside the day are in `longest` already.
        prev = at[0] + std::chrono::minutes(day_minutes.back() - day_minutes.front());
        continue;
      }
    }
    // A repeated hour fires twice per wall minute: the day's instants are sorted first. They
    // all lie before the next day's.
    std::vector<TimePoint> day_fires;
    const cctz::civil_minute day_end = cctz::civil_minute(d + 1) - 1;
    for (cctz::civil_minute c = cctz::civil_minute(d);;) {
      std::optional<cctz::civil_minute> m = NextMatchingMinute(c, day_end);
      if (!m) break;
      TimePoint inst[2];
      const int n = Instants(*m, inst);
      day_fires.insert(day_fires.end(), inst, inst + n);
      c = *m + 1;
    }
    std::sort(day_fires.begin(), day_fires.end());
    for (TimePoint t : day_fires) fire(t);
  }
  std::optional<TimePoint> after = NextAfter(std::max(prev, window_end));
  if (!after) return Status::Internal("schedule \"" + expression_ + "\" stops firing");
  longest = std::max(longest, std::chrono::duration_cast<std::chrono::seconds>(*after - prev));
  return longest;
}

std::string DeriveCronFromRpo(std::chrono::seconds rpo, std::string_view salt) {
  constexpr int kIntervals[] = {1,      2,      3,      4,      5,      6,      10,
                                12,     15,     20,     30,     60,     120,    180,
                                240,    360,    480,    720,    1440,   10080};
  const int64_t half_minutes = rpo.count() / 2 / 60;
  int interval = 1;
  for (int i : kIntervals)
    if (i <= half_minutes) interval = i;
  const uint64_t h = Fnv1a(salt);
  const int minute = static_cast<int>(h % 60);
  if (interval == 1) return "* * * * *";
  if (interval < 60) {
    const int offset = static_cast<int>(h % static_cast<uint64_t>(interval));
    return (offset == 0 ? std::string("*") : std::to_string(offset) + "-59") + "/" +
           std::to_string(interval) + " * * * *";
  }
  if (interval < 1440) {
    const int hours = interval / 60;
    return std::to_string(minute) + (hours == 1 ? " *" : " */" + std::to_string(hours)) +
           " * * *";
  }
  if (interval == 1440) return std::to_string(minute) + " 0 * * *";
  return std::to_string(minute) + " 0 * * 0";
}

}  // namespace lifeboat::plan
