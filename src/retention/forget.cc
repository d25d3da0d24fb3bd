#include "retention/forget.h"

#include <algorithm>

#include "backend/object_lock.h"

namespace lifeboat::retention {
namespace {

std::string Plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// OK when `lock` may remove snapshots from `repo`, else FailedPrecondition saying why.
Status CheckMayRemove(const Repository& repo, const RepositoryLock* lock) {
  LB_RETURN_IF_ERROR(repo.CheckNotAppendOnly("forget"));
  if (lock == nullptr || lock->kind() != LockKind::kExclusive)
    return Status::FailedPrecondition(
        "forget removes snapshots and needs the exclusive lock; without it only a dry run is "
        "possible");
  return Status::Ok();
}

// The named snapshots, each once, as removals grouped by host and paths (GroupBy{}).
Result<std::vector<GroupDecisions>> DecideByIds(Repository& repo, const ForgetRequest& request,
                                                std::vector<DamagedSnapshot>* damaged) {
  std::vector<std::pair<Id, Snapshot>> named;
  for (const std::string& ref : request.ids) {
    auto found = repo.FindSnapshot(ref, request.filter, damaged);
    if (!found.ok()) return found.status().WithContext("nothing removed");
    bool seen = false;
    for (const auto& e : named) seen = seen || e.first == found->first;
    if (!seen) named.push_back(std::move(*found));
  }
  std::vector<GroupDecisions> groups;
  for (auto& sg : GroupSnapshots(std::move(named), GroupBy{})) {
    GroupDecisions gd;
    gd.key = std::move(sg.key);
    for (auto& [id, s] : sg.snapshots) gd.snapshots.push_back({id, std::move(s), false, {}});
    groups.push_back(std::move(gd));
  }
  return groups;
}

// The decision of PlanForget, after its checks.
Result<ForgetPlan> Decide(Repository& repo, const ForgetRequest& request,
                          std::vector<DamagedSnapshot>* damaged) {
  ForgetPlan plan;
  plan.by_ids = !request.ids.empty();
  plan.dry_run = request.dry_run;
  if (plan.by_ids) {
    if (!request.policy.empty())
      return Status::InvalidArgument(
          "give either snapshot ids to remove or retention rules, not both");
    LB_ASSIGN_OR_RETURN(plan.groups, DecideByIds(repo, request, damaged));
    return plan;
  }
  // A damaged snapshot file is named and left alone: it is neither kept nor removed by the
  // policy and takes no keep slot, so every readable snapshot the policy keeps is kept.
  LB_ASSIGN_OR_RETURN(auto all, repo.ListSnapshots(damaged));
  std::vector<std::pair<Id, Snapshot>> matching;
  for (auto& e : all)
    if (request.filter.Matches(e.second)) matching.push_back(std::move(e));
  LB_ASSIGN_OR_RETURN(plan.groups, Apply(matching, request.policy, request.now_ns));
  return plan;
}

// The snapshots of `plan` to remove that the backend's lock keeps at now_ns, into plan->locked.
Status FindLockedSnapshots(Repository& repo, int64_t now_ns, ForgetPlan* plan) {
  if (!repo.backend().Hints().object_lock) return Status::Ok();
  std::vector<ObjectHandle> doomed;
  for (const auto& gd : plan->groups)
    for (const auto& d : gd.snapshots)
      if (!d.keep) doomed.push_back({ObjectType::kSnapshot, d.id.Hex()});
  LB_ASSIGN_OR_RETURN(LockedObjects locked,
                      FindLockedObjects(repo.backend(), doomed, now_ns,
                                        WorkersFor(repo.backend(), 0)));
  for (const ObjectHandle& h : doomed)
    if (int64_t until = locked.until_ns(h); until != 0)
      plan->locked.emplace_back(*Id::FromHex(h.name), until);
  return Status::Ok();
}

int64_t PlannedLockEnd(const ForgetPlan& plan, const Id& id) {
  for (const auto& [l, until] : plan.locked)
    if (l == id) return until;
  return 0;
}

// The removals of ExecuteForget, into out->removed, failed, locked and stopped.
void RemoveSnapshots(Repository& repo, const RepositoryLock* lock, const ForgetOptions& options,
                     ForgetResult* out) {
  ForgetResult& result = *out;
  result.stopped = CheckMayRemove(repo, lock);
  if (!result.stopped.ok()) return;
  for (const auto& gd : result.plan.groups) {
    for (const auto& d : gd.snapshots) {
      if (d.keep) continue;
      if (options.ctx.done()) {
        const std::string so_far = Plural(result.removed.size(), "snapshot");
        result.stopped = options.ctx.cancelled()
                             ? Status::Cancelled("interrupted; " + so_far + " removed before that")
                             : options.ctx.Check("forget").WithContext("stopped after removing " +
                                                                       so_far);
        return;
      }
      // The lock was held when the removals started; a lost lock means another process may
      // already be working on the repository under its own exclusive lock.
      if (Status st = lock->Check(); !st.ok()) {
        result.stopped =
            st.WithContext("stopped after removing " + Plural(result.removed.size(), "snapshot"));
        return;
      }
      if (int64_t until = PlannedLockEnd(result.plan, d.id); until != 0) {
        result.locked.emplace_back(d.id, until);
        continue;
      }
      const ObjectHandle h{ObjectType::kSnapshot, d.id.Hex()};
      Status st = repo.backend().Remove(h);
      if (st.IsNotFound()) st = Status::Ok();  // already gone, which is the goal
      if (std::optional<int64_t> until =
              LockedUntil(repo.backend(), h, st, options.ctx.clock().WallNs())) {
        result.locked.emplace_back(d.id, *until);  // a lock the backend did not advertise
        continue;
      }
      if (st.ok())
        result.removed.push_back(d.id);
      else
        result.failed.emplace_back(d.id, st);
      if (options.on_removal) options.on_removal(d.id, st);
    }
  }
}

}  // namespace

size_t ForgetPlan::kept() const {
  size_t n = 0;
  for (const auto& g : groups) n += g.kept();
  return n;
}

size_t ForgetPlan::to_remove() const {
  size_t n = 0;
  for (const auto& g : groups) n += g.removed();
  return n;
}

bool ForgetResult::WasRemoved(const Id& id) const {
  for (const Id& r : removed)
    if (r == id) return true;
  return false;
}

int64_t ForgetResult::LockEndOf(const Id& id) const {
  for (const auto& [l, until] : locked)
    if (l == id) return until;
  return plan.dry_run ? PlannedLockEnd(plan, id) : 0;
}

int64_t ForgetResult::LatestLockEnd() const {
  int64_t latest = 0;
  for (const auto& [l, until] : plan.dry_run ? plan.locked : locked) latest = std::max(latest, until);
  return latest;
}

const Status* ForgetResult::FailureOf(const Id& id) const {
  for (const auto& [f, st] : failed)
    if (f == id) return &st;
  return nullptr;
}

Result<ForgetPlan> PlanForget(Repository& repo, const RepositoryLock* lock,
                              const ForgetRequest& request, std::vector<DamagedSnapshot>* damaged,
                              const Context& ctx) {
  if (!request.dry_run) LB_RETURN_IF_ERROR(CheckMayRemove(repo, lock));
  PhaseTimer phases(ctx.clock());
  phases.Start("decide");
  LB_ASSIGN_OR_RETURN(ForgetPlan plan, Decide(repo, request, damaged));
  LB_RETURN_IF_ERROR(FindLockedSnapshots(repo, ctx.clock().WallNs(), &plan));
  plan.phases = phases.Finish();
  return plan;
}

ForgetResult ExecuteForget(Repository& repo, const RepositoryLock* lock, ForgetPlan plan,
                           const ForgetOptions& options) {
  ForgetResult result;
  result.phases = plan.phases;
  if (plan.dry_run) {
    result.plan = std::move(plan);
    return result;
  }
  PhaseTimer phases(options.ctx.clock());
  phases.Start("remove");
  result.plan = std::move(plan);
  RemoveSnapshots(repo, lock, options, &result);
  for (PhaseTime& p : phases.Finish()) result.phases.push_back(std::move(p));
  return result;
}

Result<ForgetResult> Forget(Repository& repo, const RepositoryLock* lock,
                            const ForgetRequest& request, const ForgetOptions& options) {
  std::vector<DamagedSnapshot> damaged;
  LB_ASSIGN_OR_RETURN(ForgetPlan plan, PlanForget(repo, lock, request, &damaged, options.ctx));
  ForgetResult result = ExecuteForget(repo, lock, std::move(plan), options);
  result.damaged = std::move(damaged);
  return result;
}

}  // namespace lifeboat::retention
