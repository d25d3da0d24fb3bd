#include "repository/index_writer.h"

namespace lifeboat {

Result<std::vector<Id>> WriteReplacementIndex(Repository& repo, const MasterIndex& index,
                                              const std::function<bool(const Id& pack)>& keep,
                                              const std::vector<Id>& supersedes) {
  std::vector<Id> written;
  IndexFile file;
  // Holds back one full file so that the last one written is the one carrying `supersedes`.
  auto save = [&](IndexFile& f) -> Status {
    LB_ASSIGN_OR_RETURN(Id id, repo.SaveUnpacked(ObjectType::kIndex, EncodeIndexFile(f)));
    written.push_back(id);
    f = IndexFile{};
    return Status::Ok();
  };
  LB_RETURN_IF_ERROR(
      index.ForEachPack([&](const Id& pack, const std::vector<PackedBlob>& blobs) -> Status {
        if (!keep(pack)) return Status::Ok();
        if (file.packs.size() == kPacksPerIndexFile) LB_RETURN_IF_ERROR(save(file));
        file.packs.push_back(IndexFile::Pack{pack, blobs});
        return Status::Ok();
      }));
  if (!file.packs.empty() || !supersedes.empty()) {
    file.supersedes = supersedes;
    LB_RETURN_IF_ERROR(save(file));
  }
  return written;
}

Status RemoveIndexFiles(Repository& repo, const std::vector<Id>& names) {
  for (const Id& name : names) {
    Status st = repo.backend().Remove({ObjectType::kIndex, name.Hex()});
    if (!st.ok() && !st.IsNotFound()) return st.WithContext("removing index " + name.Hex());
  }
  return Status::Ok();
}

}  // namespace lifeboat
