// Tests for the retention policy: durations, grouping, each keep-* rule alone and combined, the
// JSON form. The expected sets of kept snapshots for the 30-snapshot history below were produced
// by restic 0.14.0 itself (`restic backup --time ...` into a scratch repository, then
// `restic forget --dry-run --json <rules>` with TZ=UTC); in that history the oldest snapshot is
// alone in every bucket, so restic >= 0.17's "keep the oldest snapshot while counts are left"
// rule changes nothing there. That rule has its own tests (OldestSnapshot*).

#include "retention/retention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "repository/keys.h"

namespace lifeboat::retention {
namespace {

// Sets TZ for the test and restores UTC afterwards (every test runs with a known zone).
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) { Set(tz); }
  ~ScopedTz() { Set("UTC"); }

 private:
  static void Set(const char* tz) {
    setenv("TZ", tz, 1);
    tzset();
  }
};

// Central European time without needing tzdata: UTC+1, UTC+2 from the last Sunday of March 02:00
// to the last Sunday of October 03:00.
constexpr const char* kCet = "CET-1CEST,M3.5.0,M10.5.0/3";

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

// "2024-05-03 08:30:00" (UTC) as Unix nanoseconds.
int64_t T(const std::string& utc) {
  std::string rfc = utc;
  rfc[10] = 'T';
  auto t = ParseTime(rfc + "Z");
  EXPECT_TRUE(t.ok()) << utc;
  return t.ok() ? *t : 0;
}

Id MakeId(int n) {
  Id id;
  id.bytes[0] = static_cast<uint8_t>(n);
  id.bytes[31] = static_cast<uint8_t>(n);
  return id;
}
int IndexOf(const Id& id) { return id.bytes[31]; }

Snapshot Snap(int64_t time_ns, std::string host = "h", std::vector<std::string> paths = {"/data"},
              std::vector<std::string> tags = {}) {
  Snapshot s;
  s.time_ns = time_ns;
  s.hostname = std::move(host);
  s.paths = std::move(paths);
  s.tags = std::move(tags);
  return s;
}

// The history: 30 snapshots of one host and path, numbered 1 (oldest) to 30 (newest).
const char* const kTimes[] = {
    "2019-06-15 10:00:00", "2020-01-01 00:30:00", "2020-03-31 12:00:00",  // 1-3
    "2020-12-31 23:00:00", "2021-01-01 01:00:00", "2021-01-04 09:00:00",  // 4-6 (4, 5: 2020-W53)
    "2021-06-30 18:00:00", "2022-02-28 08:00:00", "2022-03-01 08:00:00",  // 7-9
    "2022-11-15 14:00:00", "2023-01-01 00:00:00", "2023-04-10 06:00:00",  // 10-12
    "2023-08-20 20:00:00", "2023-12-25 10:00:00", "2024-02-29 12:00:00",  // 13-15
    "2024-03-31 09:00:00", "2024-05-01 09:00:00", "2024-05-02 09:00:00",  // 16-18
    "2024-05-02 21:00:00", "2024-05-03 08:00:00", "2024-05-03 08:30:00",  // 19-21 (same day)
    "2024-05-03 08:45:00", "2024-05-05 23:59:00", "2024-05-06 00:01:00",  // 22-24 (Sun, Mon)
    "2024-05-10 12:00:00", "2024-05-15 12:00:00", "2024-05-20 12:00:00",  // 25-27
    "2024-05-31 23:00:00", "2024-06-01 01:00:00", "2024-06-02 10:00:00",  // 28-30
};
constexpr int kCount = 30;

std::vector<std::string> TagsOf(int n) {
  switch (n) {
    case 3: case 10: case 20: return {"keep"};
    case 7: case 21: return {"keep", "monthly"};
    case 14: return {"monthly"};
    default: return {};
  }
}

// The history in a scrambled order (Apply must not depend on the input order).
std::vector<std::pair<Id, Snapshot>> History() {
  std::vector<std::pair<Id, Snapshot>> v;
  for (int i = 1; i <= kCount; ++i) v.emplace_back(MakeId(i), Snap(T(kTimes[i - 1]), "h", {"/data"}, TagsOf(i)));
  std::mt19937 rng(42);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

const int64_t kNow = T("2024-06-10 00:00:00");

std::vector<GroupDecisions> MustApply(const std::vector<std::pair<Id, Snapshot>>& snaps,
                                      const RetentionPolicy& p, int64_t now = kNow) {
  auto r = Apply(snaps, p, now);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<GroupDecisions>{};
}

// Numbers of the kept snapshots, ascending.
std::vector<int> Kept(const std::vector<GroupDecisions>& groups) {
  std::vector<int> out;
  for (const auto& g : groups)
    for (const auto& d : g.snapshots)
      if (d.keep) out.push_back(IndexOf(d.id));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> Range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i <= to; ++i) v.push_back(i);
  return v;
}

const Decision& Find(const std::vector<GroupDecisions>& groups, int n) {
  for (const auto& g : groups)
    for (const auto& d : g.snapshots)
      if (IndexOf(d.id) == n) return d;
  static Decision none;
  ADD_FAILURE() << "snapshot " << n << " not in the result";
  return none;
}

using Reasons = std::vector<std::string>;

// --- durations ---

