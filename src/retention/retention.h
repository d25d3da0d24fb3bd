// Snapshot retention: which snapshots `forget` keeps and which it removes. The rules and their
// semantics are restic's (`restic forget`): keep the last N snapshots, the newest snapshot of each
// of the last N hours/days/weeks/months/years, everything (or one per hour/day/...) within a
// duration of the newest snapshot, and everything carrying certain tags. Rules are applied per
// group of snapshots (by default: same host and same set of paths).
//
// Pure logic: no I/O, no clock; the caller passes the current time. Calendar buckets (hour, day,
// ISO week, month, year) and duration arithmetic use the process's local time zone (TZ).
// Thread safety: every function may be called concurrently (they only read the time zone; do not
// change TZ meanwhile). Nothing here blocks.
//
//   LB_ASSIGN_OR_RETURN(RetentionPolicy policy,
//                       ParsePolicyJson(R"({"keep_daily":7,"keep_within":"30d"})"));
//   LB_ASSIGN_OR_RETURN(auto all, repo.ListSnapshots());
//   LB_ASSIGN_OR_RETURN(std::vector<GroupDecisions> groups, Apply(all, policy, NowNs()));
//   for (const GroupDecisions& g : groups)
//     for (const Decision& d : g.snapshots) if (!d.keep) ...remove d.id...
#pragma once

#include <compare>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "repository/snapshot.h"
#include "util/id.h"
#include "util/status.h"

namespace lifeboat::retention {

// ---------------------------------------------------------------------------------------------
// Durations

// A calendar duration as restic writes it: "1y2m3d4h" = 1 year, 2 months, 3 days, 4 hours.
// All parts are >= 0; a zero duration means "rule off". Not the duration of util/units.h
// (ParseDuration), where m is minutes: here m is MONTHS, as in restic's `--keep-within 1m`.
struct Duration {
  int years = 0, months = 0, days = 0, hours = 0;

  bool IsZero() const { return years == 0 && months == 0 && days == 0 && hours == 0; }
  // "1y2m3d4h" with zero parts left out ("30d", "1y6m"); "0h" for the zero duration.
  // ParseCalendarDuration(d.ToString()) == d.
  std::string ToString() const;
  bool operator==(const Duration&) const = default;
};

// Largest value of one part of a duration (keeps every computation far from overflow).
inline constexpr int kMaxDurationPart = 1000000;

// Parses restic's calendar duration: "<number><unit>..." with units y (years), m (MONTHS),
// d (days), h (hours), in any order, each unit at most once, e.g. "30d", "1y6m", "2d12h".
// Tokenised by SplitDurationParts (util/units.h), like every duration; only the units differ.
// Surrounding blanks are ignored. InvalidArgument (saying what is wrong and showing the expected
// form) for an empty string, a missing number or unit, an unknown unit (s, w, uppercase), a
// repeated unit, a negative number, a fraction or a part larger than kMaxDurationPart.
Result<Duration> ParseCalendarDuration(std::string_view text);

// The point in time `d` before `time_ns`. Years, months and days are subtracted on the local
// calendar and the result normalised like Go's time.AddDate (restic): 31 March minus 1m is
// "31 February", i.e. 3 March (2 March in a leap year); the wall-clock time of day is kept across
// DST changes. Then hours are subtracted as 3600 s each. Saturates at INT64_MIN when the result
// is not representable in int64 nanoseconds (before 1677).
int64_t SubtractDuration(int64_t time_ns, const Duration& d);

// ---------------------------------------------------------------------------------------------
// Grouping

// Which snapshot fields must be equal for two snapshots to be in the same group. All false: one
// group for everything.
struct GroupBy {
  bool host = true;
  bool paths = true;  // compared as sets (sorted, duplicates ignored)
  bool tags = false;  // compared as sets
  bool operator==(const GroupBy&) const = default;
};

// Parses a comma-separated list of "host", "paths", "tags" in any order and combination
// ("host,paths", "tags,host"). The empty string means no grouping (one group). Blanks around
// words are ignored. InvalidArgument naming an unknown or repeated word.
Result<GroupBy> ParseGroupBy(std::string_view text);
// "host,paths", "host,paths,tags", "" for no grouping. ParseGroupBy(GroupByToString(g)) == g.
std::string GroupByToString(const GroupBy& g);

// What one group of snapshots has in common. Fields not selected by `by` are empty. Whatever
// `by` says, snapshots of different plan services, or of different sources of one service, are
// never in one group: a policy for one service must never remove another's snapshots because
// their dumps share a host and a file name (format §9.1).
struct GroupKey {
  GroupBy by;
  std::string service;  // the plan's service and source name; empty for a plain backup
  std::string source;
  std::string host;
  std::vector<std::string> paths;  // sorted, unique
  std::vector<std::string> tags;   // sorted, unique

