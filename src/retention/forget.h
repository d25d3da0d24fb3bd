// Forget: applies a retention decision to a repository. Removes the snapshot files that a policy
// does not keep (or the snapshots named by id) and says, per group, what was kept and why, what
// was removed and what could not be. The engine behind `lifeboat forget`, and what the DR plan
// calls per service with that service's policy. The decision itself is retention.h's (pure); this
// is the part that reads and removes.
//
//   ForgetRequest request{.policy = policy, .now_ns = NowNs()};
//   LB_ASSIGN_OR_RETURN(ForgetResult r, Forget(repo, lock.get(), request, {}));
//   if (!r.stopped.ok()) ...lock lost or cancelled...; for (auto& [id, st] : r.failed) ...
//
// The rules the removal follows (doc/retention.md):
//  - Only snapshot files are removed; the data they referenced stays until prune.
//  - Refused before anything is read when it would remove and the repository or key is
//    append-only (FailedPrecondition), or no exclusive lock is held (FailedPrecondition).
//    A dry run needs neither and removes nothing.
//  - Every snapshot is decided (every id resolved) before the first removal: an unknown or
//    ambiguous id, or a snapshot that cannot be read for a reason other than damage, removes
//    nothing.
//  - A damaged snapshot file (ListSnapshots' DamagedSnapshot) is neither kept nor removed and
//    takes no keep slot; it is reported so the caller can name it.
//  - Before each removal the lock is checked: a lost lock stops the removals (Locked), as does
//    the context (Cancelled, DeadlineExceeded). A removal that fails is recorded and the others
//    continue; a snapshot that is already gone counts as removed.
// Removal order: groups in GroupSnapshots order, newest first within a group.
//  - Object Lock (BackendHints::object_lock): the plan asks the backend which snapshots it would
//    remove are still locked (ForgetPlan::locked, also in a dry run); those are kept, not
//    attempted, and reported with the time their lock ends. A removal refused because of a lock
//    the backend did not advertise is kept and reported the same way, not as a failure. The
//    policy's decision is unchanged: a forget after that time removes them.
//
// Phases (ForgetResult::phases, on the context's clock): "decide" (list the snapshots or resolve
// the ids, apply the policy: PlanForget) and "remove" (the removals: ExecuteForget; absent in a
// dry run). Pruning afterwards is a separate call with its own phases (pruner.h).
//
// Thread safety: the calls block on the backend and run on the caller's thread; callbacks run
// there too. The repository must not be changed by this process meanwhile; other processes are
// kept out by the exclusive lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "repository/lock.h"
#include "repository/repository.h"
#include "repository/snapshot.h"
#include "retention/retention.h"
#include "util/context.h"
#include "util/id.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat::retention {

// What to forget.
struct ForgetRequest {
  // Only snapshots matching the filter are considered; the others are neither kept nor removed
  // and take no keep slot. With `ids`, the filter applies to "latest" only (FindSnapshot).
  SnapshotFilter filter;
  // Set: remove exactly these snapshots (unique hex id prefixes, or "latest"; one snapshot named
  // twice is removed once), grouped by host and paths for the report. `policy` must then have no
  // rule (its group_by is not used).
  std::vector<std::string> ids;
  // Without ids: the rules and the grouping (policy.group_by). Apply refuses an empty policy.
  RetentionPolicy policy;
  // The time the policy is applied at (Apply's now_ns).
  int64_t now_ns = 0;
  // Decide and report, remove nothing. Needs no lock and works on append-only repositories.
  bool dry_run = false;
};

// The decision, before anything is removed.
struct ForgetPlan {
  std::vector<GroupDecisions> groups;  // by ids: every decision is "remove"
  bool by_ids = false;
  bool dry_run = false;
  // Snapshots decided "remove" that the backend's lock keeps, with the time (wall ns) the lock
  // ends, in removal order. ExecuteForget leaves them.
  std::vector<std::pair<Id, int64_t>> locked;
  // How long deciding took: {"decide", seconds}.
  std::vector<PhaseTime> phases;

