#include "retention/retention.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <iterator>
#include <map>
#include <optional>

#include "repository/keys.h"
#include "util/json_bytes.h"
#include "util/strings.h"
#include "util/units.h"

namespace lifeboat::retention {

namespace {

constexpr int64_t kNsPerSecond = 1000000000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitComma(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.push_back(Trim(s.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Broken-down local time of a snapshot time.
struct tm LocalTm(int64_t time_ns) {
  time_t secs = static_cast<time_t>(FloorDiv(time_ns, kNsPerSecond));
  struct tm tm = {};
  if (localtime_r(&secs, &tm) == nullptr) tm = {};
  return tm;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// ISO 8601 year and week (restic: time.ISOWeek) as YYYYWW. The ISO year of a day is the year of
// the Thursday of its week.
int64_t IsoYearWeek(const struct tm& tm) {
  int64_t year = tm.tm_year + 1900LL;
  int weekday = (tm.tm_wday + 6) % 7;       // Monday = 0
  int64_t thursday = tm.tm_yday - weekday + 3;  // day of the year of this week's Thursday
  if (thursday < 0) {
    --year;
    thursday += IsLeap(year) ? 366 : 365;
  } else if (thursday >= (IsLeap(year) ? 366 : 365)) {
    thursday -= IsLeap(year) ? 366 : 365;
    ++year;
  }
  return year * 100 + thursday / 7 + 1;
}

enum class Bucket { kEach, kHour, kDay, kWeek, kMonth, kYear };

int64_t BucketOf(Bucket b, const struct tm& tm, size_t nr) {
  int64_t y = tm.tm_year + 1900LL, m = tm.tm_mon + 1, d = tm.tm_mday, h = tm.tm_hour;
  switch (b) {
    case Bucket::kEach: return static_cast<int64_t>(nr);
    case Bucket::kHour: return y * 1000000 + m * 10000 + d * 100 + h;
    case Bucket::kDay: return y * 10000 + m * 100 + d;
    case Bucket::kWeek: return IsoYearWeek(tm);
    case Bucket::kMonth: return y * 100 + m;
    case Bucket::kYear: return y;
  }
  return 0;
}

struct CountRule {
  const char* key;
  int RetentionPolicy::*count;
  Bucket bucket;
  const char* name;   // reasons: "<name> snapshot"
  const char* label;  // Describe: "3 <label>"
};
constexpr CountRule kCountRules[] = {
    {"keep_last", &RetentionPolicy::keep_last, Bucket::kEach, "last", "latest"},
    {"keep_hourly", &RetentionPolicy::keep_hourly, Bucket::kHour, "hourly", "hourly"},
    {"keep_daily", &RetentionPolicy::keep_daily, Bucket::kDay, "daily", "daily"},
    {"keep_weekly", &RetentionPolicy::keep_weekly, Bucket::kWeek, "weekly", "weekly"},
    {"keep_monthly", &RetentionPolicy::keep_monthly, Bucket::kMonth, "monthly", "monthly"},
    {"keep_yearly", &RetentionPolicy::keep_yearly, Bucket::kYear, "yearly", "yearly"},
};

struct WithinRule {
  const char* key;
  Duration RetentionPolicy::*within;
  Bucket bucket;
  const char* name;
};
constexpr WithinRule kWithinRules[] = {
    {"keep_within_hourly", &RetentionPolicy::keep_within_hourly, Bucket::kHour, "hourly"},
    {"keep_within_daily", &RetentionPolicy::keep_within_daily, Bucket::kDay, "daily"},
    {"keep_within_weekly", &RetentionPolicy::keep_within_weekly, Bucket::kWeek, "weekly"},
    {"keep_within_monthly", &RetentionPolicy::keep_within_monthly, Bucket::kMonth, "monthly"},
    {"keep_within_yearly", &RetentionPolicy::keep_within_yearly, Bucket::kYear, "yearly"},
};

constexpr const char* kKeepWithin = "keep_within";
constexpr const char* kKeepTags = "keep_tags";
constexpr const char* kGroupBy = "group_by";

// The keys of the rules, for messages: "keep_last, keep_hourly, ..., keep_tags".
std::string RuleKeys() {
  std::string s;
  for (const auto& r : kCountRules) s += std::string(r.key) + ", ";
  s += std::string(kKeepWithin) + ", ";
  for (const auto& r : kWithinRules) s += std::string(r.key) + ", ";
  return s + kKeepTags;
}

Status CheckDuration(const char* key, const Duration& d) {
  for (int part : {d.years, d.months, d.days, d.hours})
    if (part < 0 || part > kMaxDurationPart)
      return Status::InvalidArgument(std::string(key) + ": each part of a duration must be 0.." +
                                     std::to_string(kMaxDurationPart));
  return Status::Ok();
}

Status CheckTagSet(const TagSet& set, size_t index) {
  if (set.empty())
    return Status::InvalidArgument("keep_tags: tag set " + std::to_string(index + 1) +
                                   " is empty (it would match every snapshot)");
  for (const std::string& t : set)
    if (t.empty())
      return Status::InvalidArgument("keep_tags: tag set " + std::to_string(index + 1) +
                                     " contains an empty tag");
  return Status::Ok();
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

GroupKey KeyOf(const Snapshot& s, const GroupBy& by) {
  GroupKey k;
  k.by = by;
  k.service = s.service;
  if (s.source) k.source = s.source->name;
  if (by.host) k.host = s.hostname;
  if (by.paths) k.paths = SortedUnique(s.paths);
  if (by.tags) k.tags = SortedUnique(s.tags);
  return k;
}

bool HasAllTags(const Snapshot& s, const TagSet& set) {
  for (const std::string& t : set)
    if (!s.HasTag(t)) return false;
  return true;
}

std::string JsonTypeName(const nlohmann::json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_array() || v.is_object()) return std::string("an ") + v.type_name();
  return std::string("a ") + v.type_name();
}

}  // namespace

// --- durations ---

std::string Duration::ToString() const {
  if (IsZero()) return "0h";
  std::string s;
  if (years) s += std::to_string(years) + "y";
  if (months) s += std::to_string(months) + "m";
  if (days) s += std::to_string(days) + "d";
  if (hours) s += std::to_string(hours) + "h";
  return s;
}

Result<Duration> ParseCalendarDuration(std::string_view text) {
  auto parts = SplitDurationParts(text, "ymdh", kMaxDurationPart);
  if (!parts.ok())
    return Status::InvalidArgument(
        "invalid duration \"" + std::string(text) + "\": " + parts.status().message() +
        " (expected a number and a unit, repeated: y = years, m = months, d = days, h = hours, "
        "e.g. 30d, 1y6m, 2d12h; m is months, as in restic)");
  Duration d;
  for (const DurationPart& p : *parts) {
    int value = static_cast<int>(p.number);  // <= kMaxDurationPart
    switch (p.unit) {
      case 'y': d.years = value; break;
      case 'm': d.months = value; break;
      case 'd': d.days = value; break;
      case 'h': d.hours = value; break;
    }
  }
  return d;
}

int64_t SubtractDuration(int64_t time_ns, const Duration& d) {
  int64_t secs = FloorDiv(time_ns, kNsPerSecond);
  int64_t frac = time_ns - secs * kNsPerSecond;
  if (d.years != 0 || d.months != 0 || d.days != 0) {
    time_t t = static_cast<time_t>(secs);
    struct tm tm = {};
    if (localtime_r(&t, &tm) == nullptr) return INT64_MIN;
    tm.tm_year -= d.years;
    tm.tm_mon -= d.months;
    tm.tm_mday -= d.days;
    tm.tm_isdst = -1;  // whatever is in effect on the target day: keeps the wall-clock time
    errno = 0;
    time_t r = mktime(&tm);
    if (r == static_cast<time_t>(-1) && errno != 0) return INT64_MIN;
    secs = static_cast<int64_t>(r);
  }
  secs -= static_cast<int64_t>(d.hours) * 3600;
  if (secs <= FloorDiv(INT64_MIN, kNsPerSecond)) return INT64_MIN;
  if (secs >= INT64_MAX / kNsPerSecond) return INT64_MAX;  // DST shift near year 2262
  return secs * kNsPerSecond + frac;
}

// --- grouping ---

Result<GroupBy> ParseGroupBy(std::string_view text) {
  GroupBy g{false, false, false};
  if (Trim(text).empty()) return g;
  for (std::string_view word : SplitComma(text)) {
    bool* field = word == "host"    ? &g.host
                  : word == "paths" ? &g.paths
                  : word == "tags"  ? &g.tags
                                    : nullptr;
    if (field == nullptr)
      return Status::InvalidArgument(
          "invalid group-by \"" + std::string(text) + "\": " +
          (word.empty() ? std::string("empty word") : "unknown word \"" + std::string(word) + "\"") +
          " (use a comma-separated list of host, paths, tags; an empty string means one group)");
    if (*field)
      return Status::InvalidArgument("invalid group-by \"" + std::string(text) + "\": \"" +
                                     std::string(word) + "\" appears twice");
    *field = true;
  }
  return g;
}

std::string GroupByToString(const GroupBy& g) {
  std::vector<std::string> words;
  if (g.host) words.push_back("host");
  if (g.paths) words.push_back("paths");
  if (g.tags) words.push_back("tags");
  return JoinStrings(words, ",");
}

std::string GroupKey::ToString() const {
  std::vector<std::string> parts;
  if (!service.empty()) parts.push_back("service " + service);
  if (!source.empty()) parts.push_back("source " + source);
  if (by.host) parts.push_back("host " + (host.empty() ? std::string("\"\"") : host));
  if (by.paths) parts.push_back("paths [" + JoinStrings(paths, ", ") + "]");
  if (by.tags) parts.push_back("tags [" + JoinStrings(tags, ", ") + "]");
  if (parts.empty()) return "all snapshots";
  return JoinStrings(parts, ", ");
}

nlohmann::json GroupKey::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  if (!service.empty()) j["service"] = service;
  if (!source.empty()) j["source"] = source;
  j["host"] = by.host ? nlohmann::json(host) : nlohmann::json(nullptr);
  if (by.paths)
    PutBytesArray(j, "paths", paths);  // "paths_raw" when a path is not UTF-8 (doc/json.md)
  else
    j["paths"] = nullptr;
  j["tags"] = by.tags ? nlohmann::json(tags) : nlohmann::json(nullptr);
  return j;
}

std::vector<SnapshotGroup> GroupSnapshots(std::vector<std::pair<Id, Snapshot>> snapshots,
                                          const GroupBy& by) {
  std::map<GroupKey, std::vector<std::pair<Id, Snapshot>>> groups;
  for (auto& e : snapshots) {
    GroupKey key = KeyOf(e.second, by);
    groups[std::move(key)].push_back(std::move(e));
  }
  std::vector<SnapshotGroup> out;
  out.reserve(groups.size());
  for (auto& [key, list] : groups) {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
      if (a.second.time_ns != b.second.time_ns) return a.second.time_ns > b.second.time_ns;
      return a.first < b.first;
    });
    out.push_back({key, std::move(list)});
  }
  return out;
}

// --- the policy ---

Result<TagSet> ParseTagSet(std::string_view text) {
  TagSet set;
  if (Trim(text).empty())
    return Status::InvalidArgument("empty tag set: give one or more tags, e.g. --keep-tag a,b");
  for (std::string_view t : SplitComma(text)) {
    if (t.empty())
      return Status::InvalidArgument("tag set \"" + std::string(text) +
                                     "\" contains an empty tag");
    set.emplace_back(t);
  }
  return set;
}

bool RetentionPolicy::empty() const {
  for (const auto& r : kCountRules)
    if (this->*r.count != 0) return false;
  if (!keep_within.IsZero()) return false;
  for (const auto& r : kWithinRules)
    if (!(this->*r.within).IsZero()) return false;
  return keep_tags.empty();
}

Status RetentionPolicy::Validate() const {
  for (const auto& r : kCountRules)
    if (this->*r.count < kUnlimited)
      return Status::InvalidArgument(std::string(r.key) +
                                     " must be -1 (unlimited), 0 (off) or a positive count; got " +
                                     std::to_string(this->*r.count));
  LB_RETURN_IF_ERROR(CheckDuration(kKeepWithin, keep_within));
  for (const auto& r : kWithinRules) LB_RETURN_IF_ERROR(CheckDuration(r.key, this->*r.within));
  for (size_t i = 0; i < keep_tags.size(); ++i) LB_RETURN_IF_ERROR(CheckTagSet(keep_tags[i], i));
  return Status::Ok();
}

std::string RetentionPolicy::Describe() const {
  std::vector<std::string> counts, parts;
  for (const auto& r : kCountRules) {
    int n = this->*r.count;
    if (n > 0) counts.push_back(std::to_string(n) + " " + r.label);
    else if (n == kUnlimited) counts.push_back(std::string("all ") + r.label);
  }
  if (!counts.empty()) parts.push_back(JoinStrings(counts, ", ") + " snapshots");
  for (const auto& r : kWithinRules)
    if (!(this->*r.within).IsZero())
      parts.push_back(std::string(r.name) + " snapshots within " + (this->*r.within).ToString());
  if (!keep_within.IsZero())
    parts.push_back("all snapshots within " + keep_within.ToString() + " of the newest");
  if (!keep_tags.empty()) {
    std::vector<std::string> sets;
    for (const TagSet& s : keep_tags) sets.push_back("[" + JoinStrings(s, ",") + "]");
    parts.push_back("all snapshots with tags " + JoinStrings(sets, " or "));
  }
  if (parts.empty()) return "keep nothing";
  return "keep " + JoinStrings(parts, ", ");
}

// --- JSON ---

nlohmann::json PolicyToJson(const RetentionPolicy& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : kCountRules)
    if (p.*r.count != 0) j[r.key] = p.*r.count;
  if (!p.keep_within.IsZero()) j[kKeepWithin] = p.keep_within.ToString();
  for (const auto& r : kWithinRules)
    if (!(p.*r.within).IsZero()) j[r.key] = (p.*r.within).ToString();
  if (!p.keep_tags.empty()) j[kKeepTags] = p.keep_tags;
  nlohmann::json group_by = nlohmann::json::array();
  if (p.group_by.host) group_by.push_back("host");
  if (p.group_by.paths) group_by.push_back("paths");
  if (p.group_by.tags) group_by.push_back("tags");
  j[kGroupBy] = std::move(group_by);
  return j;
}

Result<RetentionPolicy> PolicyFromJson(const nlohmann::json& j) {
  auto bad = [](const std::string& key, const std::string& why) {
    return Status::InvalidArgument("retention policy: \"" + key + "\" " + why);
  };
  auto bad_value = [](const std::string& key, const Status& st) {
    return Status::InvalidArgument("retention policy: \"" + key + "\": " + st.message());
  };
  if (!j.is_object())
    return Status::InvalidArgument("retention policy must be a JSON object, got " +
                                   JsonTypeName(j));
  RetentionPolicy p;
  for (const auto& [key, v] : j.items()) {
    bool known = false;
    for (const auto& r : kCountRules) {
      if (key != r.key) continue;
      known = true;
      const char* want = "must be an integer: -1 (unlimited), 0 (off) or a positive count";
      if (!v.is_number_integer()) return bad(key, std::string(want) + "; got " + JsonTypeName(v));
      bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(INT_MAX)
                                             : v.get<int64_t>() >= kUnlimited &&
                                                   v.get<int64_t>() <= INT_MAX;
      if (!in_range) return bad(key, std::string(want) + "; got " + v.dump());
      p.*r.count = static_cast<int>(v.get<int64_t>());
    }
    // key and v named by init-captures: clang before 16 cannot capture structured bindings.
    auto duration = [&, &key = key, &v = v](Duration* out) -> Status {
      known = true;
      if (!v.is_string())
        return bad(key, "must be a duration string such as \"30d\" or \"1y6m\"; got " +
                            JsonTypeName(v));
      auto d = ParseCalendarDuration(v.get<std::string>());
      if (!d.ok()) return bad_value(key, d.status());
      *out = *d;
      return Status::Ok();
    };
    if (key == kKeepWithin) LB_RETURN_IF_ERROR(duration(&p.keep_within));
    for (const auto& r : kWithinRules)
      if (key == r.key) LB_RETURN_IF_ERROR(duration(&(p.*r.within)));
    if (key == kKeepTags) {
      known = true;
      const std::string want =
          "must be an array of tag sets, each an array of tags, e.g. [[\"a\",\"b\"],[\"monthly\"]]";
      if (!v.is_array()) return bad(key, want + "; got " + JsonTypeName(v));
      for (size_t i = 0; i < v.size(); ++i) {
        const nlohmann::json& set = v[i];
        if (!set.is_array())
          return bad(key, want + "; element " + std::to_string(i + 1) + " is " +
                              JsonTypeName(set));
        TagSet tags;
        for (const nlohmann::json& t : set) {
          if (!t.is_string())
            return bad(key, want + "; tag set " + std::to_string(i + 1) + " contains " +
                                JsonTypeName(t));
          tags.push_back(t.get<std::string>());
        }
        Status st = CheckTagSet(tags, i);
        if (!st.ok()) return Status::InvalidArgument("retention policy: " + st.message());
        p.keep_tags.push_back(std::move(tags));
      }
    }
    if (key == kGroupBy) {
      known = true;
      const std::string want =
          "must be an array of \"host\", \"paths\", \"tags\" (empty array: one group)";
      if (!v.is_array()) return bad(key, want + "; got " + JsonTypeName(v));
      GroupBy g{false, false, false};
      for (const nlohmann::json& w : v) {
        if (!w.is_string()) return bad(key, want + "; it contains " + JsonTypeName(w));
        const std::string word = w.get<std::string>();
        bool* field = word == "host"    ? &g.host
                      : word == "paths" ? &g.paths
                      : word == "tags"  ? &g.tags
                                        : nullptr;
        if (field == nullptr) return bad(key, want + "; got \"" + word + "\"");
        if (*field) return bad(key, want + "; \"" + word + "\" appears twice");
        *field = true;
      }
      p.group_by = g;
    }
    if (!known)
      return bad(key, "is not a retention setting (known: " + RuleKeys() + ", " + kGroupBy + ")");
  }
  LB_RETURN_IF_ERROR(p.Validate());
  return p;
}

Result<RetentionPolicy> ParsePolicyJson(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    size_t bracket = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
      what = what.substr(bracket + 2);
    return Status::InvalidArgument("retention policy is not valid JSON: " + what);
  }
  return PolicyFromJson(j);
}