  // For headings: "host db1, paths [/etc, /srv]", led by "service billing, source db, " for a
  // plan's snapshots; "all snapshots" when not grouped and not a plan's.
  std::string ToString() const;
  // {"host":"db1","paths":["/srv"],"tags":null}: null for the fields not grouped by; "service"
  // and "source" only for a plan's snapshots.
  nlohmann::json ToJson() const;
  // Orders by service, source, host, paths, then tags (`by` is not compared: keys of one
  // grouping share it).
  auto operator<=>(const GroupKey& o) const {
    return std::tie(service, source, host, paths, tags) <=>
           std::tie(o.service, o.source, o.host, o.paths, o.tags);
  }
  bool operator==(const GroupKey& o) const { return (*this <=> o) == 0; }
};

struct SnapshotGroup {
  GroupKey key;
  std::vector<std::pair<Id, Snapshot>> snapshots;  // newest first; equal times by id
};

// Splits `snapshots` into groups, ordered by key (service, source, host, paths, tags);
// snapshots in a group newest first, equal times ordered by id. No snapshots: no groups.
std::vector<SnapshotGroup> GroupSnapshots(std::vector<std::pair<Id, Snapshot>> snapshots,
                                          const GroupBy& by);

// ---------------------------------------------------------------------------------------------
// The policy

// A snapshot must carry every tag of a set to match it.
using TagSet = std::vector<std::string>;

// Parses the command-line form "a,b" (blanks around tags are ignored). InvalidArgument for an
// empty set or an empty tag ("a,,b").
Result<TagSet> ParseTagSet(std::string_view text);

// Value of a keep_* count meaning "no limit" (restic's `unlimited`).
inline constexpr int kUnlimited = -1;

// The rules. A snapshot is kept when at least one rule keeps it; every rule that keeps it is
// listed as a reason. Counts: 0 = rule off, N > 0 = that many, kUnlimited = all.
struct RetentionPolicy {
  int keep_last = 0;     // the N newest snapshots
  int keep_hourly = 0;   // the newest snapshot of each of the N newest hours that have one
  int keep_daily = 0;    // ... days (local calendar)
  int keep_weekly = 0;   // ... ISO weeks (Monday to Sunday)
  int keep_monthly = 0;  // ... months
  int keep_yearly = 0;   // ... years
  // Every snapshot newer than (newest snapshot of the group - keep_within). Measured from the
  // group's newest snapshot, not from now, so a host that stopped backing up keeps its history.
  Duration keep_within;
  // The newest snapshot of each hour/day/week/month/year within the duration of the group's
  // newest snapshot (as keep_within, but one per bucket instead of all).
  Duration keep_within_hourly, keep_within_daily, keep_within_weekly, keep_within_monthly,
      keep_within_yearly;
  // Every snapshot that carries all tags of at least one set.
  std::vector<TagSet> keep_tags;
  // How snapshots are grouped before the rules apply. Not a rule: empty() ignores it. Carried
  // here because the JSON form (and the DR plan) keeps it with the rules.
  GroupBy group_by;