  size_t kept() const;
  size_t to_remove() const;
};

struct ForgetOptions {
  // Checked before each removal: once it is cancelled or past its deadline the removals stop
  // (ForgetResult::stopped is Cancelled or DeadlineExceeded).
  Context ctx;
  // Called after each removal attempt, on the caller's thread: OK when the snapshot was removed
  // (or was already gone), else why it could not be. For progress and per-snapshot reporting.
  // Not called for a snapshot kept by a lock (ForgetResult::locked).
  std::function<void(const Id& snapshot, const Status& outcome)> on_removal;
};

struct ForgetResult {
  ForgetPlan plan;  // per group: what is kept (with the reasons) and what is to be removed
  // Damaged snapshot files skipped (Forget only; PlanForget hands them out separately).
  std::vector<DamagedSnapshot> damaged;
  // Removed (or already gone), in removal order. Empty in a dry run.
  std::vector<Id> removed;
  // Could not be removed, with why, in removal order; the removals after them still ran.
  std::vector<std::pair<Id, Status>> failed;
  // Kept by the backend's lock (the plan's, then removals the lock refused), with the time the
  // lock ends (wall ns). Empty in a dry run (the plan's `locked` says what would be kept).
  std::vector<std::pair<Id, int64_t>> locked;
  // The plan's "decide", then "remove" unless it was a dry run (see the top of this file).
  std::vector<PhaseTime> phases;
  // OK when every removal was attempted. Otherwise why they stopped: Locked (the lock was lost),
  // Cancelled, DeadlineExceeded, or a refusal (append-only, no exclusive lock) when nothing was attempted; the
  // snapshots after that point were neither removed nor attempted.
  Status stopped;

  bool WasRemoved(const Id& id) const;
  // The time `id`'s lock ends when the lock kept it (a dry run: would keep it), else 0.
  int64_t LockEndOf(const Id& id) const;
  // The latest end of the locks that kept snapshots (0: none kept).
  int64_t LatestLockEnd() const;
  // The failure of `id`'s removal, or null.
  const Status* FailureOf(const Id& id) const;
};

// Checks the preconditions (unless request.dry_run: not append-only, `lock` held exclusively),
// then lists the snapshots (or resolves the ids) and decides, then asks a backend that locks
// objects which of the snapshots to remove are locked at ctx's wall time. Removes nothing. `damaged` (not
// null) receives the damaged snapshot files that were skipped, also when an error is returned,
// so that the caller can name them. Only the clock of `ctx` is read: it times the decision
// (ForgetPlan::phases) and is the "now" locks are compared with. Errors: FailedPrecondition (append-only, no exclusive lock),
// InvalidArgument (ids together with rules, an empty or invalid policy, a malformed or ambiguous
// id), NotFound (an unknown id), Corruption (a damaged snapshot named by id), the backend's error.
Result<ForgetPlan> PlanForget(Repository& repo, const RepositoryLock* lock,
                              const ForgetRequest& request, std::vector<DamagedSnapshot>* damaged,
                              const Context& ctx = {});

// Removes what `plan` says to remove (nothing for a dry-run plan), following the rules above.
// Never fails as a whole: what happened is in the result (`stopped`, `failed`, and `phases`: the
// plan's, then "remove" timed on options.ctx's clock). A plan that is not a dry run is refused
// (stopped = FailedPrecondition, nothing attempted) when the repository is append-only or `lock` is
// not an exclusive lock.
ForgetResult ExecuteForget(Repository& repo, const RepositoryLock* lock, ForgetPlan plan,
                           const ForgetOptions& options);

// PlanForget, then ExecuteForget: the one call for callers that do not show the plan before the
// removals start. An error only when the plan could not be made (nothing removed).
Result<ForgetResult> Forget(Repository& repo, const RepositoryLock* lock,
                            const ForgetRequest& request, const ForgetOptions& options);

}  // namespace lifeboat::retention
