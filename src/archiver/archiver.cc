#include "archiver/archiver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "archiver/archiver_internal.h"
#include "archiver/fs_metadata.h"
#include "util/json_bytes.h"
#include "util/thread_start.h"

namespace lifeboat {
namespace backup {

void Archiver::Issue(const std::string& path, const std::string& message, bool error) {
  MutexLock lock(&mu_);
  BackupIssue issue{path, message};
  (error ? errors_ : warnings_).push_back(issue);
  if (options_.on_issue) options_.on_issue(issue, error);
}

BackupProgress Archiver::Progress(bool final) {
  BackupProgress p;
  static_cast<ProgressHead&>(p) = phases_.Head(final);
  p.files_done = files_done_;
  p.dirs_done = dirs_done_;
  p.bytes_done = bytes_done_;
  p.files_total = scan_files_;
  p.bytes_total = scan_bytes_;
  p.scan_finished = scan_finished_;
  p.bytes_added = saver_ ? saver_->stats().new_raw_bytes : dry_new_bytes_.load();
  MutexLock lock(&mu_);
  p.errors = errors_.size();
  p.current_path = current_path_;
  return p;
}

void Archiver::StartReporter() {
  if (!options_.progress) return;
  reporter_.emplace(
      std::chrono::milliseconds(options_.progress_interval_ms),
      [this](bool final) { options_.progress(Progress(final)); }, clock_);
}

void Archiver::StopReporter(ProgressReporter::FinalReport final) {
  scan_stop_ = true;
  if (reporter_) reporter_->Stop(final);
  if (scanner_.joinable()) scanner_.join();
}

Result<BackupResult> Archiver::RunPaths(const Snapshot* parent_snapshot,
                                        std::optional<Id> parent_id) {
  // Recorded paths: the trie, the snapshot's paths. Read paths: below the read root.
  std::vector<std::string> paths = CleanPaths(options_.paths);
  PathTrie trie = BuildPathTrie(paths);
  const std::string& read_root = options_.read_root;
  size_t missing = 0;
  for (const auto& p : paths) {
    struct stat st;
    if (::lstat(ReadPath(read_root, p).c_str(), &st) != 0) ++missing;
  }
  if (missing == paths.size())
    return Status::InvalidArgument(
        "none of the paths to back up exists: " + ReadPath(read_root, paths[0]) +
        (paths.size() > 1 ? " ..." : ""));

  Tree old_root;
  const Tree* old_root_ptr = nullptr;
  if (parent_snapshot) {
    auto t = repo_.LoadTree(parent_snapshot->tree);
    if (!t.ok()) return t.status().WithContext("loading the parent snapshot's tree");
    old_root = std::move(*t);
    old_root_ptr = &old_root;
    old_root_tree_ = parent_snapshot->tree;
    // The walk compares each directory with the parent's: load the parent's trees ahead, many
    // to a request, instead of one round trip per directory as the walk reaches it.
    TreePrefetchOptions prefetch;
    prefetch.context = options_.context;
    LB_ASSIGN_OR_RETURN(parent_trees_,
                        PrefetchedTrees::Load(repo_, {parent_snapshot->tree}, prefetch));
  }
  phases_.Start("files");

  if (options_.progress) {
    try {
      scanner_ = std::thread([this, paths] {
        try {
          ScanTree(paths, options_.read_root, rules_, scan_dirs_, scan_files_, scan_bytes_,
                   scan_stop_);
          scan_finished_ = true;
        } catch (...) {
          // Out of memory while counting: the progress goes without totals.
        }
      });
    } catch (const std::system_error&) {
      // No thread for the scan (a process or memory limit): progress without totals.
    }
  }
  StartReporter();

  auto root = std::make_shared<DirState>();
  root->path = ReadPath(read_root, "/");  // DirState paths are read paths
  if (trie.target) {
    // Backing up "/" itself: the root tree is the real root directory (or the read root).
    struct stat st;
    if (::lstat(root->path.c_str(), &st) == 0) {
      root->node = NodeFromStat("", st);
      root->link.dev = st.st_dev;
      root->link.ino = st.st_ino;
    }
    root->link.path = root->path;
    WalkDir(root, old_root_ptr);
  } else {
    root->is_virtual = true;
    WalkVirtual(root, trie, old_root_ptr);
  }
  Id root_id;
  {
    MutexLock lock(&mu_);
    while (!root_done_ && fatal_.ok()) root_cv_.Wait(&mu_);
    if (!root_done_) return fatal_;
    root_id = *root_id_;
  }
  return Commit(root_id, parent_id);
}

Result<BackupResult> Archiver::RunStream(int fd, const std::vector<std::string>& names,
                                         const std::function<Status()>& finish) {
  phases_.Start("stream");
  StartReporter();
  std::vector<Id> content;
  auto total = ChunkStream(fd, std::nullopt, &content);
  Status finished = finish ? finish() : Status::Ok();
  if (!total.ok()) return total.status().WithContext("reading the stream");
  LB_RETURN_IF_ERROR(finished);
  Node n;
  n.name = names.back();
  n.type = NodeType::kFile;
  n.mode = 0600;
  n.uid = ::getuid();
  n.gid = ::getgid();
  n.mtime_ns = n.atime_ns = n.ctime_ns = clock_.WallNs();
  n.links = 1;
  n.size = *total;
  n.content = std::move(content);
  files_new_++;
  files_done_++;
  // The file's tree, then one directory per leading name, innermost first.
  Id root;
  for (size_t level = names.size(); level-- > 0;) {
    Tree tree;
    tree.nodes.push_back(std::move(n));
    Bytes encoded = EncodeTree(tree);
    root = repo_.codec().ComputeId(encoded);
    if (saver_) {
      auto added = saver_->Save(BlobType::kTree, root, std::move(encoded));
      if (!added.ok()) return added.status();
    }
    dirs_new_++;
    if (level == 0) break;
    n = Node();
    n.name = names[level - 1];
    n.type = NodeType::kDir;
    n.mode = 0755;
    n.uid = ::getuid();
    n.gid = ::getgid();
    n.mtime_ns = n.atime_ns = n.ctime_ns = clock_.WallNs();
    n.links = 1;
    n.subtree = root;
  }
  return Commit(root, std::nullopt);
}

}  // namespace backup

using backup::Archiver;
using backup::CleanPaths;

// Runs the archiver; an exception in the walking thread (out of memory, out of threads) is an
// error, not an abort; the other threads' failures arrive as statuses. Nothing was committed.
static Result<BackupResult> RunArchiver(Repository& repo, const BackupOptions& options,
                                        PhaseTimer& phases, ExcludeMatcher excludes,
                                        const Snapshot* parent, std::optional<Id> parent_id) {
  try {
    Archiver archiver(repo, options, phases, std::move(excludes));
    return archiver.RunPaths(parent, parent_id);
  } catch (...) {
    return StatusFromCurrentException("the backup");
  }
}

// Tags, the host and the service are labels: valid UTF-8 (CheckSnapshotLabels).
static Status CheckLabels(const BackupOptions& options) {
  LB_RETURN_IF_ERROR(CheckSnapshotLabels(options.tags, options.host));
  if (!IsValidUtf8(options.service))
    return Status::InvalidArgument("the service name is not valid UTF-8: it is a label");
  return Status::Ok();
}

// Deduplication trusts the index only for packs that exist (doc/design.md, "Missing packs"):
// packs the index names but the backend lacks are left out of this run's index, so that the
// blobs in them are stored again when needed instead of being referred to in vain.
static Result<MissingPacks> LeaveOutMissingPacks(Repository& repo, const BackupOptions& options) {
  auto missing = repo.DropMissingPacks();
  if (!missing.ok()) return missing.status().WithContext("listing the packs");
  if (!missing->packs.empty() && options.on_missing_packs) options.on_missing_packs(*missing);
  return missing;
}

// The result with what every kind of backup adds at the end.
static Result<BackupResult> Finished(Result<BackupResult> result, MissingPacks missing,
                                     PhaseTimer& phases) {
  if (!result.ok()) return result;
  result->missing_packs = std::move(missing);
  result->phases = phases.Finish();
  return result;
}

// BackupOptions::read_root: absolute, a directory, clean ("" for none or "/"); the paths
// absolute (they are recorded as given).
static Result<std::string> CheckReadRoot(const BackupOptions& options) {
  if (options.read_root.empty()) return std::string();
  if (options.read_root[0] != '/')
    return Status::InvalidArgument("the read root '" + options.read_root +
                                   "' is not an absolute path: give it from /");
  for (const std::string& p : options.paths)
    if (p.empty() || p[0] != '/')
      return Status::InvalidArgument(
          "'" + p +
          "' is not an absolute path: with a read root, the paths are the absolute "
          "paths to record (they are read below " +
          options.read_root + ")");
  std::string root = CleanPath(options.read_root);
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) return PosixError("the read root " + root);
  if (!S_ISDIR(st.st_mode))
    return Status::InvalidArgument("the read root " + root + " is not a directory");
  return root == "/" ? std::string() : root;
}

