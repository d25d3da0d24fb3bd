// Restorer: writes a snapshot's tree back to the file system — bit-exact content (sparse where the
// content is zero), metadata, hardlinks — in parallel, and verifies what it wrote.
//
//   RestoreOptions o; o.target = "/restore"; o.includes = {"/srv/data/*.conf"}; o.verify = true;
//   LB_ASSIGN_OR_RETURN(RestoreResult r, RestoreTree(repo, snapshot.tree, o));  // r.errors per
//   file
//
// What is written, and how:
//   - Regular file content is restored by a pool of `workers` threads. A job is (file, range of its
//     blobs); one large file is written by several threads with pwrite at offsets computed from the
//     blobs' raw lengths in the index. Every file-system block that is all zero, inside a blob or
//     across two, is left unwritten (sparse_write.h), so it stays a hole whether or not the file
//     was sparse when it was backed up; each file is ftruncate'd to its final size, so a trailing
//     hole stays a hole. A small LRU cache serves blobs that repeat.
//   - Metadata, in this order: ownership (only when running as root; numeric uid/gid unless
//     `owner_by_name`), mode (not for symlinks; without the setuid/setgid bits when the owner
//     could not be restored, as GNU tar does), extended attributes (POSIX ACLs included),
//     atime/mtime with nanoseconds. Files get theirs when their content is complete; directories
//     after everything inside them (post-order), symlinks/fifos/devices right after creation.
//   - Hardlinks: file nodes with links > 1 and equal (device, inode) in the restored set become one
//     inode: the first in walk order is restored, the others are link()ed to it once it is
//     complete.
//   - Safety: every entry is created relative to an open directory descriptor with O_NOFOLLOW, and
//     directories are opened component by component with O_NOFOLLOW, so a symlink already in the
//     target (or restored from a snapshot) is never followed to write outside the target. The
//     target path itself may be a symlink (the user chose it). Descriptors are budgeted from
//     RLIMIT_NOFILE (dir_chain.h): a deep tree restores under `ulimit -n 16`.
//   - Existing entries: with `overwrite`, files, symlinks, fifos and devices are unlinked and
//     created anew (an existing file's inode is never written to: it may be linked elsewhere);
//     existing directories are reused, and a non-directory where a directory belongs is removed
//     (a symlink there is replaced, never followed). An existing directory is never removed to
//     make room for anything else: that is an error for the entry. Without `overwrite`, existing
//     non-directories are skipped (with everything the snapshot has below them); existing
//     directories are still reused.
//   - The target directory's own metadata is not changed.
//   - Nothing is fsync'ed: a restore interrupted by a crash must be run again (like restic).
//   - Sockets are skipped with a warning. Devices need root; otherwise they are an error entry.
//
// Errors: a blob missing from the index, a corrupt blob or an I/O error is recorded per file (path
// and blob id in the message) and the walk continues; a file whose content failed is removed, so
// that nothing incomplete looks restored. Metadata failures are recorded too, but the file stays.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "repository/repository.h"
#include "util/context.h"
#include "util/id.h"
#include "util/phase_timer.h"
#include "util/status.h"