TEST_F(RetentionTest, ParseCalendarDurationForms) {
  struct Case {
    const char* text;
    Duration want;
  } cases[] = {
      {"30d", {0, 0, 30, 0}},      {"1y", {1, 0, 0, 0}},          {"6m", {0, 6, 0, 0}},
      {"12h", {0, 0, 0, 12}},      {"1y2m3d4h", {1, 2, 3, 4}},    {"4h3d2m1y", {1, 2, 3, 4}},
      {" 2d12h\t", {0, 0, 2, 12}}, {"0d", {0, 0, 0, 0}},          {"007d", {0, 0, 7, 0}},
      {"1000000y", {1000000, 0, 0, 0}},
  };
  for (const auto& c : cases) {
    auto d = ParseCalendarDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().ToString();
    EXPECT_EQ(*d, c.want) << c.text;
  }
  EXPECT_TRUE(ParseCalendarDuration("0d")->IsZero());
}

TEST_F(RetentionTest, ParseCalendarDurationErrors) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "empty"},        {"   ", "empty"},        {"5", "no unit"},
      {"d", "expected a number"}, {"5x", "unknown unit 'x'"}, {"5d3d", "appears twice"},
      {"-1d", "negative"},  {"1.5d", "only whole numbers"}, {"1000001d", "larger than"},
      {"99999999999999999999y", "larger than"}, {"5D", "unknown unit 'D'"}, {"5d 3h", "blanks inside"},
      {"1d12", "the number 12 has no unit"}, {"30s", "unknown unit 's'"}, {"2w", "unknown unit 'w'"},
      {"1M", "unknown unit 'M'"},
  };
  for (const auto& c : cases) {
    auto d = ParseCalendarDuration(c.text);
    ASSERT_FALSE(d.ok()) << "accepted \"" << c.text << "\"";
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(d.status().message().find(c.says), std::string::npos)
        << c.text << ": " << d.status().message();
    EXPECT_NE(d.status().message().find("invalid duration"), std::string::npos);
    EXPECT_NE(d.status().message().find("e.g. 30d"), std::string::npos);
    EXPECT_NE(d.status().message().find("m is months, as in restic"), std::string::npos);
  }
}

// restic's meaning, unlike util/units.h's ParseDuration (where 1m is a minute).
TEST_F(RetentionTest, CalendarDurationMIsMonths) {
  EXPECT_EQ(*ParseCalendarDuration("1m"), (Duration{0, 1, 0, 0}));
  EXPECT_EQ(*ParseCalendarDuration("15m"), (Duration{0, 15, 0, 0}));
}

TEST_F(RetentionTest, DurationToStringRoundTrips) {
  for (Duration d : {Duration{1, 2, 3, 4}, Duration{0, 0, 30, 0}, Duration{2, 0, 0, 5},
                     Duration{0, 0, 0, 0}}) {
    auto back = ParseCalendarDuration(d.ToString());
    ASSERT_TRUE(back.ok()) << d.ToString();
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ((Duration{1, 2, 3, 4}).ToString(), "1y2m3d4h");
  EXPECT_EQ((Duration{0, 0, 30, 0}).ToString(), "30d");
  EXPECT_EQ(Duration{}.ToString(), "0h");
}

TEST_F(RetentionTest, SubtractDurationIsCalendarAware) {
  // Month ends normalise like Go's AddDate: "31 February" is 2 or 3 March.
  EXPECT_EQ(SubtractDuration(T("2024-03-31 10:00:00"), {0, 1, 0, 0}), T("2024-03-02 10:00:00"));
  EXPECT_EQ(SubtractDuration(T("2023-03-31 10:00:00"), {0, 1, 0, 0}), T("2023-03-03 10:00:00"));
  EXPECT_EQ(SubtractDuration(T("2024-02-29 12:00:00"), {1, 0, 0, 0}), T("2023-03-01 12:00:00"));
  EXPECT_EQ(SubtractDuration(T("2024-05-15 12:00:00"), {0, 13, 0, 0}), T("2023-04-15 12:00:00"));
  EXPECT_EQ(SubtractDuration(T("2024-01-01 00:00:00"), {0, 0, 0, 25}), T("2023-12-30 23:00:00"));
  EXPECT_EQ(SubtractDuration(T("2024-03-01 00:00:00"), {0, 0, 1, 0}), T("2024-02-29 00:00:00"));
  EXPECT_EQ(SubtractDuration(T("2024-06-02 10:00:00"), {3, 2, 1, 12}), T("2021-03-31 22:00:00"));
  // Sub-second part is kept.
  EXPECT_EQ(SubtractDuration(T("2024-06-02 10:00:00") + 123, {0, 0, 1, 0}),
            T("2024-06-01 10:00:00") + 123);
  EXPECT_EQ(SubtractDuration(T("2024-06-02 10:00:00"), {}), T("2024-06-02 10:00:00"));
  // Before 1677 does not fit int64 nanoseconds: saturates.
  EXPECT_EQ(SubtractDuration(T("2024-06-02 10:00:00"), {400, 0, 0, 0}), INT64_MIN);
  EXPECT_EQ(SubtractDuration(T("2024-06-02 10:00:00"), {kMaxDurationPart, 0, 0, 0}), INT64_MIN);
  EXPECT_EQ(SubtractDuration(T("2024-06-02 10:00:00"), {0, 0, 0, kMaxDurationPart}),
            T("2024-06-02 10:00:00") - int64_t{kMaxDurationPart} * 3600 * 1000000000);
}

TEST_F(RetentionTest, SubtractDurationKeepsWallClockAcrossDst) {
  ScopedTz tz(kCet);
  // 31 March 2024 12:00 CEST (10:00 UTC) minus one day is 30 March 12:00 CET (11:00 UTC): 23 h.
  EXPECT_EQ(SubtractDuration(T("2024-03-31 10:00:00"), {0, 0, 1, 0}), T("2024-03-30 11:00:00"));
  // Hours are plain 3600 s.
  EXPECT_EQ(SubtractDuration(T("2024-03-31 10:00:00"), {0, 0, 0, 24}), T("2024-03-30 10:00:00"));
}

// --- grouping ---

TEST_F(RetentionTest, ParseGroupBy) {
  auto g = ParseGroupBy("host,paths");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (GroupBy{true, true, false}));
  g = ParseGroupBy(" tags , host");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (GroupBy{true, false, true}));
  g = ParseGroupBy("");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, (GroupBy{false, false, false}));
  EXPECT_EQ(GroupByToString({false, false, false}), "");
  EXPECT_EQ(GroupByToString({true, true, true}), "host,paths,tags");
  for (GroupBy by : {GroupBy{true, false, true}, GroupBy{false, true, false}, GroupBy{}})
    EXPECT_EQ(*ParseGroupBy(GroupByToString(by)), by);
  for (const char* bad : {"hosts", "host,host", "host,", "path", ",", "host;paths"}) {
    auto r = ParseGroupBy(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("group-by"), std::string::npos);
  }
  EXPECT_NE(ParseGroupBy("hosts").status().message().find("\"hosts\""), std::string::npos);
}

