// Writing a complete index that replaces the existing index files (doc/repository-format.md §7):
// used by prune and `repair index`.
//
//   std::vector<Id> old = repo.index_files();   // plus repo.superseded_index_files()
//   LB_ASSIGN_OR_RETURN(auto written, WriteReplacementIndex(repo, index, keep, old));
//   LB_RETURN_IF_ERROR(RemoveIndexFiles(repo, old));   // only after the new files are durable
//
// Crash safety: the new files are written one by one; only the last one lists `supersedes`. Until
// it is stored the old files stay in force (a blob listed twice is harmless); once it is stored,
// readers skip the old files even if removing them never happens.
#pragma once

#include <functional>
#include <vector>

#include "index/index.h"
#include "repository/repository.h"

namespace lifeboat {

// Packs per index file written by WriteReplacementIndex (about 100 blobs per pack: ~2 MiB files).
inline constexpr size_t kPacksPerIndexFile = 256;

// Writes every pack of `index` for which keep(pack) is true as new index files, the last of which
// supersedes `supersedes`. Writes one (empty) file when nothing is kept but something must be
// superseded. Returns the names of the files written. Blocks; uses the caller's thread only.
Result<std::vector<Id>> WriteReplacementIndex(Repository& repo, const MasterIndex& index,
                                              const std::function<bool(const Id& pack)>& keep,
                                              const std::vector<Id>& supersedes);

// Removes index files; NotFound is ignored (an earlier, interrupted run removed them). Stops at
// the first other error.
Status RemoveIndexFiles(Repository& repo, const std::vector<Id>& names);

}  // namespace lifeboat
