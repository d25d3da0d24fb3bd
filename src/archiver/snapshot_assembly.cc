// Snapshot assembly: a directory's tree is encoded and saved once its last entry is done
// (children before parents, on whichever thread finished last); the root's completes the walk,
// and Commit writes the snapshot with the run's summary.
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "archiver/archiver_internal.h"

namespace lifeboat::backup {

void Archiver::Release(const std::shared_ptr<DirState>& dir) {
  if (dir->pending.fetch_sub(1) == 1) Complete(dir);
}

void Archiver::Complete(const std::shared_ptr<DirState>& dir) {
  dirs_.Close(dir->link);  // every entry is done: close the directory now, not when freed
  Tree tree;
  for (size_t i = 0; i < dir->children.size(); ++i)
    if (dir->valid[i]) tree.nodes.push_back(std::move(dir->children[i]));
  dir->children.clear();
  SortTree(&tree);
  Bytes encoded = EncodeTree(tree);
  Id id = repo_.codec().ComputeId(encoded);
  if (!options_.dry_run) {
    auto added = saver_->Save(BlobType::kTree, id, std::move(encoded));
    if (!added.ok()) Fatal(added.status().WithContext("saving tree of " + dir->path));
  }
  dir->node.subtree = id;
  dirs_done_++;
  if (!dir->parent && old_root_tree_) {
    // The root has no node in the parent snapshot; compare with the parent's root tree.
    (*old_root_tree_ == id ? dirs_unmodified_ : dirs_changed_)++;
  } else if (!dir->old || dir->old->type != NodeType::kDir) dirs_new_++;
  else if (dir->old->subtree == id) dirs_unmodified_++;
  else dirs_changed_++;
  if (auto parent = dir->parent) {
    parent->children[dir->slot] = std::move(dir->node);
    parent->valid[dir->slot] = 1;
    dir->parent.reset();
    Release(parent);
  } else {
    MutexLock lock(&mu_);
    root_id_ = id;
    root_done_ = true;
    root_cv_.NotifyAll();
  }
}

Result<BackupResult> Archiver::Commit(const Id& root, std::optional<Id> parent_id) {
  phases_.Start("commit");
  if (Cancelled()) {
    // Make what was uploaded reusable by the next run, then stop without a snapshot.
    if (saver_) saver_->Flush().IgnoreError();
    Status st = options_.context.Check("backup");
    return Status(st.code(), st.message() + "; no snapshot was written");
  }
  LB_RETURN_IF_ERROR(FatalStatus());
  if (saver_) LB_RETURN_IF_ERROR(saver_->Flush());
  StopReporter(ProgressReporter::FinalReport::kYes);

  BackupResult result;
  Snapshot& s = result.snapshot;
  s.time_ns = summary_.backup_start_ns;
  s.hostname = options_.host.empty() ? Hostname() : options_.host;
  s.username = Username();
  s.uid = ::getuid();
  s.gid = ::getgid();
  s.paths = options_.paths;
  s.tags = options_.tags;
  s.service = options_.service;
  s.source = options_.source;
  s.excludes = options_.excludes;
  s.parent = parent_id;
  s.tree = root;
  s.program_version = "lifeboat 0.1.0";
  {
    MutexLock lock(&mu_);
    result.errors = errors_;
    result.warnings = warnings_;
  }
  result.parent_id = parent_id;
  result.incomplete = !result.errors.empty() || !result.warnings.empty();
  s.incomplete = result.incomplete;
  SnapshotSummary& m = s.summary;
  m = summary_;
  m.files_new = files_new_;
  m.files_changed = files_changed_;
  m.files_unmodified = files_unmodified_;
  m.dirs_new = dirs_new_;
  m.dirs_changed = dirs_changed_;
  m.dirs_unmodified = dirs_unmodified_;
  m.total_files_processed = files_done_;
  m.total_bytes_processed = bytes_done_;
  m.bytes_read = bytes_read_;
  m.errors = result.errors.size();
  if (saver_) {
    BlobSaverStats st = saver_->stats();
    m.data_blobs = st.new_data_blobs;
    m.tree_blobs = st.new_tree_blobs;
    m.data_added = st.new_raw_bytes;
    m.data_added_packed = st.new_stored_bytes;
  } else {
    m.data_blobs = dry_new_blobs_;
    m.data_added = dry_new_bytes_;
  }
  m.backup_end_ns = clock_.WallNs();
  if (options_.dry_run) return result;
  // The last moment to notice a lost lock: after this the snapshot exists.
  if (options_.lock) LB_RETURN_IF_ERROR(options_.lock->Check());
  LB_ASSIGN_OR_RETURN(Id id, repo_.SaveSnapshot(s));
  result.snapshot_id = id;
  return result;
}

}  // namespace lifeboat::backup