// Two services of a plan whose dumps share a host and a file name, and a plain backup of the same
// path: three groups under every grouping, so keep-last 1 keeps one of each.
TEST_F(RetentionTest, ServicesAndSourcesNeverShareAGroup) {
  auto with = [&](Snapshot s, std::string service, std::string source) {
    s.service = std::move(service);
    if (!source.empty()) s.source = SnapshotSource{source, "postgres", {}, {}};
    return s;
  };
  std::vector<std::pair<Id, Snapshot>> v = {
      {MakeId(1), with(Snap(T("2024-01-01 00:00:00"), "h", {"/app.pgdump"}, {}), "billing", "db")},
      {MakeId(2), with(Snap(T("2024-01-02 00:00:00"), "h", {"/app.pgdump"}, {}), "shop", "db")},
      {MakeId(3), with(Snap(T("2024-01-03 00:00:00"), "h", {"/app.pgdump"}, {}), "", "")},
      {MakeId(4), with(Snap(T("2024-01-04 00:00:00"), "h", {"/app.pgdump"}, {}), "shop", "db2")},
  };
  for (GroupBy by : {GroupBy{}, GroupBy{false, false, false}, GroupBy{true, false, true}}) {
    auto groups = GroupSnapshots(v, by);
    ASSERT_EQ(groups.size(), 4u) << GroupByToString(by);
    for (const auto& g : groups) EXPECT_EQ(g.snapshots.size(), 1u) << g.key.ToString();
  }
  auto groups = GroupSnapshots(v, GroupBy{});
  EXPECT_EQ(groups[0].key.ToString(), "host h, paths [/app.pgdump]");
  EXPECT_EQ(groups[1].key.ToString(), "service billing, source db, host h, paths [/app.pgdump]");
  EXPECT_EQ(groups[1].key.ToJson(),
            nlohmann::json::parse(R"({"service":"billing","source":"db","host":"h",)"
                                  R"("paths":["/app.pgdump"],"tags":null})"));
  RetentionPolicy keep_last;
  keep_last.keep_last = 1;
  auto decided = Apply(v, keep_last, T("2024-02-01 00:00:00"));
  ASSERT_TRUE(decided.ok()) << decided.status().ToString();
  for (const auto& g : *decided) EXPECT_EQ(g.removed(), 0u) << g.key.ToString();
}

TEST_F(RetentionTest, GroupsByHostAndPathSets) {
  std::vector<std::pair<Id, Snapshot>> v = {
      {MakeId(1), Snap(T("2024-01-01 00:00:00"), "b", {"/srv", "/etc"}, {"x"})},
      {MakeId(2), Snap(T("2024-01-02 00:00:00"), "a", {"/etc"}, {"y"})},
      {MakeId(3), Snap(T("2024-01-03 00:00:00"), "b", {"/etc", "/srv", "/etc"}, {"y"})},
      {MakeId(4), Snap(T("2024-01-04 00:00:00"), "a", {"/etc"}, {"x"})},
      {MakeId(5), Snap(T("2024-01-05 00:00:00"), "a", {"/home"}, {"x"})},
  };
  auto groups = GroupSnapshots(v, GroupBy{});  // host,paths
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].key.ToString(), "host a, paths [/etc]");
  EXPECT_EQ(groups[1].key.ToString(), "host a, paths [/home]");
  EXPECT_EQ(groups[2].key.ToString(), "host b, paths [/etc, /srv]");  // sets: order, repeats
  ASSERT_EQ(groups[0].snapshots.size(), 2u);
  EXPECT_EQ(IndexOf(groups[0].snapshots[0].first), 4);  // newest first
  EXPECT_EQ(IndexOf(groups[0].snapshots[1].first), 2);
  EXPECT_EQ(groups[2].snapshots.size(), 2u);
  EXPECT_EQ(groups[0].key.ToJson(),
            nlohmann::json::parse(R"({"host":"a","paths":["/etc"],"tags":null})"));

  groups = GroupSnapshots(v, GroupBy{true, false, false});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].snapshots.size(), 3u);
  EXPECT_EQ(groups[1].key.ToString(), "host b");

  groups = GroupSnapshots(v, GroupBy{false, false, true});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].key.ToString(), "tags [x]");
  EXPECT_EQ(groups[0].snapshots.size(), 3u);
  EXPECT_EQ(groups[0].key.ToJson(),
            nlohmann::json::parse(R"({"host":null,"paths":null,"tags":["x"]})"));

  groups = GroupSnapshots(v, GroupBy{false, false, false});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].key.ToString(), "all snapshots");
  ASSERT_EQ(groups[0].snapshots.size(), 5u);
  EXPECT_EQ(IndexOf(groups[0].snapshots[0].first), 5);
  EXPECT_EQ(IndexOf(groups[0].snapshots[4].first), 1);

  EXPECT_TRUE(GroupSnapshots({}, GroupBy{}).empty());
}

