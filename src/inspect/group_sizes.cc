// SnapshotGroupSizes (group_sizes.h): one FindUsedBlobs walk per group, then one pass over the
// index positions that shares each blob among the groups using it.
#include "inspect/group_sizes.h"

#include <memory>
#include <unordered_set>

#include "repository/tree_walker.h"
#include "util/mutex.h"
#include "util/thread_annotations.h"

namespace lifeboat {

namespace {

// The blobs one group uses, and the data blobs it names that no index lists.
struct GroupUse {
  explicit GroupUse(size_t positions) : used(positions) {}
  UsedBlobs used;
  Mutex mu;
  std::unordered_set<Id, IdHash> missing GUARDED_BY(mu);
};

Status WalkGroup(Repository& repo, const SnapshotGroup& group, const GroupSizeOptions& options,
                 GroupUse* use) {
  FindUsedOptions o;
  o.walk.workers = options.workers;
  o.walk.context = options.context;
  o.on_missing = [use](const MissingBlob& m) {
    if (m.type == BlobType::kTree)
      return Status::NotFound("tree blob " + m.id.Hex() +
                              " is not in the index (data missing; run `lifeboat check`)");
    MutexLock lock(&use->mu);
    use->missing.insert(m.id);
    return Status::Ok();
  };
  Status st = FindUsedBlobs(repo, group.trees, o, &use->used);
  return st.ok() ? st : st.WithContext("group " + group.name);
}

}  // namespace

Result<GroupSizes> SnapshotGroupSizes(Repository& repo, const std::vector<SnapshotGroup>& groups,
                                      const GroupSizeOptions& options) {
  const MasterIndex& index = repo.index();
  std::vector<std::unique_ptr<GroupUse>> uses;
  for (const SnapshotGroup& g : groups) {
    LB_RETURN_IF_ERROR(options.context.Check("measuring stored bytes"));
    uses.push_back(std::make_unique<GroupUse>(index.blob_count()));
    LB_RETURN_IF_ERROR(WalkGroup(repo, g, options, uses.back().get()));
  }
  GroupSizes out;
  for (size_t i = 0; i < groups.size(); ++i) {
    GroupSize s;
    s.name = groups[i].name;
    MutexLock lock(&uses[i]->mu);
    s.missing = uses[i]->missing.size();
    out.groups.push_back(std::move(s));
  }
  std::vector<size_t> users;  // the groups using the blob at one position
  for (size_t pos = 0; pos < index.blob_count(); ++pos) {
    users.clear();
    for (size_t i = 0; i < uses.size(); ++i)
      if (uses[i]->used.Test(pos)) users.push_back(i);
    if (users.empty()) continue;
    const uint64_t stored = index.AtPosition(pos).stored_length;
    const uint64_t k = users.size();
    out.referenced += stored;
    if (k > 1) out.shared += stored;
    for (size_t j = 0; j < users.size(); ++j) {
      GroupSize& s = out.groups[users[j]];
      ++s.blobs;
      s.referenced += stored;
      if (k == 1) s.exclusive += stored;
      s.attributed += stored / k + (j < stored % k ? 1 : 0);
    }
  }
  return out;
}

}  // namespace lifeboat