  // True when no rule is set (all counts 0, all durations zero, no tag sets).
  bool empty() const;
  // InvalidArgument (naming the field) for a count below -1, an empty tag set or an empty tag.
  Status Validate() const;
  // For messages: "keep 3 latest, 7 daily snapshots, daily snapshots within 1y, all snapshots
  // within 30d of the newest, all snapshots with tags [a,b] or [c]". "keep nothing" when empty.
  std::string Describe() const;
  bool operator==(const RetentionPolicy&) const = default;
};

// ---------------------------------------------------------------------------------------------
// JSON form (used by `forget --policy FILE` and embedded in the DR plan per service)
//
//   {"keep_last":3,"keep_hourly":24,"keep_daily":7,"keep_weekly":4,"keep_monthly":12,
//    "keep_yearly":-1,"keep_within":"30d","keep_within_hourly":"2d","keep_within_daily":"1m",
//    "keep_within_weekly":"3m","keep_within_monthly":"1y","keep_within_yearly":"10y",
//    "keep_tags":[["a","b"],["monthly"]],"group_by":["host","paths"]}
//
// Every key is optional; a missing key is "rule off" (group_by: ["host","paths"]). Counts are
// integers >= -1, durations are strings in ParseCalendarDuration's form (m = months), keep_tags is an array of arrays
// of non-empty strings, group_by an array of "host", "paths", "tags" (empty array: one group).

// The JSON form: rules that are off are left out; group_by is always present.
// PolicyFromJson(PolicyToJson(p)) == p for every valid p.
nlohmann::json PolicyToJson(const RetentionPolicy& p);
// Strict: InvalidArgument naming the key for an unknown key, a wrong type, an out-of-range count
// or a bad duration, tag or group_by word; also when `j` is not an object. An object without
// rules is accepted (empty() tells; Apply refuses it).
Result<RetentionPolicy> PolicyFromJson(const nlohmann::json& j);
// Parses JSON text, then PolicyFromJson. InvalidArgument with the parser's position on bad JSON.
Result<RetentionPolicy> ParsePolicyJson(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Applying the policy

struct Decision {
  Id id;
  Snapshot snapshot;
  bool keep = false;
  // Why it is kept, in rule order: "tag a,b", "within 30d", "last snapshot", "hourly snapshot",
  // "daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot",
  // "hourly within 2d", ..., "yearly within 10y". A bucket rule that keeps the group's oldest
  // snapshot only because the rule still had room (see Apply) says "oldest daily snapshot",
  // "oldest daily within 1m". Empty when removed.
  std::vector<std::string> reasons;
};

struct GroupDecisions {
  GroupKey key;
  std::vector<Decision> snapshots;  // newest first; equal times ordered by id
  size_t kept() const;
  size_t removed() const;
};

// Applies `policy` to `snapshots` (any order), grouped by policy.group_by. Groups and snapshots
// are ordered as by GroupSnapshots. Exactly restic's algorithm, per group, newest first:
//  - keep_tags: kept if it has all tags of a set (not counted).
//  - keep_within: kept if its time is after (newest - keep_within), where "newest" is the newest
//    snapshot of the group that is older than `now_ns` (snapshots dated in the future do not
//    move the window; if every snapshot is in the future, all are within).
//  - keep_last/hourly/...: a snapshot whose bucket (hour, day, ...; for keep_last each snapshot
//    is its own bucket) differs from the previous kept one's uses up one count. When the group's
//    oldest snapshot is reached and the rule still has counts left, it is kept too ("oldest ..."),
//    so a young repository keeps its first snapshot.
//  - keep_within_hourly/...: like the counted buckets, limited to the window instead of a count;
//    the oldest snapshot of the group is kept too if it is inside the window.
// InvalidArgument if the policy is empty (it would remove every snapshot; the message lists the
// rules) or invalid (Validate). No snapshots: no groups. Does not modify anything.
Result<std::vector<GroupDecisions>> Apply(const std::vector<std::pair<Id, Snapshot>>& snapshots,
                                          const RetentionPolicy& policy, int64_t now_ns);

// The JSON form of one group's decisions, as printed by `forget --json`:
// {"group":{"host":..,"paths":..,"tags":..},
//  "keep":[{"id":"<64 hex>","short_id":"<8 hex>","time":"<RFC 3339>","hostname":..,"paths":..,
//           "tags":..,"reasons":[..]}],
//  "remove":[{"id":..,"short_id":..,"time":..,"hostname":..,"paths":..,"tags":..}]}
nlohmann::json GroupDecisionsToJson(const GroupDecisions& g);

}  // namespace lifeboat::retention