TEST_F(RetentionTest, PolicyAppliesPerGroup) {
  // Host a backs up daily until 2024-05-10; host b stopped in 2023. keep-last 2 and keep-within
  // 3d apply to each host on its own, measured from each host's own newest snapshot.
  std::vector<std::pair<Id, Snapshot>> v;
  int n = 0;
  for (int day = 1; day <= 10; ++day)
    v.emplace_back(MakeId(++n), Snap(T("2024-05-" + std::string(day < 10 ? "0" : "") +
                                       std::to_string(day) + " 12:00:00"),
                                     "a"));  // 1..10
  for (int day = 1; day <= 5; ++day)
    v.emplace_back(MakeId(++n),
                   Snap(T("2023-02-0" + std::to_string(day) + " 12:00:00"), "b"));  // 11..15
  RetentionPolicy p;
  p.keep_last = 2;
  auto groups = MustApply(v, p);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].key.host, "a");
  EXPECT_EQ(groups[0].kept(), 2u);
  EXPECT_EQ(groups[0].removed(), 8u);
  EXPECT_EQ(Kept(groups), (std::vector<int>{9, 10, 14, 15}));

  p = {};
  p.keep_within = {0, 0, 3, 0};
  groups = MustApply(v, p, T("2025-01-01 00:00:00"));
  // Host b's snapshots are more than a year old, but within 3d of its own newest snapshot.
  EXPECT_EQ(Kept(groups), (std::vector<int>{8, 9, 10, 13, 14, 15}));

  // Without grouping, host b's history falls out of the window.
  p.group_by = {false, false, false};
  groups = MustApply(v, p, T("2025-01-01 00:00:00"));
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(Kept(groups), (std::vector<int>{8, 9, 10}));

  // Grouping by tags (none here) is one group too.
  p.group_by = {false, false, true};
  EXPECT_EQ(MustApply(v, p, T("2025-01-01 00:00:00")).size(), 1u);
}

// --- each rule alone, against restic ---

struct RuleCase {
  const char* name;
  RetentionPolicy policy;
  std::vector<int> kept;  // from restic 0.14.0
};

RetentionPolicy With(int RetentionPolicy::*field, int n) {
  RetentionPolicy p;
  p.*field = n;
  return p;
}
RetentionPolicy WithDuration(Duration RetentionPolicy::*field, Duration d) {
  RetentionPolicy p;
  p.*field = d;
  return p;
}
RetentionPolicy WithTags(std::vector<TagSet> sets) {
  RetentionPolicy p;
  p.keep_tags = std::move(sets);
  return p;
}

TEST_F(RetentionTest, EachRuleAloneMatchesRestic) {
  using P = RetentionPolicy;
  const RuleCase cases[] = {
      {"keep-last 5", With(&P::keep_last, 5), Range(26, 30)},
      {"keep-hourly 5", With(&P::keep_hourly, 5), Range(26, 30)},
      {"keep-daily 7", With(&P::keep_daily, 7), Range(24, 30)},
      {"keep-weekly 4", With(&P::keep_weekly, 4), {25, 26, 27, 30}},
      {"keep-monthly 6", With(&P::keep_monthly, 6), {13, 14, 15, 16, 28, 30}},
      {"keep-yearly 3", With(&P::keep_yearly, 3), {10, 14, 30}},
      {"keep-yearly 10", With(&P::keep_yearly, 10), {1, 4, 7, 10, 14, 30}},
      {"keep-daily 40", With(&P::keep_daily, 40),
       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 22, 23, 24, 25, 26, 27, 28,
        29, 30}},
      {"keep-weekly 100", With(&P::keep_weekly, 100),
       {1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 23, 25, 26, 27, 30}},
      {"keep-hourly 100", With(&P::keep_hourly, 100),
       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 22, 23, 24, 25, 26, 27,
        28, 29, 30}},
      {"keep-within 1m", WithDuration(&P::keep_within, {0, 1, 0, 0}), Range(19, 30)},
      {"keep-within 3y2m1d12h", WithDuration(&P::keep_within, {3, 2, 1, 12}), Range(7, 30)},
      {"keep-within-hourly 2d", WithDuration(&P::keep_within_hourly, {0, 0, 2, 0}),
       {28, 29, 30}},
      {"keep-within-daily 1m", WithDuration(&P::keep_within_daily, {0, 1, 0, 0}),
       {19, 22, 23, 24, 25, 26, 27, 28, 29, 30}},
      {"keep-within-weekly 2m", WithDuration(&P::keep_within_weekly, {0, 2, 0, 0}),
       {23, 25, 26, 27, 30}},
      {"keep-within-monthly 1y", WithDuration(&P::keep_within_monthly, {1, 0, 0, 0}),
       {13, 14, 15, 16, 28, 30}},
      {"keep-within-yearly 3y", WithDuration(&P::keep_within_yearly, {3, 0, 0, 0}),
       {7, 10, 14, 30}},
      {"keep-tag keep", WithTags({{"keep"}}), {3, 7, 10, 20, 21}},
      {"keep-tag keep,monthly", WithTags({{"keep", "monthly"}}), {7, 21}},
      {"keep-tag monthly --keep-tag keep,monthly", WithTags({{"monthly"}, {"keep", "monthly"}}),
       {7, 14, 21}},
  };
  for (const auto& c : cases) {
    auto groups = MustApply(History(), c.policy);
    ASSERT_EQ(groups.size(), 1u) << c.name;
    EXPECT_EQ(Kept(groups), c.kept) << c.name;
    EXPECT_EQ(groups[0].kept() + groups[0].removed(), size_t{kCount}) << c.name;
    for (const auto& d : groups[0].snapshots)
      EXPECT_EQ(d.keep, !d.reasons.empty()) << c.name;
  }
}

