#include "retention/forget.h"

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

// The removals of ExecuteForget, into out->removed, failed and stopped.
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
      Status st = repo.backend().Remove({ObjectType::kSnapshot, d.id.Hex()});
      if (st.IsNotFound()) st = Status::Ok();  // already gone, which is the goal
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
