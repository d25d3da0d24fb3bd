// ProblemLog: the errors and warnings of one check, found by many threads (internal to
// lb_checker). Problems with the same kind and object are merged; each kind is capped at
// kMaxProblemsPerKind and each problem's affected list at kMaxAffectedPerProblem (checker.h).
//
//   int64_t h = log.Error("pack", pack.Hex(), "cannot be read: ...");
//   log.AddAffected(h, "snapshot abcd1234: /srv/a");
//   log.MoveInto(&result);
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "checker/checker.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat::checker_internal {

// Problems found by many threads. Problems with the same kind and object are merged, so a pack
// that many files need is one error listing (some of) those files.
class ProblemLog {
 public:
  static constexpr int64_t kDropped = -1;

  // Records an error and returns a handle for AddAffected (kDropped when the per-kind cap was
  // reached). Thread-safe.
  int64_t Error(const std::string& kind, const std::string& object, const std::string& message)
      EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return Add(errors_, error_keys_, error_kinds_, kind, object, message);
  }
  void Warning(const std::string& kind, const std::string& object, const std::string& message)
      EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    (void)Add(warnings_, warning_keys_, warning_kinds_, kind, object, message);
  }
  // Adds "snapshot abcd1234: /path" to an error, up to kMaxAffectedPerProblem. Thread-safe.
  void AddAffected(int64_t handle, std::string where) EXCLUDES(mu_) {
    if (handle < 0) return;
    MutexLock lock(&mu_);
    CheckProblem& p = errors_[static_cast<size_t>(handle)];
    if (std::find(p.affected.begin(), p.affected.end(), where) != p.affected.end()) return;
    if (p.affected.size() < kMaxAffectedPerProblem) {
      p.affected.push_back(std::move(where));
    } else {
      ++p.affected_omitted;
    }
  }
  // Errors so far, those past their kind's cap included. Thread-safe.
  uint64_t error_count() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    uint64_t n = errors_.size();
    for (const auto& [kind, counts] : error_kinds_) n += counts.omitted;
    return n;
  }
  // Moves everything into `r`, with one "summary" entry per kind whose problems were capped.
  void MoveInto(CheckResult* r) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto finish = [](std::vector<CheckProblem>& list, const KindCounts& kinds,
                     std::vector<CheckProblem>* out) {
      *out = std::move(list);
      for (const auto& [kind, counts] : kinds) {
        if (counts.omitted == 0) continue;
        out->push_back(CheckProblem{"summary",
                                    "",
                                    std::to_string(counts.omitted) + " further " + kind +
                                        " problems were found but not listed",
                                    {},
                                    0});
      }
    };
    finish(errors_, error_kinds_, &r->errors);
    finish(warnings_, warning_kinds_, &r->warnings);
  }

 private:
  struct Counts {
    size_t listed = 0;
    uint64_t omitted = 0;
  };
  using KindCounts = std::unordered_map<std::string, Counts>;

  // `list`, `keys` and `kinds` are the errors' or the warnings' members.
  int64_t Add(std::vector<CheckProblem>& list, std::unordered_map<std::string, size_t>& keys,
              KindCounts& kinds, const std::string& kind, const std::string& object,
              const std::string& message) REQUIRES(mu_) {
    std::string key = kind + '\0' + object;
    auto it = keys.find(key);
    if (it != keys.end()) {
      CheckProblem& p = list[it->second];
      if (p.message.find(message) == std::string::npos) p.message += "; " + message;
      return static_cast<int64_t>(it->second);
    }
    Counts& c = kinds[kind];
    if (c.listed >= kMaxProblemsPerKind) {
      ++c.omitted;
      return kDropped;
    }
    ++c.listed;
    list.push_back(CheckProblem{kind, object, message, {}, 0});
    keys.emplace(std::move(key), list.size() - 1);
    return static_cast<int64_t>(list.size() - 1);
  }

  Mutex mu_;
  std::vector<CheckProblem> errors_ GUARDED_BY(mu_);
  std::vector<CheckProblem> warnings_ GUARDED_BY(mu_);
  std::unordered_map<std::string, size_t> error_keys_ GUARDED_BY(mu_);
  std::unordered_map<std::string, size_t> warning_keys_ GUARDED_BY(mu_);
  KindCounts error_kinds_ GUARDED_BY(mu_);
  KindCounts warning_kinds_ GUARDED_BY(mu_);
};

}  // namespace lifeboat::checker_internal