TEST_F(RetentionTest, ReasonsName) {
  auto groups = MustApply(History(), With(&RetentionPolicy::keep_weekly, 4));
  EXPECT_EQ(Find(groups, 30).reasons, Reasons{"weekly snapshot"});
  groups = MustApply(History(), WithDuration(&RetentionPolicy::keep_within_daily, {0, 1, 0, 0}));
  EXPECT_EQ(Find(groups, 19).reasons, Reasons{"daily within 1m"});
  groups = MustApply(History(), WithDuration(&RetentionPolicy::keep_within, {0, 0, 7, 0}));
  EXPECT_EQ(Find(groups, 28).reasons, Reasons{"within 7d"});
  EXPECT_FALSE(Find(groups, 27).keep);  // 20 May: more than 7 days before 2 June
  groups = MustApply(History(), WithTags({{"keep", "monthly"}}));
  EXPECT_EQ(Find(groups, 7).reasons, Reasons{"tag keep,monthly"});
  EXPECT_TRUE(Find(groups, 20).reasons.empty());
  EXPECT_FALSE(Find(groups, 20).keep);
}

TEST_F(RetentionTest, KeepWithinKeepsAllButWithinDailyOnePerDay) {
  // Same window (1m from 2024-06-02 10:00): keep-within keeps 12 snapshots, keep-within-daily
  // one per day (18/19, 20-22 share a day).
  RetentionPolicy all = WithDuration(&RetentionPolicy::keep_within, {0, 1, 0, 0});
  RetentionPolicy daily = WithDuration(&RetentionPolicy::keep_within_daily, {0, 1, 0, 0});
  EXPECT_EQ(Kept(MustApply(History(), all)).size(), 12u);
  EXPECT_EQ(Kept(MustApply(History(), daily)).size(), 10u);
  EXPECT_FALSE(Find(MustApply(History(), daily), 20).keep);
  EXPECT_TRUE(Find(MustApply(History(), all), 20).keep);
}

// --- combinations, against restic, with every reason ---

TEST_F(RetentionTest, CountedRulesCombinedMatchRestic) {
  RetentionPolicy p;
  p.keep_last = 2;
  p.keep_daily = 3;
  p.keep_weekly = 2;
  p.keep_monthly = 3;
  p.keep_yearly = 2;
  auto groups = MustApply(History(), p);
  EXPECT_EQ(Kept(groups), (std::vector<int>{14, 16, 27, 28, 29, 30}));
  EXPECT_EQ(Find(groups, 14).reasons, Reasons{"yearly snapshot"});
  EXPECT_EQ(Find(groups, 16).reasons, Reasons{"monthly snapshot"});
  EXPECT_EQ(Find(groups, 27).reasons, Reasons{"weekly snapshot"});
  EXPECT_EQ(Find(groups, 28).reasons, (Reasons{"daily snapshot", "monthly snapshot"}));
  EXPECT_EQ(Find(groups, 29).reasons, (Reasons{"last snapshot", "daily snapshot"}));
  EXPECT_EQ(Find(groups, 30).reasons,
            (Reasons{"last snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot",
                     "yearly snapshot"}));
}

TEST_F(RetentionTest, WindowedRulesAndTagsCombinedMatchRestic) {
  RetentionPolicy p;
  p.keep_within = {0, 0, 2, 0};
  p.keep_within_daily = {0, 0, 7, 0};
  p.keep_within_weekly = {0, 1, 0, 0};
  p.keep_within_monthly = {1, 0, 0, 0};
  p.keep_within_yearly = {4, 0, 0, 0};
  p.keep_tags = {{"keep"}};
  auto groups = MustApply(History(), p);
  EXPECT_EQ(Kept(groups), (std::vector<int>{3, 4, 7, 10, 13, 14, 15, 16, 20, 21, 23, 25, 26, 27,
                                            28, 29, 30}));
  EXPECT_EQ(Find(groups, 3).reasons, Reasons{"tag keep"});
  EXPECT_EQ(Find(groups, 4).reasons, Reasons{"yearly within 4y"});
  EXPECT_EQ(Find(groups, 7).reasons, (Reasons{"tag keep", "yearly within 4y"}));
  EXPECT_EQ(Find(groups, 14).reasons, (Reasons{"monthly within 1y", "yearly within 4y"}));
  EXPECT_EQ(Find(groups, 23).reasons, Reasons{"weekly within 1m"});
  EXPECT_EQ(Find(groups, 28).reasons,
            (Reasons{"within 2d", "daily within 7d", "monthly within 1y"}));
  EXPECT_EQ(Find(groups, 30).reasons,
            (Reasons{"within 2d", "daily within 7d", "weekly within 1m", "monthly within 1y",
                     "yearly within 4y"}));
}

// --- -1 = unlimited ---