// --- applying ---

size_t GroupDecisions::kept() const {
  return static_cast<size_t>(
      std::count_if(snapshots.begin(), snapshots.end(), [](const Decision& d) { return d.keep; }));
}

size_t GroupDecisions::removed() const { return snapshots.size() - kept(); }

namespace {

struct BucketState {
  int count;                   // counted rules: what is left; kUnlimited = no limit
  std::optional<int64_t> last;  // bucket of the previous snapshot this rule kept
};

// One group, `list` newest first.
GroupDecisions ApplyToGroup(SnapshotGroup group, const RetentionPolicy& p, int64_t now_ns) {
  GroupDecisions out;
  out.key = std::move(group.key);
  auto& list = group.snapshots;

  // The window of the keep_within* rules ends at the newest snapshot that is not in the future.
  std::optional<int64_t> newest;
  for (const auto& [id, s] : list)
    if (s.time_ns < now_ns && (!newest || s.time_ns > *newest)) newest = s.time_ns;
  auto window_start = [&](const Duration& d) -> std::optional<int64_t> {
    if (d.IsZero()) return std::nullopt;
    return newest ? SubtractDuration(*newest, d) : INT64_MIN;
  };
  // Without a newest snapshot in the past everything counts as within (restic: zero time).
  auto within = [&](const std::optional<int64_t>& start, int64_t t) {
    return start && (!newest || t > *start);
  };
  std::optional<int64_t> keep_within_start = window_start(p.keep_within);
  std::optional<int64_t> within_starts[std::size(kWithinRules)];
  for (size_t i = 0; i < std::size(kWithinRules); ++i)
    within_starts[i] = window_start(p.*kWithinRules[i].within);

  BucketState counted[std::size(kCountRules)];
  for (size_t i = 0; i < std::size(kCountRules); ++i) counted[i] = {p.*kCountRules[i].count, {}};
  BucketState windowed[std::size(kWithinRules)];
  for (auto& w : windowed) w = {0, {}};

  for (size_t nr = 0; nr < list.size(); ++nr) {
    auto& [id, s] = list[nr];
    const bool oldest = nr + 1 == list.size();
    const struct tm tm = LocalTm(s.time_ns);
    Decision d;
    for (const TagSet& set : p.keep_tags)
      if (HasAllTags(s, set)) d.reasons.push_back("tag " + JoinStrings(set, ","));
    if (within(keep_within_start, s.time_ns))
      d.reasons.push_back("within " + p.keep_within.ToString());
    for (size_t i = 0; i < std::size(kCountRules); ++i) {
      BucketState& b = counted[i];
      if (b.count == 0) continue;
      int64_t val = BucketOf(kCountRules[i].bucket, tm, nr);
      if (b.last == val && !oldest) continue;
      std::string reason = std::string(kCountRules[i].name) + " snapshot";
      if (b.last == val) reason = "oldest " + reason;
      b.last = val;
      if (b.count > 0) --b.count;
      d.reasons.push_back(std::move(reason));
    }
    for (size_t i = 0; i < std::size(kWithinRules); ++i) {
      if (!within(within_starts[i], s.time_ns)) continue;
      BucketState& b = windowed[i];
      int64_t val = BucketOf(kWithinRules[i].bucket, tm, nr);
      if (b.last == val && !oldest) continue;
      std::string reason = std::string(kWithinRules[i].name) + " within " +
                           (p.*kWithinRules[i].within).ToString();
      if (b.last == val) reason = "oldest " + reason;
      b.last = val;
      d.reasons.push_back(std::move(reason));
    }
    d.keep = !d.reasons.empty();
    d.id = id;
    d.snapshot = std::move(s);
    out.snapshots.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<std::vector<GroupDecisions>> Apply(const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                          const RetentionPolicy& policy, int64_t now_ns) {
  if (policy.empty())
    return Status::InvalidArgument(
        "the retention policy has no rule, so it would remove every snapshot; set at least one "
        "of " +
        RuleKeys() + " (a count of -1 keeps all)");
  LB_RETURN_IF_ERROR(policy.Validate());
  std::vector<GroupDecisions> out;
  for (SnapshotGroup& g : GroupSnapshots(snapshots, policy.group_by))
    out.push_back(ApplyToGroup(std::move(g), policy, now_ns));
  return out;
}

nlohmann::json GroupDecisionsToJson(const GroupDecisions& g) {
  nlohmann::json keep = nlohmann::json::array(), remove = nlohmann::json::array();
  for (const Decision& d : g.snapshots) {
    nlohmann::json e = {{"id", d.id.Hex()},
                        {"short_id", d.id.Short()},
                        {"time", FormatTime(d.snapshot.time_ns)},
                        {"hostname", d.snapshot.hostname},
                        {"tags", d.snapshot.tags}};
    PutBytesArray(e, "paths", d.snapshot.paths);
    if (d.keep) {
      e["reasons"] = d.reasons;
      keep.push_back(std::move(e));
    } else {
      remove.push_back(std::move(e));
    }
  }
  return {{"group", g.key.ToJson()}, {"keep", std::move(keep)}, {"remove", std::move(remove)}};
}

}  // namespace lifeboat::retention