namespace lifeboat {

// Phases (RestoreResult::phases and the progress head): "layout" (walking the snapshot's trees
// into the list of entries to restore), "write" (directories, files, links), "verify" (with
// `verify`, re-reading what was written), "metadata" (directories' modes, owners and times, set
// last). VerifyRestored has "layout" and "verify".
//
// A snapshot of the restore's progress. Totals are known once the layout is done.
struct RestoreProgress : ProgressHead {
  uint64_t files_total = 0, bytes_total = 0;  // regular files (hardlinks once) and their bytes
  uint64_t files_done = 0, bytes_done = 0;    // done = restored or failed; holes count as done
  uint64_t errors = 0;
};

struct RestoreOptions {
  std::string target;  // directory to restore into (created if missing)
  std::vector<std::string>
      includes;  // glob patterns on snapshot paths (path_filter.h); empty = all
  std::vector<std::string> excludes;  // glob patterns; a matching dir excludes its subtree
  // Restore only this path inside the snapshot (restic's snapshot:subpath). A directory's contents
  // go into target; a single file (or symlink, ...) becomes target/<its name>. Patterns still
  // match full snapshot paths ("/srv/data/x"), not paths relative to the subtree.
  std::string subtree = "/";
  // After restoring, re-read every restored regular file, chunk it by the blob raw lengths in the
  // index and compare blob ids with the snapshot; mismatches are errors.
  bool verify = false;
  bool dry_run = false;        // walk and report what would be restored (and blobs missing from the
                               // index, as errors); write nothing, not even the target directory
  bool overwrite = true;       // existing entries are replaced (see header comment)
  bool owner_by_name = false;  // as root: map the snapshot's user/group names to local ids when
                               // they exist here; numeric uid/gid otherwise (and by default)
  // 0: WorkersFor(the repository's backend): about one per core on a local disk, more for a
  // remote store (fewer when few file descriptors are left).
  int workers = 0;
  // Cancelled (a signal handler, another thread) or past its deadline: stops early, see
  // RestoreTree (Cancelled / DeadlineExceeded).
  Context context = {};
  // Optional; the progress contract (util/phase_timer.h, ProgressHead): from one reporter thread
  // every progress_interval_ms, and once at the end with final = true when the restore
  // completes. Must not call back into the restore. Not called for dry runs or VerifyRestored.
  std::function<void(const RestoreProgress&)> progress;
  int progress_interval_ms = 250;
};

struct RestoreError {
  std::string path;     // snapshot path ("/srv/data/x")
  std::string message;  // what failed, naming the object id where there is one
};

struct RestoreResult {
  uint64_t files = 0;      // regular files restored (each inode once)
  uint64_t dirs = 0;       // directories created or reused (not the target itself)
  uint64_t other = 0;      // symlinks, fifos, devices
  uint64_t bytes = 0;      // content bytes of restored files (holes included)
  uint64_t hardlinks = 0;  // extra names link()ed to a restored file
  uint64_t skipped = 0;    // entries left alone because they existed and overwrite was false
  std::vector<RestoreError> errors;
  // Things that were not restored or not fully restored but are expected to be (sockets,
  // security.* / trusted.* xattrs when not root, size field disagreeing with the content).
  std::vector<RestoreError> warnings;
  uint64_t verified_files = 0;  // files whose content was re-read and matched
  // Files restored without their setuid/setgid bits because their owner could not be restored
  // (not root, or chown failed); one warning in `warnings` names how many.
  uint64_t setid_dropped = 0;
  std::vector<PhaseTime> phases;  // time per phase, on the context's clock (RestoreProgress)
};

// Restores the tree `root` (a snapshot's root tree id) into options.target. One damaged file never
// stops the others: its error is recorded and the walk continues. Returns a non-OK status only for
// failures that stop everything: bad patterns, cannot create/open the target, cannot load the root
// tree, `subtree` not in the snapshot, or Cancelled / DeadlineExceeded when `options.context` stopped it: the workers
// stop within a blob, files being written are removed (so nothing incomplete looks restored),
// what was completed stays, and directories keep their temporary mode (0700) and times.
// Blocks until done. Requires repo.LoadIndex() to have run.
// Thread-safe with respect to other readers of `repo`; do not restore two trees into the same
// target concurrently.
Result<RestoreResult> RestoreTree(Repository& repo, const Id& root, const RestoreOptions& options);

// Checks an earlier restore of `root` into options.target (same includes/excludes/subtree): every
// regular file must exist and have the snapshot's content (same blob ids over the same lengths),
// every symlink the snapshot's target. Each difference is an error; verified_files counts matches,
// files counts the files examined. Does not compare metadata. Writes nothing (holes stay holes).
// Non-OK status only when the walk cannot start (as RestoreTree), the target does not exist, or
// `options.context` stopped it (Cancelled / DeadlineExceeded).
Result<RestoreResult> VerifyRestored(Repository& repo, const Id& root,
                                     const RestoreOptions& options);

}  // namespace lifeboat