TEST_F(RetentionTest, UnlimitedCounts) {
  auto groups = MustApply(History(), With(&RetentionPolicy::keep_last, kUnlimited));
  EXPECT_EQ(Kept(groups), Range(1, 30));
  EXPECT_EQ(Find(groups, 1).reasons, Reasons{"last snapshot"});
  // One per day, for every day: the same as a count larger than the number of days.
  EXPECT_EQ(Kept(MustApply(History(), With(&RetentionPolicy::keep_daily, kUnlimited))),
            Kept(MustApply(History(), With(&RetentionPolicy::keep_daily, 40))));
  EXPECT_EQ(Kept(MustApply(History(), With(&RetentionPolicy::keep_yearly, kUnlimited))),
            (std::vector<int>{1, 4, 7, 10, 14, 30}));
}

// --- restic >= 0.17: the oldest snapshot is kept while a rule has room left ---

TEST_F(RetentionTest, OldestSnapshotKeptWhileCountsAreLeft) {
  std::vector<std::pair<Id, Snapshot>> v = {
      {MakeId(1), Snap(T("2024-05-01 09:00:00"))},
      {MakeId(2), Snap(T("2024-05-01 12:00:00"))},
      {MakeId(3), Snap(T("2024-05-02 10:00:00"))},
  };
  auto groups = MustApply(v, With(&RetentionPolicy::keep_daily, 5));
  EXPECT_EQ(Kept(groups), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Find(groups, 3).reasons, Reasons{"daily snapshot"});
  EXPECT_EQ(Find(groups, 2).reasons, Reasons{"daily snapshot"});
  EXPECT_EQ(Find(groups, 1).reasons, Reasons{"oldest daily snapshot"});
  // No room left: the oldest goes.
  EXPECT_EQ(Kept(MustApply(v, With(&RetentionPolicy::keep_daily, 2))),
            (std::vector<int>{2, 3}));
  // Unlimited always has room.
  EXPECT_EQ(Find(MustApply(v, With(&RetentionPolicy::keep_monthly, kUnlimited)), 1).reasons,
            Reasons{"oldest monthly snapshot"});
  // Windowed rules keep it when it is inside the window...
  groups = MustApply(v, WithDuration(&RetentionPolicy::keep_within_daily, {0, 0, 10, 0}));
  EXPECT_EQ(Kept(groups), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Find(groups, 1).reasons, Reasons{"oldest daily within 10d"});
  // ...and not when it is outside (window from 1 May 11:00).
  EXPECT_EQ(Kept(MustApply(v, WithDuration(&RetentionPolicy::keep_within_daily, {0, 0, 0, 23}))),
            (std::vector<int>{2, 3}));
  // A group of one snapshot: kept as a plain daily snapshot.
  groups = MustApply({v[0]}, With(&RetentionPolicy::keep_daily, 1));
  EXPECT_EQ(Find(groups, 1).reasons, Reasons{"daily snapshot"});
}

// --- calendar buckets ---

TEST_F(RetentionTest, WeeksAreIsoWeeks) {
  // 2020-12-31 (Thu) and 2021-01-01 (Fri) are both in 2020-W53; 2021-01-04 starts 2021-W01.
  std::vector<std::pair<Id, Snapshot>> v = {
      {MakeId(1), Snap(T("2020-12-30 09:00:00"))},
      {MakeId(2), Snap(T("2020-12-31 09:00:00"))},
      {MakeId(3), Snap(T("2021-01-01 09:00:00"))},
      {MakeId(4), Snap(T("2021-01-04 09:00:00"))},
  };
  EXPECT_EQ(Kept(MustApply(v, With(&RetentionPolicy::keep_weekly, 2))),
            (std::vector<int>{3, 4}));
  // 2024-12-29 (Sun) ends 2024-W52; 2024-12-30 (Mon) and 2025-01-02 are 2025-W01.
  v = {
      {MakeId(1), Snap(T("2024-12-28 09:00:00"))},
      {MakeId(2), Snap(T("2024-12-29 09:00:00"))},
      {MakeId(3), Snap(T("2024-12-30 09:00:00"))},
      {MakeId(4), Snap(T("2025-01-02 09:00:00"))},
  };
  EXPECT_EQ(Kept(MustApply(v, With(&RetentionPolicy::keep_weekly, 2))),
            (std::vector<int>{2, 4}));
}

TEST_F(RetentionTest, BucketsUseLocalTime) {
  std::vector<std::pair<Id, Snapshot>> v = {
      {MakeId(1), Snap(T("2024-01-01 22:30:00"))},
      {MakeId(2), Snap(T("2024-01-01 23:30:00"))},
      {MakeId(3), Snap(T("2024-01-02 10:00:00"))},
  };
  RetentionPolicy p = With(&RetentionPolicy::keep_daily, 2);
  EXPECT_EQ(Kept(MustApply(v, p)), (std::vector<int>{2, 3}));  // UTC: days 1, 1, 2
  ScopedTz tz(kCet);
  EXPECT_EQ(Kept(MustApply(v, p)), (std::vector<int>{1, 3}));  // CET: days 1, 2, 2
}

// --- keep-within is measured from the newest snapshot, not from now ---

TEST_F(RetentionTest, WindowEndsAtNewestSnapshotNotNow) {
  RetentionPolicy p = WithDuration(&RetentionPolicy::keep_within, {0, 1, 0, 0});
  // Ten years later, with no new backups, the same snapshots are kept.
  EXPECT_EQ(Kept(MustApply(History(), p, T("2034-06-10 00:00:00"))), Range(19, 30));
}

TEST_F(RetentionTest, FutureSnapshotsDoNotMoveTheWindow) {
  auto v = History();
  v.emplace_back(MakeId(31), Snap(T("2030-01-01 00:00:00")));  // clock was wrong
  RetentionPolicy p = WithDuration(&RetentionPolicy::keep_within, {0, 1, 0, 0});
  auto kept = Kept(MustApply(v, p));
  std::vector<int> want = Range(19, 31);
  EXPECT_EQ(kept, want);
  // When every snapshot is in the future, all are within.
  EXPECT_EQ(Kept(MustApply(History(), p, T("2000-01-01 00:00:00"))), Range(1, 30));
}