Result<BackupResult> RunBackup(Repository& repo, const BackupOptions& options) {
  if (options.paths.empty()) return Status::InvalidArgument("no paths to back up");
  LB_RETURN_IF_ERROR(CheckLabels(options));
  LB_ASSIGN_OR_RETURN(std::string read_root, CheckReadRoot(options));
  LB_ASSIGN_OR_RETURN(ExcludeMatcher excludes, ExcludeMatcher::Compile(options.excludes));
  std::vector<std::string> clean = CleanPaths(options.paths);

  PhaseTimer phases(options.context.clock());
  phases.Start("index");
  LB_ASSIGN_OR_RETURN(MissingPacks missing, LeaveOutMissingPacks(repo, options));
  phases.Start("parent");
  std::optional<Id> parent_id;
  std::optional<Snapshot> parent;
  std::string host = options.host.empty() ? Hostname() : options.host;
  if (options.parent) {
    auto s = repo.LoadSnapshot(*options.parent);
    if (!s.ok()) return s.status().WithContext("loading the parent snapshot");
    parent_id = options.parent;
    parent = std::move(*s);
  } else if (!options.no_parent) {
    // A damaged snapshot file cannot be a parent: it is reported and the others are searched.
    std::vector<DamagedSnapshot> damaged;
    LB_ASSIGN_OR_RETURN(auto all, repo.ListSnapshots(&damaged));
    for (const DamagedSnapshot& d : damaged)
      if (options.on_issue) options.on_issue({"snapshots/" + d.name, DescribeDamagedSnapshot(d)}, false);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      // A parent whose root tree is not indexed (its pack is missing) is no help: read everything.
      if (it->second.hostname == host && it->second.paths == clean &&
          it->second.service == options.service &&
          repo.index().Has(BlobType::kTree, it->second.tree)) {
        parent_id = it->first;
        parent = std::move(it->second);
        break;
      }
    }
  }
  BackupOptions opts = options;
  opts.paths = clean;
  opts.host = host;
  opts.read_root = read_root;
  return Finished(
      RunArchiver(repo, opts, phases, std::move(excludes), parent ? &*parent : nullptr, parent_id),
      std::move(missing), phases);
}

Result<BackupResult> RunStreamBackup(Repository& repo, int fd, const std::string& filename,
                                     const BackupOptions& options,
                                     const std::function<Status()>& finish) {
  LB_RETURN_IF_ERROR(CheckLabels(options));
  std::string path = filename.starts_with("/") ? filename.substr(1) : filename;
  std::vector<std::string> names;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    names.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  for (const std::string& name : names)
    if (!IsValidNodeName(name))
      return Status::InvalidArgument("'" + filename + "' is not a valid file name for the stream");
  PhaseTimer phases(options.context.clock());
  phases.Start("index");
  LB_ASSIGN_OR_RETURN(MissingPacks missing, LeaveOutMissingPacks(repo, options));
  try {
    BackupOptions opts = options;
    opts.paths = {"/" + path};
    opts.read_root.clear();  // a stream is not read from the file system
    Archiver archiver(repo, opts, phases, ExcludeMatcher());
    return Finished(archiver.RunStream(fd, names, finish), std::move(missing), phases);
  } catch (...) {
    return StatusFromCurrentException("the backup");
  }
}

}  // namespace lifeboat