// --- order, empty input, refusals ---

TEST_F(RetentionTest, DeterministicOrder) {
  std::vector<std::pair<Id, Snapshot>> v;
  for (int i = 1; i <= 6; ++i) v.emplace_back(MakeId(i), Snap(T("2024-05-01 09:00:00")));
  v.emplace_back(MakeId(7), Snap(T("2024-05-02 09:00:00")));
  std::mt19937 rng(7);
  std::vector<int> first;
  for (int round = 0; round < 5; ++round) {
    std::shuffle(v.begin(), v.end(), rng);
    auto groups = MustApply(v, With(&RetentionPolicy::keep_last, 3));
    ASSERT_EQ(groups.size(), 1u);
    std::vector<int> order;
    for (const auto& d : groups[0].snapshots) order.push_back(IndexOf(d.id));
    EXPECT_EQ(order, (std::vector<int>{7, 1, 2, 3, 4, 5, 6}));  // newest, then by id
    EXPECT_EQ(Kept(groups), (std::vector<int>{1, 2, 7}));
  }
}

TEST_F(RetentionTest, NoSnapshotsNoGroups) {
  auto r = Apply({}, With(&RetentionPolicy::keep_last, 1), kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(RetentionTest, EmptyPolicyIsRefused) {
  RetentionPolicy p;
  EXPECT_TRUE(p.empty());
  p.group_by = {false, false, false};
  EXPECT_TRUE(p.empty());  // grouping is not a rule
  auto r = Apply(History(), p, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("remove every snapshot"), std::string::npos);
  EXPECT_NE(r.status().message().find("keep_within_daily"), std::string::npos);
  EXPECT_NE(r.status().message().find("keep_tags"), std::string::npos);
  // Also on an empty repository.
  EXPECT_FALSE(Apply({}, p, kNow).ok());
  EXPECT_FALSE(With(&RetentionPolicy::keep_hourly, 1).empty());
  EXPECT_FALSE(WithDuration(&RetentionPolicy::keep_within_yearly, {0, 0, 0, 1}).empty());
  EXPECT_FALSE(WithTags({{"a"}}).empty());
}

TEST_F(RetentionTest, InvalidPolicyIsRefused) {
  auto r = Apply(History(), With(&RetentionPolicy::keep_monthly, -2), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("keep_monthly"), std::string::npos);
  r = Apply(History(), WithTags({{}}), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);
  r = Apply(History(), WithTags({{"a", ""}}), kNow);
  ASSERT_FALSE(r.ok());
  r = Apply(History(), WithDuration(&RetentionPolicy::keep_within, {0, -1, 0, 0}), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("keep_within"), std::string::npos);
}

TEST_F(RetentionTest, ParseTagSet) {
  EXPECT_EQ(*ParseTagSet("a"), (TagSet{"a"}));
  EXPECT_EQ(*ParseTagSet("a, b"), (TagSet{"a", "b"}));
  for (const char* bad : {"", " ", "a,,b", "a,", ",a"}) {
    auto r = ParseTagSet(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(RetentionTest, Describe) {
  RetentionPolicy p;
  EXPECT_EQ(p.Describe(), "keep nothing");
  p.keep_last = 3;
  p.keep_daily = 7;
  p.keep_yearly = kUnlimited;
  p.keep_within = {0, 0, 30, 0};
  p.keep_within_daily = {1, 0, 0, 0};
  p.keep_tags = {{"a", "b"}, {"c"}};
  EXPECT_EQ(p.Describe(),
            "keep 3 latest, 7 daily, all yearly snapshots, daily snapshots within 1y, all snapshots "
            "within 30d of the newest, all snapshots with tags [a,b] or [c]");
}

// --- JSON form ---

TEST_F(RetentionTest, JsonExampleParses) {
  auto p = ParsePolicyJson(
      R"({"keep_last":3,"keep_daily":7,"keep_within":"30d","keep_tags":[["a","b"]],"group_by":["host","paths"]})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  RetentionPolicy want;
  want.keep_last = 3;
  want.keep_daily = 7;
  want.keep_within = {0, 0, 30, 0};
  want.keep_tags = {{"a", "b"}};
  EXPECT_EQ(*p, want);
  // Missing keys: rules off, default grouping.
  p = ParsePolicyJson(R"({"keep_weekly":-1})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->keep_weekly, kUnlimited);
  EXPECT_EQ(p->group_by, GroupBy{});
  // An object without rules parses; Apply refuses it.
  p = ParsePolicyJson("{}");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->empty());
  p = ParsePolicyJson(R"({"keep_last":1,"group_by":[]})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->group_by, (GroupBy{false, false, false}));
}

TEST_F(RetentionTest, JsonRoundTrip) {
  RetentionPolicy p;
  p.keep_last = 3;
  p.keep_hourly = 24;
  p.keep_daily = 7;
  p.keep_weekly = 4;
  p.keep_monthly = 12;
  p.keep_yearly = kUnlimited;
  p.keep_within = {0, 0, 30, 0};
  p.keep_within_hourly = {0, 0, 2, 0};
  p.keep_within_daily = {0, 1, 0, 0};
  p.keep_within_weekly = {0, 3, 0, 0};
  p.keep_within_monthly = {1, 0, 0, 0};
  p.keep_within_yearly = {10, 0, 0, 12};
  p.keep_tags = {{"a", "b"}, {"monthly"}};
  p.group_by = {true, false, true};
  nlohmann::json j = PolicyToJson(p);
  EXPECT_EQ(j, nlohmann::json::parse(R"({
    "keep_last":3,"keep_hourly":24,"keep_daily":7,"keep_weekly":4,"keep_monthly":12,
    "keep_yearly":-1,"keep_within":"30d","keep_within_hourly":"2d","keep_within_daily":"1m",
    "keep_within_weekly":"3m","keep_within_monthly":"1y","keep_within_yearly":"10y12h",
    "keep_tags":[["a","b"],["monthly"]],"group_by":["host","tags"]})"));
  auto back = PolicyFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, p);
  auto text_back = ParsePolicyJson(j.dump());
  ASSERT_TRUE(text_back.ok());
  EXPECT_EQ(*text_back, p);

  RetentionPolicy minimal = With(&RetentionPolicy::keep_last, 1);
  EXPECT_EQ(PolicyToJson(minimal),
            nlohmann::json::parse(R"({"keep_last":1,"group_by":["host","paths"]})"));
  EXPECT_EQ(*PolicyFromJson(PolicyToJson(minimal)), minimal);
}

TEST_F(RetentionTest, JsonRejectsBadInput) {
  struct Case {
    const char* json;
    std::vector<const char*> says;
  } cases[] = {
      {R"({"keep_dayly":7})", {"\"keep_dayly\"", "not a retention setting", "keep_daily"}},
      {R"({"keep_last":"3"})", {"\"keep_last\"", "integer", "a string"}},
      {R"({"keep_last":3.5})", {"\"keep_last\"", "integer", "a number"}},
      {R"({"keep_last":true})", {"\"keep_last\"", "integer", "a boolean"}},
      {R"({"keep_last":null})", {"\"keep_last\"", "integer", "a null"}},
      {R"({"keep_daily":-2})", {"\"keep_daily\"", "-2"}},
      {R"({"keep_daily":10000000000})", {"\"keep_daily\"", "10000000000"}},
      {R"({"keep_daily":18446744073709551615})", {"\"keep_daily\""}},
      {R"({"keep_within":30})", {"\"keep_within\"", "duration string", "an integer"}},
      {R"({"keep_within":"30 days"})", {"\"keep_within\"", "invalid duration"}},
      {R"({"keep_within_daily":"-1d"})", {"\"keep_within_daily\"", "negative"}},
      {R"({"keep_tags":"a,b"})", {"\"keep_tags\"", "array of tag sets", "a string"}},
      {R"({"keep_tags":["a","b"]})", {"\"keep_tags\"", "element 1 is a string"}},
      {R"({"keep_tags":[["a",1]]})", {"\"keep_tags\"", "tag set 1 contains an integer"}},
      {R"({"keep_tags":[["a"],[]]})", {"keep_tags", "tag set 2 is empty"}},
      {R"({"keep_tags":[[""]]})", {"keep_tags", "empty tag"}},
      {R"({"group_by":"host,paths"})", {"\"group_by\"", "array", "a string"}},
      {R"({"group_by":["host","hostname"]})", {"\"group_by\"", "hostname"}},
      {R"({"group_by":["host","host"]})", {"\"group_by\"", "twice"}},
      {R"({"group_by":[" host"]})", {"\"group_by\"", "\" host\""}},
      {R"({"group_by":["host,paths"]})", {"\"group_by\"", "host,paths"}},
      {R"({"group_by":[1]})", {"\"group_by\"", "an integer"}},
      {R"([1,2])", {"must be a JSON object", "an array"}},
      {R"("keep_last")", {"must be a JSON object", "a string"}},
      {R"({"keep_last":3)", {"not valid JSON", "line 1"}},
      {"", {"not valid JSON"}},
  };
  for (const auto& c : cases) {
    auto p = ParsePolicyJson(c.json);
    ASSERT_FALSE(p.ok()) << "accepted " << c.json;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << c.json;
    for (const char* s : c.says)
      EXPECT_NE(p.status().message().find(s), std::string::npos)
          << c.json << " -> " << p.status().message() << " (missing: " << s << ")";
  }
}

TEST_F(RetentionTest, DecisionsJson) {
  std::vector<std::pair<Id, Snapshot>> v = {
      {MakeId(1), Snap(T("2024-05-01 09:00:00"), "db1", {"/srv"}, {"nightly"})},
      {MakeId(2), Snap(T("2024-05-02 09:00:00"), "db1", {"/srv"})},
  };
  auto groups = MustApply(v, With(&RetentionPolicy::keep_last, 1));
  ASSERT_EQ(groups.size(), 1u);
  nlohmann::json j = GroupDecisionsToJson(groups[0]);
  EXPECT_EQ(j["group"], nlohmann::json::parse(R"({"host":"db1","paths":["/srv"],"tags":null})"));
  ASSERT_EQ(j["keep"].size(), 1u);
  ASSERT_EQ(j["remove"].size(), 1u);
  EXPECT_EQ(j["keep"][0]["id"], MakeId(2).Hex());
  EXPECT_EQ(j["keep"][0]["short_id"], MakeId(2).Short());
  EXPECT_EQ(j["keep"][0]["time"], "2024-05-02T09:00:00.000000000Z");
  EXPECT_EQ(j["keep"][0]["reasons"], nlohmann::json::parse(R"(["last snapshot"])"));
  EXPECT_EQ(j["remove"][0]["id"], MakeId(1).Hex());
  EXPECT_EQ(j["remove"][0]["tags"], nlohmann::json::parse(R"(["nightly"])"));
  EXPECT_FALSE(j["remove"][0].contains("reasons"));
}

}  // namespace
}  // namespace lifeboat::retention
